#!/usr/bin/env bash
# Crash consistency while following live: `run` (--confirmations 0) is
# killed with SIGKILL at random moments while new license activity and
# reorgs (so rollbacks) keep coming, and restarted each time. When the chain
# is quiet the database equals a fresh index of the canonical chain.
# KILLS (default 10) sets the number of kills; scripts/crash_long.sh runs a
# long variant.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
KILLS=${KILLS:-10}
it_seed
it_devnet

run_args=(run --network "$NET" --rpc "$RPC" --db "$DB" --confirmations 0 --poll-interval 50
  --http off)
rolled=0
for ((i = 1; i <= KILLS; i++)); do
  it_bg "run-$i" "$BIN" "${run_args[@]}"
  pid=$BG_PID
  # Activity, and now and then a reorg, while the indexer runs.
  node "$IT_ROOT/tests/devnet/scenario.js" --rpc "$RPC" --network "$NET" --ops $((2 + RANDOM % 6)) \
    --seed $((seed + i)) >>"$WORK/activity.log" 2>&1
  if ((RANDOM % 2)); then
    node "$IT_ROOT/tests/devnet/reorg.js" --rpc "$RPC" --network "$NET" --depth $((1 + RANDOM % 8)) \
      --seed $((seed + i)) >>"$WORK/reorgs.log" 2>&1
  fi
  sleep "$(printf '0.%03d' $((RANDOM % 400)))"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  n=$(grep -c "reorg: rolled back" "$WORK/run-$i.log" || true)
  rolled=$((rolled + n))
done

# Quiet chain: one last run catches up to the head and stops cleanly.
it_bg final "$BIN" "${run_args[@]}"
final=$BG_PID
it_settle "$DB" 60
kill -TERM "$final"
wait "$final" || it_fail "final run did not exit cleanly"
rolled=$((rolled + $(grep -c "reorg: rolled back" "$WORK/final.log" || true)))

it_dump "$DB" "$WORK/live.dump"
fresh=$(it_fresh_index fresh "$head")
it_dump "$fresh" "$WORK/fresh.dump"
diff "$WORK/live.dump" "$WORK/fresh.dump" >"$WORK/diff.txt" ||
  it_fail "database differs from a fresh index (seed $seed): $(head -20 "$WORK/diff.txt")"
# The derived model must agree too: licenses as a fresh index derives them.
q="SELECT l::text FROM licenses l ORDER BY l.contract, l.token_id"
mine=$(it_psql "$DB" "$q")
theirs=$(it_psql "$fresh" "$q")
[[ -n $mine && $mine == "$theirs" ]] || it_fail "the licenses view differs from a fresh index (seed $seed)"
echo "crash live: ok ($KILLS kills while following, $rolled rollbacks seen, seed $seed)"
