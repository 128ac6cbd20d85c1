#!/usr/bin/env bash
# Deployment-block discovery (issue #16): the contracts are deployed after
# 3,000 empty blocks and the network file says start_block 0 for each.
#   1. on an empty database the follower finds each contract's deployment
#      block by eth_getCode bisection, and its first eth_getLogs starts at
#      the lowest of them; the database equals an index made with the
#      real start blocks;
#   1b. what it found is recorded (discovered_starts, 014): a run that stops
#      below the deployment block writes no batch; the next run makes no
#      eth_getCode call and starts at the recorded block; a contract whose
#      network file now gives a start block uses that one (searched for
#      nobody); `status` then says the backfill is done, 0 blocks left;
#   2. --discover-start off scans from block 0 (same database);
#   3. a node that refuses old state (a pruned node, played by the proxy:
#      "missing trie node" below the head): one clear message, the scan
#      starts at the configured block 0, same database.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

it_pg
# Full state history: eth_getCode answers for every block (anvil keeps
# only the last 500 blocks' state otherwise, like a pruned node).
DEVNET_FULL_HISTORY=1 it_chain
curl -sf -X POST -H 'content-type: application/json' \
  --data '{"jsonrpc":"2.0","id":1,"method":"anvil_mine","params":["0xbb8","0x1"]}' "$RPC" >/dev/null
it_deploy
node "$IT_ROOT/tests/devnet/bulk.js" --rpc "$RPC" --network "$NET" --events 300 --blocks 30 \
  >"$WORK/bulk.log"
