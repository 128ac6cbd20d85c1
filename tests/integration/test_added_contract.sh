#!/usr/bin/env bash
# A contract added to the network file of an existing database (audit6 H10,
# migration 021): its logs below the cursor are fetched by the coverage
# catch-up at the next start.
#   1. `sync --to H-5` with the devnet network file minus the second app
#      license (which the scenario uses: licenses, stakes, transfers).
#   2. `sync --to H` with the full file, rounds of one block, killed (-9)
#      once a round of that contract has committed: its contract_coverage
#      row moved down, not gone (GET /v1/unknown-events says
#      complete_from_block from there); the warning named it.
#   3. Restarted (under valgrind: no memory error, no leak): the catch-up
#      resumes and completes (its line; the row gone); a start after that
#      neither warns nor asks anything.
#   4. The database (logs, unknown logs, cursor, every model table) equals a
#      fresh index of the full file, which has the contract's logs below
#      H-5 (without 021 the database had none of them).
#   5. A start_block moved lower: nothing to ask when the history's first
#      block is recorded (the follower asked every contract from it); on a
#      database indexed before 020, the blocks between the new and the old
#      start, asked at the next start (nothing new there: still equal).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

it_devnet
net() { node -e "const n=require('$NET');$1"; }
ADDED=$(net "console.log(n.contracts.filter((c)=>c.role==='app_license')[1].address.toLowerCase())")
net "const fs=require('fs');n.contracts=n.contracts.filter((c)=>c.address.toLowerCase()!=='$ADDED');
  fs.writeFileSync('$WORK/less.json',JSON.stringify(n))"
head=$(it_head)
mine() { it_psql "$1" "SELECT count(*) FROM logs WHERE address = '\\x${ADDED#0x}'"; }

# 1. The first syncs, without it.
"$BIN" sync --network "$WORK/less.json" --rpc "$RPC" --db "$DB" --confirmations 0 --to $((head - 5)) \
  >"$WORK/less.log" 2>&1 || it_fail "sync without the contract failed: $(tail -5 "$WORK/less.log")"
[[ $(mine "$DB") == 0 ]] || it_fail "the database without the contract has its logs"

# 2. With it: killed after a round of its catch-up.
it_bg crash "$BIN" sync --network "$NET" --rpc "$RPC" --db "$DB" --confirmations 0 --to "$head" \
  --max-range 1 --log-level debug
for ((i = 0; i < 600; i++)); do
  grep -q "coverage catch-up: blocks [0-9]*\.\.[0-9]*: " "$WORK/crash.log" && break
  kill -0 "$BG_PID" 2>/dev/null || it_fail "sync exited before a round: $(tail -5 "$WORK/crash.log")"
  sleep 0.02
done
kill -9 "$BG_PID"
wait "$BG_PID" 2>/dev/null || true
grep -q "contract app_license $ADDED was added to the network file after this database's first sync" "$WORK/crash.log" ||
  it_fail "no warning for the added contract: $(grep -i 'warn' "$WORK/crash.log" | head -3)"
grep -q "coverage catch-up of contract app_license $ADDED (added to the network file, or given a lower start_block, after the first sync): asking its logs of blocks [0-9]*\.\.$((head - 5))" "$WORK/crash.log" ||
  it_fail "the catch-up did not start: $(grep -i coverage "$WORK/crash.log" | head -3)"
left=$(it_psql "$DB" "SELECT complete_from FROM contract_coverage")
[[ -n $left && $left -le $((head - 5)) ]] || it_fail "killed after a round, the contract's coverage is at '$left' (cursor was $((head - 5)))"
cf() { it_psql "$DB" "SELECT dimo_unknown_events_page(chain_id, NULL, NULL, NULL, 1)->>'complete_from_block' FROM cursors"; }
[[ $(cf) == "$left" ]] || it_fail "GET /v1/unknown-events complete_from_block is '$(cf)' with the contract complete from $left"
"$BIN" status --network "$NET" --db "$DB" >"$WORK/status1.txt" 2>&1 || it_fail "status failed: $(cat "$WORK/status1.txt")"
grep -q "^coverage:  contract $ADDED (app_license) added after the first sync: its logs below block $left are not fetched yet" \
  "$WORK/status1.txt" || it_fail "status does not show the pending contract: $(grep -i 'coverage\|history' "$WORK/status1.txt")"

# 3. Restarted (under valgrind: no memory error, no leak): resumed and completed.
command -v valgrind >/dev/null || it_fail "valgrind is not installed (scripts/setup.sh installs it)"
valgrind --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite,indirect \
  --show-leak-kinds=definite,indirect "$BIN" sync --network "$NET" --rpc "$RPC" --db "$DB" \
  --confirmations 0 --to "$head" >"$WORK/sync.log" 2>&1 || it_fail "sync failed: $(tail -5 "$WORK/sync.log")"
