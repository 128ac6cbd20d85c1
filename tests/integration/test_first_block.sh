#!/usr/bin/env bash
# The history's first block (migration 020): a database first indexed with
# --from X records X, and nothing that fetches history goes below it.
#   1. `sync --from X` (X above the quiet contracts' deployment logs, below
#      the scenario): history_start says X; `status` and, under `run`,
#      /readyz and /metrics show it.
#   2. The coverage catch-up of a database that lacks its unknown logs (as
#      one indexed before 013 does: an unfiltered_coverage row above the
#      cursor, its unknown logs gone) asks nothing below X: it brings the
#      unknown logs back and the database (logs, unknown logs, cursor,
#      model) equals a fresh index made with the same --from; the quiet
#      contracts' logs below X (their Upgraded at deployment) stay out;
#      the merge refuses a round below X.
#   3. A restart with another --from says it is ignored, and why.
#   4. A database indexed before 020 (no first block recorded): a --from
#      below which logs are stored is refused with a warning; the first
#      block a --from names, with nothing stored below it, is recorded.
#   5. A contract added to the network file after the first sync is named
#      by a warning (its logs below the cursor were never asked).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

it_pg
it_chain
it_deploy
CAST=$IT_ROOT/node_modules/.bin/cast
KEY=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80 # anvil account 0: the admin
net() { node -e "const n=require('$NET');$1"; }
APP=$(net "console.log(n.contracts.find((c)=>c.role==='app_license'&&c['x-scenario']!==false).address.toLowerCase())")
ADMIN=$(net "console.log(n['x-admin'].toLowerCase())")
# A log no ABI knows (UpdateReceiverAddress), above X: the catch-up's to bring back.
unknown_tx() { "$CAST" send -q --rpc-url "$RPC" --private-key "$KEY" "$APP" 'setReceiverAddress(address)' "$ADMIN"; }

X=$(($(it_head) + 1)) # every contract is deployed below X; the scenario runs above it
unknown_tx
node "$IT_ROOT/tests/devnet/scenario.js" --rpc "$RPC" --network "$NET" >"$WORK/scenario.log"
unknown_tx
head=$(it_head)
quiet="role IN ('app_license', 'manufacturer_license', 'sacd', 'sacd_template', 'storage_node', 'connection')"

# 1. The first sync records X.
"$BIN" sync --network "$NET" --rpc "$RPC" --db "$DB" --confirmations 0 --from "$X" --to "$head" \
  >"$WORK/first.log" 2>&1 || it_fail "sync --from $X failed: $(tail -5 "$WORK/first.log")"
[[ $(it_psql "$DB" "SELECT first_block || ' ' || source FROM history_start") == "$X first_batch" ]] ||
  it_fail "history_start: '$(it_psql "$DB" "SELECT * FROM history_start")', expected first block $X"
"$BIN" status --network "$NET" --db "$DB" >"$WORK/status.txt"
grep -q "^history:   from block $X (the first block of the first sync; nothing below it is indexed)$" "$WORK/status.txt" ||
  it_fail "status does not show the first block: $(cat "$WORK/status.txt")"

# 2. A database that lacks its unknown logs below the cursor, as one indexed
#    before 013: the catch-up brings them back, and nothing below X.
fresh=$(it_newdb fresh)
"$BIN" sync --network "$NET" --rpc "$RPC" --db "$fresh" --confirmations 0 --from "$X" --to "$head" \
  >"$WORK/fresh.log" 2>&1 || it_fail "fresh index failed: $(tail -5 "$WORK/fresh.log")"
nunk=$(it_psql "$DB" "SELECT count(*) FROM unknown_logs")
((nunk >= 2)) || it_fail "the index has $nunk unknown log(s), expected the two sent"
# (the catch-up would have something to bring below X: the proxies' Upgraded at deployment)
below=$(it_psql "$DB" "SELECT count(*) FROM logs WHERE block_number < $X")
n=$(it_psql "$DB" "SELECT count(*) FROM contracts WHERE $quiet AND start_block < $X")
[[ $below == 0 && $n -gt 0 ]] || it_fail "expected quiet contracts deployed below $X and no log below it ($below, $n)"
it_psql "$DB" "DELETE FROM unknown_logs; INSERT INTO unfiltered_coverage SELECT chain_id, last_block + 1 FROM cursors" >/dev/null
"$BIN" sync --network "$NET" --rpc "$RPC" --db "$DB" --confirmations 0 --to "$head" \
  >"$WORK/catchup.log" 2>&1 || it_fail "the catch-up's sync failed: $(tail -5 "$WORK/catchup.log")"
grep -q "coverage catch-up: asking the quiet contracts' every log of blocks $X\.\.$head " "$WORK/catchup.log" ||
  it_fail "the catch-up did not stop at the first block: $(grep -i coverage "$WORK/catchup.log")"
grep -q "coverage catch-up: blocks $X\.\.$head asked in [0-9]* round(s), 0 log(s) and $nunk unknown log(s) stored" "$WORK/catchup.log" ||
  it_fail "no catch-up line: $(grep -i coverage "$WORK/catchup.log")"
