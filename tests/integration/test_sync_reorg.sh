#!/usr/bin/env bash
# Reorg property test: `run` follows the devnet live with --confirmations 0
# while 20 random reorgs of depth 1 to 32 replace recent blocks with other
# license transactions. When the chain is quiet again the database must
# equal a fresh index of the canonical chain (dump both, diff). Then, past the
# window, on a database of its own: a chain that becomes shorter than the
# cursor (a lagging node first, then a reorg) and a reorg of 150 blocks.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
REORGS=${REORGS:-20}
it_seed

it_devnet
it_rpc anvil_mine '["0x20","0x2"]' >/dev/null

it_bg indexer "$BIN" run --network "$NET" --rpc "$RPC" --db "$DB" --confirmations 0 \
  --poll-interval 100 --log-level debug --http off
indexer=$BG_PID
it_wait_cursor "$DB" "$(it_head)" 60

for ((i = 1; i <= REORGS; i++)); do
  depth=$((1 + RANDOM % 32))
  it_rpc anvil_mine "[\"0x$(printf '%x' $((1 + RANDOM % 3)))\",\"0x2\"]" >/dev/null
  node "$IT_ROOT/tests/devnet/reorg.js" --rpc "$RPC" --network "$NET" --depth "$depth" \
    --seed "$((seed + i))" >"$WORK/reorg-$i.json" || it_fail "reorg.js failed"
  sleep "0.$((RANDOM % 6))"
done

it_settle "$DB" 60
kill -TERM "$indexer"
wait "$indexer" && code=0 || code=$?
[[ $code == 0 ]] || it_fail "run exited $code after SIGTERM: $(tail -5 "$WORK/indexer.log")"

rolled=$(grep -c "reorg: rolled back" "$WORK/indexer.log" || true)
((rolled >= 1)) || it_fail "no reorg was detected (seed $seed)"
it_log "$REORGS reorgs made, $rolled rollbacks seen"
"$BIN" status --network "$NET" --db "$DB" >"$WORK/status.txt"
grep -q "^reorgs: *$rolled rolled back" "$WORK/status.txt" ||
  it_fail "status does not report the $rolled reorgs: $(grep reorgs "$WORK/status.txt")"

it_dump "$DB" "$WORK/live.dump"
fresh=$(it_fresh_index fresh "$head")
it_dump "$fresh" "$WORK/fresh.dump"
diff "$WORK/live.dump" "$WORK/fresh.dump" >"$WORK/diff.txt" ||
  it_fail "database differs from a fresh index (seed $seed): $(head -20 "$WORK/diff.txt")"
it_log "reorg property: ok ($REORGS reorgs, $rolled rollbacks, $(wc -l <"$WORK/live.dump") rows, seed $seed)"

# Past the window (audit6 H7, H3), on a database of its own followed through
# the proxy, whose node names block 0 as finalized (finality only moves up:
# the database above stored anvil's head - 64). --finality latest.
it_log "a chain shorter than the cursor, then a reorg deeper than the 128-block window"
node "$IT_ROOT/tests/devnet/bulk.js" --rpc "$RPC" --network "$NET" --events 60 --blocks 170 \
  --licenses 1 >"$WORK/bulk-deep.log" || it_fail "bulk.js failed: $(tail -3 "$WORK/bulk-deep.log")"
it_proxy deep --finalized-lag 100000
DEEP=$(it_newdb deep)
it_bg deep "$BIN" run --network "$NET" --rpc "$PROXY" --db "$DEEP" --confirmations 0 \
  --finality latest --poll-interval 100 --log-level debug --http 127.0.0.1:0
deep=$BG_PID
DBASE=http://127.0.0.1:$(it_port_of "$WORK/deep.log" "$deep")
it_settle "$DEEP" 120 "first sync"
c0=$head

# H7: the chain drops its last 3 blocks. Its head matches the stored
# block there: a lagging node for all the index can tell (waited for, the
# cursor stays); /readyz says the index is 3 blocks above the head (ready:
# within --ready-lag).
it_rpc anvil_rollback '[3]' >/dev/null
for ((t = 0; t < 100; t++)); do
  grep -q "node's head $((c0 - 3)) is below the indexed block $c0: its block $((c0 - 3)) is the stored one" \
    "$WORK/deep.log" && break
  sleep 0.1
done
((t < 100)) || it_fail "no lagging-node check: $(grep -E 'below|WARN' "$WORK/deep.log" | tail -3)"
ready=$(curl -s "$DBASE/readyz")
[[ $ready == *'"lag":-3,'* && $ready == *'"ready":true'* ]] || it_fail "readyz with the head 3 below: $ready"
metrics=$(curl -s "$DBASE/metrics")
grep -q '^dimo_index_ahead_blocks 3$' <<<"$metrics" ||
  it_fail "metrics with the head 3 below: $(grep -E 'ahead|head_lag' <<<"$metrics")"
