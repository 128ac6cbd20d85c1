-- lib.sql: helpers for the SQL-level model tests (tests/sql/test_*.sql).
-- Loaded into a freshly migrated database before each test file; lives in
-- its own schema `t` so it never collides with the model. The tests feed
-- decoded rows into `logs` directly, as the store's COPY would, and drive
-- the model through the same hooks the store calls (dimo_internal.apply_range,
-- dimo_internal.rollback_above): no chain, no RPC, no C.
CREATE SCHEMA t;

-- Address n (a small integer) as bytea and as the 0x text of args.
CREATE FUNCTION t.addr(n bigint) RETURNS bytea LANGUAGE sql IMMUTABLE
AS $$ SELECT decode(lpad(to_hex(n), 40, '0'), 'hex') $$;
CREATE FUNCTION t.hex(n bigint) RETURNS text LANGUAGE sql IMMUTABLE
AS $$ SELECT '0x' || lpad(to_hex(n), 40, '0') $$;
-- n DIMO in wei, as the decimal text of args.
CREATE FUNCTION t.dimo(n numeric) RETURNS text LANGUAGE sql IMMUTABLE
AS $$ SELECT (n * 1000000000000000000)::numeric(78,0)::text $$;
-- Block b's time: 2 s blocks from 2025-01-01.
CREATE FUNCTION t.time(b bigint) RETURNS timestamptz LANGUAGE sql IMMUTABLE
AS $$ SELECT timestamptz '2025-01-01 00:00:00+00' + b * interval '2 seconds' $$;

-- One log of contract address t.addr(contract) at (block, log_index), in
-- transaction tx of that block (tx hashes differ per block and tx).
CREATE FUNCTION t.log(p_block bigint, p_index int, p_tx int, p_contract bigint, p_role text,
                      p_event text, p_args jsonb) RETURNS void
LANGUAGE sql
AS $$
  INSERT INTO logs (chain_id, block_number, block_hash, block_time, tx_hash, tx_index, log_index,
                    address, data, event, event_name, role, args)
  VALUES (137, p_block, sha256(convert_to('block ' || p_block, 'UTF8')), t.time(p_block),
          sha256(convert_to('tx ' || p_block || '/' || p_tx, 'UTF8')), p_tx, p_index,
          t.addr(p_contract), '\x'::bytea, p_event, split_part(p_event, '(', 1), p_role, p_args);
$$;

-- The store's batch and rollback, as far as the model sees them.
CREATE FUNCTION t.apply(p_from bigint, p_to bigint) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
  PERFORM dimo_internal.apply_range(137, p_from, p_to);
  INSERT INTO cursors (chain_id, last_block, last_hash)
  VALUES (137, p_to, sha256(convert_to('block ' || p_to, 'UTF8')))
  ON CONFLICT (chain_id) DO UPDATE SET last_block = EXCLUDED.last_block, last_hash = EXCLUDED.last_hash;
END;
$$;

CREATE FUNCTION t.rollback(p_keep bigint) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
  PERFORM dimo_internal.rollback_above(137, p_keep);
  DELETE FROM logs WHERE chain_id = 137 AND block_number > p_keep;
  DELETE FROM unknown_logs WHERE chain_id = 137 AND block_number > p_keep; -- #22: raw, like logs
  UPDATE cursors SET last_block = p_keep, last_hash = sha256(convert_to('block ' || p_keep, 'UTF8'))
  WHERE chain_id = 137;
END;
$$;

-- Assertions: raise (and so fail the file under ON_ERROR_STOP) with both values.
CREATE FUNCTION t.eq(p_got anyelement, p_want anyelement, p_what text) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
  IF p_got IS DISTINCT FROM p_want THEN
    RAISE EXCEPTION 'FAIL %: got %, want %', p_what, coalesce(p_got::text, 'NULL'),
      coalesce(p_want::text, 'NULL');
  END IF;
  RAISE NOTICE 'ok %', p_what;
END;
$$;

-- A snapshot of every derived row (the model's tables), to compare a
-- rolled-back-and-reapplied model with the straight one. The cached
-- license document's columns are left out: a cache rebuilt at another
-- block is not a difference (the documents are compared through
-- dimo_license_doc instead).
CREATE FUNCTION t.model_digest() RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
  r record;
  acc text := '';
  n bigint;
  d text;
BEGIN
  FOR r IN
    SELECT c.relname FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
    WHERE s.nspname = 'public' AND c.relkind = 'r'
      AND c.relname NOT IN ('logs', 'blocks', 'cursors', 'schema_migrations', 'schema_repeatables',
                            'model_parts', 'model_reads', 'model_histories', 'contracts',
                            'required_stakes', 'required_stake_overrides')
    ORDER BY c.relname
  LOOP
    EXECUTE format('SELECT count(*), md5(coalesce(string_agg(j::text, %L ORDER BY j::text), %L)) '
                   'FROM (SELECT to_jsonb(x) - %L - %L - %L - %L AS j FROM %I x) y',
                   E'\n', '', 'doc', 'doc_block', 'doc_time', 'doc_expires', r.relname) INTO n, d;
    acc := acc || r.relname || ':' || n || ':' || d || ' ';
  END LOOP;
  RETURN acc;
END;
$$;
