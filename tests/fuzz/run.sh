#!/usr/bin/env bash
# run.sh TARGET SECONDS [libFuzzer flags...]: builds one fuzz target in
# build-fuzz (clang, -Dfuzz=true, ASan+UBSan; set up on first use) and
# runs it for SECONDS on its seeds (tests/fuzz/seeds-TARGET/) and the
# corpus earlier runs kept (build-fuzz/corpus-TARGET/). Exits non-zero on
# a crash, a leak, a failed check, an input running too long (10 s; 30 s
# for the API targets) or a process above 2 GiB; the input is kept as
# build-fuzz/artifacts/TARGET-* (replay it: build-fuzz/tests/fuzz/fuzz_TARGET
# FILE; FUZZ_SHOW_ANSWERS=1 prints the API's answers, FUZZ_LOG=1 its logs).
# The last line is libFuzzer's "DONE cov: N ..." (N: edges of the code
# reached). fuzz_api and fuzz_verify use the database in DIMO_FUZZ_DB when
# set (a migrated one; scripts/test.sh starts it).
#
# Example: bash tests/fuzz/run.sh api 60
set -euo pipefail

target=${1:?usage: run.sh TARGET SECONDS [flags...]}
seconds=${2:?usage: run.sh TARGET SECONDS [flags...]}
shift 2
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"

# The longest input a target may build: its seeds fit, and larger inputs
# only slow it down (the servers cap requests well below these). The
# longest one input may run: the API targets make up to 25 loopback
# exchanges with database queries per input, the others parse in memory.
timeout=10
case $target in
  rpc_reply) max_len=8192 ;;
  api | verify) max_len=2048 timeout=30 ;;
  logrange | config) max_len=1024 ;;
  *) max_len=4096 ;;
esac

if [[ ! -f build-fuzz/build.ninja ]]; then
  CC=clang meson setup build-fuzz -Dfuzz=true -Dwerror=true -Db_sanitize=address,undefined \
    -Db_lundef=false --buildtype=debugoptimized
fi
ninja -C build-fuzz "tests/fuzz/fuzz_$target"
mkdir -p "build-fuzz/corpus-$target" build-fuzz/artifacts
# A dictionary (tests/fuzz/TARGET.dict: words the input format is made
# of) when the target has one.
dict=()
[[ -f tests/fuzz/$target.dict ]] && dict=("-dict=tests/fuzz/$target.dict")
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
exec "build-fuzz/tests/fuzz/fuzz_$target" -max_total_time="$seconds" -rss_limit_mb=2048 \
  -max_len="$max_len" -timeout="$timeout" -print_final_stats=1 \
  -artifact_prefix="build-fuzz/artifacts/$target-" "${dict[@]}" "$@" \
  "build-fuzz/corpus-$target" "tests/fuzz/seeds-$target"
