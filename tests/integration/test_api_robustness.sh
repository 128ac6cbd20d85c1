#!/usr/bin/env bash
# The HTTP server under hostile or broken clients and a database restart:
# oversized headers and bodies, slow clients, garbage, deep pipelining, a
# connection flood beyond --http-max-conns (api_robustness.js), each
# answered with an error or a close while other clients keep being served;
# then PostgreSQL stopped under the API (503, /readyz 503, /healthz 200) and
# started again (the API recovers by itself).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MAX_CONNS=20
TIMEOUT_MS=1500
it_pg
it_chain
it_deploy
node "$IT_ROOT/tests/devnet/scenario.js" --rpc "$RPC" --network "$NET" >"$WORK/scenario.log"
api_run --http-max-conns "$MAX_CONNS" --http-timeout "$TIMEOUT_MS"
it_log "API on $BASE"
KEY=$(curl -sf "$BASE/v1/apps/weather-app-v2" | node -e '
  let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).client_id))')

node "$IT_ROOT/tests/integration/api_robustness.js" --base "$BASE" --max-conns "$MAX_CONNS" \
  --timeout-ms "$TIMEOUT_MS" --key "$KEY" || it_fail "robustness checks failed"
kill -0 "$RUN_PID" || it_fail "the daemon died: $(tail -5 "$WORK/run.log")"

# Status code and body of one request.
status_of() { curl -s -o "$WORK/body" -w '%{http_code}' "$BASE$1"; }

# The database goes away: 503 with a reason (not a hang), readiness 503,
# liveness 200. Block numbers not asked before, so no cached answer hides it.
it_log "stopping PostgreSQL"
bash "$IT_ROOT/scripts/pg.sh" stop "$IT_PG_DIR" >/dev/null
head=$(it_head)
for b in 1 2 3; do
  code=$(status_of "/v1/apps/$KEY?at_block=$((head - b))")
  [[ $code == 503 ]] || it_fail "database down: /v1/apps answered $code: $(cat "$WORK/body")"
  grep -q '"error":"database unavailable"' "$WORK/body" || it_fail "503 body: $(cat "$WORK/body")"
done
code=$(status_of "/readyz")
[[ $code == 503 ]] || it_fail "database down: /readyz answered $code"
grep -q '"database":"unavailable"' "$WORK/body" || it_fail "/readyz body: $(cat "$WORK/body")"
[[ $(status_of /healthz) == 200 ]] || it_fail "database down: /healthz is not 200"
start=$(date +%s%N)
code=$(status_of "/v1/apps/$KEY?at_block=$((head - 4))")
ms=$((($(date +%s%N) - start) / 1000000))
((ms < 1000)) || it_fail "a 503 took ${ms} ms: it should fail fast"
curl -s -D "$WORK/headers" -o /dev/null "$BASE/v1/apps/$KEY?at_block=$((head - 5))"
grep -qi '^retry-after: 1' "$WORK/headers" || it_fail "503 without Retry-After"

# It comes back: the API reconnects by itself, within its backoff.
it_log "starting PostgreSQL again"
bash "$IT_ROOT/scripts/pg.sh" start "$IT_PG_DIR" >/dev/null
ok=0
for ((i = 0; i < 150; i++)); do
  if [[ $(status_of "/v1/apps/$KEY?at_block=$((head - 6))") == 200 ]]; then
    ok=1
    break
  fi
  sleep 0.1
done
((ok)) || it_fail "the API did not recover within 15 s: $(cat "$WORK/body")"
it_log "API answers again after $((i / 10)).$((i % 10)) s"
for ((i = 0; i < 300; i++)); do
  [[ $(status_of /readyz) == 200 ]] && break
  sleep 0.1
done
[[ $(status_of /readyz) == 200 ]] || it_fail "/readyz did not recover: $(cat "$WORK/body")"
# Every pooled connection reconnects on its own backoff (at most 5 s apart),
# so the last ones may come back a few seconds after the first answer.
for ((i = 0; i < 150; i++)); do
  curl -s "$BASE/metrics" >"$WORK/metrics"
  grep -Eq '^dimo_db_pool_up 4$' "$WORK/metrics" && break
  sleep 0.1
done
grep -Eq '^dimo_db_pool_lost_total [1-9]' "$WORK/metrics" || it_fail "lost connections not counted"
grep -Eq '^dimo_db_pool_up 4$' "$WORK/metrics" || it_fail "pool not back to 4 within 15 s: $(grep pool_up "$WORK/metrics")"
grep -Eq '^dimo_http_requests_total\{route="/v1/apps/\{id\}",code="503"\} [1-9]' "$WORK/metrics" ||
  it_fail "503s not counted"
kill -0 "$RUN_PID" || it_fail "the daemon died"
echo "api robustness: ok"
