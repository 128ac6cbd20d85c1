#!/usr/bin/env bash
# Nothing unknown passes silently (issue #22 item 2): on the devnet, the app
# license contract logs UpdateReceiverAddress, an event abi/ leaves out on
# purpose, and the SACD and Template proxies log Upgraded at deployment.
# `run` follows the chain live; then:
#   - the unknown log is stored raw (unknown_logs), counted per (contract,
#     topic0), warned once per pair however often it comes, shown by
#     `status`, /metrics and GET /v1/unknown-events; nothing else is lost:
#     every log of every contract asked unfiltered is in `logs` or
#     unknown_logs;
#   - the Upgraded logs are the implementation history in `status` and
#     GET /v1/upgrades;
#   - a reorg that removes an unknown log removes its row and its count, and
#     the database equals a fresh index of the canonical chain.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

it_pg
it_chain
it_deploy
CAST=$IT_ROOT/node_modules/.bin/cast
KEY=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80 # anvil account 0: the admin
net() { node -e "const n=require('$NET');$1"; }
APP=$(net "console.log(n.contracts.find((c)=>c.role==='app_license'&&c['x-scenario']!==false).address.toLowerCase())")
ADMIN=$(net "console.log(n['x-admin'].toLowerCase())")
SACD=$(net "console.log(n.contracts.find((c)=>c.role==='sacd').address.toLowerCase())")
T0=$("$CAST" keccak 'UpdateReceiverAddress(address)')
UPGRADED=0xbc7cd75a20ee27fd9adebab32041f755214dbc6bffa90cc0225b39da2e5c2d3b
unknown_tx() { "$CAST" send -q --rpc-url "$RPC" --private-key "$KEY" "$APP" 'setReceiverAddress(address)' "$ADMIN"; }

