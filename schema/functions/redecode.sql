-- redecode.sql (a repeatable file: re-applied whenever it changes).
--
-- Logs kept raw that the loaded ABIs now decode (indexer/redecode.c). A
-- log no ABI of its contract decoded when it was indexed is stored raw in
-- unknown_logs (013); a fresh index with an ABI that knows its event
-- stores it decoded in `logs`. At start, `run` and `sync` ask which kinds
-- of raw logs there are (dimo_internal.unknown_shapes), read those the
-- loaded ABIs decode (dimo_internal.unknown_page), decode them with the
-- indexer's own decoder and COPY them into `logs`; then
-- dimo_internal.redecoded, in the same transaction, removes them from
-- unknown_logs and re-derives the model parts that read them, so that the
-- database equals a fresh index again. Exactly-once: a position holds one
-- log, in one of the two tables; the move and the derivation commit
-- together (a crash leaves the raw rows, and the next start moves them).

-- The kinds of raw logs of a chain: per contract, topic0 (NULL for an
-- anonymous log) and topic count, how many. One scan of unknown_logs (a
-- handful of rows on real chains): the whole cost of a start when no kind
-- is known to the loaded ABIs (raw logs of a known kind whose bytes do not
-- decode stay raw, and are read again at every start).
CREATE OR REPLACE FUNCTION dimo_internal.unknown_shapes(p_chain_id bigint)
RETURNS TABLE (address bytea, topic0 bytea, ntopics int, n bigint)
LANGUAGE sql STABLE
AS $$
  SELECT u.address, u.topic0,
    (u.topic0 IS NOT NULL)::int + (u.topic1 IS NOT NULL)::int + (u.topic2 IS NOT NULL)::int
      + (u.topic3 IS NOT NULL)::int AS ntopics,
    count(*)
  FROM unknown_logs u
  WHERE u.chain_id = p_chain_id
  GROUP BY 1, 2, 3
  ORDER BY 1, 2, 3
$$;

-- The raw logs of one kind after position (p_after_block, p_after_log),
-- oldest first, at most p_limit (block time in unix seconds).
CREATE OR REPLACE FUNCTION dimo_internal.unknown_page(p_chain_id bigint, p_address bytea, p_topic0 bytea,
  p_ntopics int, p_after_block bigint, p_after_log int, p_limit int)
RETURNS TABLE (block_number bigint, block_hash bytea, block_time bigint, tx_hash bytea, tx_index int,
               log_index int, topic0 bytea, topic1 bytea, topic2 bytea, topic3 bytea, data bytea)
LANGUAGE sql STABLE
AS $$
  SELECT u.block_number, u.block_hash, extract(epoch FROM u.block_time)::bigint, u.tx_hash, u.tx_index,
    u.log_index, u.topic0, u.topic1, u.topic2, u.topic3, u.data
  FROM unknown_logs u
  WHERE u.chain_id = p_chain_id AND u.address = p_address AND u.topic0 IS NOT DISTINCT FROM p_topic0
    AND (u.topic0 IS NOT NULL)::int + (u.topic1 IS NOT NULL)::int + (u.topic2 IS NOT NULL)::int
        + (u.topic3 IS NOT NULL)::int = p_ntopics
    AND (u.block_number, u.log_index) > (p_after_block, p_after_log)
  ORDER BY u.block_number, u.log_index
  LIMIT p_limit
$$;

-- (The one-argument form of before, which joined the whole of
-- unknown_logs with `logs`, is replaced by the one below.)
DROP FUNCTION IF EXISTS dimo_internal.redecoded(bigint);

