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
-- handful of rows on real chains): the whole cost of a start with nothing
-- to decode.
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

-- Called after the store COPYed a round of decoded logs into `logs`, in
-- its transaction: the positions both tables hold are exactly the logs
-- just decoded. Removes them from unknown_logs; moves the sender row of
-- each of their transactions to its first log in `logs` (a fresh index
-- anchors it there; tx_senders, 010); and re-derives, over the stored
-- range up to the model's block, every model part that declares (in
-- model_reads) one of their events for their role, with every part after
-- it (a later part may read an earlier one's rows: accountability reads
-- the licenses' stake movements): each undone entirely in reverse order,
-- then applied in order. Returns the re-derived parts' names, in order
-- (empty when no part reads them, or nothing is derived yet).
CREATE OR REPLACE FUNCTION dimo_internal.redecoded(p_chain_id bigint)
RETURNS text[]
LANGUAGE plpgsql
AS $$
DECLARE
  v_first int;
  v_model bigint;
  v_from bigint;
  v_parts text[];
  r record;
BEGIN
  CREATE TEMP TABLE IF NOT EXISTS redecoded_logs (block_number bigint, tx_hash bytea, role text, event text)
    ON COMMIT DROP;
  TRUNCATE redecoded_logs;
  WITH moved AS (
    DELETE FROM unknown_logs u USING logs l
    WHERE u.chain_id = p_chain_id AND l.chain_id = u.chain_id AND l.block_number = u.block_number
      AND l.log_index = u.log_index
    RETURNING l.block_number, l.tx_hash, l.role, l.event)
  INSERT INTO redecoded_logs SELECT * FROM moved;

  UPDATE tx_senders s SET log_index = f.first_log
  FROM (SELECT l.block_number, l.tx_hash, min(l.log_index) AS first_log FROM logs l
        WHERE l.chain_id = p_chain_id
          AND (l.block_number, l.tx_hash) IN (SELECT DISTINCT m.block_number, m.tx_hash FROM redecoded_logs m)
        GROUP BY 1, 2) f
  WHERE s.chain_id = p_chain_id AND s.block_number = f.block_number AND s.tx_hash = f.tx_hash
    AND s.log_index <> f.first_log;

  SELECT min(p.ord) INTO v_first FROM model_parts p
  WHERE EXISTS (SELECT 1 FROM model_reads mr JOIN redecoded_logs m ON m.role = mr.role AND m.event = mr.event
                WHERE mr.part = p.name);
  SELECT m.block_number INTO v_model FROM model_cursor m WHERE m.chain_id = p_chain_id;
  IF v_first IS NULL OR v_model IS NULL THEN
    RETURN '{}';
  END IF;
  SELECT min(l.block_number) INTO v_from FROM logs l WHERE l.chain_id = p_chain_id;
  v_from := least(coalesce(v_from, v_model), v_model);
  FOR r IN SELECT p.rollback_fn::regproc AS fn FROM model_parts p WHERE p.ord >= v_first ORDER BY p.ord DESC LOOP
    EXECUTE format('SELECT %s($1, $2)', r.fn) USING p_chain_id, -1::bigint;
  END LOOP;
  FOR r IN SELECT p.apply_fn::regproc AS fn FROM model_parts p WHERE p.ord >= v_first ORDER BY p.ord LOOP
    EXECUTE format('SELECT %s($1, $2, $3)', r.fn) USING p_chain_id, v_from, v_model;
  END LOOP;
  SELECT array_agg(p.name ORDER BY p.ord) INTO v_parts FROM model_parts p WHERE p.ord >= v_first;
  RETURN v_parts;
END;
$$;
