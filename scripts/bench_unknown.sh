#!/usr/bin/env bash
# bench_unknown.sh: what asking the quiet contracts for every log costs
# (issue #22 item 2). Not a test: it measures and prints one table.
#
#   scripts/bench_unknown.sh --base BIN [--events N] [--pad P] [--runs R] [--keep]
#
# One devnet (anvil + the fixed DIP-5 scenario with its opt-ins, whose app
# license logs UpdateReceiverAddress, an event abi/ leaves out, then
# bulk.js: N license events over N/100 blocks, then P empty blocks so the
# backfill spans many ranges), one PostgreSQL cluster; a
# counting proxy (tests/tools/rpc_proxy.js, no faults) in front of anvil.
# `dimo-indexer sync --confirmations 0 --to head` from a fresh database, R
# times each, alternating: BIN (a build before #22: every contract asked by
# the topic0s of its ABIs) and this build (DIMO_INDEXER or
# build/indexer/dimo-indexer: the quiet roles asked unfiltered, the token's
# upgrades asked apart). Per run: wall time, HTTP exchanges, JSON-RPC
# requests, eth_getLogs requests, bytes answered, logs and unknown logs
# stored. The median run of each binary is printed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NEW=${DIMO_INDEXER:-$ROOT/build/indexer/dimo-indexer}
BASE=""
EVENTS=100000
PAD=0
RUNS=3
KEEP=0
while (($#)); do
  case $1 in
    --base) BASE=$2; shift 2 ;;
    --events) EVENTS=$2; shift 2 ;;
    --pad) PAD=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    *) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done
[[ -x $BASE && -x $NEW ]] || { echo "bench_unknown: --base BIN and $NEW must be executables" >&2; exit 2; }

WORK=$(mktemp -d /tmp/dimo-bench-unknown.XXXXXX)
chmod 755 "$WORK"
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  bash "$ROOT/tests/devnet/anvil.sh" stop "$WORK/chain" >/dev/null 2>&1 || true
  bash "$ROOT/scripts/pg.sh" stop "$WORK/pg" >/dev/null 2>&1 || true
  if ((KEEP)); then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }

mkdir -p "$WORK/pg" "$WORK/chain"
bash "$ROOT/scripts/pg.sh" start "$WORK/pg" >/dev/null
RPC=$(bash "$ROOT/tests/devnet/anvil.sh" start "$WORK/chain" | tail -n 1)
NET=$WORK/network.json
node "$ROOT/tests/devnet/deploy.js" --rpc "$RPC" --out "$NET" >"$WORK/deploy.log"
log "devnet at $RPC: fixed scenario with opt-ins, then $EVENTS bulk events"
node "$ROOT/tests/devnet/scenario.js" --rpc "$RPC" --network "$NET" >"$WORK/scenario.log"
if ((EVENTS > 0)); then
  node "$ROOT/tests/devnet/bulk.js" --rpc "$RPC" --network "$NET" --events "$EVENTS" \
    --blocks $((EVENTS / 100 > 0 ? EVENTS / 100 : 1)) >"$WORK/bulk.log"
fi
if ((PAD > 0)); then
  curl -sf -H 'content-type: application/json' -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"anvil_mine\",\"params\":[\"0x$(printf '%x' "$PAD")\"]}" "$RPC" >/dev/null
fi

node "$ROOT/tests/tools/rpc_proxy.js" --upstream "$RPC" --control >"$WORK/proxy.out" 2>"$WORK/proxy.err" &
PIDS+=($!)
for ((i = 0; i < 100; i++)); do
  [[ -s $WORK/proxy.out ]] && break
  sleep 0.1
done
PROXY=$(head -n 1 "$WORK/proxy.out")
[[ $PROXY == http* ]] || { echo "bench_unknown: the proxy did not start: $(cat "$WORK/proxy.err")" >&2; exit 1; }
head=$(curl -sf -H 'content-type: application/json' \
  -d '{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}' "$RPC" |
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(parseInt(JSON.parse(s).result,16)))')
log "head $head; proxy $PROXY"

one_run() { # label binary n
  local label=$1 bin=$2 n=$3 db t0 t1
  db=$(bash "$ROOT/scripts/pg.sh" createdb "$WORK/pg" "b_${label}_$n")
  "$bin" migrate --db "$db" >/dev/null 2>&1
  curl -sf -X POST -d '{"clear_stats":true}' "$PROXY/__control" >/dev/null
  t0=$(date +%s.%N)
  "$bin" sync --network "$NET" --rpc "$PROXY" --db "$db" --confirmations 0 --to "$head" \
    --log-level info >"$WORK/$label-$n.log" 2>&1 || { echo "bench_unknown: $label sync failed: $(tail -3 "$WORK/$label-$n.log")" >&2; exit 1; }
  t1=$(date +%s.%N)
  local logs unknown batches
  batches=$(sed -n 's/.*reached block [0-9]* (\([0-9]*\) batches.*/\1/p' "$WORK/$label-$n.log" | tail -n 1)
  logs=$(psql "$db" -qAt -c "SELECT count(*) FROM logs")
  unknown=$(psql "$db" -qAt -c "SELECT count(*) FROM unknown_logs" 2>/dev/null || echo 0) # none before #22
  curl -sf "$PROXY/__stats" | node -e "
    let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const j=JSON.parse(s);
    console.log(JSON.stringify({label:'$label',run:$n,seconds:+($t1-$t0).toFixed(3),exchanges:j.requests,
      rpc_requests:j.rpc_requests,bytes:j.bytes_out,batches:${batches:-0},logs:$logs,unknown:$unknown}))})" >>"$WORK/runs.jsonl"
}

for ((n = 1; n <= RUNS; n++)); do
  one_run base "$BASE" "$n"
  one_run new "$NEW" "$n"
  log "run $n done"
done

node -e "
const fs=require('fs');
const runs=fs.readFileSync('$WORK/runs.jsonl','utf8').trim().split('\n').map(JSON.parse);
const med=(l,k)=>{const v=runs.filter(r=>r.label===l).map(r=>r[k]).sort((a,b)=>a-b);return v[(v.length-1)>>1];};
const row=(l)=>({batches:med(l,'batches'),seconds:med(l,'seconds'),exchanges:med(l,'exchanges'),rpc_requests:med(l,'rpc_requests'),bytes:med(l,'bytes'),logs:med(l,'logs'),unknown:med(l,'unknown')});
const b=row('base'),n=row('new');
console.log('| build | wall s (median of $RUNS) | ranges | HTTP exchanges | JSON-RPC requests | bytes answered | logs stored | unknown stored |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const [k,r] of [['before #22 (topic-filtered)',b],['#22 (quiet roles unfiltered)',n]])
  console.log('| '+k+' | '+r.seconds+' | '+r.batches+' | '+r.exchanges+' | '+r.rpc_requests+' | '+r.bytes+' | '+r.logs+' | '+r.unknown+' |');
const pct=(x,y)=>((y/x-1)*100).toFixed(1)+'%';
console.log('\nratio new/base: wall '+pct(b.seconds,n.seconds)+', exchanges '+pct(b.exchanges,n.exchanges)+', requests '+pct(b.rpc_requests,n.rpc_requests)+', bytes '+pct(b.bytes,n.bytes));
console.log('head block $head; every run: '+JSON.stringify(runs));
"
