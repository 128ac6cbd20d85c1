-- 013_unknown_events.sql: nothing a watched contract emits passes silently
-- (issue #22 item 2).
--
-- Before this migration a log no ABI decodes was counted in
-- unknown_log_counts, one number per chain that a reorg never subtracted:
-- a database that had seen a reorg differed from a fresh index there. Now
-- such a log is stored raw, in the batch's transaction like `logs`, and
-- the store's rollback deletes it with its block, so every count (per
-- contract and topic0, a GROUP BY over these rows: the functions in
-- schema/functions/unknown.sql) follows reorgs exactly.
DROP TABLE unknown_log_counts;

-- A log of a watched contract that no event of its ABI decodes: a topic0
-- no event has, or a known topic0 with a topic count no generation has.
-- Raw, as the chain gave it; the column order is the order store.c COPYs.
-- Keyed by position like `logs` (a position holds one log: it is in one of
-- the two tables, never both).
CREATE TABLE unknown_logs (
  chain_id bigint NOT NULL,
  block_number bigint NOT NULL CHECK (block_number >= 0),
  block_hash bytea NOT NULL CHECK (octet_length(block_hash) = 32),
  block_time timestamptz NOT NULL,
  tx_hash bytea NOT NULL CHECK (octet_length(tx_hash) = 32),
  tx_index int NOT NULL CHECK (tx_index >= 0),
  log_index int NOT NULL CHECK (log_index >= 0),
  address bytea NOT NULL CHECK (octet_length(address) = 20),
  -- The contract's role in the network file when the log was stored.
  role text,
  -- NULL for an anonymous log (no topics).
  topic0 bytea CHECK (octet_length(topic0) = 32),
  topic1 bytea CHECK (octet_length(topic1) = 32),
  topic2 bytea CHECK (octet_length(topic2) = 32),
  topic3 bytea CHECK (octet_length(topic3) = 32),
  data bytea NOT NULL,
  CONSTRAINT unknown_logs_topics_contiguous CHECK (
    (topic1 IS NULL OR topic0 IS NOT NULL)
    AND (topic2 IS NULL OR topic1 IS NOT NULL)
    AND (topic3 IS NULL OR topic2 IS NOT NULL)),
  CONSTRAINT unknown_logs_pkey PRIMARY KEY (chain_id, block_number, log_index)
);
-- Per (contract, topic0): the counts, the first block of a pair (the
-- warning "first at block N"), the API's filter.
CREATE INDEX unknown_logs_pair ON unknown_logs (chain_id, address, topic0, block_number);

-- Implementation history: ERC-1967's Upgraded(address) and
-- BeaconUpgraded(address) are decoded for every watched contract (the
-- indexer adds them to each contract's events, indexer/network.c) and
-- stored in `logs` like any event, so a reorg removes them with their
-- block and SACD's generation rules (005) read the same rows. This partial
-- index holds those rows only (a handful per contract): the history is
-- read without a scan of `logs`, and a backfill pays one predicate per row.
CREATE INDEX logs_upgrades ON logs (chain_id, address, block_number, log_index)
  WHERE event IN ('Upgraded(address)', 'BeaconUpgraded(address)');
