-- history.sql: where the indexed history starts (migration 020,
-- history_start), and what a start of the follower says about it.
--
--   dimo_internal.history_note_from(chain, from)   a --from on a database
--                                      that has a cursor (indexer/sync.c)
--   dimo_internal.history_late_contracts(chain)    contracts the network
--                                      file gained after the first sync
--
-- The row itself is written by the first batch (idx_store_write_batch, in
-- its transaction) and read directly (idx_store_history).

-- A --from given to a database that already has a cursor: the cursor
-- decides where the follower goes on, so the option cannot move the
-- history's start. Says how it compares with the record:
--   'same'     the recorded first block is `from`;
--   'differs'  another block is recorded (first_block): ignored;
--   'adopted'  nothing was recorded (indexed before 020) and no stored log
--              lies below `from`: recorded now as the first block (the
--              operator's word for where the first sync started; what is
--              stored cannot contradict it);
--   'below'    nothing was recorded, and stored logs reach below `from`
--              (lowest): the history starts at or below that block, not at
--              `from`: nothing recorded;
--   'none'     no row (nothing indexed yet: the first batch records it).
CREATE OR REPLACE FUNCTION dimo_internal.history_note_from(p_chain_id bigint, p_from bigint,
                                                           OUT outcome text,
                                                           OUT first_block bigint,
                                                           OUT lowest bigint)
LANGUAGE plpgsql
AS $$
DECLARE
  v_found boolean;
BEGIN
  SELECT true, h.first_block INTO v_found, first_block
  FROM history_start h WHERE h.chain_id = p_chain_id FOR UPDATE;
  IF v_found IS NULL THEN
    outcome := 'none';
  ELSIF first_block IS NOT NULL THEN
    outcome := CASE WHEN first_block = p_from THEN 'same' ELSE 'differs' END;
  ELSE
    lowest := least((SELECT min(l.block_number) FROM logs l WHERE l.chain_id = p_chain_id),
                    (SELECT min(u.block_number) FROM unknown_logs u WHERE u.chain_id = p_chain_id));
    IF lowest IS NOT NULL AND lowest < p_from THEN
      outcome := 'below';
    ELSE
      UPDATE history_start h SET first_block = p_from, source = 'from'
      WHERE h.chain_id = p_chain_id;
      first_block := p_from;
      outcome := 'adopted';
    END IF;
  END IF;
END;
$$;

-- Contracts registered (the network file, at a start) after the history's
-- row was written: the first batch (or migration 020, for a database
-- indexed before it) did not know them, so the follower never asked their
-- logs below the cursor it had then. Addresses; the caller keeps those its
-- network file still names, whose start block the cursor passed.
CREATE OR REPLACE FUNCTION dimo_internal.history_late_contracts(p_chain_id bigint)
RETURNS TABLE (address bytea, start_block bigint)
LANGUAGE sql STABLE
AS $$
  SELECT c.address, c.start_block
  FROM contracts c JOIN history_start h ON h.chain_id = c.chain_id
  WHERE c.chain_id = p_chain_id AND c.registered_at > h.recorded_at
  ORDER BY c.address
$$;
