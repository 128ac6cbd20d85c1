-- SQL-level test of the model parts 007 (storage nodes) and 008
-- (connections): rows go into `logs` directly (no chain), the hooks of 001
-- derive them, and every answer is asserted. Run on a freshly migrated
-- database by tests/integration/test_nodes_sql.sh (psql, ON_ERROR_STOP: a
-- failed ASSERT fails the test).

-- A decoded log as the store writes it (block hash, tx hash and time
-- derived from the block number and log index).
CREATE FUNCTION pg_temp.lg(p_block int, p_idx int, p_addr text, p_role text, p_event text, p_args jsonb)
RETURNS void LANGUAGE sql AS $$
  INSERT INTO logs (chain_id, block_number, block_hash, block_time, tx_hash, tx_index, log_index, address,
    data, event, event_name, role, args)
  VALUES (137, p_block, decode(lpad(to_hex(p_block), 64, '0'), 'hex'),
    '2025-01-31 23:59:00+00'::timestamptz + p_block * interval '2 seconds',
    decode(lpad(to_hex(p_block * 1000 + p_idx), 64, '0'), 'hex'), 0, p_idx,
    decode(repeat(p_addr, 20), 'hex'), '\x', p_event, split_part(p_event, '(', 1), p_role, p_args)
$$;

-- Store order: logs, then apply; rollback, then the logs go.
CREATE FUNCTION pg_temp.apply(p_from int, p_to int) RETURNS void LANGUAGE sql AS $$
  INSERT INTO cursors (chain_id, last_block, last_hash) VALUES (137, p_to, decode(lpad(to_hex(p_to), 64, '0'), 'hex'))
  ON CONFLICT (chain_id) DO UPDATE SET last_block = EXCLUDED.last_block, last_hash = EXCLUDED.last_hash;
  SELECT dimo_internal.apply_range(137, p_from, p_to);
$$;
CREATE FUNCTION pg_temp.rollback(p_keep int) RETURNS void LANGUAGE sql AS $$
  SELECT dimo_internal.rollback_above(137, p_keep);
  DELETE FROM logs WHERE chain_id = 137 AND block_number > p_keep;
  UPDATE cursors SET last_block = p_keep, last_hash = decode(lpad(to_hex(p_keep), 64, '0'), 'hex') WHERE chain_id = 137;
$$;

SELECT dimo_internal.register_contract(137, decode(repeat('11', 20), 'hex'), 'storage_node', 'node', 0);
SELECT dimo_internal.register_contract(137, decode(repeat('22', 20), 'hex'), 'node_registry', NULL, 0);
SELECT dimo_internal.register_contract(137, decode(repeat('33', 20), 'hex'), 'vehicle', NULL, 0);
SELECT dimo_internal.register_contract(137, decode(repeat('44', 20), 'hex'), 'connection', 'connection', 0);

-- Block 10: two anchors (ids 1 and 2 stand for keccak256 of their labels).
SELECT pg_temp.lg(10, 0, '11', 'storage_node', 'Transfer(address,address,uint256)',
  '{"from":"0x0000000000000000000000000000000000000000","to":"0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","id":"1"}');
SELECT pg_temp.lg(10, 1, '11', 'storage_node', 'StorageNodeAnchorMinted(address,uint256,address,string,string)',
  '{"account":"0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","nodeAnchorId":"1","nodeAnchorAddr":"0xa1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1","nodeAnchorLabel":"n-one","nodeAnchorUri":"https://one/1"}');
SELECT pg_temp.lg(10, 2, '11', 'storage_node', 'Transfer(address,address,uint256)',
  '{"from":"0x0000000000000000000000000000000000000000","to":"0xbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","id":"2"}');
SELECT pg_temp.lg(10, 3, '11', 'storage_node', 'StorageNodeAnchorMinted(address,uint256,address,string,string)',
  '{"account":"0xbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","nodeAnchorId":"2","nodeAnchorAddr":"0xb2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2","nodeAnchorLabel":"22","nodeAnchorUri":"ipfs://two"}');
-- A malformed log (token id not a number) is skipped, never fatal.
SELECT pg_temp.lg(10, 4, '11', 'storage_node', 'NodeUriUpdated(uint256,string)', '{"nodeId":"x","newNodeUri":"u"}');
-- Block 11: three vehicles, assigned under the registry's old event name.
SELECT pg_temp.lg(11, v, '33', 'vehicle', 'Transfer(address,address,uint256)',
  jsonb_build_object('from', '0x0000000000000000000000000000000000000000', 'to', '0xcccccccccccccccccccccccccccccccccccccccc', 'tokenId', v::text))
