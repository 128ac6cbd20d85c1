-- The accountability part (#25; schema/010 and functions/accountability.sql)
-- from rows fed into `logs` and `tx_senders`: role history, attribution to
-- the sender, to the called contract (the multisig pattern, `via`), and
-- unattributed; an admin whose role was revoked; the books (held, staked,
-- stray, adminWithdraw, forfeit checks); the ledger's filters and CSV; a
-- rollback removes the senders with their logs and re-applying gives the
-- same rows. Then the manufacturer license (3002, the 2022 Stake:
-- AccessControl, every admin call gated by DEFAULT_ADMIN_ROLE): its role
-- history, an unstake through the Safe (`called_contract`, `via`), a mint
-- and an upgrade by the deployer, and an action after the deployer's
-- renouncement (unattributed). Contracts: 3000 = app license, 3001 = DIMO token. Accounts:
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

-- ---- the manufacturer license (2022 Stake): roles, as DIMO's source says ----
SELECT dimo_internal.register_contract(137, t.addr(3002), 'manufacturer_license', 'manufacturer', 0);
CREATE FUNCTION t.mgrant(p_block bigint, p_index int, p_kind text, p_account bigint, p_sender bigint)
RETURNS void LANGUAGE sql
AS $$
  SELECT t.log(p_block, p_index, p_index, 3002, 'manufacturer_license', p_kind || '(bytes32,address,address)',
    jsonb_build_object('role', t.role('DEFAULT_ADMIN_ROLE'), 'account', t.hex(p_account), 'sender', t.hex(p_sender)));
$$;
-- Block 20: initialize grants DEFAULT_ADMIN_ROLE to the deployer 1, which
-- grants it to the Safe 2; 5 stakes 100. Block 21: 1 mints license 1 to 5.
SELECT t.mgrant(20, 0, 'RoleGranted', 1, 1);
SELECT t.mgrant(20, 1, 'RoleGranted', 2, 1);
SELECT t.token(20, 2, 2, 5, 3002, 100);
SELECT t.log(20, 3, 2, 3002, 'manufacturer_license', 'StakeTokens(address,uint256)',
  jsonb_build_object('user', t.hex(5), 'amountOfTokens', t.dimo(100)));
SELECT t.log(21, 0, 0, 3002, 'manufacturer_license', 'Transfer(address,address,uint256)',
  jsonb_build_object('from', t.hex(0), 'to', t.hex(5), 'tokenId', '1'));
SELECT t.log(21, 1, 0, 3002, 'manufacturer_license', 'LicenseMinted(address,uint256)',
  jsonb_build_object('user', t.hex(5), 'tokenId', '1'));
SELECT t.sender(21, 0, 0, 1, 3002);
-- Block 22: the Safe's owner 3 has it unstake 40 (the Safe calls the
-- contract); 1 upgrades the proxy.
SELECT t.token(22, 0, 0, 3002, 5, 40);
SELECT t.log(22, 1, 0, 3002, 'manufacturer_license', 'UnstakeTokens(address,uint256)',
  jsonb_build_object('user', t.hex(5), 'amountOfTokens', t.dimo(40)));
SELECT t.sender(22, 0, 0, 3, 2);
SELECT t.log(22, 2, 1, 3002, 'manufacturer_license', 'Upgraded(address)',
  jsonb_build_object('implementation', t.hex(77)));
SELECT t.sender(22, 1, 2, 1, 3002);
-- Block 23: 1 renounces; its later minimum change is attributed to no one.
SELECT t.mgrant(23, 0, 'RoleRevoked', 1, 1);
SELECT t.log(23, 1, 1, 3002, 'manufacturer_license', 'StakeAmountAdjusted(uint256)',
  jsonb_build_object('amount', t.dimo(50)));
SELECT t.sender(23, 1, 1, 1, 3002);
SELECT t.apply(20, 23);
SELECT t.eq((SELECT string_agg(action || ' ' || dimo_role_name(gating_role) || ' ' || attribution || ' '
    || coalesce(dimo_hex(by_address), '-') || ' ' || coalesce(dimo_hex(via), '-'), '; '
    ORDER BY block_number, log_index) FROM admin_actions WHERE contract = t.addr(3002)),
  'mint DEFAULT_ADMIN_ROLE sender ' || t.hex(1) || ' -; unstake DEFAULT_ADMIN_ROLE called_contract '
  || t.hex(2) || ' ' || t.hex(3) || '; upgrade DEFAULT_ADMIN_ROLE sender ' || t.hex(1)
  || ' -; setting DEFAULT_ADMIN_ROLE unattributed - -', 'manufacturer: actions gated by DEFAULT_ADMIN_ROLE');
