-- 003_license_queries.sql: reading the license model of 002: the functions
-- the HTTP API and the `license` command call (look-ups, the license JSON
-- document of shared/license-json.md, signer status, verify, pages) and the
-- views a dashboard or auditor reads (events, slashes, stakes, parameters,
-- DIP-5 monthly metrics). State as of a block and the document builders
-- are in 002, which the derivation itself needs.
--
-- Conventions of every JSON answer: amounts are decimal strings in wei,
-- addresses and hashes lower-case 0x hex, times ISO-8601 UTC
-- ("YYYY-MM-DDTHH:MM:SSZ"), block numbers and log indexes JSON numbers.
-- Bad arguments (a block above the last indexed one, an unknown class or
-- status, a malformed page cursor) raise SQLSTATE 22023
-- (invalid_parameter_value) with a message meant for the caller.

-- ---- small pieces -----------------------------------------------------------

CREATE FUNCTION dimo__bad_arg(p_message text) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
  RAISE EXCEPTION '%', p_message USING ERRCODE = 'invalid_parameter_value';
END;
$$;

-- The block an answer describes: p_at_block, or the last block the model
-- describes (model_cursor: the indexer derives it in the batch's
-- transaction, or in a backfill a batch or two behind the stored logs)
-- when NULL. NULL when nothing is derived yet; raises for a block above it
-- (not indexed yet) or below 0.
CREATE FUNCTION dimo__as_of(p_chain_id bigint, p_at_block bigint) RETURNS bigint
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  v_cursor bigint;
BEGIN
  SELECT m.block_number INTO v_cursor FROM model_cursor m WHERE m.chain_id = p_chain_id;
  IF v_cursor IS NULL THEN
    RETURN NULL;
  END IF;
  IF p_at_block IS NULL THEN
    RETURN v_cursor;
  END IF;
  IF p_at_block < 0 OR p_at_block > v_cursor THEN
    PERFORM dimo__bad_arg(format('block %s is not indexed (last indexed block: %s)', p_at_block, v_cursor));
  END IF;
  RETURN p_at_block;
END;
$$;