FROM generate_series(1, 3) v;
SELECT pg_temp.lg(11, 10, '22', 'node_registry', 'NodeIdSetForVehicleId(uint256,uint256)', '{"vehicleId":"1","storageNodeId":"1"}');
SELECT pg_temp.lg(11, 11, '22', 'node_registry', 'NodeIdSetForVehicleId(uint256,uint256)', '{"vehicleId":"2","storageNodeId":"1"}');
SELECT pg_temp.lg(11, 12, '22', 'node_registry', 'NodeIdSetForVehicleId(uint256,uint256)', '{"vehicleId":"3","storageNodeId":"2"}');
-- Block 1339212 (31 days later, in March): vehicle 2 moves under the new name, vehicle 3
-- is burned, node 1's URI changes, node 2 changes hands.
SELECT pg_temp.lg(1339212, 0, '22', 'node_registry', 'VehicleStorageNodeIdSet(uint256,uint256)', '{"vehicleId":"2","storageNodeId":"2"}');
SELECT pg_temp.lg(1339212, 1, '33', 'vehicle', 'Transfer(address,address,uint256)',
  '{"from":"0xcccccccccccccccccccccccccccccccccccccccc","to":"0x0000000000000000000000000000000000000000","tokenId":"3"}');
SELECT pg_temp.lg(1339212, 2, '11', 'storage_node', 'NodeUriUpdated(uint256,string)', '{"nodeId":"1","newNodeUri":"https://one/2"}');
SELECT pg_temp.lg(1339212, 3, '11', 'storage_node', 'Transfer(address,address,uint256)',
  '{"from":"0xbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","to":"0xdddddddddddddddddddddddddddddddddddddddd","id":"2"}');
SELECT pg_temp.apply(0, 1339212);

DO $$
DECLARE
  d jsonb;
BEGIN
  ASSERT (SELECT count(*) FROM storage_node_events) = 6, 'storage node history (malformed log skipped)';
  ASSERT dimo_node_users(137, 1) = 1 AND dimo_node_users(137, 2) = 1, 'users now: v1 on 1, v2 on 2, v3 burned';
  ASSERT dimo_node_users(137, 1, 11) = 2 AND dimo_node_users(137, 2, 11) = 1, 'users at block 11';
  ASSERT dimo_node_users(137, 1, 10) = 0, 'users at block 10';
  d := dimo_node_doc(137, 'n-one');
  ASSERT d ->> 'token_id' = '1' AND d ->> 'uri' = 'https://one/2' AND jsonb_array_length(d -> 'uris') = 2
    AND d ->> 'status' = 'active' AND d ->> 'alias' = 'n-one' AND d -> 'staked' = 'null'::jsonb
    AND d -> 'trust_ratio' = 'null'::jsonb AND (d ->> 'users')::int = 1
    AND d ->> 'required_stake' = '100002000000000000000000' AND (d ->> 'as_of_block')::int = 1339212, d::text;
  ASSERT dimo_node_doc(137, '1')::jsonb = d, 'by id = by label';
  d := dimo_node_doc(137, 'n-one', 11);
  ASSERT d ->> 'uri' = 'https://one/1' AND d ->> 'required_stake' = '100004000000000000000000', d::text;
  -- A label of digits: tried as a token id first (none is 22), then as a label.
  d := dimo_node_doc(137, '22');
  ASSERT d ->> 'token_id' = '2' AND d ->> 'owner' = '0xdddddddddddddddddddddddddddddddddddddddd', d::text;
  ASSERT dimo_node_doc(137, 'n-one', 9) IS NULL, 'not minted at block 9';
  ASSERT (SELECT users FROM storage_node_users WHERE token_id = 2) = 1, 'storage_node_users';
  ASSERT (SELECT array_agg(users ORDER BY month) FROM monthly_node_users WHERE token_id = 1) = '{2,2,1}',
    (SELECT array_agg(users ORDER BY month) FROM monthly_node_users WHERE token_id = 1)::text;
  ASSERT (SELECT array_agg(users ORDER BY month) FROM monthly_node_users WHERE token_id = 2) = '{1,1,1}', 'node 2 months (January, an empty February, March)';
END $$;

-- Connections: generation 1 ('abc': id = 'abc' as bytes32), settings,
-- generation 3 ('xyz' with a type), an upgrade, a transfer.
SELECT pg_temp.lg(1339213, 0, '44', 'connection', 'LicenseCostSet(uint256)', '{"licenseCost":"7"}');
SELECT pg_temp.lg(1339213, 1, '44', 'connection', 'Transfer(address,address,uint256)', jsonb_build_object(
  'from', '0x0000000000000000000000000000000000000000', 'to', '0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
  'tokenId', dimo_connection_id('abc')::text));
SELECT pg_temp.lg(1339213, 2, '44', 'connection', 'LicenseMinted(address,uint256,address,uint256)', jsonb_build_object(
  'account', '0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'licenseId', dimo_connection_id('abc')::text,
  'licenseAddr', '0xabababababababababababababababababababab', 'licenseCostInDimo', '7'));
SELECT pg_temp.apply(1339213, 1339213);
SELECT pg_temp.lg(1339214, 0, '44', 'connection', 'ConnectionConfigSet(bytes32,uint256,uint256)', jsonb_build_object(
  'connectionType', '0x' || rpad(encode('oem', 'hex'), 64, '0'), 'cost', '50', 'points', '3'));
