# lib.sh: shared set-up for the integration tests (sourced, not run).
#
# Every test gets its own work folder, PostgreSQL cluster and anvil chain,
# and a trap that stops whatever it started, by PID, even on failure.
# Functions:
#   it_pg                 start a cluster; sets DB (conninfo of database dimo)
#   it_newdb NAME         create another database; prints its conninfo
#   it_chain [ARGS]       start anvil; sets RPC
#   it_deploy             deploy the devnet contracts; sets NET (network file)
#   it_devnet [ARGS]      it_pg + it_chain + it_deploy + the DIP-5 scenario
#                         (ARGS go to scenario.js, e.g. --ops 300 --seed 7)
#   it_seed               sets seed (SEED or random), seeds $RANDOM, logs it
#   it_head               the chain head (decimal)
#   it_block_hash N       hash of block N
#   it_psql CONN SQL      run SQL, print unaligned rows
#   it_cursor CONN        the block logs and derived model both reached (or -1)
#   it_dump CONN FILE     canonical dump of everything indexed
#   it_bg NAME CMD...     start a background process (killed at exit); sets BG_PID
#   it_wait_cursor CONN N [SECONDS]  wait until the cursor reaches N
#   it_settle CONN [SECONDS] [WHAT]  wait until the cursor is the chain head,
#                         same hash (a quiet chain); sets head
#   api_run [ARGS]        `run` with the API on a free port; sets BASE, PORT, RUN_PID
#   it_fail MESSAGE       print and exit 1
set -euo pipefail

IT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${DIMO_INDEXER:-$IT_ROOT/build/indexer/dimo-indexer}
WORK=$(mktemp -d /tmp/dimo-it.XXXXXX)
chmod 755 "$WORK"
IT_PIDS=()
IT_PG_DIR=""
IT_CHAIN_DIR=""

it_cleanup() {
  local pid
  for pid in "${IT_PIDS[@]}"; do
    kill -9 "$pid" 2>/dev/null || true
  done
  for pid in "${IT_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  [[ -n $IT_CHAIN_DIR ]] && bash "$IT_ROOT/tests/devnet/anvil.sh" stop "$IT_CHAIN_DIR" >/dev/null 2>&1 || true
  [[ -n $IT_PG_DIR ]] && bash "$IT_ROOT/scripts/pg.sh" stop "$IT_PG_DIR" >/dev/null 2>&1 || true
  if [[ ${IT_KEEP:-0} == 1 ]]; then
    echo "kept $WORK" >&2
  else
    rm -rf "$WORK"
  fi
}
trap it_cleanup EXIT

it_fail() {
  echo "FAIL: $*" >&2
  exit 1
}

it_log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }

it_pg() {
  IT_PG_DIR="$WORK/pg"
  mkdir -p "$IT_PG_DIR"
  DB=$(bash "$IT_ROOT/scripts/pg.sh" start "$IT_PG_DIR")
}

it_newdb() { bash "$IT_ROOT/scripts/pg.sh" createdb "$IT_PG_DIR" "$1"; }

it_chain() {
  IT_CHAIN_DIR="$WORK/chain"
  mkdir -p "$IT_CHAIN_DIR"
  RPC=$(bash "$IT_ROOT/tests/devnet/anvil.sh" start "$IT_CHAIN_DIR" "$@" | tail -n 1)
}

it_deploy() {
  NET="$WORK/network.json"
  node "$IT_ROOT/tests/devnet/deploy.js" --rpc "$RPC" --out "$NET" >"$WORK/deploy.log"
}

it_devnet() {
  it_pg
  it_chain
  it_deploy
  node "$IT_ROOT/tests/devnet/scenario.js" --rpc "$RPC" --network "$NET" "$@" >"$WORK/scenario.log"
}

it_seed() {
  seed=${SEED:-$RANDOM}
  RANDOM=$seed
  it_log "seed $seed"
}

it_rpc() {
  curl -sf -H 'content-type: application/json' \
    -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":$2}" "$RPC"
}

it_head() {
  it_rpc eth_blockNumber '[]' | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(parseInt(JSON.parse(s).result,16)))'
}

