-- 007_storage_nodes.sql: DIP-5's node operators as they appear on chain:
-- storage-node anchors (role `storage_node`: an ERC-721 per node, tokenId =
-- keccak256(label), minted by a minter, transferable, with a URI), and
-- the DIMO registry's vehicle -> storage node assignments (role
-- `node_registry`: only VehicleStorageNodeIdSet and its older name
-- NodeIdSetForVehicleId are asked for). See shared/dimo-contracts.md,
-- section 5. One model part (001's model_parts, ord 30).
--
-- The same three layers as 002 and 005:
--   history   storage_node_events (mint, URI, transfer of each anchor),
--             vehicle_node_events (every assignment, both event names);
--             keyed like their log, appended by apply, cut above a block
--             by rollback: exact across reorgs;
--   current   storage_nodes (per anchor token), vehicle_storage_nodes (the
--             latest assignment per vehicle); recomputed per touched key
--             from the history alone, by the same refresh for apply and
--             rollback (a key left without history loses its row);
--   answers   dimo_node_doc (the license document of class `node`, as of
--             any block), dimo_node_users, the storage_node_users view and
--             the monthly metrics of DIP-5: users opted in to each node
--             (monthly_node_users) and users of each client
--             (monthly_client_users).
--
-- Users of a node (DIP-5's "users opted in to each node", and the "2 DIMO
-- per connected user" of a node's requirement): live vehicles whose latest
-- assignment names the node. A vehicle is live until its burn, the
-- `vehicle` contract's Transfer to 0x0 (005's vehicle_transfers); a burned
-- vehicle leaves every node (it has no node). Assignments and vehicles are
-- keyed by the vehicle's token id: one DIMO registry and one vehicle NFT
-- per chain, as on Polygon.
--
-- No contract holds a node operator's bond (section 4: "the Foundation
-- will collect and hold bonding deposits"), so a node document's `staked`
-- and `trust_ratio` are null; `required_stake` is the seed's rule,
-- 100,000 DIMO plus 2 DIMO per user (dimo_node_required_stake).

-- ---- history -----------------------------------------------------------------

-- kind: anchor (StorageNodeAnchorMinted: label, uri, anchor), uri
-- (NodeUriUpdated: uri), transfer (Transfer: from, to; a mint is from 0x0,
-- a burn to 0x0).
CREATE TABLE storage_node_events (
  chain_id bigint NOT NULL,
  block_number bigint NOT NULL,
  log_index int NOT NULL,
  tx_hash bytea NOT NULL,
  block_time timestamptz NOT NULL,
  contract bytea NOT NULL,
  token_id numeric(78,0) NOT NULL,
  kind text NOT NULL CHECK (kind IN ('anchor', 'uri', 'transfer')),
  from_address bytea,
  to_address bytea,
  anchor bytea,
  label text,
  uri text,
  PRIMARY KEY (chain_id, block_number, log_index)
);
CREATE INDEX storage_node_events_token
  ON storage_node_events (chain_id, contract, token_id, block_number, log_index);
CREATE INDEX storage_node_events_label ON storage_node_events (chain_id, label) WHERE label IS NOT NULL;

-- event: the name the registry used (NodeIdSetForVehicleId before the
-- July 2025 rename, VehicleStorageNodeIdSet after); node_id is the
-- resolved id (the registry resolves 0 to its default node).
CREATE TABLE vehicle_node_events (
  chain_id bigint NOT NULL,
  block_number bigint NOT NULL,
  log_index int NOT NULL,
  tx_hash bytea NOT NULL,
  block_time timestamptz NOT NULL,
  registry bytea NOT NULL,
  vehicle_id numeric(78,0) NOT NULL,
  node_id numeric(78,0) NOT NULL,
  event text NOT NULL,
  PRIMARY KEY (chain_id, block_number, log_index)
);
CREATE INDEX vehicle_node_events_vehicle ON vehicle_node_events (chain_id, vehicle_id, block_number, log_index);
CREATE INDEX vehicle_node_events_node ON vehicle_node_events (chain_id, node_id, block_number);

-- ---- current state -------------------------------------------------------------

-- Per anchor token: the latest label, anchor address and URI, the owner
-- (the last one after a burn), its latest mint and, while burned, its burn.
CREATE TABLE storage_nodes (
  chain_id bigint NOT NULL,
  contract bytea NOT NULL,
  token_id numeric(78,0) NOT NULL,
  label text,
  anchor bytea,
  uri text,
  owner bytea,
  burned boolean NOT NULL,
  issued_block bigint,
  issued_time timestamptz,
  issued_tx bytea,
  revoked_block bigint,
  revoked_time timestamptz,
  revoked_tx bytea,
  changed_block bigint NOT NULL,
  PRIMARY KEY (chain_id, contract, token_id)
);
CREATE INDEX storage_nodes_label ON storage_nodes (chain_id, label);

-- The latest assignment of each vehicle (burned vehicles keep their row:
-- users are counted with vehicle_state.burned).
CREATE TABLE vehicle_storage_nodes (
  chain_id bigint NOT NULL,
  vehicle_id numeric(78,0) NOT NULL,
  node_id numeric(78,0) NOT NULL,
  registry bytea NOT NULL,
  block_number bigint NOT NULL,
  log_index int NOT NULL,
  block_time timestamptz NOT NULL,
  tx_hash bytea NOT NULL,
  PRIMARY KEY (chain_id, vehicle_id)
) WITH (fillfactor = 70);
CREATE INDEX vehicle_storage_nodes_node ON vehicle_storage_nodes (chain_id, node_id);

CREATE TYPE dimo_node_key AS (contract bytea, token_id numeric);

-- ---- refresh ----------------------------------------------------------------------

CREATE FUNCTION dimo__refresh_storage_nodes(p_chain_id bigint, p_keys dimo_node_key[]) RETURNS void
LANGUAGE sql
AS $$
  WITH k AS (SELECT DISTINCT u.contract, u.token_id FROM unnest(p_keys) u),
  cur AS (
    SELECT k.contract, k.token_id, t.block_number AS t_block, t.from_address, t.to_address,
      t.block_time AS t_time, t.tx_hash AS t_tx, a.label, a.anchor, u.uri, m.block_number AS m_block,
      m.block_time AS m_time, m.tx_hash AS m_tx,
      greatest(t.block_number, a.block_number, u.block_number) AS changed
    FROM k
    LEFT JOIN LATERAL (
      SELECT e.* FROM storage_node_events e
      WHERE e.chain_id = p_chain_id AND e.contract = k.contract AND e.token_id = k.token_id
        AND e.kind = 'transfer'
      ORDER BY e.block_number DESC, e.log_index DESC LIMIT 1) t ON true
    LEFT JOIN LATERAL (
      SELECT e.* FROM storage_node_events e
      WHERE e.chain_id = p_chain_id AND e.contract = k.contract AND e.token_id = k.token_id
        AND e.kind = 'anchor'
      ORDER BY e.block_number DESC, e.log_index DESC LIMIT 1) a ON true
    LEFT JOIN LATERAL (
      SELECT e.* FROM storage_node_events e
      WHERE e.chain_id = p_chain_id AND e.contract = k.contract AND e.token_id = k.token_id
        AND e.kind IN ('anchor', 'uri')
      ORDER BY e.block_number DESC, e.log_index DESC LIMIT 1) u ON true
    LEFT JOIN LATERAL (
      SELECT e.* FROM storage_node_events e
      WHERE e.chain_id = p_chain_id AND e.contract = k.contract AND e.token_id = k.token_id
        AND e.kind = 'transfer' AND e.from_address = '\x0000000000000000000000000000000000000000'::bytea
      ORDER BY e.block_number DESC, e.log_index DESC LIMIT 1) m ON true),
  gone AS (
    DELETE FROM storage_nodes s USING cur
    WHERE cur.changed IS NULL AND s.chain_id = p_chain_id AND s.contract = cur.contract
      AND s.token_id = cur.token_id)
  INSERT INTO storage_nodes AS s (chain_id, contract, token_id, label, anchor, uri, owner, burned,
    issued_block, issued_time, issued_tx, revoked_block, revoked_time, revoked_tx, changed_block)
  SELECT p_chain_id, c.contract, c.token_id, c.label, c.anchor, c.uri,
    CASE WHEN c.to_address = '\x0000000000000000000000000000000000000000'::bytea THEN c.from_address
      ELSE c.to_address END,
    coalesce(c.to_address = '\x0000000000000000000000000000000000000000'::bytea, false),
    c.m_block, c.m_time, c.m_tx,
    CASE WHEN c.to_address = '\x0000000000000000000000000000000000000000'::bytea THEN c.t_block END,
    CASE WHEN c.to_address = '\x0000000000000000000000000000000000000000'::bytea THEN c.t_time END,
    CASE WHEN c.to_address = '\x0000000000000000000000000000000000000000'::bytea THEN c.t_tx END,
    c.changed
  FROM cur c WHERE c.changed IS NOT NULL
  ON CONFLICT (chain_id, contract, token_id) DO UPDATE SET
    label = EXCLUDED.label, anchor = EXCLUDED.anchor, uri = EXCLUDED.uri, owner = EXCLUDED.owner,
    burned = EXCLUDED.burned, issued_block = EXCLUDED.issued_block, issued_time = EXCLUDED.issued_time,
    issued_tx = EXCLUDED.issued_tx, revoked_block = EXCLUDED.revoked_block,
    revoked_time = EXCLUDED.revoked_time, revoked_tx = EXCLUDED.revoked_tx,
    changed_block = EXCLUDED.changed_block;
$$;

CREATE FUNCTION dimo__refresh_vehicle_nodes(p_chain_id bigint, p_vehicles numeric[]) RETURNS void
LANGUAGE sql
AS $$
  WITH last AS (
    SELECT k.vehicle_id, e.node_id, e.registry, e.block_number, e.log_index, e.block_time, e.tx_hash
    FROM (SELECT DISTINCT u AS vehicle_id FROM unnest(p_vehicles) u) k
    LEFT JOIN LATERAL (
      SELECT e.* FROM vehicle_node_events e
      WHERE e.chain_id = p_chain_id AND e.vehicle_id = k.vehicle_id
      ORDER BY e.block_number DESC, e.log_index DESC LIMIT 1) e ON true),
  gone AS (
    DELETE FROM vehicle_storage_nodes v USING last
    WHERE last.block_number IS NULL AND v.chain_id = p_chain_id AND v.vehicle_id = last.vehicle_id)
  INSERT INTO vehicle_storage_nodes AS v (chain_id, vehicle_id, node_id, registry, block_number,
    log_index, block_time, tx_hash)
  SELECT p_chain_id, l.vehicle_id, l.node_id, l.registry, l.block_number, l.log_index, l.block_time,
    l.tx_hash
  FROM last l WHERE l.block_number IS NOT NULL
  ON CONFLICT (chain_id, vehicle_id) DO UPDATE SET
    node_id = EXCLUDED.node_id, registry = EXCLUDED.registry, block_number = EXCLUDED.block_number,
    log_index = EXCLUDED.log_index, block_time = EXCLUDED.block_time, tx_hash = EXCLUDED.tx_hash;
$$;

-- Recomputes the keys with history in p_from_block..p_to_block (NULL: no
-- upper end, for a rollback).
CREATE FUNCTION dimo__nodes_refresh_range(p_chain_id bigint, p_from_block bigint, p_to_block bigint)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
  v_to bigint := coalesce(p_to_block, 9223372036854775807);
  v_nodes dimo_node_key[];
  v_vehicles numeric[];
BEGIN
  v_nodes := ARRAY(SELECT DISTINCT ROW(e.contract, e.token_id)::dimo_node_key FROM storage_node_events e
    WHERE e.chain_id = p_chain_id AND e.block_number BETWEEN p_from_block AND v_to);
  v_vehicles := ARRAY(SELECT DISTINCT e.vehicle_id FROM vehicle_node_events e
    WHERE e.chain_id = p_chain_id AND e.block_number BETWEEN p_from_block AND v_to);
  IF cardinality(v_nodes) > 0 THEN
    PERFORM dimo__refresh_storage_nodes(p_chain_id, v_nodes);
  END IF;
  IF cardinality(v_vehicles) > 0 THEN
    PERFORM dimo__refresh_vehicle_nodes(p_chain_id, v_vehicles);
  END IF;
END;
$$;

-- ---- apply and rollback ---------------------------------------------------------

CREATE FUNCTION dimo__nodes_apply(p_chain_id bigint, p_from_block bigint, p_to_block bigint)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
  WITH b AS MATERIALIZED (
    SELECT l.block_number, l.log_index, l.tx_hash, l.block_time, l.address AS contract,
      coalesce(l.role, c.role) AS role, l.event, l.args
    FROM logs l
    LEFT JOIN contracts c ON c.chain_id = l.chain_id AND c.address = l.address
    WHERE l.chain_id = p_chain_id AND l.block_number BETWEEN p_from_block AND p_to_block
      AND coalesce(l.role, c.role) IN ('storage_node', 'node_registry')
  ),
  sn AS (
    INSERT INTO storage_node_events (chain_id, block_number, log_index, tx_hash, block_time, contract,
      token_id, kind, from_address, to_address, anchor, label, uri)
    SELECT p_chain_id, x.block_number, x.log_index, x.tx_hash, x.block_time, x.contract, x.token_id,
      x.kind, x.from_address, x.to_address, x.anchor, x.label, x.uri
    FROM (
      SELECT b.*,
        CASE b.event
          WHEN 'StorageNodeAnchorMinted(address,uint256,address,string,string)' THEN 'anchor'
          WHEN 'NodeUriUpdated(uint256,string)' THEN 'uri'
          ELSE 'transfer' END AS kind,
        dimo__uint(coalesce(b.args ->> 'nodeAnchorId', b.args ->> 'nodeId', b.args ->> 'id')) AS token_id,
        dimo__addr(b.args ->> 'from') AS from_address, dimo__addr(b.args ->> 'to') AS to_address,
        dimo__addr(b.args ->> 'nodeAnchorAddr') AS anchor, dimo__str(b.args -> 'nodeAnchorLabel') AS label,
        dimo__str(coalesce(b.args -> 'nodeAnchorUri', b.args -> 'newNodeUri')) AS uri
      FROM b
      WHERE b.role = 'storage_node' AND b.event IN (
        'StorageNodeAnchorMinted(address,uint256,address,string,string)',
        'NodeUriUpdated(uint256,string)', 'Transfer(address,address,uint256)')
      OFFSET 0
    ) x
    WHERE x.token_id IS NOT NULL
      AND CASE x.kind WHEN 'transfer' THEN x.from_address IS NOT NULL AND x.to_address IS NOT NULL
        WHEN 'uri' THEN x.uri IS NOT NULL
        ELSE x.label IS NOT NULL AND x.uri IS NOT NULL AND x.anchor IS NOT NULL END
  )
  INSERT INTO vehicle_node_events (chain_id, block_number, log_index, tx_hash, block_time, registry,
    vehicle_id, node_id, event)
  SELECT p_chain_id, x.block_number, x.log_index, x.tx_hash, x.block_time, x.contract, x.vehicle_id,
    x.node_id, x.event_name
  FROM (
    SELECT b.*, dimo__uint(b.args ->> 'vehicleId') AS vehicle_id,
      dimo__uint(b.args ->> 'storageNodeId') AS node_id, split_part(b.event, '(', 1) AS event_name
    FROM b
    WHERE b.role = 'node_registry' AND b.event IN ('VehicleStorageNodeIdSet(uint256,uint256)',
                                                   'NodeIdSetForVehicleId(uint256,uint256)')
    OFFSET 0
  ) x
  WHERE x.vehicle_id IS NOT NULL AND x.node_id IS NOT NULL;

  PERFORM dimo__nodes_refresh_range(p_chain_id, p_from_block, p_to_block);
END;
$$;

-- Rows above p_keep_block go; the keys they touched are recomputed from
-- what remains (collected first, while the rows still exist).
CREATE FUNCTION dimo__nodes_rollback(p_chain_id bigint, p_keep_block bigint)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
  v_nodes dimo_node_key[];
  v_vehicles numeric[];
BEGIN
  v_nodes := ARRAY(SELECT DISTINCT ROW(e.contract, e.token_id)::dimo_node_key FROM storage_node_events e
    WHERE e.chain_id = p_chain_id AND e.block_number > p_keep_block);
  v_vehicles := ARRAY(SELECT DISTINCT e.vehicle_id FROM vehicle_node_events e
    WHERE e.chain_id = p_chain_id AND e.block_number > p_keep_block);
  DELETE FROM storage_node_events WHERE chain_id = p_chain_id AND block_number > p_keep_block;
  DELETE FROM vehicle_node_events WHERE chain_id = p_chain_id AND block_number > p_keep_block;
  IF cardinality(v_nodes) > 0 THEN
    PERFORM dimo__refresh_storage_nodes(p_chain_id, v_nodes);
  END IF;
  IF cardinality(v_vehicles) > 0 THEN
    PERFORM dimo__refresh_vehicle_nodes(p_chain_id, v_vehicles);
  END IF;
END;
$$;

INSERT INTO model_parts (ord, name, apply_fn, rollback_fn)
VALUES (30, 'storage_nodes', 'dimo__nodes_apply(bigint,bigint,bigint)',
        'dimo__nodes_rollback(bigint,bigint)');

-- ---- answers ---------------------------------------------------------------------------

-- The seed's node requirement: 100,000 DIMO plus 2 DIMO per user, in wei.
-- (Requirements as data, issue #23 item 4, will read this from the
-- network file's `requirements`; until then this is its one place.)
CREATE FUNCTION dimo_node_required_stake(p_users bigint) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT 100000000000000000000000::numeric + 2000000000000000000::numeric * p_users $$;

-- Was vehicle p_vehicle_id burned at or before block p_block? (Its latest
-- Transfer then, on a `vehicle` contract, went to 0x0.) A vehicle whose
-- transfers are not indexed counts as live.
CREATE FUNCTION dimo__vehicle_burned(p_chain_id bigint, p_vehicle_id numeric, p_block bigint)
RETURNS boolean
LANGUAGE sql STABLE
AS $$
  SELECT coalesce((
    SELECT t.kind = 'burn' FROM vehicle_transfers t
    WHERE t.chain_id = p_chain_id
      AND t.asset IN (SELECT c.address FROM contracts c WHERE c.chain_id = p_chain_id AND c.role = 'vehicle')
      AND t.token_id = p_vehicle_id AND t.block_number <= p_block
    ORDER BY t.block_number DESC, t.log_index DESC LIMIT 1), false)
$$;

-- Users of node p_node_id as of block p_at_block (NULL: the last indexed
-- block): live vehicles whose latest assignment at that block names it.
-- At the last indexed block the current tables answer (one index range
-- of the node's vehicles, one probe each for a burn); at a past block,
-- history: the candidates are the vehicles ever assigned to it by then
-- (index on node_id), each checked with one probe for its latest
-- assignment and one for its burn.
CREATE FUNCTION dimo_node_users(p_chain_id bigint, p_node_id numeric, p_at_block bigint DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  v_block bigint := dimo__as_of(p_chain_id, p_at_block);
BEGIN
  IF v_block IS NULL THEN
    RETURN NULL;
  END IF;
  IF v_block = (SELECT m.block_number FROM model_cursor m WHERE m.chain_id = p_chain_id) THEN
    RETURN (
      SELECT count(*) FROM vehicle_storage_nodes v
      WHERE v.chain_id = p_chain_id AND v.node_id = p_node_id
        AND NOT EXISTS (
          SELECT 1 FROM vehicle_state s
          WHERE s.chain_id = p_chain_id AND s.token_id = v.vehicle_id AND s.burned
            AND s.asset IN (SELECT c.address FROM contracts c WHERE c.chain_id = p_chain_id AND c.role = 'vehicle')));
  END IF;
  RETURN (
    SELECT count(*) FROM (
      SELECT DISTINCT e.vehicle_id FROM vehicle_node_events e
      WHERE e.chain_id = p_chain_id AND e.node_id = p_node_id AND e.block_number <= v_block) v
    WHERE (SELECT l.node_id FROM vehicle_node_events l
           WHERE l.chain_id = p_chain_id AND l.vehicle_id = v.vehicle_id AND l.block_number <= v_block
           ORDER BY l.block_number DESC, l.log_index DESC LIMIT 1) = p_node_id
      AND NOT dimo__vehicle_burned(p_chain_id, v.vehicle_id, v_block));
END;
$$;

-- The license document (shared/license-json.md) of class `node` for one
-- anchor token as of block p_block; NULL when the token had no Transfer
-- by then (not minted yet).
--   alias:  the label. A label names one token forever (tokenId =
--           keccak256(label)) and is the node's look-up name, which is
--           what `alias` means in the shared shape; `label` carries it too.
--   status: active, or revoked once burned (owner: the last owner).
--   frozen: false (the contract has no freeze); staked and trust_ratio
--           null (no node bond on chain); users and required_stake as of
--           the block.
--   uris:   every URI the node had (the mint's, then each NodeUriUpdated).
CREATE FUNCTION dimo__node_doc_at(p_chain_id bigint, p_contract bytea, p_token_id numeric, p_block bigint)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  t record;
  a record;
  m record;
  v_users bigint;
  v_burned boolean;
  v_uris jsonb;
  v_transfers jsonb;
BEGIN
  SELECT e.* INTO t FROM storage_node_events e
  WHERE e.chain_id = p_chain_id AND e.contract = p_contract AND e.token_id = p_token_id
    AND e.kind = 'transfer' AND e.block_number <= p_block
  ORDER BY e.block_number DESC, e.log_index DESC LIMIT 1;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  v_burned := t.to_address = '\x0000000000000000000000000000000000000000'::bytea;
  SELECT e.* INTO a FROM storage_node_events e
  WHERE e.chain_id = p_chain_id AND e.contract = p_contract AND e.token_id = p_token_id
    AND e.kind = 'anchor' AND e.block_number <= p_block
  ORDER BY e.block_number DESC, e.log_index DESC LIMIT 1;
  SELECT e.* INTO m FROM storage_node_events e
  WHERE e.chain_id = p_chain_id AND e.contract = p_contract AND e.token_id = p_token_id
    AND e.kind = 'transfer' AND e.from_address = '\x0000000000000000000000000000000000000000'::bytea
    AND e.block_number <= p_block
  ORDER BY e.block_number DESC, e.log_index DESC LIMIT 1;
  SELECT coalesce(jsonb_agg(jsonb_build_object('uri', e.uri, 'block', e.block_number,
      'log_index', e.log_index, 'time', dimo_iso(e.block_time), 'tx', dimo_hex(e.tx_hash))
      ORDER BY e.block_number, e.log_index), '[]'::jsonb)
    INTO v_uris FROM storage_node_events e
  WHERE e.chain_id = p_chain_id AND e.contract = p_contract AND e.token_id = p_token_id
    AND e.kind IN ('anchor', 'uri') AND e.block_number <= p_block;
  SELECT coalesce(jsonb_agg(jsonb_build_object('from', dimo_hex(e.from_address),
      'to', dimo_hex(e.to_address), 'block', e.block_number, 'log_index', e.log_index,
      'time', dimo_iso(e.block_time), 'tx', dimo_hex(e.tx_hash))
      ORDER BY e.block_number, e.log_index), '[]'::jsonb)
    INTO v_transfers FROM storage_node_events e
  WHERE e.chain_id = p_chain_id AND e.contract = p_contract AND e.token_id = p_token_id
    AND e.kind = 'transfer' AND e.block_number <= p_block;
  v_users := dimo_node_users(p_chain_id, p_token_id, p_block);
  RETURN jsonb_build_object(
    'class', 'node',
    'contract', dimo_hex(p_contract),
    'token_id', p_token_id::text,
    'owner', dimo_hex(CASE WHEN v_burned THEN t.from_address ELSE t.to_address END),
    'client_id', NULL,
    'alias', a.label,
    'label', a.label,
    'uri', (v_uris -> -1) ->> 'uri',
    'anchor_address', dimo_hex(a.anchor),
    'status', CASE WHEN v_burned THEN 'revoked' ELSE 'active' END,
    'frozen', false,
    'staked', NULL,
    'required_stake', dimo_node_required_stake(v_users)::text,
    'trust_ratio', NULL,
    'users', v_users,
    'issued', CASE WHEN m.block_number IS NOT NULL THEN jsonb_build_object('block', m.block_number,
      'time', dimo_iso(m.block_time), 'tx', dimo_hex(m.tx_hash)) END,
    'revoked', CASE WHEN v_burned THEN jsonb_build_object('block', t.block_number,
      'time', dimo_iso(t.block_time), 'tx', dimo_hex(t.tx_hash)) END,
    'uris', v_uris,
    'transfers', v_transfers);
END;
$$;

-- GET /v1/nodes/{id|label}: the node document as of p_at_block (NULL: the
-- last indexed block). p_key: a decimal token id, else a label (a label
-- of digits only is tried as a token id first). NULL when nothing
-- matches then (or nothing is indexed yet); SQLSTATE 22023 for an empty
-- or over-long key or a block not indexed.
CREATE FUNCTION dimo_node_doc(p_chain_id bigint, p_key text, p_at_block bigint DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  v_block bigint;
  v_token numeric;
  r record;
  d jsonb;
BEGIN
  IF p_key IS NULL OR p_key = '' OR octet_length(p_key) > 1024 THEN
    PERFORM dimo__bad_arg('a node key is a token id or a label (1 to 1024 bytes)');
  END IF;
  v_block := dimo__as_of(p_chain_id, p_at_block);
  IF v_block IS NULL THEN
    RETURN NULL;
  END IF;
  v_token := dimo__uint(p_key);
  FOR r IN
    SELECT x.contract, x.token_id FROM (
      SELECT DISTINCT 1 AS pass, e.contract, e.token_id FROM storage_node_events e
      WHERE e.chain_id = p_chain_id AND e.token_id = v_token
      UNION
      SELECT DISTINCT 2, e.contract, e.token_id FROM storage_node_events e
      WHERE e.chain_id = p_chain_id AND e.label = p_key AND e.kind = 'anchor') x
    ORDER BY x.pass, x.contract
  LOOP
    d := dimo__node_doc_at(p_chain_id, r.contract, r.token_id, v_block);
    IF d IS NOT NULL THEN
      RETURN d || jsonb_build_object('as_of_block', v_block,
        'as_of_time', dimo_iso(dimo_block_time(p_chain_id, v_block)))
        || dimo__finality(p_chain_id, v_block);
    END IF;
  END LOOP;
  RETURN NULL;
END;
$$;

-- Every anchor token now, with its users (live vehicles assigned to it).
CREATE VIEW storage_node_users AS
SELECT s.chain_id, s.contract, s.token_id, s.label, s.uri, s.owner, s.burned,
  coalesce(u.users, 0) AS users, dimo_node_required_stake(coalesce(u.users, 0)) AS required_stake
FROM storage_nodes s
LEFT JOIN LATERAL (
  SELECT count(*) AS users FROM vehicle_storage_nodes v
  WHERE v.chain_id = s.chain_id AND v.node_id = s.token_id
    AND NOT coalesce((SELECT vs.burned FROM vehicle_state vs
                      WHERE vs.chain_id = v.chain_id AND vs.token_id = v.vehicle_id
                        AND vs.asset IN (SELECT c.address FROM contracts c
                                         WHERE c.chain_id = v.chain_id AND c.role = 'vehicle')
                      LIMIT 1), false)) u ON true;

-- ---- DIP-5 monthly metrics ------------------------------------------------------------

-- Users opted in to each node, per calendar month (UTC), from the month of
-- the node's mint to the month of the last indexed block. users: live
-- vehicles whose latest assignment names the node at the end of the month
-- (the current month: at the last indexed block); assignments: assignment
-- events naming the node during the month (moves to it, and re-sets).
CREATE FUNCTION dimo_monthly_node_users(p_chain_id bigint)
RETURNS TABLE(month date, contract bytea, token_id numeric, label text, users bigint, assignments bigint)
LANGUAGE sql STABLE
SET jit = off
AS $$
  WITH cur AS (
    SELECT m.block_time AS t FROM model_cursor m WHERE m.chain_id = p_chain_id),
  nodes AS (
    SELECT s.contract, s.token_id, s.label,
      (SELECT min(e.block_time) FROM storage_node_events e WHERE e.chain_id = p_chain_id
         AND e.contract = s.contract AND e.token_id = s.token_id) AS first_time
    FROM storage_nodes s WHERE s.chain_id = p_chain_id),
  months AS (
    SELECT m::date AS month, m AT TIME ZONE 'UTC' AS month_start,
      least((m + interval '1 month') AT TIME ZONE 'UTC', cur.t + interval '1 microsecond') AS cutoff
    FROM (SELECT min(n.first_time) AS t FROM nodes n) f, cur,
      generate_series(date_trunc('month', f.t AT TIME ZONE 'UTC'),
                      date_trunc('month', greatest(f.t, cur.t) AT TIME ZONE 'UTC'), interval '1 month') m),
  latest AS (
    SELECT m.month, x.node_id, count(*) AS users
    FROM months m
    CROSS JOIN LATERAL (
      SELECT DISTINCT ON (e.vehicle_id) e.vehicle_id, e.node_id FROM vehicle_node_events e
      WHERE e.chain_id = p_chain_id AND e.block_time < m.cutoff
      ORDER BY e.vehicle_id, e.block_number DESC, e.log_index DESC) x
    WHERE NOT EXISTS (
      SELECT 1 FROM vehicle_transfers t
      WHERE t.chain_id = p_chain_id AND t.token_id = x.vehicle_id AND t.kind = 'burn'
        AND t.block_time < m.cutoff
        AND t.asset IN (SELECT c.address FROM contracts c WHERE c.chain_id = p_chain_id AND c.role = 'vehicle'))
    GROUP BY 1, 2),
  flows AS (
    SELECT m.month, e.node_id, count(*) AS assignments
    FROM months m JOIN vehicle_node_events e ON e.chain_id = p_chain_id
      AND e.block_time >= m.month_start AND e.block_time < m.cutoff
    GROUP BY 1, 2)
  SELECT m.month, n.contract, n.token_id, n.label, coalesce(l.users, 0), coalesce(f.assignments, 0)
  FROM months m JOIN nodes n ON n.first_time < m.cutoff
  LEFT JOIN latest l ON l.month = m.month AND l.node_id = n.token_id
  LEFT JOIN flows f ON f.month = m.month AND f.node_id = n.token_id
  ORDER BY m.month, n.contract, n.token_id
$$;

CREATE VIEW monthly_node_users AS
SELECT c.chain_id, m.* FROM cursors c CROSS JOIN LATERAL dimo_monthly_node_users(c.chain_id) m;

-- The seed's other published metric, users of each client per month,
-- defined from the opt-ins: a license's users in a month are the vehicles
-- with a valid SACD grant (in force, granting at least one permission) to
-- its client id at the end of the month (the current month: at the last
-- indexed block), i.e. 005's monthly opt-in metric for the grantees that
-- are a license's client id (apps and clients alike: DIMO's developer
-- licenses serve both). owners: distinct owners of those vehicles then.
CREATE VIEW monthly_client_users AS
SELECT m.chain_id, m.month, s.class, m.app_contract AS contract, m.app_token_id AS token_id,
  m.client_id, m.app_alias AS alias, m.vehicles AS users, m.owners
FROM monthly_optin_metrics m
JOIN license_state s ON s.chain_id = m.chain_id AND s.contract = m.app_contract
  AND s.token_id = m.app_token_id;

-- A database indexed before this migration: derive from the stored logs.
DO $$
DECLARE
  c record;
BEGIN
  FOR c IN SELECT cu.chain_id, cu.last_block FROM cursors cu LOOP
    PERFORM dimo__nodes_apply(c.chain_id, 0, c.last_block);
  END LOOP;
END;
$$;

-- What the part reads (001's model_reads; checked against the ABI files
-- at start-up). Vehicle burns come from 005's vehicle_transfers.
INSERT INTO model_reads (part, role, event, args) VALUES
  ('storage_nodes', 'storage_node', 'StorageNodeAnchorMinted(address,uint256,address,string,string)',
   '{account,nodeAnchorId,nodeAnchorAddr,nodeAnchorLabel,nodeAnchorUri}'),
  ('storage_nodes', 'storage_node', 'NodeUriUpdated(uint256,string)', '{nodeId,newNodeUri}'),
  ('storage_nodes', 'storage_node', 'Transfer(address,address,uint256)', '{from,to,id}'),
  ('storage_nodes', 'node_registry', 'VehicleStorageNodeIdSet(uint256,uint256)', '{vehicleId,storageNodeId}'),
  ('storage_nodes', 'node_registry', 'NodeIdSetForVehicleId(uint256,uint256)', '{vehicleId,storageNodeId}');
