#!/usr/bin/env bash
# bench_remote.sh: the first sync through a simulated remote provider
# (issue #16). Not a test: it measures, prints one table, and exits 0 unless
# something broke (missed goals are reported, not failures).
#
#   scripts/bench_remote.sh [--blocks N] [--events N] [--profiles LIST]
#                           [--no-sequential] [--json FILE] [--keep]
#
# The node: scripts/bench/replay_server.js answering from memory a sparse
# chain of N blocks (default 2,000,000) with E license events spread evenly
# over it (default 2,000: a block with logs every 1,000 blocks).
# The provider: tests/tools/rpc_proxy.js in front of it, for each profile
# LAT:CAP:ALLOWED (default "80:10000:8,150:2000:4"): LAT ms added to every
# exchange, eth_getLogs wider than CAP blocks refused with a real
# provider's text ("eth_getLogs is limited to a CAP blocks range"), and at
# most ALLOWED exchanges served at once, one more answered HTTP 429 with
# Retry-After: 1.
# For each profile, `dimo-indexer sync` from block 1 to the head with its
# defaults (the adaptive window, --max-inflight 8), then, unless
# --no-sequential, with --max-inflight 1 (one range ahead of the one being
# written, the engine before the window). Reported: wall time, blocks/s,
# HTTP requests, 429s (and their share), the most exchanges served at
# once, and the ratio to the sequential bound, ranges x latency with
# ranges = ceil(N / CAP) (what one request at a time needs at the least),
# for the whole `sync` process (start-up, chain check, near-head tail
# included) and for the backfill alone (its rate from the last progress
# line, which counts from the first batch). The schema of the fresh
# database is created first by `dimo-indexer migrate`, timed apart
# ("schema s": the same for every provider, CPU-bound, about 1 s on a
# loaded 2-core machine); "ratio+schema" counts it in.
#
# Environment: SYNC_ARGS, more options for every sync (e.g. --log-level debug).
# Needs what scripts/setup.sh builds; one temporary directory with its own
# PostgreSQL cluster; a trap stops every process it started, by PID.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
B="$ROOT/scripts/bench"
BIN=${DIMO_INDEXER:-$ROOT/build/indexer/dimo-indexer}
BLOCKS=2000000
EVENTS=2000
PROFILES="80:10000:8,150:2000:4"
SEQUENTIAL=1
JSON_OUT=
KEEP=0

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit 2
}
while (($#)); do
  case $1 in
  --blocks) BLOCKS=${2:?}; shift ;;
  --events) EVENTS=${2:?}; shift ;;
  --profiles) PROFILES=${2:?}; shift ;;
  --no-sequential) SEQUENTIAL=0 ;;
  --json) JSON_OUT=${2:?}; shift ;;
  --keep) KEEP=1 ;;
  -h | --help) usage ;;
  *) echo "bench_remote.sh: unknown option $1" >&2; usage ;;
  esac
  shift
