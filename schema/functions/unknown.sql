-- functions/unknown.sql (repeatable: re-applied whenever it changes): the
-- questions about what the ABIs do not know (013's unknown_logs) and about
-- each watched contract's implementation history (its ERC-1967 Upgraded /
-- BeaconUpgraded logs in `logs`, 013's partial index logs_upgrades).
-- Read-only; nothing is derived, so nothing here needs a rollback: the rows
-- they read are deleted with their block by the store's rollback. PL/pgSQL
-- where a body reads 013's table: a database on an earlier schema can
-- still apply this file (only SQL bodies are checked at creation).
--
--   dimo_unknown_event_counts(chain)   per (contract, topic0): count, first
--                                      and last block (status, /metrics)
--   dimo_internal.unknown_new_pairs(chain, from, to)
--                                      the pairs a batch of blocks from..to
--                                      saw first (the store's warning)
--   dimo_unknown_events_page(chain, contract, topic0, after, limit)
--                                      GET /v1/unknown-events
--   dimo_implementations(chain)        every Upgraded / BeaconUpgraded, oldest
--                                      first (status)
--   dimo_upgrades_page(chain, contract, after, limit)
--                                      GET /v1/upgrades
--   dimo_internal.coverage_stored_blocks(chain, blocks),
--   dimo_internal.coverage_stage(), dimo_internal.coverage_merge(...)
--                                      the coverage catch-up's round (a
--                                      database indexed before 013:
--                                      indexer/coverage.c)
--   dimo_internal.coverage_merge_contract(...)  its round for one contract
--                                      added after the first sync (021)

CREATE OR REPLACE FUNCTION dimo_unknown_event_counts(p_chain_id bigint)
RETURNS TABLE (contract text, role text, topic0 text, count bigint, first_block bigint,
               last_block bigint)
LANGUAGE plpgsql STABLE
AS $$
BEGIN
  RETURN QUERY
  SELECT dimo_hex(u.address), max(u.role), dimo_hex(u.topic0), count(*), min(u.block_number),
    max(u.block_number)
  FROM unknown_logs u
  WHERE u.chain_id = p_chain_id
  GROUP BY u.address, u.topic0
  ORDER BY min(u.block_number), u.address, u.topic0;
END;
$$;

-- A pair is new when no row of it lies below the batch (the batch's own
-- rows are already inserted when the store asks). The batch's pairs are
-- grouped first and each is looked up once, by equality on the
-- unknown_logs_pair index (a NULL topic0, an anonymous log, by its own
-- IS NULL branch): the check written per row with `o.topic0 = u.topic0 OR
-- both NULL` could not use the index and walked every older row of the
-- contract for every row of the batch, 1,055 ms for a batch of 1,600 raw
-- logs over 20,000 stored, 11 ms this way (scripts/bench_upgraded.sh,
-- BENCHMARKS.md "Upgraded databases").
CREATE OR REPLACE FUNCTION dimo_internal.unknown_new_pairs(p_chain_id bigint, p_from_block bigint,
                                                   p_to_block bigint)
RETURNS TABLE (contract text, role text, topic0 text, first_block bigint)
LANGUAGE plpgsql STABLE
AS $$
BEGIN
  RETURN QUERY
  WITH pairs AS (
    SELECT u.address, u.topic0, max(u.role) AS role, min(u.block_number) AS first_block
    FROM unknown_logs u
    WHERE u.chain_id = p_chain_id AND u.block_number BETWEEN p_from_block AND p_to_block
    GROUP BY u.address, u.topic0)
  SELECT dimo_hex(p.address), p.role, coalesce(dimo_hex(p.topic0), 'none'), p.first_block
  FROM pairs p
  WHERE CASE WHEN p.topic0 IS NULL THEN
          NOT EXISTS (SELECT 1 FROM unknown_logs o
                      WHERE o.chain_id = p_chain_id AND o.address = p.address AND o.topic0 IS NULL
                        AND o.block_number < p_from_block)
        ELSE
          NOT EXISTS (SELECT 1 FROM unknown_logs o
                      WHERE o.chain_id = p_chain_id AND o.address = p.address AND o.topic0 = p.topic0
                        AND o.block_number < p_from_block)
        END
  ORDER BY p.first_block, p.address;
END;
$$;

-- An address or topic given as 0x hex text ('0x' + 2n hex digits), or NULL.
CREATE OR REPLACE FUNCTION dimo_internal.hex_arg(p text, p_bytes int, p_what text) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
  IF p IS NULL THEN
    RETURN NULL;
  END IF;
  IF p !~ ('^0x[0-9a-fA-F]{' || (2 * p_bytes) || '}$') THEN
    PERFORM dimo_internal.bad_arg(format('%s must be 0x and %s hex digits', p_what, 2 * p_bytes));
  END IF;
  RETURN decode(substr(p, 3), 'hex');
END;
$$;

-- The block from which unknown_logs and the upgrade history are complete
-- (016: a database indexed before 013 asked only known topic0s below it),
-- or NULL: complete from the start. PL/pgSQL: the file applies to a
-- schema before 016 too (the table is read when called).
CREATE OR REPLACE FUNCTION dimo_internal.unfiltered_from(p_chain_id bigint) RETURNS bigint
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  v bigint;
BEGIN
  SELECT u.complete_from INTO v FROM unfiltered_coverage u WHERE u.chain_id = p_chain_id;
  RETURN v;
END;
$$;

-- What the routes answer as complete_from_block: unfiltered_from, or, while
-- a contract added after the first sync (021, contract_coverage) is not
-- caught up yet, the highest block below which one of them was not asked
-- (cautious: its unknown logs and upgrades below it are not all stored).
CREATE OR REPLACE FUNCTION dimo_internal.answers_complete_from(p_chain_id bigint) RETURNS bigint
LANGUAGE plpgsql STABLE
AS $$
BEGIN
  RETURN greatest(dimo_internal.unfiltered_from(p_chain_id),
                  (SELECT max(k.complete_from) FROM dimo_internal.contract_coverage_list(p_chain_id) k));
END;
$$;

-- "<prefix>.<block>.<log index>" into (block, log index); (-1, -1) for none.
CREATE OR REPLACE FUNCTION dimo_internal.page_after(p_after text, p_prefix text, OUT block_number bigint,
                                            OUT log_index int)
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
  block_number := -1;
  log_index := -1;
  IF coalesce(p_after, '') <> '' THEN
    IF p_after !~ ('^' || p_prefix || '\.[0-9]{1,18}\.[0-9]{1,9}$') THEN
      PERFORM dimo_internal.bad_arg('malformed page cursor');
    END IF;
    block_number := split_part(p_after, '.', 2)::bigint;
    log_index := split_part(p_after, '.', 3)::int;
  END IF;
END;
$$;

-- {"events": [{"contract", "role", "topic0", "topics": [...], "data",
--   "block", "log_index", "tx", "time"}, ...] oldest first,
--  "counts": [{"contract", "role", "topic0", "count", "first_block",
--   "last_block"}, ...] (of the filter, every page), "next", "as_of_block"}.
-- as_of_block is the cursor (these are raw rows: they need no model).
CREATE OR REPLACE FUNCTION dimo_unknown_events_page(p_chain_id bigint, p_contract text,
                                                    p_topic0 text, p_after text, p_limit int)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET jit = off
AS $$
DECLARE
  v_limit int := least(greatest(coalesce(p_limit, 100), 1), 1000);
  v_contract bytea := dimo_internal.hex_arg(p_contract, 20, 'contract');
  v_topic0 bytea := dimo_internal.hex_arg(p_topic0, 32, 'topic0');
  v_after record;
  v_block bigint;
  v_items jsonb;
  v_count int;
  v_next text;
  v_counts jsonb;
BEGIN
  v_after := dimo_internal.page_after(p_after, 'u1');
  SELECT c.last_block INTO v_block FROM cursors c WHERE c.chain_id = p_chain_id;
  WITH page AS (
    SELECT u.*, row_number() OVER (ORDER BY u.block_number, u.log_index) AS rn
    FROM (
      SELECT u.* FROM unknown_logs u
      WHERE u.chain_id = p_chain_id
        AND (v_contract IS NULL OR u.address = v_contract)
        AND (v_topic0 IS NULL OR u.topic0 = v_topic0)
        AND (u.block_number, u.log_index) > (v_after.block_number, v_after.log_index)
      ORDER BY u.block_number, u.log_index
      LIMIT v_limit + 1) u)
  SELECT coalesce(jsonb_agg(jsonb_build_object(
        'contract', dimo_hex(p.address), 'role', p.role, 'topic0', dimo_hex(p.topic0),
        'topics', to_jsonb(array_remove(ARRAY[dimo_hex(p.topic0), dimo_hex(p.topic1),
                                              dimo_hex(p.topic2), dimo_hex(p.topic3)], NULL)),
        'data', dimo_hex(p.data), 'block', p.block_number, 'log_index', p.log_index,
        'tx', dimo_hex(p.tx_hash), 'time', dimo_iso(p.block_time))
      ORDER BY p.rn) FILTER (WHERE p.rn <= v_limit), '[]'),
    count(*),
    max(CASE WHEN p.rn = v_limit THEN 'u1.' || p.block_number || '.' || p.log_index END)
    INTO v_items, v_count, v_next
  FROM page p;
  SELECT coalesce(jsonb_agg(jsonb_build_object('contract', c.contract, 'role', c.role,
      'topic0', c.topic0, 'count', c.count, 'first_block', c.first_block,
      'last_block', c.last_block)), '[]')
    INTO v_counts
  FROM dimo_unknown_event_counts(p_chain_id) c
  WHERE (p_contract IS NULL OR c.contract = lower(p_contract))
    AND (p_topic0 IS NULL OR c.topic0 = lower(p_topic0));
  RETURN jsonb_build_object('events', v_items, 'counts', v_counts,
    'next', CASE WHEN v_count > v_limit THEN v_next END, 'as_of_block', v_block,
    'complete_from_block', dimo_internal.answers_complete_from(p_chain_id));
END;
$$;

-- Every upgrade of a watched contract, oldest first: kind 'implementation'
-- (Upgraded) or 'beacon' (BeaconUpgraded).
CREATE OR REPLACE FUNCTION dimo_implementations(p_chain_id bigint)
RETURNS TABLE (contract text, role text, kind text, implementation text, block_number bigint,
               log_index int, tx text, block_time text)
LANGUAGE sql STABLE
AS $$
  SELECT dimo_hex(l.address), l.role,
    CASE l.event WHEN 'Upgraded(address)' THEN 'implementation' ELSE 'beacon' END,
    coalesce(l.args ->> 'implementation', l.args ->> 'beacon'), l.block_number, l.log_index,
    dimo_hex(l.tx_hash), dimo_iso(l.block_time)
  FROM logs l
  WHERE l.chain_id = p_chain_id AND l.event IN ('Upgraded(address)', 'BeaconUpgraded(address)')
  ORDER BY l.block_number, l.log_index
$$;

-- {"upgrades": [{"contract", "role", "kind", "implementation", "block",
--   "log_index", "tx", "time"}, ...] oldest first, "next", "as_of_block"}.
CREATE OR REPLACE FUNCTION dimo_upgrades_page(p_chain_id bigint, p_contract text, p_after text,
                                              p_limit int)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET jit = off
AS $$
DECLARE
  v_limit int := least(greatest(coalesce(p_limit, 100), 1), 1000);
  v_contract text := lower(dimo_hex(dimo_internal.hex_arg(p_contract, 20, 'contract')));
  v_after record;
  v_block bigint;
  v_items jsonb;
  v_count int;
  v_next text;
BEGIN
  v_after := dimo_internal.page_after(p_after, 'g1');
  SELECT c.last_block INTO v_block FROM cursors c WHERE c.chain_id = p_chain_id;
  WITH page AS (
    SELECT i.*, row_number() OVER (ORDER BY i.block_number, i.log_index) AS rn
    FROM (
      SELECT i.* FROM dimo_implementations(p_chain_id) i
      WHERE (v_contract IS NULL OR i.contract = v_contract)
        AND (i.block_number, i.log_index) > (v_after.block_number, v_after.log_index)
      ORDER BY i.block_number, i.log_index
      LIMIT v_limit + 1) i)
  SELECT coalesce(jsonb_agg(jsonb_build_object(
        'contract', p.contract, 'role', p.role, 'kind', p.kind,
        'implementation', p.implementation, 'block', p.block_number, 'log_index', p.log_index,
        'tx', p.tx, 'time', p.block_time)
      ORDER BY p.rn) FILTER (WHERE p.rn <= v_limit), '[]'),
    count(*),
    max(CASE WHEN p.rn = v_limit THEN 'g1.' || p.block_number || '.' || p.log_index END)
    INTO v_items, v_count, v_next
  FROM page p;
  RETURN jsonb_build_object('upgrades', v_items,
    'next', CASE WHEN v_count > v_limit THEN v_next END, 'as_of_block', v_block,
    'complete_from_block', dimo_internal.answers_complete_from(p_chain_id));
END;
$$;

-- ---- the coverage catch-up (a database indexed before 013) -------------------
--
-- Below unfiltered_coverage.complete_from (016) a database indexed before
-- 013 lacks what the quiet contracts' unfiltered request brings: unknown
-- logs, Upgraded / BeaconUpgraded of a contract whose ABI lacked them, any
-- event an ABI learned since. `run` and `sync` ask those blocks again at
-- start, top down, one round of blocks at a time (indexer/coverage.c): the
-- round's checked answer is COPYed into the two tables below, then merged
-- by coverage_merge, in one transaction that also moves complete_from down.
-- A crash at any instant leaves either the round whole or nothing of it.

-- For each of p_blocks, the hash and time its stored logs carry (`logs`,
-- else unknown_logs; all of a block's rows carry the same), if it has any:
-- a round's answer is checked against them, and only the headers of its
-- other blocks are asked for. One index probe per block.
CREATE OR REPLACE FUNCTION dimo_internal.coverage_stored_blocks(p_chain_id bigint, p_blocks bigint[])
RETURNS TABLE (block_number bigint, block_hash bytea, block_time bigint)
LANGUAGE plpgsql STABLE
AS $$
BEGIN
  RETURN QUERY
  SELECT b.n, s.block_hash, extract(epoch FROM s.block_time)::bigint
  FROM unnest(p_blocks) AS b(n)
  CROSS JOIN LATERAL (
    (SELECT l.block_hash, l.block_time FROM logs l
     WHERE l.chain_id = p_chain_id AND l.block_number = b.n LIMIT 1)
    UNION ALL
    (SELECT u.block_hash, u.block_time FROM unknown_logs u
     WHERE u.chain_id = p_chain_id AND u.block_number = b.n LIMIT 1)
    LIMIT 1) s
  ORDER BY b.n;
END;
$$;

-- The staging tables of a round: the session's own, created by its first
-- round (not one pair per round: thousands of rounds would churn the
-- catalog), emptied at every commit; a round rolled back leaves nothing.
CREATE OR REPLACE FUNCTION dimo_internal.coverage_stage() RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
  IF to_regclass('pg_temp.coverage_logs') IS NULL THEN
    CREATE TEMP TABLE coverage_logs (LIKE logs) ON COMMIT DELETE ROWS;
  END IF;
  IF to_regclass('pg_temp.coverage_unknown') IS NULL THEN
    CREATE TEMP TABLE coverage_unknown (LIKE unknown_logs) ON COMMIT DELETE ROWS;
  END IF;
END;
$$;

-- Merges the staged answer of blocks p_new_from .. p_old_from - 1 (the
-- quiet contracts' every log there) and moves complete_from from
-- p_old_from down to p_new_from (the row goes once p_new_from <= p_low, the
-- lowest start block of those contracts: the history is complete).
--   - The round must start where the coverage is (one writer; a round
--     committed already is not merged twice): else `refused` says why.
--   - Nothing below the history's first block (020, history_start): a
--     round that reaches below it is refused (the engine never asks one:
--     indexer/coverage.c), and the row goes once p_new_from is at it.
--   - The answer must agree with what is stored: a staged log in a block
--     whose stored logs carry another block hash, or at a stored position
--     with another transaction or address, refuses the round (the node
--     answers another chain, or the database is not this one).
--   - A position stored already (in `logs` or unknown_logs) is kept; the
--     others are inserted where a fresh index puts them.
--   - The model is a function of the logs: new rows below the model cursor
--     undo it above the block before the lowest of them
--     (dimo_internal.rollback_above, as a reorg would), and the follower's
--     derivation derives it again up to the log cursor before anything
--     reads the actions (the senders' catch-up waits for it). Any new row
--     of `logs` does (parts read upgrades without a model_reads row: SACD's
--     rules, the admin actions); an unknown log changes no model.
-- Returns the rows added and the model cursor afterwards.
-- The merge itself, for both kinds of coverage row (the callers below lock
-- and move theirs): everything above but the row; first_block: the
-- history's first block (NULL: not recorded).
CREATE OR REPLACE FUNCTION dimo_internal.coverage_merge_rows(p_chain_id bigint, p_old_from bigint,
                                                             p_new_from bigint,
                                                             OUT logs_added bigint,
                                                             OUT unknown_added bigint,
                                                             OUT model_block bigint,
                                                             OUT refused text,
                                                             OUT first_block bigint)
LANGUAGE plpgsql
AS $$
DECLARE
  v_bad bigint;
  v_low bigint;
BEGIN
  logs_added := 0;
  unknown_added := 0;
  SELECT h.first_block INTO first_block FROM history_start h WHERE h.chain_id = p_chain_id;
  IF p_new_from < first_block THEN
    refused := format('blocks %s..%s reach below the first block of the history, %s', p_new_from,
                      p_old_from - 1, first_block);
    RETURN;
  END IF;
  SELECT s.block_number INTO v_bad
  FROM (SELECT c.block_number, c.block_hash, c.log_index, c.tx_hash, c.address
        FROM coverage_logs c
        UNION ALL
        SELECT c.block_number, c.block_hash, c.log_index, c.tx_hash, c.address
        FROM coverage_unknown c) s
  WHERE EXISTS (SELECT 1 FROM logs l
                WHERE l.chain_id = p_chain_id AND l.block_number = s.block_number
                  AND (l.block_hash <> s.block_hash
                       OR (l.log_index = s.log_index
                           AND (l.tx_hash <> s.tx_hash OR l.address <> s.address))))
     OR EXISTS (SELECT 1 FROM unknown_logs l
                WHERE l.chain_id = p_chain_id AND l.block_number = s.block_number
                  AND (l.block_hash <> s.block_hash
                       OR (l.log_index = s.log_index
                           AND (l.tx_hash <> s.tx_hash OR l.address <> s.address))))
  ORDER BY s.block_number
  LIMIT 1;
  IF v_bad IS NOT NULL THEN
    refused := format('the answer for block %s differs from the stored logs of that block', v_bad);
    RETURN;
  END IF;

  WITH ins AS (
    INSERT INTO logs
    SELECT c.* FROM coverage_logs c
    WHERE c.chain_id = p_chain_id
      AND NOT EXISTS (SELECT 1 FROM logs l WHERE l.chain_id = c.chain_id
                        AND l.block_number = c.block_number AND l.log_index = c.log_index)
      AND NOT EXISTS (SELECT 1 FROM unknown_logs l WHERE l.chain_id = c.chain_id
                        AND l.block_number = c.block_number AND l.log_index = c.log_index)
    RETURNING block_number)
  SELECT count(*), min(i.block_number) INTO logs_added, v_low FROM ins i;
  -- A new log earlier in an admin transaction moves its sender's anchor.
  IF logs_added > 0 THEN
    PERFORM dimo_internal.senders_reanchor(p_chain_id,
      ARRAY(SELECT c.block_number FROM coverage_logs c WHERE c.chain_id = p_chain_id ORDER BY 1, c.tx_hash),
      ARRAY(SELECT c.tx_hash FROM coverage_logs c WHERE c.chain_id = p_chain_id ORDER BY c.block_number, 1));
  END IF;
  WITH ins AS (
    INSERT INTO unknown_logs
    SELECT c.* FROM coverage_unknown c
    WHERE c.chain_id = p_chain_id
      AND NOT EXISTS (SELECT 1 FROM logs l WHERE l.chain_id = c.chain_id
                        AND l.block_number = c.block_number AND l.log_index = c.log_index)
      AND NOT EXISTS (SELECT 1 FROM unknown_logs l WHERE l.chain_id = c.chain_id
                        AND l.block_number = c.block_number AND l.log_index = c.log_index)
    RETURNING 1)
  SELECT count(*) INTO unknown_added FROM ins;

  SELECT m.block_number INTO model_block FROM model_cursor m WHERE m.chain_id = p_chain_id;
  IF v_low IS NOT NULL AND model_block IS NOT NULL AND model_block >= v_low THEN
    PERFORM dimo_internal.rollback_above(p_chain_id, v_low - 1);
    SELECT m.block_number INTO model_block FROM model_cursor m WHERE m.chain_id = p_chain_id;
  END IF;

END;
$$;

CREATE OR REPLACE FUNCTION dimo_internal.coverage_merge(p_chain_id bigint, p_old_from bigint,
                                                        p_new_from bigint, p_low bigint,
                                                        OUT logs_added bigint,
                                                        OUT unknown_added bigint,
                                                        OUT model_block bigint, OUT refused text)
LANGUAGE plpgsql
AS $$
DECLARE
  v_from bigint;
  v_first bigint;
BEGIN
  logs_added := 0;
  unknown_added := 0;
  SELECT u.complete_from INTO v_from FROM unfiltered_coverage u
  WHERE u.chain_id = p_chain_id FOR UPDATE;
  IF v_from IS DISTINCT FROM p_old_from THEN
    refused := format('the coverage is at block %s, not %s', coalesce(v_from::text, 'none'),
                      p_old_from);
    RETURN;
  END IF;
  SELECT r.logs_added, r.unknown_added, r.model_block, r.refused, r.first_block
  INTO logs_added, unknown_added, model_block, refused, v_first
  FROM dimo_internal.coverage_merge_rows(p_chain_id, p_old_from, p_new_from) r;
  IF refused IS NOT NULL THEN
    RETURN;
  END IF;
  IF p_new_from <= greatest(p_low, v_first) THEN
    DELETE FROM unfiltered_coverage u WHERE u.chain_id = p_chain_id;
  ELSE
    UPDATE unfiltered_coverage u SET complete_from = p_new_from WHERE u.chain_id = p_chain_id;
  END IF;
END;
$$;

-- The same for one contract's row of contract_coverage (021: a contract
-- added to the network file, or given a lower start_block, after the first
-- sync): the staged answer is that contract's logs of the round, asked
-- with the follower's filter for its role. complete_from is compared with
-- the list's (never above the cursor + 1: dimo_internal.contract_coverage_list).
CREATE OR REPLACE FUNCTION dimo_internal.coverage_merge_contract(p_chain_id bigint,
                                                                 p_address bytea,
                                                                 p_old_from bigint,
                                                                 p_new_from bigint, p_low bigint,
                                                                 OUT logs_added bigint,
                                                                 OUT unknown_added bigint,
                                                                 OUT model_block bigint,
                                                                 OUT refused text)
LANGUAGE plpgsql
AS $$
DECLARE
  v_from bigint;
  v_first bigint;
BEGIN
  logs_added := 0;
  unknown_added := 0;
  SELECT least(k.complete_from, cu.last_block + 1) INTO v_from
  FROM contract_coverage k JOIN cursors cu ON cu.chain_id = k.chain_id
  WHERE k.chain_id = p_chain_id AND k.address = p_address FOR UPDATE OF k;
  IF v_from IS DISTINCT FROM p_old_from THEN
    refused := format('the coverage of contract %s is at block %s, not %s', dimo_hex(p_address),
                      coalesce(v_from::text, 'none'), p_old_from);
    RETURN;
  END IF;
  SELECT r.logs_added, r.unknown_added, r.model_block, r.refused, r.first_block
  INTO logs_added, unknown_added, model_block, refused, v_first
  FROM dimo_internal.coverage_merge_rows(p_chain_id, p_old_from, p_new_from) r;
  IF refused IS NOT NULL THEN
    RETURN;
  END IF;
  IF p_new_from <= greatest(p_low, v_first) THEN
    DELETE FROM contract_coverage k WHERE k.chain_id = p_chain_id AND k.address = p_address;
  ELSE
    UPDATE contract_coverage k SET complete_from = p_new_from
    WHERE k.chain_id = p_chain_id AND k.address = p_address;
  END IF;
END;
$$;
