-- forkpoint.sql (repeatable): the fork search below the header window.
--
-- The follower keeps headers for the last 128 blocks only. A reorg deeper
-- than that is found from the stored logs: each keeps its block's hash
-- (logs and unknown_logs, 001 and 013), so the follower reads the stored
-- blocks below the window a page at a time, going down, and asks the node
-- for their headers (indexer/forkpoint.c). The highest block whose hash the
-- node confirms is the fork point.
--
-- dimo_internal.stored_log_blocks(chain, below, n): the distinct
-- (block_number, block_hash) of the chain's stored logs, known or not,
-- below block `below`, highest first, at most n rows. A loose index scan
-- (each step one backward probe of the two primary keys), so a page costs
-- n probes however many logs a block holds. (A block whose known and
-- unknown logs carried different hashes cannot be written: the batch
-- checks every log against its block's header.)
CREATE OR REPLACE FUNCTION dimo_internal.stored_log_blocks(p_chain_id bigint, p_below bigint,
                                                           p_limit int)
RETURNS TABLE (block_number bigint, block_hash bytea)
LANGUAGE sql STABLE
AS $$
  WITH RECURSIVE walk(n, h) AS (
    (SELECT x.block_number, x.block_hash FROM (
       (SELECT l.block_number, l.block_hash FROM logs l
         WHERE l.chain_id = p_chain_id AND l.block_number < p_below
         ORDER BY l.block_number DESC LIMIT 1)
       UNION ALL
       (SELECT u.block_number, u.block_hash FROM unknown_logs u
         WHERE u.chain_id = p_chain_id AND u.block_number < p_below
         ORDER BY u.block_number DESC LIMIT 1)) x
     ORDER BY x.block_number DESC LIMIT 1)
    UNION ALL
    SELECT y.block_number, y.block_hash
    FROM walk w CROSS JOIN LATERAL (
      SELECT x.block_number, x.block_hash FROM (
        (SELECT l.block_number, l.block_hash FROM logs l
          WHERE l.chain_id = p_chain_id AND l.block_number < w.n
          ORDER BY l.block_number DESC LIMIT 1)
        UNION ALL
        (SELECT u.block_number, u.block_hash FROM unknown_logs u
          WHERE u.chain_id = p_chain_id AND u.block_number < w.n
          ORDER BY u.block_number DESC LIMIT 1)) x
      ORDER BY x.block_number DESC LIMIT 1) y
  )
  SELECT walk.n, walk.h FROM walk LIMIT greatest(p_limit, 0)
$$;
