#!/usr/bin/env bash
# bench_finality.sh: how soon a freeze reaches the API (issue 22.5).
#
# A devnet (anvil with the fixed DIP-5 scenario) turned into a Polygon-like
# chain: one block every BLOCK_TIME seconds (interval mining), behind the
# simulated provider (tests/tools/rpc_proxy.js) that answers the
# "finalized" tag as head - FINAL_LAG (Polygon's milestones finalize a block
# within 2 to 5 s). `dimo-indexer run --finality finalized --confirmations
# 0` follows it; scripts/bench/freshness.js then toggles adminFreeze on app
# license 1 SAMPLES times and measures, per sample, the time from the
# transaction being mined, and from its block becoming final, to
# GET /v1/apps/{alias} answering the new "frozen". Prints p50/p99 of both.
# Not a test.
#
# Environment: SAMPLES (default 30), BLOCK_TIME (seconds, default 2),
# FINAL_LAG (blocks, default 2), POLL (the indexer's --poll-interval in ms,
# default 2000, its default), BUILD_DIR (default build).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bin=$root/${BUILD_DIR:-build}/indexer/dimo-indexer
samples=${SAMPLES:-30}
block_time=${BLOCK_TIME:-2}
lag=${FINAL_LAG:-2}
poll=${POLL:-2000}

say() { printf 'bench: %s\n' "$*" >&2; }
die() {
  say "$*"
  exit 1
}
[[ -x $bin ]] || die "$bin not built (meson compile -C build)"

work=$(mktemp -d /tmp/dimo-bench.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  bash tests/devnet/anvil.sh stop "$work/chain" >/dev/null 2>&1 || true
  bash scripts/pg.sh stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
call() {
  curl -sf -H 'content-type: application/json' \
    -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":$2}" "$rpc" >/dev/null
}

say "PostgreSQL, anvil, devnet contracts, fixed scenario"
db=$(bash scripts/pg.sh start "$work/pg")
rpc=$(bash tests/devnet/anvil.sh start "$work/chain" | tail -n 1)
net=$work/network.json
node tests/devnet/deploy.js --rpc "$rpc" --out "$net" >"$work/deploy.log"
node tests/devnet/scenario.js --rpc "$rpc" --network "$net" >"$work/scenario.log"
app=$(node -e 'console.log(require(process.argv[1]).contracts[0].address)' "$net")
admin=$(node -e 'console.log(require(process.argv[1])["x-admin"])' "$net")
call anvil_mine "[\"0x$(printf '%x' $((lag + 2)))\",\"0x2\"]"
call evm_setAutomine '[false]'
call evm_setIntervalMining "[$block_time]"

node tests/tools/rpc_proxy.js --upstream "$rpc" --finalized-lag "$lag" >"$work/proxy.url" 2>"$work/proxy.err" &
pids+=("$!")
for _ in $(seq 1 100); do
  [[ -s $work/proxy.url ]] && break
  sleep 0.05
done
proxy=$(head -n 1 "$work/proxy.url")

say "dimo-indexer run --finality finalized --confirmations 0 --poll-interval $poll"
"$bin" run --network "$net" --rpc "$proxy" --db "$db" --confirmations 0 --finality finalized \
  --poll-interval "$poll" --http 127.0.0.1:0 >"$work/run.log" 2>&1 &
pids+=("$!")
port=""
for _ in $(seq 1 300); do
  port=$(sed -n 's/.*HTTP API listening on .* (port \([0-9]*\)).*/\1/p' "$work/run.log" | head -n 1)
  [[ -n $port ]] && break
  sleep 0.1
done
[[ -n $port ]] || die "the API did not start: $(tail -3 "$work/run.log")"
base=http://127.0.0.1:$port
for _ in $(seq 1 600); do
  curl -sf "$base/readyz" >/dev/null && curl -sf "$base/v1/apps/weather-app-v2" >/dev/null && break
  sleep 0.1
done
curl -sf "$base/readyz" >/dev/null || die "not ready: $(curl -s "$base/readyz")"

say "$samples freezes/unfreezes of app license 1, ${block_time} s blocks, finalized = head - $lag"
selector=$("$root/node_modules/.bin/cast" sig "adminFreeze(uint256,bool)")
node scripts/bench/freshness.js --rpc "$rpc" --final "$proxy" --api "$base" --contract "$app" \
  --admin "$admin" --alias weather-app-v2 --samples "$samples" --selector "$selector" |
  tee "$work/samples.jsonl" | tail -n 1