SELECT t.eq((SELECT detail ->> 'owner' FROM admin_actions WHERE contract = t.addr(3002) AND action = 'mint'),
  t.hex(5), 'manufacturer: the mint names its owner');
SELECT t.eq((SELECT count(*) FROM admin_actions WHERE attribution = 'sender_only'), 0::bigint,
  'no action is attributed to a sender without a role');
SELECT t.eq((SELECT string_agg(r ->> 'account' || ' ' || (r ->> 'held'), ',' ORDER BY r ->> 'account')
  FROM jsonb_array_elements(dimo_role_holders(137, t.addr(3002)) -> 'roles') r),
  t.hex(1) || ' false,' || t.hex(2) || ' true', 'manufacturer: role history (the deployer renounced)');
SELECT t.eq((SELECT granted_by FROM role_holders WHERE contract = t.hex(3002)), t.hex(1),
  'manufacturer: the Safe holds DEFAULT_ADMIN_ROLE, granted by the deployer');
SELECT t.eq(jsonb_array_length(dimo_admin_actions_page(137, t.hex(3002), 'mint', NULL, NULL, NULL, 10, NULL) -> 'actions'),
  1, 'ledger: the mint action filter');
SELECT t.eq(dimo_license_books(137, t.addr(3002)) ->> 'held', t.dimo(60), 'manufacturer books: held');
-- A rollback to block 21 and the re-apply give the same rows; so does rederive.
CREATE TEMP TABLE mfr_straight AS SELECT t.model_digest() AS d;
SELECT t.rollback(21);
SELECT t.eq((SELECT count(*) FROM admin_actions WHERE contract = t.addr(3002)), 1::bigint,
  'manufacturer: actions above the kept block removed');
SELECT t.token(22, 0, 0, 3002, 5, 40);
SELECT t.log(22, 1, 0, 3002, 'manufacturer_license', 'UnstakeTokens(address,uint256)',
  jsonb_build_object('user', t.hex(5), 'amountOfTokens', t.dimo(40)));
SELECT t.sender(22, 0, 0, 3, 2);
SELECT t.log(22, 2, 1, 3002, 'manufacturer_license', 'Upgraded(address)',
  jsonb_build_object('implementation', t.hex(77)));
SELECT t.sender(22, 1, 2, 1, 3002);
SELECT t.mgrant(23, 0, 'RoleRevoked', 1, 1);
SELECT t.log(23, 1, 1, 3002, 'manufacturer_license', 'StakeAmountAdjusted(uint256)',
  jsonb_build_object('amount', t.dimo(50)));
SELECT t.sender(23, 1, 1, 1, 3002);
SELECT t.apply(22, 23);
SELECT t.eq(t.model_digest(), (SELECT d FROM mfr_straight), 'manufacturer: rollback and re-apply give the same rows');
SELECT dimo_internal.rederive(137);
SELECT t.eq(t.model_digest(), (SELECT d FROM mfr_straight), 'manufacturer: rederive gives the same rows');

-- A proxy's Upgraded in the transaction that created it (`to` null),
-- before any role existed: the deployer's (018), not unattributed; the API
-- names no role for it (the deployer held none). Contract 3003: a second
-- app license proxy, deployed at block 30.
SELECT dimo_internal.register_contract(137, t.addr(3003), 'app_license', 'app', 0);
SELECT t.log(30, 0, 0, 3003, 'app_license', 'Upgraded(address)', jsonb_build_object('implementation', t.hex(78)));
SELECT t.sender(30, 0, 0, 9, NULL);
SELECT t.apply(30, 30);
SELECT t.eq((SELECT attribution || ':' || dimo_hex(by_address) FROM admin_actions WHERE block_number = 30),
  'deployment:' || t.hex(9), 'an upgrade in the creating transaction is the deployer''s');
SELECT t.eq(dimo_internal.admin_action_json(137, 30, 0) -> 'by',
  jsonb_build_object('address', t.hex(9), 'role', NULL, 'via', NULL, 'attribution', 'deployment'),
  'by: the deployer, no role');
