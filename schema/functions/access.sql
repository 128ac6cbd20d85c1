-- The opt-in part's views that changed after 005 (repeatable: applied on
-- every migrate whose checksum differs, after the migrations).

-- Every legacy privilege with its state now: valid while expires >= now
-- (the vehicle contract's hasPrivilege uses >=, SACD >), not reset by a
-- transfer of the token since it was set, and the token not burned. The
-- vehicle contract bumps the token's privilege version on a transfer and
-- on a burn alike (dimo-identity MultiPrivilegeTransferableBurnable:
-- `_transfer` and `_burn` both do tokenIdToVersion[tokenId]++), and
-- hasPrivilege of a burned token reverts (ownerOf): a privilege set before
-- the burn is never valid again (005 had only the transfer). The contract's
-- shortcut for the owner itself is not an opt-in and is left out.
CREATE OR REPLACE VIEW vehicle_privilege_status AS
SELECT p.chain_id, p.asset, p.token_id, p.priv_id, p.holder, p.version, p.expires, p.expires_at,
  p.block_number, p.log_index, p.block_time, p.tx_hash, rs.reset AS reset_by_transfer,
  NOT rs.reset AND NOT coalesce(v.burned, false) AND p.expires >= dimo_internal.unix_seconds(now()) AS valid_now
FROM vehicle_privileges p
LEFT JOIN vehicle_state v ON v.chain_id = p.chain_id AND v.asset = p.asset AND v.token_id = p.token_id
CROSS JOIN LATERAL (SELECT coalesce((v.reset_block, v.reset_log_index) > (p.block_number, p.log_index),
                                    false) AS reset) rs;

-- ---- SACD's token rules for every asset whose transfers are indexed ----------
--
-- SACD's views since the templateId upgrade ask the asset's ownerOf for
-- any asset (sacd 3f6baaa, hasPermissions: the owner has every permission,
-- a token whose ownerOf reverts has none). 005 applied that to vehicles
-- only; a Connections contract's transfers are indexed too (008), so its
-- owner and its mints and burns are known as well (an audit's finding: a
-- connection's owner was refused where the contract answers true). Assets
-- whose transfers are not indexed are answered from the record alone.
CREATE OR REPLACE FUNCTION dimo_internal.followed_asset(p_chain_id bigint, p_asset bytea) RETURNS boolean
LANGUAGE sql STABLE
AS $$
  SELECT EXISTS (SELECT 1 FROM contracts c WHERE c.chain_id = p_chain_id AND c.address = p_asset
                 AND c.role IN ('vehicle', 'connection'))
$$;

-- The last ERC-721 Transfer of a followed asset's token at or before a
-- block: kind (mint, transfer, burn) and its recipient; no row when the
-- token was never minted by then.
CREATE OR REPLACE FUNCTION dimo_internal.asset_last_transfer(p_chain_id bigint, p_asset bytea, p_token_id numeric,
                                                        p_block bigint)
RETURNS TABLE(kind text, to_address bytea)
LANGUAGE sql STABLE
AS $$
  SELECT y.kind, y.to_address FROM (
    (SELECT x.kind, x.to_address, x.block_number, x.log_index FROM vehicle_transfers x
     WHERE x.chain_id = p_chain_id AND x.asset = p_asset AND x.token_id = p_token_id
       AND x.block_number <= p_block
     ORDER BY x.block_number DESC, x.log_index DESC LIMIT 1)
    UNION ALL
    (SELECT CASE WHEN e.to_address = '\x0000000000000000000000000000000000000000'::bytea THEN 'burn'
              WHEN e.from_address = '\x0000000000000000000000000000000000000000'::bytea THEN 'mint'
              ELSE 'transfer' END,
       e.to_address, e.block_number, e.log_index
     FROM connection_events e
     WHERE e.chain_id = p_chain_id AND e.contract = p_asset AND e.token_id = p_token_id AND e.kind = 'transfer'
       AND e.block_number <= p_block
     ORDER BY e.block_number DESC, e.log_index DESC LIMIT 1)) y
  ORDER BY y.block_number DESC, y.log_index DESC LIMIT 1
$$;

-- As 005's, with the token's last transfer from asset_last_transfer.
CREATE OR REPLACE FUNCTION dimo_internal.sacd_check(p_chain_id bigint, p_asset bytea, p_token_id numeric, p_grantee bytea,
                                 p_permission int, p_account boolean, p_block bigint, p_now numeric,
                                 OUT has boolean, OUT reasons text[], OUT via text,
                                 OUT expiration numeric, OUT grant_doc jsonb, OUT token_doc jsonb,
                                 OUT sacd_doc jsonb)
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  v_sacd bytea := dimo_internal.sacd_at(p_chain_id, p_block);
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
  v_rules_from := CASE WHEN v_sacd IS NOT NULL THEN dimo_internal.sacd_rules_block(p_chain_id, v_sacd) END;
  v_rules := coalesce(p_block >= v_rules_from, false);
  sacd_doc := jsonb_build_object('contract', dimo_hex(v_sacd), 'owner_rules', v_rules,
    'owner_rules_since_block', v_rules_from);
  v_kind := CASE WHEN p_account THEN 'account'
    WHEN dimo_internal.connection_asset(p_chain_id, p_asset) THEN 'connection' ELSE 'token' END;
  IF NOT p_account AND dimo_internal.followed_asset(p_chain_id, p_asset) THEN
    v_followed := true;
    SELECT x.kind, x.to_address INTO t_kind, t_owner
    FROM dimo_internal.asset_last_transfer(p_chain_id, p_asset, p_token_id, p_block) x;
    token_doc := jsonb_build_object('minted', t_kind IS NOT NULL, 'burned', coalesce(t_kind = 'burn', false),
      'owner', CASE WHEN t_kind <> 'burn' THEN dimo_hex(t_owner) END);
  END IF;

  -- The record.
  SELECT * INTO g FROM dimo_internal.grant_at(p_chain_id, v_sacd, p_account, p_asset, p_token_id, p_grantee,
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
      FROM dimo_internal.template_at(p_chain_id, g.template_id, p_block) x;
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
      'expires_at', dimo_iso(dimo_internal.unix_time(g.expiration)),
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

