-- 008_connections.sql: data-connection licenses (role `connection`, class
-- `connection`): DIMO's ConnectionsManager, a transferable ERC-721 per
-- connection (an integration that brings vehicles in), tokenId = the
-- connection's name as bytes32 (right-padded with zero bytes). See
-- shared/dimo-contracts.md, section 6. One model part (001's model_parts,
-- ord 40).
--
-- Its mint event changed twice at one address; each generation is one
-- row of abi/Connections.json and one branch below, told apart by the
-- event's signature (topic0), never by a date:
--   1  LicenseMinted(account, licenseId, licenseAddr, licenseCostInDimo)
--      (May to June 2025: no name in the event; the name is the token
--      id's bytes, trailing zero bytes trimmed);
--   2  ConnectionMinted(..., connectionName, connectionCostInDimo, points)
--      (June to August 2025);
--   3  ConnectionMinted(..., connectionName, connectionType, connectionCostInDimo)
--      (since August 2025).
-- ConnectionUpgraded changes a connection's type and costs DIMO;
-- ConnectionConfigSet (per type: cost, points) and LicenseCostSet (the
-- generation-1 flat cost) are contract settings. No stake, freeze or
-- slash event exists: a connection document's `staked`, `required_stake`
-- and `trust_ratio` are null.
--
-- Layers as in 007: history (connection_events, connection_settings;
-- appended by apply, cut by rollback), current (connections, recomputed
-- per touched token), answers (dimo_connection_doc as of any block, the
-- connection_configs view).

-- The contracts table (002) learns the class `connection` (and already
-- admits `manufacturer`, the 2022 Stake contract's class in
-- shared/license-json.md, so that its rename needs no second change here).
ALTER TABLE contracts DROP CONSTRAINT contracts_class_check;
ALTER TABLE contracts ADD CONSTRAINT contracts_class_check
  CHECK (class IN ('app', 'node', 'client', 'connection', 'manufacturer'));

-- ---- small pieces ------------------------------------------------------------------

-- uint256 <-> bytes32, big-endian, exact.
CREATE FUNCTION dimo__uint_to_bytes32(p numeric) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
  v numeric := p;
  b bytea := '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea;
BEGIN
  FOR i IN REVERSE 31..0 LOOP
    b := set_byte(b, i, mod(v, 256)::int);
    v := div(v, 256);
  END LOOP;
  RETURN b;
END;
$$;

CREATE FUNCTION dimo__bytes32_to_uint(p bytea) RETURNS numeric
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
  v numeric := 0;
BEGIN
  FOR i IN 0..octet_length(p) - 1 LOOP
    v := v * 256 + get_byte(p, i);
  END LOOP;
  RETURN v;
END;
$$;

-- A connection's token id from its name (the name's UTF-8 bytes, right-
-- padded to 32); NULL for a name longer than 32 bytes or empty.
CREATE FUNCTION dimo_connection_id(p_name text) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT CASE WHEN octet_length(p_name) BETWEEN 1 AND 32 THEN dimo__bytes32_to_uint(
    convert_to(p_name, 'UTF8') || substr('\x0000000000000000000000000000000000000000000000000000000000000000'::bytea,
                                         1, 32 - octet_length(p_name))) END
$$;

-- A bytes32 as text: its bytes with trailing zeros trimmed, as UTF-8 (or
-- 0x-hex when not UTF-8). NULL for NULL or all zeros.
CREATE FUNCTION dimo__bytes32_text(p bytea) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT CASE WHEN rtrim(p, '\x00'::bytea) <> ''::bytea THEN dimo__utf8_or_hex(rtrim(p, '\x00'::bytea)) END
$$;

-- ---- history -----------------------------------------------------------------

-- kind: mint (generation 1, 2 or 3: account (in from_address), connection address, name,
-- type, cost, points as the event has them), upgrade (connection address,
-- type, cost), transfer (from, to).
CREATE TABLE connection_events (
  chain_id bigint NOT NULL,
  block_number bigint NOT NULL,
  log_index int NOT NULL,
  tx_hash bytea NOT NULL,
  block_time timestamptz NOT NULL,
  contract bytea NOT NULL,
  token_id numeric(78,0) NOT NULL,
  kind text NOT NULL CHECK (kind IN ('mint', 'upgrade', 'transfer')),
  event text NOT NULL,
  generation smallint CHECK (generation BETWEEN 1 AND 3),
  from_address bytea,
  to_address bytea,
  connection_addr bytea,
  name text,
  connection_type bytea,
  cost numeric(78,0),
  points numeric(78,0),
  PRIMARY KEY (chain_id, block_number, log_index)
);
CREATE INDEX connection_events_token ON connection_events (chain_id, contract, token_id, block_number, log_index);

