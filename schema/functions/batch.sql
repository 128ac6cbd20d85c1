-- batch.sql (a repeatable file: re-applied whenever it changes).
--
-- The model of a batch that derives it itself (idx_store_write_batch near
-- the head, once the writer believes the model has caught up). The
-- batch's own blocks are not enough: the derivation on the second
-- connection and the batches commit asynchronously (synchronous_commit =
-- off), so a server crash, or a failover to an asynchronously replicated
-- standby, can keep the batches and lose the derivation after them (the
-- WAL keeps a prefix: never the other way round). The writer's memory
-- then says the model is current while the model cursor is behind the
-- batch's parent block. Deriving from the model cursor, whatever the
-- writer believes, closes such a gap in the batch's own transaction
-- (audit6 H4: an unconditional apply of from..to skipped it for good).
--
-- Locks the model cursor row first, as idx_store_derive and rederive do
-- (the batch already holds its log cursor's row: the same order as the
-- model cursor's move inside apply_range). With no model cursor yet the
-- model starts at the first stored log, as rederive's does (the chain's
-- first batch: its own first block). A model cursor at or above the
-- batch's first block describes blocks whose logs the batch is only now
-- writing: no writer leaves that, so it is refused, not applied twice.
-- Returns the first block derived. Runs in the caller's transaction.
CREATE OR REPLACE FUNCTION dimo_internal.batch_apply(p_chain_id bigint, p_from_block bigint,
                                                     p_to_block bigint) RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
  v_model bigint;
  v_from bigint;
BEGIN
  SELECT m.block_number INTO v_model FROM model_cursor m WHERE m.chain_id = p_chain_id FOR UPDATE;
  IF v_model IS NULL THEN
    SELECT least(min(l.block_number), p_from_block) INTO v_from FROM logs l
    WHERE l.chain_id = p_chain_id AND l.block_number < p_from_block;
    v_from := coalesce(v_from, p_from_block);
  ELSIF v_model >= p_from_block THEN
    RAISE EXCEPTION 'the model cursor of chain % is at block %, above the parent % of batch %..%',
      p_chain_id, v_model, p_from_block - 1, p_from_block, p_to_block
      USING ERRCODE = 'data_exception';
  ELSE
    v_from := v_model + 1;
  END IF;
  PERFORM dimo_internal.apply_range(p_chain_id, v_from, p_to_block);
  RETURN v_from;
END;
$$;