-- The contract's isSigner(token, signer) as of a block (NULL: last
-- indexed) and at a time (NULL: that block's time).
CREATE FUNCTION dimo_is_signer(p_chain_id bigint, p_contract bytea, p_token_id numeric,
                               p_signer bytea, p_at_block bigint DEFAULT NULL,
                               p_at_time timestamptz DEFAULT NULL)
RETURNS boolean
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  v_block bigint := dimo__as_of(p_chain_id, p_at_block);
BEGIN
  RETURN dimo_signer_valid(
    (SELECT CASE WHEN e.enabled THEN e.block_time END FROM signer_events e
     WHERE e.chain_id = p_chain_id AND e.contract = p_contract AND e.token_id = p_token_id
       AND e.signer = p_signer AND e.block_number <= v_block
     ORDER BY e.block_number DESC, e.log_index DESC LIMIT 1),
    dimo_contract_param(p_chain_id, p_contract, 'period_validity', v_block),
    coalesce(p_at_time, dimo_block_time(p_chain_id, v_block)));
END;
$$;

-- ---- the license document ---------------------------------------------------------

-- The full document of one license as of p_at_block (NULL: the last
-- indexed block), signer validity judged at p_at_time (NULL: that block's
-- time, as the contract's isSigner in that block). NULL when the license
-- did not exist at that block. The current document with the default time
-- is the cached one (license_state.doc): a single-row read.
CREATE FUNCTION dimo_license_doc(p_chain_id bigint, p_contract bytea, p_token_id numeric,
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
        RETURN NULL;
      END IF;
      IF dimo__doc_usable(s.doc, s.doc_block, s.doc_time, s.doc_expires, v_block, v_time) THEN
        RETURN s.doc || jsonb_build_object('as_of_block', v_block, 'as_of_time', dimo_iso(v_time))
          || dimo__finality(p_chain_id, v_block);
      END IF;
    ELSE
      v_time := p_at_time;
    END IF;
    SELECT d.doc INTO v_doc FROM dimo__doc_now(p_chain_id, p_contract, p_token_id, v_time) d;
  ELSE
    v_block := dimo__as_of(p_chain_id, p_at_block);
    v_time := coalesce(p_at_time, dimo_block_time(p_chain_id, v_block));
    v_doc := dimo__doc_at(p_chain_id, p_contract, p_token_id, v_block, v_time);
  END IF;
  RETURN v_doc || jsonb_build_object('as_of_block', v_block, 'as_of_time', dimo_iso(v_time))
          || dimo__finality(p_chain_id, v_block);
END;
$$;

-- ---- look-ups -----------------------------------------------------------------------

CREATE FUNCTION dimo__check_class(p_class text) RETURNS void
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
  IF p_class IS NOT NULL AND p_class NOT IN ('app', 'node', 'client') THEN
    PERFORM dimo__bad_arg(format('unknown license class %L (app, node or client)', p_class));
  END IF;
END;
$$;

-- Licenses matching a key: a decimal token id, a 0x address (the client
-- id or the owner, the last owner for revoked ones: both also find revoked
-- licenses, client ids never move) or an alias (its text, or the 0x-hex
-- form documents give an alias that is not text: dimo__alias_lookup_keys),
-- in class p_class (NULL: any), ordered by contract and token id. An alias
-- matches the license holding it as of p_at_block (NULL: the last indexed
-- block), as the contract's getTokenIdByLicenseAlias answers in that
-- block: a revoked license's alias was freed at its revoke and never finds
-- it, a re-used one finds only its new holder.
CREATE FUNCTION dimo_find_licenses(p_chain_id bigint, p_class text, p_key text,
                                   p_at_block bigint DEFAULT NULL)
RETURNS TABLE(contract bytea, token_id numeric)
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
  v_key text := btrim(p_key);
  v_token numeric;
  v_addr bytea;
  v_aliases bytea[] := dimo__alias_lookup_keys(p_key);
  v_block bigint;
BEGIN
  PERFORM dimo__check_class(p_class);
  IF p_key IS NULL THEN
    RETURN;
  END IF;
  -- Sentinels rather than NULL for "not a token id / not an address", and
  -- generic plans (the SET above): each call's custom plan looks cheaper
  -- than the cached generic one, so the query would be planned again on
  -- every call (three times the cost of running it).
  v_token := coalesce(dimo__uint(v_key), -1);
  v_addr := '\x';
  IF v_key ~* '^0x[0-9a-f]{40}$' THEN
    v_addr := decode(substr(v_key, 3), 'hex');
  END IF;
  SELECT m.block_number INTO v_block FROM model_cursor m WHERE m.chain_id = p_chain_id;
  IF p_at_block IS NOT NULL AND p_at_block < v_block THEN
    -- A past block: the alias from history (its holder then), the other
    -- keys from the current rows (the caller drops licenses that did not
    -- exist yet).
    RETURN QUERY
    SELECT s.contract, s.token_id FROM license_state s
    WHERE s.chain_id = p_chain_id AND s.token_id = v_token AND (p_class IS NULL OR s.class = p_class)
    UNION
    SELECT s.contract, s.token_id FROM license_state s
    WHERE s.chain_id = p_chain_id AND s.client_id = v_addr AND (p_class IS NULL OR s.class = p_class)
    UNION
    SELECT s.contract, s.token_id FROM license_state s
    WHERE s.chain_id = p_chain_id AND s.owner = v_addr AND (p_class IS NULL OR s.class = p_class)
    UNION
    SELECT a.contract, a.token_id FROM alias_events a
    JOIN license_state s ON s.chain_id = a.chain_id AND s.contract = a.contract AND s.token_id = a.token_id
    WHERE a.chain_id = p_chain_id AND a.alias_key = ANY (v_aliases) AND octet_length(a.alias_key) > 0
      AND a.block_number <= p_at_block AND (p_class IS NULL OR s.class = p_class)
      AND NOT EXISTS (SELECT 1 FROM alias_events n
                      WHERE n.chain_id = a.chain_id AND n.contract = a.contract AND n.token_id = a.token_id
                        AND n.block_number <= p_at_block
                        AND (n.block_number, n.log_index) > (a.block_number, a.log_index))
    ORDER BY 1, 2;
    RETURN;
  END IF;
  RETURN QUERY
  SELECT s.contract, s.token_id FROM license_state s
  WHERE s.chain_id = p_chain_id AND s.token_id = v_token AND (p_class IS NULL OR s.class = p_class)
  UNION
  SELECT s.contract, s.token_id FROM license_state s
  WHERE s.chain_id = p_chain_id AND s.client_id = v_addr AND (p_class IS NULL OR s.class = p_class)
  UNION
  SELECT s.contract, s.token_id FROM license_state s
  WHERE s.chain_id = p_chain_id AND s.owner = v_addr AND (p_class IS NULL OR s.class = p_class)
  UNION
  SELECT s.contract, s.token_id FROM license_state s
  WHERE s.alias_key = ANY (v_aliases) AND s.chain_id = p_chain_id AND (p_class IS NULL OR s.class = p_class)
  ORDER BY 1, 2;
END;
$$;

-- The document of the first match that existed at the block, or NULL.
CREATE FUNCTION dimo_license_lookup(p_chain_id bigint, p_class text, p_key text,
                                    p_at_block bigint DEFAULT NULL, p_at_time timestamptz DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  r record;
  d jsonb;
BEGIN
  FOR r IN SELECT f.contract, f.token_id FROM dimo_find_licenses(p_chain_id, p_class, p_key, p_at_block) f LOOP
    d := dimo_license_doc(p_chain_id, r.contract, r.token_id, p_at_block, p_at_time);
    IF d IS NOT NULL THEN
      RETURN d;
    END IF;
  END LOOP;
  RETURN NULL;
END;
$$;

-- isSigner for the first license matching the key (as dimo_license_lookup):
-- {"valid", "enabled_at", "expires_at", "signer", "license": {contract,
-- token_id, class, status}, "as_of_block"}; NULL when no license matches.
-- Like the contract's isSigner it does not look at the license's status.
CREATE FUNCTION dimo_signer_status(p_chain_id bigint, p_class text, p_key text, p_signer bytea,
                                   p_at_block bigint DEFAULT NULL, p_at_time timestamptz DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  r record;
  l dimo_license;
  v_block bigint;
  v_enabled timestamptz;
  v_period numeric;
  v_time timestamptz;
BEGIN
  v_block := dimo__as_of(p_chain_id, p_at_block);
  IF v_block IS NULL THEN
    RETURN NULL;
  END IF;
  FOR r IN SELECT f.contract, f.token_id FROM dimo_find_licenses(p_chain_id, p_class, p_key, v_block) f LOOP
    SELECT * INTO l FROM dimo_license_at(p_chain_id, r.contract, r.token_id, v_block);
    EXIT WHEN l.contract IS NOT NULL;
  END LOOP;
  IF l.contract IS NULL THEN
    RETURN NULL;
  END IF;
  SELECT CASE WHEN e.enabled THEN e.block_time END INTO v_enabled FROM signer_events e
  WHERE e.chain_id = p_chain_id AND e.contract = l.contract AND e.token_id = l.token_id
    AND e.signer = p_signer AND e.block_number <= v_block
  ORDER BY e.block_number DESC, e.log_index DESC LIMIT 1;
  v_period := dimo_contract_param(p_chain_id, l.contract, 'period_validity', v_block);
  v_time := coalesce(p_at_time, dimo_block_time(p_chain_id, v_block));
  RETURN jsonb_build_object(
    'valid', l.role = 'app_license' AND dimo_signer_valid(v_enabled, v_period, v_time),
    'enabled_at', dimo_iso(v_enabled),
    'expires_at', dimo_iso(dimo_signer_expiry(v_enabled, v_period)),
    'signer', dimo_hex(p_signer),
    'license', jsonb_build_object('contract', dimo_hex(l.contract), 'token_id', l.token_id::text,
      'class', l.class, 'status', l.status),
    'as_of_block', v_block,
    'as_of_time', dimo_iso(v_time));
END;
$$;

-- The node operator's question: may this app (client id), signing with
-- this key, be served now? Current state (the last indexed block), signer
-- validity at p_at_time (NULL: now()) with the periodValidity in force.
-- reason: ok, unknown_client_id, license_revoked, license_suspended,
-- license_understaked, signer_not_enabled, signer_expired (first that
-- applies, in that order).
CREATE FUNCTION dimo_verify_license(p_chain_id bigint, p_client_id bytea, p_signer bytea,
                                    p_at_time timestamptz DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  s record;
  v_block bigint;
  v_time timestamptz;
  v_doc jsonb;
  v_enabled timestamptz;
  v_status text;
  v_reason text;
BEGIN
  SELECT x.contract, x.token_id, x.doc, x.doc_block, x.doc_time, x.doc_expires INTO s
  FROM license_state x
  WHERE x.chain_id = p_chain_id AND x.client_id = p_client_id
  ORDER BY x.contract LIMIT 1;
  IF NOT FOUND THEN
    RETURN jsonb_build_object('valid', false, 'reason', 'unknown_client_id', 'license', NULL);
  END IF;
  SELECT m.block_number, m.block_time INTO v_block, v_time FROM model_cursor m
  WHERE m.chain_id = p_chain_id;
  IF dimo__doc_usable(s.doc, s.doc_block, s.doc_time, s.doc_expires, v_block, v_time) THEN
    v_doc := s.doc || jsonb_build_object('as_of_block', v_block, 'as_of_time', dimo_iso(v_time))
          || dimo__finality(p_chain_id, v_block);
  ELSE
    v_doc := dimo_license_doc(p_chain_id, s.contract, s.token_id);
  END IF;
  SELECT g.enabled_at INTO v_enabled FROM license_signers g
  WHERE g.chain_id = p_chain_id AND g.contract = s.contract AND g.token_id = s.token_id
    AND g.signer = p_signer;
  v_status := v_doc ->> 'status';
  v_reason := CASE
    WHEN v_status = 'revoked' THEN 'license_revoked'
    WHEN v_status = 'suspended' THEN 'license_suspended'
    WHEN v_status = 'understaked' THEN 'license_understaked'
    WHEN v_enabled IS NULL THEN 'signer_not_enabled'
    WHEN NOT dimo_signer_valid(v_enabled, (v_doc ->> 'period_validity')::numeric,
                               coalesce(p_at_time, now())) THEN 'signer_expired'
    ELSE 'ok' END;
  RETURN jsonb_build_object('valid', v_reason = 'ok', 'reason', v_reason, 'license', v_doc);
END;
$$;

-- ---- pages ----------------------------------------------------------------------------

-- Licenses now, filtered, as summary documents (the cached document
-- without signers, URIs, stake history and slashes), keyset-paginated by
-- (contract, token id). p_after: the "next" of the previous page. p_limit:
-- 1..1000 (NULL: 100).
CREATE FUNCTION dimo_licenses_page(p_chain_id bigint, p_class text, p_status text, p_owner bytea,
                                   p_limit int, p_after text)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET jit = off
AS $$
DECLARE
  v_limit int := least(greatest(coalesce(p_limit, 100), 1), 1000);
  v_contract bytea := '\x';
  v_token numeric := -1;
  v_block bigint;
  v_time timestamptz;
  v_items jsonb;
  v_count int;
  v_next text;
BEGIN
  PERFORM dimo__check_class(p_class);
  IF p_status IS NOT NULL AND p_status NOT IN ('active', 'suspended', 'understaked', 'revoked') THEN
    PERFORM dimo__bad_arg(format('unknown status %L (active, suspended, understaked or revoked)', p_status));
  END IF;
  IF coalesce(p_after, '') <> '' THEN
    IF p_after !~ '^l1\.[0-9a-f]{40}\.[0-9]{1,78}$' THEN
      PERFORM dimo__bad_arg('malformed page cursor');
    END IF;
    v_contract := decode(split_part(p_after, '.', 2), 'hex');
    v_token := split_part(p_after, '.', 3)::numeric;
  END IF;
  SELECT m.block_number, m.block_time INTO v_block, v_time FROM model_cursor m
  WHERE m.chain_id = p_chain_id;
  WITH page AS (
    SELECT x.contract, x.token_id, x.doc,
      row_number() OVER (ORDER BY x.contract, x.token_id) AS rn
    FROM (
      -- A stale cached document (doc NULL, see dimo__docs_changed) is
      -- built here; the gate in the lateral query skips the call otherwise.
      SELECT s.contract, s.token_id, coalesce(s.doc, d.doc) AS doc FROM license_state s
      LEFT JOIN LATERAL (SELECT n.doc FROM dimo__doc_now(p_chain_id, s.contract, s.token_id, v_time) n
                         WHERE s.doc IS NULL) d ON true
      WHERE s.chain_id = p_chain_id AND (p_class IS NULL OR s.class = p_class)
        AND (p_status IS NULL OR coalesce(s.doc, d.doc) ->> 'status' = p_status)
        AND (p_owner IS NULL OR s.owner = p_owner)
        AND (s.contract, s.token_id) > (v_contract, v_token)
      ORDER BY s.contract, s.token_id
      LIMIT v_limit + 1) x)
  SELECT coalesce(jsonb_agg((p.doc - 'signers' - 'redirect_uris' - 'stake_history' - 'slashes'
                               - 'period_validity')
                            || jsonb_build_object('as_of_block', v_block, 'as_of_time', dimo_iso(v_time))
                            ORDER BY p.rn) FILTER (WHERE p.rn <= v_limit), '[]'),
    count(*),
    max(CASE WHEN p.rn = v_limit THEN 'l1.' || encode(p.contract, 'hex') || '.' || p.token_id END)
    INTO v_items, v_count, v_next
  FROM page p;
  RETURN jsonb_build_object('licenses', v_items, 'next', CASE WHEN v_count > v_limit THEN v_next END);
END;
$$;

-- Slashes in chain order, as of p_at_block (NULL: last indexed),
-- optionally of the licenses matching p_license (a key as in
-- dimo_find_licenses; NULL when it matches none), keyset-paginated.
CREATE FUNCTION dimo_slashes_page(p_chain_id bigint, p_license text, p_after text, p_limit int,
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
  v_block := dimo__as_of(p_chain_id, p_at_block);
  IF v_block IS NULL THEN
    RETURN jsonb_build_object('slashes', '[]'::jsonb, 'next', NULL);
  END IF;
  IF p_license IS NOT NULL THEN
    v_keys := ARRAY(SELECT ROW(f.contract, f.token_id)::dimo_license_key
                    FROM dimo_find_licenses(p_chain_id, NULL, p_license, v_block) f);
    IF cardinality(v_keys) = 0 THEN
      RETURN NULL;
    END IF;
  END IF;
  IF coalesce(p_after, '') <> '' THEN
    IF p_after !~ '^s1\.[0-9]{1,18}\.[0-9]{1,9}$' THEN
      PERFORM dimo__bad_arg('malformed page cursor');
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
          'class', coalesce(s.class, dimo__class(p_chain_id, p.contract, p.role))),
        'owner', dimo_hex(p.owner), 'amount', p.amount::text,
        'destination', dimo__slash_destination(p.kind, p.to_address), 'block', p.block_number,
        'time', dimo_iso(p.block_time), 'tx', dimo_hex(p.tx_hash), 'log_index', p.log_index)
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

-- ---- views for dashboards and auditors ---------------------------------------------

-- Every log of a license contract in chain order, decoded. token_id is
-- the license the log is about; NULL for contract-wide events and for the
-- node contract's LicenseRevoked, whose tokenId (logged_token_id) is the
-- last minted id, not the revoked one (a bug of the deployed contract: the
-- burn Transfer in the same transaction names the revoked license).
CREATE VIEW license_event_log AS
SELECT l.chain_id, l.block_number, l.log_index, l.block_time, l.tx_hash, l.address AS contract,
  coalesce(l.role, c.role) AS role, dimo__class(l.chain_id, l.address, coalesce(l.role, c.role)) AS class,
  l.event_name, l.event,
  CASE WHEN l.event = 'LicenseRevoked(uint256)' THEN NULL ELSE dimo__uint(l.args ->> 'tokenId') END AS token_id,
  CASE WHEN l.event = 'LicenseRevoked(uint256)' THEN dimo__uint(l.args ->> 'tokenId') END AS logged_token_id,
  l.args
FROM logs l
LEFT JOIN contracts c ON c.chain_id = l.chain_id AND c.address = l.address
WHERE coalesce(l.role, c.role) IN ('app_license', 'node_license');

-- Every slash: license, owner, amount, where it went ('burn', the
-- reallocation address, or NULL when no DIMO transfer was indexed for it).
CREATE VIEW slashes AS
SELECT m.chain_id, m.contract, coalesce(s.class, dimo__class(m.chain_id, m.contract, m.role)) AS class,
  m.token_id, m.owner, m.amount, dimo_wei_to_dimo(m.amount) AS amount_dimo,
  dimo__slash_destination(m.kind, m.to_address) AS destination,
  CASE m.kind WHEN 'forfeit_burn' THEN '\x0000000000000000000000000000000000000000'::bytea
    ELSE m.to_address END AS destination_address,
  m.tx_hash, m.block_number, m.log_index, m.block_time
FROM stake_movements m
LEFT JOIN license_state s ON s.chain_id = m.chain_id AND s.contract = m.contract AND s.token_id = m.token_id
WHERE m.kind IN ('forfeit_burn', 'forfeit_reallocate', 'forfeit');

-- Stake movements with DIMO amounts and the class of the license.
CREATE VIEW stake_history AS
SELECT m.chain_id, m.block_number, m.log_index, m.block_time, m.tx_hash, m.contract,
  coalesce(s.class, dimo__class(m.chain_id, m.contract, m.role)) AS class, m.token_id, m.holder,
  m.owner, m.kind, m.amount, dimo_wei_to_dimo(m.amount) AS amount_dimo, m.delta, m.balance_after,
  dimo_wei_to_dimo(m.balance_after) AS balance_after_dimo, m.from_address, m.to_address
FROM stake_movements m
LEFT JOIN license_state s ON s.chain_id = m.chain_id AND s.contract = m.contract AND s.token_id = m.token_id;

-- Contract parameters over time: the constructor values (block NULL) of
-- every registered license contract, then each change.
CREATE VIEW contract_parameter_history AS
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
FROM contracts c WHERE c.role = 'node_license'
UNION ALL
SELECT e.chain_id, e.contract, e.parameter, e.value, e.block_number, e.log_index, e.block_time,
  e.tx_hash, 'event'
FROM parameter_events e;

-- The parameters in force now, per registered license contract.
CREATE VIEW contract_parameters AS
SELECT c.chain_id, c.address AS contract, c.role, c.class,
  CASE WHEN c.role = 'app_license' THEN dimo_contract_param(c.chain_id, c.address, 'period_validity') END AS period_validity,
  CASE WHEN c.role = 'app_license' THEN dimo_contract_param(c.chain_id, c.address, 'license_cost') END AS license_cost,
  CASE WHEN c.role = 'node_license' THEN dimo_contract_param(c.chain_id, c.address, 'minimum_stake') END AS minimum_stake
FROM contracts c WHERE c.role IN ('app_license', 'node_license');

-- Every signer of every license with its validity now (wall clock) per the
-- contract's rule and the periodValidity in force.
CREATE VIEW signer_status AS
SELECT s.chain_id, s.contract, s.token_id, s.signer, s.enabled_at,
  dimo_signer_expiry(s.enabled_at, p.period) AS expires_at,
  dimo_signer_valid(s.enabled_at, p.period, now()) AS valid_now
FROM license_signers s
CROSS JOIN LATERAL (SELECT dimo_contract_param(s.chain_id, s.contract, 'period_validity') AS period) p;

-- ---- DIP-5 monthly metrics -------------------------------------------------------------
-- (jit = off here and on the pages: the planner's estimates for these
-- per-license loops are far above the JIT threshold, and compiling costs
-- more than the query.)
-- Months are calendar months in UTC, from the first issue to the month of
-- the last indexed block. State counts (active, suspended, understaked,
-- revoked_total) are as at the end of the month (for the current month: at
-- the last indexed block); issued and revoked count the month's events.

CREATE FUNCTION dimo__months(p_chain_id bigint)
RETURNS TABLE(month date, month_end timestamptz)
LANGUAGE sql STABLE
AS $$
  SELECT m::date, (m + interval '1 month') AT TIME ZONE 'UTC'
  FROM (SELECT min(s.issued_time) AS t FROM license_state s WHERE s.chain_id = p_chain_id) f,
    (SELECT m.block_time AS t FROM model_cursor m WHERE m.chain_id = p_chain_id) cur,
    generate_series(date_trunc('month', f.t AT TIME ZONE 'UTC'),
                    date_trunc('month', greatest(f.t, cur.t) AT TIME ZONE 'UTC'), interval '1 month') m
$$;

CREATE FUNCTION dimo_monthly_license_metrics(p_chain_id bigint)
RETURNS TABLE(month date, class text, issued bigint, revoked bigint, active bigint, suspended bigint,
              understaked bigint, revoked_total bigint, licenses_total bigint)
LANGUAGE sql STABLE
SET jit = off
AS $$
  WITH months AS (SELECT * FROM dimo__months(p_chain_id)),
  classes AS (SELECT DISTINCT s.class FROM license_state s WHERE s.chain_id = p_chain_id),
  states AS (
    SELECT m.month, x.class, x.status
    FROM months m
    JOIN license_state s ON s.chain_id = p_chain_id AND s.issued_time < m.month_end
    CROSS JOIN LATERAL dimo_license_at(p_chain_id, s.contract, s.token_id, NULL, m.month_end) x),
  issues AS (
    SELECT date_trunc('month', s.issued_time AT TIME ZONE 'UTC')::date AS month, s.class, count(*) AS n
    FROM license_state s WHERE s.chain_id = p_chain_id AND s.issued_time IS NOT NULL GROUP BY 1, 2),
  revokes AS (
    SELECT date_trunc('month', o.block_time AT TIME ZONE 'UTC')::date AS month, s.class, count(*) AS n
    FROM ownership_events o
    JOIN license_state s ON s.chain_id = o.chain_id AND s.contract = o.contract AND s.token_id = o.token_id
    WHERE o.chain_id = p_chain_id AND o.kind = 'revoke' GROUP BY 1, 2)
  SELECT m.month, c.class, coalesce(i.n, 0), coalesce(r.n, 0),
    (SELECT count(*) FROM states x WHERE x.month = m.month AND x.class = c.class AND x.status = 'active'),
    (SELECT count(*) FROM states x WHERE x.month = m.month AND x.class = c.class AND x.status = 'suspended'),
    (SELECT count(*) FROM states x WHERE x.month = m.month AND x.class = c.class AND x.status = 'understaked'),
    (SELECT count(*) FROM states x WHERE x.month = m.month AND x.class = c.class AND x.status = 'revoked'),
    (SELECT count(*) FROM states x WHERE x.month = m.month AND x.class = c.class)
  FROM months m CROSS JOIN classes c
  LEFT JOIN issues i ON i.month = m.month AND i.class = c.class
  LEFT JOIN revokes r ON r.month = m.month AND r.class = c.class
  ORDER BY m.month, c.class
$$;

-- Per month and class: DIMO moved into and out of stakes (slashes apart),
-- slashed, and the total staked at the end of the month over all app
-- licenses / node addresses of the class.
CREATE FUNCTION dimo_monthly_stake_metrics(p_chain_id bigint)
RETURNS TABLE(month date, class text, deposited numeric, withdrawn numeric, slashed numeric,
              staked_end numeric, staked_end_dimo numeric, stakers_end bigint)
LANGUAGE sql STABLE
SET jit = off
AS $$
  WITH months AS (SELECT * FROM dimo__months(p_chain_id)),
  moves AS (SELECT h.* FROM stake_history h WHERE h.chain_id = p_chain_id),
  keys AS (SELECT DISTINCT h.contract, h.token_id, h.holder, h.class FROM moves h),
  classes AS (SELECT DISTINCT k.class FROM keys k),
  ends AS (
    SELECT m.month, k.class, b.balance
    FROM months m CROSS JOIN keys k
    CROSS JOIN LATERAL (
      SELECT x.balance_after AS balance FROM stake_movements x
      WHERE x.chain_id = p_chain_id AND x.contract = k.contract
        AND x.token_id IS NOT DISTINCT FROM k.token_id AND x.holder IS NOT DISTINCT FROM k.holder
        AND x.block_time < m.month_end
      ORDER BY x.block_number DESC, x.log_index DESC LIMIT 1) b),
  flows AS (
    SELECT date_trunc('month', h.block_time AT TIME ZONE 'UTC')::date AS month, h.class,
      sum(h.amount) FILTER (WHERE h.kind IN ('deposit', 'stake')) AS deposited,
      sum(h.amount) FILTER (WHERE h.kind IN ('withdraw', 'unstake')) AS withdrawn,
      sum(h.amount) FILTER (WHERE h.kind IN ('forfeit_burn', 'forfeit_reallocate', 'forfeit')) AS slashed
    FROM moves h GROUP BY 1, 2)
  SELECT m.month, c.class, coalesce(f.deposited, 0), coalesce(f.withdrawn, 0), coalesce(f.slashed, 0),
    coalesce(e.total, 0), dimo_wei_to_dimo(coalesce(e.total, 0)), coalesce(e.stakers, 0)
  FROM months m CROSS JOIN classes c
  LEFT JOIN flows f ON f.month = m.month AND f.class = c.class
  LEFT JOIN (SELECT x.month, x.class, sum(x.balance) AS total, count(*) FILTER (WHERE x.balance > 0) AS stakers
             FROM ends x GROUP BY 1, 2) e ON e.month = m.month AND e.class = c.class
  ORDER BY m.month, c.class
$$;

-- Per month and class: slashes, amounts, burned vs reallocated.
CREATE FUNCTION dimo_monthly_slash_metrics(p_chain_id bigint)
RETURNS TABLE(month date, class text, slashes bigint, amount numeric, amount_dimo numeric,
              burned_count bigint, burned numeric, reallocated_count bigint, reallocated numeric,
              unknown_count bigint)
LANGUAGE sql STABLE
SET jit = off
AS $$
  WITH months AS (SELECT * FROM dimo__months(p_chain_id)),
  classes AS (SELECT DISTINCT s.class FROM license_state s WHERE s.chain_id = p_chain_id),
  agg AS (
    SELECT date_trunc('month', x.block_time AT TIME ZONE 'UTC')::date AS month, x.class,
      count(*) AS n, sum(x.amount) AS amount,
      count(*) FILTER (WHERE x.destination = 'burn') AS burned_count,
      sum(x.amount) FILTER (WHERE x.destination = 'burn') AS burned,
      count(*) FILTER (WHERE x.destination <> 'burn') AS reallocated_count,
      sum(x.amount) FILTER (WHERE x.destination <> 'burn') AS reallocated,
      count(*) FILTER (WHERE x.destination IS NULL) AS unknown_count
    FROM slashes x WHERE x.chain_id = p_chain_id GROUP BY 1, 2)
  SELECT m.month, c.class, coalesce(a.n, 0), coalesce(a.amount, 0),
    dimo_wei_to_dimo(coalesce(a.amount, 0)), coalesce(a.burned_count, 0), coalesce(a.burned, 0),
    coalesce(a.reallocated_count, 0), coalesce(a.reallocated, 0), coalesce(a.unknown_count, 0)
  FROM months m CROSS JOIN classes c
  LEFT JOIN agg a ON a.month = m.month AND a.class = c.class
  ORDER BY m.month, c.class
$$;

CREATE VIEW monthly_license_metrics AS
SELECT c.chain_id, m.* FROM cursors c CROSS JOIN LATERAL dimo_monthly_license_metrics(c.chain_id) m;

CREATE VIEW monthly_stake_metrics AS
SELECT c.chain_id, m.* FROM cursors c CROSS JOIN LATERAL dimo_monthly_stake_metrics(c.chain_id) m;

CREATE VIEW monthly_slash_metrics AS
SELECT c.chain_id, m.* FROM cursors c CROSS JOIN LATERAL dimo_monthly_slash_metrics(c.chain_id) m;
