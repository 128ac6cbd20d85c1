-- The accountability part (#25; schema/010 and functions/accountability.sql)
-- from rows fed into `logs` and `tx_senders`: role history, attribution to
-- the sender, to the called contract (the multisig pattern, `via`), and
-- unattributed; an admin whose role was revoked; the books (held, staked,
-- stray, adminWithdraw, forfeit checks); the ledger's filters and CSV; a
-- rollback removes the senders with their logs and re-applying gives the
-- same rows. Contracts: 3000 = app license, 3001 = DIMO token. Accounts:
-- 1 an admin EOA, 2 a multisig holding the role, 3 its owner, 4 a sender
-- through an unknown forwarder 6, 5 the license owner, 9 a recipient.
SELECT dimo_internal.register_contract(137, t.addr(3000), 'app_license', 'app', 0);
SELECT dimo_internal.register_contract(137, t.addr(3001), 'dimo_token', NULL, 0);
CREATE FUNCTION t.role(p_name text) RETURNS text LANGUAGE sql IMMUTABLE
AS $$ SELECT '0x' || encode(role, 'hex') FROM role_names WHERE name = p_name $$;
-- The sender row the store writes with its batch (after the logs).
CREATE FUNCTION t.sender(p_block bigint, p_tx int, p_first_log int, p_from bigint, p_to bigint)
RETURNS void LANGUAGE sql
AS $$
  INSERT INTO tx_senders (chain_id, block_number, tx_hash, log_index, from_address, to_address)
  VALUES (137, p_block, sha256(convert_to('tx ' || p_block || '/' || p_tx, 'UTF8')), p_first_log,
          t.addr(p_from), t.addr(p_to));
$$;
CREATE FUNCTION t.grant(p_block bigint, p_index int, p_kind text, p_role text, p_account bigint, p_sender bigint)
RETURNS void LANGUAGE sql
AS $$
  SELECT t.log(p_block, p_index, p_index, 3000, 'app_license', p_kind || '(bytes32,address,address)',
    jsonb_build_object('role', t.role(p_role), 'account', t.hex(p_account), 'sender', t.hex(p_sender)));
$$;
CREATE FUNCTION t.token(p_block bigint, p_index int, p_tx int, p_from bigint, p_to bigint, p_dimo numeric)
RETURNS void LANGUAGE sql
AS $$
  SELECT t.log(p_block, p_index, p_tx, 3001, 'dimo_token', 'Transfer(address,address,uint256)',
    jsonb_build_object('from', t.hex(p_from), 'to', t.hex(p_to), 'value', t.dimo(p_dimo)));
$$;

-- Block 10: roles. Block 11: license 7 issued to 5, 100 DIMO staked.
SELECT t.grant(10, 0, 'RoleGranted', 'LICENSE_ADMIN_ROLE', 1, 1);
SELECT t.grant(10, 1, 'RoleGranted', 'LICENSE_ADMIN_ROLE', 2, 1);
SELECT t.grant(10, 2, 'RoleGranted', 'REVOKER_ROLE', 1, 1);
SELECT t.log(11, 0, 0, 3000, 'app_license', 'Issued(uint256,address,address)',
  jsonb_build_object('tokenId', '7', 'owner', t.hex(5), 'clientId', t.hex(70)));
SELECT t.log(11, 1, 0, 3000, 'app_license', 'Transfer(address,address,uint256)',
  jsonb_build_object('from', t.hex(0), 'to', t.hex(5), 'tokenId', '7'));
SELECT t.token(11, 2, 1, 5, 3000, 100);
SELECT t.log(11, 3, 1, 3000, 'app_license', 'StakeDeposit(uint256,address,uint256)',
  jsonb_build_object('tokenId', '7', 'user', t.hex(5), 'amount', t.dimo(100)));
SELECT t.apply(10, 11);
-- Block 12: the EOA admin freezes. Block 13: the multisig burns 30.
SELECT t.log(12, 0, 0, 3000, 'app_license', 'AssetFreezeUpdate(uint256,uint256,bool)',
  jsonb_build_object('tokenId', '7', 'amount', t.dimo(100), 'frozen', true));
SELECT t.sender(12, 0, 0, 1, 3000);
SELECT t.token(13, 0, 0, 3000, 0, 30);
SELECT t.log(13, 1, 0, 3000, 'app_license', 'AssetForfeit(uint256,uint256)',
  jsonb_build_object('tokenId', '7', 'amount', t.dimo(30)));
SELECT t.sender(13, 0, 0, 3, 2);
SELECT t.apply(12, 13);
-- Block 14: 5 stray DIMO in; adminWithdraw through an unknown forwarder.
SELECT t.token(14, 0, 0, 4, 3000, 5);
SELECT t.token(14, 1, 1, 3000, 9, 5);
SELECT t.sender(14, 1, 1, 4, 6);
-- Block 15: the EOA loses the role, then its unfreeze (a chain would
-- revert it; here it shows the role is judged at the log's position).
SELECT t.grant(15, 0, 'RoleRevoked', 'LICENSE_ADMIN_ROLE', 1, 1);
SELECT t.log(15, 1, 1, 3000, 'app_license', 'AssetFreezeUpdate(uint256,uint256,bool)',
  jsonb_build_object('tokenId', '7', 'amount', t.dimo(70), 'frozen', false));
SELECT t.sender(15, 1, 1, 1, 3000);
SELECT t.apply(14, 15);

SELECT t.eq((SELECT string_agg(action || ' ' || attribution || ' ' || coalesce(dimo_hex(by_address), '-') || ' '
    || coalesce(dimo_hex(via), '-'), '; ' ORDER BY block_number, log_index) FROM admin_actions),
  'freeze sender ' || t.hex(1) || ' -; forfeit_burn called_contract ' || t.hex(2) || ' ' || t.hex(3)
  || '; admin_withdraw unattributed - -; unfreeze unattributed - -', 'attributions');
SELECT t.eq((SELECT count(*) FROM admin_action_counts WHERE attribution = 'unattributed'), 2::bigint,
  'unattributed actions counted');
SELECT t.eq((SELECT string_agg(kind, ',' ORDER BY block_number, log_index) FROM token_flows),
  'deposit,forfeit,stray,admin_withdraw', 'token flows explained');
SELECT t.eq((SELECT jsonb_agg(r ->> 'account' ORDER BY r ->> 'role', r ->> 'account')
  FROM jsonb_array_elements(dimo_role_holders(137, t.addr(3000), 14) -> 'roles') r WHERE (r ->> 'held')::boolean),
  jsonb_build_array(t.hex(1), t.hex(2), t.hex(1)), 'role holders at block 14');
SELECT t.eq((SELECT count(*) FROM jsonb_array_elements(dimo_role_holders(137, t.addr(3000)) -> 'roles') r
  WHERE (r ->> 'held')::boolean), 2::bigint, 'role holders now (the EOA lost LICENSE_ADMIN_ROLE)');
SELECT t.eq((SELECT to_block FROM role_history WHERE account = t.addr(1) AND role_name = 'LICENSE_ADMIN_ROLE'), 15::bigint,
  'the holding ends at the revoke');
SELECT t.eq(dimo_license_books(137, t.addr(3000)) ->> 'held', t.dimo(70), 'held = in - out');
SELECT t.eq(dimo_license_books(137, t.addr(3000)) ->> 'staked', t.dimo(70), 'staked');
SELECT t.eq(dimo_license_books(137, t.addr(3000), 14) ->> 'stray', '0', 'no stray after adminWithdraw');
SELECT t.eq(dimo_license_books(137, t.addr(3000), 13) ->> 'stray', '0', 'no stray before');
SELECT t.eq(jsonb_array_length(dimo_license_books(137, t.addr(3000)) -> 'admin_withdrawals'), 1, 'one adminWithdraw');
SELECT t.eq((dimo_license_books(137, t.addr(3000)) ->> 'forfeit_mismatches')::int, 0, 'the forfeit matches its transfer');
SELECT t.eq((SELECT count(*) FROM slashes WHERE chain_id = 137), 1::bigint, 'adminWithdraw is no slash');
SELECT t.eq(dimo_slashes_page(137, NULL, NULL, 10) -> 'slashes' -> 0 -> 'by' ->> 'via', t.hex(3), 'the slash carries by');
SELECT t.eq(dimo_license_doc(137, t.addr(3000), 7) -> 'slashes' -> 0 -> 'by' ->> 'address', t.hex(2),
  'the document''s slash carries by');
SELECT t.eq(jsonb_array_length(dimo_admin_actions_page(137, t.hex(3000), 'freeze', NULL, NULL, NULL, 10, NULL) -> 'actions'),
  1, 'ledger: action filter');
SELECT t.eq(jsonb_array_length(dimo_admin_actions_page(137, NULL, NULL, t.hex(3), NULL, NULL, 10, NULL) -> 'actions'),
  1, 'ledger: executor matches via');
SELECT t.eq(dimo_admin_actions_page(137, NULL, NULL, NULL, NULL, NULL, 2, NULL) ->> 'next', 'a1.14.1', 'ledger: next page');
SELECT t.eq(jsonb_array_length(dimo_admin_actions_page(137, NULL, NULL, NULL, NULL, NULL, 2, 'a1.14.1') -> 'actions'),
  2, 'ledger: second page');
SELECT t.eq(array_length(string_to_array(dimo_admin_actions_csv(137, NULL, NULL, NULL, 12, 13, 10, NULL), E'\r\n'), 1),
  4, 'CSV: a header, two rows, a final line end');

-- Roll back to block 13: the senders of blocks 14 and 15 go with their logs.
CREATE TEMP TABLE straight AS SELECT t.model_digest() AS d;
SELECT t.rollback(13);
SELECT t.eq((SELECT count(*) FROM tx_senders), 2::bigint, 'senders above the kept block removed with their logs');
SELECT t.eq((SELECT count(*) FROM admin_actions), 2::bigint, 'actions above the kept block removed');
SELECT t.token(14, 0, 0, 4, 3000, 5);
SELECT t.token(14, 1, 1, 3000, 9, 5);
SELECT t.sender(14, 1, 1, 4, 6);
SELECT t.grant(15, 0, 'RoleRevoked', 'LICENSE_ADMIN_ROLE', 1, 1);
SELECT t.log(15, 1, 1, 3000, 'app_license', 'AssetFreezeUpdate(uint256,uint256,bool)',
  jsonb_build_object('tokenId', '7', 'amount', t.dimo(70), 'frozen', false));
SELECT t.sender(15, 1, 1, 1, 3000);
SELECT t.apply(14, 15);
SELECT t.eq(t.model_digest(), (SELECT d FROM straight), 'rollback and re-apply give the same rows');
-- Rederive (every part undone and derived again from the logs) keeps the senders.
SELECT dimo_internal.rederive(137);
SELECT t.eq(t.model_digest(), (SELECT d FROM straight), 'rederive gives the same rows');
