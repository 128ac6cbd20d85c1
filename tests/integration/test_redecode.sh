#!/usr/bin/env bash
# Raw logs that the loaded ABIs now decode (indexer/redecode.c). A database
# indexed with older ABI files holds raw in unknown_logs two kinds of logs a
# fresh index with today's files decodes: the manufacturer license's
# RoleGranted (its ABI before #25's correction had no AccessControl
# events) and the app license's UpdateReceiverAddress (an event of no
# license meaning that no part declares in model_reads, but accountability
# reads by pattern, `Update%`: an admin action). Beside them, a raw row of
# the same app kind whose bytes do not decode (another generation of the
# event): kept raw by every start, nothing else lost. Started with today's
# files, in rounds of one log read a page of one log at a time
# (DIMO_REDECODE_ROUND/PAGE), `sync` is killed (-9) after its first round
# committed (the second is held on a row lock), then started again under
# valgrind (two logs a round and a page): it moves the rest, re-derives what reads them, and the database
# then equals a fresh index of the same chain (logs, unknown logs, cursor,
# the accountability rows and the license model); a third start finds
# nothing to do (the kept row: a debug line only) and changes nothing. The
# round's move refuses positions that are not both raw and decoded.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

it_pg
it_chain
it_deploy
node "$IT_ROOT/tests/integration/manufacturer_admin.js" --rpc "$RPC" --network "$NET" --out "$WORK/mfr.json" \
  >"$WORK/mfr.log" 2>&1 || it_fail "manufacturer admin actions failed: $(tail -5 "$WORK/mfr.log")"
it_log "$(tail -1 "$WORK/mfr.log")"
CAST=$IT_ROOT/node_modules/.bin/cast
KEY=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80 # anvil account 0: the admin
APP=$(node -e "console.log(require('$NET').contracts.find((c)=>c.role==='app_license'&&c['x-scenario']!==false).address.toLowerCase())")
for to in 0x00000000000000000000000000000000000000aa 0x00000000000000000000000000000000000000bb; do
  "$CAST" send -q --rpc-url "$RPC" --private-key "$KEY" "$APP" 'setReceiverAddress(address)' "$to" ||
    it_fail "setReceiverAddress failed"
done
head=$(it_head)

# The old network file: the same contracts, the manufacturer's ABI without
# RoleGranted / RoleRevoked / RoleAdminChanged (the file before #25's fix),
# beside the network file (an "abi" is looked up there first). The new
# one: today's files, the app license's with UpdateReceiverAddress added.
mkdir -p "$WORK/old" "$WORK/new"
node -e '
  const fs = require("fs");
  const [mabi, aabi, net, old, neu, app] = process.argv.slice(1);
  const m = JSON.parse(fs.readFileSync(mabi)).filter((e) => !/^Role(Granted|Revoked|AdminChanged)$/.test(e.name));
  fs.writeFileSync(old + "/ManufacturerLicenseStakeBefore.json", JSON.stringify(m, null, 2));
  const a = JSON.parse(fs.readFileSync(aabi));
  a.push({ type: "event", name: "UpdateReceiverAddress", anonymous: false,
           inputs: [{ name: "receiver_", type: "address", indexed: false }] });
  fs.writeFileSync(neu + "/DevLicenseDimoReceiver.json", JSON.stringify(a, null, 2));
  const n = JSON.parse(fs.readFileSync(net));
  for (const c of n.contracts) if (c.role === "manufacturer_license") c.abi = "ManufacturerLicenseStakeBefore.json";
  fs.writeFileSync(old + "/network.json", JSON.stringify(n, null, 2));
  const n2 = JSON.parse(fs.readFileSync(net));
  for (const c of n2.contracts) if (c.address.toLowerCase() === app) c.abi = "DevLicenseDimoReceiver.json";
  fs.writeFileSync(neu + "/network.json", JSON.stringify(n2, null, 2));
