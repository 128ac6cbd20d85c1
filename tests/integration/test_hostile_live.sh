#!/usr/bin/env bash
# A lying provider against `run` (issues 24 and 22.5), through two
# corrupting proxies (tests/tools/rpc_proxy.js) that answer the "finalized"
# tag as head - 3 themselves (anvil's own is head - 64):
#   - with --finality finalized the index follows the finalized block
#     exactly; /readyz and /metrics name it, and so does the database;
#   - four batches of invented headers: no rollback (the stored blocks are
#     final: a provider fault, counted), indexed_block never goes back;
#   - inconsistent answers while eth_blockNumber succeeds: not ready, the
#     failures counted in /metrics, and ready again once they stop;
#   - one endpoint replaced by a node of chain 1 after a fault: taken out of
#     rotation (error log, metric), never used; the index stays exact;
#   - a lost INSERT privilege halts the follower with a clear error while
#     the API keeps answering (not ready); SIGTERM then exits 1.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

it_devnet --ops 80
it_rpc anvil_mine '["0x20","0x2"]' >/dev/null
LAG=3

it_proxy p1 --control --finalized-lag $LAG
P1=$PROXY
it_proxy p2 --control --finalized-lag $LAG
P2=$PROXY
control() { curl -sf -X POST -d "$2" "$1/__control" >/dev/null || it_fail "proxy control $2"; }
both() {
  control "$P1" "$1"
  control "$P2" "$1"
}
json() { node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const v=JSON.parse(s)$1;console.log(v===undefined?'':v)})"; }
metric() { curl -sf "$BASE/metrics" | awk -v m="$1" '$1 == m {print $2}'; }

# The indexer connects as a role that owns its tables (not a superuser), so
# that a privilege can be taken away from it later.
it_psql "$DB" "CREATE ROLE follower LOGIN; ALTER DATABASE dimo OWNER TO follower;
  ALTER SCHEMA public OWNER TO follower"
FDB=${DB/user=postgres/user=follower}

it_bg run "$BIN" run --network "$NET" --rpc "$P1" --rpc "$P2" --db "$FDB" --confirmations 0 \
  --finality finalized --poll-interval 100 --http 127.0.0.1:0 --log-level debug
RUN_PID=$BG_PID
for ((i = 0; i < 300; i++)); do
  PORT=$(sed -n 's/.*HTTP API listening on .* (port \([0-9]*\)).*/\1/p' "$WORK/run.log" | head -n 1)
  [[ -n $PORT ]] && break
  kill -0 "$RUN_PID" 2>/dev/null || it_fail "run exited: $(tail -5 "$WORK/run.log")"
  sleep 0.1
done
BASE=http://127.0.0.1:$PORT

# Waits until the index stands at the finalized block head - LAG.
settle_final() {
  local want=$(($(it_head) - LAG)) t
  for ((t = 0; t < 600; t++)); do
    (($(it_cursor "$FDB") == want)) && return 0
    sleep 0.1
  done
  it_fail "did not settle on finalized block $want (at $(it_cursor "$FDB")): $(tail -3 "$WORK/run.log")"
}

# 1. The finalized tag is followed, and said.
settle_final
head=$(it_head)
ready=$(curl -sf "$BASE/readyz") || it_fail "not ready: $(curl -s "$BASE/readyz")"
[[ $(json .finalized_block <<<"$ready") == $((head - LAG)) ]] || it_fail "readyz: $ready"
[[ $(json .indexed_block <<<"$ready") == $((head - LAG)) ]] || it_fail "readyz: $ready"
[[ $(metric dimo_finalized_block) == $((head - LAG)) ]] || it_fail "metrics: no finalized block"
[[ $(it_psql "$DB" "SELECT dimo_finalized_block(137)") == $((head - LAG)) ]] ||
  it_fail "database: finalized block $(it_psql "$DB" "SELECT dimo_finalized_block(137)")"
it_rpc anvil_mine '["0x4","0x2"]' >/dev/null
settle_final
it_log "finality: the index follows the finalized block (head - $LAG) and says so"

# 2. Four batches of invented headers (two per endpoint): nothing final is
#    rolled back, and indexed_block never goes back.
both '{"fake_headers":2}'
it_rpc anvil_mine '["0x2","0x2"]' >/dev/null
low=$(json .indexed_block < <(curl -s "$BASE/readyz"))
for ((i = 0; i < 40; i++)); do
  now=$(json .indexed_block < <(curl -s "$BASE/readyz"))
  ((now >= low)) || it_fail "fake headers: indexed_block went back from $low to $now"
  low=$now
  sleep 0.1
done
faked=$(($(curl -sf "$P1/__stats" | json .modes.fake_headers) + $(curl -sf "$P2/__stats" | json .modes.fake_headers)))
((faked >= 4)) || it_fail "fake headers: only $faked faked batches"
! grep -q "reorg: rolled back" "$WORK/run.log" || it_fail "fake headers: a rollback happened"
faults=$(metric dimo_sync_provider_faults_total)
((faults >= 1)) || it_fail "fake headers: no provider fault counted"
settle_final
it_log "fake headers: $faked lying batches, $faults provider faults, no rollback"

