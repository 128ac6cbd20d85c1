-- 020_first_block.sql: the block the indexed history starts at, per chain.
--
-- `sync`/`run --from N` chooses where an empty database's first sync
-- starts (default: the network file's start blocks, or the deployment
-- blocks discovery finds); after that the cursor decides and the option
-- has no effect. Without a record, nothing could say from which block the
-- history is complete, a later --from was silently ignored, and the
-- coverage catch-up (016; indexer/coverage.c) asked the quiet contracts'
-- logs down to their start blocks even below a --from: the database then
-- held logs a fresh index made with the same --from lacks.
--
-- first_block: the first block of the first batch (written in that
-- batch's transaction, idx_store_write_batch), so every block from it to
-- the cursor was asked of every watched contract, and none below it was.
-- Nothing that fetches history (the follower, the coverage catch-up)
-- goes below it; `status`, /readyz and /metrics show it.
--
-- NULL: a database indexed before this migration. What is stored cannot
-- say where its first sync started: its lowest stored log is only an upper
-- bound (the first sync may have started far below its first log), and
-- taking it would be wrong exactly where it matters: a proxy's Upgraded at
-- deployment precedes every event a pre-013 ABI knew, so a catch-up
-- stopped at the first known log would never ask it, and the database
-- would differ from a fresh index of its own configuration. NULL means
-- "from the network file's start blocks" (with discovery's recorded
-- blocks), which is what the default configuration (no --from) did; it
-- keeps the catch-up as before. A later --from N records N (the
-- operator's word for where the first sync started: the first --from
-- seen) when no stored log lies below N; otherwise the row stays NULL and
-- a warning says why (schema/functions/history.sql).
CREATE TABLE history_start (
  chain_id bigint PRIMARY KEY,
  first_block bigint CHECK (first_block >= 0),
  -- 'first_batch' (the first sync), 'migration' (NULL: indexed before 020),
  -- 'from' (a later --from adopted for a NULL row)
  source text NOT NULL CHECK (source IN ('first_batch', 'migration', 'from')),
  recorded_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((first_block IS NULL) = (source = 'migration'))
);

INSERT INTO history_start (chain_id, first_block, source)
SELECT c.chain_id, NULL, 'migration' FROM cursors c;