unknown_tx
api_run --log-level info
n=$(it_psql "$DB" "SELECT count(*) FROM unknown_logs")
[[ $n == 1 ]] || it_fail "expected 1 unknown log stored, got $n"
row=$(it_psql "$DB" "SELECT role, encode(address,'hex'), encode(topic0,'hex'), encode(data,'hex')
  FROM unknown_logs")
[[ $row == "app_license|${APP#0x}|${T0#0x}|000000000000000000000000${ADMIN#0x}" ]] ||
  it_fail "unknown log stored as $row"

# Nothing else lost: per contract asked unfiltered, the chain's logs are
# the stored ones plus the unknown ones.
head=$(it_head)
for c in $(net "for (const c of n.contracts) if (!['dimo_token','vehicle','node_registry'].includes(c.role)) console.log(c.address.toLowerCase())"); do
  chain=$(it_rpc eth_getLogs "[{\"address\":\"$c\",\"fromBlock\":\"0x0\",\"toBlock\":\"$(printf '0x%x' "$head")\"}]" |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).result.length))')
  stored=$(it_psql "$DB" "SELECT (SELECT count(*) FROM logs WHERE address = '\\x${c#0x}')
    + (SELECT count(*) FROM unknown_logs WHERE address = '\\x${c#0x}')")
  [[ $chain == "$stored" ]] || it_fail "contract $c: $chain logs on chain, $stored stored"
done

# The same pair again, in a later batch: counted, not warned again.
unknown_tx
it_settle "$DB" 30
warned=$(grep -c "contract app_license $APP emitted topic0 $T0 unknown to its ABI, first at block" "$WORK/run.log" || true)
[[ $warned == 1 ]] || it_fail "warned $warned times about the pair (once wanted): $(grep -c unknown "$WORK/run.log")"

"$BIN" status --network "$NET" --db "$DB" >"$WORK/status.txt"
grep -q "^    app_license $APP topic0 $T0: 2 log(s)" "$WORK/status.txt" ||
  it_fail "status lacks the unknown pair: $(cat "$WORK/status.txt")"
grep -q "^    sacd $SACD implementation 0x[0-9a-f]\{40\} at block [0-9]* (tx 0x" "$WORK/status.txt" ||
  it_fail "status lacks SACD's Upgraded: $(cat "$WORK/status.txt")"

got=$(it_json "$BASE/v1/unknown-events?contract=$APP&limit=1" \
  '[j.events.length, j.events[0].topic0, j.events[0].role, j.counts[0].count, j.counts[0].topic0, j.next !== null].join(" ")')
[[ $got == "1 $T0 app_license 2 $T0 true" ]] || it_fail "/v1/unknown-events answered: $got"
next=$(it_json "$BASE/v1/unknown-events?contract=$APP&limit=1" 'j.next')
got=$(it_json "$BASE/v1/unknown-events?after=$next" '[j.events.length, j.next].join(" ")')
[[ $got == "1 " ]] || it_fail "/v1/unknown-events second page: $got"
code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/v1/unknown-events?topic0=0x12")
[[ $code == 400 ]] || it_fail "a malformed topic0 answered $code"
got=$(it_json "$BASE/v1/upgrades?contract=$SACD" \
  'j.upgrades.map((u)=>[u.role,u.kind,/^0x[0-9a-f]{40}$/.test(u.implementation)].join(",")).join(" ")')
[[ $got == sacd,implementation,true* ]] || it_fail "/v1/upgrades answered: $got"
ups=$(it_psql "$DB" "SELECT count(*) FROM logs WHERE topic0 = '\\x${UPGRADED#0x}'")
total=$(it_json "$BASE/v1/upgrades" 'j.upgrades.length')
[[ $total == "$ups" && $ups -ge 2 ]] || it_fail "/v1/upgrades lists $total, logs hold $ups Upgraded"
got=$(it_json "$BASE/v1/upgrades" 'String(j.complete_from_block)')
[[ $got == null ]] || it_fail "a database indexed from 013 on says complete from block $got"
curl -s "$BASE/metrics" >"$WORK/metrics.txt"
grep -q "^dimo_unknown_events{contract=\"$APP\",role=\"app_license\",topic0=\"$T0\"} 2$" "$WORK/metrics.txt" ||
  it_fail "/metrics: $(grep unknown "$WORK/metrics.txt")"

# A reorg that drops the block of the second unknown log: its row and count go.
it_rpc anvil_reorg '[1, []]' >/dev/null
it_rpc anvil_mine '["0x2","0x2"]' >/dev/null
it_settle "$DB" 30
grep -q "reorg: rolled back" "$WORK/run.log" || it_fail "the reorg was not seen"
n=$(it_psql "$DB" "SELECT count FROM dimo_unknown_event_counts(137)")
[[ $n == 1 ]] || it_fail "after the reorg the pair counts $n (1 wanted)"
"$BIN" status --network "$NET" --db "$DB" | grep -q "^    app_license $APP topic0 $T0: 1 log(s)" ||
  it_fail "status after the reorg: $("$BIN" status --network "$NET" --db "$DB" | grep -A2 unknown)"
kill -TERM "$RUN_PID"
wait "$RUN_PID" || it_fail "run exited $? after SIGTERM"

it_dump "$DB" "$WORK/live.dump"
fresh=$(it_fresh_index fresh "$head")
it_dump "$fresh" "$WORK/fresh.dump"
diff "$WORK/live.dump" "$WORK/fresh.dump" >"$WORK/diff.txt" ||
  it_fail "database differs from a fresh index: $(head -20 "$WORK/diff.txt")"

# A database indexed before 013 (topic-filtered below its cursor): 016
# marks the block from which unknown logs and upgrades are complete, and
# `status` and both routes say it.
it_psql "$DB" "DROP TABLE unfiltered_coverage; DELETE FROM schema_migrations WHERE version = 16" >/dev/null
"$BIN" migrate --db "$DB" >"$WORK/migrate16.log" 2>&1 || it_fail "migrate: $(tail -3 "$WORK/migrate16.log")"
from=$(($(it_cursor "$DB") + 1))
"$BIN" status --network "$NET" --db "$DB" | grep -q "^coverage:  unknown logs and upgrades are complete from block $from only" ||
  it_fail "status lacks the coverage line: $("$BIN" status --network "$NET" --db "$DB" | grep -i cover)"
got=$(it_psql "$DB" "SELECT dimo_unknown_events_page(137, NULL, NULL, NULL, 5) ->> 'complete_from_block'")
[[ $got == "$from" ]] || it_fail "unknown-events says complete from $got ($from wanted)"
got=$(it_psql "$DB" "SELECT dimo_upgrades_page(137, NULL, NULL, 5) ->> 'complete_from_block'")
[[ $got == "$from" ]] || it_fail "upgrades says complete from $got ($from wanted)"
echo "unknown events: ok (stored, counted, warned once, status, API, metrics, reorg, coverage)"