# 3. Inconsistent answers while eth_blockNumber succeeds: not ready,
#    counted; ready again after.
both '{"clear":true,"finalized_lag":'$LAG',"header_not_found":1}'
it_rpc anvil_mine '["0x2","0x2"]' >/dev/null
for ((t = 0; t < 100; t++)); do
  code=$(curl -s -o "$WORK/readyz.json" -w '%{http_code}' "$BASE/readyz")
  [[ $code == 503 ]] && grep -q "inconsistently" "$WORK/readyz.json" && break
  sleep 0.2
done
[[ $code == 503 ]] || it_fail "inconsistent: still ready: $(cat "$WORK/readyz.json")"
failing=$(curl -sf "$BASE/metrics" | sed -n 's/^dimo_sync_failing{cause="answers"} //p')
((failing >= 3)) || it_fail "inconsistent: dimo_sync_failing answers is $failing"
both '{"clear":true,"finalized_lag":'$LAG'}'
settle_final
curl -sf "$BASE/readyz" >/dev/null || it_fail "inconsistent: not ready again: $(curl -s "$BASE/readyz")"
it_log "inconsistent: not ready with $failing failures in a row, ready again after"

# 4. Endpoint 2 becomes a node of chain 1 (a fault, then another node).
it_bg anvil1 "$IT_ROOT/node_modules/.bin/anvil" --host 127.0.0.1 --port 0 --chain-id 1
for ((t = 0; t < 100; t++)); do
  RPC1=$(sed -n 's/^Listening on \(127\.0\.0\.1:[0-9]*\).*/http:\/\/\1/p' "$WORK/anvil1.log" | head -n 1)
  [[ -n $RPC1 ]] && break
  sleep 0.1
done
[[ -n $RPC1 ]] || it_fail "the chain-1 anvil did not start"
control "$P2" '{"upstream":"'"$RPC1"'","http502":1,"fault_budget":1}'
for ((i = 0; i < 6; i++)); do
  it_rpc anvil_mine '["0x1","0x2"]' >/dev/null
  node "$IT_ROOT/tests/devnet/scenario.js" --rpc "$RPC" --network "$NET" --ops 5 --seed $((i + 50)) \
    >>"$WORK/scenario2.log"
  sleep 0.3
done
settle_final
grep -q "serves chain 1, not 137: taken out of rotation" "$WORK/run.log" ||
  it_fail "wrong chain: not taken out: $(grep rpc "$WORK/run.log" | tail -3)"
[[ $(metric dimo_rpc_wrong_chain_endpoints) == 1 ]] || it_fail "wrong chain: metric"
curl -sf "$BASE/readyz" >/dev/null || it_fail "wrong chain: not ready: $(curl -s "$BASE/readyz")"
final=$(it_cursor "$FDB")
fresh=$(it_fresh_index fresh "$final")
it_dump "$DB" "$WORK/live.dump"
it_dump "$fresh" "$WORK/fresh.dump"
diff "$WORK/live.dump" "$WORK/fresh.dump" >"$WORK/diff.txt" ||
  it_fail "database differs from a fresh index: $(head -10 "$WORK/diff.txt")"
it_log "wrong chain: endpoint 2 out of rotation, the index equals a fresh one"

# 5. A lost INSERT privilege: the follower halts, the API answers.
it_psql "$DB" "REVOKE INSERT ON logs FROM follower"
node "$IT_ROOT/tests/devnet/scenario.js" --rpc "$RPC" --network "$NET" --ops 10 --seed 99 \
  >>"$WORK/scenario2.log"
it_rpc anvil_mine '["0x5","0x2"]' >/dev/null
for ((t = 0; t < 100; t++)); do
  grep -q "the follower stopped: " "$WORK/run.log" && break
  sleep 0.2
done
grep -q "the follower stopped: .*permission denied" "$WORK/run.log" ||
  it_fail "halt: no clear error: $(tail -3 "$WORK/run.log")"
kill -0 "$RUN_PID" 2>/dev/null || it_fail "halt: the process exited"
curl -sf "$BASE/healthz" >/dev/null || it_fail "halt: /healthz does not answer"
code=$(curl -s -o "$WORK/readyz.json" -w '%{http_code}' "$BASE/readyz")
[[ $code == 503 ]] && grep -q "permission denied" "$WORK/readyz.json" ||
  it_fail "halt: readyz $code $(cat "$WORK/readyz.json")"
curl -sf "$BASE/v1/licenses?limit=1" >/dev/null || it_fail "halt: the API does not answer"
[[ $(metric dimo_sync_halted) == 1 ]] || it_fail "halt: metric"
kill -TERM "$RUN_PID"
wait "$RUN_PID" && code=0 || code=$?
((code == 1)) || it_fail "halt: exit $code after SIGTERM, expected 1"
it_log "halt: a lost INSERT privilege stops the follower, the API answered, exit 1"

echo "hostile live: ok (finalized tag followed, fake headers refused, not ready while failing, wrong chain out, halt)"
