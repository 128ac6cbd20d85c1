-- nodes.sql (a repeatable file: re-applied whenever it changes): the
-- storage-node part's (007_storage_nodes.sql) definitions that read the
-- class requirements as data (issue #23 item 4). 007 is checksummed and
-- never edited; these definitions replace its versions.

-- A node's required stake with p_users users on chain p_chain_id: the
-- `node` requirement's base amount plus its per-user amount times the
-- users (the seed: 100,000 DIMO plus 2 DIMO per user; see
-- dimo_class_requirement). NULL when no requirement exists for nodes.
CREATE OR REPLACE FUNCTION dimo_node_required_stake(p_chain_id bigint, p_users bigint) RETURNS numeric
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  r required_stakes := dimo_class_requirement(p_chain_id, 'node');
BEGIN
  RETURN r.amount + r.per_user * p_users;
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
--           the block, required_stake by the chain's `node` requirement
--           (dimo_node_required_stake). With no stake to compare, the
--           status never says understaked.
--   uris:   every URI the node had (the mint's, then each NodeUriUpdated).
-- license-json.md's lists that every class's document carries, for the
-- classes that have none of them (nodes, connections): empty, not absent.
CREATE OR REPLACE FUNCTION dimo_internal.no_license_lists() RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT '{"signers": [], "redirect_uris": [], "stake_history": [], "slashes": []}'::jsonb
$$;

CREATE OR REPLACE FUNCTION dimo_internal.node_doc_at(p_chain_id bigint, p_contract bytea, p_token_id numeric, p_block bigint)
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
    'required_stake', dimo_node_required_stake(p_chain_id, v_users)::text,
    'trust_ratio', NULL,
    'users', v_users,
    'issued', CASE WHEN m.block_number IS NOT NULL THEN jsonb_build_object('block', m.block_number,
      'time', dimo_iso(m.block_time), 'tx', dimo_hex(m.tx_hash)) END,
    'revoked', CASE WHEN v_burned THEN jsonb_build_object('block', t.block_number,
      'time', dimo_iso(t.block_time), 'tx', dimo_hex(t.tx_hash)) END,
    'uris', v_uris,
    'transfers', v_transfers) || dimo_internal.no_license_lists();
END;
$$;

-- Every anchor token now, with its users (live vehicles assigned to it).
CREATE OR REPLACE VIEW storage_node_users AS
SELECT s.chain_id, s.contract, s.token_id, s.label, s.uri, s.owner, s.burned,
  coalesce(u.users, 0) AS users, dimo_node_required_stake(s.chain_id, coalesce(u.users, 0)) AS required_stake
FROM storage_nodes s
LEFT JOIN LATERAL (
  SELECT count(*) AS users FROM vehicle_storage_nodes v
  WHERE v.chain_id = s.chain_id AND v.node_id = s.token_id
    AND NOT coalesce((SELECT vs.burned FROM vehicle_state vs
                      WHERE vs.chain_id = v.chain_id AND vs.token_id = v.vehicle_id
                        AND vs.asset IN (SELECT c.address FROM contracts c
                                         WHERE c.chain_id = v.chain_id AND c.role = 'vehicle')
                      LIMIT 1), false)) u ON true;

-- 007's one-argument version (the seed's rule as a constant) is replaced
-- by the one above.
DROP FUNCTION IF EXISTS dimo_node_required_stake(bigint);

-- GET /v1/nodes/{id|label} and /v1/connections/{id|name}: 007's
-- dimo_node_doc and 008's dimo_connection_doc in document order
-- (dimo_internal.doc_json_reader, licenses.sql; their jsonb versions are
-- dimo_internal.node_doc_jsonb and dimo_internal.connection_doc_jsonb).
SELECT dimo_internal.doc_json_reader('dimo_node_doc', 'bigint, text, bigint');
SELECT dimo_internal.doc_json_reader('dimo_connection_doc', 'bigint, text, bigint');

-- ---- histories (012_model_histories.sql declares them): 007's refresh and rollback
-- 007's dimo_internal.nodes_refresh_range (called by its apply), from the
-- declarations (p_to_block NULL: no upper end).
CREATE OR REPLACE FUNCTION dimo_internal.nodes_refresh_range(p_chain_id bigint, p_from_block bigint, p_to_block bigint)
RETURNS void
LANGUAGE sql
AS $$
  SELECT dimo_internal.histories_apply('storage_nodes', p_chain_id, p_from_block,
                               coalesce(p_to_block, 9223372036854775807))
$$;

CREATE OR REPLACE FUNCTION dimo_internal.nodes_rollback(p_chain_id bigint, p_keep_block bigint)
RETURNS void
LANGUAGE sql
AS $$
  SELECT dimo_internal.histories_rollback('storage_nodes', p_chain_id, p_keep_block)
$$;
