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
# fresh index of the canonical chain.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

it_pg
it_chain
it_deploy
api_run
node "$IT_ROOT/tests/devnet/accountability.js" --rpc "$RPC" --network "$NET" --out "$WORK/oracle.json" \
  >"$WORK/scenario.log" 2>&1 || it_fail "scenario failed: $(tail -5 "$WORK/scenario.log")"
it_log "$(tail -1 "$WORK/scenario.log")"
it_settle "$DB" 60 "after the scenario"
it_wait_cursor "$DB" "$head" 30
check() {
  node "$IT_ROOT/tests/integration/accountability_check.js" --db "$DB" --rpc "$RPC" --network "$NET" \
    --oracle "$WORK/oracle.json" --base "$BASE" --bin "$BIN" "$@" >"$WORK/checks.log" 2>&1 ||
    it_fail "accountability checks failed: $(tail -25 "$WORK/checks.log") (run log: $(tail -3 "$WORK/run.log"))"
  it_log "$(tail -1 "$WORK/checks.log")"
}
check

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
echo "accountability: ok ($(wc -l <"$WORK/live.dump") rows equal a fresh index, $rolled rollback(s))"
