#!/usr/bin/env bash
# SQL as code: numbered migrations are checksummed and never edited after
# they are applied; files of schema/functions/ are re-applied when they
# change; a database migrated by an earlier schema (fewer migrations, older
# function files) upgrades cleanly; one migrated by a newer release, or by
# a release before checksums, is refused. Through the real `migrate`
# command against a real PostgreSQL.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

it_pg
S="$WORK/schema"
cp -r "$IT_ROOT/schema" "$S"
mkdir -p "$S/functions"
last=$(ls "$S"/[0-9][0-9][0-9]_*.sql | tail -n 1)
nfiles=$(ls "$S"/[0-9][0-9][0-9]_*.sql | wc -l)

migrate() { "$BIN" migrate --db "$DB" --schema-dir "$S" >"$WORK/migrate.out" 2>&1; }
expect_exit() { # CODE TEXT
  local rc=0
  migrate || rc=$?
  ((rc == $1)) || { cat "$WORK/migrate.out" >&2; it_fail "migrate exited $rc, expected $1"; }
  grep -qF -- "$2" "$WORK/migrate.out" || { cat "$WORK/migrate.out" >&2; it_fail "migrate did not say: $2"; }
}

# 1. An earlier schema: without the newest migration, with an older
#    function file. Then the current one: the upgrade applies exactly the
#    missing migration and the changed file.
mv "$last" "$WORK/held.sql"
printf "CREATE OR REPLACE FUNCTION it_version() RETURNS int LANGUAGE sql AS 'SELECT 1';\n" \
  >"$S/functions/it_version.sql"
nfunc=$(ls "$S"/functions/*.sql | wc -l)
expect_exit 0 "applied $((nfiles - 1 + nfunc)) migration(s)" # all but the newest numbered + every function file
[[ $(it_psql "$DB" "SELECT it_version()") == 1 ]] || it_fail "function file not applied"
mv "$WORK/held.sql" "$last"
printf "CREATE OR REPLACE FUNCTION it_version() RETURNS int LANGUAGE sql AS 'SELECT 2';\n" \
  >"$S/functions/it_version.sql"
expect_exit 0 "applied 2 migration(s)"
[[ $(it_psql "$DB" "SELECT it_version()") == 2 ]] || it_fail "changed function file not re-applied"
[[ $(it_psql "$DB" "SELECT count(*) FROM schema_migrations WHERE checksum ~ '^0x[0-9a-f]{64}\$'") == "$nfiles" ]] ||
  it_fail "not every migration has its checksum"

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
echo "migrations: ok ($nfiles numbered migrations checksummed; edits, newer and unverifiable databases refused; function files re-applied on change)"
