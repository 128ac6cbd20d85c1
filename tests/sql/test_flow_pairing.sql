-- The accountability part's token_flows (functions/accountability.sql):
-- each DIMO transfer in or out of a license contract is explained by the
-- stake event right after it in its group (transaction, contract,
-- direction, amount), as DIMO's functions log (a transfer, then its
-- event), not by the names of every event of the contract in its
-- transaction. Transactions that do several things, as a Safe's
-- multiSend or a smart wallet's batch does: an adminWithdraw of X with a
-- forfeit of X (both orders); a deposit with a withdraw (and a mistaken
-- plain transfer in), on the app license and on the 2022 Stake (a stake,
-- an unstake and an emergencyWithdraw); two licenses' moves (two
-- forfeits and a withdraw of the same amount); a stray transfer beside a
-- deposit of another amount, and of the same amount. Then the books,
-- the admin actions and the forfeit checks that read these rows, and a
-- rollback, re-apply and rederive that give the same rows.
-- Contracts: 3000 = app license, 3001 = DIMO token, 3002 = manufacturer
-- license (2022 Stake), 2000 = the 2024 app license contract. Accounts:
-- 2 a Safe (license admin, owner of license 9), 3 its owner, 5 the owner
-- of licenses 7 and 8 (and of license 1 of 2000), 4 a reallocation's
-- recipient, 9 an adminWithdraw's recipient, 6 a sender of stray DIMO.
SELECT dimo_internal.register_contract(137, t.addr(3000), 'app_license', 'app', 0);
SELECT dimo_internal.register_contract(137, t.addr(3001), 'dimo_token', NULL, 0);
SELECT dimo_internal.register_contract(137, t.addr(3002), 'manufacturer_license', 'manufacturer', 0);
SELECT dimo_internal.register_contract(137, t.addr(2000), 'app_license', 'app', 0);

CREATE FUNCTION t.token(p_block bigint, p_index int, p_tx int, p_from bigint, p_to bigint, p_dimo numeric)
RETURNS void LANGUAGE sql
AS $$
  SELECT t.log(p_block, p_index, p_tx, 3001, 'dimo_token', 'Transfer(address,address,uint256)',
    jsonb_build_object('from', t.hex(p_from), 'to', t.hex(p_to), 'value', t.dimo(p_dimo)));
$$;
-- An app license's stake event (StakeDeposit, StakeWithdraw, and the 2024
-- contract's Deposit, Withdraw) of license p_token by p_user.
CREATE FUNCTION t.stake(p_block bigint, p_index int, p_tx int, p_contract bigint, p_event text,
                        p_token int, p_user bigint, p_dimo numeric)
RETURNS void LANGUAGE sql
AS $$
  SELECT t.log(p_block, p_index, p_tx, p_contract, 'app_license', p_event || '(uint256,address,uint256)',
    jsonb_build_object('tokenId', p_token::text, 'user', t.hex(p_user), 'amount', t.dimo(p_dimo)));
$$;
CREATE FUNCTION t.forfeit(p_block bigint, p_index int, p_tx int, p_token int, p_dimo numeric)
RETURNS void LANGUAGE sql
AS $$
  SELECT t.log(p_block, p_index, p_tx, 3000, 'app_license', 'AssetForfeit(uint256,uint256)',
    jsonb_build_object('tokenId', p_token::text, 'amount', t.dimo(p_dimo)));
$$;
-- A 2022 Stake event (StakeTokens, UnstakeTokens, EmergencyWithdrawal).
CREATE FUNCTION t.mstake(p_block bigint, p_index int, p_tx int, p_event text, p_user bigint, p_dimo numeric)
RETURNS void LANGUAGE sql
AS $$
  SELECT t.log(p_block, p_index, p_tx, 3002, 'manufacturer_license', p_event || '(address,uint256)',
    jsonb_build_object('user', t.hex(p_user), 'amountOfTokens', t.dimo(p_dimo)));
