#!/usr/bin/env bash
# test.sh: runs set-up, builds, and runs every test suite:
#   1. unit and header tests (meson, -Dwerror=true);
#   2. the unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer;
#   3. the fuzzers (log decoder, JSON-RPC replies, HTTP requests) for a
#      bounded time (libFuzzer; without clang's
#      runtime, the deterministic random-input unit test stands in);
#   4. lint (format, banned functions) and command-line tests
#      (tests/cli/test_*.sh) against the built binary;
#   5. integration tests (tests/integration/test_*.sh): real PostgreSQL,
#      real anvil, the fault-injecting proxy;
#   6. devnet tests (tests/devnet/test_*.js) against a real anvil chain.
# Ends with a line "N passed, N failed" and exits non-zero on any failure.
#
# Environment: FUZZ_SECONDS (default 30).
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

# 3. Fuzzing the decoder for a bounded time.
fuzz_seconds=${FUZZ_SECONDS:-30}
if command -v clang >/dev/null 2>&1 && [[ -n $(find /usr/lib/llvm-14/lib/clang -name 'libclang_rt.fuzzer-x86_64.a' 2>/dev/null) ]]; then
  if [[ ! -f build-fuzz/build.ninja ]]; then
    CC=clang meson setup build-fuzz -Dfuzz=true -Dwerror=true -Db_sanitize=address,undefined \
      -Db_lundef=false --buildtype=debugoptimized >"$logdir/fuzz-setup.log" 2>&1
  fi
  # Each target gets an equal share of the time budget.
  fuzz_targets=(decoder rpc_reply http)
  fuzz_share=$((fuzz_seconds / ${#fuzz_targets[@]}))
  ((fuzz_share >= 1)) || fuzz_share=1
  fuzz_run() {
    local target=$1
    meson compile -C build-fuzz "tests/fuzz/fuzz_$target" &&
      mkdir -p "build-fuzz/corpus-$target" &&
      "build-fuzz/tests/fuzz/fuzz_$target" -max_total_time="$fuzz_share" -rss_limit_mb=2048 \
        -print_final_stats=1 "build-fuzz/corpus-$target" "tests/fuzz/seeds-$target"
  }
  for target in "${fuzz_targets[@]}"; do
    one_test "fuzz/$target (${fuzz_share}s)" fuzz_run "$target"
  done
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