' "$IT_ROOT/abi/ManufacturerLicenseStake.json" "$IT_ROOT/abi/DevLicenseDimo.json" "$NET" "$WORK/old" "$WORK/new" "$APP"
NEW=$WORK/new/network.json

MFR=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).contract.slice(2).toLowerCase())' "$WORK/mfr.json")
RCV=$("$CAST" keccak 'UpdateReceiverAddress(address)')
sync_to() { # sync_to CONN NETWORK LOGNAME [WRAPPER...]
  local conn=$1 net=$2 name=$3
  shift 3
  "$@" "$BIN" sync --network "$net" --rpc "$RPC" --db "$conn" --confirmations 0 --to "$head" \
    --log-level "${LOG_LEVEL:-info}" >"$WORK/$name.log" 2>&1 ||
    it_fail "$name: sync failed: $(tail -5 "$WORK/$name.log")"
}
# The undecodable row (5 bytes where an address takes 32), at an unused
# position of the first UpdateReceiverAddress's block and transaction.
add_kept() {
  it_psql "$1" "INSERT INTO unknown_logs (chain_id, block_number, block_hash, block_time, tx_hash, tx_index,
      log_index, address, role, topic0, data)
    SELECT chain_id, block_number, block_hash, block_time, tx_hash, tx_index, 9999, address, role, topic0,
      '\x0102030405'
    FROM (SELECT chain_id, block_number, block_hash, block_time, tx_hash, tx_index, log_index, address, role,
            topic0 FROM unknown_logs
          UNION ALL
          SELECT chain_id, block_number, block_hash, block_time, tx_hash, tx_index, log_index, address, role,
            topic0 FROM logs) x
    WHERE address = '\x${APP#0x}' AND topic0 = '\x${RCV#0x}'
    ORDER BY block_number, log_index LIMIT 1"
}
dump() { # everything indexed, then the rows of every model part that reads the decoded events
  it_dump "$1" "$2"
  node "$IT_ROOT/tests/integration/model_dump.js" --db "$1" >>"$2"
  it_psql "$1" "SELECT 'a', block_number, log_index, action, token_id, amount, detail::text,
      encode(gating_role,'hex'), encode(tx_from,'hex'), encode(tx_to,'hex'), encode(by_address,'hex'),
      encode(via,'hex'), attribution FROM admin_actions ORDER BY block_number, log_index" >>"$2"
  it_psql "$1" "SELECT 'r', block_number, log_index, encode(contract,'hex'), kind, encode(role,'hex'),
      encode(account,'hex'), encode(sender,'hex') FROM role_events ORDER BY block_number, log_index" >>"$2"
  it_psql "$1" "SELECT 't', block_number, log_index, encode(contract,'hex'), direction, kind, amount
      FROM token_flows ORDER BY block_number, log_index, contract, direction" >>"$2"
  it_psql "$1" "SELECT 's', block_number, log_index, encode(tx_hash,'hex'), encode(from_address,'hex'),
      encode(to_address,'hex') FROM tx_senders ORDER BY block_number, log_index" >>"$2"
}

# 1. Indexed with the old files: the role logs and the receiver updates are
# raw, the manufacturer's actions unattributed, no receiver update an action.
old=$(it_newdb old)
sync_to "$old" "$WORK/old/network.json" old1
add_kept "$old"
raw=$(it_psql "$old" "SELECT count(*) FROM unknown_logs WHERE address = '\\x$MFR'")
((raw == 2)) || it_fail "old ABI: expected the 2 RoleGranted logs raw, found $raw"
rcv=$(it_psql "$old" "SELECT count(*) FROM unknown_logs WHERE address = '\\x${APP#0x}' AND topic0 = '\\x${RCV#0x}'")
((rcv == 3)) || it_fail "old ABI: expected the 2 UpdateReceiverAddress logs and the kept row raw, found $rcv"
[[ $(it_psql "$old" "SELECT count(*) FROM role_events WHERE contract = '\\x$MFR'") == 0 ]] ||
  it_fail "old ABI: role history of the manufacturer without its role logs"
