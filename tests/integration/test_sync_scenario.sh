#!/usr/bin/env bash
# The fixed DIP-5 scenario indexed by `sync`: stored log counts per event
# equal what eth_getLogs returns directly; re-running sync over the indexed
# range changes nothing; `status` reports it; configuration mistakes are
# one clear message and exit code 2.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

it_devnet
head=$(it_head)
it_log "scenario done; head $head"

"$BIN" sync --network "$NET" --rpc "$RPC" --db "$DB" --confirmations 0 --to head \
  --initial-range 7 >"$WORK/sync1.log" 2>&1 || it_fail "sync failed: $(tail -5 "$WORK/sync1.log")"
[[ $(it_cursor "$DB") == "$head" ]] || it_fail "cursor $(it_cursor "$DB") != head $head"

# Counts per (role, event) against the node's own answer.
node "$IT_ROOT/tests/integration/chain_counts.js" --rpc "$RPC" --network "$NET" --to "$head" \
  >"$WORK/expected.json"
it_psql "$DB" "SELECT json_object_agg(k, n ORDER BY k) FROM (SELECT role || ' ' || event AS k,
  count(*) AS n FROM logs GROUP BY 1) t" | node -e '
  let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.stringify(JSON.parse(s),null,1)))' \
  >"$WORK/stored.json"
diff "$WORK/expected.json" "$WORK/stored.json" || it_fail "stored counts differ from eth_getLogs"
kinds=$(node -e 'console.log(Object.keys(require(process.argv[1])).length)' "$WORK/expected.json")
((kinds >= 15)) || it_fail "the scenario produced only $kinds event kinds"
it_log "counts agree over $kinds event kinds"

# The block hash stored as the cursor is the chain's.
want=$(it_block_hash "$head")
got=0x$(it_psql "$DB" "SELECT encode(last_hash,'hex') FROM cursors")
[[ $want == "$got" ]] || it_fail "cursor hash $got != chain $want"

# Re-running sync over an indexed range changes nothing.
it_dump "$DB" "$WORK/dump1"
"$BIN" sync --network "$NET" --rpc "$RPC" --db "$DB" --confirmations 0 --to "$head" \
  >"$WORK/sync2.log" 2>&1 || it_fail "second sync failed"
"$BIN" sync --network "$NET" --rpc "$RPC" --db "$DB" --confirmations 0 --from 0 --to 5 \
  >"$WORK/sync3.log" 2>&1 || it_fail "sync of an old range failed"
it_dump "$DB" "$WORK/dump2"
cmp -s "$WORK/dump1" "$WORK/dump2" || it_fail "re-running sync changed the database"

# A fresh index into another database is identical.
fresh=$(it_fresh_index fresh "$head")
it_dump "$fresh" "$WORK/dump3"
cmp -s "$WORK/dump1" "$WORK/dump3" || it_fail "a fresh index differs"

# status
"$BIN" status --network "$NET" --rpc "$RPC" --db "$DB" >"$WORK/status.txt"
grep -q "^cursor: *$head " "$WORK/status.txt" || it_fail "status: $(cat "$WORK/status.txt")"
grep -q "^model: *$head (0 block(s) behind the cursor)" "$WORK/status.txt" || it_fail "status model: $(cat "$WORK/status.txt")"
grep -q "^lag: *0 blocks" "$WORK/status.txt" || it_fail "status lag: $(cat "$WORK/status.txt")"
grep -q "Issued" "$WORK/status.txt" || it_fail "status lists no Issued events"

# migrate is idempotent.
"$BIN" migrate --db "$DB" | grep -q "applied 0 migration" || it_fail "migrate re-applied"

# Configuration mistakes: exit 2 and a message naming the problem.
expect_usage() {
  local needle=$1
  shift
  set +e
  "$@" >"$WORK/usage.out" 2>&1
  local code=$?
  set -e
  [[ $code == 2 ]] || it_fail "expected exit 2, got $code from: $*"
  grep -qi -- "$needle" "$WORK/usage.out" || it_fail "message lacks '$needle': $(cat "$WORK/usage.out")"
}
expect_usage "no JSON-RPC" "$BIN" sync --network "$NET" --db "$DB"
expect_usage "no database" env -u DATABASE_URL "$BIN" sync --network "$NET" --rpc "$RPC"
expect_usage "mars" "$BIN" sync --network mars --rpc "$RPC" --db "$DB"
expect_usage "--confirmations" "$BIN" sync --network "$NET" --rpc "$RPC" --db "$DB" --confirmations x
expect_usage "unknown option" "$BIN" run --network "$NET" --rpc "$RPC" --db "$DB" --colour
sed 's/"chain_id": *137/"chain_id": 80002/' "$NET" >"$WORK/wrong-chain.json"
expect_usage "serves chain 137" "$BIN" sync --network "$WORK/wrong-chain.json" --rpc "$RPC" --db "$DB"
# Block bounds (audit H5): --from above --to, a number past bigint, a
# signed or space-led number.
expect_usage "--from 10 is above --to 5" "$BIN" sync --network "$NET" --rpc "$RPC" --db "$DB" --from 10 --to 5
expect_usage "--from and --to must be at most" "$BIN" sync --network "$NET" --rpc "$RPC" --db "$DB" \
  --from 9223372036854775808
expect_usage "--from" "$BIN" sync --network "$NET" --rpc "$RPC" --db "$DB" --from " -1"

# Nothing to do, said so: a database already past --to ends well and says
# where it is; a --from beyond the head on an empty database indexes
# nothing, and fails saying why (it used to print "reached block N").
"$BIN" sync --network "$NET" --rpc "$RPC" --db "$DB" --confirmations 0 --to 5 >"$WORK/past.out" 2>&1 ||
  it_fail "sync --to below the cursor failed: $(cat "$WORK/past.out")"
grep -q "nothing to do: the database is at block $head, above --to 5" "$WORK/past.out" ||
  it_fail "sync --to below the cursor: $(cat "$WORK/past.out")"
empty=$(it_newdb beyond)
set +e
"$BIN" sync --network "$NET" --rpc "$RPC" --db "$empty" --confirmations 0 --from $((head + 100)) \
  --to head >"$WORK/beyond.out" 2>&1
code=$?
set -e
[[ $code == 1 ]] || it_fail "sync --from beyond the head: exit $code: $(cat "$WORK/beyond.out")"
grep -q "nothing indexed: the backfill starts at block $((head + 100)), above block $head" "$WORK/beyond.out" ||
  it_fail "sync --from beyond the head: $(cat "$WORK/beyond.out")"
echo "sync scenario: ok ($kinds event kinds, head $head)"
