#!/usr/bin/env bash
# bench.sh: dimo-indexer against the physical limits of this machine and
# against Ponder. Not a test: it measures, prints one table, and exits 0
# unless something broke (missed targets are reported, not failures).
#
#   scripts/bench.sh [--events N] [--quick] [--ponder | --no-ponder]
#                    [--only a,b,c,d] [--json FILE] [--profile] [--keep]
#
#   (a) replay limit: a local JSON-RPC server answering from memory
#       (scripts/bench/replay_server.js, N logs over N/10 blocks) ->
#       `dimo-indexer sync` -> PostgreSQL: events/s, MB/s of JSON-RPC, peak
#       RSS; beside it the bare COPY of the same rows into a fresh `logs`
#       table of the same server (the physical limit), and the ratio; then
#       the floor of the model's own rows: every table the sync filled
#       beside `logs`, loaded by bare COPY alone and beside the logs on two
#       connections (the ceiling of that ratio for any derivation), and the
#       rate against the bare COPY of every row the sync wrote.
#   (b) against Ponder 0.16.10: anvil devnet with N events (bulk.js, 100
#       events per block, then 256 empty blocks so Ponder's realtime tail
#       is empty blocks); `dimo-indexer sync` and `ponder start` (one raw
#       events table, scripts/bench/ponder) each into a fresh database of
#       the same server, from process start to "indexed to the head"; wall
#       time and peak RSS, ratios.
#   (c) sparse scan: a 1,000,000-block anvil chain with 1,000 events in 100
#       blocks spread over it (built as a state file, scripts/bench/
#       synth_chain.js: anvil cannot mine that many blocks in time);
#       `dimo-indexer sync` blocks/s against a tight eth_getLogs loop over
#       the same ranges (scripts/bench/getlogs_loop.js).
#   (d) live latency: `dimo-indexer run --poll-interval 100
#       --confirmations 0`; 200 blocks, each with one SignerEnabled, mined
#       at random intervals (50-450 ms); block mined -> row visible in
#       PostgreSQL, p50 and p99 (scripts/bench/live.js).
#
# Options:
#   --events N       events for (a) and (b) (default 1,000,000)
#   --quick          smoke run in about a minute: 20,000 events, a
#                    100,000-block sparse chain, 40 live blocks, no Ponder
#                    unless --ponder
#   --ponder / --no-ponder   run Ponder in (b) (default: yes, except --quick)
#   --only LIST      sections to run, e.g. --only a,c (default a,b,c,d)
#   --json FILE      also write every raw number as JSON
#   --profile        after (a), sample the whole machine with perf for 20 s
#                    during a second replay sync and print where the CPU
#                    went (per process, then per symbol)
#   --keep           keep the work directory (logs, databases) under /tmp
#   --cap-a S        stop (a)'s sync after S seconds (default 300) and
#                    report the rate of what it did; --cap-b S likewise for
#                    our (b) run (default 300), --ponder-cap S for Ponder
#                    (default 600)
#
# Needs what scripts/setup.sh installs (it runs it when the binary or the
# local chain tools are missing) plus a C compiler and nettle for one small
# helper; installs Ponder itself (npm ci in scripts/bench/ponder). Everything
# runs under one temporary directory with its own PostgreSQL cluster and
# anvil chains (their caches inside it); a trap stops every process it
# started, by PID, and removes the directory.
#
# Environment: DIMO_INDEXER (binary, default build/indexer/dimo-indexer).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
B="$ROOT/scripts/bench"
BIN=${DIMO_INDEXER:-$ROOT/build/indexer/dimo-indexer}
ANVIL="$ROOT/node_modules/.bin/anvil"

EVENTS=1000000
QUICK=0
PONDER=auto
ONLY=a,b,c,d
JSON_OUT=
PROFILE=0
KEEP=0
CAP_A=300
CAP_B=300
PONDER_CAP=600
SPARSE_BLOCKS=1000000
SPARSE_EVENTS=1000
SPARSE_EVENT_BLOCKS=100
LIVE_BLOCKS=200
POLL_MS=100

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit 2
}

