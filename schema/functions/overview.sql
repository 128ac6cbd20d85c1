-- functions/overview.sql (repeatable: re-applied whenever it changes): the numbers of the page's overview (GET /v1/overview)
-- in one read-only function, built from the model of 002 and the views of
-- 003; no table, nothing written.
--
-- dimo_overview(chain, at_block, license) answers, as of one block (NULL:
-- the last block the model describes):
--
--   {"as_of_block": N, "as_of_time": "...",
--    "licenses": {"total": n, "by_class": {"app": {"active": n, "suspended": n,
--                 "understaked": n, "revoked": n, "total": n}, ...}},
--    "staked": {"total": "wei", "by_class": {"app": "wei", ...}},
--    "slashes": {"count": n, "amount": "wei",
--                "burn": {"count": n, "amount": "wei"},
--                "reallocate": {"count": n, "amount": "wei"},
--                "unknown": {"count": n, "amount": "wei"}},
--    "months": [{"month": "2026-11", "class": "app", "issued": n, ...}] | null}
--
-- Counts are of licenses issued by the block, by their status then (the
-- `licenses` view at the model's block, dimo_license_at before it).
-- `staked` is the balance after the last stake movement by the block of
-- every stake key (an app license's own stake, a node owner's address), so
-- a node owner holding two licenses is counted once. Slashes are every
-- forfeit by the block, by where the stake went (burn, reallocation to an
-- address, or unknown: no DIMO transfer indexed for it). `months` joins
-- the DIP-5 monthly views of 003 (state counts at each month's end, flows
-- in the month); they describe the chain as indexed now, so they are given
-- for the model's block only (null for a past block).
--
-- With p_license (a key as dimo_find_licenses takes it) the answer is only
-- {"as_of_block", "as_of_time", "license": key, "slashes": {...},
-- "aliases": [...]}: the slash totals of the licenses matching the key (the
-- ledger filtered by license, as GET /v1/slashes?license= lists them) and
-- their alias history (every LicenseAliasSet by the block, in chain order:
-- {contract, token_id, alias, block, log_index, time, tx}; "" = cleared),
-- which the license document does not carry; NULL when none matches.
-- Amounts are decimal strings in wei; a bad block raises 22023 as the
-- other answers do (dimo_internal.as_of).

-- Slash totals as of a block, of the given licenses (NULL: all).
CREATE OR REPLACE FUNCTION dimo_internal.slash_totals(p_chain_id bigint, p_block bigint, p_keys dimo_license_key[])
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
  SELECT jsonb_build_object(
    'count', count(*),
    'amount', coalesce(sum(m.amount), 0)::text,
    'burn', jsonb_build_object('count', count(*) FILTER (WHERE m.kind = 'forfeit_burn'),
      'amount', coalesce(sum(m.amount) FILTER (WHERE m.kind = 'forfeit_burn'), 0)::text),
    'reallocate', jsonb_build_object('count', count(*) FILTER (WHERE m.kind = 'forfeit_reallocate'),
      'amount', coalesce(sum(m.amount) FILTER (WHERE m.kind = 'forfeit_reallocate'), 0)::text),
    'unknown', jsonb_build_object('count', count(*) FILTER (WHERE m.kind = 'forfeit'),
      'amount', coalesce(sum(m.amount) FILTER (WHERE m.kind = 'forfeit'), 0)::text))
  FROM stake_movements m
  WHERE m.chain_id = p_chain_id AND m.kind IN ('forfeit_burn', 'forfeit_reallocate', 'forfeit')
    AND m.token_id IS NOT NULL AND m.block_number <= p_block
    AND (p_keys IS NULL OR ROW(m.contract, m.token_id)::dimo_license_key = ANY (p_keys))
$$;

CREATE OR REPLACE FUNCTION dimo_overview(p_chain_id bigint, p_at_block bigint DEFAULT NULL,
                              p_license text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET jit = off
AS $$
DECLARE
  v_cursor bigint;
  v_block bigint;
  v_time timestamptz;
  v_keys dimo_license_key[];
  v_licenses jsonb;
  v_staked jsonb;
  v_months jsonb;
BEGIN
  v_block := dimo_internal.as_of(p_chain_id, p_at_block);
  SELECT m.block_number INTO v_cursor FROM model_cursor m WHERE m.chain_id = p_chain_id;
  v_time := CASE WHEN v_block IS NOT NULL THEN dimo_block_time(p_chain_id, v_block) END;
  IF p_license IS NOT NULL THEN
    v_keys := ARRAY(SELECT ROW(f.contract, f.token_id)::dimo_license_key
                    FROM dimo_internal.find_licenses_best(p_chain_id, NULL, p_license, NULL) f);
    IF cardinality(v_keys) = 0 THEN
      RETURN NULL;
    END IF;
    RETURN jsonb_build_object('as_of_block', v_block, 'as_of_time', dimo_iso(v_time),
      'license', p_license,
      'slashes', dimo_internal.slash_totals(p_chain_id, coalesce(v_block, -1), v_keys),
      'aliases', (SELECT coalesce(jsonb_agg(jsonb_build_object('contract', dimo_hex(a.contract),
                    'token_id', a.token_id::text, 'alias', a.alias, 'block', a.block_number,
                    'log_index', a.log_index, 'time', dimo_iso(a.block_time), 'tx', dimo_hex(a.tx_hash))
                    ORDER BY a.block_number, a.log_index), '[]')
                  FROM alias_events a
                  WHERE a.chain_id = p_chain_id AND a.block_number <= coalesce(v_block, -1)
                    AND ROW(a.contract, a.token_id)::dimo_license_key = ANY (v_keys)));
  END IF;

  -- Licenses by class and status.
  WITH st AS (
    SELECT l.class, l.status FROM licenses l
    WHERE v_block = v_cursor AND l.chain_id = p_chain_id
    UNION ALL
    SELECT x.class, x.status FROM license_state s
    CROSS JOIN LATERAL dimo_license_at(p_chain_id, s.contract, s.token_id, v_block) x
    WHERE v_block < v_cursor AND s.chain_id = p_chain_id AND s.issued_block <= v_block),
  per_class AS (
    SELECT st.class, jsonb_build_object(
        'active', count(*) FILTER (WHERE st.status = 'active'),
        'suspended', count(*) FILTER (WHERE st.status = 'suspended'),
        'understaked', count(*) FILTER (WHERE st.status = 'understaked'),
        'revoked', count(*) FILTER (WHERE st.status = 'revoked'),
        'total', count(*)) AS o, count(*) AS n
    FROM st GROUP BY st.class)
  SELECT jsonb_build_object('total', coalesce(sum(p.n), 0),
    'by_class', coalesce(jsonb_object_agg(p.class, p.o), '{}'))
    INTO v_licenses FROM per_class p;

  -- Stake held: the last balance of every stake key by the block.
  WITH last AS (
    SELECT DISTINCT ON (m.contract, m.token_id, m.holder) m.contract, m.role, m.balance_after
    FROM stake_movements m
    WHERE m.chain_id = p_chain_id AND m.block_number <= coalesce(v_block, -1)
    ORDER BY m.contract, m.token_id, m.holder, m.block_number DESC, m.log_index DESC),
  per_class AS (
    SELECT dimo_internal.class(p_chain_id, l.contract, l.role) AS class, sum(l.balance_after) AS amount
    FROM last l GROUP BY 1)
  SELECT jsonb_build_object('total', coalesce(sum(p.amount), 0)::text,
    'by_class', coalesce(jsonb_object_agg(p.class, p.amount::text), '{}'))
    INTO v_staked FROM per_class p;

  -- The DIP-5 monthly views, merged per month and class (model's block only).
  IF v_block IS NOT NULL AND v_block = v_cursor THEN
    WITH l AS MATERIALIZED (SELECT * FROM dimo_monthly_license_metrics(p_chain_id)),
    s AS MATERIALIZED (SELECT * FROM dimo_monthly_stake_metrics(p_chain_id)),
    x AS MATERIALIZED (SELECT * FROM dimo_monthly_slash_metrics(p_chain_id)),
    k AS (SELECT l.month, l.class FROM l UNION SELECT s.month, s.class FROM s)
    SELECT coalesce(jsonb_agg(jsonb_build_object(
        'month', to_char(k.month, 'YYYY-MM'), 'class', k.class,
        'issued', coalesce(l.issued, 0), 'revoked', coalesce(l.revoked, 0),
        'active', coalesce(l.active, 0), 'suspended', coalesce(l.suspended, 0),
        'understaked', coalesce(l.understaked, 0), 'revoked_total', coalesce(l.revoked_total, 0),
        'licenses_total', coalesce(l.licenses_total, 0),
        'deposited', coalesce(s.deposited, 0)::text, 'withdrawn', coalesce(s.withdrawn, 0)::text,
        'slashed', coalesce(s.slashed, 0)::text, 'staked_end', coalesce(s.staked_end, 0)::text,
        'stakers_end', coalesce(s.stakers_end, 0),
        'slashes', coalesce(x.slashes, 0), 'burned', coalesce(x.burned, 0)::text,
        'reallocated', coalesce(x.reallocated, 0)::text)
      ORDER BY k.month, k.class), '[]')
      INTO v_months
    FROM k
    LEFT JOIN l ON l.month = k.month AND l.class = k.class
    LEFT JOIN s ON s.month = k.month AND s.class = k.class
    LEFT JOIN x ON x.month = k.month AND x.class = k.class;
  END IF;

  RETURN jsonb_build_object('as_of_block', v_block, 'as_of_time', dimo_iso(v_time),
    'licenses', v_licenses, 'staked', v_staked,
    'slashes', dimo_internal.slash_totals(p_chain_id, coalesce(v_block, -1), NULL),
    'months', v_months);
END;
$$;
