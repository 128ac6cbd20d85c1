-- connections.sql (a repeatable file: re-applied whenever it changes): the
-- connections part's (008_connections.sql) rollback through its
-- histories as 012_model_histories.sql declares them
-- (dimo_internal.histories_rollback, licenses.sql). 008 is checksummed and
-- never edited; the definition here replaces its version. (008's apply
-- keeps its own four-line call of dimo_internal.refresh_connections: replacing it
-- would copy its 60 lines of decoding here.) This file is applied before
-- licenses.sql, which defines the generic functions: hence PL/pgSQL
-- (bodies resolved when called).

CREATE OR REPLACE FUNCTION dimo_internal.connections_rollback(p_chain_id bigint, p_keep_block bigint)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
  PERFORM dimo_internal.histories_rollback('connections', p_chain_id, p_keep_block);
END;
$$;

-- A connection's document (008's, with license-json.md's lists that every
-- class's document carries: a connection has no signer, redirect URI,
-- stake or slash, so they are empty, not absent).
CREATE OR REPLACE FUNCTION dimo_internal.connection_doc_at(p_chain_id bigint, p_contract bytea, p_token_id numeric, p_block bigint)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  c record;
  v_history jsonb;
BEGIN
  SELECT * INTO c FROM dimo_internal.connection_at(p_chain_id, p_contract, p_token_id, p_block);
  IF NOT FOUND OR c.owner IS NULL THEN
    RETURN NULL;
  END IF;
  SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object('kind', e.kind, 'event', e.event,
      'generation', e.generation,
      'from', CASE WHEN e.kind = 'transfer' THEN dimo_hex(e.from_address) END,
      'account', CASE WHEN e.kind = 'mint' THEN dimo_hex(e.from_address) END,
      'to', dimo_hex(e.to_address), 'connection_address', dimo_hex(e.connection_addr),
      'name', e.name, 'type', dimo_hex(e.connection_type), 'cost', e.cost::text,
      'points', e.points::text)) || jsonb_build_object('block', e.block_number,
      'log_index', e.log_index, 'time', dimo_iso(e.block_time), 'tx', dimo_hex(e.tx_hash))
      ORDER BY e.block_number, e.log_index), '[]'::jsonb)
    INTO v_history FROM connection_events e
  WHERE e.chain_id = p_chain_id AND e.contract = p_contract AND e.token_id = p_token_id
    AND e.block_number <= p_block;
  RETURN jsonb_build_object(
    'class', 'connection',
    'contract', dimo_hex(p_contract),
    'token_id', p_token_id::text,
    'owner', dimo_hex(c.owner),
    'client_id', NULL,
    'alias', c.name,
    'name', c.name,
    'connection_address', dimo_hex(c.connection_addr),
    'generation', c.generation,
    'mint_event', c.event,
    'type', dimo_hex(c.connection_type),
    'type_name', dimo_internal.bytes32_text(c.connection_type),
    'mint_cost', c.mint_cost::text,
    'points', c.points::text,
    'cost_paid', c.cost_paid::text,
    'upgrades', c.upgrades,
    'status', CASE WHEN c.burned THEN 'revoked' ELSE 'active' END,
    'frozen', false,
    'staked', NULL,
    'required_stake', NULL,
    'trust_ratio', NULL,
    'issued', CASE WHEN c.issued_block IS NOT NULL THEN jsonb_build_object('block', c.issued_block,
      'time', dimo_iso(c.issued_time), 'tx', dimo_hex(c.issued_tx)) END,
    'revoked', CASE WHEN c.burned THEN jsonb_build_object('block', c.revoked_block,
      'time', dimo_iso(c.revoked_time), 'tx', dimo_hex(c.revoked_tx)) END,
    'history', v_history) || dimo_internal.no_license_lists();
END;
$$;