[[ -z $(it_psql "$DB" "SELECT complete_from FROM unfiltered_coverage") ]] || it_fail "the coverage row is still there"
# The merge itself refuses a round below the first block (whoever asks it).
out=$(it_psql "$DB" "INSERT INTO unfiltered_coverage SELECT chain_id, $X FROM cursors;
  SELECT dimo_internal.coverage_stage();
  SELECT m.refused FROM cursors c, dimo_internal.coverage_merge(c.chain_id, $X, $((X - 1)), 0) m;")
[[ $out == *"blocks $((X - 1))..$((X - 1)) reach below the first block of the history, $X"* ]] ||
  it_fail "coverage_merge took a round below the first block: '$out'"
it_psql "$DB" "DELETE FROM unfiltered_coverage" >/dev/null
dump_all() {
  it_dump "$1" "$2"
  node "$IT_ROOT/tests/integration/model_dump.js" --db "$1" >>"$2"
}
dump_all "$DB" "$WORK/caught.dump"
dump_all "$fresh" "$WORK/fresh.dump"
diff "$WORK/caught.dump" "$WORK/fresh.dump" >"$WORK/diff.txt" ||
  it_fail "the caught-up database differs from a fresh index --from $X: $(head -20 "$WORK/diff.txt")"

# 3. Another --from on a database with a history: said, and ignored.
Y=$((X + 3))
"$BIN" sync --network "$NET" --rpc "$RPC" --db "$DB" --confirmations 0 --from "$Y" --to "$head" \
  >"$WORK/other.log" 2>&1 || it_fail "sync --from $Y failed: $(tail -5 "$WORK/other.log")"
grep -q "\-\-from $Y ignored: this database's history starts at block $X (its first sync); the cursor (block $head) decides" "$WORK/other.log" ||
  it_fail "no warning for --from $Y: $(grep -i from "$WORK/other.log" | head -3)"
[[ $(it_psql "$DB" "SELECT first_block FROM history_start") == "$X" ]] || it_fail "--from $Y moved the first block"
"$BIN" sync --network "$NET" --rpc "$RPC" --db "$DB" --confirmations 0 --from "$X" --to "$head" \
  >"$WORK/same.log" 2>&1 || it_fail "sync --from $X failed: $(tail -5 "$WORK/same.log")"
! grep -q "\-\-from" "$WORK/same.log" || it_fail "the same --from was warned about: $(grep -- --from "$WORK/same.log")"

# /readyz and /metrics under `run`.
api_run
[[ $(it_json "$BASE/readyz" "j.first_block") == "$X" ]] || it_fail "/readyz: $(curl -s "$BASE/readyz")"
curl -s "$BASE/metrics" >"$WORK/metrics.txt"
grep -q "^dimo_first_block $X$" "$WORK/metrics.txt" || it_fail "/metrics: $(grep first "$WORK/metrics.txt")"
kill "$RUN_PID"
wait "$RUN_PID" 2>/dev/null || true

# 4. Indexed before 020 (as the migration leaves it: no first block). A
#    --from with stored logs below it is refused; one with none is recorded.
it_psql "$DB" "UPDATE history_start SET first_block = NULL, source = 'migration'" >/dev/null
"$BIN" status --network "$NET" --db "$DB" >"$WORK/status-null.txt"
grep -q "^history:   from the network file's start blocks (indexed before migration 020" "$WORK/status-null.txt" ||
  it_fail "status for a database indexed before 020: $(grep history "$WORK/status-null.txt")"
lowest=$(it_psql "$DB" "SELECT least((SELECT min(block_number) FROM logs), (SELECT min(block_number) FROM unknown_logs))")
"$BIN" sync --network "$NET" --rpc "$RPC" --db "$DB" --confirmations 0 --from "$((lowest + 1))" --to "$head" \
  >"$WORK/below.log" 2>&1 || it_fail "sync failed: $(tail -5 "$WORK/below.log")"
grep -q "\-\-from $((lowest + 1)) ignored: this database (indexed before migration 020) holds logs from block $lowest, below it" "$WORK/below.log" ||
  it_fail "no warning for a --from above stored logs: $(grep -- --from "$WORK/below.log")"
[[ -z $(it_psql "$DB" "SELECT first_block FROM history_start") ]] || it_fail "a contradicted --from was recorded"
"$BIN" sync --network "$NET" --rpc "$RPC" --db "$DB" --confirmations 0 --from "$X" --to "$head" \
  >"$WORK/adopt.log" 2>&1 || it_fail "sync failed: $(tail -5 "$WORK/adopt.log")"
grep -q "\-\-from $X recorded as the first block of this database's history" "$WORK/adopt.log" ||
  it_fail "--from $X not recorded: $(grep -- --from "$WORK/adopt.log")"
[[ $(it_psql "$DB" "SELECT first_block || ' ' || source FROM history_start") == "$X from" ]] ||
  it_fail "history_start after the adoption: $(it_psql "$DB" "SELECT * FROM history_start")"

# 5. A contract added to the network file after the first sync.
LATE=$(net "console.log(n.contracts.find((c)=>c.role==='storage_node').address.toLowerCase())")
net "const fs=require('fs');n.contracts=n.contracts.filter((c)=>c.address.toLowerCase()!=='$LATE');
  fs.writeFileSync('$WORK/less.json',JSON.stringify(n))"
late=$(it_newdb late)
"$BIN" sync --network "$WORK/less.json" --rpc "$RPC" --db "$late" --confirmations 0 --to "$head" \
  >"$WORK/less.log" 2>&1 || it_fail "sync without the storage node failed: $(tail -5 "$WORK/less.log")"
"$BIN" sync --network "$NET" --rpc "$RPC" --db "$late" --confirmations 0 --to "$head" \
  >"$WORK/more.log" 2>&1 || it_fail "sync with it failed: $(tail -5 "$WORK/more.log")"
grep -q "contract storage_node $LATE was added to the network file after this database's first sync" "$WORK/more.log" ||
  it_fail "no warning for the added contract: $(grep -i 'added\|warn' "$WORK/more.log" | head -3)"
echo "first block: ok (--from $X recorded and shown; the catch-up stopped at it, equal to a fresh index --from $X ($(wc -l <"$WORK/fresh.dump") rows); another --from warned; a database indexed before 020 took --from only where nothing contradicts it; an added contract warned)"
