-- 002_license_model.sql: the license, stake and slash model derived from
-- the raw logs of 001_core.sql.
--
-- Three layers, all rebuilt from `logs` alone:
--
--   history   one row per meaningful log, never updated except by
--             rollback, keyed like the log (chain_id, block_number,
--             log_index): ownership_events, alias_events, signer_events,
--             redirect_uri_events, stake_movements (with the running
--             balance after each row and the slash destination),
--             freeze_events, parameter_events;
--   current   the state after the last indexed block, for fast look-ups:
--             license_state (with each license's cached JSON document),
--             license_signers, license_redirect_uris, node_stakes, and
--             model_cursor (the block they describe, and its time);
--   config    contracts (the network file's contracts and classes, written
--             by the indexer at start), required_stakes and
--             required_stake_overrides (editable).
--
-- dimo_apply_range inserts the history rows of a batch, then recomputes the
-- current rows of every key the batch touched from the history (the last
-- event of that key). dimo_rollback_above collects the keys of the history
-- rows above the kept block, deletes those rows, and recomputes the same
-- keys from what remains (a key with no history left loses its current
-- row). Both use the same refresh functions, so a rolled-back database is
-- the database that never saw the undone blocks. Cached documents are
-- rebuilt the same way (see dimo__apply and dimo__rollback for when).
--
-- Semantics live on the role (app_license: DevLicenseDimo; node_license:
-- the 2022 Stake contract); the class (app|node|client) is a label from the
-- network file.

-- ---- helpers ---------------------------------------------------------------

-- 0x-hex of a bytea (NULL stays NULL).
CREATE FUNCTION dimo_hex(p bytea) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT '0x' || encode(p, 'hex') $$;

-- ISO-8601 UTC with whole seconds: 2025-01-01T00:03:20Z.
--
-- Volatility is declared exactly (to_char is STABLE): a scalar SQL function
-- declared more strictly than its body, or with a sub-select, is not inlined
-- and is planned again on every call. Helpers that need a sub-select are
-- written in PL/pgSQL, which keeps its plans.
CREATE FUNCTION dimo_iso(p timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT to_char(p AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') $$;

-- wei -> DIMO (18 decimals), exact: a multiplication never rounds.
CREATE FUNCTION dimo_wei_to_dimo(p numeric) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT trim_scale(p * 0.000000000000000001) $$;

-- Decoded-args parsers: NULL unless the text has exactly the decoder's
-- shape, so a log with unexpected arguments is skipped, never fatal.
-- (Character-set checks with ltrim: a regular expression costs ten times
-- as much, and these run once per log.)
CREATE FUNCTION dimo__addr(p text) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT CASE WHEN length(p) = 42 AND left(p, 2) = '0x'
    AND ltrim(substr(p, 3), '0123456789abcdef') = '' THEN decode(substr(p, 3), 'hex') END
$$;

CREATE FUNCTION dimo__uint(p text) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT CASE WHEN length(p) BETWEEN 1 AND 78 AND ltrim(p, '0123456789') = ''
    AND (length(p) < 78 OR p <= '115792089237316195423570985008687907853269984665640564039457584007913129639935')
    THEN p::numeric END
$$;

CREATE FUNCTION dimo__hexbytes(p text) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT CASE WHEN left(p, 2) = '0x' AND length(p) % 2 = 0
    AND ltrim(substr(p, 3), '0123456789abcdef') = '' THEN decode(substr(p, 3), 'hex') END
$$;

-- A decoded string argument: the decoder gives valid UTF-8 as a JSON
-- string and anything else as {"hex": "0x..."}; the latter stays as its
-- hex text.
CREATE FUNCTION dimo__str(p jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT CASE jsonb_typeof(p) WHEN 'string' THEN p #>> '{}'
    WHEN 'object' THEN p ->> 'hex' END
$$;

-- UTF-8 text of bytes, or their 0x-hex when they are not valid UTF-8 (or
-- hold a NUL, which no text column can hold). Only aliases go through here
-- (one call per alias event), so the exception block's cost does not
-- matter.
CREATE FUNCTION dimo__utf8_or_hex(p bytea) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
BEGIN
  IF p IS NULL THEN
    RETURN NULL;
  END IF;
  RETURN convert_from(p, 'UTF8');
EXCEPTION WHEN character_not_in_repertoire OR untranslatable_character OR invalid_parameter_value THEN
  RETURN '0x' || encode(p, 'hex');
END;
$$;

-- An alias as DevLicenseDimo keys it. The contract stores every alias as a
-- bytes32, zero-padded (even in the string era: developer-license
-- `_setLicenseAlias` loads the string's first word), so "abc" and "abc\0"
-- are one alias, and an all-zero bytes32 is "no alias" (the bytes32 era's
-- issues without one logged it). The key is the alias's bytes without
-- trailing zero bytes; empty = no alias.
CREATE FUNCTION dimo__alias_key(p bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT coalesce(rtrim(p, '\x00'::bytea), '\x'::bytea) $$;

-- The alias as documents show it: its UTF-8 text, or, for an alias that is
-- not text (invalid UTF-8 or a NUL byte inside), the 0x-hex of its key
-- (what a look-up accepts too, see dimo__alias_lookup_keys); NULL for no
-- alias.
CREATE FUNCTION dimo__alias_text(p_key bytea) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE WHEN octet_length(p_key) > 0 THEN dimo__utf8_or_hex(p_key) END $$;

-- The alias keys a look-up key can mean: its UTF-8 bytes (what the
-- contract's getTokenIdByLicenseAlias(string) looks up), and, when it is
-- the 0x-hex form of bytes that are not text (how documents show such an
-- alias), those bytes. Keys longer than 32 bytes match nothing, as in the
-- contract.
CREATE FUNCTION dimo__alias_lookup_keys(p_key text) RETURNS bytea[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT array_remove(ARRAY[
    CASE WHEN octet_length(p_key) BETWEEN 1 AND 32 THEN convert_to(p_key, 'UTF8') END,
    CASE WHEN p_key ~ '^0x([0-9a-fA-F]{2}){1,32}$'
      AND dimo__alias_text(dimo__alias_key(decode(substr(p_key, 3), 'hex'))) = lower(p_key)
      THEN decode(substr(p_key, 3), 'hex') END], NULL)
$$;

-- ---- configuration ---------------------------------------------------------

-- The contracts of the network file, written by the indexer at start
-- (idx_store_register_contracts -> dimo_register_contract). The initial_*
-- columns are the constructor values, which no event reports: periodValidity
-- 365 days for app-license contracts, minimum stake 100,000 DIMO for
-- node-license contracts, license cost 0. Edit them for a contract deployed
-- with other values.
CREATE TABLE contracts (
  chain_id bigint NOT NULL,
  address bytea NOT NULL CHECK (octet_length(address) = 20),
  role text NOT NULL,
  class text CHECK (class IN ('app', 'node', 'client')),
  start_block bigint NOT NULL DEFAULT 0 CHECK (start_block >= 0),
  initial_period_validity numeric(78,0) NOT NULL DEFAULT 31536000,
  initial_license_cost numeric(78,0) NOT NULL DEFAULT 0,
  initial_minimum_stake numeric(78,0) NOT NULL DEFAULT 100000000000000000000000,
  registered_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (chain_id, address)
);

-- DIP-5 stake requirements per class. `enforce`: also count a license whose
-- stake is below `amount` as understaked. Node licenses are always
-- understaked below their contract's own minimum in force (the contract's
-- rule); app and client licenses have no on-chain stake rule, so by default
-- a shortfall shows only in the trust ratio (see README, "Data model").
CREATE TABLE required_stakes (
  class text PRIMARY KEY CHECK (class IN ('app', 'node', 'client')),
  amount numeric(78,0) NOT NULL CHECK (amount >= 0),
  enforce boolean NOT NULL DEFAULT false,
  note text
);
INSERT INTO required_stakes (class, amount, enforce, note) VALUES
  ('app', 10000000000000000000000, false, 'DIP-5: 10,000 DIMO'),
  ('client', 10000000000000000000000, false, 'DIP-5: 10,000 DIMO'),
  ('node', 100000000000000000000000, false, 'DIP-5: 100,000 DIMO (or the contract minimum where higher)');

-- Per-license requirement set by the licensing team (DIP-5: "may raise a
-- node's requirement"); replaces the class amount for that license.
CREATE TABLE required_stake_overrides (
  chain_id bigint NOT NULL,
  contract bytea NOT NULL CHECK (octet_length(contract) = 20),
  token_id numeric(78,0) NOT NULL,
  amount numeric(78,0) NOT NULL CHECK (amount >= 0),
  note text,
  PRIMARY KEY (chain_id, contract, token_id)
);

-- ---- history ----------------------------------------------------------------
-- Common columns: the log's position (chain_id, block_number, log_index:
-- the key), its transaction and block time, the emitting contract and its
-- role. Rows are inserted by dimo_apply_range and deleted only by
-- dimo_rollback_above.

-- Who holds a license: app `Issued` and node `LicenseMinted` (kind issue),
-- ERC-721 Transfer from 0x0 (mint), to 0x0 (revoke: the burn; for nodes the
-- only revocation signal, the buggy LicenseRevoked is ignored here) and
-- between owners (transfer). owner = the holder after the event, for
-- revoke the last holder.
CREATE TABLE ownership_events (
  chain_id bigint NOT NULL,
  block_number bigint NOT NULL,
  log_index int NOT NULL,
  tx_hash bytea NOT NULL,
  block_time timestamptz NOT NULL,
  contract bytea NOT NULL,
  role text NOT NULL,
  token_id numeric(78,0) NOT NULL,
  kind text NOT NULL CHECK (kind IN ('issue', 'mint', 'transfer', 'revoke')),
  owner bytea NOT NULL,
  previous_owner bytea,
  client_id bytea,
  PRIMARY KEY (chain_id, block_number, log_index)
);
CREATE INDEX ownership_events_license ON ownership_events (chain_id, contract, token_id, block_number, log_index);

-- A license's alias over time: one row per change of the contract's
-- token -> alias mapping. source 'event': LicenseAliasSet, both variants
-- (alias_raw: the exact bytes logged; an all-zero bytes32 or an empty
-- string sets "no alias"). source 'revoke': the burn Transfer of an app
-- license, keyed like that log: DIMO's `revoke` deletes the alias in both
-- directions with no LicenseAliasSet, so the alias ends (alias_key empty)
-- and is free for another license. alias_key: dimo__alias_key (empty = no
-- alias); alias: dimo__alias_text (NULL = no alias). Setting an alias
-- frees the license's previous one: the holder of a key at a block is the
-- license whose last row by then has that key (the contract refuses to set
-- a key another license holds, so there is at most one).
CREATE TABLE alias_events (
  chain_id bigint NOT NULL,
  block_number bigint NOT NULL,
  log_index int NOT NULL,
  tx_hash bytea NOT NULL,
  block_time timestamptz NOT NULL,
  contract bytea NOT NULL,
  token_id numeric(78,0) NOT NULL,
  source text NOT NULL CHECK (source IN ('event', 'revoke')),
  alias_key bytea NOT NULL,
  alias text,
  alias_raw bytea,
  PRIMARY KEY (chain_id, block_number, log_index)
);
CREATE INDEX alias_events_license ON alias_events (chain_id, contract, token_id, block_number, log_index);
CREATE INDEX alias_events_key ON alias_events (chain_id, alias_key) WHERE octet_length(alias_key) > 0;

-- Every SignerEnabled (enabled) and SignerDisabled (not enabled), kept.
CREATE TABLE signer_events (
  chain_id bigint NOT NULL,
  block_number bigint NOT NULL,
  log_index int NOT NULL,
  tx_hash bytea NOT NULL,
  block_time timestamptz NOT NULL,
  contract bytea NOT NULL,
  token_id numeric(78,0) NOT NULL,
  signer bytea NOT NULL,
  enabled boolean NOT NULL,
  PRIMARY KEY (chain_id, block_number, log_index)
);
CREATE INDEX signer_events_key ON signer_events (chain_id, contract, token_id, signer, block_number, log_index);

-- RedirectUriEnabled / RedirectUriDisabled. uri_key = sha256 of the URI,
-- for indexes (a URI may be longer than a btree entry allows).
CREATE TABLE redirect_uri_events (
  chain_id bigint NOT NULL,
  block_number bigint NOT NULL,
  log_index int NOT NULL,
  tx_hash bytea NOT NULL,
  block_time timestamptz NOT NULL,
  contract bytea NOT NULL,
  token_id numeric(78,0) NOT NULL,
  uri text NOT NULL,
  uri_key bytea NOT NULL,
  enabled boolean NOT NULL,
  PRIMARY KEY (chain_id, block_number, log_index)
);
CREATE INDEX redirect_uri_events_key ON redirect_uri_events (chain_id, contract, token_id, uri_key, block_number, log_index);

-- Stake movements. App licenses: per token (token_id set, holder NULL):
-- deposit, withdraw, forfeit_burn, forfeit_reallocate (to_address = the
-- destination), forfeit (destination unknown: no DIMO token Transfer out of
-- the contract matched in the transaction). Node licenses: per address
-- (holder set, token_id NULL): stake, unstake, emergency_withdrawal (stray
-- tokens returned; delta 0). delta: signed change; balance_after: the
-- running balance of that token or address after the row. owner: the
-- license owner at the time (app rows).
CREATE TABLE stake_movements (
  chain_id bigint NOT NULL,
  block_number bigint NOT NULL,
  log_index int NOT NULL,
  tx_hash bytea NOT NULL,
  block_time timestamptz NOT NULL,
  contract bytea NOT NULL,
  role text NOT NULL,
  token_id numeric(78,0),
  holder bytea,
  kind text NOT NULL CHECK (kind IN ('deposit', 'withdraw', 'forfeit_burn', 'forfeit_reallocate',
                                     'forfeit', 'stake', 'unstake', 'emergency_withdrawal')),
  amount numeric(78,0) NOT NULL,
  delta numeric NOT NULL,
  balance_after numeric NOT NULL,
  from_address bytea,
  to_address bytea,
  owner bytea,
  PRIMARY KEY (chain_id, block_number, log_index),
  CHECK ((token_id IS NULL) <> (holder IS NULL))
);
CREATE INDEX stake_movements_license ON stake_movements (chain_id, contract, token_id, block_number, log_index)
  WHERE token_id IS NOT NULL;
CREATE INDEX stake_movements_holder ON stake_movements (chain_id, contract, holder, block_number, log_index)
  WHERE holder IS NOT NULL;
CREATE INDEX stake_movements_slashes ON stake_movements (chain_id, block_number, log_index)
  WHERE kind IN ('forfeit_burn', 'forfeit_reallocate', 'forfeit');

-- AssetFreezeUpdate: frozen = suspended; amount = the stake at that moment.
CREATE TABLE freeze_events (
  chain_id bigint NOT NULL,
  block_number bigint NOT NULL,
  log_index int NOT NULL,
  tx_hash bytea NOT NULL,
  block_time timestamptz NOT NULL,
  contract bytea NOT NULL,
  token_id numeric(78,0) NOT NULL,
  frozen boolean NOT NULL,
  amount numeric(78,0),
  PRIMARY KEY (chain_id, block_number, log_index)
);
CREATE INDEX freeze_events_license ON freeze_events (chain_id, contract, token_id, block_number, log_index);

-- Contract-wide parameters: UpdatePeriodValidity (period_validity,
-- seconds), UpdateLicenseCost (license_cost, wei), StakeAmountAdjusted
-- (minimum_stake, wei).
CREATE TABLE parameter_events (
  chain_id bigint NOT NULL,
  block_number bigint NOT NULL,
  log_index int NOT NULL,
  tx_hash bytea NOT NULL,
  block_time timestamptz NOT NULL,
  contract bytea NOT NULL,
  parameter text NOT NULL CHECK (parameter IN ('period_validity', 'license_cost', 'minimum_stake')),
  value numeric(78,0) NOT NULL,
  PRIMARY KEY (chain_id, block_number, log_index)
);
CREATE INDEX parameter_events_key ON parameter_events (chain_id, contract, parameter, block_number, log_index);

-- ---- current state ----------------------------------------------------------

-- One row per license ever issued (revoked ones included). staked: the
-- license's own stake (app_license); NULL for node licenses, whose stake is
-- their owner's (node_stakes). The `licenses` view adds stake, requirement,
-- trust ratio and status.
CREATE TABLE license_state (
  chain_id bigint NOT NULL,
  contract bytea NOT NULL,
  token_id numeric(78,0) NOT NULL,
  role text NOT NULL,
  class text NOT NULL,
  owner bytea NOT NULL,
  client_id bytea,
  alias text,
  alias_key bytea,
  issued_block bigint,
  issued_log_index int,
  issued_time timestamptz,
  issued_tx bytea,
  revoked boolean NOT NULL,
  revoked_block bigint,
  revoked_time timestamptz,
  revoked_tx bytea,
  frozen boolean NOT NULL,
  staked numeric,
  -- The license document (shared/license-json.md) as of doc_block, signer
  -- validity judged at doc_time, without as_of_block / as_of_time; exact at
  -- the cursor (apply and rollback rebuild it, or mark it stale with doc
  -- NULL, whenever anything it shows changes) until the cursor's time
  -- passes doc_expires, the earliest expiry of a signer valid at doc_time
  -- (apply rebuilds it then too). A cache: readers build a stale or
  -- expired document on the fly.
  doc jsonb,
  doc_block bigint,
  doc_time timestamptz,
  doc_expires timestamptz,
  PRIMARY KEY (chain_id, contract, token_id)
);
CREATE INDEX license_state_client_id ON license_state (chain_id, client_id) WHERE client_id IS NOT NULL;
CREATE INDEX license_state_owner ON license_state (chain_id, owner);
CREATE INDEX license_state_token ON license_state (chain_id, token_id);
-- hash: no length limit on the key (aliases are 32 bytes on chain, but an
-- index must not be what refuses a batch).
CREATE INDEX license_state_alias ON license_state USING hash (alias_key);
CREATE INDEX license_state_doc_expires ON license_state (chain_id, doc_expires) WHERE doc_expires IS NOT NULL;
CREATE INDEX license_state_doc_block ON license_state (chain_id, doc_block);
CREATE INDEX license_state_stale_docs ON license_state (chain_id) WHERE doc IS NULL;

-- The block the derived tables describe (the cursor once the batch
-- commits) and its time: what "now" means for current answers.
CREATE TABLE model_cursor (
  chain_id bigint PRIMARY KEY,
  block_number bigint NOT NULL,
  block_time timestamptz
);

-- Every signer with an event per license; enabled_at NULL = disabled now;
-- first_enabled_block NULL = never enabled (only SignerDisabled seen).
CREATE TABLE license_signers (
  chain_id bigint NOT NULL,
  contract bytea NOT NULL,
  token_id numeric(78,0) NOT NULL,
  signer bytea NOT NULL,
  enabled_at timestamptz,
  first_enabled_block bigint,
  changed_block bigint NOT NULL,
  changed_log_index int NOT NULL,
  PRIMARY KEY (chain_id, contract, token_id, signer)
);

-- Every redirect URI ever set per license, with its state now.
CREATE TABLE license_redirect_uris (
  chain_id bigint NOT NULL,
  contract bytea NOT NULL,
  token_id numeric(78,0) NOT NULL,
  uri_key bytea NOT NULL,
  uri text NOT NULL,
  enabled boolean NOT NULL,
  changed_block bigint NOT NULL,
  PRIMARY KEY (chain_id, contract, token_id, uri_key)
);

-- Node-license stake per address now.
CREATE TABLE node_stakes (
  chain_id bigint NOT NULL,
  contract bytea NOT NULL,
  holder bytea NOT NULL,
  staked numeric NOT NULL,
  changed_block bigint NOT NULL,
  PRIMARY KEY (chain_id, contract, holder)
);

-- ---- refresh: current rows from history --------------------------------------

CREATE TYPE dimo_license_key AS (contract bytea, token_id numeric);
CREATE TYPE dimo_signer_key AS (contract bytea, token_id numeric, signer bytea);
CREATE TYPE dimo_uri_key AS (contract bytea, token_id numeric, uri_key bytea);
CREATE TYPE dimo_holder_key AS (contract bytea, holder bytea);

-- The class label of a contract: the network file's, else by role.
CREATE FUNCTION dimo__class(p_chain_id bigint, p_contract bytea, p_role text) RETURNS text
LANGUAGE plpgsql STABLE
AS $$
BEGIN
  RETURN coalesce((SELECT c.class FROM contracts c WHERE c.chain_id = p_chain_id AND c.address = p_contract),
                  CASE p_role WHEN 'node_license' THEN 'node' ELSE 'app' END);
END;
$$;

CREATE FUNCTION dimo__refresh_licenses(p_chain_id bigint, p_keys dimo_license_key[]) RETURNS void
LANGUAGE sql
AS $$
  DELETE FROM license_state s
  USING unnest(p_keys) k
  WHERE s.chain_id = p_chain_id AND s.contract = k.contract AND s.token_id = k.token_id
    AND NOT EXISTS (SELECT 1 FROM ownership_events o
                    WHERE o.chain_id = p_chain_id AND o.contract = k.contract AND o.token_id = k.token_id);

  INSERT INTO license_state AS s (chain_id, contract, token_id, role, class, owner, client_id, alias,
    alias_key, issued_block, issued_log_index, issued_time, issued_tx, revoked, revoked_block,
    revoked_time, revoked_tx, frozen, staked)
  SELECT p_chain_id, k.contract, k.token_id, lst.role, dimo__class(p_chain_id, k.contract, lst.role),
    lst.owner, cid.client_id, al.alias, nullif(al.alias_key, '\x'::bytea),
    iss.block_number, iss.log_index, iss.block_time, iss.tx_hash,
    lst.kind = 'revoke',
    CASE WHEN lst.kind = 'revoke' THEN lst.block_number END,
    CASE WHEN lst.kind = 'revoke' THEN lst.block_time END,
    CASE WHEN lst.kind = 'revoke' THEN lst.tx_hash END,
    coalesce(fz.frozen, false),
    CASE WHEN lst.role = 'node_license' THEN NULL ELSE coalesce(sk.balance_after, 0) END
  FROM (SELECT DISTINCT u.contract, u.token_id FROM unnest(p_keys) u) k
  JOIN LATERAL (
    SELECT o.* FROM ownership_events o
    WHERE o.chain_id = p_chain_id AND o.contract = k.contract AND o.token_id = k.token_id
    ORDER BY o.block_number DESC, o.log_index DESC LIMIT 1) lst ON true
  LEFT JOIN LATERAL (
    SELECT o.* FROM ownership_events o
    WHERE o.chain_id = p_chain_id AND o.contract = k.contract AND o.token_id = k.token_id
      AND o.kind IN ('issue', 'mint')
    ORDER BY o.block_number, o.log_index LIMIT 1) iss ON true
  LEFT JOIN LATERAL (
    SELECT o.client_id FROM ownership_events o
    WHERE o.chain_id = p_chain_id AND o.contract = k.contract AND o.token_id = k.token_id
      AND o.client_id IS NOT NULL
    ORDER BY o.block_number, o.log_index LIMIT 1) cid ON true
  LEFT JOIN LATERAL (
    SELECT a.alias, a.alias_key FROM alias_events a
    WHERE a.chain_id = p_chain_id AND a.contract = k.contract AND a.token_id = k.token_id
    ORDER BY a.block_number DESC, a.log_index DESC LIMIT 1) al ON true
  LEFT JOIN LATERAL (
    SELECT f.frozen FROM freeze_events f
    WHERE f.chain_id = p_chain_id AND f.contract = k.contract AND f.token_id = k.token_id
    ORDER BY f.block_number DESC, f.log_index DESC LIMIT 1) fz ON true
  LEFT JOIN LATERAL (
    SELECT m.balance_after FROM stake_movements m
    WHERE m.chain_id = p_chain_id AND m.contract = k.contract AND m.token_id = k.token_id
    ORDER BY m.block_number DESC, m.log_index DESC LIMIT 1) sk ON true
  ON CONFLICT (chain_id, contract, token_id) DO UPDATE SET
    role = EXCLUDED.role, class = EXCLUDED.class, owner = EXCLUDED.owner,
    client_id = EXCLUDED.client_id, alias = EXCLUDED.alias, alias_key = EXCLUDED.alias_key,
    issued_block = EXCLUDED.issued_block, issued_log_index = EXCLUDED.issued_log_index,
    issued_time = EXCLUDED.issued_time, issued_tx = EXCLUDED.issued_tx,
    revoked = EXCLUDED.revoked, revoked_block = EXCLUDED.revoked_block,
    revoked_time = EXCLUDED.revoked_time, revoked_tx = EXCLUDED.revoked_tx,
    frozen = EXCLUDED.frozen, staked = EXCLUDED.staked;
$$;

CREATE FUNCTION dimo__refresh_signers(p_chain_id bigint, p_keys dimo_signer_key[]) RETURNS void
LANGUAGE sql
AS $$
  DELETE FROM license_signers s
  USING unnest(p_keys) k
  WHERE s.chain_id = p_chain_id AND s.contract = k.contract AND s.token_id = k.token_id
    AND s.signer = k.signer
    AND NOT EXISTS (SELECT 1 FROM signer_events e
                    WHERE e.chain_id = p_chain_id AND e.contract = k.contract
                      AND e.token_id = k.token_id AND e.signer = k.signer);

  INSERT INTO license_signers AS s (chain_id, contract, token_id, signer, enabled_at,
    first_enabled_block, changed_block, changed_log_index)
  SELECT p_chain_id, k.contract, k.token_id, k.signer,
    CASE WHEN e.enabled THEN e.block_time END, fe.block_number, e.block_number, e.log_index
  FROM (SELECT DISTINCT u.contract, u.token_id, u.signer FROM unnest(p_keys) u) k
  JOIN LATERAL (
    SELECT e.* FROM signer_events e
    WHERE e.chain_id = p_chain_id AND e.contract = k.contract AND e.token_id = k.token_id
      AND e.signer = k.signer
    ORDER BY e.block_number DESC, e.log_index DESC LIMIT 1) e ON true
  LEFT JOIN LATERAL (
    SELECT f.block_number FROM signer_events f
    WHERE f.chain_id = p_chain_id AND f.contract = k.contract AND f.token_id = k.token_id
      AND f.signer = k.signer AND f.enabled
    ORDER BY f.block_number, f.log_index LIMIT 1) fe ON true
  ON CONFLICT (chain_id, contract, token_id, signer) DO UPDATE SET
    enabled_at = EXCLUDED.enabled_at, first_enabled_block = EXCLUDED.first_enabled_block,
    changed_block = EXCLUDED.changed_block, changed_log_index = EXCLUDED.changed_log_index;
$$;

CREATE FUNCTION dimo__refresh_uris(p_chain_id bigint, p_keys dimo_uri_key[]) RETURNS void
LANGUAGE sql
AS $$
  DELETE FROM license_redirect_uris s
  USING unnest(p_keys) k
  WHERE s.chain_id = p_chain_id AND s.contract = k.contract AND s.token_id = k.token_id
    AND s.uri_key = k.uri_key
    AND NOT EXISTS (SELECT 1 FROM redirect_uri_events e
                    WHERE e.chain_id = p_chain_id AND e.contract = k.contract
                      AND e.token_id = k.token_id AND e.uri_key = k.uri_key);

  INSERT INTO license_redirect_uris AS s (chain_id, contract, token_id, uri_key, uri, enabled,
    changed_block)
  SELECT p_chain_id, k.contract, k.token_id, k.uri_key, e.uri, e.enabled, e.block_number
  FROM (SELECT DISTINCT u.contract, u.token_id, u.uri_key FROM unnest(p_keys) u) k
  JOIN LATERAL (
    SELECT e.* FROM redirect_uri_events e
    WHERE e.chain_id = p_chain_id AND e.contract = k.contract AND e.token_id = k.token_id
      AND e.uri_key = k.uri_key
    ORDER BY e.block_number DESC, e.log_index DESC LIMIT 1) e ON true
  ON CONFLICT (chain_id, contract, token_id, uri_key) DO UPDATE SET
    uri = EXCLUDED.uri, enabled = EXCLUDED.enabled, changed_block = EXCLUDED.changed_block;
$$;

CREATE FUNCTION dimo__refresh_node_stakes(p_chain_id bigint, p_keys dimo_holder_key[]) RETURNS void
LANGUAGE sql
AS $$
  DELETE FROM node_stakes s
  USING unnest(p_keys) k
  WHERE s.chain_id = p_chain_id AND s.contract = k.contract AND s.holder = k.holder
    AND NOT EXISTS (SELECT 1 FROM stake_movements m
                    WHERE m.chain_id = p_chain_id AND m.contract = k.contract AND m.holder = k.holder);

  INSERT INTO node_stakes AS s (chain_id, contract, holder, staked, changed_block)
  SELECT p_chain_id, k.contract, k.holder, m.balance_after, m.block_number
  FROM (SELECT DISTINCT u.contract, u.holder FROM unnest(p_keys) u) k
  JOIN LATERAL (
    SELECT m.balance_after, m.block_number FROM stake_movements m
    WHERE m.chain_id = p_chain_id AND m.contract = k.contract AND m.holder = k.holder
    ORDER BY m.block_number DESC, m.log_index DESC LIMIT 1) m ON true
  ON CONFLICT (chain_id, contract, holder) DO UPDATE SET
    staked = EXCLUDED.staked, changed_block = EXCLUDED.changed_block;
$$;

-- Recomputes every current row whose history has rows in blocks
-- p_from_block..p_to_block (apply: the batch just inserted).
CREATE FUNCTION dimo__refresh_range(p_chain_id bigint, p_from_block bigint, p_to_block bigint)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
  PERFORM dimo__refresh_licenses(p_chain_id, ARRAY(
    SELECT DISTINCT ROW(x.contract, x.token_id)::dimo_license_key FROM (
      SELECT o.contract, o.token_id FROM ownership_events o
      WHERE o.chain_id = p_chain_id AND o.block_number BETWEEN p_from_block AND p_to_block
      UNION ALL
      SELECT a.contract, a.token_id FROM alias_events a
      WHERE a.chain_id = p_chain_id AND a.block_number BETWEEN p_from_block AND p_to_block
      UNION ALL
      SELECT f.contract, f.token_id FROM freeze_events f
      WHERE f.chain_id = p_chain_id AND f.block_number BETWEEN p_from_block AND p_to_block
      UNION ALL
      SELECT m.contract, m.token_id FROM stake_movements m
      WHERE m.chain_id = p_chain_id AND m.block_number BETWEEN p_from_block AND p_to_block
        AND m.token_id IS NOT NULL) x));
  PERFORM dimo__refresh_signers(p_chain_id, ARRAY(
    SELECT DISTINCT ROW(e.contract, e.token_id, e.signer)::dimo_signer_key FROM signer_events e
    WHERE e.chain_id = p_chain_id AND e.block_number BETWEEN p_from_block AND p_to_block));
  PERFORM dimo__refresh_uris(p_chain_id, ARRAY(
    SELECT DISTINCT ROW(e.contract, e.token_id, e.uri_key)::dimo_uri_key FROM redirect_uri_events e
    WHERE e.chain_id = p_chain_id AND e.block_number BETWEEN p_from_block AND p_to_block));
  PERFORM dimo__refresh_node_stakes(p_chain_id, ARRAY(
    SELECT DISTINCT ROW(m.contract, m.holder)::dimo_holder_key FROM stake_movements m
    WHERE m.chain_id = p_chain_id AND m.block_number BETWEEN p_from_block AND p_to_block
      AND m.holder IS NOT NULL));
END;
$$;

-- ---- the pieces of a license's answer ----------------------------------------------

-- trust ratio = staked / required, truncated to 4 decimals ("1.0000");
-- NULL when nothing is required.
CREATE FUNCTION dimo_trust_ratio(p_staked numeric, p_required numeric) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE WHEN p_required > 0 THEN trunc(coalesce(p_staked, 0) / p_required, 4)::text END $$;

-- The contract's isSigner: enabled and now - enabledAt <= periodValidity
-- (whole seconds, like block.timestamp).
CREATE FUNCTION dimo_signer_valid(p_enabled_at timestamptz, p_period numeric, p_at timestamptz)
RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  SELECT coalesce(p_enabled_at IS NOT NULL
    AND floor(extract(epoch FROM p_at)) - extract(epoch FROM p_enabled_at) <= p_period, false)
$$;

-- getSignerExpiration: enabledAt + periodValidity (capped at the end of
-- year 9999, the largest time a timestamptz answer carries here).
CREATE FUNCTION dimo_signer_expiry(p_enabled_at timestamptz, p_period numeric) RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  SELECT CASE WHEN p_enabled_at IS NULL OR p_period IS NULL THEN NULL
    WHEN extract(epoch FROM p_enabled_at) + p_period > 253402300799
      THEN '9999-12-31 23:59:59+00'::timestamptz
    ELSE p_enabled_at + p_period::float8 * interval '1 second' END
$$;

-- A contract parameter in force after block p_at_block (NULL: the last
-- indexed) and before time p_before (NULL: any): the last event, else the
-- constructor value recorded in contracts, else the built-in default.
CREATE FUNCTION dimo_contract_param(p_chain_id bigint, p_contract bytea, p_parameter text,
                                    p_at_block bigint DEFAULT NULL, p_before timestamptz DEFAULT NULL)
RETURNS numeric
LANGUAGE plpgsql STABLE
AS $$
BEGIN
  RETURN coalesce(
    (SELECT e.value FROM parameter_events e
     WHERE e.chain_id = p_chain_id AND e.contract = p_contract AND e.parameter = p_parameter
       AND e.block_number <= coalesce(p_at_block, 9223372036854775807)
       AND e.block_time < coalesce(p_before, 'infinity')
     ORDER BY e.block_number DESC, e.log_index DESC LIMIT 1),
    (SELECT CASE p_parameter WHEN 'period_validity' THEN c.initial_period_validity
       WHEN 'license_cost' THEN c.initial_license_cost ELSE c.initial_minimum_stake END
     FROM contracts c WHERE c.chain_id = p_chain_id AND c.address = p_contract),
    CASE p_parameter WHEN 'period_validity' THEN 31536000 WHEN 'license_cost' THEN 0
      WHEN 'minimum_stake' THEN 100000000000000000000000 END);
END;
$$;

-- Required stake of one license: its override, else its class's amount;
-- for node licenses at least the contract minimum in force.
CREATE FUNCTION dimo_required_stake(p_chain_id bigint, p_contract bytea, p_token_id numeric,
                                    p_class text, p_minimum numeric)
RETURNS numeric
LANGUAGE plpgsql STABLE
AS $$
BEGIN
  RETURN greatest(coalesce(
    (SELECT o.amount FROM required_stake_overrides o
     WHERE o.chain_id = p_chain_id AND o.contract = p_contract AND o.token_id = p_token_id),
    (SELECT r.amount FROM required_stakes r WHERE r.class = p_class)), p_minimum);
END;
$$;

-- revoked > suspended (frozen) > understaked > active. Node licenses are
-- understaked below the contract minimum in force; any class also below
-- its required stake when required_stakes.enforce says so.
CREATE FUNCTION dimo_license_status(p_revoked boolean, p_frozen boolean, p_role text,
                                    p_staked numeric, p_minimum numeric, p_required numeric,
                                    p_enforce boolean)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT CASE WHEN p_revoked THEN 'revoked'
    WHEN p_frozen THEN 'suspended'
    WHEN p_role = 'node_license' AND coalesce(p_staked, 0) < p_minimum THEN 'understaked'
    WHEN p_enforce AND coalesce(p_staked, 0) < p_required THEN 'understaked'
    ELSE 'active' END
$$;

-- ---- one license, now or at a block ----------------------------------------------

-- The shape of a license everywhere below (the `licenses` view has exactly
-- these columns).
CREATE TYPE dimo_license AS (
  chain_id bigint,
  contract bytea,
  token_id numeric,
  class text,
  role text,
  owner bytea,
  client_id bytea,
  alias text,
  issued_block bigint,
  issued_time timestamptz,
  issued_tx bytea,
  revoked boolean,
  revoked_block bigint,
  revoked_time timestamptz,
  revoked_tx bytea,
  frozen boolean,
  staked numeric,
  staked_dimo numeric,
  minimum_stake numeric,
  required_stake numeric,
  required_stake_dimo numeric,
  trust_ratio text,
  status text,
  as_of_block bigint
);

-- Completes a license from its stored facts: requirement, trust ratio,
-- status. SETOF (one row) so that the planner inlines it.
CREATE FUNCTION dimo__license_row(p_chain_id bigint, p_contract bytea, p_token_id numeric,
  p_class text, p_role text, p_owner bytea, p_client_id bytea, p_alias text, p_issued_block bigint,
  p_issued_time timestamptz, p_issued_tx bytea, p_revoked boolean, p_revoked_block bigint,
  p_revoked_time timestamptz, p_revoked_tx bytea, p_frozen boolean, p_staked numeric,
  p_minimum numeric, p_as_of_block bigint)
RETURNS SETOF dimo_license
LANGUAGE sql STABLE
AS $$
  SELECT p_chain_id, p_contract, p_token_id, p_class, p_role, p_owner, p_client_id, p_alias,
    p_issued_block, p_issued_time, p_issued_tx, p_revoked, p_revoked_block, p_revoked_time,
    p_revoked_tx, p_frozen, p_staked, dimo_wei_to_dimo(p_staked), p_minimum, r.required,
    dimo_wei_to_dimo(r.required), dimo_trust_ratio(p_staked, r.required),
    dimo_license_status(p_revoked, p_frozen, p_role, p_staked, p_minimum, r.required,
      coalesce((SELECT rs.enforce FROM required_stakes rs WHERE rs.class = p_class), false)),
    p_as_of_block
  FROM (SELECT dimo_required_stake(p_chain_id, p_contract, p_token_id, p_class, p_minimum) AS required) r
$$;

-- Every license now (after the last indexed block): one row each, revoked
-- ones included. staked: the license's stake (apps) or its owner's
-- (nodes); amounts in wei with *_dimo twins.
-- (No sub-select in the arguments of dimo__license_row: that would keep
-- the planner from inlining it, and a look-up by key would compute every
-- license.)
CREATE VIEW licenses AS
SELECT f.*
FROM license_state s
LEFT JOIN model_cursor cur ON cur.chain_id = s.chain_id
LEFT JOIN node_stakes n ON s.role = 'node_license' AND n.chain_id = s.chain_id
  AND n.contract = s.contract AND n.holder = s.owner
CROSS JOIN LATERAL dimo__license_row(s.chain_id, s.contract, s.token_id, s.class, s.role, s.owner,
  s.client_id, s.alias, s.issued_block, s.issued_time, s.issued_tx, s.revoked, s.revoked_block,
  s.revoked_time, s.revoked_tx, s.frozen,
  CASE WHEN s.role = 'node_license' THEN coalesce(n.staked, 0) ELSE s.staked END,
  CASE WHEN s.role = 'node_license' THEN dimo_contract_param(s.chain_id, s.contract, 'minimum_stake') END,
  cur.block_number) f;

-- A license as of block p_at_block (and, when p_before is given, before
-- that time: the monthly views), computed from history alone; no row when
-- it did not exist yet.
CREATE FUNCTION dimo_license_at(p_chain_id bigint, p_contract bytea, p_token_id numeric,
                                p_at_block bigint, p_before timestamptz DEFAULT NULL)
RETURNS SETOF dimo_license
LANGUAGE sql STABLE
AS $$
  SELECT f.*
  FROM (
    SELECT o.* FROM ownership_events o
    WHERE o.chain_id = p_chain_id AND o.contract = p_contract AND o.token_id = p_token_id
      AND o.block_number <= coalesce(p_at_block, 9223372036854775807)
      AND o.block_time < coalesce(p_before, 'infinity')
    ORDER BY o.block_number DESC, o.log_index DESC LIMIT 1) lst
  LEFT JOIN LATERAL (
    SELECT o.* FROM ownership_events o
    WHERE o.chain_id = p_chain_id AND o.contract = p_contract AND o.token_id = p_token_id
      AND o.kind IN ('issue', 'mint')
      AND (o.block_number, o.log_index) <= (lst.block_number, lst.log_index)
    ORDER BY o.block_number, o.log_index LIMIT 1) iss ON true
  LEFT JOIN LATERAL (
    SELECT o.client_id FROM ownership_events o
    WHERE o.chain_id = p_chain_id AND o.contract = p_contract AND o.token_id = p_token_id
      AND o.client_id IS NOT NULL
      AND (o.block_number, o.log_index) <= (lst.block_number, lst.log_index)
    ORDER BY o.block_number, o.log_index LIMIT 1) cid ON true
  LEFT JOIN LATERAL (
    SELECT a.alias FROM alias_events a
    WHERE a.chain_id = p_chain_id AND a.contract = p_contract AND a.token_id = p_token_id
      AND a.block_number <= coalesce(p_at_block, 9223372036854775807)
      AND a.block_time < coalesce(p_before, 'infinity')
    ORDER BY a.block_number DESC, a.log_index DESC LIMIT 1) al ON true
  LEFT JOIN LATERAL (
    SELECT fe.frozen FROM freeze_events fe
    WHERE fe.chain_id = p_chain_id AND fe.contract = p_contract AND fe.token_id = p_token_id
      AND fe.block_number <= coalesce(p_at_block, 9223372036854775807)
      AND fe.block_time < coalesce(p_before, 'infinity')
    ORDER BY fe.block_number DESC, fe.log_index DESC LIMIT 1) fz ON true
  LEFT JOIN LATERAL (
    SELECT m.balance_after FROM stake_movements m
    WHERE lst.role <> 'node_license' AND m.chain_id = p_chain_id AND m.contract = p_contract
      AND m.token_id = p_token_id
      AND m.block_number <= coalesce(p_at_block, 9223372036854775807)
      AND m.block_time < coalesce(p_before, 'infinity')
    ORDER BY m.block_number DESC, m.log_index DESC LIMIT 1) ska ON true
  LEFT JOIN LATERAL (
    SELECT m.balance_after FROM stake_movements m
    WHERE lst.role = 'node_license' AND m.chain_id = p_chain_id AND m.contract = p_contract
      AND m.holder = lst.owner
      AND m.block_number <= coalesce(p_at_block, 9223372036854775807)
      AND m.block_time < coalesce(p_before, 'infinity')
    ORDER BY m.block_number DESC, m.log_index DESC LIMIT 1) skn ON true
  CROSS JOIN LATERAL dimo__license_row(p_chain_id, p_contract, p_token_id,
    dimo__class(p_chain_id, p_contract, lst.role), lst.role, lst.owner, cid.client_id,
    al.alias, iss.block_number, iss.block_time, iss.tx_hash, lst.kind = 'revoke',
    CASE WHEN lst.kind = 'revoke' THEN lst.block_number END,
    CASE WHEN lst.kind = 'revoke' THEN lst.block_time END,
    CASE WHEN lst.kind = 'revoke' THEN lst.tx_hash END,
    coalesce(fz.frozen, false), coalesce(ska.balance_after, skn.balance_after, 0),
    CASE WHEN lst.role = 'node_license'
      THEN dimo_contract_param(p_chain_id, p_contract, 'minimum_stake', p_at_block, p_before) END,
    p_at_block) f
$$;

-- The time of a block: its header if kept (blocks: the reorg window), the
-- model cursor's, or any of its logs'; else an estimate: linear between the
-- nearest blocks around it whose time is known, or 2 s per block (Polygon's
-- pace) from the nearest one. NULL when the chain has nothing stored.
CREATE FUNCTION dimo_block_time(p_chain_id bigint, p_block bigint) RETURNS timestamptz
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  t timestamptz;
  b0 bigint;
  t0 timestamptz;
  b1 bigint;
  t1 timestamptz;
BEGIN
  SELECT bl.time INTO t FROM blocks bl WHERE bl.chain_id = p_chain_id AND bl.number = p_block;
  IF FOUND THEN
    RETURN t;
  END IF;
  SELECT m.block_time INTO t FROM model_cursor m
  WHERE m.chain_id = p_chain_id AND m.block_number = p_block AND m.block_time IS NOT NULL;
  IF FOUND THEN
    RETURN t;
  END IF;
  SELECT l.block_time INTO t FROM logs l
  WHERE l.chain_id = p_chain_id AND l.block_number = p_block LIMIT 1;
  IF FOUND THEN
    RETURN t;
  END IF;
  SELECT x.n, x.t INTO b0, t0 FROM (
    (SELECT bl.number AS n, bl.time AS t FROM blocks bl
     WHERE bl.chain_id = p_chain_id AND bl.number < p_block ORDER BY bl.number DESC LIMIT 1)
    UNION ALL
    (SELECT m.block_number, m.block_time FROM model_cursor m
     WHERE m.chain_id = p_chain_id AND m.block_number < p_block AND m.block_time IS NOT NULL)
    UNION ALL
    (SELECT l.block_number, l.block_time FROM logs l
     WHERE l.chain_id = p_chain_id AND l.block_number < p_block ORDER BY l.block_number DESC LIMIT 1)
  ) x ORDER BY x.n DESC LIMIT 1;
  SELECT x.n, x.t INTO b1, t1 FROM (
    (SELECT bl.number AS n, bl.time AS t FROM blocks bl
     WHERE bl.chain_id = p_chain_id AND bl.number > p_block ORDER BY bl.number LIMIT 1)
    UNION ALL
    (SELECT m.block_number, m.block_time FROM model_cursor m
     WHERE m.chain_id = p_chain_id AND m.block_number > p_block AND m.block_time IS NOT NULL)
    UNION ALL
    (SELECT l.block_number, l.block_time FROM logs l
     WHERE l.chain_id = p_chain_id AND l.block_number > p_block ORDER BY l.block_number LIMIT 1)
  ) x ORDER BY x.n LIMIT 1;
  IF b0 IS NOT NULL AND b1 IS NOT NULL THEN
    RETURN date_trunc('second', t0 + (t1 - t0) * ((p_block - b0)::float8 / (b1 - b0)));
  ELSIF b0 IS NOT NULL THEN
    RETURN t0 + (p_block - b0) * interval '2 seconds';
  ELSIF b1 IS NOT NULL THEN
    RETURN t1 - (b1 - p_block) * interval '2 seconds';
  END IF;
  RETURN NULL;
END;
$$;

-- ---- the license document ------------------------------------------------------

CREATE FUNCTION dimo__summary_json(l dimo_license) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
  SELECT jsonb_build_object(
    'class', l.class,
    'contract', dimo_hex(l.contract),
    'token_id', l.token_id::text,
    'owner', dimo_hex(l.owner),
    'client_id', dimo_hex(l.client_id),
    'alias', l.alias,
    'status', l.status,
    'frozen', l.frozen,
    'staked', l.staked::text,
    'staked_dimo', l.staked_dimo::text,
    'required_stake', l.required_stake::text,
    'required_stake_dimo', l.required_stake_dimo::text,
    'minimum_stake', l.minimum_stake::text,
    'trust_ratio', l.trust_ratio,
    'issued', CASE WHEN l.issued_block IS NOT NULL THEN jsonb_build_object(
      'block', l.issued_block, 'time', dimo_iso(l.issued_time), 'tx', dimo_hex(l.issued_tx)) END,
    'revoked', CASE WHEN l.revoked THEN jsonb_build_object(
      'block', l.revoked_block, 'time', dimo_iso(l.revoked_time), 'tx', dimo_hex(l.revoked_tx)) END,
    'as_of_block', l.as_of_block)
$$;

CREATE FUNCTION dimo__stake_json(m stake_movements) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
  SELECT jsonb_build_object('kind', m.kind, 'amount', m.amount::text,
    'balance_after', m.balance_after::text, 'from', dimo_hex(m.from_address),
    'to', dimo_hex(m.to_address), 'block', m.block_number, 'time', dimo_iso(m.block_time),
    'tx', dimo_hex(m.tx_hash), 'log_index', m.log_index)
$$;

CREATE FUNCTION dimo__slash_destination(p_kind text, p_to bytea) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT CASE p_kind WHEN 'forfeit_burn' THEN 'burn' WHEN 'forfeit_reallocate' THEN dimo_hex(p_to) END
$$;

-- One license's document from the current tables (the state after the
-- last applied block), signer validity judged at p_time, without
-- as_of_block and as_of_time (the reader adds them). expires: the earliest
-- expiry among the signers valid at p_time (the document stays exact as
-- time passes until then), NULL when none. doc NULL: no such license.
-- period_validity (apps) is an extra member: the contract's value in force.
CREATE FUNCTION dimo__doc_now(p_chain_id bigint, p_contract bytea, p_token_id numeric,
                              p_time timestamptz, OUT doc jsonb, OUT expires timestamptz)
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  l dimo_license;
  v_period numeric;
  v_signers jsonb := '[]';
  v_uris jsonb := '[]';
  v_stakes jsonb;
  v_slashes jsonb := '[]';
BEGIN
  SELECT * INTO l FROM licenses x
  WHERE x.chain_id = p_chain_id AND x.contract = p_contract AND x.token_id = p_token_id;
  IF l.contract IS NULL THEN
    RETURN;
  END IF;
  IF l.role = 'app_license' THEN
    v_period := dimo_contract_param(p_chain_id, p_contract, 'period_validity');
    SELECT coalesce(jsonb_agg(jsonb_build_object('address', dimo_hex(s.signer),
        'enabled_at', dimo_iso(s.enabled_at),
        'expires_at', dimo_iso(dimo_signer_expiry(s.enabled_at, v_period)),
        'valid', dimo_signer_valid(s.enabled_at, v_period, p_time)) ORDER BY s.signer), '[]'),
      min(dimo_signer_expiry(s.enabled_at, v_period))
        FILTER (WHERE dimo_signer_valid(s.enabled_at, v_period, p_time))
      INTO v_signers, expires
    FROM license_signers s
    WHERE s.chain_id = p_chain_id AND s.contract = p_contract AND s.token_id = p_token_id
      AND s.first_enabled_block IS NOT NULL;
    SELECT coalesce(jsonb_agg(jsonb_build_object('uri', u.uri, 'enabled', u.enabled)
        ORDER BY u.uri COLLATE "C"), '[]')
      INTO v_uris
    FROM license_redirect_uris u
    WHERE u.chain_id = p_chain_id AND u.contract = p_contract AND u.token_id = p_token_id;
    SELECT coalesce(jsonb_agg(dimo__stake_json(m) ORDER BY m.block_number, m.log_index), '[]'),
      coalesce(jsonb_agg(jsonb_build_object('amount', m.amount::text,
          'destination', dimo__slash_destination(m.kind, m.to_address), 'block', m.block_number,
          'time', dimo_iso(m.block_time), 'tx', dimo_hex(m.tx_hash), 'log_index', m.log_index)
        ORDER BY m.block_number, m.log_index)
        FILTER (WHERE m.kind IN ('forfeit_burn', 'forfeit_reallocate', 'forfeit')), '[]')
      INTO v_stakes, v_slashes
    FROM stake_movements m
    WHERE m.chain_id = p_chain_id AND m.contract = p_contract AND m.token_id = p_token_id;
  ELSE
    -- Node licenses: the owner's stake movements (stake is per address).
    SELECT coalesce(jsonb_agg(dimo__stake_json(m) ORDER BY m.block_number, m.log_index), '[]')
      INTO v_stakes
    FROM stake_movements m
    WHERE m.chain_id = p_chain_id AND m.contract = p_contract AND m.holder = l.owner;
  END IF;
  doc := (dimo__summary_json(l) - 'as_of_block') || jsonb_build_object('signers', v_signers,
    'redirect_uris', v_uris, 'stake_history', v_stakes, 'slashes', v_slashes,
    'period_validity', v_period::text);
END;
$$;

-- The same as of a past block p_block, from history alone (signers and
-- URIs: every one with an event by then, in the state they had), signer
-- validity judged at p_time. NULL when the license did not exist yet.
CREATE FUNCTION dimo__doc_at(p_chain_id bigint, p_contract bytea, p_token_id numeric,
                             p_block bigint, p_time timestamptz)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  l dimo_license;
  v_period numeric;
  v_signers jsonb := '[]';
  v_uris jsonb := '[]';
  v_stakes jsonb;
  v_slashes jsonb := '[]';
BEGIN
  SELECT * INTO l FROM dimo_license_at(p_chain_id, p_contract, p_token_id, p_block);
  IF l.contract IS NULL THEN
    RETURN NULL;
  END IF;
  IF l.role = 'app_license' THEN
    v_period := dimo_contract_param(p_chain_id, p_contract, 'period_validity', p_block);
    SELECT coalesce(jsonb_agg(jsonb_build_object('address', dimo_hex(s.signer),
        'enabled_at', dimo_iso(e.enabled_at),
        'expires_at', dimo_iso(dimo_signer_expiry(e.enabled_at, v_period)),
        'valid', dimo_signer_valid(e.enabled_at, v_period, p_time)) ORDER BY s.signer), '[]')
      INTO v_signers
    FROM license_signers s
    JOIN LATERAL (
      SELECT CASE WHEN ev.enabled THEN ev.block_time END AS enabled_at FROM signer_events ev
      WHERE ev.chain_id = p_chain_id AND ev.contract = p_contract AND ev.token_id = p_token_id
        AND ev.signer = s.signer AND ev.block_number <= p_block
      ORDER BY ev.block_number DESC, ev.log_index DESC LIMIT 1) e ON true
    WHERE s.chain_id = p_chain_id AND s.contract = p_contract AND s.token_id = p_token_id
      AND s.first_enabled_block <= p_block;
    SELECT coalesce(jsonb_agg(jsonb_build_object('uri', u.uri, 'enabled', e.enabled)
        ORDER BY u.uri COLLATE "C"), '[]')
      INTO v_uris
    FROM license_redirect_uris u
    JOIN LATERAL (
      SELECT ev.enabled FROM redirect_uri_events ev
      WHERE ev.chain_id = p_chain_id AND ev.contract = p_contract AND ev.token_id = p_token_id
        AND ev.uri_key = u.uri_key AND ev.block_number <= p_block
      ORDER BY ev.block_number DESC, ev.log_index DESC LIMIT 1) e ON true
    WHERE u.chain_id = p_chain_id AND u.contract = p_contract AND u.token_id = p_token_id;
    SELECT coalesce(jsonb_agg(dimo__stake_json(m) ORDER BY m.block_number, m.log_index), '[]'),
      coalesce(jsonb_agg(jsonb_build_object('amount', m.amount::text,
          'destination', dimo__slash_destination(m.kind, m.to_address), 'block', m.block_number,
          'time', dimo_iso(m.block_time), 'tx', dimo_hex(m.tx_hash), 'log_index', m.log_index)
        ORDER BY m.block_number, m.log_index)
        FILTER (WHERE m.kind IN ('forfeit_burn', 'forfeit_reallocate', 'forfeit')), '[]')
      INTO v_stakes, v_slashes
    FROM stake_movements m
    WHERE m.chain_id = p_chain_id AND m.contract = p_contract AND m.token_id = p_token_id
      AND m.block_number <= p_block;
  ELSE
    SELECT coalesce(jsonb_agg(dimo__stake_json(m) ORDER BY m.block_number, m.log_index), '[]')
      INTO v_stakes
    FROM stake_movements m
    WHERE m.chain_id = p_chain_id AND m.contract = p_contract AND m.holder = l.owner
      AND m.block_number <= p_block;
  END IF;
  RETURN (dimo__summary_json(l) - 'as_of_block') || jsonb_build_object('signers', v_signers,
    'redirect_uris', v_uris, 'stake_history', v_stakes, 'slashes', v_slashes,
    'period_validity', v_period::text);
END;
$$;

-- Whether a cached document (license_state.doc, built as of doc_block at
-- doc_time) is the document at block p_block and time p_time: the one rule
-- every reader of the cache applies. (STABLE like date_trunc, so that the
-- planner inlines it.)
CREATE FUNCTION dimo__doc_usable(p_doc jsonb, p_doc_block bigint, p_doc_time timestamptz,
                                 p_doc_expires timestamptz, p_block bigint, p_time timestamptz)
RETURNS boolean
LANGUAGE sql STABLE
AS $$
  SELECT p_doc IS NOT NULL AND p_doc_block <= p_block AND p_doc_time <= p_time
    AND (p_doc_expires IS NULL OR date_trunc('second', p_time) <= p_doc_expires)
$$;

-- Rebuilds the cached documents of these licenses as of block p_block at
-- time p_time (apply: the batch's last block; rollback: the kept block).
CREATE FUNCTION dimo__refresh_docs(p_chain_id bigint, p_keys dimo_license_key[], p_block bigint,
                                   p_time timestamptz)
RETURNS void
LANGUAGE sql
AS $$
  UPDATE license_state s
  SET doc = d.doc, doc_block = p_block, doc_time = p_time, doc_expires = d.expires
  FROM (SELECT DISTINCT u.contract, u.token_id FROM unnest(p_keys) u) k
  CROSS JOIN LATERAL dimo__doc_now(p_chain_id, k.contract, k.token_id, p_time) d
  WHERE s.chain_id = p_chain_id AND s.contract = k.contract AND s.token_id = k.token_id;
$$;

-- Documents whose content may have changed at block p_block: rebuilt now
-- when they are few (following the head: a handful per block), else marked
-- stale (doc NULL) and left to dimo_refresh_stale_docs, which the indexer
-- runs once it has caught up. A backfill batch touches thousands of
-- licenses, most of them again in the next batch, and a document holds a
-- license's whole stake history: rebuilding them all in every batch would
-- cost more than the batch itself. Readers never see the difference:
-- dimo_license_doc and the other readers build a stale document on the
-- fly, from the same current tables, in the same snapshot.
CREATE FUNCTION dimo__docs_changed(p_chain_id bigint, p_keys dimo_license_key[], p_block bigint,
                                   p_time timestamptz)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
  -- dimo.docs_inline_max (a session setting; tests lower it to 0): the
  -- most documents rebuilt in the batch.
  IF cardinality(p_keys) <= coalesce(nullif(current_setting('dimo.docs_inline_max', true), '')::int, 256)
  THEN
    PERFORM dimo__refresh_docs(p_chain_id, p_keys, p_block, p_time);
    RETURN;
  END IF;
  UPDATE license_state s
  SET doc = NULL, doc_block = NULL, doc_time = NULL, doc_expires = NULL
  FROM (SELECT DISTINCT u.contract, u.token_id FROM unnest(p_keys) u) k
  WHERE s.chain_id = p_chain_id AND s.contract = k.contract AND s.token_id = k.token_id
    AND s.doc IS NOT NULL;
END;
$$;

-- Rebuilds up to p_limit stale documents (doc NULL) of a chain at its
-- model cursor; returns how many. The indexer calls it in short
-- transactions of their own while it waits for new blocks, and at the end
-- of `sync`, until it returns less than p_limit.
CREATE FUNCTION dimo_refresh_stale_docs(p_chain_id bigint, p_limit int) RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
  v_block bigint;
  v_time timestamptz;
  v_keys dimo_license_key[];
BEGIN
  SELECT m.block_number, m.block_time INTO v_block, v_time FROM model_cursor m
  WHERE m.chain_id = p_chain_id;
  IF v_block IS NULL THEN
    RETURN 0;
  END IF;
  v_keys := ARRAY(
    SELECT ROW(s.contract, s.token_id)::dimo_license_key FROM license_state s
    WHERE s.chain_id = p_chain_id AND s.doc IS NULL
    LIMIT p_limit);
  PERFORM dimo__refresh_docs(p_chain_id, v_keys, v_block, v_time);
  RETURN cardinality(v_keys);
END;
$$;

-- Rebuilds every cached document of one contract (p_contract) or of all
-- (NULL), at each chain's model cursor: after a configuration change
-- (required stakes, overrides, a contract's class or constructor values).
CREATE FUNCTION dimo_refresh_documents(p_contract bytea DEFAULT NULL) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
  m record;
BEGIN
  FOR m IN SELECT c.chain_id, c.block_number, c.block_time FROM model_cursor c LOOP
    PERFORM dimo__refresh_docs(m.chain_id, ARRAY(
      SELECT ROW(s.contract, s.token_id)::dimo_license_key FROM license_state s
      WHERE s.chain_id = m.chain_id AND (p_contract IS NULL OR s.contract = p_contract)),
      m.block_number, m.block_time);
  END LOOP;
END;
$$;

CREATE FUNCTION dimo__config_changed() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  IF TG_TABLE_NAME = 'contracts' THEN
    -- A (new) class relabels the contract's licenses.
    UPDATE license_state s SET class = dimo__class(s.chain_id, s.contract, s.role)
    WHERE s.chain_id = NEW.chain_id AND s.contract = NEW.address
      AND s.class IS DISTINCT FROM dimo__class(s.chain_id, s.contract, s.role);
    PERFORM dimo_refresh_documents(NEW.address);
  ELSE
    PERFORM dimo_refresh_documents(NULL);
  END IF;
  RETURN NULL;
END;
$$;

CREATE TRIGGER required_stakes_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON required_stakes
  FOR EACH STATEMENT EXECUTE FUNCTION dimo__config_changed();
CREATE TRIGGER required_stake_overrides_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
  ON required_stake_overrides FOR EACH STATEMENT EXECUTE FUNCTION dimo__config_changed();
CREATE TRIGGER contracts_added AFTER INSERT ON contracts FOR EACH ROW
  EXECUTE FUNCTION dimo__config_changed();
CREATE TRIGGER contracts_changed AFTER UPDATE ON contracts FOR EACH ROW
  WHEN ((OLD.class, OLD.initial_period_validity, OLD.initial_license_cost, OLD.initial_minimum_stake)
        IS DISTINCT FROM (NEW.class, NEW.initial_period_validity, NEW.initial_license_cost,
                          NEW.initial_minimum_stake))
  EXECUTE FUNCTION dimo__config_changed();
-- ---- the hooks ------------------------------------------------------------------

-- The license part registers its apply and rollback (001's model_parts);
-- the registration is at the end of this file, once both functions exist.

-- Sets the block the model describes (apply: the batch's last block;
-- rollback: the kept block) and returns its time.
CREATE FUNCTION dimo__move_model_cursor(p_chain_id bigint, p_block bigint) RETURNS timestamptz
LANGUAGE plpgsql
AS $$
DECLARE
  v_time timestamptz := dimo_block_time(p_chain_id, p_block);
BEGIN
  INSERT INTO model_cursor (chain_id, block_number, block_time)
  VALUES (p_chain_id, p_block, v_time)
  ON CONFLICT (chain_id) DO UPDATE SET block_number = EXCLUDED.block_number,
    block_time = EXCLUDED.block_time;
  RETURN v_time;
END;
$$;

-- The history rows of a batch: one scan of its logs feeding every history
-- table. Its own function for the planner settings: every CTE of the
-- statement is estimated at one row, which makes nested loops look free,
-- and a nested loop over two CTEs of thousands of rows each (forfeits
-- against DIMO transfers) is quadratic; hash joins are linear. (The
-- per-key look-ups of the running balance are sub-plans, not joins, and
-- keep their index scans.)
CREATE FUNCTION dimo__apply_history(p_chain_id bigint, p_from_block bigint, p_to_block bigint)
RETURNS void
LANGUAGE plpgsql
SET enable_nestloop = off
SET enable_mergejoin = off
AS $$
DECLARE
  zero CONSTANT text := '0x0000000000000000000000000000000000000000';
BEGIN
  WITH b AS MATERIALIZED (
    SELECT l.block_number, l.log_index, l.tx_hash, l.block_time, l.address AS contract,
      coalesce(l.role, c.role) AS role, l.event, l.args
    FROM logs l
    LEFT JOIN contracts c ON c.chain_id = l.chain_id AND c.address = l.address
    WHERE l.chain_id = p_chain_id AND l.block_number BETWEEN p_from_block AND p_to_block
      AND coalesce(l.role, c.role) IN ('app_license', 'node_license', 'dimo_token')
  ),
  own AS (
    INSERT INTO ownership_events (chain_id, block_number, log_index, tx_hash, block_time, contract,
      role, token_id, kind, owner, previous_owner, client_id)
    SELECT p_chain_id, x.block_number, x.log_index, x.tx_hash, x.block_time, x.contract, x.role,
      x.token_id, x.kind, x.owner, x.previous_owner, x.client_id
    FROM (
      SELECT b.*, dimo__uint(b.args ->> 'tokenId') AS token_id, 'issue' AS kind,
        dimo__addr(b.args ->> 'owner') AS owner, NULL::bytea AS previous_owner,
        dimo__addr(b.args ->> 'clientId') AS client_id
      FROM b WHERE b.role = 'app_license' AND b.event = 'Issued(uint256,address,address)'
      UNION ALL
      SELECT b.*, dimo__uint(b.args ->> 'tokenId'), 'issue', dimo__addr(b.args ->> 'user'), NULL, NULL
      FROM b WHERE b.role = 'node_license' AND b.event = 'LicenseMinted(address,uint256)'
      UNION ALL
      SELECT b.*, dimo__uint(b.args ->> 'tokenId'),
        CASE WHEN b.args ->> 'from' = zero THEN 'mint'
             WHEN b.args ->> 'to' = zero THEN 'revoke' ELSE 'transfer' END,
        CASE WHEN b.args ->> 'to' = zero THEN dimo__addr(b.args ->> 'from')
             ELSE dimo__addr(b.args ->> 'to') END,
        CASE WHEN b.args ->> 'from' <> zero THEN dimo__addr(b.args ->> 'from') END,
        NULL
      FROM b WHERE b.role IN ('app_license', 'node_license')
        AND b.event = 'Transfer(address,address,uint256)'
        AND NOT (b.args ->> 'from' = zero AND b.args ->> 'to' = zero)
      OFFSET 0
    ) x
    WHERE x.token_id IS NOT NULL AND x.owner IS NOT NULL
  ),
  -- Aliases: both LicenseAliasSet variants (the string's exact bytes: the
  -- decoder gives text that is not valid UTF-8, or holds a NUL, as hex),
  -- and the end of the alias at an app license's burn (see alias_events).
  ali AS (
    INSERT INTO alias_events (chain_id, block_number, log_index, tx_hash, block_time, contract,
      token_id, source, alias_key, alias, alias_raw)
    SELECT p_chain_id, x.block_number, x.log_index, x.tx_hash, x.block_time, x.contract, x.token_id,
      x.source, dimo__alias_key(x.raw), dimo__alias_text(dimo__alias_key(x.raw)), x.raw
    FROM (
      SELECT b.*, dimo__uint(b.args ->> 'tokenId') AS token_id, 'event' AS source,
        CASE jsonb_typeof(b.args -> 'licenseAlias')
          WHEN 'string' THEN convert_to(b.args ->> 'licenseAlias', 'UTF8')
          ELSE dimo__hexbytes(b.args -> 'licenseAlias' ->> 'hex') END AS raw
      FROM b WHERE b.role = 'app_license' AND b.event = 'LicenseAliasSet(uint256,string)'
      UNION ALL
      SELECT b.*, dimo__uint(b.args ->> 'tokenId'), 'event', dimo__hexbytes(b.args ->> 'licenseAlias')
      FROM b WHERE b.role = 'app_license' AND b.event = 'LicenseAliasSet(uint256,bytes32)'
      UNION ALL
      SELECT b.*, dimo__uint(b.args ->> 'tokenId'), 'revoke', NULL
      FROM b WHERE b.role = 'app_license' AND b.event = 'Transfer(address,address,uint256)'
        AND b.args ->> 'to' = zero AND b.args ->> 'from' <> zero
      OFFSET 0
    ) x
    WHERE x.token_id IS NOT NULL AND (x.source = 'revoke' OR x.raw IS NOT NULL)
  ),
  sig AS (
    INSERT INTO signer_events (chain_id, block_number, log_index, tx_hash, block_time, contract,
      token_id, signer, enabled)
    SELECT p_chain_id, x.block_number, x.log_index, x.tx_hash, x.block_time, x.contract, x.token_id,
      x.signer, x.enabled
    FROM (
      SELECT b.*, dimo__uint(b.args ->> 'tokenId') AS token_id,
        dimo__addr(b.args ->> 'signer') AS signer,
        b.event = 'SignerEnabled(uint256,address)' AS enabled
      FROM b WHERE b.role = 'app_license'
        AND b.event IN ('SignerEnabled(uint256,address)', 'SignerDisabled(uint256,address)')
      OFFSET 0
    ) x
    WHERE x.token_id IS NOT NULL AND x.signer IS NOT NULL
  ),
  uri AS (
    INSERT INTO redirect_uri_events (chain_id, block_number, log_index, tx_hash, block_time,
      contract, token_id, uri, uri_key, enabled)
    SELECT p_chain_id, x.block_number, x.log_index, x.tx_hash, x.block_time, x.contract, x.token_id,
      x.uri, sha256(convert_to(x.uri, 'UTF8')), x.enabled
    FROM (
      SELECT b.*, dimo__uint(b.args ->> 'tokenId') AS token_id, dimo__str(b.args -> 'uri') AS uri,
        b.event = 'RedirectUriEnabled(uint256,string)' AS enabled
      FROM b WHERE b.role = 'app_license'
        AND b.event IN ('RedirectUriEnabled(uint256,string)', 'RedirectUriDisabled(uint256,string)')
      OFFSET 0
    ) x
    WHERE x.token_id IS NOT NULL AND x.uri IS NOT NULL
  ),
  frz AS (
    INSERT INTO freeze_events (chain_id, block_number, log_index, tx_hash, block_time, contract,
      token_id, frozen, amount)
    SELECT p_chain_id, b.block_number, b.log_index, b.tx_hash, b.block_time, b.contract,
      dimo__uint(b.args ->> 'tokenId'), (b.args ->> 'frozen')::boolean, dimo__uint(b.args ->> 'amount')
    FROM b
    WHERE b.role = 'app_license' AND b.event = 'AssetFreezeUpdate(uint256,uint256,bool)'
      AND jsonb_typeof(b.args -> 'frozen') = 'boolean' AND dimo__uint(b.args ->> 'tokenId') IS NOT NULL
  ),
  par AS (
    INSERT INTO parameter_events (chain_id, block_number, log_index, tx_hash, block_time, contract,
      parameter, value)
    SELECT p_chain_id, x.block_number, x.log_index, x.tx_hash, x.block_time, x.contract, x.parameter,
      x.value
    FROM (
      SELECT b.*, 'period_validity' AS parameter, dimo__uint(b.args ->> 'periodValidity') AS value
      FROM b WHERE b.role = 'app_license' AND b.event = 'UpdatePeriodValidity(uint256)'
      UNION ALL
      SELECT b.*, 'license_cost', dimo__uint(b.args ->> 'licenseCost')
      FROM b WHERE b.role = 'app_license' AND b.event = 'UpdateLicenseCost(uint256)'
      UNION ALL
      SELECT b.*, 'minimum_stake', dimo__uint(b.args ->> 'amount')
      FROM b WHERE b.role = 'node_license' AND b.event = 'StakeAmountAdjusted(uint256)'
      OFFSET 0
    ) x
    WHERE x.value IS NOT NULL
  ),
  -- Slashes: the k-th AssetForfeit of a (transaction, contract, amount)
  -- pairs with the k-th DIMO Transfer of that amount out of the contract in
  -- that transaction; its recipient tells burn (0x0) from reallocation.
  forfeit AS (
    SELECT b.*, row_number() OVER (PARTITION BY b.tx_hash, b.contract, b.args ->> 'amount'
                                   ORDER BY b.log_index) AS rk
    FROM b WHERE b.role = 'app_license' AND b.event = 'AssetForfeit(uint256,uint256)'
  ),
  outflow AS (
    SELECT b.tx_hash, dimo__addr(b.args ->> 'from') AS source, b.args ->> 'to' AS dest,
      b.args ->> 'value' AS value,
      row_number() OVER (PARTITION BY b.tx_hash, b.args ->> 'from', b.args ->> 'value'
                         ORDER BY b.log_index) AS rk
    FROM b WHERE b.role = 'dimo_token' AND b.event = 'Transfer(address,address,uint256)'
  ),
  st AS (
    SELECT x.* FROM (
      SELECT b.block_number, b.log_index, b.tx_hash, b.block_time, b.contract, b.role,
        dimo__uint(b.args ->> 'tokenId') AS token_id, NULL::bytea AS holder,
        CASE WHEN b.event LIKE 'StakeDeposit%' THEN 'deposit' ELSE 'withdraw' END AS kind,
        dimo__uint(b.args ->> 'amount') AS amount,
        CASE WHEN b.event LIKE 'StakeDeposit%' THEN 1 ELSE -1 END AS sign,
        CASE WHEN b.event LIKE 'StakeDeposit%' THEN dimo__addr(b.args ->> 'user') END AS from_address,
        CASE WHEN b.event LIKE 'StakeWithdraw%' THEN dimo__addr(b.args ->> 'user') END AS to_address
      FROM b WHERE b.role = 'app_license'
        AND b.event IN ('StakeDeposit(uint256,address,uint256)', 'StakeWithdraw(uint256,address,uint256)')
      UNION ALL
      SELECT f.block_number, f.log_index, f.tx_hash, f.block_time, f.contract, f.role,
        dimo__uint(f.args ->> 'tokenId'), NULL,
        CASE WHEN o.dest IS NULL THEN 'forfeit' WHEN o.dest = zero THEN 'forfeit_burn'
             ELSE 'forfeit_reallocate' END,
        dimo__uint(f.args ->> 'amount'), -1, NULL,
        CASE WHEN o.dest <> zero THEN dimo__addr(o.dest) END
      FROM forfeit f
      LEFT JOIN outflow o ON o.tx_hash = f.tx_hash AND o.source = f.contract
        AND o.value = f.args ->> 'amount' AND o.rk = f.rk
      UNION ALL
      SELECT b.block_number, b.log_index, b.tx_hash, b.block_time, b.contract, b.role, NULL,
        dimo__addr(b.args ->> 'user'),
        CASE b.event WHEN 'StakeTokens(address,uint256)' THEN 'stake'
          WHEN 'UnstakeTokens(address,uint256)' THEN 'unstake' ELSE 'emergency_withdrawal' END,
        dimo__uint(b.args ->> 'amountOfTokens'),
        CASE b.event WHEN 'StakeTokens(address,uint256)' THEN 1
          WHEN 'UnstakeTokens(address,uint256)' THEN -1 ELSE 0 END,
        CASE WHEN b.event = 'StakeTokens(address,uint256)' THEN dimo__addr(b.args ->> 'user') END,
        CASE WHEN b.event <> 'StakeTokens(address,uint256)' THEN dimo__addr(b.args ->> 'user') END
      FROM b WHERE b.role = 'node_license'
        AND b.event IN ('StakeTokens(address,uint256)', 'UnstakeTokens(address,uint256)',
                        'EmergencyWithdrawal(address,uint256)')
      OFFSET 0
    ) x
    WHERE x.amount IS NOT NULL AND (x.token_id IS NOT NULL OR x.holder IS NOT NULL)
  ),
  -- The running balance: the balance before the batch (looked up once per
  -- token or address, on its first movement in the batch) plus the sum of
  -- the batch's deltas so far. No join of the batch's movements with a
  -- table of keys: with token_id or holder NULL such a join has no
  -- selective key and grows with the square of the movements per contract.
  seeded AS (
    SELECT st.*,
      CASE WHEN row_number() OVER (PARTITION BY st.contract, st.token_id, st.holder
                                   ORDER BY st.block_number, st.log_index) = 1 THEN
        coalesce(CASE WHEN st.token_id IS NOT NULL THEN
            (SELECT m.balance_after FROM stake_movements m
             WHERE m.chain_id = p_chain_id AND m.contract = st.contract AND m.token_id = st.token_id
             ORDER BY m.block_number DESC, m.log_index DESC LIMIT 1)
          ELSE
            (SELECT m.balance_after FROM stake_movements m
             WHERE m.chain_id = p_chain_id AND m.contract = st.contract AND m.holder = st.holder
             ORDER BY m.block_number DESC, m.log_index DESC LIMIT 1)
          END, 0) END AS seed
    FROM st
  )
  INSERT INTO stake_movements (chain_id, block_number, log_index, tx_hash, block_time, contract, role,
    token_id, holder, kind, amount, delta, balance_after, from_address, to_address)
  SELECT p_chain_id, x.block_number, x.log_index, x.tx_hash, x.block_time, x.contract, x.role,
    x.token_id, x.holder, x.kind, x.amount, x.sign * x.amount,
    max(x.seed) OVER k + sum(x.sign * x.amount) OVER (k ORDER BY x.block_number, x.log_index),
    x.from_address, x.to_address
  FROM seeded x
  WINDOW k AS (PARTITION BY x.contract, x.token_id, x.holder);
END;
$$;


CREATE FUNCTION dimo__apply(p_chain_id bigint, p_from_block bigint, p_to_block bigint)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
  v_time timestamptz;
BEGIN
  -- Blocks without any log (most blocks, when following the head): only
  -- the model cursor moves, and lapsed signer validity is refreshed.
  IF NOT EXISTS (SELECT 1 FROM logs l
                 WHERE l.chain_id = p_chain_id AND l.block_number BETWEEN p_from_block AND p_to_block) THEN
    v_time := dimo__move_model_cursor(p_chain_id, p_to_block);
    PERFORM dimo__docs_changed(p_chain_id, ARRAY(
      SELECT ROW(s.contract, s.token_id)::dimo_license_key FROM license_state s
      WHERE s.chain_id = p_chain_id AND s.doc_expires < date_trunc('second', v_time)),
      p_to_block, v_time);
    RETURN;
  END IF;

  -- 1. History rows.
  PERFORM dimo__apply_history(p_chain_id, p_from_block, p_to_block);

  -- 2. The owner of the license at each app stake movement (the issue may
  --    be in this very batch, hence a second statement).
  UPDATE stake_movements m SET owner = (
    SELECT o.owner FROM ownership_events o
    WHERE o.chain_id = m.chain_id AND o.contract = m.contract AND o.token_id = m.token_id
      AND (o.block_number, o.log_index) < (m.block_number, m.log_index)
    ORDER BY o.block_number DESC, o.log_index DESC LIMIT 1)
  WHERE m.chain_id = p_chain_id AND m.block_number BETWEEN p_from_block AND p_to_block
    AND m.token_id IS NOT NULL;

  -- 3. Current rows of everything the batch touched.
  PERFORM dimo__refresh_range(p_chain_id, p_from_block, p_to_block);

  -- 4. The block the model now describes, and its time (the batch always
  --    carries its last block's header).
  v_time := dimo__move_model_cursor(p_chain_id, p_to_block);

  -- 5. Documents: of every license the batch touched (signers and URIs
  --    included), of the node licenses whose owner's stake moved, of every
  --    license of a contract whose parameters changed, and of those whose
  --    signer validity lapsed by this block's time (rebuilt now, or marked
  --    stale when there are many: see dimo__docs_changed).
  PERFORM dimo__docs_changed(p_chain_id, ARRAY(
    SELECT DISTINCT ROW(x.contract, x.token_id)::dimo_license_key FROM (
      SELECT o.contract, o.token_id FROM ownership_events o
      WHERE o.chain_id = p_chain_id AND o.block_number BETWEEN p_from_block AND p_to_block
      UNION ALL
      SELECT a.contract, a.token_id FROM alias_events a
      WHERE a.chain_id = p_chain_id AND a.block_number BETWEEN p_from_block AND p_to_block
      UNION ALL
      SELECT f.contract, f.token_id FROM freeze_events f
      WHERE f.chain_id = p_chain_id AND f.block_number BETWEEN p_from_block AND p_to_block
      UNION ALL
      SELECT e.contract, e.token_id FROM signer_events e
      WHERE e.chain_id = p_chain_id AND e.block_number BETWEEN p_from_block AND p_to_block
      UNION ALL
      SELECT e.contract, e.token_id FROM redirect_uri_events e
      WHERE e.chain_id = p_chain_id AND e.block_number BETWEEN p_from_block AND p_to_block
      UNION ALL
      SELECT m.contract, m.token_id FROM stake_movements m
      WHERE m.chain_id = p_chain_id AND m.block_number BETWEEN p_from_block AND p_to_block
        AND m.token_id IS NOT NULL
      UNION ALL
      SELECT s.contract, s.token_id FROM license_state s
      JOIN (SELECT DISTINCT m.contract, m.holder FROM stake_movements m
            WHERE m.chain_id = p_chain_id AND m.block_number BETWEEN p_from_block AND p_to_block
              AND m.holder IS NOT NULL) h ON h.contract = s.contract AND h.holder = s.owner
      WHERE s.chain_id = p_chain_id
      UNION ALL
      SELECT s.contract, s.token_id FROM license_state s
      WHERE s.chain_id = p_chain_id AND s.contract IN (
        SELECT e.contract FROM parameter_events e
        WHERE e.chain_id = p_chain_id AND e.block_number BETWEEN p_from_block AND p_to_block)
      UNION ALL
      SELECT s.contract, s.token_id FROM license_state s
      WHERE s.chain_id = p_chain_id AND s.doc_expires < date_trunc('second', v_time)) x),
    p_to_block, v_time);
END;
$$;

CREATE FUNCTION dimo__rollback(p_chain_id bigint, p_keep_block bigint)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
  v_licenses dimo_license_key[];
  v_signers dimo_signer_key[];
  v_uris dimo_uri_key[];
  v_holders dimo_holder_key[];
  v_time timestamptz;
BEGIN
  -- The keys the undone rows touched, before the rows go.
  v_licenses := ARRAY(
    SELECT DISTINCT ROW(x.contract, x.token_id)::dimo_license_key FROM (
      SELECT o.contract, o.token_id FROM ownership_events o
      WHERE o.chain_id = p_chain_id AND o.block_number > p_keep_block
      UNION ALL
      SELECT a.contract, a.token_id FROM alias_events a
      WHERE a.chain_id = p_chain_id AND a.block_number > p_keep_block
      UNION ALL
      SELECT f.contract, f.token_id FROM freeze_events f
      WHERE f.chain_id = p_chain_id AND f.block_number > p_keep_block
      UNION ALL
      SELECT m.contract, m.token_id FROM stake_movements m
      WHERE m.chain_id = p_chain_id AND m.block_number > p_keep_block AND m.token_id IS NOT NULL) x);
  v_signers := ARRAY(
    SELECT DISTINCT ROW(e.contract, e.token_id, e.signer)::dimo_signer_key FROM signer_events e
    WHERE e.chain_id = p_chain_id AND e.block_number > p_keep_block);
  v_uris := ARRAY(
    SELECT DISTINCT ROW(e.contract, e.token_id, e.uri_key)::dimo_uri_key FROM redirect_uri_events e
    WHERE e.chain_id = p_chain_id AND e.block_number > p_keep_block);
  v_holders := ARRAY(
    SELECT DISTINCT ROW(m.contract, m.holder)::dimo_holder_key FROM stake_movements m
    WHERE m.chain_id = p_chain_id AND m.block_number > p_keep_block AND m.holder IS NOT NULL);

  DELETE FROM ownership_events WHERE chain_id = p_chain_id AND block_number > p_keep_block;
  DELETE FROM alias_events WHERE chain_id = p_chain_id AND block_number > p_keep_block;
  DELETE FROM signer_events WHERE chain_id = p_chain_id AND block_number > p_keep_block;
  DELETE FROM redirect_uri_events WHERE chain_id = p_chain_id AND block_number > p_keep_block;
  DELETE FROM stake_movements WHERE chain_id = p_chain_id AND block_number > p_keep_block;
  DELETE FROM freeze_events WHERE chain_id = p_chain_id AND block_number > p_keep_block;
  DELETE FROM parameter_events WHERE chain_id = p_chain_id AND block_number > p_keep_block;

  PERFORM dimo__refresh_licenses(p_chain_id, v_licenses);
  PERFORM dimo__refresh_signers(p_chain_id, v_signers);
  PERFORM dimo__refresh_uris(p_chain_id, v_uris);
  PERFORM dimo__refresh_node_stakes(p_chain_id, v_holders);

  -- The kept block becomes the model's block (its header is still in the
  -- reorg window), unless the model is not derived that far yet.
  IF EXISTS (SELECT 1 FROM model_cursor m
             WHERE m.chain_id = p_chain_id AND m.block_number > p_keep_block) THEN
    v_time := dimo__move_model_cursor(p_chain_id, p_keep_block);
  END IF;

  -- Every document built above the kept block (which covers every license
  -- the undone rows touched) is rebuilt as of the kept block (or marked
  -- stale); the others were built at or below it and are exact there.
  PERFORM dimo__docs_changed(p_chain_id, ARRAY(
    SELECT ROW(s.contract, s.token_id)::dimo_license_key FROM license_state s
    WHERE s.chain_id = p_chain_id AND s.doc_block > p_keep_block), p_keep_block, v_time);
END;
$$;

-- Records (or updates) one contract of the network file. A changed class
-- relabels the contract's licenses at once (trigger contracts_changed).
CREATE FUNCTION dimo_register_contract(p_chain_id bigint, p_address bytea, p_role text,
                                       p_class text, p_start_block bigint)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
  INSERT INTO contracts (chain_id, address, role, class, start_block)
  VALUES (p_chain_id, p_address, p_role, p_class, p_start_block)
  ON CONFLICT (chain_id, address) DO UPDATE SET
    role = EXCLUDED.role, class = EXCLUDED.class, start_block = EXCLUDED.start_block
  WHERE (contracts.role, contracts.class, contracts.start_block)
        IS DISTINCT FROM (EXCLUDED.role, EXCLUDED.class, EXCLUDED.start_block);
END;
$$;

-- A database indexed before this migration: derive everything from the
-- logs already stored.
DO $$
DECLARE
  c record;
BEGIN
  FOR c IN SELECT cu.chain_id, cu.last_block FROM cursors cu LOOP
    PERFORM dimo__apply(c.chain_id,
      least(coalesce((SELECT min(l.block_number) FROM logs l WHERE l.chain_id = c.chain_id), c.last_block),
            c.last_block),
      c.last_block);
  END LOOP;
END;
$$;

-- ---- registration -----------------------------------------------------------------

INSERT INTO model_parts (ord, name, apply_fn, rollback_fn)
VALUES (10, 'licenses', 'dimo__apply(bigint,bigint,bigint)', 'dimo__rollback(bigint,bigint)');

-- What the part reads (001's model_reads; checked against the ABI files
-- at start-up): every argument name of each event, in order.
INSERT INTO model_reads (part, role, event, args) VALUES
  ('licenses', 'app_license', 'Issued(uint256,address,address)', '{tokenId,owner,clientId}'),
  ('licenses', 'app_license', 'Transfer(address,address,uint256)', '{from,to,tokenId}'),
  ('licenses', 'app_license', 'LicenseAliasSet(uint256,string)', '{tokenId,licenseAlias}'),
  ('licenses', 'app_license', 'LicenseAliasSet(uint256,bytes32)', '{tokenId,licenseAlias}'),
  ('licenses', 'app_license', 'SignerEnabled(uint256,address)', '{tokenId,signer}'),
  ('licenses', 'app_license', 'SignerDisabled(uint256,address)', '{tokenId,signer}'),
  ('licenses', 'app_license', 'RedirectUriEnabled(uint256,string)', '{tokenId,uri}'),
  ('licenses', 'app_license', 'RedirectUriDisabled(uint256,string)', '{tokenId,uri}'),
  ('licenses', 'app_license', 'StakeDeposit(uint256,address,uint256)', '{tokenId,user,amount}'),
  ('licenses', 'app_license', 'StakeWithdraw(uint256,address,uint256)', '{tokenId,user,amount}'),
  ('licenses', 'app_license', 'AssetFreezeUpdate(uint256,uint256,bool)', '{tokenId,amount,frozen}'),
  ('licenses', 'app_license', 'AssetForfeit(uint256,uint256)', '{tokenId,amount}'),
  ('licenses', 'app_license', 'UpdatePeriodValidity(uint256)', '{periodValidity}'),
  ('licenses', 'app_license', 'UpdateLicenseCost(uint256)', '{licenseCost}'),
  ('licenses', 'node_license', 'LicenseMinted(address,uint256)', '{user,tokenId}'),
  ('licenses', 'node_license', 'Transfer(address,address,uint256)', '{from,to,tokenId}'),
  ('licenses', 'node_license', 'StakeAmountAdjusted(uint256)', '{amount}'),
  ('licenses', 'node_license', 'StakeTokens(address,uint256)', '{user,amountOfTokens}'),
  ('licenses', 'node_license', 'UnstakeTokens(address,uint256)', '{user,amountOfTokens}'),
  ('licenses', 'node_license', 'EmergencyWithdrawal(address,uint256)', '{user,amountOfTokens}'),
  ('licenses', 'dimo_token', 'Transfer(address,address,uint256)', '{from,to,value}');