"$BIN" status --network "$NET" --rpc "$RPC" --db "$DEEP" >"$WORK/status-ahead.txt" 2>&1 ||
  it_fail "status failed: $(cat "$WORK/status-ahead.txt")"
grep -q "^ahead: *the index is 3 block(s) above the node's head" "$WORK/status-ahead.txt" ||
  it_fail "status with the head 3 below: $(grep -E 'head|lag|ahead' "$WORK/status-ahead.txt")"
[[ $(it_psql "$DEEP" "SELECT last_block FROM cursors") == "$c0" ]] || it_fail "a lagging node rolled back"
# 9 more: 12 above the head is more than --ready-lag (10): not ready.
it_rpc anvil_rollback '[9]' >/dev/null
for ((t = 0; t < 100; t++)); do
  ready=$(curl -s "$DBASE/readyz")
  [[ $ready == *'"lag":-12,'* ]] && break
  sleep 0.1
done
[[ $ready == *'"ready":false'*'"lag":-12,'* && $ready == *"12 blocks above the node's head"* ]] ||
  it_fail "readyz with the head 12 below: $ready"
[[ $(it_psql "$DEEP" "SELECT last_block FROM cursors") == "$c0" ]] || it_fail "a lagging node rolled back"
# Two new blocks with other transactions: the chain (head c0 - 10) is
# shorter than the cursor and differs at its head: a reorg.
node "$IT_ROOT/tests/devnet/bulk.js" --rpc "$RPC" --network "$NET" --events 2 --blocks 1 \
  --licenses 1 >"$WORK/bulk-short.log" || it_fail "bulk.js failed: $(tail -3 "$WORK/bulk-short.log")"
(($(it_head) == c0 - 10)) || it_fail "head $(it_head), expected $((c0 - 10))"
it_settle "$DEEP" 30 "a chain shorter than the cursor"
# (It may meet the chain after the first of the two blocks: head c0 - 11.)
grep -Eq "the node's chain is shorter than the index \(head ($((c0 - 11))|$((c0 - 10))), indexed $c0\)" \
  "$WORK/deep.log" ||
  it_fail "the shorter chain was not said: $(grep -E 'WARN' "$WORK/deep.log" | tail -3)"

# H3: a reorg of 150 blocks. Old logs below the window must go, the new
# fork's there must come.
below=$(it_psql "$DEEP" "SELECT count(*) FROM logs WHERE block_number BETWEEN $((head - 149)) AND $((head - 129))")
((below > 0)) || it_fail "no stored log 129-149 blocks below the head: the test would prove nothing"
# The follower is paused meanwhile, so that it finds the new chain at the
# same height (reorg.js passes through shorter ones, which the follower
# would otherwise meet first): a tip hash that changed.
kill -STOP "$deep"
node "$IT_ROOT/tests/devnet/reorg.js" --rpc "$RPC" --network "$NET" --depth 150 \
  --seed "$seed" >"$WORK/reorg-deep.json" || { kill -CONT "$deep"; it_fail "reorg.js --depth 150 failed"; }
kill -CONT "$deep"
it_settle "$DEEP" 120 "a reorg of 150 blocks"
grep -q "reorg deeper than the 128-block header window (from block $head)" "$WORK/deep.log" ||
  it_fail "the reorg at the same height did not search below the window: $(grep WARN "$WORK/deep.log" | tail -5)"
grep -q "fork search: block [0-9]* is the highest stored block still on the node's chain" \
  "$WORK/deep.log" || it_fail "no fork search below the window: $(grep WARN "$WORK/deep.log" | tail -5)"
deep_rb=$(grep -o "rolled back [0-9]* block(s)" "$WORK/deep.log" | tail -1)
kill -TERM "$deep"
wait "$deep" && code=0 || code=$?
[[ $code == 0 ]] || it_fail "run exited $code after SIGTERM: $(tail -5 "$WORK/deep.log")"
it_dump "$DEEP" "$WORK/deep.dump"
fresh2=$(it_fresh_index fresh2 "$head")
it_dump "$fresh2" "$WORK/fresh2.dump"
diff "$WORK/deep.dump" "$WORK/fresh2.dump" >"$WORK/diff2.txt" ||
  it_fail "after the shorter chain and the deep reorg the database differs from a fresh index: $(head -20 "$WORK/diff2.txt")"
echo "reorg property: ok ($REORGS reorgs, $rolled rollbacks, $(wc -l <"$WORK/live.dump") rows, seed $seed); past the window: a shorter chain and a reorg of 150 blocks ($deep_rb), equal to a fresh index"
