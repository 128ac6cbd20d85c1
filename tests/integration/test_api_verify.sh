#!/usr/bin/env bash
# POST /v1/verify and `dimo-indexer verify` on the indexed fixed scenario,
# with signatures made by anvil dev keys and signer, freeze and
# periodValidity changes sent to the devnet contracts during the test
# (api_verify.js does the checks). The chain starts ten days in the past so
# that a signer enabled on it can be expired by the wall clock, which is the
# clock /v1/verify answers for.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

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