$$;
CREATE FUNCTION t.issue(p_block bigint, p_index int, p_tx int, p_contract bigint, p_token int, p_owner bigint)
RETURNS void LANGUAGE sql
AS $$
  SELECT t.log(p_block, p_index, p_tx, p_contract, 'app_license', 'Issued(uint256,address,address)',
    jsonb_build_object('tokenId', p_token::text, 'owner', t.hex(p_owner), 'clientId', t.hex(p_contract * 10 + p_token)));
  SELECT t.log(p_block, p_index + 1, p_tx, p_contract, 'app_license', 'Transfer(address,address,uint256)',
    jsonb_build_object('from', t.hex(0), 'to', t.hex(p_owner), 'tokenId', p_token::text));
$$;
-- The kinds of one block's flows, in log order: 'kind contract' each.
CREATE FUNCTION t.kinds(p_block bigint) RETURNS text LANGUAGE sql
AS $$
  SELECT string_agg(f.kind || ' ' || dimo_hex(f.contract), ', ' ORDER BY f.log_index, f.direction)
  FROM token_flows f WHERE f.chain_id = 137 AND f.block_number = p_block
$$;
CREATE FUNCTION t.c(p_contract bigint) RETURNS text LANGUAGE sql IMMUTABLE
AS $$ SELECT t.hex(p_contract) $$;

-- Block 10: licenses 7 and 8 of 5, 9 of the Safe, 100 staked on each
-- (a transaction each); 5 DIMO sent to the contract by mistake.
SELECT t.issue(10, 0, 0, 3000, 7, 5);
SELECT t.issue(10, 2, 0, 3000, 8, 5);
SELECT t.issue(10, 4, 0, 3000, 9, 2);
SELECT t.token(10, 6, 1, 5, 3000, 100);
SELECT t.stake(10, 7, 1, 3000, 'StakeDeposit', 7, 5, 100);
SELECT t.token(10, 8, 2, 5, 3000, 100);
SELECT t.stake(10, 9, 2, 3000, 'StakeDeposit', 8, 5, 100);
SELECT t.token(10, 10, 3, 2, 3000, 100);
SELECT t.stake(10, 11, 3, 3000, 'StakeDeposit', 9, 2, 100);
SELECT t.token(10, 12, 4, 6, 3000, 5);
SELECT t.apply(10, 10);
SELECT t.eq(t.kinds(10), 'deposit ' || t.c(3000) || ', deposit ' || t.c(3000) || ', deposit ' || t.c(3000)
  || ', stray ' || t.c(3000), 'one event per transaction: deposits and a stray');

-- Block 11, one Safe transaction: adminWithdraw(9) sweeps the 5 strays,
-- then adminBurnLockedFunds(7, 5). Block 12: 5 more strays; then one Safe
-- transaction: adminReallocate(8, 5, to 4), then adminWithdraw(9).
SELECT t.token(11, 0, 0, 3000, 9, 5);
SELECT t.token(11, 1, 0, 3000, 0, 5);
SELECT t.forfeit(11, 2, 0, 7, 5);
SELECT t.token(12, 0, 0, 6, 3000, 5);
SELECT t.token(12, 1, 1, 3000, 4, 5);
SELECT t.forfeit(12, 2, 1, 8, 5);
SELECT t.token(12, 3, 1, 3000, 9, 5);
SELECT t.apply(11, 12);
SELECT t.eq(t.kinds(11), 'admin_withdraw ' || t.c(3000) || ', forfeit ' || t.c(3000),
  'batched adminWithdraw X then forfeit X: the forfeit explains only its own transfer');
SELECT t.eq(t.kinds(12), 'stray ' || t.c(3000) || ', forfeit ' || t.c(3000) || ', admin_withdraw ' || t.c(3000),
  'batched forfeit X then adminWithdraw X');
SELECT t.eq((SELECT string_agg(a.block_number || ' ' || a.action || ' ' || (a.detail ->> 'to'), ', '
    ORDER BY a.block_number) FROM admin_actions a WHERE a.action = 'admin_withdraw'),
  '11 admin_withdraw ' || t.hex(9) || ', 12 admin_withdraw ' || t.hex(9),
  'both adminWithdraws are admin actions');
