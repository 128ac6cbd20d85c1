#!/usr/bin/env bash
# The coverage catch-up (issue #22, a database indexed before 013): the
# release before 013 indexes the devnet, asking every contract by the
# topic0s its ABI knows. Its ABI files are the release's own, with the
# storage node's and the connections' Upgraded / BeaconUpgraded left out, as
# DIMO's license ABIs lack them on Polygon (no model part reads those two:
# the start-up check allows it): below its cursor the database then has no
# unknown log and no Upgraded of those proxies. The current binary migrates it (016 marks
# the coverage) and starts `sync` with rounds of one block (--max-range 1);
# it is killed (-9) once a round has committed, then started again. Then:
#   - a stored log the chain contradicts refuses the round it is in (a
#     warning; the follower goes on; nothing stored);
#   - the catch-up logged its line, and complete_from_block is null (no
#     coverage line in `status`);
#   - the database (it_dump: logs, unknown_logs, the cursor) and every model
#     table equal a fresh index of the same chain, which has at least one
#     unknown log and one upgrade below the old cursor;
#   - a start with nothing to catch up asks nothing.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The release before 013, built once per build dir (about 15 s) and kept.
OLD_DIR=$(bash "$IT_ROOT/scripts/build_before.sh" schema/013_unknown_events.sql) || it_fail "cannot build the release before 013"
OLD="$OLD_DIR/build/indexer/dimo-indexer"
OLD_ABI="$WORK/prev-abi"
cp -r "$OLD_DIR/src/abi" "$OLD_ABI"
for f in StorageNode Connections; do
  node -e "const fs=require('fs');const p='$OLD_ABI/$f.json';const j=JSON.parse(fs.readFileSync(p));
    const a=Array.isArray(j)?j:j.abi;const k=a.filter((e)=>!(e.type==='event'&&/^(Beacon)?Upgraded$/.test(e.name)));
    fs.writeFileSync(p,JSON.stringify(Array.isArray(j)?k:{...j,abi:k}))"
done

it_pg
it_chain
it_deploy
CAST=$IT_ROOT/node_modules/.bin/cast
KEY=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80 # anvil account 0: the admin
net() { node -e "const n=require('$NET');$1"; }
APP=$(net "console.log(n.contracts.find((c)=>c.role==='app_license'&&c['x-scenario']!==false).address.toLowerCase())")
ADMIN=$(net "console.log(n['x-admin'].toLowerCase())")
unknown_tx() { "$CAST" send -q --rpc-url "$RPC" --private-key "$KEY" "$APP" 'setReceiverAddress(address)' "$ADMIN"; }
unknown_tx
node "$IT_ROOT/tests/devnet/scenario.js" --rpc "$RPC" --network "$NET" >"$WORK/scenario.log"
unknown_tx

# 1. The release before 013 indexes it all.
old_to=$(it_head)
"$OLD" sync --network "$NET" --rpc "$RPC" --db "$DB" --confirmations 0 --to "$old_to" \
  --abi-dir "$OLD_ABI" --schema-dir "$OLD_DIR/src/schema" >"$WORK/old.log" 2>&1 ||
  it_fail "the release before 013 failed: $(tail -5 "$WORK/old.log")"
[[ $(it_cursor "$DB") == "$old_to" ]] || it_fail "the old index stopped at $(it_cursor "$DB")"
unknown_tx # one more above the old cursor: the follower's own

# 2. The current binary: 016 marks the coverage; a catch-up killed after a round.
"$BIN" migrate --db "$DB" >"$WORK/migrate.log" 2>&1 || it_fail "migrate: $(tail -3 "$WORK/migrate.log")"
[[ $(it_psql "$DB" "SELECT complete_from FROM unfiltered_coverage") == $((old_to + 1)) ]] ||
  it_fail "016 did not mark the coverage at block $((old_to + 1))"
[[ $(it_psql "$DB" "SELECT count(*) FROM unknown_logs") == 0 ]] || it_fail "the old index has unknown logs"
head=$(it_head)
it_bg crash "$BIN" sync --network "$NET" --rpc "$RPC" --db "$DB" --confirmations 0 --to "$head" \
  --max-range 1 --log-level debug
for ((i = 0; i < 300; i++)); do
  grep -q "coverage catch-up: blocks [0-9]*\.\.[0-9]*: " "$WORK/crash.log" && break
  kill -0 "$BG_PID" 2>/dev/null || it_fail "sync exited before a round: $(tail -5 "$WORK/crash.log")"
  sleep 0.02
done
kill -9 "$BG_PID"
wait "$BG_PID" 2>/dev/null || true
grep -q "coverage catch-up: asking the quiet contracts' every log of blocks" "$WORK/crash.log" ||
  it_fail "the catch-up did not start: $(grep -i coverage "$WORK/crash.log" | head -3)"
left=$(it_psql "$DB" "SELECT complete_from FROM unfiltered_coverage")
[[ -n $left && $left -le $old_to ]] || it_fail "killed after a round, the coverage is at '$left' (old cursor $old_to)"

