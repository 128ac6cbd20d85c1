#!/usr/bin/env bash
# What DIMO's revoke forgets (model_revoke.js does the checks): with `run`
# following the devnet live, a license with an alias is revoked and another
# takes the alias; freezes before the issue, zero forfeits, aliases that are
# not text, the bytes32 variant's zero aliases; documents and look-ups equal
# the contracts' views now and at past blocks; ERC-1271 of the license
# account against POST /v1/verify; reorgs that remove the re-use, then the
# revoke. Finally every derived row equals a fresh index of the chain.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

it_pg
it_chain
it_deploy
api_run
node "$IT_ROOT/tests/integration/model_revoke.js" --base "$BASE" --bin "$BIN" --network "$NET" \
  --db "$DB" --rpc "$RPC" --cast "$IT_ROOT/node_modules/.bin/cast" >"$WORK/checks.log" 2>&1 ||
  it_fail "revoke checks failed: $(tail -25 "$WORK/checks.log") (run log: $(tail -3 "$WORK/run.log"))"
it_log "$(tail -1 "$WORK/checks.log")"
rolled=$(grep -c "reorg: rolled back" "$WORK/run.log" || true)
((rolled >= 2)) || it_fail "expected two rollbacks, saw $rolled"

it_settle "$DB" 60
kill -TERM "$RUN_PID"
wait "$RUN_PID" || it_fail "run exited $? after SIGTERM: $(tail -5 "$WORK/run.log")"
fresh=$(it_fresh_index fresh "$head")
node "$IT_ROOT/tests/integration/model_dump.js" --db "$DB" >"$WORK/live.dump"
node "$IT_ROOT/tests/integration/model_dump.js" --db "$fresh" >"$WORK/fresh.dump"
diff "$WORK/live.dump" "$WORK/fresh.dump" >"$WORK/diff.txt" ||
  it_fail "model differs from a fresh index: $(head -20 "$WORK/diff.txt")"
echo "model revoke: ok ($(tail -1 "$WORK/checks.log" | sed 's/^model revoke: //'), $rolled rollbacks, $(wc -l <"$WORK/live.dump") derived rows)"
