-- The model part licenses_2024 (schema/012, functions/license_2024.sql):
-- the 2024 license contract's Deposit / Withdraw as stake movements,
-- UpdateMinimumStake as its minimum_stake parameter, the indexed Update*
-- through the licenses part's rules, running balances with the licenses
-- part's forfeits in the same batch, and a rollback that must leave the
-- model exactly as a straight apply would. Contract addresses: 2000 = the
-- 2024 license contract, 1001 = DIMO token; owner 1, client id 101.
SELECT dimo_internal.register_contract(137, t.addr(2000), 'app_license', 'app', 0);
SELECT dimo_internal.register_contract(137, t.addr(1001), 'dimo_token', NULL, 0);

SELECT t.log(10, 0, 0, 2000, 'app_license', 'Issued(uint256,address,address)',
  jsonb_build_object('tokenId', '1', 'owner', t.hex(1), 'clientId', t.hex(101)));
SELECT t.log(10, 1, 0, 2000, 'app_license', 'Transfer(address,address,uint256)',
  jsonb_build_object('from', t.hex(0), 'to', t.hex(1), 'tokenId', '1'));
SELECT t.log(10, 2, 1, 2000, 'app_license', 'UpdateMinimumStake(uint256)',
  jsonb_build_object('amount', t.dimo(100)));
SELECT t.log(10, 3, 2, 2000, 'app_license', 'UpdatePeriodValidity(uint256)',
  jsonb_build_object('periodValidity', '2592000'));
SELECT t.apply(10, 10);
SELECT t.eq((SELECT minimum_stake FROM contract_parameters WHERE contract = t.addr(2000)), 100e18::numeric,
  'minimum stake of the 2024 contract');
SELECT t.eq(dimo_contract_param(137, t.addr(2000), 'period_validity'), 2592000::numeric, 'periodValidity');
SELECT t.eq(dimo_license_doc(137, t.addr(2000), 1, NULL) ->> 'status', 'active',
  'the minimum is not a license requirement');

-- Block 11, one batch with block 12: a deposit, a burn forfeit between two
-- deposits (the licenses part's row, summed with this part's), a withdraw.
SELECT t.log(11, 0, 3, 2000, 'app_license', 'Deposit(uint256,address,uint256)',
  jsonb_build_object('tokenId', '1', 'user', t.hex(1), 'amount', t.dimo(5000)));
SELECT t.log(11, 1, 4, 1001, 'dimo_token', 'Transfer(address,address,uint256)',
  jsonb_build_object('from', t.hex(2000), 'to', t.hex(0), 'value', t.dimo(1000)));
SELECT t.log(11, 2, 4, 2000, 'app_license', 'AssetForfeit(uint256,uint256)',
  jsonb_build_object('tokenId', '1', 'amount', t.dimo(1000)));
SELECT t.log(11, 3, 5, 2000, 'app_license', 'Deposit(uint256,address,uint256)',
  jsonb_build_object('tokenId', '1', 'user', t.hex(1), 'amount', t.dimo(300)));
SELECT t.log(12, 0, 6, 2000, 'app_license', 'Withdraw(uint256,address,uint256)',
  jsonb_build_object('tokenId', '1', 'user', t.hex(1), 'amount', t.dimo(800)));
SELECT t.apply(11, 12);
SELECT t.eq((SELECT string_agg(kind || ':' || dimo_wei_to_dimo(balance_after), ',' ORDER BY block_number, log_index)
             FROM stake_movements WHERE contract = t.addr(2000)),
  'deposit:5000,forfeit_burn:4000,deposit:4300,withdraw:3500', 'running balances across both parts');
SELECT t.eq((SELECT count(*) FROM stake_movements WHERE contract = t.addr(2000) AND owner = t.addr(1)), 4::bigint,
  'owner at every movement');
SELECT t.eq((SELECT staked FROM license_state WHERE token_id = 1), 3500e18::numeric, 'staked now');
SELECT t.eq(dimo_license_doc(137, t.addr(2000), 1, NULL) ->> 'staked', t.dimo(3500), 'document now');
SELECT t.eq(dimo_license_doc(137, t.addr(2000), 1, 11) ->> 'staked', t.dimo(4300), 'document at block 11');
SELECT t.eq((SELECT to_address FROM stake_movements WHERE kind = 'withdraw'), t.addr(1), 'withdraw goes to the user');

-- Block 13: more of both, then a rollback to 11 and the same blocks again,
-- one batch each: the model equals the straight apply.
SELECT t.log(13, 0, 7, 2000, 'app_license', 'Deposit(uint256,address,uint256)',
  jsonb_build_object('tokenId', '1', 'user', t.hex(1), 'amount', t.dimo(200)));
SELECT t.log(13, 1, 8, 2000, 'app_license', 'UpdateMinimumStake(uint256)',
  jsonb_build_object('amount', t.dimo(250)));
SELECT t.apply(13, 13);
CREATE TEMP TABLE straight AS
  SELECT t.model_digest() AS d,
    (SELECT jsonb_agg(dimo_license_doc(137, contract, token_id, NULL) ORDER BY contract, token_id)
     FROM license_state) AS docs;
SELECT t.rollback(10);
SELECT t.eq((SELECT count(*) FROM stake_movements WHERE contract = t.addr(2000)), 0::bigint, 'movements undone');
SELECT t.eq((SELECT minimum_stake FROM contract_parameters WHERE contract = t.addr(2000)), 100e18::numeric,
  'minimum stake back to block 10''s');
SELECT t.eq((SELECT staked FROM license_state WHERE token_id = 1), 0::numeric, 'stake undone');
SELECT t.log(11, 0, 3, 2000, 'app_license', 'Deposit(uint256,address,uint256)',
  jsonb_build_object('tokenId', '1', 'user', t.hex(1), 'amount', t.dimo(5000)));
SELECT t.log(11, 1, 4, 1001, 'dimo_token', 'Transfer(address,address,uint256)',
  jsonb_build_object('from', t.hex(2000), 'to', t.hex(0), 'value', t.dimo(1000)));
SELECT t.log(11, 2, 4, 2000, 'app_license', 'AssetForfeit(uint256,uint256)',
  jsonb_build_object('tokenId', '1', 'amount', t.dimo(1000)));
SELECT t.log(11, 3, 5, 2000, 'app_license', 'Deposit(uint256,address,uint256)',
  jsonb_build_object('tokenId', '1', 'user', t.hex(1), 'amount', t.dimo(300)));
SELECT t.apply(11, 11);
SELECT t.log(12, 0, 6, 2000, 'app_license', 'Withdraw(uint256,address,uint256)',
  jsonb_build_object('tokenId', '1', 'user', t.hex(1), 'amount', t.dimo(800)));
SELECT t.apply(12, 12);
SELECT t.log(13, 0, 7, 2000, 'app_license', 'Deposit(uint256,address,uint256)',
  jsonb_build_object('tokenId', '1', 'user', t.hex(1), 'amount', t.dimo(200)));
SELECT t.log(13, 1, 8, 2000, 'app_license', 'UpdateMinimumStake(uint256)',
  jsonb_build_object('amount', t.dimo(250)));
SELECT t.apply(13, 13);
SELECT t.eq(t.model_digest(), (SELECT d FROM straight), 'rolled back and re-applied block by block = straight apply');
SELECT t.eq((SELECT jsonb_agg(dimo_license_doc(137, contract, token_id, NULL) ORDER BY contract, token_id)
             FROM license_state), (SELECT docs FROM straight), 'documents equal the straight apply''s');
