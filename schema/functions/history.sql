-- history.sql: where the indexed history starts (migration 020,
-- history_start), and what a start of the follower says about it.
--
--   dimo_internal.history_note_from(chain, from)   a --from on a database
--                                      that has a cursor (indexer/sync.c)
--   dimo_internal.history_late_contracts(chain)    contracts the network
--                                      file gained after the first sync
--                                      and not caught up yet (021)
--   dimo_internal.contract_coverage_note()         the trigger that records
--                                      them (contract_coverage)
--   dimo_internal.contract_coverage_list(chain)    what the catch-up asks
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

-- Contracts whose logs below some block were never asked (021,
-- contract_coverage: added to the network file, or given a lower
-- start_block, after the first sync) and that the coverage catch-up has
-- not completed yet. Addresses; the caller keeps those its network file
-- still names, whose start block the cursor passed.
CREATE OR REPLACE FUNCTION dimo_internal.history_late_contracts(p_chain_id bigint)
RETURNS TABLE (address bytea, start_block bigint)
LANGUAGE sql STABLE
AS $$
  SELECT c.address, c.start_block
  FROM contracts c JOIN contract_coverage k ON k.chain_id = c.chain_id AND k.address = c.address
  WHERE c.chain_id = p_chain_id
  ORDER BY c.address
$$;

-- The trigger on `contracts` (021): a contract inserted on a chain that has
-- a cursor was never asked below cursor + 1. The follower asks every
-- configured contract over every range whatever its start_block (which
-- only decides where the first sync starts), so a start_block moved lower
-- leaves nothing unasked above the history's first block (020): only a
-- database indexed before 020 (no first block recorded) gets a row, for
-- blocks from the new start_block up to min(the old one, cursor + 1). The
-- row keeps the highest such block (what is below it is asked again; the
-- merge keeps what is stored); none is written when nothing lies between
-- max(start_block, the first block) and it. On an empty chain the first
-- sync asks everything. A start_block moved higher needs nothing.
CREATE OR REPLACE FUNCTION dimo_internal.contract_coverage_note() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
  v_cursor bigint;
  v_first bigint;
  v_from bigint;
BEGIN
  SELECT cu.last_block INTO v_cursor FROM cursors cu WHERE cu.chain_id = NEW.chain_id;
  IF v_cursor IS NULL OR NEW.start_block > v_cursor THEN
    RETURN NULL;
  END IF;
  SELECT h.first_block INTO v_first FROM history_start h WHERE h.chain_id = NEW.chain_id;
  IF TG_OP = 'INSERT' THEN
    v_from := v_cursor + 1;
  ELSIF NEW.start_block < OLD.start_block THEN
    v_from := least(OLD.start_block, v_cursor + 1, v_first);
  ELSE
    RETURN NULL;
  END IF;
  IF v_from <= greatest(NEW.start_block, v_first) THEN
    RETURN NULL;
  END IF;
  INSERT INTO contract_coverage AS k (chain_id, address, complete_from)
  VALUES (NEW.chain_id, NEW.address, v_from)
  ON CONFLICT (chain_id, address) DO UPDATE
    SET complete_from = greatest(k.complete_from, EXCLUDED.complete_from);
  RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER contracts_coverage AFTER INSERT OR UPDATE OF start_block ON contracts
FOR EACH ROW EXECUTE FUNCTION dimo_internal.contract_coverage_note();

-- The contracts the coverage catch-up completes (indexer/coverage.c), by
-- address: complete_from (never above the cursor + 1: a rollback below it
-- is asked again by the follower) and low, the lowest block to ask: the
-- contract's start_block, not below the history's first block (020).
CREATE OR REPLACE FUNCTION dimo_internal.contract_coverage_list(p_chain_id bigint)
RETURNS TABLE (address bytea, complete_from bigint, low bigint)
LANGUAGE sql STABLE
AS $$
  SELECT k.address, least(k.complete_from, cu.last_block + 1),
    greatest(c.start_block, coalesce(h.first_block, 0))
  FROM contract_coverage k
  JOIN contracts c ON c.chain_id = k.chain_id AND c.address = k.address
  JOIN cursors cu ON cu.chain_id = k.chain_id
  LEFT JOIN history_start h ON h.chain_id = k.chain_id
  WHERE k.chain_id = p_chain_id
  ORDER BY k.address
$$;