done
[[ -n $JSON_OUT && $JSON_OUT != /* ]] && JSON_OUT="$PWD/$JSON_OUT"

WORK=$(mktemp -d /tmp/dimo-bench-remote.XXXXXX)
chmod 755 "$WORK"
PIDS=()
PG_DIR=
cleanup() {
  local pid
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  [[ -n $PG_DIR ]] && bash "$ROOT/scripts/pg.sh" stop "$PG_DIR" >/dev/null 2>&1 || true
  if ((KEEP)); then echo "bench_remote.sh: kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() {
  log "FAILED: $*"
  exit 1
}
jget() { node -e 'const j=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8").trim().split("\n").pop()); const v=process.argv[2].split(".").reduce((o,k)=>o==null?o:o[k],j); console.log(v===undefined||v===null?"":v)' "$1" "$2"; }
wait_line() { # wait_line FILE PID: until FILE has a line
  local i
  for ((i = 0; i < 1800; i++)); do
    [[ -s $1 ]] && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

[[ -x $BIN ]] || bash "$ROOT/scripts/setup.sh"
PG_DIR="$WORK/pg"
mkdir -p "$PG_DIR"
bash "$ROOT/scripts/pg.sh" start "$PG_DIR" >/dev/null

node "$ROOT/scripts/bench/replay_network.js" bench-remote "$WORK/network.json"
log "replay node: $EVENTS events over $BLOCKS blocks"
node "$B/replay_server.js" --network "$WORK/network.json" --abi-dir "$ROOT/abi" \
  --events "$EVENTS" --blocks "$BLOCKS" --spread >"$WORK/replay.out" 2>"$WORK/replay.err" &
PIDS+=($!)
wait_line "$WORK/replay.out" "${PIDS[-1]}" || die "replay server did not start: $(cat "$WORK/replay.err")"
NODE=$(jget "$WORK/replay.out" url)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

RESULTS="$WORK/results.jsonl"
: >"$RESULTS"
run=0
# one_run LAT CAP ALLOWED MAXINFLIGHT: one sync through a fresh proxy.
one_run() {
  local lat=$1 cap=$2 allowed=$3 k=$4 proxy db t0 t1 rc=0
  run=$((run + 1))
  node "$ROOT/tests/tools/rpc_proxy.js" --upstream "$NODE" --delay-ms "$lat" --max-range "$cap" \
    --max-range-error limited --max-inflight "$allowed" --retry-after 1 >"$WORK/proxy$run.url" \
    2>"$WORK/proxy$run.err" &
  local ppid=$!
  PIDS+=("$ppid")
  wait_line "$WORK/proxy$run.url" "$ppid" || die "proxy did not start: $(cat "$WORK/proxy$run.err")"
  proxy=$(head -n 1 "$WORK/proxy$run.url")
  db=$(bash "$ROOT/scripts/pg.sh" createdb "$PG_DIR" "remote$run")
  log "profile ${lat} ms, cap $cap, $allowed allowed: sync --max-inflight $k"
  local m0 m1
  m0=$(date +%s.%N)
  "$BIN" migrate --db "$db" >"$WORK/migrate$run.log" 2>&1 || die "migrate failed: $(tail -n 5 "$WORK/migrate$run.log")"
  m1=$(date +%s.%N)
  t0=$(date +%s.%N)
  "$BIN" sync --network "$WORK/network.json" --rpc "$proxy" --db "$db" --confirmations 0 \
    --max-inflight "$k" ${SYNC_ARGS:-} >"$WORK/sync$run.log" 2>&1 || rc=$?
  t1=$(date +%s.%N)
  ((rc == 0)) || { tail -n 20 "$WORK/sync$run.log" >&2; die "sync failed ($rc)"; }
  curl -sf "$proxy/__stats" >"$WORK/proxy$run.json"
  kill "$ppid" 2>/dev/null || true
  wait "$ppid" 2>/dev/null || true
  local rows rate
  rows=$(psql "$db" -qAtX -c "SELECT count(*) FROM logs")
  # The backfill's own rate (from its first batch; start-up, migrations
  # and the chain check excluded), from the last progress line.
  rate=$(sed -n 's/.*INFO  sync: block [0-9]* of [0-9]*: \([0-9]*\) blocks\/s.*/\1/p' "$WORK/sync$run.log" | tail -n 1)
  node -e '
    const [lat, cap, allowed, k, t0, t1, blocks, rows, statsFile, rate, m0, m1] = process.argv.slice(1);
    const schema = Number(m1) - Number(m0);
    const st = JSON.parse(require("fs").readFileSync(statsFile, "utf8"));
    const wall = Number(t1) - Number(t0);
    const ranges = Math.ceil(Number(blocks) / Number(cap));
    const bound = ranges * Number(lat) / 1000;
    console.log(JSON.stringify({ latency_ms: +lat, cap: +cap, allowed: +allowed, max_inflight: +k,
      wall_s: +wall.toFixed(2), blocks_per_s: Math.round(Number(blocks) / wall), rows: +rows,
      requests: st.requests, rate_limited: st.inflight_429,
      rate_limited_pct: +(100 * st.inflight_429 / Math.max(1, st.requests)).toFixed(2),
      peak_in_flight: st.served_in_flight_max, ranges_min: ranges, sequential_bound_s: bound,
      ratio: +(bound / wall).toFixed(2), schema_s: +schema.toFixed(2),
      ratio_with_schema: +(bound / (wall + schema)).toFixed(2),
      backfill_s: rate > 0 ? +(Number(blocks) / Number(rate)).toFixed(2) : null,
      backfill_ratio: rate > 0 ? +(bound / (Number(blocks) / Number(rate))).toFixed(2) : null }));' \
    "$lat" "$cap" "$allowed" "$k" "$t0" "$t1" "$BLOCKS" "$rows" "$WORK/proxy$run.json" "${rate:-0}" \
    "$m0" "$m1" >>"$RESULTS"
  log "  $(tail -n 1 "$RESULTS")"
}

IFS=',' read -ra profiles <<<"$PROFILES"
for p in "${profiles[@]}"; do
  IFS=':' read -r lat cap allowed <<<"$p"
  one_run "$lat" "$cap" "$allowed" 8
  ((SEQUENTIAL)) && one_run "$lat" "$cap" "$allowed" 1
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

node -e '
  const fs = require("fs");
  const [file, blocks, events, loadStart, loadEnd, out] = process.argv.slice(1);
  const rows = fs.readFileSync(file, "utf8").trim().split("\n").map(JSON.parse);
  console.log(`remote provider: ${blocks} blocks, ${events} events; load ${loadStart} -> ${loadEnd}`);
  console.log("latency  cap    allowed  inflight  wall s  blocks/s  requests  429s (%)     peak  bound s  ratio  backfill s  ratio   schema s  ratio+schema");
  for (const r of rows) {
    console.log(`${String(r.latency_ms).padEnd(9)}${String(r.cap).padEnd(7)}${String(r.allowed).padEnd(9)}` +
      `${String(r.max_inflight).padEnd(10)}${String(r.wall_s).padEnd(8)}${String(r.blocks_per_s).padEnd(10)}` +
      `${String(r.requests).padEnd(10)}${(r.rate_limited + " (" + r.rate_limited_pct + ")").padEnd(13)}` +
      `${String(r.peak_in_flight).padEnd(6)}${String(r.sequential_bound_s).padEnd(9)}${(r.ratio + "x").padEnd(7)}` +
      `${String(r.backfill_s).padEnd(12)}${(r.backfill_ratio + "x").padEnd(8)}${String(r.schema_s).padEnd(10)}${r.ratio_with_schema}x`);
  }
  for (const r of rows.filter((x) => x.max_inflight > 1)) {
    const seq = rows.find((x) => x.max_inflight === 1 && x.latency_ms === r.latency_ms &&
      x.cap === r.cap && x.allowed === r.allowed);
    if (seq)
      console.log(`${r.latency_ms} ms, cap ${r.cap}, ${r.allowed} allowed: ${(seq.wall_s / r.wall_s).toFixed(2)}x ` +
        `faster than --max-inflight 1 in the same run (${seq.wall_s} s -> ${r.wall_s} s)`);
  }
  for (const r of rows.filter((x) => x.max_inflight > 1)) {
    const goal = r.allowed >= 8 ? 4 : r.allowed >= 4 ? 2.5 : 1;
    const ok = r.ratio >= goal && r.rate_limited_pct < 2;
    const okAll = r.ratio_with_schema >= goal && r.rate_limited_pct < 2;
    console.log(`goal (${r.allowed} allowed): >= ${goal}x with 429s < 2%: ${ok ? "met" : "MISSED"} (${r.ratio}x, ${r.rate_limited_pct}%); ` +
      `with the schema creation counted in: ${okAll ? "met" : "MISSED"} (${r.ratio_with_schema}x)`);
  }
  if (out) fs.writeFileSync(out, JSON.stringify({ blocks: +blocks, events: +events, load_start: loadStart,
    load_end: loadEnd, runs: rows }, null, 2) + "\n");' \
  "$RESULTS" "$BLOCKS" "$EVENTS" "$load_start" "$load_end" "$JSON_OUT"
