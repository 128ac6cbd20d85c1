-- 012_model_histories.sql: model parts declare their histories (issue #17
-- item 5: one generic refresh per history shape).
--
-- Every part keeps the same shape: append-only history tables (one row
-- per decoded event, keyed by (chain_id, block_number, log_index)) and
-- current-state tables recomputed for the keys a batch touched, by a
-- refresh function refresh_fn(p_chain_id bigint, p_keys <key_type>[]).
-- Apply recomputes the keys with history rows in the batch's blocks;
-- rollback collects the keys of the rows above the kept block, deletes
-- those rows from every history of the part, and recomputes the keys from
-- what remains. Before this table each part spelled that out per history
-- (002's dimo__refresh_range and dimo__rollback, 007's and 008's copies);
-- now a part declares one row per (history, refresh function) here, in its
-- migration as with model_parts (the rows below for 002, 007 and 008),
-- and calls dimo__histories_apply / dimo__histories_rollback
-- (schema/functions/licenses.sql), which build those statements from the
-- rows.
CREATE TABLE model_histories (
  part text NOT NULL REFERENCES model_parts (name) ON DELETE CASCADE,
  -- an event table with chain_id and block_number columns
  history regclass NOT NULL,
  -- the state rows it feeds: refresh_fn(p_chain_id bigint, p_keys key_type[]);
  -- '' for a history no state row reads directly (rolled back only)
  refresh_fn text NOT NULL DEFAULT '',
  -- the order refreshes run in (lowest first), and the key: an expression
  -- over the history row h, of type key_type, for the rows matching
  -- key_filter (an expression over h; NULL: every row)
  ord int NOT NULL DEFAULT 0,
  key_type text NOT NULL DEFAULT '',
  key_expr text NOT NULL DEFAULT '',
  key_filter text,
  PRIMARY KEY (part, history, refresh_fn),
  CHECK ((refresh_fn = '') = (key_expr = '') AND (refresh_fn = '') = (key_type = ''))
);

-- The declarations of the parts that exist (each later part declares its
-- own in its migration, beside its model_parts row).
INSERT INTO model_histories (part, history, refresh_fn, ord, key_type, key_expr, key_filter) VALUES
  -- 002: licenses from the ownership, alias, freeze and stake rows of a
  -- token; signers, redirect URIs and manufacturer stakes (per holder)
  -- from their own; parameter_events has no state rows (documents read
  -- it as of a block).
  ('licenses', 'ownership_events', 'dimo__refresh_licenses', 1, 'dimo_license_key',
   'ROW(h.contract, h.token_id)::dimo_license_key', NULL),
  ('licenses', 'alias_events', 'dimo__refresh_licenses', 1, 'dimo_license_key',
   'ROW(h.contract, h.token_id)::dimo_license_key', NULL),
  ('licenses', 'freeze_events', 'dimo__refresh_licenses', 1, 'dimo_license_key',
   'ROW(h.contract, h.token_id)::dimo_license_key', NULL),
  ('licenses', 'stake_movements', 'dimo__refresh_licenses', 1, 'dimo_license_key',
   'ROW(h.contract, h.token_id)::dimo_license_key', 'h.token_id IS NOT NULL'),
  ('licenses', 'signer_events', 'dimo__refresh_signers', 2, 'dimo_signer_key',
   'ROW(h.contract, h.token_id, h.signer)::dimo_signer_key', NULL),
  ('licenses', 'redirect_uri_events', 'dimo__refresh_uris', 3, 'dimo_uri_key',
   'ROW(h.contract, h.token_id, h.uri_key)::dimo_uri_key', NULL),
  ('licenses', 'stake_movements', 'dimo__refresh_node_stakes', 4, 'dimo_holder_key',
   'ROW(h.contract, h.holder)::dimo_holder_key', 'h.holder IS NOT NULL'),
  ('licenses', 'parameter_events', '', 0, '', '', NULL),
  -- 007: anchor tokens from their events; vehicles' node assignments.
  ('storage_nodes', 'storage_node_events', 'dimo__refresh_storage_nodes', 1, 'dimo_node_key',
   'ROW(h.contract, h.token_id)::dimo_node_key', NULL),
  ('storage_nodes', 'vehicle_node_events', 'dimo__refresh_vehicle_nodes', 2, 'numeric',
   'h.vehicle_id', NULL),
  -- 008: connection tokens from their events; connection_settings has no
  -- state rows (rolled back only).
  ('connections', 'connection_events', 'dimo__refresh_connections', 1, 'dimo_node_key',
   'ROW(h.contract, h.token_id)::dimo_node_key', NULL),
  ('connections', 'connection_settings', '', 0, '', '', NULL);
