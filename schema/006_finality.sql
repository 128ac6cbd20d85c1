-- 006_finality.sql: the chain's finalized block, as the follower last saw
-- it (the node's "finalized" block tag).
--
-- Below this block nothing is ever rolled back: a node answer that
-- contradicts a stored hash there is a provider fault (retried elsewhere),
-- not a reorg. It only moves up (GREATEST in idx_store_set_finalized), and
-- answers can say whether the block they describe is final:
-- as_of_block <= dimo_finalized_block(chain). A table of its own beside
-- cursors (one row per chain), so that the cursor's shape stays 001's.

CREATE TABLE finality (
  chain_id bigint PRIMARY KEY,
  finalized_block bigint NOT NULL CHECK (finalized_block >= 0),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- The finalized block of a chain, NULL when no node has named one yet.
CREATE FUNCTION dimo_finalized_block(p_chain_id bigint) RETURNS bigint
LANGUAGE sql STABLE AS $$
  SELECT finalized_block FROM finality WHERE chain_id = p_chain_id
$$;