head=$(it_head)
ref=$(it_fresh_index reference "$head")
it_dump "$ref" "$WORK/reference.dump"
# The lowest real start block of the contracts that start the scan, and
# how many of them there are.
read -r deployed ncontracts < <(node -e '
  const n = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const c = n.contracts.filter((x) => x.role !== "dimo_token");
  console.log(Math.min(...c.map((x) => x.start_block)), c.length);' "$NET")
((deployed > 3000)) || it_fail "the contracts were deployed at block $deployed, not after 3,000"
node -e '
  const n = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  for (const c of n.contracts) c.start_block = 0;
  require("fs").writeFileSync(process.argv[2], JSON.stringify(n, null, 2));' "$NET" "$WORK/net0.json"

first_range() { sed -n 's/.*DEBUG sync: blocks \([0-9]*\)\.\..*/\1/p' "$1" | head -n 1; }
same() {
  it_dump "$2" "$WORK/$1.dump"
  diff "$WORK/reference.dump" "$WORK/$1.dump" >"$WORK/$1.diff" ||
    it_fail "$1: database differs from the reference: $(head -5 "$WORK/$1.diff")"
}

# 1. Discovery.
db=$(it_newdb disc)
"$BIN" sync --network "$WORK/net0.json" --rpc "$RPC" --db "$db" --confirmations 0 --to "$head" \
  --log-level debug >"$WORK/disc.log" 2>&1 || it_fail "discovery: sync failed: $(tail -5 "$WORK/disc.log")"
first=$(first_range "$WORK/disc.log")
[[ $first == "$deployed" ]] || it_fail "discovery: the first eth_getLogs starts at $first, not $deployed"
found=$(grep -c "deployment-block discovery: .* deployed at block" "$WORK/disc.log" || true)
((found == ncontracts)) || it_fail "discovery: $found of $ncontracts contracts found"
calls=$(grep -o "deployed at block [0-9]* ([0-9]* calls)" "$WORK/disc.log" | awk '{print $5}' | tr -d '(' | sort -n | tail -n 1)
((calls <= 14)) || it_fail "discovery: $calls eth_getCode calls for a $head-block chain"
same disc "$db"
it_log "discovery: $found contracts, the scan starts at $first (deployed), at most $calls calls each"

# 1b. Recorded: a restart does not search again.
getcode_calls() { sed -n 's/.*deployment-block discovery: \([0-9]*\) eth_getCode call.*/\1/p' "$1" | awk '{n += $1} END {print n + 0}'; }
recorded() { grep -c "deployed at block [0-9]* (recorded; no calls)" "$1" || true; }
db=$(it_newdb rec)
"$BIN" sync --network "$WORK/net0.json" --rpc "$RPC" --db "$db" --confirmations 0 \
  --to $((deployed - 1)) --log-level debug >"$WORK/rec1.log" 2>&1 ||
  it_fail "recorded: first run failed: $(tail -5 "$WORK/rec1.log")"
calls1=$(getcode_calls "$WORK/rec1.log")
((calls1 > 0)) || it_fail "recorded: the first run made no eth_getCode call"
rows=$(it_psql "$db" "SELECT count(*) FROM discovered_starts")
((rows == ncontracts)) || it_fail "recorded: $rows rows in discovered_starts, not $ncontracts"
[[ $(it_psql "$db" "SELECT count(*) FROM cursors") == 0 ]] || it_fail "recorded: a batch was written below the deployment block"
# A network file that now gives one contract its start block: that one is
# not searched and not taken from the record; the others are recorded.
node -e '
  const n = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const real = JSON.parse(require("fs").readFileSync(process.argv[3], "utf8"));
  for (const c of n.contracts) c.start_block = 0;
  const i = real.contracts.findIndex((x) => x.role !== "dimo_token");
  n.contracts[i].start_block = real.contracts[i].start_block;
  require("fs").writeFileSync(process.argv[2], JSON.stringify(n, null, 2));' "$WORK/net0.json" "$WORK/net1.json" "$NET"
"$BIN" sync --network "$WORK/net1.json" --rpc "$RPC" --db "$db" --confirmations 0 \
  --to $((deployed - 1)) --log-level debug >"$WORK/rec2.log" 2>&1 ||
  it_fail "recorded: the run with a configured start block failed: $(tail -5 "$WORK/rec2.log")"
(($(getcode_calls "$WORK/rec2.log") == 0)) || it_fail "recorded: a configured start block: eth_getCode asked again"
(($(recorded "$WORK/rec2.log") == ncontracts - 1)) ||
  it_fail "recorded: $(recorded "$WORK/rec2.log") contracts from the record, not $((ncontracts - 1))"
"$BIN" sync --network "$WORK/net0.json" --rpc "$RPC" --db "$db" --confirmations 0 --to "$head" \
  --log-level debug >"$WORK/rec3.log" 2>&1 || it_fail "recorded: restart failed: $(tail -5 "$WORK/rec3.log")"
(($(getcode_calls "$WORK/rec3.log") == 0)) || it_fail "recorded: the restart asked eth_getCode again"
(($(recorded "$WORK/rec3.log") == ncontracts)) || it_fail "recorded: the restart did not use every record"
[[ $(first_range "$WORK/rec3.log") == "$deployed" ]] ||
  it_fail "recorded: the restart's first eth_getLogs starts at $(first_range "$WORK/rec3.log"), not $deployed"
same recorded "$db"
"$BIN" status --network "$WORK/net0.json" --db "$db" >"$WORK/status.out" 2>&1 ||
  it_fail "recorded: status failed: $(cat "$WORK/status.out")"
grep -q "^backfill:  block $head of $head: .* 0 left" "$WORK/status.out" ||
  it_fail "recorded: status does not say the backfill is done: $(cat "$WORK/status.out")"
it_log "recorded: $calls1 eth_getCode calls once, none on restart; status: $(grep '^backfill:' "$WORK/status.out")"

# 2. Off.
db=$(it_newdb off)
"$BIN" sync --network "$WORK/net0.json" --rpc "$RPC" --db "$db" --confirmations 0 --to "$head" \
  --discover-start off --log-level debug >"$WORK/off.log" 2>&1 || it_fail "off: sync failed"
[[ $(first_range "$WORK/off.log") == 0 ]] || it_fail "off: the scan did not start at block 0"
! grep -q "deployment-block discovery" "$WORK/off.log" || it_fail "off: discovery ran"
same off "$db"

# 3. A node without old state.
it_proxy proxy --state-from $((head - 10))
db=$(it_newdb pruned)
"$BIN" sync --network "$WORK/net0.json" --rpc "$PROXY" --db "$db" --confirmations 0 --to "$head" \
  --log-level debug >"$WORK/pruned.log" 2>&1 || it_fail "pruned: sync failed: $(tail -5 "$WORK/pruned.log")"
said=$(grep -c "cannot answer eth_getCode for old blocks" "$WORK/pruned.log" || true)
((said == 1)) || it_fail "pruned: the fallback was said $said times"
[[ $(first_range "$WORK/pruned.log") == 0 ]] || it_fail "pruned: the scan did not start at block 0"
same pruned "$db"
echo "sync_discovery: ok (deployed at $deployed of $head blocks, $found contracts, fallback said once)"