SELECT t.eq((SELECT string_agg(a.block_number || ' ' || a.action, ', ' ORDER BY a.block_number)
    FROM admin_actions a WHERE a.action LIKE 'forfeit%'),
  '11 forfeit_burn, 12 forfeit_reallocate', 'the licenses part pairs the same transfers');
SELECT t.eq((SELECT string_agg(c.transferred::text, ',' ORDER BY c.block_number) FROM forfeit_checks c),
  t.dimo(5) || ',' || t.dimo(5), 'each forfeit check counts its own transfer, not the adminWithdraw''s');
SELECT t.eq(dimo_license_books(137, t.addr(3000)) -> 'by_kind',
  jsonb_build_object('in_deposit', t.dimo(300), 'in_stray', t.dimo(10), 'out_admin_withdraw', t.dimo(10),
                     'out_forfeit', t.dimo(10)), 'the books by path');
SELECT t.eq(dimo_license_books(137, t.addr(3000)) ->> 'stray', '0', 'no stray left');
SELECT t.eq(jsonb_array_length(dimo_license_books(137, t.addr(3000)) -> 'admin_withdrawals'), 2,
  'the books list both adminWithdraws');

CREATE TEMP TABLE upto12 AS SELECT t.model_digest() AS d;

-- One batch, blocks 13 to 19.
-- Block 13, one transaction of 5's wallet: withdraw(8, 40), lock(7, 40),
-- and 3 DIMO sent to the contract by a plain transfer.
SELECT t.token(13, 0, 0, 3000, 5, 40);
SELECT t.stake(13, 1, 0, 3000, 'StakeWithdraw', 8, 5, 40);
SELECT t.token(13, 2, 0, 5, 3000, 40);
SELECT t.stake(13, 3, 0, 3000, 'StakeDeposit', 7, 5, 40);
SELECT t.token(13, 4, 0, 5, 3000, 3);
-- Block 14: 5 stakes 100 on the 2022 Stake; 2 DIMO sent to it by mistake.
-- Block 15, one Safe transaction: the Safe stakes 100, unstakes 40 of 5's,
-- and emergencyWithdraws the 2 strays to 6.
SELECT t.token(14, 0, 0, 5, 3002, 100);
SELECT t.mstake(14, 1, 0, 'StakeTokens', 5, 100);
SELECT t.token(14, 2, 1, 6, 3002, 2);
SELECT t.token(15, 0, 0, 2, 3002, 100);
SELECT t.mstake(15, 1, 0, 'StakeTokens', 2, 100);
SELECT t.token(15, 2, 0, 3002, 5, 40);
SELECT t.mstake(15, 3, 0, 'UnstakeTokens', 5, 40);
SELECT t.token(15, 4, 0, 3002, 6, 2);
SELECT t.mstake(15, 5, 0, 'EmergencyWithdrawal', 6, 2);
-- Block 16: license 1 of the 2024 contract, 50 deposited. Block 17, one
-- transaction of 5's wallet: Withdraw(1, 50) from it, lock(7, 50) on the
-- proxy, and 1 DIMO to the 2024 contract by a plain transfer.
SELECT t.issue(16, 0, 0, 2000, 1, 5);
SELECT t.token(16, 2, 1, 5, 2000, 50);
SELECT t.stake(16, 3, 1, 2000, 'Deposit', 1, 5, 50);
SELECT t.token(17, 0, 0, 2000, 5, 50);
SELECT t.stake(17, 1, 0, 2000, 'Withdraw', 1, 5, 50);
SELECT t.token(17, 2, 0, 5, 3000, 50);
SELECT t.stake(17, 3, 0, 3000, 'StakeDeposit', 7, 5, 50);
SELECT t.token(17, 4, 0, 5, 2000, 1);
-- Block 18, one Safe transaction, two licenses' slashes and the Safe's own
-- withdraw, all of 30: adminBurnLockedFunds(7, 30), adminReallocate(8, 30,
-- to 4), withdraw(9, 30).
SELECT t.token(18, 0, 0, 3000, 0, 30);
SELECT t.forfeit(18, 1, 0, 7, 30);
SELECT t.token(18, 2, 0, 3000, 4, 30);
SELECT t.forfeit(18, 3, 0, 8, 30);
SELECT t.token(18, 4, 0, 3000, 2, 30);
SELECT t.stake(18, 5, 0, 3000, 'StakeWithdraw', 9, 2, 30);
-- Block 19: 6 sends 5 by mistake, then 5 locks 20 on license 7, in one
-- transaction; in another, 6 sends 20 by mistake, then 5 locks 20 on 8.
SELECT t.token(19, 0, 0, 6, 3000, 5);
SELECT t.token(19, 1, 0, 5, 3000, 20);
SELECT t.stake(19, 2, 0, 3000, 'StakeDeposit', 7, 5, 20);
SELECT t.token(19, 3, 1, 6, 3000, 20);
SELECT t.token(19, 4, 1, 5, 3000, 20);
SELECT t.stake(19, 5, 1, 3000, 'StakeDeposit', 8, 5, 20);
SELECT t.apply(13, 19);