# 3. A stored log that the chain contradicts (its block hash) refuses the
#    round: a warning, nothing stored, the follower goes on.
bad=$(it_psql "$DB" "SELECT block_number || ',' || log_index FROM logs
  WHERE role IN ('app_license', 'sacd', 'storage_node', 'connection') AND block_number < $left
  ORDER BY block_number DESC, log_index LIMIT 1")
hash=$(it_psql "$DB" "SELECT encode(block_hash, 'hex') FROM logs WHERE (block_number, log_index) = ($bad)")
it_psql "$DB" "UPDATE logs SET block_hash = '\\x$(printf '%064d' 0)' WHERE (block_number, log_index) = ($bad)" >/dev/null
"$BIN" sync --network "$NET" --rpc "$RPC" --db "$DB" --confirmations 0 --to "$head" >"$WORK/refused.log" 2>&1 ||
  it_fail "sync failed on a refused round: $(tail -5 "$WORK/refused.log")"
# (rounds above it commit: the coverage stops above that block)
left=$(it_psql "$DB" "SELECT complete_from FROM unfiltered_coverage")
[[ -n $left && $left -gt ${bad%,*} ]] || it_fail "a refused round moved the coverage to '$left'"
grep -q "coverage catch-up stopped (the answer for block ${bad%,*} differs from the stored logs of that block) with blocks below $left still to ask; the next start resumes it" "$WORK/refused.log" ||
  it_fail "no warning for the contradicting round: $(grep -i coverage "$WORK/refused.log")"
it_psql "$DB" "UPDATE logs SET block_hash = '\\x$hash' WHERE (block_number, log_index) = ($bad)" >/dev/null

# 4. Restarted: it resumes and completes.
"$BIN" sync --network "$NET" --rpc "$RPC" --db "$DB" --confirmations 0 --to "$head" >"$WORK/sync.log" 2>&1 ||
  it_fail "sync failed: $(tail -5 "$WORK/sync.log")"
grep -q "coverage catch-up: blocks [0-9]*\.\.$((left - 1)) asked in [0-9]* round(s), [0-9]* log(s) and [0-9]* unknown log(s) stored" "$WORK/sync.log" ||
  it_fail "no catch-up line: $(grep -i coverage "$WORK/sync.log")"
[[ -z $(it_psql "$DB" "SELECT complete_from FROM unfiltered_coverage") ]] || it_fail "the coverage row is still there"
"$BIN" status --network "$NET" --db "$DB" >"$WORK/status.txt"
! grep -q "^coverage:" "$WORK/status.txt" || it_fail "status still has a coverage line"

# 5. Equal to a fresh index, which has what the old index lacked.
fresh=$(it_fresh_index fresh "$head")
n=$(it_psql "$fresh" "SELECT count(*) FROM unknown_logs WHERE block_number <= $old_to")
((n > 0)) || it_fail "the fresh index has no unknown log below the old cursor"
n=$(it_psql "$fresh" "SELECT count(*) FROM logs WHERE event = 'Upgraded(address)' AND role IN ('storage_node', 'connection') AND block_number <= $old_to")
((n > 0)) || it_fail "the fresh index has no storage node or connection upgrade below the old cursor"
# A devnet whose app licenses are proxies (x-implementation) logs their
# Upgraded, which the old ABI lacks: an admin action (accountability) that
# the catch-up must bring, with its sender (the senders' catch-up).
ups=$(it_psql "$fresh" "SELECT count(*) FROM admin_actions WHERE action = 'upgrade' AND block_number <= $old_to")
if [[ $(net "console.log(n.contracts.some((c)=>c.role==='app_license'&&c['x-implementation']))") == true ]]; then
  ((ups > 0)) || it_fail "the fresh index has no license upgrade below the old cursor"
fi
dump_all() {
  it_dump "$1" "$2"
  node "$IT_ROOT/tests/integration/model_dump.js" --db "$1" >>"$2"
  # Every other table, row by row: the rest of the model (SACD, nodes,
  # connections, accountability: admin actions, senders, roles, flows).
  # Left out: what the dumps above hold (license_state: its documents as
  # readers get them), and the process's own bookkeeping, stamped with the
  # wall clock (migrations, progress, discovered starts, when the network
  # file was loaded, when a finalized block was seen), and where the
  # history starts (020: not recorded for a database indexed before it).
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
  it_fail "the caught-up database differs from a fresh index: $(head -20 "$WORK/diff.txt")"

# 6. Nothing to catch up: nothing asked, no line.
"$BIN" sync --network "$NET" --rpc "$RPC" --db "$DB" --confirmations 0 --to "$head" --log-level debug \
  >"$WORK/again.log" 2>&1 || it_fail "sync failed: $(tail -5 "$WORK/again.log")"
! grep -q "coverage catch-up: \|coverage catch-up stopped" "$WORK/again.log" ||
  it_fail "a complete database caught up again: $(grep "coverage catch-up" "$WORK/again.log")"
echo "coverage catch-up: ok (a database indexed before 013 resumed after a kill -9 and equals a fresh index; $(wc -l <"$WORK/fresh.dump") rows compared, $ups license upgrade(s) as admin actions)"