-- kind: type_config (ConnectionConfigSet: type, cost, points),
-- license_cost (LicenseCostSet: cost).
CREATE TABLE connection_settings (
  chain_id bigint NOT NULL,
  block_number bigint NOT NULL,
  log_index int NOT NULL,
  tx_hash bytea NOT NULL,
  block_time timestamptz NOT NULL,
  contract bytea NOT NULL,
  kind text NOT NULL CHECK (kind IN ('type_config', 'license_cost')),
  connection_type bytea,
  cost numeric(78,0) NOT NULL,
  points numeric(78,0),
  PRIMARY KEY (chain_id, block_number, log_index)
);

-- ---- the state of a connection at a block ---------------------------------------

-- One row per connection token with a Transfer at or before p_block (no
-- row: not minted yet). Shared by the current table and the documents.
CREATE FUNCTION dimo__connection_at(p_chain_id bigint, p_contract bytea, p_token_id numeric, p_block bigint)
RETURNS TABLE(owner bytea, burned boolean, generation smallint, event text, name text,
              connection_addr bytea, connection_type bytea, mint_cost numeric, points numeric,
              cost_paid numeric, upgrades bigint, issued_block bigint, issued_time timestamptz,
              issued_tx bytea, revoked_block bigint, revoked_time timestamptz, revoked_tx bytea,
              changed_block bigint)
LANGUAGE sql STABLE
AS $$
  WITH ev AS (
    SELECT e.* FROM connection_events e
    WHERE e.chain_id = p_chain_id AND e.contract = p_contract AND e.token_id = p_token_id
      AND e.block_number <= p_block),
  t AS (SELECT * FROM ev WHERE ev.kind = 'transfer' ORDER BY block_number DESC, log_index DESC LIMIT 1),
  m AS (SELECT * FROM ev WHERE ev.kind = 'mint' ORDER BY block_number DESC, log_index DESC LIMIT 1),
  ty AS (SELECT ev.connection_type FROM ev
         WHERE (ev.kind = 'upgrade' OR (ev.kind = 'mint' AND ev.generation = 3))
           AND (ev.block_number, ev.log_index) >= (SELECT m.block_number, m.log_index FROM m)
         ORDER BY block_number DESC, log_index DESC LIMIT 1),
  up AS (SELECT count(*) AS n, coalesce(sum(ev.cost), 0) AS cost FROM ev
         WHERE ev.kind = 'upgrade' AND (ev.block_number, ev.log_index) > (SELECT m.block_number, m.log_index FROM m))
  SELECT CASE WHEN t.to_address = '\x0000000000000000000000000000000000000000'::bytea THEN t.from_address
      ELSE t.to_address END,
    t.to_address = '\x0000000000000000000000000000000000000000'::bytea,
    m.generation, m.event,
    coalesce(m.name, dimo__bytes32_text(dimo__uint_to_bytes32(p_token_id))),
    m.connection_addr, (SELECT ty.connection_type FROM ty), m.cost, m.points,
    coalesce(m.cost, 0) + up.cost, up.n,
    m.block_number, m.block_time, m.tx_hash,
    CASE WHEN t.to_address = '\x0000000000000000000000000000000000000000'::bytea THEN t.block_number END,
    CASE WHEN t.to_address = '\x0000000000000000000000000000000000000000'::bytea THEN t.block_time END,
    CASE WHEN t.to_address = '\x0000000000000000000000000000000000000000'::bytea THEN t.tx_hash END,
    (SELECT max(ev.block_number) FROM ev)
  FROM t CROSS JOIN up LEFT JOIN m ON true
$$;

-- ---- current state ------------------------------------------------------------------

CREATE TABLE connections (
  chain_id bigint NOT NULL,
  contract bytea NOT NULL,
  token_id numeric(78,0) NOT NULL,
  name text,
  owner bytea NOT NULL,
  burned boolean NOT NULL,
  generation smallint,
  connection_addr bytea,
  connection_type bytea,
  mint_cost numeric(78,0),
  points numeric(78,0),
  cost_paid numeric(78,0) NOT NULL,
  upgrades bigint NOT NULL,
  issued_block bigint,
  issued_time timestamptz,
  issued_tx bytea,
  changed_block bigint NOT NULL,
  PRIMARY KEY (chain_id, contract, token_id)
);
CREATE INDEX connections_owner ON connections (chain_id, owner);
CREATE INDEX connections_name ON connections (chain_id, name);

