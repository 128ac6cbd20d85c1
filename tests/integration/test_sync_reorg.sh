#!/usr/bin/env bash
# Reorg property test: `run` follows the devnet live with --confirmations 0
# while 20 random reorgs of depth 1 to 32 replace recent blocks with other
# license transactions. When the chain is quiet again the database must
# equal a fresh index of the canonical chain (dump both, diff).
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
echo "reorg property: ok ($REORGS reorgs, $rolled rollbacks, $(wc -l <"$WORK/live.dump") rows, seed $seed)"
