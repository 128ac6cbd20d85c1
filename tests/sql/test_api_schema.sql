-- The API schema (issue #17 item 1, migration 017): `public` holds exactly
-- the documented API (README, "The API schema": the views and the
-- functions that answer questions); every internal helper, hook and
-- model writer lives in dimo_internal. Fails when an internal leaks into
-- public or an API object moves or disappears; then, when a model part,
-- history refresh or trigger names a function outside dimo_internal; then
-- when a dashboard's role cannot call the API (invoker rights need USAGE
-- on dimo_internal) or can write through an internal.

-- 1. public's functions: the documented list, nothing more, nothing less.
SELECT t.eq((SELECT string_agg(p.proname, ' ' ORDER BY p.proname) FROM pg_proc p
             WHERE p.pronamespace = 'public'::regnamespace),
  'dimo_access dimo_admin_actions_csv dimo_admin_actions_page dimo_block_time dimo_books '
  'dimo_class_requirement dimo_connection_doc dimo_connection_id dimo_contract_param dimo_doc_json '
  'dimo_finalized_block dimo_find_licenses dimo_has_account_permission dimo_has_permission dimo_hex '
  'dimo_implementations dimo_is_signer dimo_iso dimo_license_at dimo_license_books dimo_license_doc '
  'dimo_license_docs dimo_license_lookup dimo_license_status dimo_licenses_page '
  'dimo_monthly_license_metrics dimo_monthly_node_users dimo_monthly_optin_metrics '
  'dimo_monthly_slash_metrics dimo_monthly_stake_metrics dimo_node_doc dimo_node_required_stake '
  'dimo_node_users dimo_overview dimo_permission_granted dimo_permission_ids dimo_required_stake '
  'dimo_role_holders dimo_role_name dimo_signer_expiry dimo_signer_status dimo_signer_valid '
  'dimo_slashes_page dimo_trust_ratio dimo_unknown_event_counts dimo_unknown_events_page '
  'dimo_upgrades_page dimo_verify dimo_verify_license dimo_wei_to_dimo',
  'public functions are the documented API');

-- 2. public's views: the documented list.
SELECT t.eq((SELECT string_agg(c.relname, ' ' ORDER BY c.relname) FROM pg_class c
             WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('v', 'm')),
  'admin_action_counts admin_action_log app_opted_in_vehicles connection_configs '
  'contract_parameter_history contract_parameters forfeit_checks license_books license_event_log '
  'licenses manufacturer_stakes monthly_client_users monthly_license_metrics monthly_node_users '
  'monthly_optin_metrics monthly_slash_metrics monthly_stake_metrics role_history role_holders '
  'sacd_grant_periods sacd_grant_status signer_status slashes stake_history storage_node_users '
  'vehicle_privilege_status',
  'public views are the documented API');

-- 3. No helper keeps the old prefix anywhere, and dimo_internal holds only
--    functions (no table, view or type strays there).
SELECT t.eq((SELECT count(*) FROM pg_proc WHERE proname LIKE 'dimo\_\_%'), 0::bigint,
            'no function keeps the old prefix');
SELECT t.eq((SELECT count(*) FROM pg_class WHERE relnamespace = 'dimo_internal'::regnamespace), 0::bigint,
            'dimo_internal holds no relation');
SELECT t.eq((SELECT count(*) > 100 FROM pg_proc WHERE pronamespace = 'dimo_internal'::regnamespace), true,
            'the internals are in dimo_internal');

-- 4. The model's hooks, parts, history refreshes and trigger functions
--    resolve to dimo_internal.
SELECT t.eq((SELECT count(*) FROM pg_proc p
             WHERE p.pronamespace = 'dimo_internal'::regnamespace AND p.proname IN ('apply_range', 'rollback_above')),
            2::bigint, 'the hooks are internal');
SELECT t.eq((SELECT count(*) FROM model_parts m JOIN pg_proc a ON a.oid = m.apply_fn JOIN pg_proc r ON r.oid = m.rollback_fn
             WHERE a.pronamespace <> 'dimo_internal'::regnamespace OR r.pronamespace <> 'dimo_internal'::regnamespace),
            0::bigint, 'every model part''s apply and rollback is in dimo_internal');
SELECT t.eq((SELECT count(*) >= 6 FROM model_parts), true, 'the parts are registered');
SELECT t.eq((SELECT string_agg(DISTINCT m.refresh_fn, ' ') FROM model_histories m
             WHERE m.refresh_fn <> ''
               AND (to_regproc(m.refresh_fn) IS NULL
                    OR (SELECT pronamespace FROM pg_proc WHERE oid = to_regproc(m.refresh_fn)) <> 'dimo_internal'::regnamespace)),
            NULL, 'every history refresh function resolves in dimo_internal');
SELECT t.eq((SELECT string_agg(DISTINCT g.tgname, ' ') FROM pg_trigger g JOIN pg_proc p ON p.oid = g.tgfoid
             WHERE NOT g.tgisinternal AND p.pronamespace <> 'dimo_internal'::regnamespace),
            NULL, 'every trigger function is internal');

-- 5. A dashboard's role (SELECT on public's tables and views, nothing
--    else granted) calls the API, whose bodies call internals, and cannot
--    write through a writer of dimo_internal. Cluster roles outlive the
--    database: a name of this file's own, dropped at the end.
SELECT dimo_internal.register_contract(137, t.addr(1000), 'app_license', 'app', 0);
SELECT t.log(10, 0, 0, 1000, 'app_license', 'Issued(uint256,address,address)',
  jsonb_build_object('tokenId', '1', 'owner', t.hex(1), 'clientId', t.hex(101)));
SELECT t.log(10, 1, 0, 1000, 'app_license', 'Transfer(address,address,uint256)',
  jsonb_build_object('from', t.hex(0), 'to', t.hex(1), 'tokenId', '1'));
SELECT t.apply(10, 10);
CREATE ROLE t_api_schema_reader NOLOGIN;
GRANT USAGE ON SCHEMA t TO t_api_schema_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO t_api_schema_reader;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA t TO t_api_schema_reader;
SET ROLE t_api_schema_reader;
SELECT t.eq((SELECT dimo_license_lookup(137, 'app', '1', NULL, NULL) ->> 'owner'), t.hex(1),
            'a read-only role calls the API (which calls internals)');
SELECT t.eq((SELECT count(*) FROM licenses), 1::bigint, 'a read-only role reads the views');
DO $$
BEGIN
  PERFORM dimo_internal.rederive(137);
  RAISE EXCEPTION 'FAIL a read-only role rederived the model';
EXCEPTION WHEN insufficient_privilege THEN
  RAISE NOTICE 'ok a read-only role cannot write through an internal (%)', SQLERRM;
END;
$$;
RESET ROLE;
DROP OWNED BY t_api_schema_reader;
DROP ROLE t_api_schema_reader;