CREATE FUNCTION dimo__refresh_connections(p_chain_id bigint, p_keys dimo_node_key[]) RETURNS void
LANGUAGE sql
AS $$
  WITH k AS (SELECT DISTINCT u.contract, u.token_id FROM unnest(p_keys) u),
  cur AS (
    SELECT k.contract, k.token_id, c.* FROM k
    LEFT JOIN LATERAL dimo__connection_at(p_chain_id, k.contract, k.token_id, 9223372036854775807) c ON true),
  gone AS (
    DELETE FROM connections x USING cur
    WHERE cur.owner IS NULL AND x.chain_id = p_chain_id AND x.contract = cur.contract
      AND x.token_id = cur.token_id)
  INSERT INTO connections AS x (chain_id, contract, token_id, name, owner, burned, generation,
    connection_addr, connection_type, mint_cost, points, cost_paid, upgrades, issued_block,
    issued_time, issued_tx, changed_block)
  SELECT p_chain_id, c.contract, c.token_id, c.name, c.owner, c.burned, c.generation,
    c.connection_addr, c.connection_type, c.mint_cost, c.points, c.cost_paid, c.upgrades,
    c.issued_block, c.issued_time, c.issued_tx, c.changed_block
  FROM cur c WHERE c.owner IS NOT NULL
  ON CONFLICT (chain_id, contract, token_id) DO UPDATE SET
    name = EXCLUDED.name, owner = EXCLUDED.owner, burned = EXCLUDED.burned,
    generation = EXCLUDED.generation, connection_addr = EXCLUDED.connection_addr,
    connection_type = EXCLUDED.connection_type, mint_cost = EXCLUDED.mint_cost,
    points = EXCLUDED.points, cost_paid = EXCLUDED.cost_paid, upgrades = EXCLUDED.upgrades,
    issued_block = EXCLUDED.issued_block, issued_time = EXCLUDED.issued_time,
    issued_tx = EXCLUDED.issued_tx, changed_block = EXCLUDED.changed_block;
$$;

-- ---- apply and rollback ---------------------------------------------------------

CREATE FUNCTION dimo__connections_apply(p_chain_id bigint, p_from_block bigint, p_to_block bigint)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
  v_keys dimo_node_key[];
