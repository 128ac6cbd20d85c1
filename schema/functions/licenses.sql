-- licenses.sql (a repeatable file: re-applied whenever it changes): the
-- license model's functions and views that changed after their numbered
-- migrations (002_license_model.sql, 003_license_queries.sql), which are
-- checksummed and never edited. From issue #23 on, these definitions are
-- the ones in force, and this file is where they are fixed.
--
-- What changed here (issue #23):
--   * the 2022 Stake contract is the manufacturer license: role
--     `manufacturer_license`, class `manufacturer` (it was `node_license`,
--     class `node`; 009_manufacturers.sql renamed the stored rows);
--   * requirements are data per chain (dimo_class_requirement): the
--     network file's `requirements`, else the seed's defaults;
--   * manufacturer documents have no `slashes` member (there is no slash
--     path: an empty list would suggest one);
--   * dimo_find_licenses and dimo_license_doc also answer the classes
--     `node` (storage-node anchors, 007) and `connection` (008) when asked
--     for them, so `license --class node|connection` is the same question
--     as GET /v1/nodes and /v1/connections.
--
-- At the end the license part is re-derived from the stored logs, so that
-- nothing an older definition derived (or a cached document it built)
-- survives a change of this file.

-- The class label of a contract: the network file's, else by role.
CREATE OR REPLACE FUNCTION dimo_internal.class(p_chain_id bigint, p_contract bytea, p_role text) RETURNS text
LANGUAGE plpgsql STABLE
AS $$
BEGIN
  RETURN coalesce((SELECT c.class FROM contracts c WHERE c.chain_id = p_chain_id AND c.address = p_contract),
                  CASE p_role WHEN 'manufacturer_license' THEN 'manufacturer' ELSE 'app' END);
END;
$$;

CREATE OR REPLACE FUNCTION dimo_internal.refresh_licenses(p_chain_id bigint, p_keys dimo_license_key[]) RETURNS void
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
  SELECT p_chain_id, k.contract, k.token_id, lst.role, dimo_internal.class(p_chain_id, k.contract, lst.role),
    lst.owner, cid.client_id, al.alias, nullif(al.alias_key, '\x'::bytea),
    iss.block_number, iss.log_index, iss.block_time, iss.tx_hash,
    lst.kind = 'revoke',
    CASE WHEN lst.kind = 'revoke' THEN lst.block_number END,
    CASE WHEN lst.kind = 'revoke' THEN lst.block_time END,
    CASE WHEN lst.kind = 'revoke' THEN lst.tx_hash END,
    coalesce(fz.frozen, false),
    CASE WHEN lst.role = 'manufacturer_license' THEN NULL ELSE coalesce(sk.balance_after, 0) END
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

-- The requirement of a class on a chain (issue #23 item 4: requirements
-- are data): the chain's row, written from the network file's
-- `requirements` at start (dimo_internal.set_requirements), else the default row
-- (chain_id 0: the seed's numbers). NULL when neither exists.
-- (PL/pgSQL: its body is checked when called, not when created, so this
-- file also applies to a schema that does not have 009 yet.)
CREATE OR REPLACE FUNCTION dimo_class_requirement(p_chain_id bigint, p_class text)
RETURNS required_stakes
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  r required_stakes;
BEGIN
  SELECT x.* INTO r FROM required_stakes x
  WHERE x.class = p_class AND x.chain_id IN (0, p_chain_id)
  ORDER BY x.chain_id DESC LIMIT 1;
  RETURN r;
END;
$$;

-- Writes a chain's requirements from its network file (the indexer calls
-- it at start, with the contracts): p_requirements is the file's
-- `requirements` object as the indexer validated it, {"CLASS": {"stake":
-- "WEI", "per_user": "WEI", "understaked": BOOL, "note": TEXT}}, or NULL
-- when the file has none (the defaults, chain 0, apply). Nothing is written
-- when nothing changed: a write rebuilds every cached document (trigger
-- required_stakes_changed), which a restart with the same file must not
-- cost. A changed requirement re-derives trust ratios and statuses at
-- once, without a re-index.
CREATE OR REPLACE FUNCTION dimo_internal.set_requirements(p_chain_id bigint, p_requirements jsonb)
RETURNS boolean
LANGUAGE plpgsql
AS $$
DECLARE
  v_changed boolean;
BEGIN
  IF p_chain_id <= 0 THEN
    PERFORM dimo_internal.bad_arg('requirements belong to a chain id > 0');
  END IF;
  CREATE TEMP TABLE IF NOT EXISTS dimo_tmp_want_requirements (LIKE required_stakes) ON COMMIT DROP;
  TRUNCATE dimo_tmp_want_requirements;
  INSERT INTO dimo_tmp_want_requirements (chain_id, class, amount, per_user, enforce, note)
  SELECT p_chain_id, e.key, (e.value ->> 'stake')::numeric, coalesce((e.value ->> 'per_user')::numeric, 0),
    coalesce((e.value ->> 'understaked')::boolean, false), e.value ->> 'note'
  FROM jsonb_each(coalesce(p_requirements, '{}'::jsonb)) e;
  SELECT EXISTS (
    (SELECT w.class, w.amount, w.per_user, w.enforce, w.note FROM dimo_tmp_want_requirements w
     EXCEPT SELECT r.class, r.amount, r.per_user, r.enforce, r.note FROM required_stakes r
            WHERE r.chain_id = p_chain_id)
    UNION ALL
    (SELECT r.class, r.amount, r.per_user, r.enforce, r.note FROM required_stakes r
     WHERE r.chain_id = p_chain_id
     EXCEPT SELECT w.class, w.amount, w.per_user, w.enforce, w.note FROM dimo_tmp_want_requirements w))
  INTO v_changed;
  IF v_changed THEN
    DELETE FROM required_stakes r WHERE r.chain_id = p_chain_id;
    INSERT INTO required_stakes (chain_id, class, amount, per_user, enforce, note)
    SELECT w.chain_id, w.class, w.amount, w.per_user, w.enforce, w.note FROM dimo_tmp_want_requirements w;
  END IF;
  DROP TABLE dimo_tmp_want_requirements;
  RETURN v_changed;
END;
$$;

-- Required stake of one license: its override, else its class's amount.
-- A manufacturer license (p_minimum: the 2022 Stake contract's minimum in
-- force) needs what the contract needs: the minimum, or a stricter policy
-- the chain's network file sets for the class (the greater of the two).
-- The built-in default (chain 0: 100,000 DIMO, the contract's initial
-- minimum) is not such a policy: once the contract lowers its minimum, a
-- license the contract counts as whitelisted must not show as short of
-- 100,000 (an audit's finding; 009's note says otherwise).
CREATE OR REPLACE FUNCTION dimo_required_stake(p_chain_id bigint, p_contract bytea, p_token_id numeric,
                                    p_class text, p_minimum numeric)
RETURNS numeric
LANGUAGE plpgsql STABLE
AS $$
BEGIN
  RETURN greatest(coalesce(
    (SELECT o.amount FROM required_stake_overrides o
     WHERE o.chain_id = p_chain_id AND o.contract = p_contract AND o.token_id = p_token_id),
    CASE WHEN p_minimum IS NULL THEN (dimo_class_requirement(p_chain_id, p_class)).amount
      ELSE (SELECT x.amount FROM required_stakes x WHERE x.chain_id = p_chain_id AND x.class = p_class) END),
    p_minimum);
END;
$$;

-- revoked > suspended (frozen) > understaked > active. Manufacturer
-- licenses are understaked below the contract minimum in force (the
-- contract's own rule: "whitelisted" means stake >= minimum); any class
-- also below its required stake when its requirement says falling below
-- stops sharing (required_stakes.enforce, the network file's
-- `understaked`).
CREATE OR REPLACE FUNCTION dimo_license_status(p_revoked boolean, p_frozen boolean, p_role text,
                                    p_staked numeric, p_minimum numeric, p_required numeric,
                                    p_enforce boolean)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT CASE WHEN p_revoked THEN 'revoked'
    WHEN p_frozen THEN 'suspended'
    WHEN p_role = 'manufacturer_license' AND coalesce(p_staked, 0) < p_minimum THEN 'understaked'
    WHEN p_enforce AND coalesce(p_staked, 0) < p_required THEN 'understaked'
    ELSE 'active' END
$$;

-- Completes a license from its stored facts: requirement, trust ratio,
-- status. SETOF (one row) so that the planner inlines it.
CREATE OR REPLACE FUNCTION dimo_internal.license_row(p_chain_id bigint, p_contract bytea, p_token_id numeric,
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
      coalesce((dimo_class_requirement(p_chain_id, p_class)).enforce, false)),
    p_as_of_block
  -- OFFSET 0: computed once per license, not once per column that reads it
  -- (the status, the trust ratio and the amounts).
  FROM (SELECT dimo_required_stake(p_chain_id, p_contract, p_token_id, p_class, p_minimum) AS required
        OFFSET 0) r
$$;

-- Every license now (after the last indexed block): one row each, revoked
-- ones included. staked: the license's stake (apps) or its owner's
-- (manufacturers); amounts in wei with *_dimo twins.
-- (No sub-select in the arguments of dimo_internal.license_row: that would keep
-- the planner from inlining it, and a look-up by key would compute every
-- license.)
CREATE OR REPLACE VIEW licenses AS
SELECT f.*
FROM license_state s
LEFT JOIN model_cursor cur ON cur.chain_id = s.chain_id
LEFT JOIN node_stakes n ON s.role = 'manufacturer_license' AND n.chain_id = s.chain_id
  AND n.contract = s.contract AND n.holder = s.owner
CROSS JOIN LATERAL dimo_internal.license_row(s.chain_id, s.contract, s.token_id, s.class, s.role, s.owner,
  s.client_id, s.alias, s.issued_block, s.issued_time, s.issued_tx, s.revoked, s.revoked_block,
  s.revoked_time, s.revoked_tx, s.frozen,
  CASE WHEN s.role = 'manufacturer_license' THEN coalesce(n.staked, 0) ELSE s.staked END,
  CASE WHEN s.role = 'manufacturer_license' THEN dimo_contract_param(s.chain_id, s.contract, 'minimum_stake') END,
  cur.block_number) f;

-- A license as of block p_at_block (and, when p_before is given, before
-- that time: the monthly views), computed from history alone; no row when
-- it did not exist yet.
CREATE OR REPLACE FUNCTION dimo_license_at(p_chain_id bigint, p_contract bytea, p_token_id numeric,
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
    WHERE lst.role <> 'manufacturer_license' AND m.chain_id = p_chain_id AND m.contract = p_contract
      AND m.token_id = p_token_id
      AND m.block_number <= coalesce(p_at_block, 9223372036854775807)
      AND m.block_time < coalesce(p_before, 'infinity')
    ORDER BY m.block_number DESC, m.log_index DESC LIMIT 1) ska ON true
  LEFT JOIN LATERAL (
    SELECT m.balance_after FROM stake_movements m
    WHERE lst.role = 'manufacturer_license' AND m.chain_id = p_chain_id AND m.contract = p_contract
      AND m.holder = lst.owner
      AND m.block_number <= coalesce(p_at_block, 9223372036854775807)
      AND m.block_time < coalesce(p_before, 'infinity')
    ORDER BY m.block_number DESC, m.log_index DESC LIMIT 1) skn ON true
  CROSS JOIN LATERAL dimo_internal.license_row(p_chain_id, p_contract, p_token_id,
    dimo_internal.class(p_chain_id, p_contract, lst.role), lst.role, lst.owner, cid.client_id,
    al.alias, iss.block_number, iss.block_time, iss.tx_hash, lst.kind = 'revoke',
    CASE WHEN lst.kind = 'revoke' THEN lst.block_number END,
    CASE WHEN lst.kind = 'revoke' THEN lst.block_time END,
    CASE WHEN lst.kind = 'revoke' THEN lst.tx_hash END,
    coalesce(fz.frozen, false), coalesce(ska.balance_after, skn.balance_after, 0),
    CASE WHEN lst.role = 'manufacturer_license'
      THEN dimo_contract_param(p_chain_id, p_contract, 'minimum_stake', p_at_block, p_before) END,
    p_at_block) f
$$;

-- The history rows of a batch: one scan of its logs feeding every history
-- table. Its own function for the planner settings: every CTE of the
-- statement is estimated at one row, which makes nested loops look free,
-- and a nested loop over two CTEs of thousands of rows each (forfeits
-- against DIMO transfers) is quadratic; hash joins are linear. (The
-- per-key look-ups of the running balance are sub-plans, not joins, and
-- keep their index scans.)
CREATE OR REPLACE FUNCTION dimo_internal.apply_history(p_chain_id bigint, p_from_block bigint, p_to_block bigint)
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
      AND coalesce(l.role, c.role) IN ('app_license', 'manufacturer_license', 'dimo_token')
  ),
  own AS (
    INSERT INTO ownership_events (chain_id, block_number, log_index, tx_hash, block_time, contract,
      role, token_id, kind, owner, previous_owner, client_id)
    SELECT p_chain_id, x.block_number, x.log_index, x.tx_hash, x.block_time, x.contract, x.role,
      x.token_id, x.kind, x.owner, x.previous_owner, x.client_id
    FROM (
      SELECT b.*, dimo_internal.uint(b.args ->> 'tokenId') AS token_id, 'issue' AS kind,
        dimo_internal.addr(b.args ->> 'owner') AS owner, NULL::bytea AS previous_owner,
        dimo_internal.addr(b.args ->> 'clientId') AS client_id
      FROM b WHERE b.role = 'app_license' AND b.event = 'Issued(uint256,address,address)'
      UNION ALL
      SELECT b.*, dimo_internal.uint(b.args ->> 'tokenId'), 'issue', dimo_internal.addr(b.args ->> 'user'), NULL, NULL
      FROM b WHERE b.role = 'manufacturer_license' AND b.event = 'LicenseMinted(address,uint256)'
      UNION ALL
      SELECT b.*, dimo_internal.uint(b.args ->> 'tokenId'),
        CASE WHEN b.args ->> 'from' = zero THEN 'mint'
             WHEN b.args ->> 'to' = zero THEN 'revoke' ELSE 'transfer' END,
        CASE WHEN b.args ->> 'to' = zero THEN dimo_internal.addr(b.args ->> 'from')
             ELSE dimo_internal.addr(b.args ->> 'to') END,
        CASE WHEN b.args ->> 'from' <> zero THEN dimo_internal.addr(b.args ->> 'from') END,
        NULL
      FROM b WHERE b.role IN ('app_license', 'manufacturer_license')
        AND b.event = 'Transfer(address,address,uint256)'
        AND NOT (b.args ->> 'from' = zero AND b.args ->> 'to' = zero)
      OFFSET 0
    ) x
    WHERE x.token_id IS NOT NULL AND x.owner IS NOT NULL
    RETURNING contract, token_id, block_number, log_index, owner
  ),
  -- Aliases: both LicenseAliasSet variants (the string's exact bytes: the
  -- decoder gives text that is not valid UTF-8, or holds a NUL, as hex),
  -- and the end of the alias at an app license's burn (see alias_events).
  ali AS (
    INSERT INTO alias_events (chain_id, block_number, log_index, tx_hash, block_time, contract,
      token_id, source, alias_key, alias, alias_raw)
    SELECT p_chain_id, x.block_number, x.log_index, x.tx_hash, x.block_time, x.contract, x.token_id,
      x.source, dimo_internal.alias_key(x.raw), dimo_internal.alias_text(dimo_internal.alias_key(x.raw)), x.raw
    FROM (
      SELECT b.*, dimo_internal.uint(b.args ->> 'tokenId') AS token_id, 'event' AS source,
        CASE jsonb_typeof(b.args -> 'licenseAlias')
          WHEN 'string' THEN convert_to(b.args ->> 'licenseAlias', 'UTF8')
          ELSE dimo_internal.hexbytes(b.args -> 'licenseAlias' ->> 'hex') END AS raw
      FROM b WHERE b.role = 'app_license' AND b.event = 'LicenseAliasSet(uint256,string)'
      UNION ALL
      SELECT b.*, dimo_internal.uint(b.args ->> 'tokenId'), 'event', dimo_internal.hexbytes(b.args ->> 'licenseAlias')
      FROM b WHERE b.role = 'app_license' AND b.event = 'LicenseAliasSet(uint256,bytes32)'
      UNION ALL
      SELECT b.*, dimo_internal.uint(b.args ->> 'tokenId'), 'revoke', NULL
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
      SELECT b.*, dimo_internal.uint(b.args ->> 'tokenId') AS token_id,
        dimo_internal.addr(b.args ->> 'signer') AS signer,
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
      SELECT b.*, dimo_internal.uint(b.args ->> 'tokenId') AS token_id, dimo_internal.str(b.args -> 'uri') AS uri,
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
      dimo_internal.uint(b.args ->> 'tokenId'), (b.args ->> 'frozen')::boolean, dimo_internal.uint(b.args ->> 'amount')
    FROM b
    WHERE b.role = 'app_license' AND b.event = 'AssetFreezeUpdate(uint256,uint256,bool)'
      AND jsonb_typeof(b.args -> 'frozen') = 'boolean' AND dimo_internal.uint(b.args ->> 'tokenId') IS NOT NULL
  ),
  par AS (
    INSERT INTO parameter_events (chain_id, block_number, log_index, tx_hash, block_time, contract,
      parameter, value)
    SELECT p_chain_id, x.block_number, x.log_index, x.tx_hash, x.block_time, x.contract, x.parameter,
      x.value
    FROM (
      SELECT b.*, 'period_validity' AS parameter, dimo_internal.uint(b.args ->> 'periodValidity') AS value
      FROM b WHERE b.role = 'app_license' AND b.event = 'UpdatePeriodValidity(uint256)'
      UNION ALL
      SELECT b.*, 'license_cost', dimo_internal.uint(b.args ->> 'licenseCost')
      FROM b WHERE b.role = 'app_license' AND b.event = 'UpdateLicenseCost(uint256)'
      UNION ALL
      SELECT b.*, 'minimum_stake', dimo_internal.uint(b.args ->> 'amount')
      FROM b WHERE b.role = 'manufacturer_license' AND b.event = 'StakeAmountAdjusted(uint256)'
      OFFSET 0
    ) x
    WHERE x.value IS NOT NULL
  ),
  -- Slashes: an AssetForfeit pairs with the nearest DIMO Transfer of its
  -- amount out of its contract before it in its transaction (the
  -- contract's forfeit makes exactly that one transfer, then logs the
  -- forfeit); its recipient tells burn (0x0) from reallocation. (Pairing
  -- the k-th forfeit with the k-th such transfer, as before, gave a forfeit
  -- the transfer of an adminWithdraw of the same amount earlier in a
  -- batched transaction: an audit's finding.) One window over forfeits and
  -- transfers together finds each forfeit's transfer, so the join stays a
  -- hash join.
  forfeit AS (
    SELECT b.*, b.args ->> 'amount' AS amount_text
    FROM b WHERE b.role = 'app_license' AND b.event = 'AssetForfeit(uint256,uint256)'
  ),
  outflow AS (
    SELECT b.tx_hash, b.log_index, dimo_internal.addr(b.args ->> 'from') AS source, b.args ->> 'to' AS dest,
      b.args ->> 'value' AS value
    FROM b WHERE b.role = 'dimo_token' AND b.event = 'Transfer(address,address,uint256)'
  ),
  forfeit_transfer AS (
    SELECT x.tx_hash, x.log_index, x.paired
    FROM (SELECT y.tx_hash, y.log_index, y.is_forfeit,
            max(CASE WHEN NOT y.is_forfeit THEN y.log_index END)
              OVER (PARTITION BY y.tx_hash, y.contract, y.amount ORDER BY y.log_index, y.is_forfeit
                    ROWS UNBOUNDED PRECEDING) AS paired
          FROM (SELECT f.tx_hash, f.log_index, f.contract, f.amount_text AS amount, true AS is_forfeit FROM forfeit f
                UNION ALL
                SELECT o.tx_hash, o.log_index, o.source, o.value, false FROM outflow o
                WHERE o.source IN (SELECT f.contract FROM forfeit f)) y) x
    WHERE x.is_forfeit
  ),
  st AS (
    SELECT x.* FROM (
      SELECT b.block_number, b.log_index, b.tx_hash, b.block_time, b.contract, b.role,
        dimo_internal.uint(b.args ->> 'tokenId') AS token_id, NULL::bytea AS holder,
        CASE WHEN b.event LIKE 'StakeDeposit%' THEN 'deposit' ELSE 'withdraw' END AS kind,
        dimo_internal.uint(b.args ->> 'amount') AS amount,
        CASE WHEN b.event LIKE 'StakeDeposit%' THEN 1 ELSE -1 END AS sign,
        CASE WHEN b.event LIKE 'StakeDeposit%' THEN dimo_internal.addr(b.args ->> 'user') END AS from_address,
        CASE WHEN b.event LIKE 'StakeWithdraw%' THEN dimo_internal.addr(b.args ->> 'user') END AS to_address
      FROM b WHERE b.role = 'app_license'
        AND b.event IN ('StakeDeposit(uint256,address,uint256)', 'StakeWithdraw(uint256,address,uint256)')
      UNION ALL
      SELECT f.block_number, f.log_index, f.tx_hash, f.block_time, f.contract, f.role,
        dimo_internal.uint(f.args ->> 'tokenId'), NULL,
        CASE WHEN o.dest IS NULL THEN 'forfeit' WHEN o.dest = zero THEN 'forfeit_burn'
             ELSE 'forfeit_reallocate' END,
        dimo_internal.uint(f.args ->> 'amount'), -1, NULL,
        CASE WHEN o.dest <> zero THEN dimo_internal.addr(o.dest) END
      FROM forfeit f
      LEFT JOIN forfeit_transfer p ON p.tx_hash = f.tx_hash AND p.log_index = f.log_index
      LEFT JOIN outflow o ON o.tx_hash = f.tx_hash AND o.log_index = p.paired
      UNION ALL
      SELECT b.block_number, b.log_index, b.tx_hash, b.block_time, b.contract, b.role, NULL,
        dimo_internal.addr(b.args ->> 'user'),
        CASE b.event WHEN 'StakeTokens(address,uint256)' THEN 'stake'
          WHEN 'UnstakeTokens(address,uint256)' THEN 'unstake' ELSE 'emergency_withdrawal' END,
        dimo_internal.uint(b.args ->> 'amountOfTokens'),
        CASE b.event WHEN 'StakeTokens(address,uint256)' THEN 1
          WHEN 'UnstakeTokens(address,uint256)' THEN -1 ELSE 0 END,
        CASE WHEN b.event = 'StakeTokens(address,uint256)' THEN dimo_internal.addr(b.args ->> 'user') END,
        CASE WHEN b.event <> 'StakeTokens(address,uint256)' THEN dimo_internal.addr(b.args ->> 'user') END
      FROM b WHERE b.role = 'manufacturer_license'
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
  ),
  -- The owner of the license at each app stake movement: the last
  -- ownership row before it, of the batch (the rows `own` inserts, which
  -- this statement cannot read back from the table) when there is one,
  -- else of the table (all earlier). grp counts the batch's ownership rows
  -- up to each position of a token; a movement takes the owner of its
  -- group's first row. (Before, an UPDATE after the statement rewrote
  -- every new movement, each row with its four index entries.)
  owned AS (
    SELECT y.*, first_value(y.o_owner) OVER (PARTITION BY y.contract, y.token_id, y.grp
                                             ORDER BY y.block_number, y.log_index) AS batch_owner
    FROM (
      SELECT u.*, count(*) FILTER (WHERE u.is_own) OVER (PARTITION BY u.contract, u.token_id
                                                         ORDER BY u.block_number, u.log_index) AS grp
      FROM (SELECT o.contract, o.token_id, o.block_number, o.log_index, o.owner AS o_owner, true AS is_own
            FROM own o
            UNION ALL
            SELECT s.contract, s.token_id, s.block_number, s.log_index, NULL, false
            FROM st s WHERE s.token_id IS NOT NULL) u) y
  )
  INSERT INTO stake_movements (chain_id, block_number, log_index, tx_hash, block_time, contract, role,
    token_id, holder, kind, amount, delta, balance_after, from_address, to_address, owner)
  SELECT p_chain_id, x.block_number, x.log_index, x.tx_hash, x.block_time, x.contract, x.role,
    x.token_id, x.holder, x.kind, x.amount, x.sign * x.amount,
    max(x.seed) OVER k + sum(x.sign * x.amount) OVER (k ORDER BY x.block_number, x.log_index),
    x.from_address, x.to_address,
    CASE WHEN x.token_id IS NULL THEN NULL
      WHEN w.grp > 0 THEN w.batch_owner
      ELSE (SELECT o.owner FROM ownership_events o
            WHERE o.chain_id = p_chain_id AND o.contract = x.contract AND o.token_id = x.token_id
            ORDER BY o.block_number DESC, o.log_index DESC LIMIT 1) END
  FROM seeded x
  LEFT JOIN owned w ON NOT w.is_own AND w.block_number = x.block_number AND w.log_index = x.log_index
  WINDOW k AS (PARTITION BY x.contract, x.token_id, x.holder);
END;
$$;

-- ---- from 003 ----

-- The full document of one license as of p_at_block (NULL: the last
-- indexed block), signer validity judged at p_at_time (NULL: that block's
-- time, as the contract's isSigner in that block). NULL when the license
-- did not exist at that block. The current document with the default time
-- is the cached one (license_state.doc): a single-row read.
-- The document of a storage-node anchor (class node) or a connection
-- token, by contract and token id, as of p_at_block (NULL: the last
-- indexed block); NULL for any other contract, or a token not minted then.
CREATE OR REPLACE FUNCTION dimo_internal.part_doc(p_chain_id bigint, p_contract bytea, p_token_id numeric,
                                          p_at_block bigint)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  v_role text;
  v_block bigint;
  v_doc jsonb;
BEGIN
  SELECT c.role INTO v_role FROM contracts c WHERE c.chain_id = p_chain_id AND c.address = p_contract;
  IF v_role IS NULL OR v_role NOT IN ('storage_node', 'connection') THEN
    RETURN NULL;
  END IF;
  v_block := dimo_internal.as_of(p_chain_id, p_at_block);
  IF v_block IS NULL THEN
    RETURN NULL;
  END IF;
  IF v_role = 'storage_node' THEN
    v_doc := dimo_internal.node_doc_at(p_chain_id, p_contract, p_token_id, v_block);
  ELSE
    v_doc := dimo_internal.connection_doc_at(p_chain_id, p_contract, p_token_id, v_block);
  END IF;
  RETURN v_doc || jsonb_build_object('as_of_block', v_block,
    'as_of_time', dimo_iso(dimo_block_time(p_chain_id, v_block))) || dimo_internal.finality(p_chain_id, v_block);
END;
$$;

CREATE OR REPLACE FUNCTION dimo_license_doc(p_chain_id bigint, p_contract bytea, p_token_id numeric,
                                 p_at_block bigint DEFAULT NULL, p_at_time timestamptz DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  v_block bigint;
  v_time timestamptz;
  s record;
  v_doc jsonb;
BEGIN
  SELECT m.block_number, m.block_time INTO v_block, v_time FROM model_cursor m
  WHERE m.chain_id = p_chain_id;
  IF v_block IS NULL THEN
    RETURN NULL;
  END IF;
  IF p_at_block IS NULL OR p_at_block = v_block THEN
    IF p_at_time IS NULL THEN
      SELECT x.doc, x.doc_block, x.doc_time, x.doc_expires INTO s FROM license_state x
      WHERE x.chain_id = p_chain_id AND x.contract = p_contract AND x.token_id = p_token_id;
      IF NOT FOUND THEN
        RETURN dimo_internal.part_doc(p_chain_id, p_contract, p_token_id, p_at_block);
      END IF;
      IF dimo_internal.doc_usable(s.doc, s.doc_block, s.doc_time, s.doc_expires, v_block, v_time) THEN
        RETURN s.doc || jsonb_build_object('as_of_block', v_block, 'as_of_time', dimo_iso(v_time))
          || dimo_internal.finality(p_chain_id, v_block);
      END IF;
    ELSE
      v_time := p_at_time;
    END IF;
    SELECT d.doc INTO v_doc FROM dimo_internal.doc_now(p_chain_id, p_contract, p_token_id, v_time) d;
  ELSE
    v_block := dimo_internal.as_of(p_chain_id, p_at_block);
    v_time := coalesce(p_at_time, dimo_block_time(p_chain_id, v_block));
    v_doc := dimo_internal.doc_at(p_chain_id, p_contract, p_token_id, v_block, v_time);
    IF v_doc IS NULL AND p_at_time IS NULL THEN
      RETURN dimo_internal.part_doc(p_chain_id, p_contract, p_token_id, v_block);
    END IF;
  END IF;
  RETURN v_doc || jsonb_build_object('as_of_block', v_block, 'as_of_time', dimo_iso(v_time))
          || dimo_internal.finality(p_chain_id, v_block);
END;
$$;

CREATE OR REPLACE FUNCTION dimo_internal.check_class(p_class text) RETURNS void
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
  IF p_class IS NOT NULL AND p_class NOT IN ('app', 'client', 'manufacturer', 'node', 'connection') THEN
    PERFORM dimo_internal.bad_arg(format('unknown license class %L (app, client, manufacturer, node or connection)',
                                 p_class));
  END IF;
END;
$$;

-- Licenses matching a key: a decimal token id, a 0x address (the client
-- id or the owner, the last owner for revoked ones: both also find revoked
-- licenses, client ids never move) or an alias (its text, or the 0x-hex
-- form documents give an alias that is not text: dimo_internal.alias_lookup_keys),
-- in class p_class (NULL: any). Ordered by precedence, then contract and
-- token id: a token id match first, then a client id, an alias, an owner
-- (an alias may be any string, "2" included: asking for token 2 must not
-- answer the license whose alias is "2"; readers take the first match).
-- An alias
-- matches the license holding it as of p_at_block (NULL: the last indexed
-- block), as the contract's getTokenIdByLicenseAlias answers in that
-- block: a revoked license's alias was freed at its revoke and never finds
-- it, a re-used one finds only its new holder.
CREATE OR REPLACE FUNCTION dimo_internal.find_licenses_ranked(p_chain_id bigint, p_class text, p_key text,
                                                      p_at_block bigint)
RETURNS TABLE(contract bytea, token_id numeric, rank int)
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
  v_key text := btrim(p_key);
  v_token numeric;
  v_addr bytea;
  v_aliases bytea[] := dimo_internal.alias_lookup_keys(p_key);
  v_block bigint;
  v_past boolean;
BEGIN
  PERFORM dimo_internal.check_class(p_class);
  IF p_key IS NULL THEN
    RETURN;
  END IF;
  -- Sentinels rather than NULL for "not a token id / not an address", and
  -- generic plans (the SET above): each call's custom plan looks cheaper
  -- than the cached generic one, so the query would be planned again on
  -- every call (three times the cost of running it).
  v_token := coalesce(dimo_internal.uint(v_key), -1);
  v_addr := '\x';
  IF v_key ~* '^0x[0-9a-f]{40}$' THEN
    v_addr := decode(substr(v_key, 3), 'hex');
  END IF;
  -- Storage-node operators and connections live in their own parts (007,
  -- 008) and are found only when their class is asked for: by token id,
  -- owner (now) or label / name (which name one token forever).
  IF p_class = 'node' THEN
    IF v_key = '' OR octet_length(v_key) > 1024 THEN
      PERFORM dimo_internal.bad_arg('a node key is a token id, an owner address or a label (1 to 1024 bytes)');
    END IF;
    RETURN QUERY
    SELECT n.contract, n.token_id, CASE WHEN n.token_id = v_token THEN 1 ELSE 2 END FROM storage_nodes n
    WHERE n.chain_id = p_chain_id AND (n.token_id = v_token OR n.owner = v_addr OR n.label = v_key)
    ORDER BY 3, 1, 2;
    RETURN;
  ELSIF p_class = 'connection' THEN
    IF v_token = -1 AND v_addr = '\x'::bytea AND dimo_connection_id(v_key) IS NULL THEN
      PERFORM dimo_internal.bad_arg('a connection key is a token id, an owner address or a name of 1 to 32 bytes');
    END IF;
    RETURN QUERY
    SELECT n.contract, n.token_id, CASE WHEN n.token_id = v_token THEN 1 ELSE 2 END FROM connections n
    WHERE n.chain_id = p_chain_id
      AND (n.token_id = v_token OR n.owner = v_addr OR n.token_id = dimo_connection_id(v_key))
    ORDER BY 3, 1, 2;
    RETURN;
  END IF;
  SELECT m.block_number INTO v_block FROM model_cursor m WHERE m.chain_id = p_chain_id;
  -- One statement for both questions (review note D7): token id, client
  -- id and owner from the current rows; the alias from history when a
  -- past block is asked (its holder then: the caller drops licenses that
  -- did not exist yet), else from the current rows. The arm not asked is
  -- cut by its one-time filter; each arm is an index scan.
  v_past := coalesce(p_at_block < v_block, false);
  RETURN QUERY
  SELECT m.contract, m.token_id, min(m.rank) FROM (
  SELECT s.contract, s.token_id, 1 AS rank FROM license_state s
  WHERE s.chain_id = p_chain_id AND s.token_id = v_token AND (p_class IS NULL OR s.class = p_class)
  UNION ALL
  SELECT s.contract, s.token_id, 2 FROM license_state s
  WHERE s.chain_id = p_chain_id AND s.client_id = v_addr AND (p_class IS NULL OR s.class = p_class)
  UNION ALL
  SELECT s.contract, s.token_id, 4 FROM license_state s
  WHERE s.chain_id = p_chain_id AND s.owner = v_addr AND (p_class IS NULL OR s.class = p_class)
  UNION ALL
  SELECT s.contract, s.token_id, 3 FROM license_state s
  WHERE NOT v_past AND s.alias_key = ANY (v_aliases) AND s.chain_id = p_chain_id
    AND (p_class IS NULL OR s.class = p_class)
  UNION ALL
  SELECT a.contract, a.token_id, 3 FROM alias_events a
  JOIN license_state s ON s.chain_id = a.chain_id AND s.contract = a.contract AND s.token_id = a.token_id
  WHERE v_past AND a.chain_id = p_chain_id AND a.alias_key = ANY (v_aliases) AND octet_length(a.alias_key) > 0
    AND a.block_number <= p_at_block AND (p_class IS NULL OR s.class = p_class)
    AND NOT EXISTS (SELECT 1 FROM alias_events n
                    WHERE n.chain_id = a.chain_id AND n.contract = a.contract AND n.token_id = a.token_id
                      AND n.block_number <= p_at_block
                      AND (n.block_number, n.log_index) > (a.block_number, a.log_index))
  ) m
  GROUP BY m.contract, m.token_id
  ORDER BY 3, 1, 2;
END;
$$;


CREATE OR REPLACE FUNCTION dimo_find_licenses(p_chain_id bigint, p_class text, p_key text,
                                   p_at_block bigint DEFAULT NULL)
RETURNS TABLE(contract bytea, token_id numeric)
LANGUAGE sql STABLE
AS $$
  SELECT f.contract, f.token_id FROM dimo_internal.find_licenses_ranked(p_chain_id, p_class, p_key, p_at_block) f
  ORDER BY f.rank, f.contract, f.token_id
$$;

-- The matches of the best precedence only (every license the key names as
-- a token id, else as a client id, ...): what a filter by one license key
-- means (GET /v1/slashes?license=, the overview's license).
CREATE OR REPLACE FUNCTION dimo_internal.find_licenses_best(p_chain_id bigint, p_class text, p_key text,
                                                    p_at_block bigint)
RETURNS TABLE(contract bytea, token_id numeric)
LANGUAGE sql STABLE
AS $$
  SELECT f.contract, f.token_id FROM (
    SELECT r.contract, r.token_id, r.rank, min(r.rank) OVER () AS best
    FROM dimo_internal.find_licenses_ranked(p_chain_id, p_class, p_key, p_at_block) r) f
  WHERE f.rank = f.best
  ORDER BY f.contract, f.token_id
$$;

-- Every log of a license contract in chain order, decoded. token_id is
-- the license the log is about; NULL for contract-wide events and for the
-- manufacturer contract's LicenseRevoked, whose tokenId (logged_token_id) is the
-- last minted id, not the revoked one (a bug of the deployed contract: the
-- burn Transfer in the same transaction names the revoked license).
CREATE OR REPLACE VIEW license_event_log AS
SELECT l.chain_id, l.block_number, l.log_index, l.block_time, l.tx_hash, l.address AS contract,
  coalesce(l.role, c.role) AS role, dimo_internal.class(l.chain_id, l.address, coalesce(l.role, c.role)) AS class,
  l.event_name, l.event,
  CASE WHEN l.event = 'LicenseRevoked(uint256)' THEN NULL ELSE dimo_internal.uint(l.args ->> 'tokenId') END AS token_id,
  CASE WHEN l.event = 'LicenseRevoked(uint256)' THEN dimo_internal.uint(l.args ->> 'tokenId') END AS logged_token_id,
  l.args
FROM logs l
LEFT JOIN contracts c ON c.chain_id = l.chain_id AND c.address = l.address
WHERE coalesce(l.role, c.role) IN ('app_license', 'manufacturer_license');

-- Contract parameters over time: the constructor values (block NULL) of
-- every registered license contract, then each change.
CREATE OR REPLACE VIEW contract_parameter_history AS
SELECT c.chain_id, c.address AS contract, p.parameter, p.value, NULL::bigint AS block_number,
  NULL::int AS log_index, NULL::timestamptz AS block_time, NULL::bytea AS tx_hash,
  'constructor' AS source
FROM contracts c
CROSS JOIN LATERAL (VALUES ('period_validity', c.initial_period_validity),
                           ('license_cost', c.initial_license_cost)) p (parameter, value)
WHERE c.role = 'app_license'
UNION ALL
SELECT c.chain_id, c.address, 'minimum_stake', c.initial_minimum_stake, NULL, NULL, NULL, NULL,
  'constructor'
FROM contracts c WHERE c.role = 'manufacturer_license'
UNION ALL
SELECT e.chain_id, e.contract, e.parameter, e.value, e.block_number, e.log_index, e.block_time,
  e.tx_hash, 'event'
FROM parameter_events e;

-- The parameters in force now, per registered license contract.
-- minimum_stake is also shown for an app-license contract that announced
-- one (the 2024 contract's UpdateMinimumStake); NULL for one that never
-- did (DIMO's proxy has no such parameter, and the 2024 contract's
-- constructor value is not in any event).
CREATE OR REPLACE VIEW contract_parameters AS
SELECT c.chain_id, c.address AS contract, c.role, c.class,
  CASE WHEN c.role = 'app_license' THEN dimo_contract_param(c.chain_id, c.address, 'period_validity') END AS period_validity,
  CASE WHEN c.role = 'app_license' THEN dimo_contract_param(c.chain_id, c.address, 'license_cost') END AS license_cost,
  CASE WHEN c.role = 'manufacturer_license' THEN dimo_contract_param(c.chain_id, c.address, 'minimum_stake')
    WHEN c.role = 'app_license' THEN (
      SELECT e.value FROM parameter_events e
      WHERE e.chain_id = c.chain_id AND e.contract = c.address AND e.parameter = 'minimum_stake'
      ORDER BY e.block_number DESC, e.log_index DESC LIMIT 1) END AS minimum_stake
FROM contracts c WHERE c.role IN ('app_license', 'manufacturer_license');

-- Documents: a manufacturer's carries no `slashes` (no slash path exists
-- for it, dimo-contracts.md section 2; an empty list would suggest one).

-- The documents of a set of licenses from the current tables (the state
-- after the last applied block), signer validity judged at p_time, without
-- as_of_block and as_of_time (the reader adds them): one row per key that
-- is a license. expires: the earliest expiry among the signers valid at
-- p_time (the document stays exact as time passes until then), NULL when
-- none. period_validity (apps) is an extra member: the contract's value in
-- force. One statement for the whole set (issue #17 item 4): a backfill
-- builds thousands of documents at once (dimo_internal.refresh_docs), and one
-- PL/pgSQL call per license cost about 0.6 ms each, most of it the calls.
CREATE OR REPLACE FUNCTION dimo_internal.docs_now(p_chain_id bigint, p_keys dimo_license_key[], p_time timestamptz)
RETURNS TABLE (contract bytea, token_id numeric, doc jsonb, expires timestamptz)
LANGUAGE sql STABLE
AS $$
  SELECT l.contract, l.token_id,
    (dimo_internal.summary_json(ROW(l.*)::dimo_license) - 'as_of_block') || jsonb_build_object(
      'signers', sg.signers, 'redirect_uris', ur.uris, 'stake_history', st.stakes,
      'slashes', st.slashes, 'period_validity', pv.period::text),
    sg.expires
  FROM (SELECT DISTINCT u.contract, u.token_id FROM unnest(p_keys) u) k
  JOIN licenses l ON l.chain_id = p_chain_id AND l.contract = k.contract AND l.token_id = k.token_id
  CROSS JOIN LATERAL (
    SELECT CASE WHEN l.role = 'app_license' THEN dimo_contract_param(p_chain_id, l.contract, 'period_validity') END
      AS period
    OFFSET 0) pv -- once per license, not once per reference
  CROSS JOIN LATERAL (
    SELECT coalesce(jsonb_agg(jsonb_build_object('address', dimo_hex(v.signer),
        'enabled_at', dimo_iso(v.enabled_at), 'expires_at', dimo_iso(v.expiry), 'valid', v.valid)
        ORDER BY v.signer), '[]') AS signers,
      min(v.expiry) FILTER (WHERE v.valid) AS expires
    FROM (SELECT s.signer, s.enabled_at, dimo_signer_expiry(s.enabled_at, pv.period) AS expiry,
            dimo_signer_valid(s.enabled_at, pv.period, p_time) AS valid
          FROM license_signers s
          WHERE l.role = 'app_license' AND s.chain_id = p_chain_id AND s.contract = l.contract
            AND s.token_id = l.token_id AND s.first_enabled_block IS NOT NULL
          OFFSET 0) v) sg -- each signer's expiry and validity once
  CROSS JOIN LATERAL (
    SELECT coalesce(jsonb_agg(jsonb_build_object('uri', u.uri, 'enabled', u.enabled)
        ORDER BY u.uri COLLATE "C"), '[]') AS uris
    FROM license_redirect_uris u
    WHERE l.role = 'app_license' AND u.chain_id = p_chain_id AND u.contract = l.contract
      AND u.token_id = l.token_id) ur
  -- Stake: an app license's own movements (and its slashes); a
  -- manufacturer license's owner's (stake is per address there).
  CROSS JOIN LATERAL (
    SELECT coalesce(jsonb_agg(dimo_internal.stake_json(x.m) ORDER BY (x.m).block_number, (x.m).log_index), '[]') AS stakes,
      coalesce(jsonb_agg(jsonb_build_object('amount', (x.m).amount::text,
          'destination', dimo_internal.slash_destination((x.m).kind, (x.m).to_address), 'block', (x.m).block_number,
          'time', dimo_iso((x.m).block_time), 'tx', dimo_hex((x.m).tx_hash), 'log_index', (x.m).log_index,
          'by', dimo_internal.action_by(p_chain_id, (x.m).block_number, (x.m).log_index))
        ORDER BY (x.m).block_number, (x.m).log_index)
        FILTER (WHERE l.role = 'app_license'
                  AND (x.m).kind IN ('forfeit_burn', 'forfeit_reallocate', 'forfeit')), '[]') AS slashes
    FROM (SELECT m FROM stake_movements m
          WHERE l.role = 'app_license' AND m.chain_id = p_chain_id AND m.contract = l.contract
            AND m.token_id = l.token_id
          UNION ALL
          SELECT m FROM stake_movements m
          WHERE l.role <> 'app_license' AND m.chain_id = p_chain_id AND m.contract = l.contract
            AND m.holder = l.owner) x (m)) st
$$;

-- One license's document (see dimo_internal.docs_now); doc NULL: no such license.
CREATE OR REPLACE FUNCTION dimo_internal.doc_now(p_chain_id bigint, p_contract bytea, p_token_id numeric,
                              p_time timestamptz, OUT doc jsonb, OUT expires timestamptz)
LANGUAGE sql STABLE
AS $$
  SELECT d.doc, d.expires
  FROM dimo_internal.docs_now(p_chain_id, ARRAY[ROW(p_contract, p_token_id)::dimo_license_key], p_time) d
$$;

-- Rebuilds the cached documents of these licenses as of block p_block at
-- time p_time (apply: the batch's last block; rollback: the kept block),
-- in one statement.
CREATE OR REPLACE FUNCTION dimo_internal.refresh_docs(p_chain_id bigint, p_keys dimo_license_key[], p_block bigint,
                                              p_time timestamptz)
RETURNS void
LANGUAGE sql
AS $$
  UPDATE license_state s
  SET doc = d.doc, doc_block = p_block, doc_time = p_time, doc_expires = d.expires
  FROM dimo_internal.docs_now(p_chain_id, p_keys, p_time) d
  WHERE s.chain_id = p_chain_id AND s.contract = d.contract AND s.token_id = d.token_id;
$$;

-- 002's dimo_internal.refresh_stale_docs, safe on several connections at once (the
-- indexer builds a backfill's stale documents on two: docs_job in
-- indexer/sync_commit.c). Each call takes stale rows no other call holds
-- (FOR UPDATE SKIP LOCKED), and holds the model cursor's row FOR SHARE from
-- before it reads it until it commits. A derivation moves the cursor
-- before it decides which documents its batch changed
-- (dimo_internal.docs_changed): it waits for documents built at the old block to
-- be committed, then sees them and rebuilds them or marks them stale
-- again. A call that starts while a derivation has moved the cursor waits
-- for it and builds at the new block. Either way no document is older
-- than the cursor says.
CREATE OR REPLACE FUNCTION dimo_internal.refresh_stale_docs(p_chain_id bigint, p_limit int) RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
  v_block bigint;
  v_time timestamptz;
  v_keys dimo_license_key[];
BEGIN
  SELECT m.block_number, m.block_time INTO v_block, v_time FROM model_cursor m
  WHERE m.chain_id = p_chain_id
  FOR SHARE;
  IF v_block IS NULL THEN
    RETURN 0;
  END IF;
  v_keys := ARRAY(
    SELECT ROW(s.contract, s.token_id)::dimo_license_key FROM license_state s
    WHERE s.chain_id = p_chain_id AND s.doc IS NULL
    LIMIT p_limit
    FOR UPDATE SKIP LOCKED);
  PERFORM dimo_internal.refresh_docs(p_chain_id, v_keys, v_block, v_time);
  RETURN cardinality(v_keys);
END;
$$;

-- The same as of a past block p_block, from history alone (signers and
-- URIs: every one with an event by then, in the state they had), signer
-- validity judged at p_time. NULL when the license did not exist yet.
CREATE OR REPLACE FUNCTION dimo_internal.doc_at(p_chain_id bigint, p_contract bytea, p_token_id numeric,
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
    SELECT coalesce(jsonb_agg(dimo_internal.stake_json(m) ORDER BY m.block_number, m.log_index), '[]'),
      coalesce(jsonb_agg(jsonb_build_object('amount', m.amount::text,
          'destination', dimo_internal.slash_destination(m.kind, m.to_address), 'block', m.block_number,
          'time', dimo_iso(m.block_time), 'tx', dimo_hex(m.tx_hash), 'log_index', m.log_index,
          'by', dimo_internal.action_by(p_chain_id, m.block_number, m.log_index))
        ORDER BY m.block_number, m.log_index)
        FILTER (WHERE m.kind IN ('forfeit_burn', 'forfeit_reallocate', 'forfeit')), '[]')
      INTO v_stakes, v_slashes
    FROM stake_movements m
    WHERE m.chain_id = p_chain_id AND m.contract = p_contract AND m.token_id = p_token_id
      AND m.block_number <= p_block;
  ELSE
    SELECT coalesce(jsonb_agg(dimo_internal.stake_json(m) ORDER BY m.block_number, m.log_index), '[]')
      INTO v_stakes
    FROM stake_movements m
    WHERE m.chain_id = p_chain_id AND m.contract = p_contract AND m.holder = l.owner
      AND m.block_number <= p_block;
  END IF;
  RETURN (dimo_internal.summary_json(l) - 'as_of_block') || jsonb_build_object('signers', v_signers,
    'redirect_uris', v_uris, 'stake_history', v_stakes, 'slashes', v_slashes,
    'period_validity', v_period::text);
END;
$$;

-- The manufacturer licenses' stake per owner address now, under its true
-- name (the table keeps 002's name `node_stakes`: renaming it would touch
-- every function of 002 that writes it).
CREATE OR REPLACE VIEW manufacturer_stakes AS
SELECT s.chain_id, s.contract, s.holder, s.staked, dimo_wei_to_dimo(s.staked) AS staked_dimo, s.changed_block
FROM node_stakes s;

-- ---- one refresh per history shape (issue #17 item 5; 012_model_histories.sql) ----

-- The statement that lists the keys of refresh_fn's histories in part
-- p_part with rows in blocks $2..$3 of chain $1, as a <key_type>[]
-- (DISTINCT over the union of the histories' keys).
CREATE OR REPLACE FUNCTION dimo_internal.history_keys_sql(p_part text, p_refresh_fn text) RETURNS text
LANGUAGE plpgsql STABLE
AS $$
BEGIN
  RETURN (SELECT format('ARRAY(SELECT DISTINCT x.k FROM (%s) x)',
    string_agg(format('SELECT %s AS k FROM %s h WHERE h.chain_id = $1 AND h.block_number BETWEEN $2 AND $3%s',
                      m.key_expr, m.history, coalesce(' AND (' || m.key_filter || ')', '')),
               ' UNION ALL ' ORDER BY m.history::text))
  FROM model_histories m
  WHERE m.part = p_part AND m.refresh_fn = p_refresh_fn);
END;
$$;

-- Folds (issue #17 item 4: the model keeps up with COPY). Apply used to
-- recompute every key a batch touched from the key's whole history (the
-- refresh functions: a DELETE for keys whose history is gone, then one
-- look-up per state column per key). In apply, history only grows, and
-- every new row is later than every stored one (a batch's blocks are
-- above the model cursor), so the state after the batch is the state
-- before it with the batch's rows folded in: the last event per key wins,
-- "first" columns keep their value when they have one. A refresh function
-- may name such a fold here: fold_fn(p_chain_id bigint, p_from_block
-- bigint, p_to_block bigint), called by dimo_internal.histories_apply for the
-- batch's blocks instead of refresh_fn over their keys. Rollback keeps
-- recomputing from history (dimo_internal.histories_rollback): it removes rows,
-- which no fold can undo. (Code, not a table: a fold is a function of
-- the same file as its refresh function, and changes with it.)
CREATE OR REPLACE FUNCTION dimo_internal.model_folds()
RETURNS TABLE (refresh_fn text, fold_fn text)
LANGUAGE sql IMMUTABLE
AS $$
  VALUES ('dimo_internal.refresh_licenses', 'dimo_internal.fold_licenses'),
         ('dimo_internal.refresh_signers', 'dimo_internal.fold_signers')
$$;

-- Apply: recomputes the state rows of every key the part's histories
-- have rows for in blocks p_from_block..p_to_block (the batch the part
-- just inserted), refresh function by refresh function in `ord` order;
-- a refresh function with a fold (dimo_internal.model_folds) folds the batch's
-- rows onto its state rows instead, in one statement per batch.
CREATE OR REPLACE FUNCTION dimo_internal.histories_apply(p_part text, p_chain_id bigint, p_from_block bigint,
                                                 p_to_block bigint)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT m.refresh_fn, min(m.ord) AS ord, min(f.fold_fn) AS fold_fn FROM model_histories m
           LEFT JOIN dimo_internal.model_folds() f ON f.refresh_fn = m.refresh_fn
           WHERE m.part = p_part AND m.refresh_fn <> '' GROUP BY m.refresh_fn ORDER BY 2, 1 LOOP
    IF r.fold_fn IS NOT NULL THEN
      EXECUTE format('SELECT %s($1, $2, $3)', r.fold_fn) USING p_chain_id, p_from_block, p_to_block;
    ELSE
      EXECUTE format('SELECT %s($1, %s)', r.refresh_fn, dimo_internal.history_keys_sql(p_part, r.refresh_fn))
        USING p_chain_id, p_from_block, p_to_block;
    END IF;
  END LOOP;
END;
$$;

-- The folds of the license part (dimo_internal.model_folds). Each is exact only
-- in apply: the state rows describe every history row below
-- p_from_block, and the rows of p_from_block..p_to_block are the batch's,
-- later than all of them.

-- Signers: the batch's last event per (license, signer) sets enabled_at
-- and the changed position; first_enabled_block keeps its value, else
-- takes the batch's first enabling block.
CREATE OR REPLACE FUNCTION dimo_internal.fold_signers(p_chain_id bigint, p_from_block bigint, p_to_block bigint)
RETURNS void
LANGUAGE sql
AS $$
  INSERT INTO license_signers AS s (chain_id, contract, token_id, signer, enabled_at,
    first_enabled_block, changed_block, changed_log_index)
  SELECT DISTINCT ON (e.contract, e.token_id, e.signer) p_chain_id, e.contract, e.token_id, e.signer,
    CASE WHEN e.enabled THEN e.block_time END,
    min(e.block_number) FILTER (WHERE e.enabled) OVER (PARTITION BY e.contract, e.token_id, e.signer),
    e.block_number, e.log_index
  FROM signer_events e
  WHERE e.chain_id = p_chain_id AND e.block_number BETWEEN p_from_block AND p_to_block
  ORDER BY e.contract, e.token_id, e.signer, e.block_number DESC, e.log_index DESC
  ON CONFLICT (chain_id, contract, token_id, signer) DO UPDATE SET
    enabled_at = EXCLUDED.enabled_at,
    first_enabled_block = coalesce(s.first_enabled_block, EXCLUDED.first_enabled_block),
    changed_block = EXCLUDED.changed_block, changed_log_index = EXCLUDED.changed_log_index;
$$;

-- Licenses: a license with a state row takes the batch's last ownership,
-- alias, freeze and stake rows where it has some and keeps the rest (its
-- issue and first client id when it has them); a license without one (new,
-- or with events before its first ownership row) is computed from its
-- whole history by dimo_internal.refresh_licenses.
--
-- First the batch's facts per license, into a temporary table (hash
-- joins: each source is estimated at a few rows, and a nested loop over
-- them would rescan a batch's rows once per license), then one UPDATE of
-- the state rows by key.
CREATE OR REPLACE FUNCTION dimo_internal.fold_license_facts(p_chain_id bigint, p_from_block bigint, p_to_block bigint)
RETURNS void
LANGUAGE plpgsql -- checked when called: dimo_tmp_fold_facts is its caller's temporary table
SET enable_nestloop = off
SET enable_mergejoin = off
AS $$
BEGIN
  INSERT INTO dimo_tmp_fold_facts
  SELECT k.contract, k.token_id, o.role, o.kind, o.owner, o.block_number, o.block_time, o.tx_hash,
    i.block_number, i.log_index, i.block_time, i.tx_hash, c.client_id, a.contract IS NOT NULL, a.alias,
    a.alias_key, f.frozen, m.balance_after
  FROM (SELECT DISTINCT x.contract, x.token_id FROM (
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
            AND m.token_id IS NOT NULL) x) k
  LEFT JOIN (SELECT DISTINCT ON (x.contract, x.token_id) x.* FROM ownership_events x
             WHERE x.chain_id = p_chain_id AND x.block_number BETWEEN p_from_block AND p_to_block
             ORDER BY x.contract, x.token_id, x.block_number DESC, x.log_index DESC) o
    ON o.contract = k.contract AND o.token_id = k.token_id
  LEFT JOIN (SELECT DISTINCT ON (x.contract, x.token_id) x.* FROM ownership_events x
             WHERE x.chain_id = p_chain_id AND x.block_number BETWEEN p_from_block AND p_to_block
               AND x.kind IN ('issue', 'mint')
             ORDER BY x.contract, x.token_id, x.block_number, x.log_index) i
    ON i.contract = k.contract AND i.token_id = k.token_id
  LEFT JOIN (SELECT DISTINCT ON (x.contract, x.token_id) x.contract, x.token_id, x.client_id
             FROM ownership_events x
             WHERE x.chain_id = p_chain_id AND x.block_number BETWEEN p_from_block AND p_to_block
               AND x.client_id IS NOT NULL
             ORDER BY x.contract, x.token_id, x.block_number, x.log_index) c
    ON c.contract = k.contract AND c.token_id = k.token_id
  LEFT JOIN (SELECT DISTINCT ON (x.contract, x.token_id) x.contract, x.token_id, x.alias, x.alias_key
             FROM alias_events x
             WHERE x.chain_id = p_chain_id AND x.block_number BETWEEN p_from_block AND p_to_block
             ORDER BY x.contract, x.token_id, x.block_number DESC, x.log_index DESC) a
    ON a.contract = k.contract AND a.token_id = k.token_id
  LEFT JOIN (SELECT DISTINCT ON (x.contract, x.token_id) x.contract, x.token_id, x.frozen
             FROM freeze_events x
             WHERE x.chain_id = p_chain_id AND x.block_number BETWEEN p_from_block AND p_to_block
             ORDER BY x.contract, x.token_id, x.block_number DESC, x.log_index DESC) f
    ON f.contract = k.contract AND f.token_id = k.token_id
  LEFT JOIN (SELECT DISTINCT ON (x.contract, x.token_id) x.contract, x.token_id, x.balance_after
             FROM stake_movements x
             WHERE x.chain_id = p_chain_id AND x.block_number BETWEEN p_from_block AND p_to_block
               AND x.token_id IS NOT NULL
             ORDER BY x.contract, x.token_id, x.block_number DESC, x.log_index DESC) m
    ON m.contract = k.contract AND m.token_id = k.token_id;
END;
$$;

CREATE OR REPLACE FUNCTION dimo_internal.fold_licenses(p_chain_id bigint, p_from_block bigint, p_to_block bigint)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
  v_new dimo_license_key[];
BEGIN
  IF to_regclass('pg_temp.dimo_tmp_fold_facts') IS NULL THEN -- (no NOTICE per batch, as IF NOT EXISTS gives)
    CREATE TEMP TABLE dimo_tmp_fold_facts (contract bytea NOT NULL, token_id numeric NOT NULL,
      role text, kind text, owner bytea, block_number bigint, block_time timestamptz, tx_hash bytea,
      issued_block bigint, issued_log_index int, issued_time timestamptz, issued_tx bytea,
      client_id bytea, has_alias boolean NOT NULL, alias text, alias_key bytea, frozen boolean,
      balance_after numeric) ON COMMIT DROP;
  END IF;
  TRUNCATE dimo_tmp_fold_facts;
  PERFORM dimo_internal.fold_license_facts(p_chain_id, p_from_block, p_to_block);
  ANALYZE dimo_tmp_fold_facts;

  v_new := ARRAY(SELECT ROW(k.contract, k.token_id)::dimo_license_key FROM dimo_tmp_fold_facts k
                 WHERE NOT EXISTS (SELECT 1 FROM license_state s WHERE s.chain_id = p_chain_id
                                     AND s.contract = k.contract AND s.token_id = k.token_id));

  UPDATE license_state s SET
    role = coalesce(k.role, s.role),
    class = CASE WHEN k.role IS DISTINCT FROM s.role AND k.role IS NOT NULL
                 THEN dimo_internal.class(p_chain_id, s.contract, k.role) ELSE s.class END,
    owner = coalesce(k.owner, s.owner),
    client_id = coalesce(s.client_id, k.client_id),
    alias = CASE WHEN k.has_alias THEN k.alias ELSE s.alias END,
    alias_key = CASE WHEN k.has_alias THEN nullif(k.alias_key, '\x'::bytea) ELSE s.alias_key END,
    issued_block = coalesce(s.issued_block, k.issued_block),
    issued_log_index = CASE WHEN s.issued_block IS NULL THEN k.issued_log_index ELSE s.issued_log_index END,
    issued_time = CASE WHEN s.issued_block IS NULL THEN k.issued_time ELSE s.issued_time END,
    issued_tx = CASE WHEN s.issued_block IS NULL THEN k.issued_tx ELSE s.issued_tx END,
    revoked = CASE WHEN k.role IS NOT NULL THEN k.kind = 'revoke' ELSE s.revoked END,
    revoked_block = CASE WHEN k.role IS NULL THEN s.revoked_block WHEN k.kind = 'revoke' THEN k.block_number END,
    revoked_time = CASE WHEN k.role IS NULL THEN s.revoked_time WHEN k.kind = 'revoke' THEN k.block_time END,
    revoked_tx = CASE WHEN k.role IS NULL THEN s.revoked_tx WHEN k.kind = 'revoke' THEN k.tx_hash END,
    frozen = coalesce(k.frozen, s.frozen),
    staked = CASE WHEN coalesce(k.role, s.role) = 'manufacturer_license' THEN NULL
                  ELSE coalesce(k.balance_after, s.staked, 0) END
  FROM dimo_tmp_fold_facts k
  WHERE s.chain_id = p_chain_id AND s.contract = k.contract AND s.token_id = k.token_id;

  IF cardinality(v_new) > 0 THEN
    PERFORM dimo_internal.refresh_licenses(p_chain_id, v_new);
  END IF;
  TRUNCATE dimo_tmp_fold_facts;
END;
$$;

-- Rollback: the keys of the part's history rows above p_keep_block
-- (collected first, while the rows exist), then those rows go from every
-- history of the part, then the keys' state rows are recomputed from what
-- remains.
CREATE OR REPLACE FUNCTION dimo_internal.histories_rollback(p_part text, p_chain_id bigint, p_keep_block bigint)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
  r record;
  v_fns text[] := '{}';
  v_types text[] := '{}';
  v_keys text[] := '{}';
  v_k text;
  i int;
BEGIN
  FOR r IN SELECT m.refresh_fn, min(m.key_type) AS key_type, min(m.ord) AS ord FROM model_histories m
           WHERE m.part = p_part AND m.refresh_fn <> '' GROUP BY m.refresh_fn ORDER BY 3, 1 LOOP
    -- The keys as text: their type differs per refresh function.
    EXECUTE format('SELECT (%s)::text', dimo_internal.history_keys_sql(p_part, r.refresh_fn))
      INTO v_k USING p_chain_id, p_keep_block + 1, 9223372036854775807;
    v_fns := v_fns || r.refresh_fn;
    v_types := v_types || r.key_type;
    v_keys := v_keys || v_k;
  END LOOP;
  FOR r IN SELECT DISTINCT m.history FROM model_histories m WHERE m.part = p_part ORDER BY 1 LOOP
    EXECUTE format('DELETE FROM %s WHERE chain_id = $1 AND block_number > $2', r.history)
      USING p_chain_id, p_keep_block;
  END LOOP;
  FOR i IN 1 .. cardinality(v_fns) LOOP
    IF v_keys[i] <> '{}' THEN
      EXECUTE format('SELECT %s($1, $2::%s[])', v_fns[i], v_types[i]) USING p_chain_id, v_keys[i];
    END IF;
  END LOOP;
END;
$$;

-- 002's dimo_internal.apply, without its step 2 (an UPDATE of the batch's stake
-- movements for their owner, now set as they are inserted: see
-- dimo_internal.apply_history).
CREATE OR REPLACE FUNCTION dimo_internal.apply(p_chain_id bigint, p_from_block bigint, p_to_block bigint)
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
    v_time := dimo_internal.move_model_cursor(p_chain_id, p_to_block);
    PERFORM dimo_internal.docs_changed(p_chain_id, ARRAY(
      SELECT ROW(s.contract, s.token_id)::dimo_license_key FROM license_state s
      WHERE s.chain_id = p_chain_id AND s.doc_expires < date_trunc('second', v_time)),
      p_to_block, v_time);
    RETURN;
  END IF;

  -- 1. History rows.
  PERFORM dimo_internal.apply_history(p_chain_id, p_from_block, p_to_block);

  -- 2. (The owner of the license at each app stake movement is set by
  --    dimo_internal.apply_history as it inserts the movement.)

  -- 3. Current rows of everything the batch touched.
  PERFORM dimo_internal.refresh_range(p_chain_id, p_from_block, p_to_block);

  -- 4. The block the model now describes, and its time (the batch always
  --    carries its last block's header).
  v_time := dimo_internal.move_model_cursor(p_chain_id, p_to_block);

  -- 5. Documents: of every license the batch touched (signers and URIs
  --    included), of the node licenses whose owner's stake moved, of every
  --    license of a contract whose parameters changed, and of those whose
  --    signer validity lapsed by this block's time (rebuilt now, or marked
  --    stale when there are many: see dimo_internal.docs_changed).
  PERFORM dimo_internal.docs_changed(p_chain_id, ARRAY(
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

-- 002's dimo_internal.refresh_range, from the declarations.
CREATE OR REPLACE FUNCTION dimo_internal.refresh_range(p_chain_id bigint, p_from_block bigint, p_to_block bigint)
RETURNS void
LANGUAGE sql
AS $$
  SELECT dimo_internal.histories_apply('licenses', p_chain_id, p_from_block, p_to_block)
$$;

-- 002's dimo_internal.rollback: the histories by their declarations, then the
-- model cursor and the documents as before.
CREATE OR REPLACE FUNCTION dimo_internal.rollback(p_chain_id bigint, p_keep_block bigint)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
  v_time timestamptz;
BEGIN
  PERFORM dimo_internal.histories_rollback('licenses', p_chain_id, p_keep_block);

  -- The kept block becomes the model's block (its header is still in the
  -- reorg window), unless the model is not derived that far yet.
  IF EXISTS (SELECT 1 FROM model_cursor m
             WHERE m.chain_id = p_chain_id AND m.block_number > p_keep_block) THEN
    v_time := dimo_internal.move_model_cursor(p_chain_id, p_keep_block);
  END IF;

  -- Every document built above the kept block (which covers every license
  -- the undone rows touched) is rebuilt as of the kept block (or marked
  -- stale); the others were built at or below it and are exact there.
  PERFORM dimo_internal.docs_changed(p_chain_id, ARRAY(
    SELECT ROW(s.contract, s.token_id)::dimo_license_key FROM license_state s
    WHERE s.chain_id = p_chain_id AND s.doc_block > p_keep_block), p_keep_block, v_time);
END;
$$;

-- A part registered on a database that already holds logs (a migration
-- adding a model to a deployed index) derives them at once, in the
-- registering transaction: its apply runs over every chain's stored range
-- (first stored log .. the log cursor), so the new part agrees with the
-- cursor like the others, and no part needs a DO-block of its own for
-- that. On an empty database (or a chain without logs) nothing runs.
CREATE OR REPLACE FUNCTION dimo_internal.part_registered() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
  c record;
  v_from bigint;
BEGIN
  FOR c IN SELECT cu.chain_id, cu.last_block FROM cursors cu ORDER BY cu.chain_id LOOP
    SELECT min(l.block_number) INTO v_from FROM logs l WHERE l.chain_id = c.chain_id;
    IF v_from IS NOT NULL AND v_from <= c.last_block THEN
      EXECUTE format('SELECT %s($1, $2, $3)', NEW.apply_fn::regproc)
        USING c.chain_id, v_from, c.last_block;
    END IF;
  END LOOP;
  RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER model_parts_registered AFTER INSERT ON model_parts
  FOR EACH ROW EXECUTE FUNCTION dimo_internal.part_registered();

-- Re-derive the license part from the stored logs with the definitions
-- above (see the header): whatever an older definition derived (a model
-- built by 002's own apply before 009 renamed the roles, documents in an
-- older shape) is replaced by what a fresh index derives. Each chain's
-- part is undone entirely, then applied over its stored range in one
-- batch, as `dimo-indexer rederive` does for every part. Nothing to do on
-- an empty database; a one-off cost when this file changes.
DO $$
DECLARE
  c record;
BEGIN
  FOR c IN SELECT cu.chain_id, cu.last_block FROM cursors cu
           WHERE EXISTS (SELECT 1 FROM model_cursor m WHERE m.chain_id = cu.chain_id)
  LOOP
    PERFORM dimo_internal.rollback(c.chain_id, -1);
    PERFORM dimo_internal.apply(c.chain_id,
      least(coalesce((SELECT min(l.block_number) FROM logs l WHERE l.chain_id = c.chain_id), c.last_block),
            c.last_block),
      c.last_block);
  END LOOP;
END;
$$;

-- The slash ledger, one page (moved from 003; each slash with its executor,
-- `by`, from the accountability part).
CREATE OR REPLACE FUNCTION dimo_slashes_page(p_chain_id bigint, p_license text, p_after text, p_limit int,
                                  p_at_block bigint DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET jit = off
AS $$
DECLARE
  v_limit int := least(greatest(coalesce(p_limit, 100), 1), 1000);
  v_block bigint;
  v_keys dimo_license_key[];
  v_after_block bigint := -1;
  v_after_log int := -1;
  v_items jsonb;
  v_count int;
  v_next text;
BEGIN
  v_block := dimo_internal.as_of(p_chain_id, p_at_block);
  IF v_block IS NULL THEN
    RETURN jsonb_build_object('slashes', '[]'::jsonb, 'next', NULL);
  END IF;
  IF p_license IS NOT NULL THEN
    v_keys := ARRAY(SELECT ROW(f.contract, f.token_id)::dimo_license_key
                    FROM dimo_internal.find_licenses_best(p_chain_id, NULL, p_license, v_block) f);
    IF cardinality(v_keys) = 0 THEN
      RETURN NULL;
    END IF;
  END IF;
  IF coalesce(p_after, '') <> '' THEN
    IF p_after !~ '^s1\.[0-9]{1,18}\.[0-9]{1,9}$' THEN
      PERFORM dimo_internal.bad_arg('malformed page cursor');
    END IF;
    v_after_block := split_part(p_after, '.', 2)::bigint;
    v_after_log := split_part(p_after, '.', 3)::int;
  END IF;
  WITH page AS (
    SELECT m.*, row_number() OVER (ORDER BY m.block_number, m.log_index) AS rn
    FROM (
      SELECT m.* FROM stake_movements m
      WHERE m.chain_id = p_chain_id AND m.kind IN ('forfeit_burn', 'forfeit_reallocate', 'forfeit')
        AND m.token_id IS NOT NULL AND m.block_number <= v_block
        AND (m.block_number, m.log_index) > (v_after_block, v_after_log)
        AND (v_keys IS NULL OR ROW(m.contract, m.token_id)::dimo_license_key = ANY (v_keys))
      ORDER BY m.block_number, m.log_index
      LIMIT v_limit + 1) m)
  SELECT coalesce(jsonb_agg(jsonb_build_object(
        'license', jsonb_build_object('contract', dimo_hex(p.contract), 'token_id', p.token_id::text,
          'class', coalesce(s.class, dimo_internal.class(p_chain_id, p.contract, p.role))),
        'owner', dimo_hex(p.owner), 'amount', p.amount::text,
        'destination', dimo_internal.slash_destination(p.kind, p.to_address), 'block', p.block_number,
        'time', dimo_iso(p.block_time), 'tx', dimo_hex(p.tx_hash), 'log_index', p.log_index,
        'by', dimo_internal.action_by(p_chain_id, p.block_number, p.log_index))
      ORDER BY p.rn) FILTER (WHERE p.rn <= v_limit), '[]'),
    count(*),
    max(CASE WHEN p.rn = v_limit THEN 's1.' || p.block_number || '.' || p.log_index END)
    INTO v_items, v_count, v_next
  FROM page p
  LEFT JOIN license_state s ON s.chain_id = p_chain_id AND s.contract = p.contract
    AND s.token_id = p.token_id;
  RETURN jsonb_build_object('slashes', v_items, 'next', CASE WHEN v_count > v_limit THEN v_next END,
    'as_of_block', v_block);
END;
$$;

-- ---- documents in a stable, readable order (issue #18 item 4) -----------------
-- jsonb keeps no key order (its text form sorts keys by length, so
-- `token_id` lands deep inside), and the license documents are jsonb
-- inside the model (the documents cache, `||`, `->`). The public readers
-- (dimo_license_lookup, dimo_node_doc, dimo_connection_doc,
-- dimo_verify_license) render them to `json` at the edge with
-- dimo_doc_json, in shared/license-json.md's order: the documented
-- members first, in the order of its example, then the extra members
-- (class-specific ones in the order their producers write them, unknown
-- ones by name), then as_of_time and finality. Nested objects (issued,
-- signers, stake_history, slashes, ...) follow one member order too. The
-- text form is jsonb's ({"k": v, "k2": [1, 2]}): only the order changes.

-- A member's rank among the top-level members of a document.
CREATE OR REPLACE FUNCTION dimo_internal.doc_top_rank(p_key text) RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT coalesce(array_position(ARRAY[
    -- shared/license-json.md's example
    'class', 'contract', 'token_id', 'owner', 'client_id', 'alias', 'status', 'frozen', 'staked',
    'required_stake', 'trust_ratio', 'issued', 'revoked', 'signers', 'redirect_uris',
    'stake_history', 'slashes', 'as_of_block',
    -- extra members: apps and manufacturers
    'staked_dimo', 'required_stake_dimo', 'minimum_stake', 'period_validity',
    -- nodes
    'label', 'uri', 'anchor_address', 'users', 'uris', 'transfers',
    -- connections
    'name', 'connection_address', 'generation', 'mint_event', 'type', 'type_name', 'mint_cost',
    'points', 'cost_paid', 'upgrades', 'history'], p_key),
    CASE WHEN p_key IN ('as_of_time', 'finalized_block', 'final') THEN 2000 ELSE 1000 END)
    + CASE p_key WHEN 'finalized_block' THEN 1 WHEN 'final' THEN 2 ELSE 0 END
$$;

-- A member's rank inside a nested object (issued, revoked, signers[],
-- redirect_uris[], stake_history[], slashes[] and its `by`, a node's uris[]
-- and transfers[], a connection's history[]): what, then where.
CREATE OR REPLACE FUNCTION dimo_internal.doc_nested_rank(p_key text) RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT coalesce(array_position(ARRAY[
    'address', 'enabled_at', 'expires_at', 'valid', 'uri', 'enabled',
    'kind', 'event', 'generation', 'amount', 'balance_after', 'destination',
    'from', 'account', 'to', 'connection_address', 'name', 'type', 'cost', 'points',
    'block', 'time', 'tx', 'log_index', 'by'], p_key), 1000)
$$;

-- The text of a jsonb value with object members in document order
-- (p_top: the rank of a document's top level, else the nested one).
CREATE OR REPLACE FUNCTION dimo_internal.doc_text(p jsonb, p_top boolean) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
BEGIN
  CASE jsonb_typeof(p)
  WHEN 'object' THEN
    RETURN '{' || coalesce((SELECT string_agg(to_json(e.key)::text || ': ' || dimo_internal.doc_text(e.value, false), ', '
                                              ORDER BY CASE WHEN p_top THEN dimo_internal.doc_top_rank(e.key)
                                                            ELSE dimo_internal.doc_nested_rank(e.key) END, e.key)
                            FROM jsonb_each(p) e), '') || '}';
  WHEN 'array' THEN
    RETURN '[' || coalesce((SELECT string_agg(dimo_internal.doc_text(a.v, false), ', ' ORDER BY a.n)
                            FROM jsonb_array_elements(p) WITH ORDINALITY a(v, n)), '') || ']';
  ELSE
    RETURN p::text; -- scalars (and NULL) as jsonb writes them
  END CASE;
END;
$$;

-- A license document (jsonb) as `json` in document order; NULL for NULL.
CREATE OR REPLACE FUNCTION dimo_doc_json(p_doc jsonb) RETURNS json
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT dimo_internal.doc_text(p_doc, true)::json
$$;

-- Makes a public reader of documents answer `json` in document order: the
-- migration's jsonb version of p_name(p_args) is moved to
-- dimo_internal.<name without dimo_>_jsonb (the model's own callers and
-- tests may use that one) and p_name becomes a function of the same parameters
-- returning p_render (a format whose %s is the call of the jsonb version;
-- default: the document rendered by dimo_doc_json). Idempotent: once the
-- public name answers json, nothing is renamed and the wrapper is
-- re-created.
CREATE OR REPLACE FUNCTION dimo_internal.doc_json_reader(p_name text, p_args text,
                                                 p_render text DEFAULT 'dimo_doc_json(%s)')
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
  v_inner text := substr(p_name, 6) || '_jsonb'; -- its name in dimo_internal
  v_fn regprocedure := to_regprocedure(format('public.%I(%s)', p_name, p_args));
  v_old regprocedure;
BEGIN
  IF v_fn IS NOT NULL AND (SELECT prorettype FROM pg_proc WHERE oid = v_fn) = 'jsonb'::regtype THEN
    EXECUTE format('ALTER FUNCTION %s SET SCHEMA dimo_internal', v_fn);
    EXECUTE format('ALTER FUNCTION dimo_internal.%I(%s) RENAME TO %I', p_name, p_args, v_inner);
  END IF;
  v_old := to_regprocedure(format('dimo_internal.%I(%s)', v_inner, p_args));
  EXECUTE (SELECT format('CREATE OR REPLACE FUNCTION public.%I(%s) RETURNS json LANGUAGE sql STABLE AS %L',
                         p_name, pg_get_function_arguments(v_old),
                         'SELECT ' || format(p_render, format('dimo_internal.%I(%s)', v_inner,
                                                             array_to_string(p.proargnames, ', '))))
           FROM pg_proc p WHERE p.oid = v_old);
END;
$$;

-- GET /v1/apps/{id} and /v1/manufacturers/{id}, `verify`: the first
-- document a key finds (003's dimo_license_lookup), in document order.
SELECT dimo_internal.doc_json_reader('dimo_license_lookup', 'bigint, text, text, bigint, timestamptz');

-- POST /v1/verify and `verify`: 003's answer ({valid, reason, license})
-- with the license document in document order.
SELECT dimo_internal.doc_json_reader('dimo_verify_license', 'bigint, bytea, bytea, timestamptz',
  $r$(SELECT ('{"valid": ' || (v -> 'valid')::text || ', "reason": ' || (v -> 'reason')::text
    || ', "license": ' || coalesce(dimo_internal.doc_text(v -> 'license', true), 'null') || '}')::json
  FROM %s v)$r$);