SELECT t.eq(t.kinds(13), 'withdraw ' || t.c(3000) || ', deposit ' || t.c(3000) || ', stray ' || t.c(3000),
  'deposit and withdraw in one transaction, and a plain transfer in beside them');
SELECT t.eq(t.kinds(15), 'deposit ' || t.c(3002) || ', unstake ' || t.c(3002) || ', emergency_withdrawal '
  || t.c(3002), '2022 Stake: stake, unstake and emergencyWithdraw in one transaction');
SELECT t.eq(t.kinds(17), 'withdraw ' || t.c(2000) || ', deposit ' || t.c(3000) || ', stray ' || t.c(2000),
  'the 2024 contract''s Withdraw and the proxy''s deposit in one transaction');
SELECT t.eq(t.kinds(18), 'forfeit ' || t.c(3000) || ', forfeit ' || t.c(3000) || ', withdraw ' || t.c(3000),
  'two licenses'' forfeits and a withdraw of the same amount in one transaction');
SELECT t.eq(t.kinds(19), 'stray ' || t.c(3000) || ', deposit ' || t.c(3000) || ', stray ' || t.c(3000)
  || ', deposit ' || t.c(3000), 'a stray beside a deposit of another amount, and of the same amount');
SELECT t.eq((SELECT string_agg(a.action || ' ' || a.token_id, ', ' ORDER BY a.log_index)
    FROM admin_actions a WHERE a.block_number = 18),
  'forfeit_burn 7, forfeit_reallocate 8', 'the withdraw is no admin action');
SELECT t.eq((SELECT string_agg(c.log_index || ' ' || c.transferred, ', ' ORDER BY c.log_index)
    FROM forfeit_checks c WHERE c.block_number = 18),
  '1 ' || t.dimo(30) || ', 3 ' || t.dimo(30), 'each of two forfeits in one transaction counts its own transfer (019)');
SELECT t.eq((SELECT string_agg(f.log_index || '>' || coalesce(f.explained_by::text, '-'), ', ' ORDER BY f.log_index)
    FROM token_flows f WHERE f.block_number = 18),
  '0>1, 2>3, 4>5', 'each transfer names the event that explains it');
SELECT t.eq((SELECT count(*) FROM admin_actions WHERE action = 'admin_withdraw'), 2::bigint,
  'no adminWithdraw beyond the two');
SELECT t.eq(dimo_license_books(137, t.addr(3000)) -> 'by_kind',
  jsonb_build_object('in_deposit', t.dimo(430), 'in_stray', t.dimo(38), 'out_admin_withdraw', t.dimo(10),
                     'out_forfeit', t.dimo(70), 'out_withdraw', t.dimo(70)), 'the app license''s books by path');
SELECT t.eq(dimo_license_books(137, t.addr(3000)) ->> 'stray', t.dimo(28), 'its strays: 3 + 5 + 20');
SELECT t.eq(dimo_license_books(137, t.addr(3002)) -> 'by_kind',
  jsonb_build_object('in_deposit', t.dimo(200), 'in_stray', t.dimo(2), 'out_unstake', t.dimo(40),
                     'out_emergency_withdrawal', t.dimo(2)), 'the 2022 Stake''s books by path');
