-- queries.sql (repeatable): the questions of the SQL API that the HTTP API
-- and the CLI ask alike (indexer/query.c holds their statements), one
-- function per question, with an optional block.

-- verify: may this app (client id), signing with this key, be served?
-- {"valid", "reason", "license"}. p_at_block NULL: now (dimo_verify_license:
-- the current state, the signer judged at the wall clock). A block: the
-- license document as of that block (dimo_license_lookup by the client id),
-- the signer judged at that block's time, the reasons applied in
-- dimo_verify_license's order: unknown_client_id, license_revoked,
-- license_suspended, license_understaked, signer_not_enabled,
-- signer_expired, else ok. A block not indexed raises 22023 (the caller's).
-- The answer is `json` with the license member in document order
-- (licenses.sql's dimo_doc_json), as dimo_verify_license's.
DROP FUNCTION IF EXISTS dimo_verify(bigint, bytea, bytea, bigint);
CREATE FUNCTION dimo_verify(p_chain_id bigint, p_client_id bytea, p_signer bytea,
                            p_at_block bigint DEFAULT NULL)
RETURNS json
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  v_doc jsonb;
  v_entry jsonb;
  v_status text;
  v_reason text;
BEGIN
  IF p_at_block IS NULL THEN
    RETURN dimo_verify_license(p_chain_id, p_client_id, p_signer);
  END IF;
  v_doc := dimo_internal.license_lookup_jsonb(p_chain_id, NULL, dimo_hex(p_client_id), p_at_block);
  IF v_doc IS NULL OR v_doc ->> 'client_id' IS DISTINCT FROM dimo_hex(p_client_id) THEN
    v_doc := NULL;
    v_reason := 'unknown_client_id';
  ELSE
    SELECT e INTO v_entry FROM jsonb_array_elements(coalesce(v_doc -> 'signers', '[]')) e
    WHERE e ->> 'address' = dimo_hex(p_signer)
    LIMIT 1;
    v_status := v_doc ->> 'status';
    v_reason := CASE
      WHEN v_status = 'revoked' THEN 'license_revoked'
      WHEN v_status = 'suspended' THEN 'license_suspended'
      WHEN v_status = 'understaked' THEN 'license_understaked'
      WHEN v_entry IS NULL OR jsonb_typeof(v_entry -> 'enabled_at') IS DISTINCT FROM 'string'
        THEN 'signer_not_enabled'
      WHEN (v_entry -> 'valid') IS DISTINCT FROM 'true'::jsonb THEN 'signer_expired'
      ELSE 'ok' END;
  END IF;
  RETURN ('{"valid": ' || (v_reason = 'ok')::text || ', "reason": ' || to_json(v_reason)::text
    || ', "license": ' || coalesce(dimo_doc_json(v_doc)::text, 'null') || '}')::json;
END;
$$;

-- license: every license a key matches (dimo_find_licenses: token id, client
-- id, owner, alias) in p_class (NULL: any), as of p_at_block (NULL: the last
-- indexed block): the one document, a JSON array of several in precedence
-- order (token id, client id, alias, owner matches), then (contract, token
-- id), NULL when none existed at that block.
DROP FUNCTION IF EXISTS dimo_license_docs(bigint, text, text, bigint);
CREATE FUNCTION dimo_license_docs(p_chain_id bigint, p_class text, p_key text,
                                  p_at_block bigint DEFAULT NULL)
RETURNS json
LANGUAGE sql STABLE
AS $$
  SELECT CASE WHEN count(*) = 0 THEN NULL
              WHEN count(*) = 1 THEN min(dimo_doc_json(t.d)::text)::json
              ELSE ('[' || string_agg(dimo_doc_json(t.d)::text, ', '
                                      ORDER BY t.rank, t.contract, t.token_id) || ']')::json END
  FROM (SELECT f.contract, f.token_id, f.rank,
               dimo_license_doc(p_chain_id, f.contract, f.token_id, p_at_block) AS d
        FROM dimo_internal.find_licenses_ranked(p_chain_id, p_class, p_key, p_at_block) f) t
  WHERE t.d IS NOT NULL
$$;
