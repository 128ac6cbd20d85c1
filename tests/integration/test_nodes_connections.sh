#!/usr/bin/env bash
# Storage-node operators and connections (issue #23): `run` follows the
# devnet live with --confirmations 0 through the fixed DIP-5 scenario
# (node anchors, vehicles assigned under both registry event names, moved,
# transferred and burned; connections in all three mint generations,
# upgraded and transferred), then rounds of random node operations, each
# followed by a reorg (tests/devnet/lib/nodes.js reorg) whose replacement
# blocks move vehicles to other nodes, undoing assignments the indexer had
# applied. When the chain is quiet: node documents (users included) and
# connection documents equal a recount from the contracts' own views at
# the head and at past blocks (tests/integration/node_check.js); bad keys
# are SQLSTATE 22023, unknown ones NULL; and every derived row equals a
# fresh index of the canonical chain.
#
# Environment: ROUNDS (default 4), SEED (default random; printed).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROUNDS=${ROUNDS:-4}
it_seed
NODES="$IT_ROOT/tests/devnet/lib/nodes.js"
CHECK="$IT_ROOT/tests/integration/node_check.js"

it_devnet
it_rpc anvil_mine '["0x10","0x2"]' >/dev/null
it_bg indexer "$BIN" run --network "$NET" --rpc "$RPC" --db "$DB" --confirmations 0 \
  --poll-interval 100 --http off --log-level debug
indexer=$BG_PID
it_wait_cursor "$DB" "$(it_head)" 60

undone=0
for ((i = 1; i <= ROUNDS; i++)); do
  pre=$(it_head)
  node "$NODES" ops --rpc "$RPC" --network "$NET" --ops $((10 + RANDOM % 15)) --seed $((seed * 100 + i)) \
    >"$WORK/ops-$i.log" 2>&1 || it_fail "node ops round $i failed (seed $seed): $(tail -3 "$WORK/ops-$i.log")"
  it_rpc anvil_mine "[\"0x$(printf '%x' $((1 + RANDOM % 3)))\",\"0x2\"]" >/dev/null
  depth=$((2 + RANDOM % 8))
  if ((i % 2)); then
    # Once indexed, count the assignments the reorg will undo. The reorg
    # reaches back over the whole round (a shallower one could miss every
    # assignment of the round, and the check below would fail by chance).
    top=$(it_head)
    ((top - pre > depth)) && depth=$((top - pre))
    it_wait_cursor "$DB" "$top" 60
    n=$(it_psql "$DB" "SELECT count(*) FROM vehicle_node_events WHERE block_number > $((top - depth))")
    undone=$((undone + n))
  else
    sleep "0.$((RANDOM % 4))"
  fi
  node "$NODES" reorg --rpc "$RPC" --network "$NET" --depth "$depth" --seed $((seed + i)) \
    >"$WORK/reorg-$i.json" 2>&1 || it_fail "node reorg failed (seed $seed): $(tail -3 "$WORK/reorg-$i.json")"
  sleep "0.$((RANDOM % 3))"
done

it_settle "$DB" 60 "seed $seed"
rolled=$(grep -c "reorg: rolled back" "$WORK/indexer.log" || true)
((rolled >= 1)) || it_fail "no reorg was detected (seed $seed)"
((undone >= 1)) || it_fail "no reorg undid an indexed assignment (seed $seed)"
it_log "$ROUNDS reorgs made, $rolled rollbacks seen, at least $undone assignments undone; head $head"

blocks=(--block "$head")
for back in 1 3 9 40; do
  ((head - back > 0)) && blocks+=(--block $((head - back)))
done
start=$(node -e "console.log(JSON.parse(require('fs').readFileSync('$NET','utf8'))['x-nodes-block'])")
blocks+=(--block "$start" --block $((start + 50)))
node "$CHECK" --rpc "$RPC" --network "$NET" --db "$DB" "${blocks[@]}" >"$WORK/check.log" 2>&1 ||
  it_fail "node/connection documents differ (seed $seed): $(head -30 "$WORK/check.log")"
it_log "$(cat "$WORK/check.log")"

# Keys: an unknown one is NULL; an empty key, an over-long name or a block
# not indexed is SQLSTATE 22023.
[[ $(it_psql "$DB" "SELECT dimo_node_doc(137, 'no-such-node') IS NULL AND dimo_connection_doc(137, 'nope') IS NULL
  AND dimo_node_doc(137, '12345') IS NULL") == t ]] || it_fail "unknown keys should give NULL"
for q in "dimo_node_doc(137, '')" "dimo_node_doc(137, NULL)" "dimo_connection_doc(137, '')" \
  "dimo_connection_doc(137, repeat('x', 33))" "dimo_node_doc(137, 'node-alpha', $((head + 1000)))" \
  "dimo_connection_doc(137, 'tesla', -1)"; do
  state=$(psql "$DB" -qAt -v VERBOSITY=verbose -c "SELECT $q" 2>&1 || true)
  grep -q "22023" <<<"$state" || it_fail "SELECT $q: expected SQLSTATE 22023, got: $state"
done
# Both registry event generations and all three mint generations were indexed.
gens=$(it_psql "$DB" "SELECT (SELECT count(DISTINCT event) FROM vehicle_node_events)
  || '/' || (SELECT count(DISTINCT generation) FROM connection_events WHERE kind = 'mint')")
[[ $gens == 2/3 ]] || it_fail "event generations indexed: $gens (want 2 registry names / 3 mint generations)"
[[ $(it_psql "$DB" "SELECT count(*) > 0 FROM monthly_client_users WHERE users > 0") == t ]] ||
  it_fail "monthly_client_users has no client with users"

kill -TERM "$indexer"
wait "$indexer" || it_fail "run exited $? after SIGTERM"

fresh=$(it_fresh_index fresh "$head")
node "$CHECK" --dump --db "$DB" >"$WORK/live.dump"
node "$CHECK" --dump --db "$fresh" >"$WORK/fresh.dump"
diff "$WORK/live.dump" "$WORK/fresh.dump" >"$WORK/diff.txt" ||
  it_fail "derived rows differ from a fresh index (seed $seed): $(head -20 "$WORK/diff.txt")"
echo "nodes and connections: ok ($ROUNDS reorgs, $rolled rollbacks, $undone assignments undone, $(wc -l <"$WORK/live.dump") derived rows, seed $seed)"