BEGIN
  WITH b AS MATERIALIZED (
    SELECT l.block_number, l.log_index, l.tx_hash, l.block_time, l.address AS contract,
      coalesce(l.role, c.role) AS role, l.event, l.args
    FROM logs l
    LEFT JOIN contracts c ON c.chain_id = l.chain_id AND c.address = l.address
    WHERE l.chain_id = p_chain_id AND l.block_number BETWEEN p_from_block AND p_to_block
      AND coalesce(l.role, c.role) = 'connection'
  ),
  settings AS (
    INSERT INTO connection_settings (chain_id, block_number, log_index, tx_hash, block_time, contract,
      kind, connection_type, cost, points)
    SELECT p_chain_id, x.block_number, x.log_index, x.tx_hash, x.block_time, x.contract, x.kind,
      x.connection_type, x.cost, x.points
    FROM (
      SELECT b.*,
        CASE WHEN b.event = 'LicenseCostSet(uint256)' THEN 'license_cost' ELSE 'type_config' END AS kind,
        dimo__hexbytes(b.args ->> 'connectionType') AS connection_type,
        dimo__uint(coalesce(b.args ->> 'licenseCost', b.args ->> 'cost')) AS cost,
        dimo__uint(b.args ->> 'points') AS points
      FROM b
      WHERE b.event IN ('LicenseCostSet(uint256)', 'ConnectionConfigSet(bytes32,uint256,uint256)')
      OFFSET 0
    ) x
    WHERE x.cost IS NOT NULL
  )
  INSERT INTO connection_events (chain_id, block_number, log_index, tx_hash, block_time, contract,
    token_id, kind, event, generation, from_address, to_address, connection_addr, name,
    connection_type, cost, points)
  SELECT p_chain_id, x.block_number, x.log_index, x.tx_hash, x.block_time, x.contract, x.token_id,
    x.kind, x.event, x.generation, x.from_address, x.to_address, x.connection_addr, x.name,
    x.connection_type, x.cost, x.points
  FROM (
    SELECT b.*, g.kind, g.generation,
      dimo__uint(coalesce(b.args ->> 'licenseId', b.args ->> 'connectionId', b.args ->> 'tokenId')) AS token_id,
      dimo__addr(coalesce(b.args ->> 'from', b.args ->> 'account')) AS from_address,
      dimo__addr(b.args ->> 'to') AS to_address,
      dimo__addr(coalesce(b.args ->> 'licenseAddr', b.args ->> 'connectionAddr')) AS connection_addr,
      dimo__str(b.args -> 'connectionName') AS name,
      dimo__hexbytes(b.args ->> 'connectionType') AS connection_type,
      dimo__uint(coalesce(b.args ->> 'licenseCostInDimo', b.args ->> 'connectionCostInDimo')) AS cost,
      dimo__uint(b.args ->> 'points') AS points
    FROM b
    JOIN (VALUES
      ('LicenseMinted(address,uint256,address,uint256)', 'mint', 1::smallint),
      ('ConnectionMinted(address,uint256,address,string,uint256,uint256)', 'mint', 2::smallint),
      ('ConnectionMinted(address,uint256,address,string,bytes32,uint256)', 'mint', 3::smallint),
      ('ConnectionUpgraded(uint256,address,bytes32,uint256)', 'upgrade', NULL::smallint),
      ('Transfer(address,address,uint256)', 'transfer', NULL::smallint)) g(event, kind, generation)
      ON g.event = b.event
    OFFSET 0
  ) x
  WHERE x.token_id IS NOT NULL
    AND CASE x.kind WHEN 'transfer' THEN x.from_address IS NOT NULL AND x.to_address IS NOT NULL
      WHEN 'upgrade' THEN x.connection_type IS NOT NULL AND x.cost IS NOT NULL
      ELSE x.cost IS NOT NULL AND (x.generation = 1 OR x.name IS NOT NULL)
        AND (x.generation <> 3 OR x.connection_type IS NOT NULL)
        AND (x.generation <> 2 OR x.points IS NOT NULL) END;

  v_keys := ARRAY(SELECT DISTINCT ROW(e.contract, e.token_id)::dimo_node_key FROM connection_events e
    WHERE e.chain_id = p_chain_id AND e.block_number BETWEEN p_from_block AND p_to_block);
  IF cardinality(v_keys) > 0 THEN
    PERFORM dimo__refresh_connections(p_chain_id, v_keys);
  END IF;
END;
$$;

CREATE FUNCTION dimo__connections_rollback(p_chain_id bigint, p_keep_block bigint)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
  v_keys dimo_node_key[];
BEGIN
  v_keys := ARRAY(SELECT DISTINCT ROW(e.contract, e.token_id)::dimo_node_key FROM connection_events e
    WHERE e.chain_id = p_chain_id AND e.block_number > p_keep_block);
  DELETE FROM connection_events WHERE chain_id = p_chain_id AND block_number > p_keep_block;
  DELETE FROM connection_settings WHERE chain_id = p_chain_id AND block_number > p_keep_block;
  IF cardinality(v_keys) > 0 THEN
    PERFORM dimo__refresh_connections(p_chain_id, v_keys);
  END IF;
END;
$$;

INSERT INTO model_parts (ord, name, apply_fn, rollback_fn)
VALUES (40, 'connections', 'dimo__connections_apply(bigint,bigint,bigint)',
        'dimo__connections_rollback(bigint,bigint)');

-- ---- answers ---------------------------------------------------------------------------

-- The document of one connection as of p_block; NULL when not minted by
-- then. The shared license shape (class `connection`) plus:
--   name        the name (generation 1: the token id's bytes);
--   alias       the name too: it is the connection's look-up name and
--               never moves to another token (tokenId = name as bytes32);
--   generation  of its mint event (1, 2, 3) and mint_event its signature;
--   type        the bytes32 type in force (generation-3 mint or latest
--               upgrade; null before any), type_name its trimmed text;
--   mint_cost, points (generation 2), cost_paid (mint plus upgrades),
--   upgrades; history: every mint, upgrade and transfer, in order.
CREATE FUNCTION dimo__connection_doc_at(p_chain_id bigint, p_contract bytea, p_token_id numeric, p_block bigint)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  c record;
  v_history jsonb;
BEGIN
  SELECT * INTO c FROM dimo__connection_at(p_chain_id, p_contract, p_token_id, p_block);
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
    'type_name', dimo__bytes32_text(c.connection_type),
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
    'history', v_history);
