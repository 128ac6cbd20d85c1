#!/usr/bin/env bash
# The 2024 license contract (DevLicenseDimo2024: Deposit/Withdraw,
# UpdateMinimumStake, indexed UpdateLicenseCost/UpdatePeriodValidity) as a
# second app_license contract, followed live by `run` (license_2024_check.js
# does the checks: documents and parameters equal the contract's views at
# the head and at past blocks, Update* values from topics, nothing lost, a
# reorg across its events). Finally every derived row equals a fresh index
# of the chain (one batch: the running balances of a deposit, a forfeit and
# a deposit in one block come out the same as when followed block by block).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

it_pg
it_chain
it_deploy
api_run
node "$IT_ROOT/tests/integration/license_2024_check.js" --base "$BASE" --network "$NET" --db "$DB" \
  --rpc "$RPC" >"$WORK/checks.log" 2>&1 ||
  it_fail "checks failed: $(tail -25 "$WORK/checks.log") (run log: $(tail -3 "$WORK/run.log"))"
it_log "$(tail -1 "$WORK/checks.log")"
grep -q "reorg: rolled back" "$WORK/run.log" || it_fail "the reorg was not noticed: $(tail -5 "$WORK/run.log")"

it_settle "$DB" 60
kill -TERM "$RUN_PID"
wait "$RUN_PID" || it_fail "run exited $? after SIGTERM: $(tail -5 "$WORK/run.log")"
fresh=$(it_fresh_index fresh "$head")
node "$IT_ROOT/tests/integration/model_dump.js" --db "$DB" >"$WORK/live.dump"
node "$IT_ROOT/tests/integration/model_dump.js" --db "$fresh" >"$WORK/fresh.dump"
diff "$WORK/live.dump" "$WORK/fresh.dump" >"$WORK/diff.txt" ||
  it_fail "model differs from a fresh index: $(head -20 "$WORK/diff.txt")"
echo "license 2024: ok ($(tail -1 "$WORK/checks.log" | sed 's/^license 2024: ok (//; s/)$//'), $(wc -l <"$WORK/live.dump") derived rows equal a fresh index)"
