#!/usr/bin/env bash
# SQL as code: numbered migrations are checksummed and never edited after
# they are applied; files of schema/functions/ are re-applied when they
# change; a database migrated by the previous release (fewer migrations,
# older function files, internals still in public) upgrades cleanly to the
# same functions and views as a fresh one, its model still applying through
# the hooks 017 moved to dimo_internal; one migrated by a newer release, or by
# a release before checksums, is refused. Through the real `migrate`
# command against a real PostgreSQL.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

it_pg
S="$WORK/schema"
cp -r "$IT_ROOT/schema" "$S"
mkdir -p "$S/functions"
nfiles=$(ls "$S"/[0-9][0-9][0-9]_*.sql | wc -l)

migrate() { "$BIN" migrate --db "$DB" --schema-dir "$S" >"$WORK/migrate.out" 2>&1; }
expect_exit() { # CODE TEXT
  local rc=0
  migrate || rc=$?
  ((rc == $1)) || { cat "$WORK/migrate.out" >&2; it_fail "migrate exited $rc, expected $1"; }
  grep -qF -- "$2" "$WORK/migrate.out" || { cat "$WORK/migrate.out" >&2; it_fail "migrate did not say: $2"; }
}

# 1. The previous release's schema (fewer migrations, older function
#    files: the tree of PREV, before 017 moved the internals to
#    dimo_internal) with a model derived by its hooks. Then the current
#    schema: the upgrade applies exactly the missing migrations and the
#    changed files, and the database equals a fresh one.
PREV=ec7f8d9fa73c59af07f01c102dbcfa2b534ae40a
P="$WORK/prev"
mkdir -p "$P"
git -C "$IT_ROOT" archive "$PREV" schema | tar -x -C "$P" || it_fail "no git history: cannot read the previous release's schema"
printf "CREATE OR REPLACE FUNCTION it_version() RETURNS int LANGUAGE sql AS 'SELECT 1';\n" \
  >"$P/schema/functions/it_version.sql"
