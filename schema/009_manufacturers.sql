-- 009_manufacturers.sql: the right license classes (issue #23).
--
-- Data and constraints only; the functions and views that read them are
-- in the repeatable files schema/functions/licenses.sql and nodes.sql,
-- re-applied after this migration.
--
-- 1. The 2022 Stake contract licenses hardware manufacturers (DIP-4), not
--    DIP-5 node operators (shared/dimo-contracts.md section 2): its role
--    `node_license` becomes `manufacturer_license` and its class `node`
--    becomes `manufacturer` in every stored row, so that a database
--    indexed by an earlier build equals a fresh index after `migrate`.
--    The class `node` now belongs to storage-node anchors (007) alone.
-- 2. Requirements are data, per chain: required_stakes gains chain_id (0:
--    the defaults, the seed's numbers; a chain's own rows come from its
--    network file's `requirements`) and per_user (a node's requirement
--    grows with its users). `enforce` keeps its name and means the
--    network file's `understaked`: falling below the requirement stops
--    sharing.
--
-- The configuration triggers (002: a changed class or requirement rebuilds
-- every document) are held while the rows are renamed: documents built
-- now would use the definitions being replaced. licenses.sql marks every
-- cached document stale instead, once the new definitions are in.

ALTER TABLE contracts DISABLE TRIGGER contracts_changed;
ALTER TABLE required_stakes DISABLE TRIGGER required_stakes_changed;

-- ---- 1. the manufacturer license -------------------------------------------------

UPDATE logs SET role = 'manufacturer_license' WHERE role = 'node_license';
UPDATE ownership_events SET role = 'manufacturer_license' WHERE role = 'node_license';
UPDATE stake_movements SET role = 'manufacturer_license' WHERE role = 'node_license';
UPDATE license_state SET role = 'manufacturer_license',
  class = CASE WHEN class = 'node' THEN 'manufacturer' ELSE class END
WHERE role = 'node_license';
UPDATE contracts SET role = 'manufacturer_license',
  class = CASE WHEN class IS NULL OR class = 'node' THEN 'manufacturer' ELSE class END
WHERE role = 'node_license';
UPDATE model_reads SET role = 'manufacturer_license' WHERE role = 'node_license';

-- A class names one kind of license: `node` only storage-node anchors,
-- `manufacturer` only the 2022 Stake semantics, `connection` only
-- Connections. (An app-license-compatible contract may be `app` or
-- `client`.) The old role name is gone for good.
ALTER TABLE contracts ADD CONSTRAINT contracts_class_role_check CHECK (
  role <> 'node_license'
  AND (class IS DISTINCT FROM 'node' OR role = 'storage_node')
  AND (class IS DISTINCT FROM 'manufacturer' OR role = 'manufacturer_license')
  AND (class IS DISTINCT FROM 'connection' OR role = 'connection'));

-- ---- 2. requirements as data, per chain ------------------------------------------

ALTER TABLE required_stakes DROP CONSTRAINT required_stakes_pkey;
ALTER TABLE required_stakes DROP CONSTRAINT required_stakes_class_check;
ALTER TABLE required_stakes ADD COLUMN chain_id bigint NOT NULL DEFAULT 0 CHECK (chain_id >= 0);
ALTER TABLE required_stakes ADD COLUMN per_user numeric(78,0) NOT NULL DEFAULT 0 CHECK (per_user >= 0);
ALTER TABLE required_stakes ADD CONSTRAINT required_stakes_class_check
  CHECK (class IN ('app', 'client', 'node', 'manufacturer'));
ALTER TABLE required_stakes ADD PRIMARY KEY (chain_id, class);
-- Only nodes have users to count.
ALTER TABLE required_stakes ADD CONSTRAINT required_stakes_per_user_node_check
  CHECK (per_user = 0 OR class = 'node');

-- The former `node` row described the 2022 contract: it is the
-- manufacturer's (DIMO's manufacturer proposals bonded 100,000 DIMO, the
-- contract's initial minimum). Nodes get the seed's rule.
UPDATE required_stakes SET class = 'manufacturer',
  note = 'manufacturer licenses: 100,000 DIMO (or the contract minimum where higher)'
WHERE chain_id = 0 AND class = 'node';
INSERT INTO required_stakes (chain_id, class, amount, per_user, enforce, note) VALUES
  (0, 'node', 100000000000000000000000, 2000000000000000000, false,
   'DIP-5 seed: 100,000 DIMO plus 2 DIMO per connected user')
ON CONFLICT (chain_id, class) DO NOTHING;

ALTER TABLE required_stakes ENABLE TRIGGER required_stakes_changed;
ALTER TABLE contracts ENABLE TRIGGER contracts_changed;