END;
$$;

-- GET /v1/connections/{id|name}: the connection document as of
-- p_at_block (NULL: the last indexed block). p_key: a decimal token id,
-- else a name of at most 32 bytes (a name of digits only is tried as a
-- token id first). NULL when nothing matches then; SQLSTATE 22023 for an
-- empty key, a non-numeric key longer than 32 bytes, or a block not
-- indexed.
CREATE FUNCTION dimo_connection_doc(p_chain_id bigint, p_key text, p_at_block bigint DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  v_block bigint;
  v_token numeric;
  v_by_name numeric;
  r record;
  d jsonb;
BEGIN
  IF p_key IS NULL OR p_key = '' THEN
    PERFORM dimo__bad_arg('a connection key is a token id or a name');
  END IF;
  v_token := dimo__uint(p_key);
  v_by_name := dimo_connection_id(p_key);
  IF v_token IS NULL AND v_by_name IS NULL THEN
    PERFORM dimo__bad_arg('a connection name has 1 to 32 bytes');
  END IF;
  v_block := dimo__as_of(p_chain_id, p_at_block);
  IF v_block IS NULL THEN
    RETURN NULL;
  END IF;
  FOR r IN
    SELECT x.contract, x.token_id FROM (
      SELECT DISTINCT 1 AS pass, e.contract, e.token_id FROM connection_events e
      WHERE e.chain_id = p_chain_id AND e.token_id = v_token
      UNION
      SELECT DISTINCT 2, e.contract, e.token_id FROM connection_events e
      WHERE e.chain_id = p_chain_id AND e.token_id = v_by_name) x
    ORDER BY x.pass, x.contract
  LOOP
    d := dimo__connection_doc_at(p_chain_id, r.contract, r.token_id, v_block);
    IF d IS NOT NULL THEN
      RETURN d || jsonb_build_object('as_of_block', v_block,
        'as_of_time', dimo_iso(dimo_block_time(p_chain_id, v_block)))
        || dimo__finality(p_chain_id, v_block);
    END IF;
  END LOOP;
  RETURN NULL;
END;
$$;

-- Each connection contract's settings now: per type the latest
-- ConnectionConfigSet (cost, points), and the latest LicenseCostSet
-- (type NULL: the generation-1 flat cost).
CREATE VIEW connection_configs AS
SELECT DISTINCT ON (s.chain_id, s.contract, s.kind, s.connection_type)
  s.chain_id, s.contract, s.kind, s.connection_type, dimo__bytes32_text(s.connection_type) AS type_name,
  s.cost, s.points, s.block_number, s.block_time, s.tx_hash
FROM connection_settings s
ORDER BY s.chain_id, s.contract, s.kind, s.connection_type, s.block_number DESC, s.log_index DESC;

-- A database indexed before this migration: derive from the stored logs.
DO $$
DECLARE
  c record;
BEGIN
  FOR c IN SELECT cu.chain_id, cu.last_block FROM cursors cu LOOP
    PERFORM dimo__connections_apply(c.chain_id, 0, c.last_block);
  END LOOP;
END;
$$;

-- What the part reads (001's model_reads; checked against the ABI files
-- at start-up).
INSERT INTO model_reads (part, role, event, args) VALUES
  ('connections', 'connection', 'LicenseMinted(address,uint256,address,uint256)',
   '{account,licenseId,licenseAddr,licenseCostInDimo}'),
  ('connections', 'connection', 'ConnectionMinted(address,uint256,address,string,uint256,uint256)',
   '{account,connectionId,connectionAddr,connectionName,connectionCostInDimo,points}'),
  ('connections', 'connection', 'ConnectionMinted(address,uint256,address,string,bytes32,uint256)',
   '{account,connectionId,connectionAddr,connectionName,connectionType,connectionCostInDimo}'),
  ('connections', 'connection', 'ConnectionUpgraded(uint256,address,bytes32,uint256)',
   '{connectionId,connectionAddr,connectionType,connectionCostInDimo}'),
  ('connections', 'connection', 'ConnectionConfigSet(bytes32,uint256,uint256)', '{connectionType,cost,points}'),
  ('connections', 'connection', 'LicenseCostSet(uint256)', '{licenseCost}'),
  ('connections', 'connection', 'Transfer(address,address,uint256)', '{from,to,tokenId}');
