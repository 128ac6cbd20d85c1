#!/usr/bin/env bash
# GET /v1/access, the access question in POST /v1/verify and
# `dimo-indexer access` on the indexed fixed scenario, with grants, a
# transfer and a short-lived grant sent to the devnet contracts during the
# test (api_access.js does the checks): 400s for malformed input, answers
# that follow each commit, an allowed answer that lapses with its grant.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

it_devnet
api_run
it_log "API on $BASE, index at $(it_cursor "$DB")"

node "$IT_ROOT/tests/integration/api_access.js" --base "$BASE" --bin "$BIN" --network "$NET" \
  --db "$DB" --rpc "$RPC" --cast "$IT_ROOT/node_modules/.bin/cast" ||
  it_fail "access API checks failed (run log: $(tail -3 "$WORK/run.log"))"
echo "api access: ok"