[[ $(it_psql "$old" "SELECT count(*) FROM admin_actions WHERE contract = '\\x$MFR' AND attribution <> 'unattributed'") == 0 ]] ||
  it_fail "old ABI: a manufacturer action attributed without role history"
! grep -q "unknown logs now known" "$WORK/old1.log" || it_fail "old ABI: something was re-decoded"

# 2. The reference: a fresh index with the new files (and the same kept
# row, made from the decoded log's position).
fresh=$(it_newdb fresh)
sync_to "$fresh" "$NEW" fresh
[[ $(it_psql "$fresh" "SELECT count(*) FROM unknown_logs WHERE address IN ('\\x$MFR', '\\x${APP#0x}')") == 0 ]] ||
  it_fail "fresh index: manufacturer or app logs left raw"
[[ $(it_psql "$fresh" "SELECT count(*) FROM admin_actions WHERE contract = '\\x${APP#0x}'
      AND detail ->> 'event' = 'UpdateReceiverAddress(address)'") == 2 ]] ||
  it_fail "fresh index: the receiver updates are not admin actions"
add_kept "$fresh"
dump "$fresh" "$WORK/fresh.dump"
dump "$old" "$WORK/old.dump"
diff -q "$WORK/old.dump" "$WORK/fresh.dump" >/dev/null && it_fail "the old index already equals the fresh one"

# 3. The move refuses a position that is not both raw and decoded (nothing
# changes: the function raises in the caller's transaction).
chain=$(it_psql "$old" "SELECT chain_id FROM cursors LIMIT 1")
it_psql "$old" "SELECT dimo_internal.redecoded($chain, '{$head}', '{12345}')" >"$WORK/bad.log" 2>&1 &&
  it_fail "redecoded accepted a position that is in neither table"
grep -q "0 logs moved, 1 positions given" "$WORK/bad.log" || it_fail "redecoded: $(cat "$WORK/bad.log")"

# 4. Started with the new files, one log a round and a page: killed after
# the first round. Every raw row but the first the rounds take (kinds in
# address, topic0 order; positions in order) is first held on a row lock by
# another session, so the second round's move waits; the kill lands there,
# the lock goes, and the killed round (never committed) rolls back.
before=$(it_psql "$old" "SELECT count(*) FROM unknown_logs")
PGAPPNAME=redecode_lock psql "$old" -v ON_ERROR_STOP=1 -qAt -c "BEGIN" -c "
  SELECT count(*) FROM (SELECT 1 FROM unknown_logs WHERE (block_number, log_index) NOT IN (
      SELECT block_number, log_index FROM unknown_logs
      WHERE address = '\\x$MFR' OR (address = '\\x${APP#0x}' AND topic0 = '\\x${RCV#0x}')
      ORDER BY address, topic0, block_number, log_index LIMIT 1) FOR UPDATE) x" \
  -c "SELECT pg_sleep(120)" >/dev/null 2>&1 &
LOCK_PID=$!
lock_query="SELECT count(*) FROM pg_stat_activity WHERE application_name = 'redecode_lock' AND query LIKE '%pg_sleep%'"
for ((i = 0; i < 100; i++)); do
  [[ $(it_psql "$old" "$lock_query") == 1 ]] && break
  sleep 0.1
done
[[ $(it_psql "$old" "$lock_query") == 1 ]] || it_fail "the lock session did not start"
DIMO_REDECODE_ROUND=1 DIMO_REDECODE_PAGE=1 "$BIN" sync --network "$NEW" --rpc "$RPC" --db "$old" \
  --confirmations 0 --to "$head" --log-level debug >"$WORK/crash.log" 2>&1 &
SYNC_PID=$!
for ((i = 0; i < 300; i++)); do
  grep -q "round 1: 1 log(s) moved" "$WORK/crash.log" &&
    [[ $(it_psql "$old" "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'
          AND application_name <> 'redecode_lock'") -ge 1 ]] && break
  kill -0 "$SYNC_PID" 2>/dev/null || it_fail "the sync ended before the kill: $(tail -5 "$WORK/crash.log")"
  sleep 0.1
done
grep -q "round 1: 1 log(s) moved" "$WORK/crash.log" || it_fail "no first round: $(tail -5 "$WORK/crash.log")"
kill -9 "$SYNC_PID"
wait "$SYNC_PID" 2>/dev/null || true
it_psql "$old" "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'redecode_lock'" >/dev/null
wait "$LOCK_PID" 2>/dev/null || true
! grep -q "round 2:" "$WORK/crash.log" || it_fail "a second round committed before the kill"
after=$(it_psql "$old" "SELECT count(*) FROM unknown_logs")
((after == before - 1)) || it_fail "after the kill: $after raw rows, $((before - 1)) expected (one round committed)"

# 5. Started again under valgrind, two logs a round and a page: the 3 left
# (of both kinds) are moved in 2 rounds (one of them holding both kinds, a
# round written in the middle of a page, a full page followed by another)
# and re-derived; equal to the fresh index; no memory error, no leak.
command -v valgrind >/dev/null || it_fail "valgrind is not installed (scripts/setup.sh installs it)"
DIMO_REDECODE_ROUND=2 DIMO_REDECODE_PAGE=2 sync_to "$old" "$NEW" old2 valgrind --error-exitcode=9 \
  --leak-check=full --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect
grep -q "ERROR SUMMARY: 0 errors" "$WORK/old2.log" || it_fail "redecode under valgrind: $(grep -E 'ERROR SUMMARY|lost' "$WORK/old2.log")"
grep -q "unknown logs now known: 3 decoded and moved to logs in 2 round(s), 1 kept raw .*model parts re-derived: " \
  "$WORK/old2.log" || it_fail "no redecode line: $(grep -i "redecode\|unknown" "$WORK/old2.log" | tail -3)"
[[ $(it_psql "$old" "SELECT encode(data,'hex') FROM unknown_logs WHERE address = '\\x${APP#0x}'") == 0102030405 ]] ||
  it_fail "the undecodable row is not kept raw as it was"
dump "$old" "$WORK/redecoded.dump"
diff "$WORK/fresh.dump" "$WORK/redecoded.dump" >"$WORK/diff.txt" ||
  it_fail "re-decoded database differs from a fresh index: $(head -20 "$WORK/diff.txt")"
[[ $(it_psql "$old" "SELECT string_agg(attribution, ',' ORDER BY block_number, log_index) FROM admin_actions
      WHERE contract = '\\x$MFR'") == "sender,sender,called_contract,sender,called_contract" ]] ||
  it_fail "re-decoded: manufacturer attributions: $(it_psql "$old" "SELECT attribution FROM admin_actions WHERE contract = '\\x$MFR'")"

# 6. Idempotent: a third start decodes nothing (the kept row: a debug line,
# no info line) and changes nothing.
sync_to "$old" "$NEW" old3
! grep -q "unknown logs now known" "$WORK/old3.log" || it_fail "a third start re-decoded again"
LOG_LEVEL=debug sync_to "$old" "$NEW" old4
grep -q "unknown logs now known: 0 decoded .* 1 kept raw" "$WORK/old4.log" ||
  it_fail "no debug line for the kept row: $(grep -i redecode "$WORK/old4.log" | tail -3)"
dump "$old" "$WORK/again.dump"
diff -q "$WORK/fresh.dump" "$WORK/again.dump" >/dev/null || it_fail "a later start changed rows"
echo "redecode: ok ($((before - 1)) raw logs of 2 kinds decoded in 1+2 rounds across a kill -9, 1 kept raw; $(wc -l <"$WORK/fresh.dump") rows equal a fresh index; later starts do nothing)"