while (($#)); do
  case $1 in
  --events) EVENTS=${2:?}; shift ;;
  --quick) QUICK=1 ;;
  --ponder) PONDER=1 ;;
  --no-ponder) PONDER=0 ;;
  --only) ONLY=${2:?}; shift ;;
  --json) JSON_OUT=${2:?}; shift ;;
  --profile) PROFILE=1 ;;
  --keep) KEEP=1 ;;
  --cap-a) CAP_A=${2:?}; shift ;;
  --cap-b) CAP_B=${2:?}; shift ;;
  --ponder-cap) PONDER_CAP=${2:?}; shift ;;
  -h | --help) usage ;;
  *) echo "bench.sh: unknown option $1" >&2; usage ;;
  esac
  shift
done
[[ $EVENTS =~ ^[0-9]+$ && $EVENTS -ge 1000 ]] || { echo "bench.sh: --events must be an integer >= 1000" >&2; exit 2; }
if ((QUICK)); then
  [[ $EVENTS == 1000000 ]] && EVENTS=20000
  SPARSE_BLOCKS=100000
  LIVE_BLOCKS=40
  CAP_A=60
  CAP_B=60
fi
if [[ $PONDER == auto ]]; then
  PONDER=$((QUICK ? 0 : 1))
fi
[[ -n $JSON_OUT && $JSON_OUT != /* ]] && JSON_OUT="$PWD/$JSON_OUT"
has() { [[ ",$ONLY," == *",$1,"* ]]; }

# ---- work directory, processes, cleanup -------------------------------------

WORK=$(mktemp -d /tmp/dimo-bench-run.XXXXXX)
chmod 755 "$WORK"
R="$WORK/results"
mkdir -p "$R"
PIDS=()
CHAINS=()
PG_DIR=

cleanup() {
  local pid dir
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  for dir in "${CHAINS[@]}"; do
    bash "$ROOT/tests/devnet/anvil.sh" stop "$dir" >/dev/null 2>&1 || true
  done
  [[ -n $PG_DIR ]] && bash "$ROOT/scripts/pg.sh" stop "$PG_DIR" >/dev/null 2>&1 || true
  if ((KEEP)); then
    echo "bench.sh: kept $WORK" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() {
  log "FAILED: $*"
  exit 1
}

# Runs a command in the background, tracked for cleanup; sets LAST_PID.
bg() {
  "$@" &
  LAST_PID=$!
  PIDS+=("$LAST_PID")
}

# Waits for a tracked background command; returns its status.
reap() {
  local pid=$1 rc=0 i
  wait "$pid" || rc=$?
  for i in "${!PIDS[@]}"; do
    [[ ${PIDS[$i]} == "$pid" ]] && unset 'PIDS[i]'
  done
  return "$rc"
}

stop_pid() {
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || true
  reap "$pid" || true
}

# measure NAME [measure.js options] -- COMMAND...: result JSON in $R/NAME.json.
measure() {
  local name=$1
  shift
  bg node "$B/measure.js" "$@" >"$R/$name.json"
  reap "$LAST_PID" || die "$name: measure.js failed"
}

jget() { node -e 'const j=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8").trim().split("\n").pop()); const v=process.argv[2].split(".").reduce((o,k)=>o==null?o:o[k],j); console.log(v===undefined||v===null?"":v)' "$1" "$2"; }

rpc() {
  curl -sf -m 120 -H 'content-type: application/json' \
    -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$2\",\"params\":$3}" "$1"
}
rpc_num() { rpc "$@" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(Number(BigInt(JSON.parse(s).result))))'; }

psqlq() { psql "$1" -qAtX -v ON_ERROR_STOP=1 -c "$2"; }

newdb() { bash "$ROOT/scripts/pg.sh" createdb "$PG_DIR" "$1"; }

free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

# anvil through tests/devnet/anvil.sh (its --cache-path keeps ~/.foundry clean);
# sets URL. Cancun, not anvil's default Prague: with Prague's block-hash
# history contract every block costs more to mine as the chain grows (10,000
# empty blocks took 87 s at height 10,000 here; with Cancun 1.5 s).
chain_start() {
  local dir=$1
  shift
  CHAINS+=("$dir")
  URL=$(bash "$ROOT/tests/devnet/anvil.sh" start "$dir" --hardfork cancun --prune-history 100 "$@" | tail -n 1)
  [[ $URL == http://* ]] || die "anvil did not start in $dir"
}

# anvil loading a large state file takes longer than anvil.sh waits (15 s),
# so this starts it the same way (own session, --cache-path in DIR, pid in
# DIR/anvil.pid so that `anvil.sh stop DIR` stops it) and waits longer;
# sets URL.
chain_start_loaded() {
  local dir=$1 state=$2 port i
  mkdir -p "$dir"
  CHAINS+=("$dir")
  setsid "$ANVIL" --host 127.0.0.1 --port 0 --chain-id 137 --hardfork cancun --prune-history 100 \
    --cache-path "$dir/anvil-cache" --load-state "$state" >"$dir/anvil.log" 2>&1 </dev/null &
  echo $! >"$dir/anvil.pid"
  for ((i = 0; i < 3000; i++)); do
    kill -0 "$(cat "$dir/anvil.pid")" 2>/dev/null || { tail -n 5 "$dir/anvil.log" >&2; die "anvil exited while loading $state"; }
    port=$(sed -n 's/^Listening on 127\.0\.0\.1:\([0-9]\+\).*/\1/p' "$dir/anvil.log" | head -n 1)
    if [[ -n $port ]] && rpc "http://127.0.0.1:$port" eth_chainId '[]' >/dev/null 2>&1; then
      URL="http://127.0.0.1:$port"
      return 0
    fi
    sleep 0.1
  done
  die "anvil did not load $state within 300 s"
}

chain_stop() { bash "$ROOT/tests/devnet/anvil.sh" stop "$1" >/dev/null 2>&1 || true; }

# ---- set-up ------------------------------------------------------------------

if [[ ! -x $BIN || ! -x $ANVIL || ! -f $ROOT/tests/devnet/build/DevLicenseDimo.json ]]; then
  log "running scripts/setup.sh (binary or local chain tools missing)"
  bash "$ROOT/scripts/setup.sh"
fi
[[ -x $BIN ]] || die "no binary at $BIN"
for tool in node npm psql curl cc; do
  command -v "$tool" >/dev/null || die "$tool not found (scripts/setup.sh installs the rest)"
done

if has c; then
  cc -O2 -o "$WORK/keccak_chain" "$B/keccak_chain.c" -lnettle || die "cannot build scripts/bench/keccak_chain.c (needs nettle-dev)"
fi

if has b && ((PONDER)); then
  lock_sum=$(sha256sum "$B/ponder/package-lock.json" | cut -d' ' -f1)
  stamp="$B/ponder/node_modules/.bench-lock-sha256"
  if [[ ! -f $stamp || $(cat "$stamp") != "$lock_sum" ]]; then
    log "installing Ponder (npm ci in scripts/bench/ponder)"
    (cd "$B/ponder" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || die "npm ci for Ponder failed"
    echo "$lock_sum" >"$stamp"
  fi
fi

PG_DIR="$WORK/pg"
mkdir -p "$PG_DIR"
DB0=$(bash "$ROOT/scripts/pg.sh" start "$PG_DIR")
PG_PORT=$(sed 's/.*port=\([0-9]*\).*/\1/' <<<"$DB0")

# Machine and versions.
commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=false
[[ -n $(git -C "$ROOT" status --porcelain -- indexer include schema 2>/dev/null) ]] && dirty=true
ponder_v=$(node -e 'try{console.log(require(process.argv[1]).version)}catch{console.log("not installed")}' "$B/ponder/node_modules/ponder/package.json")
versions="dimo-indexer $("$BIN" --version 2>/dev/null | head -n 1 | awk '{print $NF}') (binary of $(date -u -r "$BIN" +%FT%TZ)); $(psql --version | head -n 1); $("/usr/lib/postgresql/15/bin/postgres" --version 2>/dev/null || echo postgres ?); node $(node --version); $("$ANVIL" --version 2>/dev/null | head -n 1); ponder $ponder_v; kernel $(uname -r)"
node -e '
const fs = require("fs");
const [out, commit, dirty, versions, events, capA, capB, ponderCap, poll, quick, load] = process.argv.slice(1);
const cpu = (fs.readFileSync("/proc/cpuinfo", "utf8").match(/^model name\s*:\s*(.*)$/m) || [])[1] || "?";
const mem = Number((fs.readFileSync("/proc/meminfo", "utf8").match(/^MemTotal:\s+(\d+)/m) || [])[1]);
fs.writeFileSync(out, JSON.stringify({
  date: new Date().toISOString(), commit, dirty: dirty === "true", versions, nproc: require("os").cpus().length,
  cpu, mem_total_kb: mem, events: Number(events), cap_a_s: Number(capA), cap_b_s: Number(capB),
  ponder_cap_s: Number(ponderCap), poll_interval_ms: Number(poll), quick: quick === "1", load_start: load,
}) + "\n");' "$R/meta.json" "$commit" "$dirty" "$versions" "$EVENTS" "$CAP_A" "$CAP_B" "$PONDER_CAP" "$POLL_MS" "$QUICK" "$(cut -d' ' -f1-3 /proc/loadavg)"
log "work dir $WORK; PostgreSQL on port $PG_PORT; $versions"

# ---- (a) replay limit ------------------------------------------------------------

section_a() {
  local blocks=$((EVENTS / 10)) url db dbc rows store cols
  log "(a) replay: rendering $EVENTS logs over $blocks blocks in memory"
  node "$ROOT/scripts/bench/replay_network.js" bench-replay "$WORK/replay-network.json"
  bg node "$B/replay_server.js" --network "$WORK/replay-network.json" --abi-dir "$ROOT/abi" \
    --events "$EVENTS" --blocks "$blocks" >"$WORK/replay.out" 2>"$WORK/replay.err"
  local server=$LAST_PID i
  for ((i = 0; i < 1800; i++)); do
    [[ -s $WORK/replay.out ]] && break
    kill -0 "$server" 2>/dev/null || { cat "$WORK/replay.err" >&2; die "replay server exited"; }
    sleep 0.1
  done
  url=$(jget "$WORK/replay.out" url)
  [[ -n $url ]] || die "replay server did not start"
  log "(a) replay server at $url ($(jget "$WORK/replay.out" generate_seconds) s to render); dimo-indexer sync"
  db=$(newdb a_sync)
  curl -sf "$url/stats?reset=1" >/dev/null
  measure a_sync --log "$WORK/a_sync.log" --timeout "$CAP_A" -- \
    "$BIN" sync --network "$WORK/replay-network.json" --rpc "$url" --db "$db" --confirmations 0 --log-level debug
  curl -sf "$url/stats" >"$R/a_server.json"
  [[ $(jget "$R/a_sync.json" exit_code) == 0 ]] || { tail -n 20 "$WORK/a_sync.log" >&2; die "(a) sync failed"; }
  rows=$(psqlq "$db" "SELECT count(*) FROM logs")
  store=$(sed -n 's/.*DEBUG sync: blocks [0-9]*\.\.[0-9]*: [0-9]* logs in \([0-9.]*\) ms.*/\1/p' "$WORK/a_sync.log" |
    awk '{s += $1; n++} END {printf "{\"store_s\": %.3f, \"batches\": %d", s / 1000, n}')
  # Phases, from the debug log's timestamps (seconds after its first
  # line): the last batch of logs stored, the model derived up to it
  # (`write -> docs`), the deferred license documents built (the end).
  local phases
  phases=$(node -e '
    const lines = require("fs").readFileSync(process.argv[1], "utf8").split("\n");
    const t = (l) => Date.parse(l.slice(0, 24));
    const t0 = t(lines[0]);
    let stored = null, model = null, end = null;
    for (const l of lines) {
      if (/DEBUG sync: blocks \d+\.\.\d+: \d+ logs in/.test(l)) stored = t(l);
      else if (/sync: write -> docs/.test(l)) model = t(l);
      else if (/sync: reached block/.test(l)) end = t(l);
    }
    const s = (x) => (x === null || Number.isNaN(x) ? null : (x - t0) / 1000);
    console.log(JSON.stringify({ stored_s: s(stored), model_s: s(model), end_s: s(end) }).slice(1, -1));' "$WORK/a_sync.log")
  echo "$store, \"rows\": $rows, $phases}" >"$R/a_rows.json"
  log "(a) $rows events in $(jget "$R/a_sync.json" wall_s) s"

  if ((PROFILE)); then
    if command -v perf >/dev/null; then
      log "(a) profiling: a second sync under perf record -a -g for 20 s"
      local dbp
      dbp=$(newdb a_profile)
      bg "$BIN" sync --network "$WORK/replay-network.json" --rpc "$url" --db "$dbp" --confirmations 0 --log-level warn
      local ip=$LAST_PID
      perf record -a -g -F 499 -o "$WORK/perf.data" -- sleep 20 >/dev/null 2>&1 || log "perf record failed"
      stop_pid "$ip"
      {
        local rep=(perf report -i "$WORK/perf.data" --no-children --stdio -g none --percentage relative)
        echo "== CPU samples by process (perf record -a, 20 s, idle included) =="
        "${rep[@]}" --sort comm 2>/dev/null | grep -v '^#' | grep -v '^$' | head -n 10 || true
        echo "== dimo-indexer, by library =="
        "${rep[@]}" --comm dimo-indexer --sort dso 2>/dev/null | grep -v '^#' | grep -v '^$' | head -n 10 || true
        echo "== dimo-indexer, its own functions =="
        "${rep[@]}" --comm dimo-indexer --dsos dimo-indexer --sort symbol 2>/dev/null | grep -v '^#' | grep -v '^$' | head -n 15 || true
        echo "== postgres, by function =="
        "${rep[@]}" --comm postgres --sort symbol 2>/dev/null | grep -v '^#' | grep -v '^$' | head -n 20 || true
      } >"$R/a_profile.txt"
      cat "$R/a_profile.txt" >&2
    else
      log "perf not installed: no profile"
    fi
  fi
  stop_pid "$server"

  log "(a) bare COPY of the same $rows rows into a fresh logs table"
  cols="chain_id, block_number, block_hash, block_time, tx_hash, tx_index, log_index, address, topic0, topic1, topic2, topic3, data, event, event_name, role, args"
  psqlq "$db" "\\copy (SELECT $cols FROM logs ORDER BY block_number, log_index) TO '$WORK/logs.bin' (FORMAT binary)"
  dbc=$(newdb a_copy)
  "$BIN" migrate --db "$dbc" >"$WORK/a_migrate.log" 2>&1 || die "migrate failed: $(tail -n 3 "$WORK/a_migrate.log")"
  measure a_copy --log "$WORK/a_copy.log" -- \
    psql "$dbc" -qX -v ON_ERROR_STOP=1 -c "\\copy logs ($cols) FROM '$WORK/logs.bin' (FORMAT binary)"
  [[ $(psqlq "$dbc" "SELECT count(*) FROM logs") == "$rows" ]] || die "(a) bare COPY did not load $rows rows"
  log "(a) bare COPY: $(jget "$R/a_copy.json" wall_s) s"
  section_a_floor "$db" "$dbc"
  rm -f "$WORK/logs.bin" "$WORK"/model-*.bin
}

# The floor the model's own rows set (issue #17): every table the sync
# filled beside `logs` (history, state, documents, flows, senders; not the
# follower's bookkeeping), exported in binary and loaded by bare COPY into
# the migrated database of the bare COPY, alone (one connection, table
# after table) and then together with the logs (the logs on one connection,
# the model's tables on a second, as the indexer writes them). No
# derivation at all: the time any design would need just to write the rows
# the model keeps, and the ceiling of the ratio above.
section_a_floor() {
  local db=$1 dbc=$2 t tables=() nrows=0 n loads=""
  for t in $(psqlq "$db" "SELECT relname FROM pg_stat_user_tables WHERE schemaname = 'public'
      AND relname NOT IN ('logs', 'blocks', 'cursors', 'model_cursor', 'sync_progress', 'finality',
        'schema_migrations', 'schema_repeatables', 'model_parts', 'model_reads', 'model_histories',
        'contracts', 'required_stakes', 'role_names', 'discovered_starts', 'unfiltered_coverage',
        'unknown_logs')
      ORDER BY relname"); do
    n=$(psqlq "$db" "SELECT count(*) FROM $t")
    ((n > 0)) || continue
    psqlq "$db" "\\copy $t TO '$WORK/model-$t.bin' (FORMAT binary)"
    tables+=("$t")
    nrows=$((nrows + n))
    loads+="\\copy $t FROM '$WORK/model-$t.bin' (FORMAT binary)"$'\n'
  done
  ((${#tables[@]})) || { log "(a) floor: no model rows"; return 0; }
  local list
  list=$(IFS=,; echo "${tables[*]}")
  log "(a) floor: the model's ${#tables[@]} tables, $nrows rows, by bare COPY"
  printf '%s' "$loads" >"$WORK/model-load.sql"
  # Together with the logs, the model's rows may come before the logs they
  # reference (tx_senders' foreign key): that run skips the FK triggers.
  { echo "SET session_replication_role = replica;"; printf '%s' "$loads"; } >"$WORK/model-load-both.sql"
  psqlq "$dbc" "TRUNCATE ${list//,/, } CASCADE" # the logs stay: the model's rows reference them
  measure a_floor_model --log "$WORK/a_floor.log" -- \
    psql "$dbc" -qX -v ON_ERROR_STOP=1 -1 -f "$WORK/model-load.sql"
  psqlq "$dbc" "TRUNCATE logs, ${list//,/, } CASCADE"
  measure a_floor_both --log "$WORK/a_floor.log" -- bash -c '
    psql "$1" -qX -v ON_ERROR_STOP=1 -c "\\copy logs ($2) FROM '"'"'$3'"'"' (FORMAT binary)" & a=$!
    psql "$1" -qX -v ON_ERROR_STOP=1 -1 -f "$4"; b=$?
    wait $a && exit $b' floor "$dbc" "$cols" "$WORK/logs.bin" "$WORK/model-load-both.sql"
  [[ $(psqlq "$dbc" "SELECT count(*) FROM logs") == "$(psqlq "$db" "SELECT count(*) FROM logs")" ]] ||
    die "(a) floor: the logs did not load"
  echo "{\"tables\": ${#tables[@]}, \"rows\": $nrows}" >"$R/a_floor_rows.json"
  log "(a) floor: model rows alone $(jget "$R/a_floor_model.json" wall_s) s, with the logs $(jget "$R/a_floor_both.json" wall_s) s"
}

# ---- (b) against Ponder -----------------------------------------------------------

section_b() {
  local dir="$WORK/chain-b" blocks=$((EVENTS / 100)) url head db rows
  ((blocks >= 10)) || blocks=10
  chain_start "$dir"
  url=$URL
  log "(b) devnet at $url: deploying, then $EVENTS events over $blocks blocks (bulk.js) + 256 empty blocks"
  node "$ROOT/tests/devnet/deploy.js" --rpc "$url" --out "$dir/network.json" >"$dir/deploy.log"
  node "$ROOT/tests/devnet/bulk.js" --rpc "$url" --network "$dir/network.json" --events "$EVENTS" --blocks "$blocks" \
    --quiet >"$R/b_bulk.json" || die "bulk.js failed"
  rpc "$url" anvil_mine '["0x100"]' >/dev/null
  head=$(rpc_num "$url" eth_blockNumber '[]')
  node -e 'const f=process.argv[1],m=JSON.parse(require("fs").readFileSync(f,"utf8"));m.b_head=Number(process.argv[2]);require("fs").writeFileSync(f,JSON.stringify(m)+"\n")' "$R/meta.json" "$head"

  log "(b) dimo-indexer sync to block $head"
  db=$(newdb b_ours)
  measure b_ours --log "$WORK/b_ours.log" --timeout "$CAP_B" -- \
    "$BIN" sync --network "$dir/network.json" --rpc "$url" --db "$db" --confirmations 0 --to "$head"
  [[ $(jget "$R/b_ours.json" exit_code) == 0 ]] || { tail -n 20 "$WORK/b_ours.log" >&2; die "(b) sync failed"; }
  rows=$(psqlq "$db" "SELECT count(*) FROM logs")
  # Ponder indexes the events of the ABI files; ours also decodes every
  # contract's proxy upgrades (Upgraded, BeaconUpgraded: issue #22), which
  # those files leave out. Ponder is done when it holds the rest.
  local prows
  prows=$(psqlq "$db" "SELECT count(*) FROM logs WHERE event_name NOT IN ('Upgraded', 'BeaconUpgraded')")
  echo "{\"ours\": $rows, \"ponder_target\": $prows}" >"$R/b_rows.json"
  log "(b) ours: $rows events in $(jget "$R/b_ours.json" wall_s) s ($((rows - prows)) of them proxy upgrades, outside Ponder's ABIs)"

  if ((PONDER)); then
    local pdir="$WORK/ponder" pdb port
    mkdir -p "$pdir"
    cp -r "$B/ponder/ponder.config.ts" "$B/ponder/ponder.schema.ts" "$B/ponder/src" "$B/ponder/tsconfig.json" "$B/ponder/package.json" "$pdir/"
    ln -s "$B/ponder/node_modules" "$pdir/node_modules"
    pdb=$(newdb b_ponder)
    port=$(free_port)
    log "(b) ponder start (port $port) until its status reaches block $head with $prows rows (cap ${PONDER_CAP} s)"
    DATABASE_URL="postgresql://postgres@127.0.0.1:$PG_PORT/b_ponder" PONDER_TELEMETRY_DISABLED=true \
      PONDER_RPC_URL_137="$url" BENCH_NETWORK="$dir/network.json" BENCH_ABI_DIR="$ROOT/abi" \
      measure b_ponder --log "$WORK/b_ponder.log" --cwd "$pdir" --timeout "$PONDER_CAP" \
      --ponder-port "$port" --ponder-head "$head" --ponder-rows-sql "SELECT count(*) FROM bench.events" \
      --psql "$pdb" --rows "$prows" -- node node_modules/ponder/dist/esm/bin/ponder.js start --schema bench --port "$port"
    log "(b) Ponder: head after $(jget "$R/b_ponder.json" head_s) s (ready after $(jget "$R/b_ponder.json" ready_s) s)"
  fi
  chain_stop "$dir"
}

# ---- (c) sparse scan -------------------------------------------------------------

section_c() {
  local src="$WORK/chain-c0" dir="$WORK/chain-c" url from db
  chain_start "$src"
  url=$URL
  log "(c) building a $SPARSE_BLOCKS-block chain: $SPARSE_EVENTS events in $SPARSE_EVENT_BLOCKS blocks, spread out"
  node "$ROOT/tests/devnet/deploy.js" --rpc "$url" --out "$WORK/c-network.json" >"$src/deploy.log"
  node "$ROOT/tests/devnet/bulk.js" --rpc "$url" --network "$WORK/c-network.json" --events "$SPARSE_EVENTS" \
    --blocks "$SPARSE_EVENT_BLOCKS" --quiet >"$R/c_bulk.json" || die "bulk.js failed"
  from=$(jget "$R/c_bulk.json" from_block)
  node "$B/synth_chain.js" --rpc "$url" --first-event-block "$from" --blocks "$SPARSE_BLOCKS" \
    --keccak "$WORK/keccak_chain" --out "$WORK/sparse-state.json" >"$R/c_synth.json" || die "synth_chain.js failed"
  chain_stop "$src"
  chain_start_loaded "$dir" "$WORK/sparse-state.json"
  url=$URL
  rm -f "$WORK/sparse-state.json"
  [[ $(rpc_num "$url" eth_blockNumber '[]') == "$SPARSE_BLOCKS" ]] || die "the loaded chain's head is not $SPARSE_BLOCKS"
  log "(c) anvil at $url with $SPARSE_BLOCKS blocks; dimo-indexer sync"
  db=$(newdb c_ours)
  measure c_ours --log "$WORK/c_ours.log" --timeout 600 -- \
    "$BIN" sync --network "$WORK/c-network.json" --rpc "$url" --db "$db" --confirmations 0 --log-level debug
  [[ $(jget "$R/c_ours.json" exit_code) == 0 ]] || { tail -n 20 "$WORK/c_ours.log" >&2; die "(c) sync failed"; }
  sed -n 's/.*DEBUG sync: blocks \([0-9]*\)\.\.\([0-9]*\): .*/\1 \2/p' "$WORK/c_ours.log" >"$WORK/c_ranges.txt"
  log "(c) ours: $(jget "$R/c_ours.json" wall_s) s in $(wc -l <"$WORK/c_ranges.txt") ranges; raw eth_getLogs over the same ranges"
  node "$B/getlogs_loop.js" --rpc "$url" --network "$WORK/c-network.json" --abi-dir "$ROOT/abi" \
    --ranges "$WORK/c_ranges.txt" >"$R/c_raw.json" || die "getlogs_loop failed"
  node "$B/getlogs_loop.js" --rpc "$url" --network "$WORK/c-network.json" --abi-dir "$ROOT/abi" \
    --from "$(head -n 1 "$WORK/c_ranges.txt" | cut -d' ' -f1)" --to "$SPARSE_BLOCKS" --span 100000 >"$R/c_raw_max.json" ||
    die "getlogs_loop failed"
  chain_stop "$dir"
}

# ---- (d) live latency --------------------------------------------------------------

section_d() {
  local dir="$WORK/chain-d" url db
  chain_start "$dir"
  url=$URL
  node "$ROOT/tests/devnet/deploy.js" --rpc "$url" --out "$dir/network.json" >"$dir/deploy.log"
  db=$(newdb d_live)
  bg "$BIN" run --network "$dir/network.json" --rpc "$url" --db "$db" --confirmations 0 \
    --poll-interval "$POLL_MS" --http off --log-level warn >"$WORK/d_run.log" 2>&1
  local indexer=$LAST_PID
  log "(d) dimo-indexer run --poll-interval $POLL_MS; $LIVE_BLOCKS blocks at random intervals"
  bg node "$B/live.js" --rpc "$url" --network "$dir/network.json" --db "$db" --blocks "$LIVE_BLOCKS" >"$R/d_live.json"
  reap "$LAST_PID" || { tail -n 20 "$WORK/d_run.log" >&2; die "(d) live.js failed"; }
  kill -0 "$indexer" 2>/dev/null || die "(d) the indexer exited: $(tail -n 5 "$WORK/d_run.log")"
  stop_pid "$indexer"
  log "(d) p50 $(jget "$R/d_live.json" p50_ms) ms, p99 $(jget "$R/d_live.json" p99_ms) ms"
  chain_stop "$dir"
}

has a && section_a
has b && section_b
has c && section_c
has d && section_d

node -e 'const f=process.argv[1],m=JSON.parse(require("fs").readFileSync(f,"utf8"));m.load_end=process.argv[2];require("fs").writeFileSync(f,JSON.stringify(m)+"\n")' \
  "$R/meta.json" "$(cut -d' ' -f1-3 /proc/loadavg)"
echo
node "$B/report.js" "$R" "$JSON_OUT"
[[ -n $JSON_OUT ]] && log "raw numbers in $JSON_OUT"
exit 0
