#!/usr/bin/env bash
# The license model through reorgs: `run` follows the devnet live with
# --confirmations 0 while rounds of random license operations alternate
# with random reorgs (tests/devnet/reorg.js, depth 1 to 24) that replace
# recent blocks, and so undo issues, stakes, slashes, signers, freezes and
# parameter changes the indexer has already applied. When the chain is
# quiet: the model equals the contracts' views at the head and at past
# blocks, and every derived row equals a fresh index of the canonical chain,
# and equals the model `rederive` rebuilds from the stored logs alone (which
# is refused while another instance holds the writer lock).
#
# Environment: REORGS (default 12), SEED (default random; printed).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
REORGS=${REORGS:-12}
seed=${SEED:-$RANDOM}
RANDOM=$seed
it_log "seed $seed"

it_pg
it_chain
it_deploy
node "$IT_ROOT/tests/devnet/scenario.js" --rpc "$RPC" --network "$NET" >"$WORK/scenario.log"
it_rpc anvil_mine '["0x20","0x2"]' >/dev/null

it_bg indexer "$BIN" run --network "$NET" --rpc "$RPC" --db "$DB" --confirmations 0 \
  --poll-interval 100 --http off --log-level debug
indexer=$BG_PID
it_wait_cursor "$DB" "$(it_head)" 60

for ((i = 1; i <= REORGS; i++)); do
  node "$IT_ROOT/tests/devnet/scenario.js" --rpc "$RPC" --network "$NET" --ops $((15 + RANDOM % 30)) \
    --seed $((seed * 100 + i)) >"$WORK/round-$i.log" || it_fail "scenario round $i failed (seed $seed)"
  it_rpc anvil_mine "[\"0x$(printf '%x' $((1 + RANDOM % 3)))\",\"0x2\"]" >/dev/null
  sleep "0.$((RANDOM % 4))"
  node "$IT_ROOT/tests/devnet/reorg.js" --rpc "$RPC" --network "$NET" --depth $((1 + RANDOM % 24)) \
    --seed $((seed + i)) >"$WORK/reorg-$i.json" || it_fail "reorg.js failed (seed $seed)"
  sleep "0.$((RANDOM % 4))"
done

it_settle "$DB" 60 "seed $seed"
rolled=$(grep -c "reorg: rolled back" "$WORK/indexer.log" || true)
((rolled >= 1)) || it_fail "no reorg was detected (seed $seed)"
it_log "$REORGS reorgs made, $rolled rollbacks seen; head $head"

# The views of the contracts, now and at past blocks.
node "$IT_ROOT/tests/integration/model_check.js" --rpc "$RPC" --network "$NET" --db "$DB" \
  >"$WORK/check-head.log" 2>&1 || it_fail "head state differs (seed $seed): $(head -30 "$WORK/check-head.log")"
node "$IT_ROOT/tests/integration/model_check.js" --rpc "$RPC" --network "$NET" --db "$DB" \
  --block $((head - 300)) --block $((head - 120)) --block $((head - 30)) --block $((head - 3)) \
  >"$WORK/check-past.log" 2>&1 || it_fail "past state differs (seed $seed): $(head -30 "$WORK/check-past.log")"
it_log "$(cat "$WORK/check-head.log"); $(cat "$WORK/check-past.log")"

kill -TERM "$indexer"
wait "$indexer" && code=0 || code=$?
[[ $code == 0 ]] || it_fail "run exited $code after SIGTERM: $(tail -5 "$WORK/indexer.log")"

# Every derived row equals a fresh index of the canonical chain.
fresh=$(it_fresh_index fresh "$head")
node "$IT_ROOT/tests/integration/model_dump.js" --db "$DB" >"$WORK/live.dump"
node "$IT_ROOT/tests/integration/model_dump.js" --db "$fresh" >"$WORK/fresh.dump"
diff "$WORK/live.dump" "$WORK/fresh.dump" >"$WORK/diff.txt" ||
  it_fail "model differs from a fresh index (seed $seed): $(head -20 "$WORK/diff.txt")"

# The model rebuilt from the stored logs alone equals the live one.
"$BIN" rederive --network "$NET" --db "$DB" >"$WORK/rederive.log" 2>&1 ||
  it_fail "rederive failed: $(cat "$WORK/rederive.log")"
grep -q "up to block $head" "$WORK/rederive.log" || it_fail "rederive: $(cat "$WORK/rederive.log")"
node "$IT_ROOT/tests/integration/model_dump.js" --db "$DB" >"$WORK/rederived.dump"
diff "$WORK/live.dump" "$WORK/rederived.dump" >"$WORK/diff-rederive.txt" ||
  it_fail "rederived model differs from the live one (seed $seed): $(head -20 "$WORK/diff-rederive.txt")"
# ... and is refused while a follower holds the writer lock.
it_bg indexer2 "$BIN" run --network "$NET" --rpc "$RPC" --db "$DB" --confirmations 0 \
  --poll-interval 100 --http off
it_wait_cursor "$DB" "$head" 30
rc=0
"$BIN" rederive --network "$NET" --db "$DB" >"$WORK/rederive-locked.log" 2>&1 || rc=$?
((rc == 1)) && grep -q "writer lock" "$WORK/rederive-locked.log" ||
  it_fail "rederive beside a running writer: exit $rc, $(cat "$WORK/rederive-locked.log")"
echo "model reorg: ok ($REORGS reorgs, $rolled rollbacks, $(wc -l <"$WORK/live.dump") derived rows = fresh index = rederived, seed $seed)"