-- Called after the store COPYed a round of decoded logs into `logs`, in
-- its transaction, with their positions (p_blocks[i], p_logs[i]). Removes
-- exactly those positions from unknown_logs (raising if any of them is not
-- in both tables: the round would not be a move); moves the sender row of
-- each of their transactions to its first log in `logs` (a fresh index
-- anchors it there; tx_senders, 010); and re-derives the model parts that
-- may read them, as a reorg at their lowest block would: every part from
-- the first (in model_parts order) that declares in model_reads ANY event
-- of a role among the moved logs' roles, through the last (a later part
-- may read an earlier one's rows: accountability reads the licenses' stake
-- movements). The match is by role, not by event, because a part may read
-- a role's events by pattern (accountability reads every app-license
-- `Update*` event, declared or not); a moved log without a role re-derives
-- every part. (The rule needs each part to declare at least one event of
-- every role it reads, which every part does: licenses, optins, nodes,
-- connections and accountability declare events of each role they scan.) Those parts are undone above the lowest moved block, in
-- reverse order, then applied from it to the model's block, in order (the
-- rows below it are untouched). Returns the re-derived parts' names, in
-- order (empty when no part reads them, or the model has not reached them:
-- the follower derives them when it does).
CREATE OR REPLACE FUNCTION dimo_internal.redecoded(p_chain_id bigint, p_blocks bigint[], p_logs int[])
RETURNS text[]
LANGUAGE plpgsql
AS $$
DECLARE
  v_first int;
  v_model bigint;
  v_low bigint;
  v_n bigint;
  v_parts text[];
  r record;
BEGIN
  IF cardinality(p_blocks) IS DISTINCT FROM cardinality(p_logs) THEN
    RAISE EXCEPTION 'redecoded: % blocks for % log indexes', cardinality(p_blocks), cardinality(p_logs);
  END IF;
  CREATE TEMP TABLE IF NOT EXISTS redecoded_logs (block_number bigint, tx_hash bytea, role text, event text)
    ON COMMIT DROP;
  TRUNCATE redecoded_logs;
  WITH pos AS (
    SELECT DISTINCT x.block_number, x.log_index FROM unnest(p_blocks, p_logs) AS x(block_number, log_index)),
  moved AS (
    DELETE FROM unknown_logs u USING pos, logs l
    WHERE u.chain_id = p_chain_id AND u.block_number = pos.block_number AND u.log_index = pos.log_index
      AND l.chain_id = p_chain_id AND l.block_number = pos.block_number AND l.log_index = pos.log_index
    RETURNING l.block_number, l.tx_hash, l.role, l.event)
  INSERT INTO redecoded_logs SELECT * FROM moved;
  GET DIAGNOSTICS v_n = ROW_COUNT;
  IF v_n <> coalesce(cardinality(p_blocks), 0) THEN
    RAISE EXCEPTION 'redecoded: % logs moved, % positions given (each must be in unknown_logs and logs)',
      v_n, coalesce(cardinality(p_blocks), 0);
  END IF;
  IF v_n = 0 THEN
    RETURN '{}';
  END IF;

  PERFORM dimo_internal.senders_reanchor(p_chain_id,
    ARRAY(SELECT m.block_number FROM redecoded_logs m ORDER BY m.block_number, m.tx_hash),
    ARRAY(SELECT m.tx_hash FROM redecoded_logs m ORDER BY m.block_number, m.tx_hash));

  IF EXISTS (SELECT 1 FROM redecoded_logs m WHERE m.role IS NULL) THEN
    SELECT min(p.ord) INTO v_first FROM model_parts p;
  ELSE
    SELECT min(p.ord) INTO v_first FROM model_parts p
    WHERE EXISTS (SELECT 1 FROM model_reads mr
                  WHERE mr.part = p.name AND mr.role IN (SELECT DISTINCT m.role FROM redecoded_logs m));
  END IF;
  SELECT m.block_number INTO v_model FROM model_cursor m WHERE m.chain_id = p_chain_id;
  SELECT min(m.block_number) INTO v_low FROM redecoded_logs m;
  IF v_first IS NULL OR v_model IS NULL OR v_low > v_model THEN
    RETURN '{}';
  END IF;
  FOR r IN SELECT p.rollback_fn::regproc AS fn FROM model_parts p WHERE p.ord >= v_first ORDER BY p.ord DESC LOOP
    EXECUTE format('SELECT %s($1, $2)', r.fn) USING p_chain_id, v_low - 1;
  END LOOP;
  FOR r IN SELECT p.apply_fn::regproc AS fn FROM model_parts p WHERE p.ord >= v_first ORDER BY p.ord LOOP
    EXECUTE format('SELECT %s($1, $2, $3)', r.fn) USING p_chain_id, v_low, v_model;
  END LOOP;
  SELECT array_agg(p.name ORDER BY p.ord) INTO v_parts FROM model_parts p WHERE p.ord >= v_first;
  RETURN v_parts;
END;
$$;
