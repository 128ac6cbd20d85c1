#!/usr/bin/env bash
# High availability on one database: two `run` instances; exactly one
# writes (it holds the chain's advisory lock on its writing connection),
# the other waits. kill -9 the writer: the standby takes over within two
# poll intervals, and the result has no gap and no duplicate (it equals a
# fresh index).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
POLL_MS=500

it_devnet

run_args=(run --network "$NET" --rpc "$RPC" --db "$DB" --confirmations 0 --poll-interval "$POLL_MS"
  --http off)
it_bg writer "$BIN" "${run_args[@]}"
writer=$BG_PID
it_wait_cursor "$DB" "$(it_head)" 60
it_bg standby "$BIN" "${run_args[@]}"
standby=$BG_PID
for ((t = 0; t < 100; t++)); do
  grep -q "standby:" "$WORK/standby.log" && break
  sleep 0.1
done
grep -q "standby:" "$WORK/standby.log" || it_fail "the second instance did not stand by: $(tail -3 "$WORK/standby.log")"
grep -q "standby:" "$WORK/writer.log" && it_fail "the first instance stood by"

# More activity: only the writer indexes it.
node "$IT_ROOT/tests/devnet/scenario.js" --rpc "$RPC" --network "$NET" --ops 20 --seed 3 >/dev/null
it_wait_cursor "$DB" "$(it_head)" 30
grep -q "took the writer lock" "$WORK/standby.log" && it_fail "the standby wrote while the writer lived"

kill -9 "$writer"
killed_at=$(date +%s%N)
for ((t = 0; t < 200; t++)); do
  grep -q "took the writer lock" "$WORK/standby.log" && break
  sleep 0.02
done
took_at=$(date +%s%N)
grep -q "took the writer lock" "$WORK/standby.log" || it_fail "the standby never took over"
ms=$(((took_at - killed_at) / 1000000))
((ms <= 2 * POLL_MS)) || it_fail "takeover took ${ms} ms (> 2 poll intervals of $POLL_MS ms)"
it_log "standby took over ${ms} ms after kill -9 (poll interval $POLL_MS ms)"

node "$IT_ROOT/tests/devnet/scenario.js" --rpc "$RPC" --network "$NET" --ops 20 --seed 4 >/dev/null
head=$(it_head)
it_wait_cursor "$DB" "$head" 30
kill -TERM "$standby"
wait "$standby" || it_fail "the new writer did not exit cleanly"

it_dump "$DB" "$WORK/ha.dump"
fresh=$(it_fresh_index fresh "$head")
it_dump "$fresh" "$WORK/fresh.dump"
diff "$WORK/ha.dump" "$WORK/fresh.dump" >"$WORK/diff.txt" ||
  it_fail "database differs from a fresh index: $(head -20 "$WORK/diff.txt")"
echo "ha: ok (takeover in ${ms} ms, poll interval $POLL_MS ms)"
