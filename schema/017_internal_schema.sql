-- 017_internal_schema.sql: the model's internals in a schema of their own
-- (issue #17 item 1), as PostgREST keeps an API schema apart from its
-- internals: `public` keeps the tables, the views and the functions that
-- answer questions (README, "The API schema"); `dimo_internal` holds every
-- helper named dimo__x (now dimo_internal.x) and the functions that write
-- or run the model (now dimo_internal.<name without dimo_>):
-- dimo_apply_range, dimo_rollback_above, dimo_register_contract,
-- dimo_set_requirements, dimo_refresh_stale_docs, dimo_refresh_documents,
-- dimo_rederive.
--
-- The functions are MOVED (ALTER FUNCTION ... SET SCHEMA, then RENAME), not
-- re-created: a function keeps its OID, so what refers to it by OID stays
-- valid (model_parts' regprocedure columns, triggers, views, column
-- defaults). What refers to it by name is text and is rewritten here with
-- the same mapping the function files, the C and the tests were renamed
-- by (one sed script of three rules, the ones of pg_temp.internal_text
-- below): the bodies of every function that calls one by name (PL/pgSQL
-- and SQL bodies are stored as source text) and model_histories.refresh_fn.
-- A migration after this one creates internals in dimo_internal itself.
-- The function files then CREATE OR REPLACE the moved functions in place.
CREATE SCHEMA dimo_internal;

-- Public functions that answer questions call internals with the caller's
-- rights: every role may look up names in dimo_internal (EXECUTE on
-- functions is PUBLIC by default, as it was in public). The schema keeps
-- the API tidy; it is not a security boundary: a read-only role still
-- cannot write through a writer (it has no write privilege on the tables).
GRANT USAGE ON SCHEMA dimo_internal TO PUBLIC;

-- The mapping, once, for the moves and the body rewrite: old name -> new
-- name in dimo_internal.
CREATE FUNCTION pg_temp.internal_name(p_name text) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
  SELECT CASE WHEN p_name LIKE 'dimo\_\_%' THEN substr(p_name, 7)
              WHEN p_name IN ('dimo_apply_range', 'dimo_rollback_above', 'dimo_register_contract',
                              'dimo_set_requirements', 'dimo_refresh_stale_docs',
                              'dimo_refresh_documents', 'dimo_rederive') THEN substr(p_name, 6)
         END
$$;

-- The same mapping over source text (the sed file's three lines).
CREATE FUNCTION pg_temp.internal_text(p_src text) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
  SELECT regexp_replace(regexp_replace(regexp_replace(p_src,
    '\mdimo__(fold_facts|want_requirements)\M', 'dimo_tmp_\1', 'g'),
    '\mdimo__', 'dimo_internal.', 'g'),
    '\mdimo_(apply_range|rollback_above|register_contract|set_requirements|refresh_stale_docs|refresh_documents|rederive)\M',
    'dimo_internal.\1', 'g')
$$;

DO $$
DECLARE
  r record;
BEGIN
  -- 1. Move and rename (OIDs kept).
  FOR r IN SELECT p.oid::regprocedure AS fn, p.proname, pg_get_function_identity_arguments(p.oid) AS args,
                  pg_temp.internal_name(p.proname) AS new_name
           FROM pg_proc p
           WHERE p.pronamespace = 'public'::regnamespace AND pg_temp.internal_name(p.proname) IS NOT NULL
           ORDER BY p.proname, p.oid LOOP
    EXECUTE format('ALTER FUNCTION %s SET SCHEMA dimo_internal', r.fn);
    EXECUTE format('ALTER FUNCTION dimo_internal.%I(%s) RENAME TO %I', r.proname, r.args, r.new_name);
  END LOOP;
  -- 2. Bodies that call them by name: re-created with the new names (every
  --    function has moved by now, so SQL bodies check against the new ones).
  FOR r IN SELECT p.oid FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
           WHERE p.pronamespace IN ('public'::regnamespace, 'dimo_internal'::regnamespace)
             AND l.lanname IN ('sql', 'plpgsql') AND p.prokind = 'f'
             AND pg_temp.internal_text(p.prosrc) <> p.prosrc
           ORDER BY p.oid LOOP
    EXECUTE pg_temp.internal_text(pg_get_functiondef(r.oid));
  END LOOP;
END;
$$;

-- 3. The refresh functions model_histories names (text, for EXECUTE).
UPDATE model_histories SET refresh_fn = pg_temp.internal_text(refresh_fn)
WHERE refresh_fn <> pg_temp.internal_text(refresh_fn);
