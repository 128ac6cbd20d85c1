-- Unknown events and upgrades (#22; schema/013 and functions/unknown.sql)
-- from rows fed into `logs` and `unknown_logs` as the store writes them:
-- counts per (contract, topic0) and the pairs a batch shows first; the
-- route's pages and filters; the implementation history; a rollback takes
-- unknown rows and their counts with their blocks; an Upgraded of an app
-- license is an admin action gated by UPGRADER_ROLE, executed by the
-- transaction's sender (#25 item 2). Contracts: 3000 = app license,
-- 3002 = SACD proxy. Account 1 holds UPGRADER_ROLE; 8 and 9 are
-- implementations.
SELECT dimo_internal.register_contract(137, t.addr(3000), 'app_license', 'app', 0);
SELECT dimo_internal.register_contract(137, t.addr(3002), 'sacd', NULL, 0);
CREATE FUNCTION t.unknown(p_block bigint, p_index int, p_contract bigint, p_role text, p_topic0 text)
RETURNS void LANGUAGE sql
AS $$
  INSERT INTO unknown_logs (chain_id, block_number, block_hash, block_time, tx_hash, tx_index,
                            log_index, address, role, topic0, data)
  VALUES (137, p_block, sha256(convert_to('block ' || p_block, 'UTF8')), t.time(p_block),
          sha256(convert_to('tx ' || p_block || '/' || p_index, 'UTF8')), p_index, p_index,
          t.addr(p_contract), p_role, decode(p_topic0, 'hex'), '\x01'::bytea);
$$;
\set r '61dcb70b81338b32ccb30ca03da4d7aa2719e47931bfa009e8b83c0043234e4a'
\set x 'ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff'

-- Block 10: UPGRADER_ROLE to 1; the SACD proxy's first Upgraded.
SELECT t.log(10, 0, 0, 3000, 'app_license', 'RoleGranted(bytes32,address,address)',
  jsonb_build_object('role', (SELECT '0x' || encode(role, 'hex') FROM role_names WHERE name = 'UPGRADER_ROLE'),
                     'account', t.hex(1), 'sender', t.hex(1)));
SELECT t.log(10, 1, 1, 3002, 'sacd', 'Upgraded(address)', jsonb_build_object('implementation', t.hex(8)));
SELECT t.apply(10, 10);
-- Block 11: two unknown logs of the license (one pair), one of SACD.
SELECT t.unknown(11, 0, 3000, 'app_license', :'r');
SELECT t.unknown(11, 1, 3000, 'app_license', :'r');
SELECT t.unknown(11, 2, 3002, 'sacd', :'x');
SELECT t.eq((SELECT count(*) FROM dimo_internal.unknown_new_pairs(137, 11, 11)), 2::bigint,
  'block 11 shows two pairs first');
SELECT t.apply(11, 11);
-- Block 12: the license's pair again (not new), and the license upgraded by 1.
SELECT t.unknown(12, 0, 3000, 'app_license', :'r');
SELECT t.eq((SELECT count(*) FROM dimo_internal.unknown_new_pairs(137, 12, 12)), 0::bigint,
  'a pair seen before is not new');
SELECT t.log(12, 1, 1, 3000, 'app_license', 'Upgraded(address)', jsonb_build_object('implementation', t.hex(9)));
INSERT INTO tx_senders (chain_id, block_number, tx_hash, log_index, from_address, to_address)
VALUES (137, 12, sha256(convert_to('tx 12/1', 'UTF8')), 1, t.addr(1), t.addr(3000));
SELECT t.apply(12, 12);

SELECT t.eq((SELECT string_agg(c.role || ':' || c.count || ':' || c.first_block || '-' || c.last_block, ',')
  FROM dimo_unknown_event_counts(137) c), 'app_license:3:11-12,sacd:1:11-11', 'counts per pair');
SELECT t.eq((SELECT string_agg(i.role || ':' || i.kind || ':' || i.implementation || '@' || i.block_number, ',')
  FROM dimo_implementations(137) i),
  'sacd:implementation:' || t.hex(8) || '@10,app_license:implementation:' || t.hex(9) || '@12',
  'implementation history');
-- The route: pages of 2, a filter, counts of the filter.
SELECT t.eq((SELECT jsonb_array_length(j -> 'events') || ' ' || (j ->> 'next') || ' ' || (j ->> 'as_of_block')
  FROM dimo_unknown_events_page(137, NULL, NULL, NULL, 2) j), '2 u1.11.1 12', 'first page');
SELECT t.eq((SELECT (j -> 'events' -> 0 ->> 'block') || '/' || (j -> 'events' -> 0 ->> 'log_index') || ' '
    || coalesce(j ->> 'next', 'end') FROM dimo_unknown_events_page(137, NULL, NULL, 'u1.11.1', 2) j),
  '11/2 end', 'second page');
SELECT t.eq((SELECT jsonb_array_length(j -> 'events') || ' ' || (j -> 'counts' -> 0 ->> 'count')
    || ' ' || jsonb_array_length(j -> 'counts')
  FROM dimo_unknown_events_page(137, t.hex(3000), '0x' || :'r', NULL, 100) j), '3 3 1', 'filtered');
SELECT t.eq((SELECT j -> 'events' -> 0 -> 'topics' ->> 0 FROM dimo_unknown_events_page(137, t.hex(3002), NULL, NULL, 1) j),
  '0x' || :'x', 'topics');
SELECT t.eq((SELECT jsonb_array_length(j -> 'upgrades') || ' ' || (j -> 'upgrades' -> 0 ->> 'role')
  FROM dimo_upgrades_page(137, t.hex(3000), NULL, 10) j), '1 app_license', 'upgrades of one contract');
DO $$
BEGIN
  PERFORM dimo_unknown_events_page(137, NULL, NULL, 'x1.2.3', 10);
  RAISE EXCEPTION 'FAIL a malformed cursor was accepted';
EXCEPTION WHEN invalid_parameter_value THEN
  RAISE NOTICE 'ok a malformed cursor is a bad argument';
END;
$$;

-- #25 item 2: the license's Upgraded is an admin action under UPGRADER_ROLE by its sender.
SELECT t.eq((SELECT a.action || ' ' || encode(a.by_address, 'hex') || ' ' || a.attribution || ' '
    || (SELECT name FROM role_names WHERE role = a.gating_role)
  FROM admin_actions a WHERE a.block_number = 12), 'upgrade ' || encode(t.addr(1), 'hex') || ' sender UPGRADER_ROLE',
  'an upgrade of a license is an admin action');

-- A reorg above block 11: block 12's unknown row, its count and the upgrade go.
SELECT t.rollback(11);
SELECT t.eq((SELECT string_agg(c.role || ':' || c.count, ',') FROM dimo_unknown_event_counts(137) c),
  'app_license:2,sacd:1', 'counts after the rollback');
SELECT t.eq((SELECT count(*) FROM dimo_implementations(137)), 1::bigint, 'history after the rollback');
SELECT t.eq((SELECT count(*) FROM admin_actions WHERE block_number = 12), 0::bigint, 'admin action rolled back');
