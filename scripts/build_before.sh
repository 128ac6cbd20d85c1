#!/usr/bin/env bash
# build_before.sh: builds, once, the release just before the commit that
# added FILE, from git history, and prints its directory.
#
#   scripts/build_before.sh FILE        e.g. schema/013_unknown_events.sql
#
# The directory (ROOT/build/test-prev-<12 hex of that commit>) holds src/
# (the release's tree: its abi/ and schema/ go with its binary) and build/
# (its binary: build/indexer/dimo-indexer). Built on the first call (about
# 15 s, warnings allowed: an older compiler's flags are not today's), then
# reused; concurrent callers (a test and a benchmark) wait for each other.
# Used by tests/integration/test_coverage_catchup.sh and
# scripts/bench_upgraded.sh (an upgraded database: indexed before 013).
# Only the directory goes to stdout; errors go to stderr (exit 1).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FILE=${1:?usage: build_before.sh FILE (a path in the repository, e.g. schema/013_unknown_events.sql)}

added=$(git -C "$ROOT" log --diff-filter=A --format=%H -- "$FILE" | tail -n 1)
[[ -n $added ]] || { echo "build_before: no commit adds $FILE (no git history?)" >&2; exit 1; }
prev=$(git -C "$ROOT" rev-parse "$added^") || { echo "build_before: $added has no parent" >&2; exit 1; }
dir="$ROOT/build/test-prev-${prev:0:12}"
bin="$dir/build/indexer/dimo-indexer"

mkdir -p "$ROOT/build"
exec 9>"$ROOT/build/.test-prev.lock"
flock 9
if [[ ! -x $bin ]]; then
  rm -rf "$dir"
  mkdir -p "$dir/src"
  git -C "$ROOT" archive "$prev" | tar -x -C "$dir/src"
  if ! (cd "$dir/src" && meson setup "$dir/build" -Dwerror=false >"$dir/setup.log" 2>&1 &&
    meson compile -C "$dir/build" indexer/dimo-indexer >"$dir/compile.log" 2>&1); then
    echo "build_before: cannot build the release before $FILE ($prev): $(tail -5 "$dir"/*.log)" >&2
    rm -f "$bin"
    exit 1
  fi
fi
echo "$dir"
