-- 001_core.sql: the chain-following core: cursors, the reorg window of block
-- headers, the raw decoded logs, and the two hooks through which later
-- migrations attach the license data model.
--
-- Applied by idx_store_migrate in one transaction together with its row in
-- schema_migrations, so it must not contain transaction control.
--
-- Types: addresses and hashes are bytea with exact-length CHECKs (20 and 32
-- bytes), so a truncated or padded value is refused at the door rather than
-- found in a join later; any uint256 is numeric(78,0) (78 digits hold
-- 2^256 - 1). Block numbers are bigint: uint64 in C, refused above
-- 2^63 - 1 by the store before they get here. Times are timestamptz built
-- from the block's unix seconds.

-- One row per chain: the last block whose logs are all stored. Every batch
-- locks this row (SELECT ... FOR UPDATE) and moves it in the same
-- transaction as its logs: that is the exactly-once rule.
CREATE TABLE cursors (
  chain_id bigint PRIMARY KEY,
  last_block bigint NOT NULL CHECK (last_block >= 0),
  last_hash bytea NOT NULL CHECK (octet_length(last_hash) = 32),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Recent headers, for reorg detection: the sync engine chains new headers
-- to these by parent hash and finds the fork point among them. Only a
-- window is kept (idx_store_prune_blocks), so logs do not reference this
-- table: a log outlives its header row.
CREATE TABLE blocks (
  chain_id bigint NOT NULL,
  number bigint NOT NULL CHECK (number >= 0),
  hash bytea NOT NULL CHECK (octet_length(hash) = 32),
  parent_hash bytea NOT NULL CHECK (octet_length(parent_hash) = 32),
  time timestamptz NOT NULL,
  PRIMARY KEY (chain_id, number)
);

-- Every log the decoder recognised, raw (topics, data) and decoded (event,
-- args), exactly as the chain gave it: the audit trail the data model is
-- derived from and can be rebuilt from.
--
-- The key is the log's position (chain_id, block_number, log_index): the
-- table holds one chain, the canonical one (a reorg deletes the undone
-- blocks' logs before their replacements come), so a position holds at
-- most one log, and no log is ever stored twice even if a caller broke the
-- cursor rule. It is the primary key (a unique constraint that also gives
-- the table a replica identity). Keyed by position, a batch's rows go to
-- the right edge of the index in order: with the block hash first (random)
-- every row landed on another page and COPY ran a third slower.
-- No other index: every reader goes by chain and block range (the model's
-- batches, the rollback's DELETE ... WHERE block_number > keep, replays),
-- and each index costs every row of a backfill; per-contract questions go
-- to the model's tables.
--
-- Loaded with COPY by idx_store_write_batch; the column order below is the
-- order store.c sends.
CREATE TABLE logs (
  chain_id bigint NOT NULL,
  block_number bigint NOT NULL CHECK (block_number >= 0),
  block_hash bytea NOT NULL CHECK (octet_length(block_hash) = 32),
  block_time timestamptz NOT NULL,
  tx_hash bytea NOT NULL CHECK (octet_length(tx_hash) = 32),
  tx_index int NOT NULL CHECK (tx_index >= 0),
  log_index int NOT NULL CHECK (log_index >= 0),
  address bytea NOT NULL CHECK (octet_length(address) = 20),
  topic0 bytea CHECK (octet_length(topic0) = 32),
  topic1 bytea CHECK (octet_length(topic1) = 32),
  topic2 bytea CHECK (octet_length(topic2) = 32),
  topic3 bytea CHECK (octet_length(topic3) = 32),
  data bytea NOT NULL,
  -- Canonical signature, e.g. 'Issued(uint256,address,address)': two
  -- events may share a name (LicenseAliasSet with string or bytes32).
  event text NOT NULL,
  event_name text NOT NULL,
  -- The contract's role in the network file (e.g. 'app_license'); NULL
  -- when the caller gave none.
  role text,
  args jsonb NOT NULL CHECK (jsonb_typeof(args) = 'object'),
  -- A log has topics 0..n-1: no hole in the middle.
  CONSTRAINT logs_topics_contiguous CHECK (
    (topic1 IS NULL OR topic0 IS NOT NULL)
    AND (topic2 IS NULL OR topic1 IS NOT NULL)
    AND (topic3 IS NULL OR topic2 IS NOT NULL)),
  CONSTRAINT logs_pkey PRIMARY KEY (chain_id, block_number, log_index)
);

-- Logs no ABI knows (other events of the same contracts: upgrades, roles,
-- ...) are counted, not stored. The count is what was seen: a batch undone
-- by a reorg is not subtracted, so after reorgs it may run slightly high.
CREATE TABLE unknown_log_counts (
  chain_id bigint PRIMARY KEY,
  count bigint NOT NULL DEFAULT 0 CHECK (count >= 0)
);

-- Hooks for the data model. Each model part (licenses, opt-ins, ...)
-- registers one row in model_parts: the function that derives its rows
-- from the logs of a block range, and the one that undoes what it derived
-- above a block. The two hooks below run every registered part in `ord`
-- order, so a new part is one INSERT and never re-states another part's
-- call. Calling them from the store keeps derived rows in the very
-- transaction that stores or removes the logs they come from, so the model
-- can never disagree with the cursor. With no part registered the core
-- works on its own.
--
-- Parameters are p_-prefixed: in PL/pgSQL a parameter named like a column
-- (chain_id) makes every query that mentions the column ambiguous, and
-- CREATE OR REPLACE cannot rename parameters later.
CREATE TABLE model_parts (
  ord int PRIMARY KEY,
  name text NOT NULL UNIQUE,
  -- apply(p_chain_id bigint, p_from_block bigint, p_to_block bigint)
  apply_fn regprocedure NOT NULL,
  -- rollback(p_chain_id bigint, p_keep_block bigint)
  rollback_fn regprocedure NOT NULL
);

-- What each part reads: (role, canonical event signature, every argument
-- name in the event's order). The parts match logs by signature and read
-- arguments by name (args ->> 'tokenId'), which SQL would silently skip on
-- a mismatch; the indexer checks these rows against the loaded ABI files
-- at start-up and refuses to run on a difference (indexer/modelcheck.c).
CREATE TABLE model_reads (
  part text NOT NULL REFERENCES model_parts (name) ON DELETE CASCADE,
  role text NOT NULL,
  event text NOT NULL,
  args text[] NOT NULL,
  PRIMARY KEY (part, role, event)
);

-- Called in the batch transaction after the batch's logs are inserted and
-- before the cursor moves: every part derives its rows from logs of blocks
-- p_from_block..p_to_block (inclusive) of p_chain_id.
CREATE FUNCTION dimo_apply_range(p_chain_id bigint, p_from_block bigint, p_to_block bigint)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT apply_fn::regproc AS fn FROM model_parts ORDER BY ord LOOP
    EXECUTE format('SELECT %s($1, $2, $3)', r.fn) USING p_chain_id, p_from_block, p_to_block;
  END LOOP;
END;
$$;

-- Called in the rollback transaction before the logs and headers above
-- p_keep_block are deleted (so the parts can still read them): every part,
-- in reverse order, undoes what it derived from blocks above p_keep_block.
CREATE FUNCTION dimo_rollback_above(p_chain_id bigint, p_keep_block bigint)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT rollback_fn::regproc AS fn FROM model_parts ORDER BY ord DESC LOOP
    EXECUTE format('SELECT %s($1, $2)', r.fn) USING p_chain_id, p_keep_block;
  END LOOP;
END;
$$;