grep -q "ERROR SUMMARY: 0 errors" "$WORK/sync.log" || it_fail "catch-up under valgrind: $(grep -E 'ERROR SUMMARY|lost' "$WORK/sync.log")"
grep -q "coverage catch-up of contract $ADDED: blocks [0-9]*\.\.$((left - 1)) asked in [0-9]* round(s), [0-9]* log(s) and [0-9]* unknown log(s) stored" "$WORK/sync.log" ||
  it_fail "no catch-up line: $(grep -i coverage "$WORK/sync.log")"
[[ -z $(it_psql "$DB" "SELECT complete_from FROM contract_coverage") ]] || it_fail "the contract's coverage row is still there"
[[ -z $(cf) ]] || it_fail "complete_from_block is '$(cf)' once caught up"
"$BIN" status --network "$NET" --db "$DB" >"$WORK/status2.txt" 2>&1 || it_fail "status failed: $(cat "$WORK/status2.txt")"
! grep -q "^coverage:  contract" "$WORK/status2.txt" || it_fail "status still shows a pending contract: $(grep coverage "$WORK/status2.txt")"
"$BIN" sync --network "$NET" --rpc "$RPC" --db "$DB" --confirmations 0 --to "$head" --log-level debug \
  >"$WORK/again.log" 2>&1 || it_fail "sync failed: $(tail -5 "$WORK/again.log")"
! grep -q "coverage catch-up of\|coverage catch-up: \|coverage catch-up stopped\|added to the network file" "$WORK/again.log" ||
  it_fail "a complete database caught up or warned again: $(grep "coverage catch-up\|added to" "$WORK/again.log")"

# 4. Equal to a fresh index of the full file.
fresh=$(it_fresh_index fresh "$head")
n=$(it_psql "$fresh" "SELECT count(*) FROM logs WHERE address = '\\x${ADDED#0x}' AND block_number <= $((head - 5))")
((n > 0)) || it_fail "the fresh index has no log of the contract below block $((head - 5))"
dump_all() {
  it_dump "$1" "$2"
  node "$IT_ROOT/tests/integration/model_dump.js" --db "$1" >>"$2"
  # Every other table, row by row (as test_coverage_catchup.sh), but the
  # process's own bookkeeping, stamped with the wall clock.
  local t
  for t in $(it_psql "$1" "SELECT table_name FROM information_schema.tables
      WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name NOT IN
      ('schema_migrations', 'schema_repeatables', 'sync_progress', 'discovered_starts', 'blocks',
       'logs', 'unknown_logs', 'cursors', 'license_state', 'contracts', 'finality',
       'history_start') ORDER BY 1"); do
    it_psql "$1" "SELECT '$t', x::text FROM $t x ORDER BY 2" >>"$2"
  done
}
dump_all "$DB" "$WORK/caught.dump"
dump_all "$fresh" "$WORK/fresh.dump"
diff "$WORK/caught.dump" "$WORK/fresh.dump" >"$WORK/diff.txt" ||
  it_fail "the database with the added contract differs from a fresh index: $(head -20 "$WORK/diff.txt")"
# 5. A lower start_block (the network file's).
SACD=$(net "console.log(n.contracts.find((c)=>c.role==='sacd').address.toLowerCase())")
old=$(net "console.log(n.contracts.find((c)=>c.role==='sacd').start_block)")
((old > 2)) || it_fail "the devnet's SACD starts at block $old"
net "const fs=require('fs');n.contracts.find((c)=>c.role==='sacd').start_block=$((old - 2));
  fs.writeFileSync('$WORK/lower.json',JSON.stringify(n))"
sync_with() {
  "$BIN" sync --network "$1" --rpc "$RPC" --db "$DB" --confirmations 0 --to "$head" >"$WORK/$2.log" 2>&1 ||
    it_fail "sync failed: $(tail -5 "$WORK/$2.log")"
}
sync_with "$WORK/lower.json" lower1
! grep -q "coverage catch-up of\|added to the network file" "$WORK/lower1.log" ||
  it_fail "a lower start_block above the first block was caught up: $(grep -i "coverage\|added" "$WORK/lower1.log")"
sync_with "$NET" back
it_psql "$DB" "UPDATE history_start SET first_block = NULL, source = 'migration'" >/dev/null
sync_with "$WORK/lower.json" lower2
grep -q "coverage catch-up of contract $SACD: blocks $((old - 2))\.\.$((old - 1)) asked in 1 round(s), 0 log(s)" "$WORK/lower2.log" ||
  it_fail "no catch-up of the lower start: $(grep -i coverage "$WORK/lower2.log")"
[[ $(it_psql "$DB" "SELECT count(*) FROM contract_coverage") == 0 ]] || it_fail "the row of the lower start stayed"
dump_all "$DB" "$WORK/lower.dump"
diff "$WORK/lower.dump" "$WORK/fresh.dump" >"$WORK/diff.txt" ||
  it_fail "after the lower start's catch-up the database differs from a fresh index: $(head -20 "$WORK/diff.txt")"
echo "added contract: ok (its $n log(s) below the old cursor fetched by the catch-up, resumed after a kill -9; equal to a fresh index, $(wc -l <"$WORK/fresh.dump") rows compared)"
