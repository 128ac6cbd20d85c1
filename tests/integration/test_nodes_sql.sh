#!/usr/bin/env bash
# SQL-level test of the storage-node (009) and connection (010) model
# parts, without a chain: tests/sql/nodes_connections.sql feeds rows into
# `logs` directly, runs the model hooks (apply and rollback) and asserts
# every answer (ASSERT: a failure stops psql with an error).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_pg
"$BIN" migrate --db "$DB" >"$WORK/migrate.log" 2>&1 || it_fail "migrate: $(tail -3 "$WORK/migrate.log")"
out=$(psql "$DB" -v ON_ERROR_STOP=1 -qAt -f "$IT_ROOT/tests/sql/nodes_connections.sql" 2>&1) ||
  it_fail "tests/sql/nodes_connections.sql: $out"
grep -q "nodes_connections.sql: ok" <<<"$out" || it_fail "no final line: $out"
echo "nodes sql: ok"
