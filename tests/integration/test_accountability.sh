#!/usr/bin/env bash
# Accountability for auditors (issue #25; accountability_check.js does the
# checks): with `run` following the devnet live, the accountability
# scenario grants and revokes roles, acts as a direct admin, through a
# multisig-style forwarder and through two levels of forwarding, has a
# revoked admin's call revert, and withdraws stray DIMO. Executors, roles
# and books are checked against the scenario's record and the contracts'
# views at the head and at past blocks; then a reorg removes the last
# blocks (an adminWithdraw through the forwarder among them) and the same
# checks run on what is left; finally the accountability rows equal a
# fresh index of the canonical chain, also when indexed in backfill through
# a provider that drops or falsifies some transactions (their ranges are
# thrown away and asked again). The manufacturer license (the 2022 Stake,
# DEFAULT_ADMIN_ROLE on every admin call) has its actions attributed like
# the app license's: to the deployer as the sender, or to the Safe stand-in
# as the called contract with its owner as `via`; its mint is an action.
# A database whose senders were never fetched gets them at the next start
# (the catch-up), and one derived under the old belief (015: no roles) is
# re-derived when accountability.sql changes.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

it_pg
it_chain
it_deploy
api_run
# The manufacturer license's admin actions first (by the deployer and
# through the Safe stand-in), so that the reorg below removes only the app
# scenario's.
node "$IT_ROOT/tests/integration/manufacturer_admin.js" --rpc "$RPC" --network "$NET" --out "$WORK/mfr.json" \
  >"$WORK/mfr.log" 2>&1 || it_fail "manufacturer admin actions failed: $(tail -5 "$WORK/mfr.log")"
it_log "$(tail -1 "$WORK/mfr.log")"
node "$IT_ROOT/tests/devnet/accountability.js" --rpc "$RPC" --network "$NET" --out "$WORK/oracle.json" \
  >"$WORK/scenario.log" 2>&1 || it_fail "scenario failed: $(tail -5 "$WORK/scenario.log")"
it_log "$(tail -1 "$WORK/scenario.log")"
it_settle "$DB" 60 "after the scenario"
it_wait_cursor "$DB" "$head" 30
check() {
  node "$IT_ROOT/tests/integration/accountability_check.js" --db "$DB" --rpc "$RPC" --network "$NET" \
    --oracle "$WORK/oracle.json" --mfr "$WORK/mfr.json" --base "$BASE" --bin "$BIN" "$@" >"$WORK/checks.log" 2>&1 ||
    it_fail "accountability checks failed: $(tail -25 "$WORK/checks.log") (run log: $(tail -3 "$WORK/run.log"))"
  it_log "$(tail -1 "$WORK/checks.log")"
}
check
# The CLI's text: every license contract's books, the manufacturer's actions by their executors.
mfr_field() { node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1]))[process.argv[2]].toLowerCase())' "$WORK/mfr.json" "$1"; }
MFR=$(mfr_field contract)
SAFE=$(mfr_field safe)
SAFE_OWNER=$(mfr_field safeOwner)
"$BIN" audit books --db "$DB" --network "$NET" >"$WORK/books.txt" || it_fail "audit books failed"
nlic=$(it_psql "$DB" "SELECT count(*) FROM contracts WHERE role IN ('app_license', 'manufacturer_license')")
[[ $(grep -c '^books of 0x' "$WORK/books.txt") == "$nlic" ]] || it_fail "audit books: not $nlic contracts: $(head -5 "$WORK/books.txt")"
grep -q "^books of ${MFR,,} (manufacturer_license, as of block" "$WORK/books.txt" || it_fail "audit books: no manufacturer"
"$BIN" audit actions "$MFR" --db "$DB" --network "$NET" >"$WORK/mfr.txt" || it_fail "audit actions failed"
[[ $(grep -c "mint\|emergency_withdrawal\|unstake\|setting\|revoke" "$WORK/mfr.txt") == 5 &&
   $(grep -c "by 0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266 (DEFAULT_ADMIN_ROLE)" "$WORK/mfr.txt") == 3 &&
   $(grep -c "by $SAFE (DEFAULT_ADMIN_ROLE) via $SAFE_OWNER" "$WORK/mfr.txt") == 2 ]] ||
  it_fail "audit actions (manufacturer): $(cat "$WORK/mfr.txt")"
"$BIN" audit books 0x1111111111111111111111111111111111111111 --db "$DB" --network "$NET" >/dev/null 2>&1 &&
  it_fail "audit books of no license contract succeeded"

