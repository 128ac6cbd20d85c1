#!/usr/bin/env bash
# The route table (indexer/api.c) against a running API on the indexed
# fixed scenario: every row reachable and counted, 405 with Allow for the
# other methods; and the CLI's license, access and verify answers equal the
# API's (api_routes.js).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

it_devnet
api_run
it_log "API on $BASE, index at $(it_cursor "$DB")"
node "$IT_ROOT/tests/integration/api_routes.js" --base "$BASE" --bin "$BIN" --network "$NET" \
  --db "$DB" --rpc "$RPC" --cast "$IT_ROOT/node_modules/.bin/cast" --src "$IT_ROOT/indexer/api.c" ||
  it_fail "route checks failed (run log: $(tail -3 "$WORK/run.log"))"
echo "api routes: ok"