it_block_hash() {
  it_rpc eth_getBlockByNumber "[\"0x$(printf '%x' "$1")\",false]" |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).result.hash))'
}

it_psql() { psql "$1" -v ON_ERROR_STOP=1 -qAt -c "$2"; }

# The block both the logs and the derived model have reached (a backfill
# derives the model a little after it stores the logs).
it_cursor() {
  local v
  v=$(it_psql "$1" "SELECT least(c.last_block, coalesce(m.block_number, -1)) FROM cursors c
    LEFT JOIN model_cursor m ON m.chain_id = c.chain_id" 2>/dev/null || true)
  echo "${v:--1}"
}

# Everything indexed, in a canonical order, as text: logs with every
# column, the logs no ABI knows, then the cursor. Two databases indexed from the same canonical
# chain must give identical dumps.
it_dump() {
  it_psql "$1" "SELECT block_number, encode(block_hash,'hex'), log_index, encode(tx_hash,'hex'),
      tx_index, encode(address,'hex'), encode(topic0,'hex'), encode(topic1,'hex'),
      encode(topic2,'hex'), encode(topic3,'hex'), encode(data,'hex'), event, event_name, role,
      args::text, extract(epoch from block_time)
    FROM logs ORDER BY chain_id, block_number, log_index" >"$2"
  # #22: the logs no ABI knows, stored raw (they follow reorgs like logs).
  it_psql "$1" "SELECT 'unknown', block_number, encode(block_hash,'hex'), log_index,
      encode(tx_hash,'hex'), tx_index, encode(address,'hex'), role, encode(topic0,'hex'),
      encode(topic1,'hex'), encode(topic2,'hex'), encode(topic3,'hex'), encode(data,'hex'),
      extract(epoch from block_time)
    FROM unknown_logs ORDER BY chain_id, block_number, log_index" >>"$2"
  it_psql "$1" "SELECT chain_id, last_block, encode(last_hash,'hex') FROM cursors ORDER BY 1" >>"$2"
}

it_bg() {
  local name=$1
  shift
  "$@" >"$WORK/$name.log" 2>&1 &
  BG_PID=$!
  IT_PIDS+=("$BG_PID")
}

it_wait_cursor() {
  local conn=$1 want=$2 secs=${3:-60} i
  for ((i = 0; i < secs * 10; i++)); do
    if (($(it_cursor "$conn") >= want)); then
      return 0
    fi
    sleep 0.1
  done
  it_fail "cursor did not reach $want within ${secs}s (at $(it_cursor "$conn"))"
}

it_settle() {
  local conn=$1 secs=${2:-60} what=${3:-} want got t
  head=$(it_head)
  want=$(it_block_hash "$head")
  for ((t = 0; t < secs * 10; t++)); do
    got=0x$(it_psql "$conn" "SELECT encode(last_hash,'hex') FROM cursors" 2>/dev/null || true)
    [[ $got == "$want" ]] && return 0
    sleep 0.1
  done
  it_fail "did not settle on head $head ($want): cursor at $(it_cursor "$conn") $got${what:+ ($what)}"
}

# Indexes the chain up to block N into a fresh database and prints its
# conninfo: the reference a test compares against.
it_fresh_index() {
  local name=$1 to=$2 conn
  conn=$(it_newdb "$name")
  "$BIN" sync --network "$NET" --rpc "$RPC" --db "$conn" --confirmations 0 --to "$to" \
    >"$WORK/$name.log" 2>&1 || it_fail "fresh index failed: $(tail -5 "$WORK/$name.log")"
  echo "$conn"
}

# Starts `dimo-indexer run` with the API on a free port (extra args passed
# on); sets BASE and PORT; waits until the index reaches the chain head.
api_run() {
  it_bg run "$BIN" run --network "$NET" --rpc "$RPC" --db "$DB" --confirmations 0 \
    --poll-interval 200 --http 127.0.0.1:0 "$@"
  RUN_PID=$BG_PID
  local i
  PORT=""
  for ((i = 0; i < 300; i++)); do
    PORT=$(sed -n 's/.*HTTP API listening on .* (port \([0-9]*\)).*/\1/p' "$WORK/run.log" 2>/dev/null | head -n 1 || true)
    [[ -n $PORT ]] && break
    kill -0 "$RUN_PID" 2>/dev/null || it_fail "run exited: $(tail -5 "$WORK/run.log")"
    sleep 0.1
  done
  [[ -n $PORT ]] || it_fail "the API did not start: $(tail -5 "$WORK/run.log")"
  BASE=http://127.0.0.1:$PORT
  it_wait_cursor "$DB" "$(it_head)" 60
}

# ---- streaming replication and `serve` (test_replica.sh, test_failover.sh)
#   it_standby            a hot standby of the cluster (pg_basebackup -R);
#                         sets SDB (its conninfo) and IT_STANDBY_DIR
#   it_port_of LOG PID    the HTTP port a process logged (waits; fails if it exits)
#   serve_start NAME CONN [ARGS]  `dimo-indexer serve` on a free port;
#                         sets SBASE, SERVE_PID (log: $WORK/NAME.log)
#   it_ready BASE [SECONDS]  wait until BASE/readyz answers 200
#   it_json URL EXPR      GET URL, print the JS expression EXPR of its JSON (j)
IT_STANDBY_DIR=""

it_cleanup_standby() {
  [[ -n $IT_STANDBY_DIR ]] && bash "$IT_ROOT/scripts/pg.sh" stop "$IT_STANDBY_DIR" >/dev/null 2>&1 || true
  it_cleanup
}

it_standby() {
  IT_STANDBY_DIR="$WORK/pg-standby"
  trap it_cleanup_standby EXIT
  SDB=$(bash "$IT_ROOT/scripts/pg.sh" standby "$IT_STANDBY_DIR" "$IT_PG_DIR")
}

it_port_of() {
  local log=$1 pid=$2 i port=""
  for ((i = 0; i < 300; i++)); do
    port=$(sed -n 's/.*HTTP API listening on .* (port \([0-9]*\)).*/\1/p' "$log" 2>/dev/null | head -n 1 || true)
    [[ -n $port ]] && break
    kill -0 "$pid" 2>/dev/null || it_fail "process exited: $(tail -5 "$log")"
    sleep 0.1
  done
  [[ -n $port ]] || it_fail "the API did not start: $(tail -5 "$log")"
  echo "$port"
}

serve_start() {
  local name=$1 conn=$2
  shift 2
  it_bg "$name" "$BIN" serve --network "$NET" --db "$conn" --http 127.0.0.1:0 "$@"
  SERVE_PID=$BG_PID
  SBASE=http://127.0.0.1:$(it_port_of "$WORK/$name.log" "$SERVE_PID")
}

it_ready() {
  local base=$1 secs=${2:-30} i
  for ((i = 0; i < secs * 20; i++)); do
    curl -sf -o /dev/null "$base/readyz" && return 0
    sleep 0.05
  done
  it_fail "$base/readyz not ready within ${secs}s: $(curl -s "$base/readyz")"
}

it_json() {
  curl -s "$1" | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const j=JSON.parse(s);console.log($2)})"
}

# it_proxy NAME [OPTION...]: starts the fault proxy (tests/tools/rpc_proxy.js)
# in front of $RPC with the options given (its files: $WORK/NAME.url and
# .err); sets PROXY (its URL) and PROXY_PID. it_proxy_stop stops the last one.
it_proxy() {
  local name=$1 out="$WORK/$1.url" t
  shift
  : >"$out" # truncate now: the background redirection happens later
  node "$IT_ROOT/tests/tools/rpc_proxy.js" --upstream "$RPC" "$@" >"$out" 2>"$WORK/$name.err" &
  PROXY_PID=$!
  IT_PIDS+=("$PROXY_PID")
  for ((t = 0; t < 100; t++)); do
    [[ -s $out ]] && break
    sleep 0.05
  done
  PROXY=$(head -n 1 "$out")
  [[ $PROXY == http://127.0.0.1:* ]] || it_fail "proxy $name did not start: $(cat "$WORK/$name.err")"
}

it_proxy_stop() {
  kill "$PROXY_PID" 2>/dev/null || true
  wait "$PROXY_PID" 2>/dev/null || true
}
