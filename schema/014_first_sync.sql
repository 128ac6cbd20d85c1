-- 014_first_sync.sql: what the first sync learns before and while it runs
-- (issue #16 items 4 and 5). Neither table is part of the chain's history:
-- a reorg or a rollback leaves them alone, and an index of the same chain
-- made elsewhere may differ in them without differing in anything the
-- model or the API says.

-- Deployment blocks found by eth_getCode bisection (indexer/discovery.c),
-- per contract address, so a restart before the first batch is written
-- does not search again. Used only for a contract whose network file gives
-- start_block 0 (a configured start block wins); a changed address has no
-- row and is searched (rows of addresses no longer configured are kept,
-- and unused). A row above the node's head is not trusted (searched again).
CREATE TABLE discovered_starts (
  chain_id bigint NOT NULL,
  address bytea NOT NULL CHECK (octet_length(address) = 20),
  -- the first block whose state has the contract's code
  block_number bigint NOT NULL CHECK (block_number >= 0),
  -- the head the search ran below, and when
  head bigint NOT NULL CHECK (head >= block_number),
  found_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (chain_id, address)
);

-- The follower's backfill progress, one row per chain, written after a
-- batch: this run's first, then at most every second, and the one that
-- reaches the target, so `dimo-indexer status`, another process, can say blocks
-- done and left, the rate and an estimate. The rate is the follower's own
-- (blocks since this run's first batch over the time since), as in its
-- progress line; blocks done and left are counted from the cursor.
CREATE TABLE sync_progress (
  chain_id bigint PRIMARY KEY,
  -- the first block of this run's first batch
  start_block bigint NOT NULL CHECK (start_block >= 0),
  -- the block it goes to (head minus confirmations, or --to)
  target bigint NOT NULL CHECK (target >= 0),
  blocks_per_s bigint NOT NULL CHECK (blocks_per_s >= 0),
  events_per_s bigint NOT NULL CHECK (events_per_s >= 0),
  started_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
