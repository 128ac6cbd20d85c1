#!/usr/bin/env bash
# test.sh: runs set-up, builds, and runs every test suite:
#   1. unit and header tests (meson, -Dwerror=true);
#   2. the unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer;
#   3. the fuzzers (log decoder, JSON-RPC replies, HTTP server, API routes
#      and queries, /v1/verify bodies, provider range errors, options,
#      network files) for a bounded time (libFuzzer on an instrumented
#      library; without clang's runtime, the deterministic random-input
#      unit test stands in);
#   4. lint (format, banned functions) and command-line tests
#      (tests/cli/test_*.sh) against the built binary;
#   5. integration tests (tests/integration/test_*.sh): real PostgreSQL,
#      real anvil, the fault-injecting proxy;
#   6. devnet tests (tests/devnet/test_*.js) against a real anvil chain.
# Ends with a line "N passed, N failed" and exits non-zero on any failure.
#
# Environment: FUZZ_SECONDS, the fuzzers' total time (default 56, shared equally).
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

passed=0
failed=0
failures=()
logdir="$root/build/test-logs"

note() { printf '== %s\n' "$*"; }

bash scripts/setup.sh || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }
mkdir -p "$logdir"

# Counts one meson test run: adds its Ok/Fail totals.
meson_suite() {
  local label=$1 dir=$2
  shift 2
  local log="$logdir/$label.log"
  note "$label"
  meson test -C "$dir" --print-errorlogs "$@" >"$log" 2>&1
  local ok fail
  ok=$(awk '/^Ok:/ {print $2}' "$log")
  fail=$(awk '/^(Fail|Timeout|Unexpected Pass):/ {s += $NF} END {print s + 0}' "$log")
  if [[ -z $ok ]]; then
    ok=0
    fail=$((fail + 1))
  fi
  passed=$((passed + ok))
  failed=$((failed + fail))
  if ((fail)); then
    failures+=("$label (see $log)")
    grep -E 'FAIL|TIMEOUT' "$log" | head -20
    sed -n '/Summary of Failures/,$p' "$log" | head -40
  fi
  printf '   %s passed, %s failed\n' "$ok" "$fail"
}

# Counts one command as one test.
one_test() {
  local label=$1
  shift
  local log="$logdir/${label//\//_}.log"
  local start=$SECONDS
  if "$@" >"$log" 2>&1; then
    passed=$((passed + 1))
    printf 'PASS %-40s %3ss\n' "$label" $((SECONDS - start))
  else
    failed=$((failed + 1))
    failures+=("$label (see $log)")
    printf 'FAIL %-40s %3ss\n' "$label" $((SECONDS - start))
    tail -n 30 "$log" | sed 's/^/     /'
  fi
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

# 1. Unit and header tests.
meson_suite unit build

# 2. The unit tests under ASan + UBSan.
if [[ ! -f build-san/build.ninja ]]; then
  meson setup build-san -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false \
    --buildtype=debug >"$logdir/san-setup.log" 2>&1 || failed=$((failed + 1))
fi
meson_suite sanitizers build-san --suite unit

# 3. Fuzzing for a bounded time: every target (tests/fuzz/fuzz_*.c) on an
# instrumented library, on its seeds and the corpus earlier runs kept
# (tests/fuzz/run.sh: limits, and how a failure is kept and replayed).
fuzz_seconds=${FUZZ_SECONDS:-56}
fuzz_probe='int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { return d && n; }'
if command -v clang >/dev/null 2>&1 &&
  clang -fsanitize=fuzzer -x c - -o /dev/null <<<"$fuzz_probe" >/dev/null 2>&1; then
  # The API targets (those on loopback.c's API) check the answer cache
  # against a real, migrated database: it starts while the others run.
  fuzz_pg=$(mktemp -d /tmp/dimo-fuzz-pg.XXXXXX)
  chmod 755 "$fuzz_pg"
  (bash scripts/pg.sh start "$fuzz_pg/pg" >"$fuzz_pg/conninfo" &&
    build/indexer/dimo-indexer migrate --db "$(cat "$fuzz_pg/conninfo")") >"$logdir/fuzz-pg.log" 2>&1 &
  fuzz_pg_pid=$!
  fuzz_plain=()
  fuzz_db=()
  for f in tests/fuzz/fuzz_*.c; do
    target=${f#tests/fuzz/fuzz_}
    target=${target%.c}
    if grep -q fuzz_api_once "$f"; then
      fuzz_db+=("$target")
    else
      fuzz_plain+=("$target")
    fi
  done
  # Each target gets an equal share of the time budget.
  fuzz_share=$((fuzz_seconds / (${#fuzz_plain[@]} + ${#fuzz_db[@]})))
  ((fuzz_share >= 1)) || fuzz_share=1
  fuzz_edges=()
  fuzz_one() {
    local label="fuzz/$1 (${fuzz_share}s)" cov
    one_test "$label" bash tests/fuzz/run.sh "$1" "$fuzz_share"
    cov=$(grep -ao 'DONE *cov: [0-9]*' "$logdir/${label//\//_}.log" | grep -o '[0-9]*$')
    fuzz_edges+=("$1=${cov:-?}")
  }
  for target in "${fuzz_plain[@]}"; do
    fuzz_one "$target"
  done
  if wait "$fuzz_pg_pid"; then
    export DIMO_FUZZ_DB
    DIMO_FUZZ_DB=$(cat "$fuzz_pg/conninfo")
  else
    failed=$((failed + 1))
    failures+=("fuzz database (see $logdir/fuzz-pg.log)")
  fi
  for target in "${fuzz_db[@]}"; do
    fuzz_one "$target"
  done
  note "fuzz edges reached: ${fuzz_edges[*]}"
  unset DIMO_FUZZ_DB
  bash scripts/pg.sh stop "$fuzz_pg/pg" >/dev/null 2>&1
  rm -rf "$fuzz_pg"
else
  note "clang's fuzzer runtime not found: the deterministic random-input test (unit/abi_random) stands in"
fi

# 4. House rules (format, banned functions) and command-line tests.
one_test "lint" bash scripts/lint.sh

export DIMO_INDEXER="$root/build/indexer/dimo-indexer"
for t in tests/cli/test_*.sh; do
  [[ -e $t ]] || continue
  one_test "${t#tests/}" bash "$t"
done

# 5. Integration tests: the real binary or library against real services.
for t in tests/integration/test_*.sh; do
  [[ -e $t ]] || continue
  one_test "${t#tests/}" bash "$t"
done

# 6. Devnet tests against a real anvil chain.
for t in tests/devnet/test_*.js; do
  [[ -e $t ]] || continue
  one_test "${t#tests/}" node "$t"
done

if ((${#failures[@]})); then
  echo
  echo "failed:"
  printf '  %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
((failed == 0))