SELECT t.eq(dimo_license_books(137, t.addr(3002)) ->> 'stray', '0', 'the 2022 Stake: strays returned');
SELECT t.eq(dimo_license_books(137, t.addr(2000)) -> 'by_kind',
  jsonb_build_object('in_deposit', t.dimo(50), 'in_stray', t.dimo(1), 'out_withdraw', t.dimo(50)),
  'the 2024 contract''s books by path');

-- The same rows after a rollback to block 12 and the batch again, and
-- after a rederive.
CREATE TEMP TABLE straight AS SELECT t.model_digest() AS d;
SELECT t.rollback(12);
SELECT t.eq(t.model_digest(), (SELECT d FROM upto12), 'the rollback leaves the rows of blocks 10-12');
SELECT t.token(13, 0, 0, 3000, 5, 40);
SELECT t.stake(13, 1, 0, 3000, 'StakeWithdraw', 8, 5, 40);
SELECT t.token(13, 2, 0, 5, 3000, 40);
SELECT t.stake(13, 3, 0, 3000, 'StakeDeposit', 7, 5, 40);
SELECT t.token(13, 4, 0, 5, 3000, 3);
SELECT t.token(14, 0, 0, 5, 3002, 100);
SELECT t.mstake(14, 1, 0, 'StakeTokens', 5, 100);
SELECT t.token(14, 2, 1, 6, 3002, 2);
SELECT t.token(15, 0, 0, 2, 3002, 100);
SELECT t.mstake(15, 1, 0, 'StakeTokens', 2, 100);
SELECT t.token(15, 2, 0, 3002, 5, 40);
SELECT t.mstake(15, 3, 0, 'UnstakeTokens', 5, 40);
SELECT t.token(15, 4, 0, 3002, 6, 2);
SELECT t.mstake(15, 5, 0, 'EmergencyWithdrawal', 6, 2);
SELECT t.issue(16, 0, 0, 2000, 1, 5);
SELECT t.token(16, 2, 1, 5, 2000, 50);
SELECT t.stake(16, 3, 1, 2000, 'Deposit', 1, 5, 50);
SELECT t.token(17, 0, 0, 2000, 5, 50);
SELECT t.stake(17, 1, 0, 2000, 'Withdraw', 1, 5, 50);
SELECT t.token(17, 2, 0, 5, 3000, 50);
SELECT t.stake(17, 3, 0, 3000, 'StakeDeposit', 7, 5, 50);
SELECT t.token(17, 4, 0, 5, 2000, 1);
SELECT t.token(18, 0, 0, 3000, 0, 30);
SELECT t.forfeit(18, 1, 0, 7, 30);
SELECT t.token(18, 2, 0, 3000, 4, 30);
SELECT t.forfeit(18, 3, 0, 8, 30);
SELECT t.token(18, 4, 0, 3000, 2, 30);
SELECT t.stake(18, 5, 0, 3000, 'StakeWithdraw', 9, 2, 30);
SELECT t.token(19, 0, 0, 6, 3000, 5);
SELECT t.token(19, 1, 0, 5, 3000, 20);
SELECT t.stake(19, 2, 0, 3000, 'StakeDeposit', 7, 5, 20);
SELECT t.token(19, 3, 1, 6, 3000, 20);
SELECT t.token(19, 4, 1, 5, 3000, 20);
SELECT t.stake(19, 5, 1, 3000, 'StakeDeposit', 8, 5, 20);
-- Block by block this time: the pairing does not depend on the batch.
SELECT t.apply(b, b) FROM generate_series(13, 19) b;
SELECT t.eq(t.model_digest(), (SELECT d FROM straight), 'rollback and re-apply give the same rows');
SELECT dimo_internal.rederive(137);
SELECT t.eq(t.model_digest(), (SELECT d FROM straight), 'rederive gives the same rows');
