-- 021_contract_coverage.sql: per contract, the block below which its logs
-- were never asked (audit6 H10).
--
-- The follower asks a contract's logs from the cursor on. A contract the
-- network file gains on a database that already has a cursor (a release
-- that adds one to abi/networks/polygon.json, an operator's addition), or
-- whose start_block moves lower, therefore lacks its logs below the block
-- the follower had reached, where a fresh index has them. A row here says
-- so: the contract's history is complete from complete_from on; the
-- catch-up at start (indexer/coverage.c) asks blocks
-- max(start_block, the history's first block) .. complete_from - 1 of it,
-- with the follower's filter for its role, moves complete_from down round
-- by round, and deletes the row once nothing is left. Written by the
-- trigger on `contracts` (schema/functions/history.sql,
-- dimo_internal.contract_coverage_note) when a row is inserted, or its
-- start_block lowered, on a chain that has a cursor.
CREATE TABLE contract_coverage (
  chain_id bigint NOT NULL,
  address bytea NOT NULL CHECK (octet_length(address) = 20),
  complete_from bigint NOT NULL CHECK (complete_from >= 0),
  noted_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (chain_id, address)
);

-- A database where such a contract is registered already (020's warning:
-- registered after the history's row was written). When it was added is
-- not known, only that the follower asked its logs from then on: asked
-- again from the cursor down (the merge keeps what is stored).
INSERT INTO contract_coverage (chain_id, address, complete_from)
SELECT c.chain_id, c.address, cu.last_block + 1
FROM contracts c
JOIN history_start h ON h.chain_id = c.chain_id
JOIN cursors cu ON cu.chain_id = c.chain_id
WHERE c.registered_at > h.recorded_at AND c.start_block <= cu.last_block;
