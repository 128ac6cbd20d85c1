-- 004_reorgs.sql: a record of every reorg the indexer rolled back, for
-- `dimo-indexer status`, dashboards and post-mortems. Written by
-- idx_store_rollback in the rollback's own transaction, so a reorg is
-- recorded exactly when its rollback commits. Operational metadata: it is
-- not derived from the chain, and a fresh index has none.
CREATE TABLE reorgs (
  id bigserial PRIMARY KEY,
  chain_id bigint NOT NULL,
  detected_at timestamptz NOT NULL DEFAULT now(),
  -- The cursor before the rollback, and the last block kept.
  from_block bigint NOT NULL CHECK (from_block >= 0),
  keep_block bigint NOT NULL CHECK (keep_block >= 0 AND keep_block <= from_block),
  depth bigint GENERATED ALWAYS AS (from_block - keep_block) STORED
);
CREATE INDEX reorgs_chain ON reorgs (chain_id, id);