# A reorg of the last 3 blocks: the second stray transfer, the adminWithdraw
# through the forwarder and the third stray transfer are gone.
before=$(it_psql "$DB" "SELECT count(*) FROM tx_senders")
it_rpc anvil_reorg '[3, []]' >/dev/null || it_fail "anvil_reorg failed"
keep=$(($(it_head) - 3))
it_settle "$DB" 60 "after the reorg"
it_wait_cursor "$DB" "$head" 30
check --keep "$keep"
after=$(it_psql "$DB" "SELECT count(*) FROM tx_senders")
((after == before - 1)) || it_fail "expected the reorg to remove one sender row ($before -> $after)"
rolled=$(grep -c "rolled back" "$WORK/run.log" || true)
((rolled >= 1)) || it_fail "expected a rollback, saw none"

kill -TERM "$RUN_PID"
wait "$RUN_PID" || it_fail "run exited $? after SIGTERM: $(tail -5 "$WORK/run.log")"
fresh=$(it_fresh_index fresh "$head")
dump() {
  it_psql "$1" "SELECT 'a', block_number, log_index, encode(tx_hash,'hex'), action, token_id, amount, detail::text,
      encode(gating_role,'hex'), encode(tx_from,'hex'), encode(tx_to,'hex'), encode(by_address,'hex'),
      encode(via,'hex'), attribution FROM admin_actions ORDER BY block_number, log_index"
  it_psql "$1" "SELECT 'r', block_number, log_index, kind, encode(role,'hex'), encode(account,'hex'),
      encode(sender,'hex') FROM role_events ORDER BY block_number, log_index"
  it_psql "$1" "SELECT 't', block_number, log_index, encode(contract,'hex'), direction, kind, amount,
      encode(counterparty,'hex') FROM token_flows ORDER BY block_number, log_index, contract, direction"
  it_psql "$1" "SELECT 's', block_number, log_index, encode(tx_hash,'hex'), encode(from_address,'hex'),
      encode(to_address,'hex') FROM tx_senders ORDER BY block_number, log_index"
}
dump "$DB" >"$WORK/live.dump"
dump "$fresh" >"$WORK/fresh.dump"
diff "$WORK/live.dump" "$WORK/fresh.dump" >"$WORK/diff.txt" ||
  it_fail "accountability rows differ from a fresh index: $(head -20 "$WORK/diff.txt")"

# The senders through a lying provider, in backfill: past the reorg window
# (empty blocks mined on top), small ranges, several in flight. A missing
# transaction and one whose block differs from its logs' throw their range
# away; it is asked again, and the rows still equal the fresh index.
it_rpc anvil_mine '["0x90","0x1"]' >/dev/null
top=$(it_head)
lied_sync() { # lied_sync NAME LIE: a sync through a proxy telling LIE twice equals the fresh index
  local conn told
  it_proxy "$1" "--${2//_/-}" 2
  conn=$(it_newdb "$1")
  "$BIN" sync --network "$NET" --rpc "$PROXY" --db "$conn" --confirmations 0 --to "$top" \
    --initial-range 8 --max-range 8 --max-inflight 4 >"$WORK/$1.log" 2>&1 ||
    it_fail "$1: sync through the lying proxy failed: $(tail -5 "$WORK/$1.log")"
  told=$(curl -sf "$PROXY/__stats" |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).modes[process.argv[1]]))' "$2")
  it_proxy_stop
  ((told == 2)) || it_fail "$1: expected the lie told twice, saw $told"
  dump "$conn" >"$WORK/$1.dump"
  diff "$WORK/fresh.dump" "$WORK/$1.dump" >"$WORK/$1.diff" ||
    it_fail "$1: rows through the lying provider differ from a fresh index: $(head -20 "$WORK/$1.diff")"
}
lied_sync missing drop_tx
grep -q "inconsistent node answer (transaction of an admin action .* not found" "$WORK/missing.log" ||
  it_fail "missing: no range thrown away for a missing transaction: $(tail -5 "$WORK/missing.log")"
lied_sync contra lie_tx_block
grep -q "inconsistent node answer (a transaction's hash or block differs" "$WORK/contra.log" ||
  it_fail "contra: no range thrown away for a contradicting transaction: $(tail -5 "$WORK/contra.log")"
thrown=$(cat "$WORK/missing.log" "$WORK/contra.log" | grep -c "inconsistent node answer (.*transaction")
# A database indexed before the senders were kept (before 010, or 015 for
# the manufacturer license): its actions have no sender. Restarting fetches
# them (the catch-up, at start), once: the rows equal the fresh index again,
# and a second start finds nothing to do.
it_psql "$fresh" "DELETE FROM tx_senders; UPDATE admin_actions SET tx_from = NULL, tx_to = NULL,
  by_address = NULL, via = NULL, attribution = 'not_fetched'" >/dev/null
