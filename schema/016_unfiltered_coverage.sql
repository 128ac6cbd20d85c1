-- 016_unfiltered_coverage.sql: from which block the quiet contracts' every
-- log is known (issue #22 item 2, for databases indexed before 013).
--
-- Before 013 the follower asked every contract's logs by the topic0s its
-- ABI knew. Below its cursor, a database indexed then holds no unknown log
-- and no Upgraded of a contract whose ABI lacked the event (the app and
-- manufacturer licenses' proxies on Polygon), where a fresh index has them.
-- Rather than answer as if that history were complete, the database keeps
-- the block from which it is: `status`, GET /v1/unknown-events and
-- GET /v1/upgrades say it (complete_from_block), and README says that a
-- fresh index completes the rest. A database indexed from 013 on has no
-- row (complete from its start). Migrated with 013 in the same run, the
-- cursor found here is where the topic-filtered history ends; a database
-- that already followed with 013 is marked from its cursor too: cautious,
-- never claiming more than is known.
CREATE TABLE unfiltered_coverage (
  chain_id bigint PRIMARY KEY,
  complete_from bigint NOT NULL CHECK (complete_from >= 0)
);

INSERT INTO unfiltered_coverage (chain_id, complete_from)
SELECT c.chain_id, c.last_block + 1 FROM cursors c;
