#!/usr/bin/env bash
# The DIP-5 access question on the devnet: the fixed scenario (licenses,
# then opt-ins: grants, replacements, expiries, transfers, a burn, legacy
# privileges) and random opt-in operations, indexed in several small
# steps; then, for every combination the chain touched, the indexer's
# answer (dimo_access in SQL and GET /v1/access) equals the SACD contract's
# own hasPermission (tests/devnet/access_state.js), at the head and at past
# blocks; every failing condition is named (license, signer, grant
# missing, expired, reset by transfer) as a replay of the raw logs says;
# `dimo-indexer access` answers as the API does; and the derived rows equal
# a fresh index of the same chain.
#
# Environment: SEED (default random; printed), OPS (random operations, 300).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
OPS=${OPS:-300}
it_seed

it_devnet
node "$IT_ROOT/tests/devnet/scenario.js" --rpc "$RPC" --network "$NET" --optins --ops "$OPS" \
  --seed "$seed" >"$WORK/random.log" || it_fail "random scenario failed (seed $seed): $(tail -5 "$WORK/random.log")"
# One grant certainly allowed at the head (the random draw may leave none).
node "$IT_ROOT/tests/devnet/grant_allowed.js" --rpc "$RPC" --network "$NET" >"$WORK/grant.log" ||
  it_fail "grant_allowed.js failed: $(cat "$WORK/grant.log")"
head=$(it_head)
it_log "scenarios done; head $head; $(cat "$WORK/grant.log")"

# Indexed in steps (ranges of 7 blocks, two runs), then served.
"$BIN" sync --network "$NET" --rpc "$RPC" --db "$DB" --confirmations 0 --to $((head / 2)) \
  --initial-range 7 --max-range 7 >"$WORK/sync1.log" 2>&1 || it_fail "sync failed: $(tail -5 "$WORK/sync1.log")"
"$BIN" sync --network "$NET" --rpc "$RPC" --db "$DB" --confirmations 0 --to "$head" \
  --initial-range 7 --max-range 7 >"$WORK/sync2.log" 2>&1 || it_fail "sync failed: $(tail -5 "$WORK/sync2.log")"
api_run
[[ $(it_psql "$DB" "SELECT count(*) FROM sacd_records") -gt 0 ]] || it_fail "no SACD record indexed"

# The oracle at the head and at past blocks (anvil keeps 500 blocks of state).
blocks=(--block "$head")
for back in 1 3 10 40 120 300 450; do
  ((head - back > 0)) && blocks+=(--block $((head - back)))
done
start=$SECONDS
node "$IT_ROOT/tests/devnet/access_state.js" --rpc "$RPC" --network "$NET" "${blocks[@]}" \
  --touched-to "$head" >"$WORK/oracle.jsonl" || it_fail "access_state.js failed"
it_log "oracle: $(wc -l <"$WORK/oracle.jsonl") blocks in $((SECONDS - start)) s"
node "$IT_ROOT/tests/integration/access_check.js" --db "$DB" --oracle "$WORK/oracle.jsonl" --base "$BASE" \
  >"$WORK/check.log" 2>&1 || it_fail "answers differ from hasPermission (seed $seed): $(head -40 "$WORK/check.log")"
it_log "$(cat "$WORK/check.log")"

node "$IT_ROOT/tests/integration/access_check.js" --reasons --db "$DB" --base "$BASE" --rpc "$RPC" \
  --network "$NET" --bin "$BIN" >"$WORK/reasons.log" 2>&1 ||
  it_fail "reasons differ (seed $seed): $(head -40 "$WORK/reasons.log")"
it_log "$(cat "$WORK/reasons.log")"

# The views and metrics answer (their values are checked against the
# oracle above for the head's month).
it_psql "$DB" "SELECT count(*) FROM sacd_grant_status; SELECT count(*) FROM app_opted_in_vehicles;
  SELECT count(*) FROM sacd_grant_periods; SELECT count(*) FROM monthly_optin_metrics;
  SELECT count(*) FROM vehicle_privilege_status" >/dev/null || it_fail "a view failed"

kill -TERM "$RUN_PID"
wait "$RUN_PID" || it_fail "run exited $? after SIGTERM"

# Indexed in steps = indexed at once.
fresh=$(it_fresh_index fresh "$head")
node "$IT_ROOT/tests/integration/access_check.js" --dump --db "$DB" >"$WORK/steps.dump"
node "$IT_ROOT/tests/integration/access_check.js" --dump --db "$fresh" >"$WORK/fresh.dump"
diff "$WORK/steps.dump" "$WORK/fresh.dump" >"$WORK/diff.txt" ||
  it_fail "opt-in rows differ from a fresh index: $(head -20 "$WORK/diff.txt")"
echo "access scenario: ok ($(wc -l <"$WORK/steps.dump") derived rows, seed $seed)"
