-- 006_finality.sql: the chain's finalized block, as the follower last saw
-- it (the node's "finalized" block tag), kept beside the cursor.
--
-- Below this block nothing is ever rolled back: a node answer that
-- contradicts a stored hash there is a provider fault (retried elsewhere),
-- not a reorg. It only moves up (GREATEST in idx_store_set_finalized), and
-- answers can say whether the block they describe is final:
-- as_of_block <= dimo_finalized_block(chain).

ALTER TABLE cursors ADD COLUMN finalized_block bigint CHECK (finalized_block >= 0);

-- The finalized block of a chain, NULL when no node has named one yet.
CREATE FUNCTION dimo_finalized_block(p_chain_id bigint) RETURNS bigint
LANGUAGE sql STABLE AS $$
  SELECT finalized_block FROM cursors WHERE chain_id = p_chain_id
$$;
