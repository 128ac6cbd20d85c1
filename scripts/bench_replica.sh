#!/usr/bin/env bash
# bench_replica.sh: freshness of the API on a hot standby: block mined ->
# answer changed, on the primary's `run` API and on `serve` reading a
# streaming-replication standby (pg_basebackup -R), p50/p99.
#
# Sets up a throwaway primary (scripts/pg.sh start) and hot standby
# (scripts/pg.sh standby), an anvil devnet with the contracts, `dimo-indexer
# run` on the primary (--poll-interval POLL_MS, --confirmations 0, its API
# on loopback) and `dimo-indexer serve` on the standby (--model-poll
# MODEL_POLL_MS), then scripts/bench/replica_live.js: BLOCKS blocks, each
# with one SignerEnabled, mined at random intervals (50-450 ms); both APIs
# polled every 2 ms for the new signer, and the standby's model cursor
# (standby_row: replication alone). Prints the JSON line and the load
# average before and after. Not a test: it asserts nothing.
#
# Environment: BLOCKS (default 200), POLL_MS (writer's head poll, default
# 100, as bench.sh section (d)), MODEL_POLL_MS (serve's model poll, default
# 250: serve's default), BUILD_DIR (default build), KEEP=1 keeps the folder.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bin=$root/${BUILD_DIR:-build}/indexer/dimo-indexer
blocks=${BLOCKS:-200}
poll=${POLL_MS:-100}
model_poll=${MODEL_POLL_MS:-250}

say() { printf 'bench_replica: %s\n' "$*" >&2; }
die() {
  say "$*"
  exit 1
}
[[ -x $bin ]] || die "$bin not built (meson compile -C build)"

work=$(mktemp -d /tmp/dimo-bench-replica.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  bash tests/devnet/anvil.sh stop "$work/chain" >/dev/null 2>&1 || true
  bash scripts/pg.sh stop "$work/standby" >/dev/null 2>&1 || true
  bash scripts/pg.sh stop "$work/pg" >/dev/null 2>&1 || true
  if [[ ${KEEP:-0} == 1 ]]; then say "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# The port a process logged for its API.
port_of() {
  local log=$1 pid=$2 port
  for _ in $(seq 1 300); do
    port=$(sed -n 's/.*HTTP API listening on .* (port \([0-9]*\)).*/\1/p' "$log" | head -n 1)
    [[ -n $port ]] && echo "$port" && return
    kill -0 "$pid" 2>/dev/null || die "exited: $(tail -5 "$log")"
    sleep 0.1
  done
  die "no API port in $log"
}

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
say "primary, hot standby, anvil, devnet contracts"
db=$(bash scripts/pg.sh start "$work/pg")
sdb=$(bash scripts/pg.sh standby "$work/standby" "$work/pg")
rpc=$(bash tests/devnet/anvil.sh start "$work/chain" | tail -n 1)
net=$work/network.json
node tests/devnet/deploy.js --rpc "$rpc" --out "$net" >"$work/deploy.log"

"$bin" run --network "$net" --rpc "$rpc" --db "$db" --confirmations 0 --poll-interval "$poll" \
  --http 127.0.0.1:0 >"$work/run.log" 2>&1 &
pids+=($!)
primary=http://127.0.0.1:$(port_of "$work/run.log" "${pids[-1]}")
"$bin" serve --network "$net" --db "$sdb" --model-poll "$model_poll" --http 127.0.0.1:0 \
  >"$work/serve.log" 2>&1 &
pids+=($!)
replica=http://127.0.0.1:$(port_of "$work/serve.log" "${pids[-1]}")

say "run --poll-interval $poll on the primary ($primary), serve --model-poll $model_poll on the standby ($replica); $blocks blocks"
node scripts/bench/replica_live.js --rpc "$rpc" --network "$net" --primary "$primary" \
  --replica "$replica" --standby-db "$sdb" --blocks "$blocks" >"$work/result.json"
cat "$work/result.json"
say "load average: $load_start at start, $(cut -d' ' -f1-3 /proc/loadavg) at the end ($(nproc) cores)"
