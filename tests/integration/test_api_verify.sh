#!/usr/bin/env bash
# POST /v1/verify and `dimo-indexer verify` on the indexed fixed scenario,
# with signatures made by anvil dev keys and signer, freeze and
# periodValidity changes sent to the devnet contracts during the test
# (api_verify.js does the checks). The chain starts ten days in the past so
# that a signer enabled on it can be expired by the wall clock, which is the
# clock /v1/verify answers for.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Starts `dimo-indexer run` with the API on a free port (extra args passed
# on); sets BASE and PORT; waits until the index reaches the chain head.
api_run() {
  it_bg run "$BIN" run --network "$NET" --rpc "$RPC" --db "$DB" --confirmations 0 \
    --poll-interval 200 --http 127.0.0.1:0 "$@"
  RUN_PID=$BG_PID
  local i
  PORT=""
  for ((i = 0; i < 300; i++)); do
    PORT=$(sed -n 's/.*HTTP API listening on .* (port \([0-9]*\)).*/\1/p' "$WORK/run.log" | head -n 1)
    [[ -n $PORT ]] && break
    kill -0 "$RUN_PID" 2>/dev/null || it_fail "run exited: $(tail -5 "$WORK/run.log")"
    sleep 0.1
  done
  [[ -n $PORT ]] || it_fail "the API did not start: $(tail -5 "$WORK/run.log")"
  BASE=http://127.0.0.1:$PORT
  it_wait_cursor "$DB" "$(it_head)" 60
}

it_pg
it_chain --timestamp $(($(date +%s) - 10 * 86400))
it_deploy
node "$IT_ROOT/tests/devnet/scenario.js" --rpc "$RPC" --network "$NET" >"$WORK/scenario.log"
api_run
it_log "API on $BASE, index at $(it_cursor "$DB")"

node "$IT_ROOT/tests/integration/api_verify.js" --base "$BASE" --bin "$BIN" --network "$NET" \
  --db "$DB" --rpc "$RPC" --cast "$IT_ROOT/node_modules/.bin/cast" ||
  it_fail "verify checks failed (run log: $(tail -3 "$WORK/run.log"))"
echo "api verify: ok"
