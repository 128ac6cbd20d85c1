#!/usr/bin/env bash
# SQL-level model tests: each tests/sql/test_*.sql (one file per model
# part) runs in a database of its own, freshly migrated by the real
# binary, with tests/sql/lib.sql loaded first. The files feed rows into
# `logs` directly (no chain) and assert with t.eq, which raises on a
# difference; psql stops at the first error (ON_ERROR_STOP).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

it_pg
n=0
for f in "$IT_ROOT"/tests/sql/test_*.sql; do
  name=$(basename "$f" .sql)
  db=$(it_newdb "$name")
  "$BIN" migrate --db "$db" >"$WORK/$name.migrate.log" 2>&1 || { cat "$WORK/$name.migrate.log" >&2; it_fail "$name: migrate failed"; }
  if ! psql "$db" -X -q -v ON_ERROR_STOP=1 -f "$IT_ROOT/tests/sql/lib.sql" -f "$f" >"$WORK/$name.log" 2>&1; then
    grep -E 'FAIL|ERROR' "$WORK/$name.log" | head -n 5 >&2
    it_fail "$name failed"
  fi
  checks=$(grep -c 'NOTICE:  ok ' "$WORK/$name.log" || true)
  ((checks > 0)) || it_fail "$name made no check"
  it_log "$name: $checks checks"
  n=$((n + 1))
done
((n > 0)) || it_fail "no tests/sql/test_*.sql found"
echo "sql models: ok ($n files)"
