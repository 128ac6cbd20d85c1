#!/usr/bin/env bash
# SACD as deployed on Polygon, on the devnet: `run` follows the chain live
# while the SACD proxy goes through its three implementations (2024 ->
# templateId -> renounce) and the Template proxy through two
# (tests/devnet/lib/sacd_upgrades.js): grants of both PermissionsSet
# generations, templated grants, a template deactivated and re-activated,
# renounces with and without a record, account grants and their renounce,
# connection grants, a payment, transfers and burns. Two reorgs: one undoes
# the templateId upgrade and everything after it (the owner and burn rules
# must move back), one undoes a template deactivation. Then every touched
# (asset, token, grantee, permission) and (grantor, grantee, permission)
# answer of dimo_access, through SQL and GET /v1/access (grantor= for
# account grants), equals the contract's own hasPermission /
# hasAccountPermission at the head and at past blocks around each upgrade
# and template change; and every derived row equals a fresh index.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

it_devnet
api_run
STATE=$WORK/sacd_state.json
steps() {
  local a=() s
  for s in "$@"; do a+=(--step "$s"); done
  node "$IT_ROOT/tests/devnet/sacd_upgrades.js" --rpc "$RPC" --network "$NET" --state "$STATE" "${a[@]}" \
    >>"$WORK/steps.log" 2>&1 || it_fail "sacd_upgrades $* failed: $(tail -5 "$WORK/steps.log")"
}
upgrades() { it_psql "$DB" "SELECT count(*) FROM sacd_upgrades WHERE role = 'sacd'"; }
check_head() { # $1: what
  local h
  h=$(it_head)
  node "$IT_ROOT/tests/devnet/access_state.js" --rpc "$RPC" --network "$NET" --block "$h" >"$WORK/head.jsonl" ||
    it_fail "access_state.js failed"
  node "$IT_ROOT/tests/integration/access_check.js" --db "$DB" --oracle "$WORK/head.jsonl" \
    >"$WORK/check.log" 2>&1 || it_fail "$1: answers differ: $(head -20 "$WORK/check.log")"
  it_log "$1: $(cat "$WORK/check.log")"
}

# 1. The templateId upgrade and its operations, then a reorg back to before it.
before=$(it_head)
steps templated ops
it_settle "$DB" 60 "after the templateId upgrade"
[[ $(upgrades) == 2 ]] || it_fail "expected the deploy's and the upgrade's Upgraded logs, got $(upgrades)"
[[ -n $(it_psql "$DB" "SELECT dimo_internal.sacd_rules_block(137, address) FROM contracts WHERE role = 'sacd'") ]] ||
  it_fail "no owner-rule block after the upgrade"
check_head "templateId upgrade"
depth=$(($(it_head) - before))
node "$IT_ROOT/tests/devnet/reorg.js" --rpc "$RPC" --network "$NET" --depth "$depth" --seed 7 >"$WORK/reorg1.json" ||
  it_fail "reorg.js failed"
it_settle "$DB" 60 "after the reorg across the upgrade"
[[ $(upgrades) == 1 ]] || it_fail "the reorg should have undone the upgrade: $(upgrades) Upgraded logs"
[[ -z $(it_psql "$DB" "SELECT dimo_internal.sacd_rules_block(137, address) FROM contracts WHERE role = 'sacd'") ]] ||
  it_fail "the owner rules survived the reorg that undid the upgrade"
check_head "reorg across the upgrade ($depth blocks)"

# 2. Again, on the new branch; a template deactivation undone by a reorg.
steps templated ops deactivate
it_settle "$DB" 60 "after the deactivation"
n=$(it_psql "$DB" "SELECT count(*) FROM sacd_grant_status WHERE status = 'template_inactive'")
((n >= 1)) || it_fail "no grant is template_inactive after the deactivation"
node "$IT_ROOT/tests/devnet/reorg.js" --rpc "$RPC" --network "$NET" --depth 3 --seed 8 >"$WORK/reorg2.json" ||
  it_fail "reorg.js failed"
it_settle "$DB" 60 "after the reorg across the deactivation"
[[ $(it_psql "$DB" "SELECT count(*) FROM sacd_template_events WHERE kind = 'deactivated'") == 0 ]] ||
  it_fail "the reorg should have undone the deactivation"
