#!/usr/bin/env bash
# The HTTP API's read endpoints on the indexed fixed DIP-5 scenario: every
# license document equals `dimo-indexer license KEY --json`, lists and pages
# match the database, signer status matches the documents, ?at_block= equals
# `license --at-block`, every malformed input is a 400 with a reason, and
# /healthz, /readyz and /metrics answer (api_endpoints.js does the checks).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

it_pg
it_chain --timestamp $(($(date +%s) - 10 * 86400))
it_deploy
node "$IT_ROOT/tests/devnet/scenario.js" --rpc "$RPC" --network "$NET" >"$WORK/scenario.log"
api_run
it_log "API on $BASE, index at $(it_cursor "$DB")"

node "$IT_ROOT/tests/integration/api_endpoints.js" --base "$BASE" --bin "$BIN" --network "$NET" \
  --db "$DB" --rpc "$RPC" || it_fail "endpoint checks failed (run log: $(tail -3 "$WORK/run.log"))"

# --http off: no API at all.
it_bg run2 "$BIN" run --network "$NET" --rpc "$RPC" --db "$DB" --confirmations 0 --http off
sleep 1
grep -q "HTTP API listening" "$WORK/run2.log" && it_fail "--http off still listens"
kill "$BG_PID"

# A bad listen address is a configuration error (exit 2), a taken port a
# runtime one (exit 1); both name the problem.
set +e
"$BIN" run --network "$NET" --rpc "$RPC" --db "$DB" --http localhost >"$WORK/bad.log" 2>&1
code=$?
set -e
[[ $code == 2 ]] || it_fail "bad --http: exit $code"
grep -q "not IP:PORT" "$WORK/bad.log" || it_fail "bad --http message: $(cat "$WORK/bad.log")"
set +e
"$BIN" run --network "$NET" --rpc "$RPC" --db "$DB" --http "127.0.0.1:$PORT" >"$WORK/taken.log" 2>&1
code=$?
set -e
[[ $code == 1 ]] || it_fail "taken port: exit $code"
grep -qi "address already in use" "$WORK/taken.log" || it_fail "taken port message: $(cat "$WORK/taken.log")"

# SIGTERM: the API closes with the engine, exit 0.
kill -TERM "$RUN_PID"
for ((i = 0; i < 100; i++)); do
  kill -0 "$RUN_PID" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$RUN_PID" 2>/dev/null && it_fail "run did not stop on SIGTERM"
wait "$RUN_PID" || it_fail "run exited with $? on SIGTERM"
echo "api endpoints: ok"
