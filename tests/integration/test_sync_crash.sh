#!/usr/bin/env bash
# Crash test: `sync` is killed with SIGKILL at random moments of a backfill
# and restarted each time; the final database (logs, cursor and every
# derived row) equals a fresh index.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
KILLS=${KILLS:-10}
it_seed

it_devnet
node "$IT_ROOT/tests/devnet/bulk.js" --rpc "$RPC" --network "$NET" --events 20000 --blocks 3000 \
  >"$WORK/bulk.log"
head=$(it_head)

# Small ranges make many batches, so kills land between and inside them.
sync_args=(sync --network "$NET" --rpc "$RPC" --db "$DB" --confirmations 0 --to "$head"
  --initial-range 1 --max-range 1)
mid=0
for ((i = 1; i <= KILLS; i++)); do
  it_bg "sync-$i" "$BIN" "${sync_args[@]}"
  sleep "$(printf '0.%03d' $((20 + RANDOM % 300)))"
  kill -9 "$BG_PID" 2>/dev/null || true
  wait "$BG_PID" 2>/dev/null || true
  c=$(it_cursor "$DB")
  ((c < head)) && mid=$((mid + 1))
  it_log "kill $i: cursor $c of $head"
done
((mid >= KILLS / 2)) || it_fail "only $mid of $KILLS kills landed mid-backfill"
"$BIN" "${sync_args[@]}" >"$WORK/final.log" 2>&1 || it_fail "final sync failed"

it_dump "$DB" "$WORK/crashed.dump"
fresh=$(it_fresh_index fresh "$head")
it_dump "$fresh" "$WORK/fresh.dump"
diff "$WORK/crashed.dump" "$WORK/fresh.dump" >"$WORK/diff.txt" ||
  it_fail "database differs from a fresh index (seed $seed): $(head -20 "$WORK/diff.txt")"
# The derived model too: backfill batches leave it to a second connection,
# so a kill may land between a batch's commit and its derivation.
node "$IT_ROOT/tests/integration/model_dump.js" --db "$DB" >"$WORK/crashed.model"
node "$IT_ROOT/tests/integration/model_dump.js" --db "$fresh" >"$WORK/fresh.model"
diff "$WORK/crashed.model" "$WORK/fresh.model" >"$WORK/diff.txt" ||
  it_fail "derived rows differ from a fresh index (seed $seed): $(head -20 "$WORK/diff.txt")"
echo "crash: ok ($KILLS kills, $mid mid-backfill, $(wc -l <"$WORK/crashed.dump") rows, seed $seed)"
