-- The model-part registry (001's model_parts) on a database that already
-- holds logs: a part registered then derives the stored logs at once
-- (trigger model_parts_registered, schema/functions/licenses.sql), then
-- follows batches and rollbacks like every part. The test part records
-- which logs it saw. Contract 1000 = app license, owners 1.., client ids 101...
SELECT dimo_internal.register_contract(137, t.addr(1000), 'app_license', 'app', 0);
SELECT t.log(10, 0, 0, 1000, 'app_license', 'Issued(uint256,address,address)',
  jsonb_build_object('tokenId', '1', 'owner', t.hex(1), 'clientId', t.hex(101)));
SELECT t.log(10, 1, 0, 1000, 'app_license', 'Transfer(address,address,uint256)',
  jsonb_build_object('from', t.hex(0), 'to', t.hex(1), 'tokenId', '1'));
SELECT t.apply(10, 10);
SELECT t.log(12, 0, 0, 1000, 'app_license', 'SignerEnabled(uint256,address)',
  jsonb_build_object('tokenId', '1', 'signer', t.hex(201)));
SELECT t.apply(11, 12);

-- The new part: one row per log it derived.
CREATE TABLE t.seen (chain_id bigint, block_number bigint, log_index int, PRIMARY KEY (chain_id, block_number, log_index));
CREATE FUNCTION t.seen_apply(p_chain_id bigint, p_from_block bigint, p_to_block bigint) RETURNS void
LANGUAGE sql AS $$
  INSERT INTO t.seen SELECT l.chain_id, l.block_number, l.log_index FROM logs l
  WHERE l.chain_id = p_chain_id AND l.block_number BETWEEN p_from_block AND p_to_block
$$;
CREATE FUNCTION t.seen_rollback(p_chain_id bigint, p_keep_block bigint) RETURNS void
LANGUAGE sql AS $$
  DELETE FROM t.seen WHERE chain_id = p_chain_id AND block_number > p_keep_block
$$;
SELECT t.eq((SELECT count(*) FROM t.seen), 0::bigint, 'nothing seen before registration');
INSERT INTO model_parts (ord, name, apply_fn, rollback_fn)
VALUES (900, 'test_seen', 't.seen_apply(bigint,bigint,bigint)', 't.seen_rollback(bigint,bigint)');
SELECT t.eq((SELECT string_agg(block_number || '/' || log_index, ' ' ORDER BY block_number, log_index) FROM t.seen),
            '10/0 10/1 12/0', 'registration derived the stored logs');
SELECT t.eq((SELECT count(*) FROM license_state), 1::bigint, 'the other parts untouched');

-- Then it follows batches and rollbacks like every part.
SELECT t.log(13, 0, 0, 1000, 'app_license', 'SignerDisabled(uint256,address)',
  jsonb_build_object('tokenId', '1', 'signer', t.hex(201)));
SELECT t.apply(13, 13);
SELECT t.eq((SELECT count(*) FROM t.seen), 4::bigint, 'a new batch');
SELECT t.rollback(11);
SELECT t.eq((SELECT count(*) FROM t.seen), 2::bigint, 'rolled back with the others');
SELECT t.eq((SELECT count(*) FROM license_signers), 0::bigint, 'signer rolled back');
DELETE FROM model_parts WHERE name = 'test_seen';

-- On a chain without stored logs nothing runs.
TRUNCATE t.seen;
SELECT t.rollback(9); -- every stored log goes
INSERT INTO model_parts (ord, name, apply_fn, rollback_fn)
VALUES (900, 'test_seen', 't.seen_apply(bigint,bigint,bigint)', 't.seen_rollback(bigint,bigint)');
SELECT t.eq((SELECT count(*) FROM t.seen), 0::bigint, 'no logs, nothing derived');