check_head "reorg across the deactivation"

# 3. The rest of the timeline.
steps deactivate activate renounce
it_settle "$DB" 60 "after the renounce upgrade"
head=$(it_head)
blocks=(--block "$head")
for back in 1 2 3 5 8 12 20 30 45 60 80 100 130 160 200 250 300 400; do
  ((head - back > 0)) && blocks+=(--block $((head - back)))
done
for b in $(it_psql "$DB" "SELECT block_number FROM sacd_upgrades UNION SELECT block_number FROM sacd_template_events
    UNION SELECT block_number FROM sacd_records WHERE generation = 3"); do
  for x in $((b - 1)) "$b"; do
    ((x > 0 && head - x < 450)) && blocks+=(--block "$x")
  done
done
mapfile -t blocks < <(printf '%s\n' "${blocks[@]}" | paste - - | sort -u -k2,2n | tr '\t' '\n')
node "$IT_ROOT/tests/devnet/access_state.js" --rpc "$RPC" --network "$NET" "${blocks[@]}" \
  --touched-to "$head" >"$WORK/oracle.jsonl" || it_fail "access_state.js failed"
# Every block through SQL; the head and the blocks of the last upgrade also
# through the API (each API answer is one request: they take the time).
node "$IT_ROOT/tests/integration/access_check.js" --db "$DB" --oracle "$WORK/oracle.jsonl" \
  >"$WORK/check.log" 2>&1 || it_fail "answers differ from the views: $(head -40 "$WORK/check.log")"
it_log "$(cat "$WORK/check.log")"
last_upgrade=$(it_psql "$DB" "SELECT max(block_number) FROM sacd_upgrades")
node -e 'const fs = require("fs"); const [f, h, u] = process.argv.slice(1);
  for (const l of fs.readFileSync(f, "utf8").split("\n").filter(Boolean)) {
    const b = JSON.parse(l).block; if (b == h || b == u || b == u - 1) console.log(l); }' \
  "$WORK/oracle.jsonl" "$head" "$last_upgrade" >"$WORK/oracle_api.jsonl"
node "$IT_ROOT/tests/integration/access_check.js" --db "$DB" --oracle "$WORK/oracle_api.jsonl" --base "$BASE" \
  >"$WORK/check.log" 2>&1 || it_fail "API answers differ: $(head -40 "$WORK/check.log")"
it_log "API: $(cat "$WORK/check.log")"
for s in renounced burned template_inactive active; do
  for k in token account connection; do
    echo "$s $k $(it_psql "$DB" "SELECT count(*) FROM sacd_grant_status WHERE status = '$s' AND kind = '$k'")"
  done
done >"$WORK/status.txt"
for want in "renounced token" "renounced account" "renounced connection" "burned token" "active account" \
  "active connection"; do
  grep -q "^$want [1-9]" "$WORK/status.txt" || it_fail "no grant is '$want': $(tr '\n' ';' <"$WORK/status.txt")"
done
[[ $(it_psql "$DB" "SELECT count(*) FROM sacd_payments") -ge 1 ]] || it_fail "no payment stored"
[[ $(it_psql "$DB" "SELECT count(*) FROM app_opted_in_vehicles v JOIN sacd_grant_status s USING (chain_id, asset, token_id)
  WHERE s.kind <> 'token'") == 0 ]] || it_fail "a connection or account grant counted as a vehicle opt-in"

kill -TERM "$RUN_PID"
wait "$RUN_PID" || it_fail "run exited $? after SIGTERM"

fresh=$(it_fresh_index fresh "$head")
for who in live fresh; do
  conn=$DB
  [[ $who == fresh ]] && conn=$fresh
  node "$IT_ROOT/tests/integration/access_check.js" --dump --db "$conn" >"$WORK/$who.dump"
done
diff "$WORK/live.dump" "$WORK/fresh.dump" >"$WORK/diff.txt" ||
  it_fail "derived rows differ from a fresh index: $(head -20 "$WORK/diff.txt")"
echo "access upgrades: ok ($(wc -l <"$WORK/live.dump") derived rows)"
