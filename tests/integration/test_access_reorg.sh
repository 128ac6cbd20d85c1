#!/usr/bin/env bash
# Opt-ins through reorgs: `run` follows the devnet live with
# --confirmations 0 while rounds of random opt-in operations (grants,
# replacements, transfers, burns, privileges, time jumps) alternate with
# reorgs (tests/devnet/reorg.js, depth 1 to 24) that replace recent blocks
# and so undo grants and transfers the indexer has already applied. When
# the chain is quiet: every touched (vehicle, app, permission) answer
# equals SACD's hasPermission at the head and at past blocks, through SQL
# and the API; and every derived opt-in row (and license row) equals a
# fresh index of the canonical chain.
#
# Environment: REORGS (default 10), SEED (default random; printed).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
REORGS=${REORGS:-10}
it_seed

it_devnet
it_rpc anvil_mine '["0x20","0x2"]' >/dev/null
api_run --log-level debug

undone=0
for ((i = 1; i <= REORGS; i++)); do
  node "$IT_ROOT/tests/devnet/scenario.js" --rpc "$RPC" --network "$NET" --optins --ops $((15 + RANDOM % 30)) \
    --seed $((seed * 100 + i)) >"$WORK/round-$i.log" || it_fail "scenario round $i failed (seed $seed)"
  it_rpc anvil_mine "[\"0x$(printf '%x' $((1 + RANDOM % 3)))\",\"0x2\"]" >/dev/null
  depth=$((1 + RANDOM % 24))
  # Every other round, once indexed: count the opt-in rows the reorg undoes.
  if ((i % 2)); then
    top=$(it_head)
    it_wait_cursor "$DB" "$top" 60
    n=$(it_psql "$DB" "SELECT (SELECT count(*) FROM sacd_records WHERE block_number > $((top - depth)))
      + (SELECT count(*) FROM vehicle_transfers WHERE block_number > $((top - depth)))")
    undone=$((undone + n))
  else
    sleep "0.$((RANDOM % 4))"
  fi
  node "$IT_ROOT/tests/devnet/reorg.js" --rpc "$RPC" --network "$NET" --depth "$depth" \
    --seed $((seed + i)) >"$WORK/reorg-$i.json" || it_fail "reorg.js failed (seed $seed)"
  sleep "0.$((RANDOM % 4))"
done

it_settle "$DB" 60 "seed $seed"
rolled=$(grep -c "reorg: rolled back" "$WORK/run.log" || true)
((rolled >= 1)) || it_fail "no reorg was detected (seed $seed)"
((undone >= 1)) || it_fail "no reorg undid an opt-in row (seed $seed)"
it_log "$REORGS reorgs made, $rolled rollbacks seen, at least $undone grants and transfers undone; head $head"

blocks=(--block "$head")
for back in 1 2 5 12 30 80 200 400; do
  ((head - back > 0)) && blocks+=(--block $((head - back)))
done
node "$IT_ROOT/tests/devnet/access_state.js" --rpc "$RPC" --network "$NET" "${blocks[@]}" \
  --touched-to "$head" >"$WORK/oracle.jsonl" || it_fail "access_state.js failed"
node "$IT_ROOT/tests/integration/access_check.js" --db "$DB" --oracle "$WORK/oracle.jsonl" --base "$BASE" \
  >"$WORK/check.log" 2>&1 || it_fail "answers differ after reorgs (seed $seed): $(head -40 "$WORK/check.log")"
it_log "$(cat "$WORK/check.log")"

kill -TERM "$RUN_PID"
wait "$RUN_PID" || it_fail "run exited $? after SIGTERM"

fresh=$(it_fresh_index fresh "$head")
for who in live fresh; do
  conn=$DB
  [[ $who == fresh ]] && conn=$fresh
  node "$IT_ROOT/tests/integration/access_check.js" --dump --db "$conn" >"$WORK/$who.dump"
  node "$IT_ROOT/tests/integration/model_dump.js" --db "$conn" >>"$WORK/$who.dump"
done
diff "$WORK/live.dump" "$WORK/fresh.dump" >"$WORK/diff.txt" ||
  it_fail "derived rows differ from a fresh index (seed $seed): $(head -20 "$WORK/diff.txt")"
# Every part (licenses and opt-ins) rebuilt from the stored logs alone
# equals what the follower derived through the reorgs.
"$BIN" rederive --network "$NET" --db "$DB" >"$WORK/rederive.log" 2>&1 ||
  it_fail "rederive failed: $(cat "$WORK/rederive.log")"
node "$IT_ROOT/tests/integration/access_check.js" --dump --db "$DB" >"$WORK/rederived.dump"
node "$IT_ROOT/tests/integration/model_dump.js" --db "$DB" >>"$WORK/rederived.dump"
diff "$WORK/live.dump" "$WORK/rederived.dump" >"$WORK/diff-rederive.txt" ||
  it_fail "rederived rows differ from the live ones (seed $seed): $(head -20 "$WORK/diff-rederive.txt")"
echo "access reorg: ok ($REORGS reorgs, $rolled rollbacks, $(wc -l <"$WORK/live.dump") derived rows = fresh index = rederived, seed $seed)"
