#!/usr/bin/env bash
# The store against a real PostgreSQL 15: starts a throwaway cluster with
# scripts/pg.sh in a temporary directory, runs store_test against it (two
# more, empty databases for the migration-failure and concurrent-migration
# cases), and stops and removes the cluster on exit, pass or fail.
#
# Environment:
#   STORE_TEST_BIN     the test program (default build/tests/integration/store_test;
#                      e.g. build-san/tests/integration/store_test)
#   STORE_TEST_RUNNER  a command to run it under, e.g.
#                      "valgrind --leak-check=full --error-exitcode=1"
#   STORE_TEST_BENCH_BATCHES  benchmark batches of 10,000 logs (default 10)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${STORE_TEST_BIN:-$root/build/tests/integration/store_test}
[[ -x $bin ]] || {
  echo "test_store: $bin not built (meson compile -C build)" >&2
  exit 1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dimo-store.XXXXXX")
cleanup() {
  local status=$?
  if ((status != 0)) && [[ -f $tmp/postgres.log ]]; then
    echo "test_store: failed ($status); last lines of the server log:" >&2
    tail -n 30 "$tmp/postgres.log" >&2
  fi
  bash "$root/scripts/pg.sh" stop "$tmp" || true
  rm -rf "$tmp"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

conninfo=$(bash "$root/scripts/pg.sh" start "$tmp")
conninfo2=$(bash "$root/scripts/pg.sh" createdb "$tmp" dimo_migrations)
conninfo3=$(bash "$root/scripts/pg.sh" createdb "$tmp" dimo_concurrent)

# shellcheck disable=SC2086 # the runner is a command line on purpose
DIMO_TEST_DB=$conninfo DIMO_TEST_DB2=$conninfo2 DIMO_TEST_DB3=$conninfo3 \
  ${STORE_TEST_RUNNER:-} "$bin"