-- A creation transaction whose new contract acts on a license contract
-- that existed before (a helper's constructor freezing license 1 of 3000,
-- which has role events earlier): not a deployment of 3000.
SELECT t.log(31, 0, 0, 3000, 'app_license', 'AssetFreezeUpdate(uint256,uint256,bool)',
  jsonb_build_object('tokenId', '1', 'amount', '0', 'frozen', true));
SELECT t.sender(31, 0, 0, 9, NULL);
SELECT t.apply(31, 31);
SELECT t.eq((SELECT attribution FROM admin_actions WHERE block_number = 31), 'unattributed',
  'a creation transaction acting on an older contract is no deployment of it');

-- An initializer in a later transaction (DIMO's deploy script: the proxy
-- created with no call data, then `initialize` sent to it). Its body
-- grants DEFAULT_ADMIN_ROLE only, then logs UpdatePeriodValidity and
-- UpdateLicenseCost (gated by LICENSE_ADMIN_ROLE when called later: the
-- caller holds no such role), then OpenZeppelin logs Initialized(1). The
-- settings are the caller's ('deployment'), not 'unattributed'; the
-- `initialize` action, gated by no role, is its sender's ('sender_only'). Block 32, contract 3003 (deployed at block 30),
-- caller 9.
SELECT t.log(32, 0, 0, 3003, 'app_license', 'RoleGranted(bytes32,address,address)',
  jsonb_build_object('role', t.role('DEFAULT_ADMIN_ROLE'), 'account', t.hex(9), 'sender', t.hex(9)));
SELECT t.log(32, 1, 0, 3003, 'app_license', 'UpdatePeriodValidity(uint256)',
  jsonb_build_object('periodValidity', '31536000'));
SELECT t.log(32, 2, 0, 3003, 'app_license', 'UpdateLicenseCost(uint256)',
  jsonb_build_object('licenseCost', '100000000000000000000'));
SELECT t.log(32, 3, 0, 3003, 'app_license', 'Initialized(uint64)', jsonb_build_object('version', '1'));
SELECT t.sender(32, 0, 0, 9, 3003);
SELECT t.apply(32, 32);
SELECT t.eq((SELECT string_agg(action || ':' || attribution || ':' || dimo_hex(by_address), ',' ORDER BY log_index)
             FROM admin_actions WHERE block_number = 32),
  'setting:deployment:' || t.hex(9) || ',setting:deployment:' || t.hex(9) || ',initialize:sender_only:' || t.hex(9),
  'an initializer''s settings and its Initialized are the caller''s, in a later transaction too');
SELECT t.eq((SELECT gating_role FROM admin_actions WHERE block_number = 32 AND action = 'initialize'), NULL::bytea,
  'no role gates an initializer');
SELECT t.eq(jsonb_array_length(dimo_admin_actions_page(137, NULL, 'initialize', NULL, NULL, NULL, 10, NULL)
             -> 'actions'), 1, 'the ledger filters on initialize');
-- The same caller's later setting, no initializer around it: it holds
-- DEFAULT_ADMIN_ROLE, not LICENSE_ADMIN_ROLE, so nobody it names held the
-- gating role: unattributed. A setting in a transaction whose Initialized
-- is another contract's is not an initializer's either.
SELECT t.log(33, 0, 0, 3003, 'app_license', 'UpdateLicenseCost(uint256)',
  jsonb_build_object('licenseCost', '200000000000000000000'));
SELECT t.sender(33, 0, 0, 9, 3003);
SELECT t.log(34, 0, 0, 3003, 'app_license', 'UpdateLicenseCost(uint256)',
  jsonb_build_object('licenseCost', '300000000000000000000'));
SELECT t.log(34, 1, 0, 3000, 'app_license', 'Initialized(uint64)', jsonb_build_object('version', '2'));
SELECT t.sender(34, 0, 0, 9, 3003);
SELECT t.apply(33, 34);
SELECT t.eq((SELECT string_agg(block_number || ':' || action || ':' || attribution, ',' ORDER BY block_number, log_index)
             FROM admin_actions WHERE block_number IN (33, 34) AND contract = t.addr(3003)),
  '33:setting:unattributed,34:setting:unattributed',
  'a setting outside its contract''s initializer is not the deployer''s');
