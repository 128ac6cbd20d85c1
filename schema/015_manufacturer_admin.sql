-- 015_manufacturer_admin.sql: the admin actions of the manufacturer license
-- contract (the 2022 Stake) in the admin-actions ledger (issue #25).
--
-- That contract has no roles: one `admin` address, fixed at deployment
-- (immutable, so no event ever names it), may unstake(user, amount),
-- emergencyWithdraw(to, amount) (stray DIMO out), adjustStakeAmount(amount)
-- and revokeLicense(tokenId). Their logs are UnstakeTokens,
-- EmergencyWithdrawal, StakeAmountAdjusted and the burn Transfer(owner ->
-- 0x0). (mintLicense is no admin action: the staker may mint for itself.)
-- With no role events the indexer cannot check that the sender is that
-- admin rather than a forwarder of it, so these actions are attributed to
-- the transaction's sender only, marked 'sender_only', with no gating role.

ALTER TABLE admin_actions ALTER COLUMN gating_role DROP NOT NULL;
ALTER TABLE admin_actions DROP CONSTRAINT admin_actions_attribution_check;
ALTER TABLE admin_actions ADD CONSTRAINT admin_actions_attribution_check
  CHECK (attribution IN ('sender', 'called_contract', 'unattributed', 'not_fetched', 'sender_only'));
-- Only a role-less contract's action has no gating role.
ALTER TABLE admin_actions ADD CONSTRAINT admin_actions_role_or_sender_only
  CHECK ((gating_role IS NULL) = (attribution = 'sender_only')
         OR (gating_role IS NULL AND attribution = 'not_fetched'));

INSERT INTO model_reads (part, role, event, args) VALUES
  ('accountability', 'manufacturer_license', 'UnstakeTokens(address,uint256)', '{user,amountOfTokens}'),
  ('accountability', 'manufacturer_license', 'EmergencyWithdrawal(address,uint256)', '{user,amountOfTokens}'),
  ('accountability', 'manufacturer_license', 'StakeAmountAdjusted(uint256)', '{amount}'),
  ('accountability', 'manufacturer_license', 'Transfer(address,address,uint256)', '{from,to,tokenId}');

-- A database indexed before this migration: the manufacturer actions of the
-- blocks already modelled, as dimo__acct_apply (schema/functions/
-- accountability.sql) now derives them, 'not_fetched' (their senders were
-- never asked for); `run` and `sync` fetch those senders when they start
-- (indexer/sync_admin.c, the catch-up) and attribute them.
INSERT INTO admin_actions (chain_id, block_number, log_index, tx_hash, block_time, contract,
  action, token_id, amount, detail, gating_role, attribution)
SELECT l.chain_id, l.block_number, l.log_index, l.tx_hash, l.block_time, l.address,
  CASE l.event_name WHEN 'UnstakeTokens' THEN 'unstake'
    WHEN 'EmergencyWithdrawal' THEN 'emergency_withdrawal'
    WHEN 'StakeAmountAdjusted' THEN 'setting' ELSE 'revoke' END,
  dimo__uint(l.args ->> 'tokenId'),
  dimo__uint(coalesce(l.args ->> 'amountOfTokens', l.args ->> 'amount')),
  CASE l.event_name
    WHEN 'UnstakeTokens' THEN jsonb_build_object('user', l.args ->> 'user')
    WHEN 'EmergencyWithdrawal' THEN jsonb_build_object('to', l.args ->> 'user')
    WHEN 'StakeAmountAdjusted' THEN jsonb_build_object('event', l.event, 'args', l.args)
    ELSE jsonb_build_object('owner', l.args ->> 'from') END,
  NULL, 'not_fetched'
FROM logs l
JOIN model_cursor m ON m.chain_id = l.chain_id AND l.block_number <= m.block_number
WHERE l.role = 'manufacturer_license'
  AND (l.event IN ('UnstakeTokens(address,uint256)', 'EmergencyWithdrawal(address,uint256)',
                   'StakeAmountAdjusted(uint256)')
       OR (l.event = 'Transfer(address,address,uint256)'
           AND l.args ->> 'to' = '0x0000000000000000000000000000000000000000'))
ON CONFLICT DO NOTHING;