SELECT pg_temp.lg(1339214, 1, '44', 'connection', 'Transfer(address,address,uint256)', jsonb_build_object(
  'from', '0x0000000000000000000000000000000000000000', 'to', '0xbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb',
  'tokenId', dimo_connection_id('xyz')::text));
SELECT pg_temp.lg(1339214, 2, '44', 'connection', 'ConnectionMinted(address,uint256,address,string,bytes32,uint256)', jsonb_build_object(
  'account', '0xbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', 'connectionId', dimo_connection_id('xyz')::text,
  'connectionAddr', '0xcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd', 'connectionName', 'xyz',
  'connectionType', '0x' || rpad(encode('oem', 'hex'), 64, '0'), 'connectionCostInDimo', '50'));
SELECT pg_temp.lg(1339214, 3, '44', 'connection', 'ConnectionUpgraded(uint256,address,bytes32,uint256)', jsonb_build_object(
  'connectionId', dimo_connection_id('abc')::text, 'connectionAddr', '0xabababababababababababababababababababab',
  'connectionType', '0x' || rpad(encode('oem', 'hex'), 64, '0'), 'connectionCostInDimo', '50'));
SELECT pg_temp.lg(1339214, 4, '44', 'connection', 'Transfer(address,address,uint256)', jsonb_build_object(
  'from', '0xbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', 'to', '0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee',
  'tokenId', dimo_connection_id('xyz')::text));
SELECT pg_temp.apply(1339214, 1339214);

DO $$
DECLARE
  d jsonb;
BEGIN
  ASSERT dimo_connection_id('abc') = 44048180597813453602326562734351324025098966208897425494240603688123167145984,
    'bytes32 of a name';
  d := dimo_connection_doc(137, 'abc');
  ASSERT d ->> 'name' = 'abc' AND (d ->> 'generation')::int = 1 AND d ->> 'type_name' = 'oem'
    AND d ->> 'mint_cost' = '7' AND d ->> 'cost_paid' = '57' AND (d ->> 'upgrades')::int = 1
    AND d ->> 'owner' = '0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' AND jsonb_array_length(d -> 'history') = 3, d::text;
  ASSERT dimo_connection_doc(137, dimo_connection_id('abc')::text)::jsonb = d, 'by id = by name';
  d := dimo_connection_doc(137, 'abc', 1339213);
  ASSERT d -> 'type' = 'null'::jsonb AND d ->> 'cost_paid' = '7', d::text;
  d := dimo_connection_doc(137, 'xyz');
  ASSERT (d ->> 'generation')::int = 3 AND d ->> 'owner' = '0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee'
    AND d ->> 'connection_address' = '0xcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd', d::text;
  ASSERT dimo_connection_doc(137, 'xyz', 1339213) IS NULL, 'not minted yet';
  ASSERT (SELECT count(*) FROM connection_configs) = 2, 'settings';
END $$;

-- Rollback: above 1339213 the generation-3 mint, the upgrade and the
-- settings go; above 11 the move, the burn and the URI change go too.
SELECT pg_temp.rollback(1339213);
DO $$
BEGIN
  ASSERT (SELECT count(*) FROM connections) = 1 AND dimo_connection_doc(137, 'xyz') IS NULL, 'xyz rolled back';
  ASSERT dimo_connection_doc(137, 'abc') ->> 'cost_paid' = '7', 'upgrade rolled back';
  ASSERT (SELECT count(*) FROM connection_settings) = 1, 'settings rolled back';
END $$;
SELECT pg_temp.rollback(11);
DO $$
BEGIN
  ASSERT (SELECT count(*) FROM connections) = 0 AND (SELECT count(*) FROM connection_events) = 0, 'connections gone';
  ASSERT dimo_node_users(137, 1) = 2 AND dimo_node_users(137, 2) = 1, 'users after the rollback';
  ASSERT (SELECT node_id FROM vehicle_storage_nodes WHERE vehicle_id = 2) = 1, 'vehicle 2 back on node 1';
  ASSERT (SELECT uri FROM storage_nodes WHERE token_id = 1) = 'https://one/1', 'uri rolled back';
  ASSERT (SELECT owner FROM storage_nodes WHERE token_id = 2) = decode(repeat('bb', 20), 'hex'), 'owner rolled back';
  ASSERT (SELECT users FROM storage_node_users WHERE token_id = 1) = 2, 'view after the rollback';
END $$;
SELECT pg_temp.rollback(9);
DO $$
BEGIN
  ASSERT (SELECT count(*) FROM storage_nodes) + (SELECT count(*) FROM vehicle_storage_nodes)
    + (SELECT count(*) FROM storage_node_events) + (SELECT count(*) FROM vehicle_node_events) = 0, 'all gone';
END $$;

SELECT 'nodes_connections.sql: ok';