nulled=$(it_psql "$fresh" "SELECT count(*) FROM admin_actions WHERE attribution = 'not_fetched'")
((nulled > 0)) || it_fail "catch-up: no action to null"
catchup() {
  "$BIN" sync --network "$NET" --rpc "$RPC" --db "$fresh" --confirmations 0 --to "$head" >"$WORK/$1.log" 2>&1 ||
    it_fail "catch-up: sync failed: $(tail -5 "$WORK/$1.log")"
}
catchup catchup1
grep -q "senders' catch-up: [0-9]* admin transaction(s) fetched in 1 round(s), $nulled action(s) attributed" \
  "$WORK/catchup1.log" || it_fail "catch-up: no log line: $(grep -i catch-up "$WORK/catchup1.log" | tail -3)"
dump "$fresh" >"$WORK/caught.dump"
diff "$WORK/fresh.dump" "$WORK/caught.dump" >"$WORK/caught.diff" ||
  it_fail "catch-up: rows differ from the fresh index: $(head -20 "$WORK/caught.diff")"
catchup catchup2
! grep -q "senders' catch-up: " "$WORK/catchup2.log" || it_fail "catch-up: a second start fetched again"
dump "$fresh" | diff -q "$WORK/fresh.dump" - >/dev/null || it_fail "catch-up: a second start changed rows"
# A database derived under 015's belief (the manufacturer license without
# roles: its actions 'sender_only' with no gating role, no mint, no role
# history, the senders of its mints never asked): its accountability.sql is
# older than this one. Simulated on the fresh index: the manufacturer's
# rows and senders go, 015's own derivation runs again ('not_fetched', no
# gating role), and the file is marked stale. The next start re-applies the
# file, which re-derives the part (the manufacturer's 5 actions, now gated
# by DEFAULT_ADMIN_ROLE, 'not_fetched'), and the catch-up fetches their
# senders: the rows equal the fresh index again.
mfr=$(it_psql "$fresh" "DELETE FROM admin_actions a USING contracts c WHERE c.chain_id = a.chain_id
  AND c.address = a.contract AND c.role = 'manufacturer_license' RETURNING 1" | wc -l)
((mfr == 5)) || it_fail "expected the 5 manufacturer actions, deleted $mfr"
it_psql "$fresh" "DELETE FROM tx_senders s WHERE NOT EXISTS (SELECT 1 FROM admin_actions a
  WHERE a.chain_id = s.chain_id AND a.block_number = s.block_number AND a.tx_hash = s.tx_hash);
  DELETE FROM role_events e USING contracts c WHERE c.chain_id = e.chain_id AND c.address = e.contract
    AND c.role = 'manufacturer_license'" >/dev/null
# (015 calls its helpers by their names before 017 moved them to
# dimo_internal: dimo_ plus _x is now dimo_internal.x.)
sed -n '/^INSERT INTO admin_actions/,$p' "$IT_ROOT/schema/015_manufacturer_admin.sql" |
  sed -E 's/\bdimo_{2}/dimo_internal./g' >"$WORK/015.sql"
psql "$fresh" -v ON_ERROR_STOP=1 -q -f "$WORK/015.sql" >/dev/null || it_fail "015's derivation failed"
[[ $(it_psql "$fresh" "SELECT count(*) FROM admin_actions a JOIN contracts c ON c.chain_id = a.chain_id
  AND c.address = a.contract AND c.role = 'manufacturer_license' WHERE a.gating_role IS NULL") == 4 ]] ||
  it_fail "015's derivation: not 4 actions without a gating role"
it_psql "$fresh" "UPDATE schema_repeatables SET checksum = 'stale' WHERE name = 'accountability.sql'" >/dev/null
catchup catchup3
grep -q "applied functions/accountability.sql" "$WORK/catchup3.log" ||
  it_fail "after 015: accountability.sql not re-applied: $(tail -5 "$WORK/catchup3.log")"
grep -q "senders' catch-up: 5 admin transaction(s) fetched in 1 round(s), 5 action(s) attributed" \
  "$WORK/catchup3.log" || it_fail "catch-up after 015: $(grep -i catch-up "$WORK/catchup3.log" | tail -3)"
dump "$fresh" | diff "$WORK/fresh.dump" - >"$WORK/015.diff" ||
  it_fail "015 + re-derive + catch-up: rows differ from the fresh index: $(head -20 "$WORK/015.diff")"
echo "accountability: ok ($(wc -l <"$WORK/live.dump") rows equal a fresh index, $rolled rollback(s), $thrown lies about senders thrown away, $nulled actions caught up)"