pfiles=$(ls "$P"/schema/[0-9][0-9][0-9]_*.sql | wc -l)
pfunc=$(ls "$P"/schema/functions/*.sql | wc -l)
"$BIN" migrate --db "$DB" --schema-dir "$P/schema" >"$WORK/migrate.out" 2>&1 || { cat "$WORK/migrate.out" >&2; it_fail "the previous release's migrate failed"; }
grep -qF "applied $((pfiles + pfunc)) migration(s)" "$WORK/migrate.out" || it_fail "previous release: $(tail -n 1 "$WORK/migrate.out")"
[[ $(it_psql "$DB" "SELECT it_version()") == 1 ]] || it_fail "function file not applied"
# An app license issued at block 10, derived by the previous release's hook.
app="'\\x00000000000000000000000000000000000003e8'::bytea"
log_sql() { # BLOCK TOKEN: an Issued log of license TOKEN to owner 0x..01 in BLOCK
  printf "INSERT INTO logs (chain_id, block_number, block_hash, block_time, tx_hash, tx_index, log_index, address, data,
            event, event_name, role, args)
          VALUES (137, %s, sha256('b%s'), timestamptz '2025-01-01' + %s * interval '2 s', sha256('t%s'), 0, 0, %s,
            decode('', 'hex'), 'Issued(uint256,address,address)', 'Issued', 'app_license',
            jsonb_build_object('tokenId', '%s', 'owner', '0x%040d', 'clientId', '0x%040d'));
          INSERT INTO cursors (chain_id, last_block, last_hash) VALUES (137, %s, sha256('b%s'))
          ON CONFLICT (chain_id) DO UPDATE SET last_block = EXCLUDED.last_block, last_hash = EXCLUDED.last_hash;" \
    "$1" "$1" "$1" "$1" "$app" "$2" 1 "$((100 + $2))" "$1" "$1"
}
# (Its names, before 017: spelt through $v1 so that the rename's sed,
# re-run over tests/, leaves them alone.)
v1=dimo_
it_psql "$DB" "SELECT ${v1}register_contract(137, $app, 'app_license', 'app', 0); $(log_sql 10 1)
  SELECT ${v1}apply_range(137, 10, 10)" >/dev/null
[[ $(it_psql "$DB" "SELECT count(*) FROM licenses") == 1 ]] || it_fail "the previous release derived no license"
changed=0
for f in "$S"/functions/*.sql; do
  cmp -s "$f" "$P/schema/functions/$(basename "$f")" || changed=$((changed + 1))
done
printf "CREATE OR REPLACE FUNCTION it_version() RETURNS int LANGUAGE sql AS 'SELECT 2';\n" \
  >"$S/functions/it_version.sql"
expect_exit 0 "applied $((nfiles - pfiles + changed + 1)) migration(s)" # the new numbered, the changed files, it_version
[[ $(it_psql "$DB" "SELECT it_version()") == 2 ]] || it_fail "changed function file not re-applied"
[[ $(it_psql "$DB" "SELECT count(*) FROM schema_migrations WHERE checksum ~ '^0x[0-9a-f]{64}\$'") == "$nfiles" ]] ||
  it_fail "not every migration has its checksum"
# The internals moved (017): no function keeps the old double-underscore prefix; every function
# (schema, name, arguments, result, body) and view equals a fresh
# database's, so nothing calls an internal by its old name.
[[ $(it_psql "$DB" "SELECT count(*) FROM pg_proc WHERE proname LIKE 'dimo\\_\\_%'") == 0 ]] ||
  it_fail "functions with the old prefix left after the upgrade: $(it_psql "$DB" "SELECT string_agg(oid::regprocedure::text, ' ') FROM pg_proc WHERE proname LIKE 'dimo\\_\\_%'")"
FRESH=$(it_newdb fresh)
"$BIN" migrate --db "$FRESH" --schema-dir "$S" >"$WORK/fresh.out" 2>&1 || { cat "$WORK/fresh.out" >&2; it_fail "fresh migrate failed"; }
defs="SELECT n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ') '
        || p.prorettype::regtype || ' ' || md5(p.prosrc) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname IN ('public', 'dimo_internal')
      UNION ALL SELECT c.relname || ' ' || md5(pg_get_viewdef(c.oid)) FROM pg_class c
      WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'v' ORDER BY 1"
it_psql "$DB" "$defs" >"$WORK/upgraded.defs"
it_psql "$FRESH" "$defs" >"$WORK/fresh.defs"
diff "$WORK/upgraded.defs" "$WORK/fresh.defs" >&2 || it_fail "the upgraded database's functions or views differ from a fresh one's"
[[ $(it_psql "$DB" "SELECT count(*) FROM pg_proc WHERE pronamespace = 'dimo_internal'::regnamespace") -gt 100 ]] ||
  it_fail "the internals are not in dimo_internal"
# The model still applies and rolls back through the moved hooks.
it_psql "$DB" "$(log_sql 11 2) SELECT dimo_internal.apply_range(137, 11, 11)" >/dev/null
[[ $(it_psql "$DB" "SELECT string_agg(token_id::text, ' ' ORDER BY token_id) FROM licenses") == "1 2" ]] ||
  it_fail "the upgraded model did not apply a new batch"
[[ $(it_psql "$DB" "SELECT dimo_license_lookup(137, 'app', '2', NULL, NULL) ->> 'owner'") == "0x$(printf '%040d' 1)" ]] ||
  it_fail "the upgraded API does not find the new license"
it_psql "$DB" "SELECT dimo_internal.rollback_above(137, 10); DELETE FROM logs WHERE block_number > 10" >/dev/null
[[ $(it_psql "$DB" "SELECT count(*) FROM licenses") == 1 ]] || it_fail "the upgraded model did not roll back"

# 2. Nothing changed: nothing runs (the function file is not re-applied).
before=$(it_psql "$DB" "SELECT applied_at FROM schema_repeatables WHERE name = 'it_version.sql'")
expect_exit 0 "applied 0 migration(s)"
after=$(it_psql "$DB" "SELECT applied_at FROM schema_repeatables WHERE name = 'it_version.sql'")
[[ $before == "$after" ]] || it_fail "an unchanged function file was re-applied"

# 3. An applied migration edited in place: refused, naming it; nothing runs.
cp "$S/002_license_model.sql" "$WORK/002.orig"
printf -- "-- an edit after the fact\n" >>"$S/002_license_model.sql"
printf "CREATE OR REPLACE FUNCTION it_version() RETURNS int LANGUAGE sql AS 'SELECT 3';\n" \
  >"$S/functions/it_version.sql"
expect_exit 2 "migration 002_license_model.sql was changed after it was applied"
[[ $(it_psql "$DB" "SELECT it_version()") == 2 ]] || it_fail "a refused migrate still applied a function file"
cp "$WORK/002.orig" "$S/002_license_model.sql"
expect_exit 0 "applied 1 migration(s)"

# 4. A function file that fails leaves every function as it was.
printf "CREATE OR REPLACE FUNCTION it_version() RETURNS int LANGUAGE sql AS 'SELECT 4';\nSELEC oops;\n" \
  >"$S/functions/it_version.sql"
printf "CREATE OR REPLACE FUNCTION it_other() RETURNS int LANGUAGE sql AS 'SELECT 9';\n" \
  >"$S/functions/aa_other.sql"
expect_exit 1 "functions/it_version.sql"
[[ $(it_psql "$DB" "SELECT it_version()") == 3 ]] || it_fail "a failed function file changed it_version"
[[ $(it_psql "$DB" "SELECT to_regproc('it_other') IS NULL") == t ]] ||
  it_fail "the files applied before the failing one were kept"

# 5. A database migrated by a newer release (a migration this schema lacks).
rm "$S/functions/it_version.sql"
expect_exit 0 "applied 1 migration(s)"
it_psql "$DB" "INSERT INTO schema_migrations (version, name, checksum) VALUES (999, 'from_the_future', 'x')" >/dev/null
expect_exit 2 "the database's schema is at migration 999, newer than this dimo-indexer knows"
it_psql "$DB" "DELETE FROM schema_migrations WHERE version = 999" >/dev/null

# 6. A database migrated before checksums (the column empty): refused.
it_psql "$DB" "UPDATE schema_migrations SET checksum = NULL WHERE version = 1" >/dev/null
expect_exit 2 "without migration checksums"
echo "migrations: ok ($nfiles numbered migrations checksummed; upgrade from the previous release equals a fresh database, internals in dimo_internal; edits, newer and unverifiable databases refused; function files re-applied on change)"
