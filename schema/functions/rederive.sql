-- rederive.sql (a repeatable file: re-applied whenever it changes).
--
-- Rebuilds every model part of a chain from its stored logs alone: each
-- registered part undoes everything it derived (rollback above block -1,
-- in reverse part order), then derives the whole stored range in one
-- apply. The model is a function of the logs, so the result must equal
-- the model the follower built batch by batch, through reorgs and crashes
-- (`dimo-indexer rederive`; test_model_reorg.sh compares the two). Returns
-- the block the model describes afterwards (the log cursor), or NULL when
-- nothing is indexed. Runs in the caller's transaction.
CREATE OR REPLACE FUNCTION dimo_internal.rederive(p_chain_id bigint) RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
  v_to bigint;
  v_from bigint;
BEGIN
  SELECT c.last_block INTO v_to FROM cursors c WHERE c.chain_id = p_chain_id FOR UPDATE;
  IF v_to IS NULL THEN
    RETURN NULL;
  END IF;
  PERFORM dimo_internal.rollback_above(p_chain_id, -1);
  SELECT min(l.block_number) INTO v_from FROM logs l WHERE l.chain_id = p_chain_id;
  PERFORM dimo_internal.apply_range(p_chain_id, least(coalesce(v_from, v_to), v_to), v_to);
  RETURN v_to;
END;
$$;
