#!/usr/bin/env bash
# Raw logs that the loaded ABIs now decode (indexer/redecode.c): a database
# indexed with the manufacturer license's ABI file as it was before #25's
# correction (no AccessControl events) holds that contract's RoleGranted
# logs raw in unknown_logs, no role history for it, and its actions
# attributed to no one. Started with today's ABI, `sync` decodes them with
# the indexer's own decoder, moves them to `logs` and re-derives the parts
# that read them, in one transaction, saying so in one line; the database
# then equals a fresh index of the same chain (logs, unknown logs, cursor,
# the accountability rows and the license model), and a second start finds
# nothing to do and changes nothing. The redecoding start runs under
# valgrind (no memory error, no leak).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

it_pg
it_chain
it_deploy
node "$IT_ROOT/tests/integration/manufacturer_admin.js" --rpc "$RPC" --network "$NET" --out "$WORK/mfr.json" \
  >"$WORK/mfr.log" 2>&1 || it_fail "manufacturer admin actions failed: $(tail -5 "$WORK/mfr.log")"
it_log "$(tail -1 "$WORK/mfr.log")"
head=$(it_head)

# The old network file: the same contracts, the manufacturer's ABI without
# RoleGranted / RoleRevoked / RoleAdminChanged (the file before #25's fix),
# beside the network file (an "abi" is looked up there first).
mkdir -p "$WORK/old"
node -e '
  const fs = require("fs");
  const [abi, net, dir] = process.argv.slice(1);
  const old = JSON.parse(fs.readFileSync(abi)).filter((e) => !/^Role(Granted|Revoked|AdminChanged)$/.test(e.name));
  fs.writeFileSync(dir + "/ManufacturerLicenseStakeBefore.json", JSON.stringify(old, null, 2));
  const n = JSON.parse(fs.readFileSync(net));
  for (const c of n.contracts) if (c.role === "manufacturer_license") c.abi = "ManufacturerLicenseStakeBefore.json";
  fs.writeFileSync(dir + "/network.json", JSON.stringify(n, null, 2));
' "$IT_ROOT/abi/ManufacturerLicenseStake.json" "$NET" "$WORK/old"

MFR=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).contract.slice(2).toLowerCase())' "$WORK/mfr.json")
sync_to() { # sync_to CONN NETWORK LOGNAME [WRAPPER...]
  local conn=$1 net=$2 name=$3
  shift 3
  "$@" "$BIN" sync --network "$net" --rpc "$RPC" --db "$conn" --confirmations 0 --to "$head" >"$WORK/$name.log" 2>&1 ||
    it_fail "$name: sync failed: $(tail -5 "$WORK/$name.log")"
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

# 1. Indexed with the old file: the role logs are raw, the actions unattributed.
old=$(it_newdb old)
sync_to "$old" "$WORK/old/network.json" old1
raw=$(it_psql "$old" "SELECT count(*) FROM unknown_logs WHERE address = '\\x$MFR'")
((raw == 2)) || it_fail "old ABI: expected the 2 RoleGranted logs raw, found $raw"
[[ $(it_psql "$old" "SELECT count(*) FROM role_events WHERE contract = '\\x$MFR'") == 0 ]] ||
  it_fail "old ABI: role history of the manufacturer without its role logs"
[[ $(it_psql "$old" "SELECT count(*) FROM admin_actions WHERE contract = '\\x$MFR' AND attribution <> 'unattributed'") == 0 ]] ||
  it_fail "old ABI: a manufacturer action attributed without role history"
! grep -q "unknown logs now known" "$WORK/old1.log" || it_fail "old ABI: something was re-decoded"

# 2. The reference: a fresh index with today's ABI.
fresh=$(it_fresh_index fresh "$head")
[[ $(it_psql "$fresh" "SELECT count(*) FROM unknown_logs WHERE address = '\\x$MFR'") == 0 ]] ||
  it_fail "fresh index: manufacturer logs left raw"
dump "$fresh" "$WORK/fresh.dump"
dump "$old" "$WORK/old.dump"
diff -q "$WORK/old.dump" "$WORK/fresh.dump" >/dev/null && it_fail "the old index already equals the fresh one"

# 3. Started with today's file: decoded, moved, re-derived; equal to the fresh
# index. Under valgrind: no memory error, no leak on the redecode path.
command -v valgrind >/dev/null || it_fail "valgrind is not installed (scripts/setup.sh installs it)"
sync_to "$old" "$NET" old2 valgrind --error-exitcode=9 --leak-check=full \
  --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect
grep -q "ERROR SUMMARY: 0 errors" "$WORK/old2.log" || it_fail "redecode under valgrind: $(grep -E 'ERROR SUMMARY|lost' "$WORK/old2.log")"
grep -q "unknown logs now known: 2 decoded and moved to logs in 1 round(s), 0 kept raw .*model parts re-derived: accountability" \
  "$WORK/old2.log" || it_fail "no redecode line: $(grep -i "redecode\|unknown" "$WORK/old2.log" | tail -3)"
dump "$old" "$WORK/redecoded.dump"
diff "$WORK/fresh.dump" "$WORK/redecoded.dump" >"$WORK/diff.txt" ||
  it_fail "re-decoded database differs from a fresh index: $(head -20 "$WORK/diff.txt")"
[[ $(it_psql "$old" "SELECT string_agg(attribution, ',' ORDER BY block_number, log_index) FROM admin_actions
      WHERE contract = '\\x$MFR'") == "sender,sender,called_contract,sender,called_contract" ]] ||
  it_fail "re-decoded: manufacturer attributions: $(it_psql "$old" "SELECT attribution FROM admin_actions WHERE contract = '\\x$MFR'")"

# 4. Idempotent: a second start finds nothing to do and changes nothing.
sync_to "$old" "$NET" old3
! grep -q "unknown logs now known" "$WORK/old3.log" || it_fail "a second start re-decoded again"
dump "$old" "$WORK/again.dump"
diff -q "$WORK/fresh.dump" "$WORK/again.dump" >/dev/null || it_fail "a second start changed rows"
echo "redecode: ok ($raw role logs decoded at start; $(wc -l <"$WORK/fresh.dump") rows equal a fresh index; a second start does nothing)"
