-- 005_access.sql: opt-ins. DIP-5 lets a licensed app read a user's
-- personal data only after the user opts in; on DIMO the opt-in is a SACD
-- permission record granted by the vehicle's owner to the app's client id.
-- This migration derives, from the raw logs of 001_core.sql, the records,
-- the vehicle transfers that silently invalidate them, the templates that
-- switch them off, the SACD upgrades that changed its views, and the
-- legacy PrivilegeSet grants of the vehicle contract, and answers the node
-- operator's full question (dimo_access): may app A read permission P of
-- vehicle V (or of account G) now (or at a block)?
--
-- The same three layers as 002_license_model.sql:
--
--   history   sacd_records (every PermissionsSet, both generations, and
--             every PermissionsRenounced of a `sacd` contract, in one
--             normalized shape), sacd_payments (PaymentSet: stored, no
--             permission meaning), sacd_upgrades (Upgraded of `sacd` and
--             `sacd_template` contracts), sacd_template_events
--             (TemplateCreated / Deactivated / Activated),
--             vehicle_transfers (every ERC-721 Transfer of a `vehicle`
--             contract: mint, transfer between owners, burn),
--             vehicle_privilege_events (every legacy PrivilegeSet); keyed
--             like their log, appended by apply, cut above a block by
--             rollback;
--   current   sacd_grants (the last record per (sacd, asset, token,
--             grantee)), sacd_templates (per template id), vehicle_state
--             (owner and last reset per token), vehicle_privileges (the
--             last PrivilegeSet per (token, privilege, user)); recomputed
--             per touched key, from the history alone, by the same refresh
--             functions for apply and rollback (a key left without history
--             loses its row);
--   answers   dimo_access (the JSON answer of GET /v1/access and
--             `dimo-indexer access`), dimo_has_permission and
--             dimo_has_account_permission (the contract's views), views of
--             grant status, of each app's opted-in vehicles, of grant
--             periods, and monthly metrics.
--
-- Semantics (the SACD contract's own rules, dimo-contracts.md section 7):
--   - generations: PermissionsSet without templateId (2024, generation 1)
--     is a record with template_id 0; PermissionsSet with templateId
--     (generation 2); PermissionsRenounced (generation 3) is a record
--     granting nothing (op 'renounce'): the grantee deleted its record at
--     the token's current version, idempotently (it is emitted even when
--     there was no record);
--   - a record replaces the previous one for the same (asset, tokenId,
--     grantee); tokenId 0 is an account grant: asset = the grantor, stored
--     per (grantor, grantee), never reset by transfers, and no grant on the
--     grantor's vehicles (questions about it name the grantor, not a
--     vehicle);
--   - permission i is granted when bits 2i and 2i+1 of `permissions` are
--     both set (i = 0..127);
--   - a record counts only while expiration > the block's timestamp and,
--     when its template_id is not 0, while that template exists and is
--     active (Template contracts: role `sacd_template`);
--   - an ERC-721 Transfer of the asset between two non-zero owners (SACD's
--     onTransfer bumps the token's version) invalidates every earlier record
--     of that token; mints and burns do not. Transfers are known for the
--     asset contracts the network file lists with role `vehicle`; records
--     about any other asset are never reset;
--   - from the upgrade that brought generation 2 (the last Upgraded log of
--     the SACD contract before its first generation-2 log: no other event
--     marks it), the views answer no for a burned or never minted token and
--     yes for the token's owner (an account grant: for the grantor itself).
--     Owners are known for `vehicle` assets only; for other assets the
--     record alone answers;
--   - grants whose asset is the Connections contract (a `connection`
--     contract of the network file, or 0x41799e9d...2132 on Polygon) are
--     connection grants: answered like token grants, kept out of the
--     vehicle opt-in views and metrics.
-- Several SACD contracts per chain are kept apart (separate storage, as on
-- Polygon, where 0xef91... preceded the proxy 0x3c15...): a question at a
-- block is answered by the `sacd` contract with the latest start block at
-- or before it.

-- ---- history -----------------------------------------------------------------

-- PermissionsSet (both generations) and PermissionsRenounced, normalized.
-- sacd: the emitting contract. kind: 'account' when token_id is 0 (asset
-- is then the grantor), else 'token'. op 'renounce': permissions,
-- expiration and template_id 0, source ''. Amounts exact.
CREATE TABLE sacd_records (
  chain_id bigint NOT NULL,
  block_number bigint NOT NULL,
  log_index int NOT NULL,
  tx_hash bytea NOT NULL,
  block_time timestamptz NOT NULL,
  sacd bytea NOT NULL,
  kind text NOT NULL CHECK (kind IN ('token', 'account')),
  op text NOT NULL CHECK (op IN ('set', 'renounce')),
  generation smallint NOT NULL CHECK (generation BETWEEN 1 AND 3),
  asset bytea NOT NULL,
  token_id numeric(78,0) NOT NULL,
  grantee bytea NOT NULL,
  permissions numeric(78,0) NOT NULL,
  expiration numeric(78,0) NOT NULL,
  template_id numeric(78,0) NOT NULL,
  source text NOT NULL,
  PRIMARY KEY (chain_id, block_number, log_index)
);
CREATE INDEX sacd_records_key ON sacd_records (chain_id, sacd, asset, token_id, grantee, block_number, log_index);
-- "The first log of the templateId generation" (dimo__sacd_rules_block).
CREATE INDEX sacd_records_templated ON sacd_records (chain_id, sacd, block_number, log_index)
  WHERE generation >= 2;

-- PaymentSet: payment records between a grantee (payer) and a grantor; no
-- permission meaning (kept as history).
CREATE TABLE sacd_payments (
  chain_id bigint NOT NULL,
  block_number bigint NOT NULL,
  log_index int NOT NULL,
  tx_hash bytea NOT NULL,
  block_time timestamptz NOT NULL,
  sacd bytea NOT NULL,
  asset bytea NOT NULL,
  grantee bytea NOT NULL,
  grantor bytea NOT NULL,
  amount numeric(78,0) NOT NULL,
  expiration numeric(78,0) NOT NULL,
  source text NOT NULL,
  PRIMARY KEY (chain_id, block_number, log_index)
);

-- Upgraded(implementation) of a `sacd` or `sacd_template` proxy: its
-- implementation history. The SACD's views changed at one of these with
-- no other event (dimo__sacd_rules_block).
CREATE TABLE sacd_upgrades (
  chain_id bigint NOT NULL,
  block_number bigint NOT NULL,
  log_index int NOT NULL,
  tx_hash bytea NOT NULL,
  block_time timestamptz NOT NULL,
  contract bytea NOT NULL,
  role text NOT NULL,
  implementation bytea NOT NULL,
  PRIMARY KEY (chain_id, block_number, log_index)
);
CREATE INDEX sacd_upgrades_contract ON sacd_upgrades (chain_id, contract, block_number, log_index);

-- TemplateCreated / TemplateDeactivated / TemplateActivated of a
-- `sacd_template` contract (creator, asset, permissions and cid: created
-- only).
CREATE TABLE sacd_template_events (
  chain_id bigint NOT NULL,
  block_number bigint NOT NULL,
  log_index int NOT NULL,
  tx_hash bytea NOT NULL,
  block_time timestamptz NOT NULL,
  contract bytea NOT NULL,
  template_id numeric(78,0) NOT NULL,
  kind text NOT NULL CHECK (kind IN ('created', 'deactivated', 'activated')),
  creator bytea,
  asset bytea,
  permissions numeric(78,0),
  cid text,
  PRIMARY KEY (chain_id, block_number, log_index)
);
CREATE INDEX sacd_template_events_key ON sacd_template_events (chain_id, template_id, block_number, log_index);

-- Transfer of a `vehicle` contract (asset = the contract). kind: mint
-- (from 0x0), burn (to 0x0), transfer (between owners: resets SACD
-- records of the token).
CREATE TABLE vehicle_transfers (
  chain_id bigint NOT NULL,
  block_number bigint NOT NULL,
  log_index int NOT NULL,
  tx_hash bytea NOT NULL,
  block_time timestamptz NOT NULL,
  asset bytea NOT NULL,
  token_id numeric(78,0) NOT NULL,
  from_address bytea NOT NULL,
  to_address bytea NOT NULL,
  kind text NOT NULL CHECK (kind IN ('mint', 'transfer', 'burn')),
  PRIMARY KEY (chain_id, block_number, log_index)
);
CREATE INDEX vehicle_transfers_token ON vehicle_transfers (chain_id, asset, token_id, block_number, log_index);
-- "The last reset of this token at or before a block".
CREATE INDEX vehicle_transfers_resets ON vehicle_transfers (chain_id, asset, token_id, block_number, log_index)
  WHERE kind = 'transfer';

-- Legacy PrivilegeSet of a `vehicle` contract (holder = the event's user).
CREATE TABLE vehicle_privilege_events (
  chain_id bigint NOT NULL,
  block_number bigint NOT NULL,
  log_index int NOT NULL,
  tx_hash bytea NOT NULL,
  block_time timestamptz NOT NULL,
  asset bytea NOT NULL,
  token_id numeric(78,0) NOT NULL,
  version numeric(78,0) NOT NULL,
  priv_id numeric(78,0) NOT NULL,
  holder bytea NOT NULL,
  expires numeric(78,0) NOT NULL,
  PRIMARY KEY (chain_id, block_number, log_index)
);
CREATE INDEX vehicle_privilege_events_key
  ON vehicle_privilege_events (chain_id, asset, token_id, priv_id, holder, block_number, log_index);

-- ---- current state ---------------------------------------------------------------

-- The last record per (sacd, asset, token, grantee), whether or not it
-- still counts (expired, reset by a transfer, renounced, its template
-- inactive, or granting nothing: see the sacd_grant_status view).
CREATE TABLE sacd_grants (
  chain_id bigint NOT NULL,
  sacd bytea NOT NULL,
  asset bytea NOT NULL,
  token_id numeric(78,0) NOT NULL,
  grantee bytea NOT NULL,
  kind text NOT NULL,
  op text NOT NULL,
  generation smallint NOT NULL,
  block_number bigint NOT NULL,
  log_index int NOT NULL,
  tx_hash bytea NOT NULL,
  block_time timestamptz NOT NULL,
  permissions numeric(78,0) NOT NULL,
  permission_ids int[] NOT NULL,
  expiration numeric(78,0) NOT NULL,
  expires_at timestamptz NOT NULL,
  template_id numeric(78,0) NOT NULL,
  source text NOT NULL,
  PRIMARY KEY (chain_id, sacd, asset, token_id, grantee)
) WITH (fillfactor = 70);
CREATE INDEX sacd_grants_grantee ON sacd_grants (chain_id, grantee, asset, token_id);
-- (fillfactor: refreshes update rows without touching indexed columns;
-- room in the page lets those updates skip index maintenance, HOT.)

-- Per template id: its last event (active: created or activated last).
CREATE TABLE sacd_templates (
  chain_id bigint NOT NULL,
  template_id numeric(78,0) NOT NULL,
  contract bytea NOT NULL,
  creator bytea,
  asset bytea,
  permissions numeric(78,0),
  cid text,
  active boolean NOT NULL,
  created_block bigint,
  changed_block bigint NOT NULL,
  changed_time timestamptz NOT NULL,
  PRIMARY KEY (chain_id, template_id)
);

-- Per vehicle token with a Transfer: its owner (the last one after a
-- burn), and the last transfer between owners (the reset every earlier
-- SACD record of the token is subject to; NULL: never transferred).
CREATE TABLE vehicle_state (
  chain_id bigint NOT NULL,
  asset bytea NOT NULL,
  token_id numeric(78,0) NOT NULL,
  owner bytea NOT NULL,
  burned boolean NOT NULL,
  reset_block bigint,
  reset_log_index int,
  reset_time timestamptz,
  reset_tx bytea,
  changed_block bigint NOT NULL,
  PRIMARY KEY (chain_id, asset, token_id)
) WITH (fillfactor = 70);
CREATE INDEX vehicle_state_owner ON vehicle_state (chain_id, owner);

-- The last PrivilegeSet per (token, privilege, user).
CREATE TABLE vehicle_privileges (
  chain_id bigint NOT NULL,
  asset bytea NOT NULL,
  token_id numeric(78,0) NOT NULL,
  priv_id numeric(78,0) NOT NULL,
  holder bytea NOT NULL,
  version numeric(78,0) NOT NULL,
  expires numeric(78,0) NOT NULL,
  expires_at timestamptz NOT NULL,
  block_number bigint NOT NULL,
  log_index int NOT NULL,
  block_time timestamptz NOT NULL,
  tx_hash bytea NOT NULL,
  PRIMARY KEY (chain_id, asset, token_id, priv_id, holder)
) WITH (fillfactor = 70);

-- ---- small pieces ------------------------------------------------------------------

CREATE TYPE dimo_grant_key AS (sacd bytea, asset bytea, token_id numeric, grantee bytea);
CREATE TYPE dimo_asset_key AS (asset bytea, token_id numeric);
CREATE TYPE dimo_privilege_key AS (asset bytea, token_id numeric, priv_id numeric, holder bytea);

-- SACD's bit test: permission p_index (0..127) is granted when bits 2i
-- and 2i+1 of p_permissions are both set. Exact (numeric powers of 4 with
-- an integer exponent are exact).
CREATE FUNCTION dimo_permission_granted(p_permissions numeric, p_index int) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT p_index BETWEEN 0 AND 127 AND mod(div(p_permissions, power(4::numeric, p_index)), 4) = 3
$$;

-- Every permission index p_permissions grants, ascending ('{}' for none).
-- Walks the pairs of bits up to the highest set one (a few for usual
-- values, 128 at most), in bigint while the value fits one.
CREATE FUNCTION dimo_permission_ids(p_permissions numeric) RETURNS int[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
  v numeric := p_permissions;
  b bigint;
  i int := 0;
  ids int[] := '{}';
BEGIN
  WHILE v > 9223372036854775807 LOOP
    IF mod(v, 4) = 3 THEN
      ids := ids || i;
    END IF;
    v := div(v, 4);
    i := i + 1;
  END LOOP;
  b := v::bigint;
  WHILE b > 0 LOOP
    IF b & 3 = 3 THEN
      ids := ids || i;
    END IF;
    b := b >> 2;
    i := i + 1;
  END LOOP;
  RETURN ids;
END;
$$;

-- A uint256 of Unix seconds as a time, capped at the end of year 9999
-- (what a timestamptz answer carries here; expirations of "forever" are
-- often 2^256 - 1).
CREATE FUNCTION dimo__unix_time(p numeric) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT CASE WHEN p > 253402300799 THEN '9999-12-31 23:59:59+00'::timestamptz
    ELSE to_timestamp(p::float8) END
$$;

-- The block timestamp a contract would see at time p: whole seconds.
CREATE FUNCTION dimo__unix_seconds(p timestamptz) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT floor(extract(epoch FROM p)) $$;

-- Is p_asset a Connections contract (its grants are on data connections,
-- not vehicle opt-ins)? A `connection` contract of the network file, or
-- DIMO's ConnectionsManager on Polygon (dimo-contracts.md section 6).
CREATE FUNCTION dimo__connection_asset(p_chain_id bigint, p_asset bytea) RETURNS boolean
LANGUAGE sql STABLE
AS $$
  SELECT (p_chain_id = 137 AND p_asset = '\x41799e9dc893722844e771a1c1caf3bbc2876132'::bytea)
    OR EXISTS (SELECT 1 FROM contracts c WHERE c.chain_id = p_chain_id AND c.address = p_asset
               AND c.role = 'connection')
$$;

-- Does the index follow p_asset's transfers (a `vehicle` contract)? Only
-- for those are owners, burns and resets known.
CREATE FUNCTION dimo__followed_asset(p_chain_id bigint, p_asset bytea) RETURNS boolean
LANGUAGE sql STABLE
AS $$
  SELECT EXISTS (SELECT 1 FROM contracts c WHERE c.chain_id = p_chain_id AND c.address = p_asset
                 AND c.role = 'vehicle')
$$;

-- The SACD contract that answers at block p_block: the `sacd` contract
-- with the latest start block at or before it (the earliest when the
-- block precedes them all). NULL when the network lists none.
CREATE FUNCTION dimo__sacd_at(p_chain_id bigint, p_block bigint) RETURNS bytea
LANGUAGE sql STABLE
AS $$
  SELECT c.address FROM contracts c WHERE c.chain_id = p_chain_id AND c.role = 'sacd'
  ORDER BY c.start_block <= p_block DESC,
    CASE WHEN c.start_block <= p_block THEN -c.start_block ELSE c.start_block END, c.address
  LIMIT 1
$$;

-- The block from which p_sacd's views apply the owner shortcut and the
-- burned-token rule: the block of the upgrade that brought the templateId
-- generation, i.e. its last Upgraded log before its first generation-2
-- log (the rules came with that implementation and nothing else marks
-- them; see README, "Opt-ins"); the contract's start block when no
-- Upgraded precedes it (a contract deployed with that code). NULL while no
-- generation-2 log is indexed: the 2024 rules hold.
CREATE FUNCTION dimo__sacd_rules_block(p_chain_id bigint, p_sacd bytea) RETURNS bigint
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  f record;
  u bigint;
BEGIN
  SELECT r.block_number, r.log_index INTO f FROM sacd_records r
  WHERE r.chain_id = p_chain_id AND r.sacd = p_sacd AND r.generation >= 2
  ORDER BY r.block_number, r.log_index LIMIT 1;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  SELECT x.block_number INTO u FROM sacd_upgrades x
  WHERE x.chain_id = p_chain_id AND x.contract = p_sacd
    AND (x.block_number, x.log_index) < (f.block_number, f.log_index)
  ORDER BY x.block_number DESC, x.log_index DESC LIMIT 1;
  IF u IS NULL THEN
    SELECT least(c.start_block, f.block_number) INTO u FROM contracts c
    WHERE c.chain_id = p_chain_id AND c.address = p_sacd;
  END IF;
  RETURN coalesce(u, f.block_number);
END;
$$;

-- A template's state at block p_block: 'active' (created or re-activated
-- last), 'inactive' (deactivated last) or 'missing' (no event yet), with
-- the event that decided it.
CREATE FUNCTION dimo__template_at(p_chain_id bigint, p_template_id numeric, p_block bigint,
                                  OUT status text, OUT block_number bigint, OUT tx_hash bytea,
                                  OUT block_time timestamptz)
LANGUAGE sql STABLE
AS $$
  SELECT coalesce((SELECT CASE e.kind WHEN 'deactivated' THEN 'inactive' ELSE 'active' END), 'missing'),
    e.block_number, e.tx_hash, e.block_time
  FROM (SELECT 1) one
  LEFT JOIN LATERAL (
    SELECT e.* FROM sacd_template_events e
    WHERE e.chain_id = p_chain_id AND e.template_id = p_template_id AND e.block_number <= p_block
    ORDER BY e.block_number DESC, e.log_index DESC LIMIT 1) e ON true
$$;

-- ---- refresh: current rows from history -----------------------------------------

-- One statement per refresh: the last history row of every key (none: the
-- key lost all its history, in a rollback), then the current row deleted
-- or upserted. Every lookup is one index probe per key.
CREATE FUNCTION dimo__refresh_grants(p_chain_id bigint, p_keys dimo_grant_key[]) RETURNS void
LANGUAGE sql
AS $$
  WITH last AS (
    SELECT k.sacd, k.asset, k.token_id, k.grantee, r.*
    FROM (SELECT DISTINCT u.sacd, u.asset, u.token_id, u.grantee FROM unnest(p_keys) u) k
    LEFT JOIN LATERAL (
      SELECT r.kind, r.op, r.generation, r.block_number, r.log_index, r.tx_hash, r.block_time,
        r.permissions, r.expiration, r.template_id, r.source
      FROM sacd_records r
      WHERE r.chain_id = p_chain_id AND r.sacd = k.sacd AND r.asset = k.asset
        AND r.token_id = k.token_id AND r.grantee = k.grantee
      ORDER BY r.block_number DESC, r.log_index DESC LIMIT 1) r ON true),
  gone AS (
    DELETE FROM sacd_grants g USING last
    WHERE last.block_number IS NULL AND g.chain_id = p_chain_id AND g.sacd = last.sacd
      AND g.asset = last.asset AND g.token_id = last.token_id AND g.grantee = last.grantee)
  INSERT INTO sacd_grants AS g (chain_id, sacd, asset, token_id, grantee, kind, op, generation,
    block_number, log_index, tx_hash, block_time, permissions, permission_ids, expiration, expires_at,
    template_id, source)
  SELECT p_chain_id, l.sacd, l.asset, l.token_id, l.grantee, l.kind, l.op, l.generation,
    l.block_number, l.log_index, l.tx_hash, l.block_time, l.permissions,
    dimo_permission_ids(l.permissions), l.expiration, dimo__unix_time(l.expiration), l.template_id,
    l.source
  FROM last l WHERE l.block_number IS NOT NULL
  ON CONFLICT (chain_id, sacd, asset, token_id, grantee) DO UPDATE SET
    kind = EXCLUDED.kind, op = EXCLUDED.op, generation = EXCLUDED.generation,
    block_number = EXCLUDED.block_number, log_index = EXCLUDED.log_index, tx_hash = EXCLUDED.tx_hash,
    block_time = EXCLUDED.block_time, permissions = EXCLUDED.permissions,
    permission_ids = EXCLUDED.permission_ids, expiration = EXCLUDED.expiration,
    expires_at = EXCLUDED.expires_at, template_id = EXCLUDED.template_id, source = EXCLUDED.source;
$$;

CREATE FUNCTION dimo__refresh_templates(p_chain_id bigint, p_ids numeric[]) RETURNS void
LANGUAGE sql
AS $$
  WITH last AS (
    SELECT k.id, e.*, c.contract AS c_contract, c.creator, c.asset, c.permissions, c.cid,
      c.block_number AS created_block
    FROM (SELECT DISTINCT u AS id FROM unnest(p_ids) u) k
    LEFT JOIN LATERAL (
      SELECT e.contract, e.kind, e.block_number, e.block_time FROM sacd_template_events e
      WHERE e.chain_id = p_chain_id AND e.template_id = k.id
      ORDER BY e.block_number DESC, e.log_index DESC LIMIT 1) e ON true
    LEFT JOIN LATERAL (
      SELECT e.contract, e.creator, e.asset, e.permissions, e.cid, e.block_number
      FROM sacd_template_events e
      WHERE e.chain_id = p_chain_id AND e.template_id = k.id AND e.kind = 'created'
      ORDER BY e.block_number DESC, e.log_index DESC LIMIT 1) c ON true),
  gone AS (
    DELETE FROM sacd_templates t USING last
    WHERE last.block_number IS NULL AND t.chain_id = p_chain_id AND t.template_id = last.id)
  INSERT INTO sacd_templates AS t (chain_id, template_id, contract, creator, asset, permissions, cid,
    active, created_block, changed_block, changed_time)
  SELECT p_chain_id, l.id, coalesce(l.c_contract, l.contract), l.creator, l.asset, l.permissions, l.cid,
    l.kind <> 'deactivated', l.created_block, l.block_number, l.block_time
  FROM last l WHERE l.block_number IS NOT NULL
  ON CONFLICT (chain_id, template_id) DO UPDATE SET
    contract = EXCLUDED.contract, creator = EXCLUDED.creator, asset = EXCLUDED.asset,
    permissions = EXCLUDED.permissions, cid = EXCLUDED.cid, active = EXCLUDED.active,
    created_block = EXCLUDED.created_block, changed_block = EXCLUDED.changed_block,
    changed_time = EXCLUDED.changed_time;
$$;

CREATE FUNCTION dimo__refresh_vehicles(p_chain_id bigint, p_keys dimo_asset_key[]) RETURNS void
LANGUAGE sql
AS $$
  WITH last AS (
    SELECT k.asset, k.token_id, t.block_number, t.kind,
      CASE WHEN t.kind = 'burn' THEN t.from_address ELSE t.to_address END AS owner,
      rs.block_number AS reset_block, rs.log_index AS reset_log_index, rs.block_time AS reset_time,
      rs.tx_hash AS reset_tx
    FROM (SELECT DISTINCT u.asset, u.token_id FROM unnest(p_keys) u) k
    LEFT JOIN LATERAL (
      SELECT t.block_number, t.kind, t.from_address, t.to_address FROM vehicle_transfers t
      WHERE t.chain_id = p_chain_id AND t.asset = k.asset AND t.token_id = k.token_id
      ORDER BY t.block_number DESC, t.log_index DESC LIMIT 1) t ON true
    LEFT JOIN LATERAL (
      SELECT t.block_number, t.log_index, t.block_time, t.tx_hash FROM vehicle_transfers t
      WHERE t.chain_id = p_chain_id AND t.asset = k.asset AND t.token_id = k.token_id
        AND t.kind = 'transfer'
      ORDER BY t.block_number DESC, t.log_index DESC LIMIT 1) rs ON true),
  gone AS (
    DELETE FROM vehicle_state v USING last
    WHERE last.block_number IS NULL AND v.chain_id = p_chain_id AND v.asset = last.asset
      AND v.token_id = last.token_id)
  INSERT INTO vehicle_state AS v (chain_id, asset, token_id, owner, burned, reset_block,
    reset_log_index, reset_time, reset_tx, changed_block)
  SELECT p_chain_id, l.asset, l.token_id, l.owner, l.kind = 'burn', l.reset_block,
    l.reset_log_index, l.reset_time, l.reset_tx, l.block_number
  FROM last l WHERE l.block_number IS NOT NULL
  ON CONFLICT (chain_id, asset, token_id) DO UPDATE SET
    owner = EXCLUDED.owner, burned = EXCLUDED.burned, reset_block = EXCLUDED.reset_block,
    reset_log_index = EXCLUDED.reset_log_index, reset_time = EXCLUDED.reset_time,
    reset_tx = EXCLUDED.reset_tx, changed_block = EXCLUDED.changed_block;
$$;

CREATE FUNCTION dimo__refresh_privileges(p_chain_id bigint, p_keys dimo_privilege_key[]) RETURNS void
LANGUAGE sql
AS $$
  WITH last AS (
    SELECT k.asset, k.token_id, k.priv_id, k.holder, e.*
    FROM (SELECT DISTINCT u.asset, u.token_id, u.priv_id, u.holder FROM unnest(p_keys) u) k
    LEFT JOIN LATERAL (
      SELECT e.version, e.expires, e.block_number, e.log_index, e.block_time, e.tx_hash
      FROM vehicle_privilege_events e
      WHERE e.chain_id = p_chain_id AND e.asset = k.asset AND e.token_id = k.token_id
        AND e.priv_id = k.priv_id AND e.holder = k.holder
      ORDER BY e.block_number DESC, e.log_index DESC LIMIT 1) e ON true),
  gone AS (
    DELETE FROM vehicle_privileges v USING last
    WHERE last.block_number IS NULL AND v.chain_id = p_chain_id AND v.asset = last.asset
      AND v.token_id = last.token_id AND v.priv_id = last.priv_id AND v.holder = last.holder)
  INSERT INTO vehicle_privileges AS v (chain_id, asset, token_id, priv_id, holder, version, expires,
    expires_at, block_number, log_index, block_time, tx_hash)
  SELECT p_chain_id, l.asset, l.token_id, l.priv_id, l.holder, l.version, l.expires,
    dimo__unix_time(l.expires), l.block_number, l.log_index, l.block_time, l.tx_hash
  FROM last l WHERE l.block_number IS NOT NULL
  ON CONFLICT (chain_id, asset, token_id, priv_id, holder) DO UPDATE SET
    version = EXCLUDED.version, expires = EXCLUDED.expires, expires_at = EXCLUDED.expires_at,
    block_number = EXCLUDED.block_number, log_index = EXCLUDED.log_index,
    block_time = EXCLUDED.block_time, tx_hash = EXCLUDED.tx_hash;
$$;

-- Recomputes the current rows of every key with history rows in blocks
-- p_from_block..p_to_block (apply) or above p_from_block - 1 (rollback,
-- p_to_block NULL), in the state the history now has.
CREATE FUNCTION dimo__access_keys(p_chain_id bigint, p_from_block bigint, p_to_block bigint,
                                  OUT grants dimo_grant_key[], OUT vehicles dimo_asset_key[],
                                  OUT privileges dimo_privilege_key[], OUT templates numeric[])
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  v_to bigint := coalesce(p_to_block, 9223372036854775807);
BEGIN
  grants := ARRAY(
    SELECT DISTINCT ROW(r.sacd, r.asset, r.token_id, r.grantee)::dimo_grant_key FROM sacd_records r
    WHERE r.chain_id = p_chain_id AND r.block_number BETWEEN p_from_block AND v_to);
  vehicles := ARRAY(
    SELECT DISTINCT ROW(t.asset, t.token_id)::dimo_asset_key FROM vehicle_transfers t
    WHERE t.chain_id = p_chain_id AND t.block_number BETWEEN p_from_block AND v_to);
  privileges := ARRAY(
    SELECT DISTINCT ROW(e.asset, e.token_id, e.priv_id, e.holder)::dimo_privilege_key
    FROM vehicle_privilege_events e
    WHERE e.chain_id = p_chain_id AND e.block_number BETWEEN p_from_block AND v_to);
  templates := ARRAY(
    SELECT DISTINCT e.template_id FROM sacd_template_events e
    WHERE e.chain_id = p_chain_id AND e.block_number BETWEEN p_from_block AND v_to);
END;
$$;

CREATE FUNCTION dimo__access_refresh(p_chain_id bigint, p_grants dimo_grant_key[],
                                     p_vehicles dimo_asset_key[], p_privileges dimo_privilege_key[],
                                     p_templates numeric[])
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
  IF cardinality(p_grants) > 0 THEN
    PERFORM dimo__refresh_grants(p_chain_id, p_grants);
  END IF;
  IF cardinality(p_vehicles) > 0 THEN
    PERFORM dimo__refresh_vehicles(p_chain_id, p_vehicles);
  END IF;
  IF cardinality(p_privileges) > 0 THEN
    PERFORM dimo__refresh_privileges(p_chain_id, p_privileges);
  END IF;
  IF cardinality(p_templates) > 0 THEN
    PERFORM dimo__refresh_templates(p_chain_id, p_templates);
  END IF;
END;
$$;

-- ---- apply and rollback ------------------------------------------------------------

-- History rows of blocks p_from_block..p_to_block (one scan of the batch's
-- logs feeding every history table), then the current rows they touch.
-- Each event generation is one branch of `rec`: a new generation is a new
-- row there (and, where its meaning differs, a rule in the questions).
CREATE FUNCTION dimo__access_apply(p_chain_id bigint, p_from_block bigint, p_to_block bigint)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
  zero CONSTANT text := '0x0000000000000000000000000000000000000000';
  k record;
BEGIN
  WITH b AS MATERIALIZED (
    SELECT l.block_number, l.log_index, l.tx_hash, l.block_time, l.address AS contract,
      coalesce(l.role, c.role) AS role, l.event, l.args
    FROM logs l
    LEFT JOIN contracts c ON c.chain_id = l.chain_id AND c.address = l.address
    WHERE l.chain_id = p_chain_id AND l.block_number BETWEEN p_from_block AND p_to_block
      AND coalesce(l.role, c.role) IN ('sacd', 'vehicle', 'sacd_template')
  ),
  rec AS (
    INSERT INTO sacd_records (chain_id, block_number, log_index, tx_hash, block_time, sacd, kind, op,
      generation, asset, token_id, grantee, permissions, expiration, template_id, source)
    SELECT p_chain_id, x.block_number, x.log_index, x.tx_hash, x.block_time, x.contract,
      CASE WHEN x.token_id = 0 THEN 'account' ELSE 'token' END, x.op, x.generation, x.asset,
      x.token_id, x.grantee, x.permissions, x.expiration, x.template_id, x.source
    FROM (
      SELECT b.*, g.generation, g.op, dimo__addr(b.args ->> 'asset') AS asset,
        dimo__uint(b.args ->> 'tokenId') AS token_id, dimo__addr(b.args ->> 'grantee') AS grantee,
        CASE WHEN g.op = 'set' THEN dimo__uint(b.args ->> 'permissions') ELSE 0 END AS permissions,
        CASE WHEN g.op = 'set' THEN dimo__uint(b.args ->> 'expiration') ELSE 0 END AS expiration,
        CASE WHEN g.generation = 2 THEN dimo__uint(b.args ->> 'templateId') ELSE 0 END AS template_id,
        CASE WHEN g.op = 'set' THEN dimo__str(b.args -> 'source') ELSE '' END AS source
      FROM b
      JOIN (VALUES
        ('PermissionsSet(address,uint256,uint256,address,uint256,string)', 1::smallint, 'set'),
        ('PermissionsSet(address,uint256,uint256,address,uint256,uint256,string)', 2::smallint, 'set'),
        ('PermissionsRenounced(address,uint256,address)', 3::smallint, 'renounce')
      ) g(event, generation, op) ON g.event = b.event
      WHERE b.role = 'sacd'
      OFFSET 0
    ) x
    WHERE x.asset IS NOT NULL AND x.token_id IS NOT NULL AND x.grantee IS NOT NULL
      AND x.permissions IS NOT NULL AND x.expiration IS NOT NULL AND x.template_id IS NOT NULL
      AND x.source IS NOT NULL
  ),
  pay AS (
    INSERT INTO sacd_payments (chain_id, block_number, log_index, tx_hash, block_time, sacd, asset,
      grantee, grantor, amount, expiration, source)
    SELECT p_chain_id, x.block_number, x.log_index, x.tx_hash, x.block_time, x.contract, x.asset,
      x.grantee, x.grantor, x.amount, x.expiration, x.source
    FROM (
      SELECT b.*, dimo__addr(b.args ->> 'asset') AS asset, dimo__addr(b.args ->> 'grantee') AS grantee,
        dimo__addr(b.args ->> 'grantor') AS grantor, dimo__uint(b.args ->> 'amount') AS amount,
        dimo__uint(b.args ->> 'expiration') AS expiration, dimo__str(b.args -> 'source') AS source
      FROM b
      WHERE b.role = 'sacd' AND b.event = 'PaymentSet(address,address,address,uint256,uint256,string)'
      OFFSET 0
    ) x
    WHERE x.asset IS NOT NULL AND x.grantee IS NOT NULL AND x.grantor IS NOT NULL
      AND x.amount IS NOT NULL AND x.expiration IS NOT NULL AND x.source IS NOT NULL
  ),
  upg AS (
    INSERT INTO sacd_upgrades (chain_id, block_number, log_index, tx_hash, block_time, contract, role,
      implementation)
    SELECT p_chain_id, b.block_number, b.log_index, b.tx_hash, b.block_time, b.contract, b.role,
      dimo__addr(b.args ->> 'implementation')
    FROM b
    WHERE b.role IN ('sacd', 'sacd_template') AND b.event = 'Upgraded(address)'
      AND dimo__addr(b.args ->> 'implementation') IS NOT NULL
  ),
  tpl AS (
    INSERT INTO sacd_template_events (chain_id, block_number, log_index, tx_hash, block_time, contract,
      template_id, kind, creator, asset, permissions, cid)
    SELECT p_chain_id, x.block_number, x.log_index, x.tx_hash, x.block_time, x.contract, x.template_id,
      x.kind, x.creator, x.asset, x.permissions, x.cid
    FROM (
      SELECT b.*, dimo__uint(b.args ->> 'templateId') AS template_id,
        CASE b.event WHEN 'TemplateCreated(uint256,address,address,uint256,string)' THEN 'created'
          WHEN 'TemplateDeactivated(uint256)' THEN 'deactivated' ELSE 'activated' END AS kind,
        dimo__addr(b.args ->> 'creator') AS creator, dimo__addr(b.args ->> 'asset') AS asset,
        dimo__uint(b.args ->> 'permissions') AS permissions, dimo__str(b.args -> 'cid') AS cid
      FROM b
      WHERE b.role = 'sacd_template' AND b.event IN ('TemplateCreated(uint256,address,address,uint256,string)',
        'TemplateDeactivated(uint256)', 'TemplateActivated(uint256)')
      OFFSET 0
    ) x
    WHERE x.template_id IS NOT NULL
      AND (x.kind <> 'created' OR (x.creator IS NOT NULL AND x.asset IS NOT NULL
                                   AND x.permissions IS NOT NULL AND x.cid IS NOT NULL))
  ),
  priv AS (
    INSERT INTO vehicle_privilege_events (chain_id, block_number, log_index, tx_hash, block_time,
      asset, token_id, version, priv_id, holder, expires)
    SELECT p_chain_id, x.block_number, x.log_index, x.tx_hash, x.block_time, x.contract, x.token_id,
      x.version, x.priv_id, x.holder, x.expires
    FROM (
      SELECT b.*, dimo__uint(b.args ->> 'tokenId') AS token_id,
        dimo__uint(b.args ->> 'version') AS version, dimo__uint(b.args ->> 'privId') AS priv_id,
        dimo__addr(b.args ->> 'user') AS holder, dimo__uint(b.args ->> 'expires') AS expires
      FROM b
      WHERE b.role = 'vehicle' AND b.event = 'PrivilegeSet(uint256,uint256,uint256,address,uint256)'
      OFFSET 0
    ) x
    WHERE x.token_id IS NOT NULL AND x.version IS NOT NULL AND x.priv_id IS NOT NULL
      AND x.holder IS NOT NULL AND x.expires IS NOT NULL
  )
  INSERT INTO vehicle_transfers (chain_id, block_number, log_index, tx_hash, block_time, asset,
    token_id, from_address, to_address, kind)
  SELECT p_chain_id, x.block_number, x.log_index, x.tx_hash, x.block_time, x.contract, x.token_id,
    x.from_address, x.to_address,
    CASE WHEN x.from_text = zero THEN 'mint' WHEN x.to_text = zero THEN 'burn' ELSE 'transfer' END
  FROM (
    SELECT b.*, dimo__uint(b.args ->> 'tokenId') AS token_id, b.args ->> 'from' AS from_text,
      b.args ->> 'to' AS to_text, dimo__addr(b.args ->> 'from') AS from_address,
      dimo__addr(b.args ->> 'to') AS to_address
    FROM b
    WHERE b.role = 'vehicle' AND b.event = 'Transfer(address,address,uint256)'
    OFFSET 0
  ) x
  WHERE x.token_id IS NOT NULL AND x.from_address IS NOT NULL AND x.to_address IS NOT NULL
    AND NOT (x.from_text = zero AND x.to_text = zero);

  k := dimo__access_keys(p_chain_id, p_from_block, p_to_block);
  PERFORM dimo__access_refresh(p_chain_id, k.grants, k.vehicles, k.privileges, k.templates);
END;
$$;

-- Collects the keys the rows above p_keep_block touch, deletes those rows,
-- and recomputes the keys from what remains.
CREATE FUNCTION dimo__access_rollback(p_chain_id bigint, p_keep_block bigint)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
  k record;
BEGIN
  k := dimo__access_keys(p_chain_id, p_keep_block + 1, NULL);
  DELETE FROM sacd_records WHERE chain_id = p_chain_id AND block_number > p_keep_block;
  DELETE FROM sacd_payments WHERE chain_id = p_chain_id AND block_number > p_keep_block;
  DELETE FROM sacd_upgrades WHERE chain_id = p_chain_id AND block_number > p_keep_block;
  DELETE FROM sacd_template_events WHERE chain_id = p_chain_id AND block_number > p_keep_block;
  DELETE FROM vehicle_transfers WHERE chain_id = p_chain_id AND block_number > p_keep_block;
  DELETE FROM vehicle_privilege_events WHERE chain_id = p_chain_id AND block_number > p_keep_block;
  PERFORM dimo__access_refresh(p_chain_id, k.grants, k.vehicles, k.privileges, k.templates);
END;
$$;

-- The opt-in part, after the licenses (001's model_parts: it reads no
-- license table, but an order fixed once keeps runs comparable).
INSERT INTO model_parts (ord, name, apply_fn, rollback_fn)
VALUES (20, 'optins', 'dimo__access_apply(bigint,bigint,bigint)',
        'dimo__access_rollback(bigint,bigint)');

-- What the part reads (001's model_reads; checked against the ABI files
-- at start-up).
INSERT INTO model_reads (part, role, event, args) VALUES
  ('optins', 'sacd', 'PermissionsSet(address,uint256,uint256,address,uint256,string)',
   '{asset,tokenId,permissions,grantee,expiration,source}'),
  ('optins', 'sacd', 'PermissionsSet(address,uint256,uint256,address,uint256,uint256,string)',
   '{asset,tokenId,permissions,grantee,expiration,templateId,source}'),
  ('optins', 'sacd', 'PermissionsRenounced(address,uint256,address)', '{asset,tokenId,grantee}'),
  ('optins', 'sacd', 'PaymentSet(address,address,address,uint256,uint256,string)',
   '{asset,grantee,grantor,amount,expiration,source}'),
  ('optins', 'sacd', 'Upgraded(address)', '{implementation}'),
  ('optins', 'sacd_template', 'Upgraded(address)', '{implementation}'),
  ('optins', 'sacd_template', 'TemplateCreated(uint256,address,address,uint256,string)',
   '{templateId,creator,asset,permissions,cid}'),
  ('optins', 'sacd_template', 'TemplateDeactivated(uint256)', '{templateId}'),
  ('optins', 'sacd_template', 'TemplateActivated(uint256)', '{templateId}'),
  ('optins', 'vehicle', 'Transfer(address,address,uint256)', '{from,to,tokenId}'),
  ('optins', 'vehicle', 'PrivilegeSet(uint256,uint256,uint256,address,uint256)',
   '{tokenId,version,privId,user,expires}');


-- ---- the access question -------------------------------------------------------------

-- The record of (sacd, asset, token, grantee) in force at block p_block
-- (the last at or before it; account grants: p_account, asset = grantor,
-- token 0), with, for a token grant, the last reset of the token at or
-- before that block when it came after the record. No row: no record.
CREATE FUNCTION dimo__grant_at(p_chain_id bigint, p_sacd bytea, p_account boolean, p_asset bytea,
                               p_token_id numeric, p_grantee bytea, p_block bigint)
RETURNS TABLE(block_number bigint, log_index int, block_time timestamptz, tx_hash bytea, op text,
              generation smallint, permissions numeric, expiration numeric, template_id numeric,
              source text, reset_block bigint, reset_log_index int, reset_time timestamptz,
              reset_tx bytea, reset_from bytea, reset_to bytea)
LANGUAGE sql STABLE
AS $$
  SELECT r.block_number, r.log_index, r.block_time, r.tx_hash, r.op, r.generation, r.permissions,
    r.expiration, r.template_id, r.source, t.block_number, t.log_index, t.block_time, t.tx_hash,
    t.from_address, t.to_address
  FROM (
    SELECT r.* FROM sacd_records r
    WHERE r.chain_id = p_chain_id AND r.sacd = p_sacd AND r.asset = p_asset
      AND r.token_id = p_token_id AND r.grantee = p_grantee AND r.block_number <= p_block
      AND r.kind = CASE WHEN p_account THEN 'account' ELSE 'token' END
    ORDER BY r.block_number DESC, r.log_index DESC LIMIT 1) r
  LEFT JOIN LATERAL (
    SELECT t.* FROM vehicle_transfers t
    WHERE NOT p_account AND t.chain_id = p_chain_id AND t.asset = p_asset AND t.token_id = p_token_id
      AND t.kind = 'transfer' AND t.block_number <= p_block
    ORDER BY t.block_number DESC, t.log_index DESC LIMIT 1) t
    ON (t.block_number, t.log_index) > (r.block_number, r.log_index)
$$;

-- The SACD views at block p_block, judged at Unix time p_now: for a token
-- (p_account false) hasPermission(asset, token, grantee, permission), for
-- an account (p_account, p_asset = the grantor, p_token_id 0)
-- hasAccountPermission(grantor, grantee, permission). Out:
--   has         the view's answer;
--   reasons     why not ('{}' when has): token_not_minted, token_burned
--               (the rules since the templateId upgrade, followed assets
--               only), or the record's: grant_missing, grant_renounced,
--               grant_reset_by_transfer, grant_expired, template_inactive,
--               permission_not_granted;
--   via         'grant' (the record), 'owner' (the token's owner, since the
--               upgrade), 'grantor' (an account asking about itself), or
--               NULL;
--   expiration  the record's, when via = 'grant';
--   grant_doc, token_doc, sacd_doc  the JSON parts of dimo_access.
CREATE FUNCTION dimo__sacd_check(p_chain_id bigint, p_asset bytea, p_token_id numeric, p_grantee bytea,
                                 p_permission int, p_account boolean, p_block bigint, p_now numeric,
                                 OUT has boolean, OUT reasons text[], OUT via text,
                                 OUT expiration numeric, OUT grant_doc jsonb, OUT token_doc jsonb,
                                 OUT sacd_doc jsonb)
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  v_sacd bytea := dimo__sacd_at(p_chain_id, p_block);
  v_rules_from bigint;
  v_rules boolean;
  v_followed boolean := false;
  v_kind text;
  t_kind text;
  t_owner bytea;
  g record;
  tp_status text;
  tp_block bigint;
  tp_tx bytea;
  tp_time timestamptz;
  r text[] := '{}';
BEGIN
  v_rules_from := CASE WHEN v_sacd IS NOT NULL THEN dimo__sacd_rules_block(p_chain_id, v_sacd) END;
  v_rules := coalesce(p_block >= v_rules_from, false);
  sacd_doc := jsonb_build_object('contract', dimo_hex(v_sacd), 'owner_rules', v_rules,
    'owner_rules_since_block', v_rules_from);
  v_kind := CASE WHEN p_account THEN 'account'
    WHEN dimo__connection_asset(p_chain_id, p_asset) THEN 'connection' ELSE 'token' END;
  IF NOT p_account AND dimo__followed_asset(p_chain_id, p_asset) THEN
    v_followed := true;
    SELECT x.kind, x.to_address INTO t_kind, t_owner FROM vehicle_transfers x
    WHERE x.chain_id = p_chain_id AND x.asset = p_asset AND x.token_id = p_token_id
      AND x.block_number <= p_block
    ORDER BY x.block_number DESC, x.log_index DESC LIMIT 1;
    token_doc := jsonb_build_object('minted', t_kind IS NOT NULL, 'burned', coalesce(t_kind = 'burn', false),
      'owner', CASE WHEN t_kind <> 'burn' THEN dimo_hex(t_owner) END);
  END IF;

  -- The record.
  SELECT * INTO g FROM dimo__grant_at(p_chain_id, v_sacd, p_account, p_asset, p_token_id, p_grantee,
                                      p_block);
  IF g.block_number IS NULL THEN
    r := '{grant_missing}';
  ELSIF g.op = 'renounce' THEN
    r := '{grant_renounced}';
  ELSE
    IF g.reset_block IS NOT NULL THEN
      r := r || 'grant_reset_by_transfer'::text;
    END IF;
    IF g.expiration <= p_now THEN
      r := r || 'grant_expired'::text;
    END IF;
    IF g.template_id <> 0 THEN
      SELECT x.status, x.block_number, x.tx_hash, x.block_time INTO tp_status, tp_block, tp_tx, tp_time
      FROM dimo__template_at(p_chain_id, g.template_id, p_block) x;
      IF tp_status <> 'active' THEN
        r := r || 'template_inactive'::text;
      END IF;
    END IF;
    IF NOT dimo_permission_granted(g.permissions, p_permission) THEN
      r := r || 'permission_not_granted'::text;
    END IF;
  END IF;
  IF g.block_number IS NOT NULL THEN
    grant_doc := jsonb_build_object(
      'kind', v_kind,
      'has_permission', cardinality(r) = 0,
      'renounced', g.op = 'renounce',
      'permissions', g.permissions::text,
      'permission_ids', to_jsonb(dimo_permission_ids(g.permissions)),
      'expiration', g.expiration::text,
      'expires_at', dimo_iso(dimo__unix_time(g.expiration)),
      'expired', g.expiration <= p_now,
      'template_id', g.template_id::text,
      'template', CASE WHEN g.template_id <> 0 THEN jsonb_build_object('status', tp_status,
        'block', tp_block, 'time', dimo_iso(tp_time), 'tx', dimo_hex(tp_tx)) END,
      'generation', g.generation,
      'source', g.source,
      'block', g.block_number, 'log_index', g.log_index,
      'time', dimo_iso(g.block_time), 'tx', dimo_hex(g.tx_hash),
      'reset_by_transfer', CASE WHEN g.reset_block IS NOT NULL THEN jsonb_build_object(
        'block', g.reset_block, 'log_index', g.reset_log_index,
        'time', dimo_iso(g.reset_time), 'tx', dimo_hex(g.reset_tx),
        'from', dimo_hex(g.reset_from), 'to', dimo_hex(g.reset_to)) END);
  END IF;

  -- The views since the templateId upgrade look at the token first.
  reasons := '{}';
  IF v_rules AND p_account AND p_asset = p_grantee THEN
    has := true;
    via := 'grantor';
  ELSIF v_rules AND v_followed AND t_kind IS NULL THEN
    has := false;
    reasons := '{token_not_minted}';
  ELSIF v_rules AND v_followed AND t_kind = 'burn' THEN
    has := false;
    reasons := '{token_burned}';
  ELSIF v_rules AND v_followed AND t_owner = p_grantee THEN
    has := true;
    via := 'owner';
  ELSE
    has := cardinality(r) = 0;
    reasons := r;
    IF has THEN
      via := 'grant';
      expiration := g.expiration;
    END IF;
  END IF;
END;
$$;

-- The contract's hasPermission(asset, tokenId, grantee, permission) as of
-- block p_at_block (NULL: the last indexed) at time p_at_time (NULL: that
-- block's time, as the contract sees it in that block).
CREATE FUNCTION dimo_has_permission(p_chain_id bigint, p_asset bytea, p_token_id numeric,
                                    p_grantee bytea, p_permission int, p_at_block bigint DEFAULT NULL,
                                    p_at_time timestamptz DEFAULT NULL)
RETURNS boolean
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  v_block bigint := dimo__as_of(p_chain_id, p_at_block);
BEGIN
  RETURN coalesce((dimo__sacd_check(p_chain_id, p_asset, p_token_id, p_grantee, p_permission, false,
    v_block, dimo__unix_seconds(coalesce(p_at_time, dimo_block_time(p_chain_id, v_block))))).has, false);
END;
$$;

-- The contract's hasAccountPermission(grantor, grantee, permission), as
-- dimo_has_permission.
CREATE FUNCTION dimo_has_account_permission(p_chain_id bigint, p_grantor bytea, p_grantee bytea,
                                            p_permission int, p_at_block bigint DEFAULT NULL,
                                            p_at_time timestamptz DEFAULT NULL)
RETURNS boolean
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  v_block bigint := dimo__as_of(p_chain_id, p_at_block);
BEGIN
  RETURN coalesce((dimo__sacd_check(p_chain_id, p_grantor, 0, p_grantee, p_permission, true,
    v_block, dimo__unix_seconds(coalesce(p_at_time, dimo_block_time(p_chain_id, v_block))))).has, false);
END;
$$;

-- May app p_client_id read permission p_permission of token p_token_id of
-- asset p_asset (or, with p_grantor instead of asset and token, under the
-- account grant of p_grantor)? The three conditions of DIP-5, each checked
-- and each failure named:
--   license  the app license with this client id exists and is active
--            (unknown_client_id, license_revoked, license_suspended,
--            license_understaked);
--   signer   when p_signer is given: one of the license's signers, enabled
--            and within periodValidity (signer_not_enabled, signer_expired);
--   grant    SACD's own view (dimo__sacd_check): the record in force for
--            this grantee, not reset by a transfer since, not renounced,
--            unexpired, its template (if any) active, with the permission's
--            two bits set (grant_missing, grant_renounced; else any of
--            grant_reset_by_transfer, grant_expired, template_inactive,
--            permission_not_granted); since the templateId upgrade, a
--            burned or never minted vehicle (token_burned,
--            token_not_minted) and the owner's (or the grantor's own)
--            shortcut (has_permission with via 'owner' / 'grantor').
-- State as of p_at_block (NULL: the last indexed block); expiries (grant
-- and signer) judged at p_at_time, else at that block's time when a block
-- is given, else at now(): the wall clock, as dimo_verify_license.
-- has_permission is the SACD contract's own hasPermission (or
-- hasAccountPermission) at that time. allowed_until: when an allowed
-- answer lapses by itself (the earlier of the grant's and the signer's
-- expiry; NULL when neither expires, e.g. the owner's shortcut). NULL when
-- the chain has nothing indexed. Bad arguments raise 22023.
CREATE FUNCTION dimo_access(p_chain_id bigint, p_client_id bytea, p_asset bytea, p_token_id numeric,
                            p_permission int, p_at_block bigint DEFAULT NULL,
                            p_at_time timestamptz DEFAULT NULL, p_signer bytea DEFAULT NULL,
                            p_grantor bytea DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  v_block bigint;
  v_cursor bigint;
  v_time timestamptz;
  v_now numeric;
  l dimo_license;
  l_contract bytea;
  l_token numeric;
  l_class text;
  l_role text;
  l_owner bytea;
  l_alias text;
  l_status text;
  c record;
  v_reasons text[] := '{}';
  v_enabled timestamptz;
  v_period numeric;
  v_signer jsonb;
  v_signer_expiry timestamptz;
  v_account boolean := p_grantor IS NOT NULL;
BEGIN
  IF p_client_id IS NULL OR octet_length(p_client_id) <> 20
     OR (p_signer IS NOT NULL AND octet_length(p_signer) <> 20) THEN
    PERFORM dimo__bad_arg('client_id and signer are 20-byte addresses');
  END IF;
  IF v_account THEN
    IF octet_length(p_grantor) <> 20 THEN
      PERFORM dimo__bad_arg('grantor is a 20-byte address');
    END IF;
    IF p_asset IS NOT NULL OR p_token_id IS NOT NULL THEN
      PERFORM dimo__bad_arg('grantor (an account grant) replaces asset and token_id: give one or the other');
    END IF;
  ELSE
    IF p_asset IS NULL OR octet_length(p_asset) <> 20 THEN
      PERFORM dimo__bad_arg('asset is a 20-byte address (or give grantor for an account grant)');
    END IF;
    IF p_token_id IS NULL OR p_token_id < 0 OR p_token_id <> trunc(p_token_id)
       OR p_token_id > 115792089237316195423570985008687907853269984665640564039457584007913129639935 THEN
      PERFORM dimo__bad_arg('token_id must be a whole number from 0 to 2^256 - 1');
    END IF;
  END IF;
  IF p_permission IS NULL OR p_permission NOT BETWEEN 0 AND 127 THEN
    PERFORM dimo__bad_arg(format('permission must be 0..127 (got %s)', p_permission));
  END IF;
  SELECT m.block_number INTO v_cursor FROM model_cursor m WHERE m.chain_id = p_chain_id;
  IF p_at_block IS NULL THEN
    v_block := v_cursor;
    v_time := coalesce(p_at_time, now());
  ELSE
    v_block := dimo__as_of(p_chain_id, p_at_block);
    v_time := coalesce(p_at_time, dimo_block_time(p_chain_id, v_block));
  END IF;
  IF v_block IS NULL THEN
    RETURN NULL;
  END IF;
  v_now := dimo__unix_seconds(v_time);

  -- License: found by its client id (today's keys). At the last indexed
  -- block, its status and periodValidity come from the cached document
  -- (exact whenever present: 002 rebuilds or clears it on every change that
  -- shows in it), else from the licenses view; at a past block, from
  -- history (dimo_license_at: the license may not exist yet).
  IF v_block = v_cursor THEN
    SELECT s.contract, s.token_id, s.class, s.role, s.owner, s.alias, s.doc ->> 'status',
      (s.doc ->> 'period_validity')::numeric
      INTO l_contract, l_token, l_class, l_role, l_owner, l_alias, l_status, v_period
    FROM license_state s
    WHERE s.chain_id = p_chain_id AND s.client_id = p_client_id
    ORDER BY s.contract LIMIT 1;
    IF l_contract IS NOT NULL AND l_status IS NULL THEN
      SELECT x.status INTO l_status FROM licenses x
      WHERE x.chain_id = p_chain_id AND x.contract = l_contract AND x.token_id = l_token;
    END IF;
  ELSE
    FOR l_contract, l_token IN
      SELECT s.contract, s.token_id FROM license_state s
      WHERE s.chain_id = p_chain_id AND s.client_id = p_client_id ORDER BY s.contract
    LOOP
      SELECT * INTO l FROM dimo_license_at(p_chain_id, l_contract, l_token, v_block);
      EXIT WHEN l.contract IS NOT NULL;
    END LOOP;
    SELECT l.contract, l.token_id, l.class, l.role, l.owner, l.alias, l.status
      INTO l_contract, l_token, l_class, l_role, l_owner, l_alias, l_status;
  END IF;
  IF l_contract IS NULL THEN
    v_reasons := v_reasons || 'unknown_client_id'::text;
  ELSIF l_status <> 'active' THEN
    v_reasons := v_reasons || ('license_' || l_status);
  END IF;

  -- Signer: the contract's isSigner as of the block, at v_time.
  IF p_signer IS NOT NULL THEN
    IF l_contract IS NOT NULL THEN
      SELECT CASE WHEN e.enabled THEN e.block_time END INTO v_enabled FROM signer_events e
      WHERE e.chain_id = p_chain_id AND e.contract = l_contract AND e.token_id = l_token
        AND e.signer = p_signer AND e.block_number <= v_block
      ORDER BY e.block_number DESC, e.log_index DESC LIMIT 1;
      IF v_period IS NULL THEN
        v_period := dimo_contract_param(p_chain_id, l_contract, 'period_validity', v_block);
      END IF;
    END IF;
    v_signer_expiry := dimo_signer_expiry(v_enabled, v_period);
    v_signer := jsonb_build_object('address', dimo_hex(p_signer),
      'valid', l_role IS NOT DISTINCT FROM 'app_license' AND dimo_signer_valid(v_enabled, v_period, v_time),
      'enabled_at', dimo_iso(v_enabled), 'expires_at', dimo_iso(v_signer_expiry));
    IF v_enabled IS NULL THEN
      v_reasons := v_reasons || 'signer_not_enabled'::text;
    ELSIF NOT (v_signer ->> 'valid')::boolean THEN
      v_reasons := v_reasons || 'signer_expired'::text;
    END IF;
  END IF;

  -- Grant: SACD's own view and the record behind it.
  c := dimo__sacd_check(p_chain_id, coalesce(p_grantor, p_asset), coalesce(p_token_id, 0), p_client_id,
                        p_permission, v_account, v_block, v_now);
  v_reasons := v_reasons || c.reasons;

  RETURN jsonb_build_object(
    'allowed', cardinality(v_reasons) = 0,
    'reasons', to_jsonb(v_reasons),
    'allowed_until', CASE WHEN cardinality(v_reasons) = 0 THEN dimo_iso(least(
      dimo__unix_time(c.expiration), CASE WHEN p_signer IS NOT NULL THEN v_signer_expiry END)) END,
    'client_id', dimo_hex(p_client_id),
    'asset', dimo_hex(p_asset),
    'token_id', p_token_id::text,
    'grantor', dimo_hex(p_grantor),
    'permission', p_permission,
    'has_permission', c.has,
    'via', c.via,
    'license', CASE WHEN l_contract IS NOT NULL THEN jsonb_build_object(
      'contract', dimo_hex(l_contract), 'token_id', l_token::text, 'class', l_class,
      'status', l_status, 'alias', l_alias, 'owner', dimo_hex(l_owner)) END,
    'signer', v_signer,
    'grant', c.grant_doc,
    'token', c.token_doc,
    'sacd', c.sacd_doc,
    'as_of_block', v_block,
    'as_of_time', dimo_iso(v_time)) || dimo__finality(p_chain_id, v_block);
END;
$$;

-- ---- views ----------------------------------------------------------------------------

-- The app license a grantee (a client id) belongs to, if any: the first by
-- contract, as dimo_verify_license picks it.
CREATE FUNCTION dimo__grantee_app(p_chain_id bigint, p_grantee bytea,
                                  OUT contract bytea, OUT token_id numeric, OUT alias text)
LANGUAGE sql STABLE
AS $$
  SELECT s.contract, s.token_id, s.alias FROM license_state s
  WHERE s.chain_id = p_chain_id AND s.client_id = p_grantee
  ORDER BY s.contract LIMIT 1
$$;

-- Every current grant (the last record per SACD contract, asset, token
-- and grantee) with its state now (wall clock, last indexed block):
-- superseded (its SACD contract is no longer the one in force), renounced,
-- reset (a transfer of the token since), burned (the vehicle is burned and
-- the SACD's views refuse burned tokens), expired, template_inactive (its
-- template is deactivated or missing), empty (counts, grants nothing: a
-- revocation) or active (counts, grants at least one permission).
-- kind: token (a vehicle or other ERC-721), connection, account (asset is
-- the grantor). owner: the vehicle's owner now, when its transfers are
-- indexed.
CREATE VIEW sacd_grant_status AS
WITH s AS (
  -- Per SACD contract (a few): in force now, and its owner and burn rules.
  SELECT c.chain_id, c.address AS sacd,
    c.address IS NOT DISTINCT FROM dimo__sacd_at(c.chain_id, m.block_number) AS in_force,
    coalesce(m.block_number >= dimo__sacd_rules_block(c.chain_id, c.address), false) AS rules
  FROM contracts c LEFT JOIN model_cursor m ON m.chain_id = c.chain_id
  WHERE c.role = 'sacd')
SELECT g.chain_id, g.sacd,
  CASE WHEN g.kind = 'account' THEN 'account' WHEN dimo__connection_asset(g.chain_id, g.asset)
    THEN 'connection' ELSE 'token' END AS kind,
  g.asset, g.token_id, g.grantee, a.contract AS app_contract,
  a.token_id AS app_token_id, a.alias AS app_alias, g.permissions, g.permission_ids, g.expiration,
  g.expires_at, g.template_id, t.active AS template_active, g.source, g.op, g.generation,
  g.block_number, g.log_index, g.block_time, g.tx_hash, v.owner, rs.reset AS reset_by_transfer,
  CASE WHEN NOT coalesce(s.in_force, true) THEN 'superseded'
    WHEN g.op = 'renounce' THEN 'renounced'
    WHEN rs.reset THEN 'reset'
    WHEN v.burned AND coalesce(s.rules, false) THEN 'burned'
    WHEN g.expiration <= dimo__unix_seconds(now()) THEN 'expired'
    WHEN g.template_id <> 0 AND NOT coalesce(t.active, false) THEN 'template_inactive'
    WHEN cardinality(g.permission_ids) = 0 THEN 'empty'
    ELSE 'active' END AS status
FROM sacd_grants g
LEFT JOIN s ON s.chain_id = g.chain_id AND s.sacd = g.sacd
LEFT JOIN vehicle_state v ON g.kind = 'token' AND v.chain_id = g.chain_id AND v.asset = g.asset
  AND v.token_id = g.token_id
LEFT JOIN sacd_templates t ON g.template_id <> 0 AND t.chain_id = g.chain_id AND t.template_id = g.template_id
CROSS JOIN LATERAL (SELECT coalesce((v.reset_block, v.reset_log_index) > (g.block_number, g.log_index),
                                    false) AS reset) rs
LEFT JOIN LATERAL dimo__grantee_app(g.chain_id, g.grantee) a ON true;

-- Each app's opted-in vehicles now: the token grants (not connection or
-- account grants) that count and grant at least one permission.
CREATE VIEW app_opted_in_vehicles AS
SELECT s.chain_id, s.grantee AS client_id, s.app_contract, s.app_token_id, s.app_alias, s.asset,
  s.token_id, s.owner, s.permissions, s.permission_ids, s.expires_at, s.template_id, s.source,
  s.block_time AS granted_at, s.block_number AS granted_block, s.tx_hash AS granted_tx
FROM sacd_grant_status s
WHERE s.status = 'active' AND s.kind = 'token';

-- Every legacy privilege with its state now: valid while expires >= now
-- (the vehicle contract's hasPrivilege uses >=, SACD >) and not reset by a
-- transfer of the token since it was set (a transfer bumps the token's
-- privilege version). The contract's shortcut for the owner itself is not
-- an opt-in and is left out.
CREATE VIEW vehicle_privilege_status AS
SELECT p.chain_id, p.asset, p.token_id, p.priv_id, p.holder, p.version, p.expires, p.expires_at,
  p.block_number, p.log_index, p.block_time, p.tx_hash, rs.reset AS reset_by_transfer,
  NOT rs.reset AND p.expires >= dimo__unix_seconds(now()) AS valid_now
FROM vehicle_privileges p
LEFT JOIN vehicle_state v ON v.chain_id = p.chain_id AND v.asset = p.asset AND v.token_id = p.token_id
CROSS JOIN LATERAL (SELECT coalesce((v.reset_block, v.reset_log_index) > (p.block_number, p.log_index),
                                    false) AS reset) rs;


-- Every set record as a period: from its block time until the first of
-- its replacement (the next record of the key), a reset (the first
-- transfer of the token after it) and its expiry. ended_at: the
-- replacement's or reset's time (NULL: neither yet); end_reason: expiry
-- (expires_at came first, or nothing else ended it: compare expires_at
-- with the time you care about), replaced, revoked (replaced by a record
-- granting nothing), renounced (by the grantee) or transfer. A period is
-- in force at time t when block_time < t, ended_at is NULL or >= t,
-- expires_at > t, and its template (if any) is active at t. kind: as in
-- sacd_grant_status.
CREATE VIEW sacd_grant_periods AS
SELECT r.chain_id, r.sacd,
  CASE WHEN r.kind = 'account' THEN 'account' WHEN dimo__connection_asset(r.chain_id, r.asset)
    THEN 'connection' ELSE 'token' END AS kind,
  r.asset, r.token_id, r.grantee, r.block_number, r.log_index, r.block_time,
  r.tx_hash, r.permissions, dimo_permission_ids(r.permissions) AS permission_ids, r.expiration,
  dimo__unix_time(r.expiration) AS expires_at, r.template_id, r.source, e.ended_at,
  CASE WHEN e.ended_at IS NULL OR dimo__unix_time(r.expiration) <= e.ended_at THEN 'expiry'
    WHEN e.by_record AND r.next_op = 'renounce' THEN 'renounced'
    WHEN e.by_record AND r.next_permissions_none THEN 'revoked'
    WHEN e.by_record THEN 'replaced'
    ELSE 'transfer' END AS end_reason
FROM (
  SELECT r.*,
    lead(r.block_number) OVER w AS next_block, lead(r.log_index) OVER w AS next_log_index,
    lead(r.block_time) OVER w AS next_time, lead(r.op) OVER w AS next_op,
    cardinality(dimo_permission_ids(lead(r.permissions) OVER w)) = 0 AS next_permissions_none
  FROM sacd_records r
  WINDOW w AS (PARTITION BY r.chain_id, r.sacd, r.asset, r.token_id, r.grantee
               ORDER BY r.block_number, r.log_index)
) r
LEFT JOIN LATERAL (
  SELECT t.block_number, t.log_index, t.block_time FROM vehicle_transfers t
  WHERE r.kind = 'token' AND t.chain_id = r.chain_id AND t.asset = r.asset AND t.token_id = r.token_id
    AND t.kind = 'transfer' AND (t.block_number, t.log_index) > (r.block_number, r.log_index)
  ORDER BY t.block_number, t.log_index LIMIT 1) x ON true
CROSS JOIN LATERAL (
  SELECT CASE WHEN r.next_block IS NULL AND x.block_number IS NULL THEN NULL
      WHEN x.block_number IS NULL OR (r.next_block, r.next_log_index) < (x.block_number, x.log_index)
        THEN r.next_time
      ELSE x.block_time END AS ended_at,
    r.next_block IS NOT NULL AND (x.block_number IS NULL
      OR (r.next_block, r.next_log_index) < (x.block_number, x.log_index)) AS by_record) e
WHERE r.op = 'set';

-- ---- DIP-5 opt-in metrics ----------------------------------------------------------------
-- Per grantee (an app's client id; the app license named when there is
-- one) and calendar month (UTC), from the month of the first record to the
-- month of the last indexed block. Vehicle opt-ins only: token grants
-- (connection and account grants are not opt-ins of a vehicle). At the
-- end of the month (for the current month: at the last indexed block):
--   vehicles        tokens with a grant in force to the app that grants at
--                   least one permission (opted in), its template (if any)
--                   active then, the vehicle not burned once its SACD's
--                   views refuse burned tokens;
--   owners          distinct owners of those vehicles then (vehicles whose
--                   transfers are indexed);
-- during the month:
--   new_grants      records granting at least one permission;
--   expired         grants that lapsed by expiry;
--   reset_by_transfer  grants invalidated by a transfer of the vehicle;
--   revoked         grants replaced by a record granting nothing, or
--                   renounced by the grantee.
-- (A lapse counts when the grant was in force at some moment and granted
-- at least one permission. A template's deactivation and a burn end no
-- period: they show in `vehicles` only.)
CREATE FUNCTION dimo_monthly_optin_metrics(p_chain_id bigint)
RETURNS TABLE(month date, client_id bytea, app_contract bytea, app_token_id numeric, app_alias text,
              vehicles bigint, owners bigint, new_grants bigint, expired bigint,
              reset_by_transfer bigint, revoked bigint)
LANGUAGE sql STABLE
SET jit = off
AS $$
  WITH cur AS (
    SELECT m.block_time AS t FROM model_cursor m WHERE m.chain_id = p_chain_id),
  months AS (
    -- cutoff: events before it are in; the current month ends just after
    -- the last indexed block's time.
    SELECT m::date AS month, m AT TIME ZONE 'UTC' AS month_start,
      least((m + interval '1 month') AT TIME ZONE 'UTC', cur.t + interval '1 microsecond') AS cutoff
    FROM (SELECT min(r.block_time) AS t FROM sacd_records r WHERE r.chain_id = p_chain_id) f, cur,
      generate_series(date_trunc('month', f.t AT TIME ZONE 'UTC'),
                      date_trunc('month', greatest(f.t, cur.t) AT TIME ZONE 'UTC'), interval '1 month') m),
  rules AS (
    -- Per SACD contract: when its views began to refuse burned tokens.
    SELECT s.sacd, dimo_block_time(p_chain_id, dimo__sacd_rules_block(p_chain_id, s.sacd)) AS since
    FROM (SELECT DISTINCT r.sacd FROM sacd_records r WHERE r.chain_id = p_chain_id) s),
  periods AS (
    SELECT p.*, cardinality(p.permission_ids) > 0 AS grants_some,
      p.block_time < least(p.ended_at, p.expires_at) AS in_force_ever
    FROM sacd_grant_periods p WHERE p.chain_id = p_chain_id AND p.kind = 'token'),
  grantees AS (SELECT DISTINCT p.grantee FROM periods p),
  opted AS (
    SELECT m.month, p.grantee, count(DISTINCT (p.asset, p.token_id)) AS vehicles,
      count(DISTINCT o.owner) AS owners
    FROM months m
    JOIN periods p ON p.grants_some AND p.block_time < m.cutoff
      AND (p.ended_at IS NULL OR p.ended_at >= m.cutoff) AND p.expires_at > m.cutoff
    LEFT JOIN rules ru ON ru.sacd = p.sacd
    LEFT JOIN LATERAL (
      SELECT t.kind, CASE WHEN t.kind = 'burn' THEN NULL ELSE t.to_address END AS owner
      FROM vehicle_transfers t
      WHERE t.chain_id = p_chain_id AND t.asset = p.asset AND t.token_id = p.token_id
        AND t.block_time < m.cutoff
      ORDER BY t.block_number DESC, t.log_index DESC LIMIT 1) o ON true
    LEFT JOIN LATERAL (
      SELECT e.kind FROM sacd_template_events e
      WHERE p.template_id <> 0 AND e.chain_id = p_chain_id AND e.template_id = p.template_id
        AND e.block_time < m.cutoff
      ORDER BY e.block_number DESC, e.log_index DESC LIMIT 1) tp ON true
    WHERE (p.template_id = 0 OR tp.kind IN ('created', 'activated'))
      AND NOT coalesce(o.kind = 'burn' AND ru.since < m.cutoff, false)
    GROUP BY 1, 2),
  flows AS (
    SELECT m.month, p.grantee,
      count(*) FILTER (WHERE p.block_time >= m.month_start AND p.block_time < m.cutoff) AS new_grants,
      count(*) FILTER (WHERE p.in_force_ever AND p.end_reason = 'expiry'
                         AND p.expires_at >= m.month_start AND p.expires_at < m.cutoff) AS expired,
      count(*) FILTER (WHERE p.in_force_ever AND p.end_reason = 'transfer'
                         AND p.ended_at >= m.month_start AND p.ended_at < m.cutoff) AS reset_by_transfer,
      count(*) FILTER (WHERE p.in_force_ever AND p.end_reason IN ('revoked', 'renounced')
                         AND p.ended_at >= m.month_start AND p.ended_at < m.cutoff) AS revoked
    FROM months m JOIN periods p ON p.grants_some
    GROUP BY 1, 2)
  SELECT m.month, g.grantee, a.contract, a.token_id, a.alias, coalesce(o.vehicles, 0),
    coalesce(o.owners, 0), coalesce(f.new_grants, 0), coalesce(f.expired, 0),
    coalesce(f.reset_by_transfer, 0), coalesce(f.revoked, 0)
  FROM months m CROSS JOIN grantees g
  LEFT JOIN opted o ON o.month = m.month AND o.grantee = g.grantee
  LEFT JOIN flows f ON f.month = m.month AND f.grantee = g.grantee
  LEFT JOIN LATERAL dimo__grantee_app(p_chain_id, g.grantee) a ON true
  ORDER BY m.month, g.grantee
$$;

CREATE VIEW monthly_optin_metrics AS
SELECT c.chain_id, m.* FROM cursors c CROSS JOIN LATERAL dimo_monthly_optin_metrics(c.chain_id) m;

-- A database indexed before this migration (with `sacd` or `vehicle`
-- contracts in its network file): derive everything from the logs
-- already stored.
DO $$
DECLARE
  c record;
BEGIN
  FOR c IN SELECT cu.chain_id, cu.last_block FROM cursors cu LOOP
    PERFORM dimo__access_apply(c.chain_id, 0, c.last_block);
  END LOOP;
END;
$$;
