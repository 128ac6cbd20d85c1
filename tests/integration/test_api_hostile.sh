#!/usr/bin/env bash
# Hostile clients (issue 24), through the real binary:
#   - crafted requests (api_hostile.js): cache keys that cannot collide,
#     token id 2^256 a 400 on every route, HTTP/9.9 (505) and a request
#     line without a version (400), no library internals in error texts,
#     page cursors refused before SQL (none reaches the PostgreSQL log);
#   - slow readers (api_slow_readers.js): 500 connections pipelining a
#     190 KB page and never reading: RSS stays under a bound, /healthz
#     stays fast from another client, the server serves normally after;
#     then, with --http-max-output at 2 MiB, 200 connections each asking
#     pages of their own (20 distinct ones, nothing shared between
#     connections): the cap closes the worst and refuses what does not
#     fit, memory stays bounded, the server serves after;
#   - a POST flood (api_post_flood.js, audit6 H8): under the same 2 MiB
#     cap, 200 connections each pipelining 16 verify bodies of 60 KB and
#     never reading: bodies that do not fit are refused 503 (the worst
#     connection closed), RSS stays under a bound derived from the cap,
#     a real verify gets the same answer afterwards;
#   - a database whose schema is newer than the binary (a future row in
#     schema_migrations) is refused by run, sync, migrate, status, license,
#     verify and access, with a message saying so.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CONNS=${SLOW_CONNS:-500}
RSS_MAX_MB=${RSS_MAX_MB:-128}
# Extra `run` options (e.g. a small --http-max-output to drive the closing
# path, with a sanitizer build in DIMO_INDEXER).
read -r -a run_args <<<"${HOSTILE_RUN_ARGS:-}"
it_pg
it_chain
it_deploy
node "$IT_ROOT/tests/devnet/scenario.js" --rpc "$RPC" --network "$NET" >"$WORK/scenario.log"
# About 300 licenses: a page of 1,000 is then about 190 KB.
node "$IT_ROOT/tests/integration/api_hostile.js" issue --rpc "$RPC" --network "$NET" --licenses 300 ||
  it_fail "issuing licenses failed"
api_run "${run_args[@]}"
it_log "API on $BASE"
KEY=$(curl -sf "$BASE/v1/apps/weather-app-v2" | node -e '
  let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).client_id))')

pglog="$IT_PG_DIR/postgres.log"
cursor_errors_before=$(grep -c 'malformed page cursor' "$pglog" || true)
node "$IT_ROOT/tests/integration/api_hostile.js" check --base "$BASE" --key "$KEY" ||
  it_fail "hostile request checks failed"
cursor_errors=$(($(grep -c 'malformed page cursor' "$pglog" || true) - cursor_errors_before))
((cursor_errors == 0)) || it_fail "$cursor_errors malformed page cursors reached PostgreSQL"
kill -0 "$RUN_PID" || it_fail "the daemon died: $(tail -5 "$WORK/run.log")"

it_log "slow readers: $CONNS connections (load: $(cut -d' ' -f1-3 /proc/loadavg))"
node "$IT_ROOT/tests/integration/api_slow_readers.js" --base "$BASE" --pid "$RUN_PID" --conns "$CONNS" \
  --pipeline 64 --path '/v1/licenses?limit=1000' --seconds 8 --rss-max-mb "$RSS_MAX_MB" \
  --healthz-max-ms 100 || it_fail "slow readers: $(tail -3 "$WORK/run.log")"
kill -0 "$RUN_PID" || it_fail "the daemon died: $(tail -5 "$WORK/run.log")"

kill -TERM "$RUN_PID"
wait "$RUN_PID" 2>/dev/null || true
mv "$WORK/run.log" "$WORK/run1.log"
api_run --http-max-output 2097152 "${run_args[@]}"
it_log "slow readers, pages of their own, --http-max-output 2 MiB (load: $(cut -d' ' -f1-3 /proc/loadavg))"
node "$IT_ROOT/tests/integration/api_slow_readers.js" --base "$BASE" --pid "$RUN_PID" --conns 200 \
  --pipeline 64 --path '/v1/licenses?class=app' --vary 20 --max-output 2097152 --seconds 6 \
  --rss-max-mb "$RSS_MAX_MB" --healthz-max-ms 250 --expect-refusals 1 ||
  it_fail "slow readers (distinct pages): $(tail -3 "$WORK/run.log")"
kill -0 "$RUN_PID" || it_fail "the daemon died: $(tail -5 "$WORK/run.log")"
grep -q 'answers held for slow clients reached' "$WORK/run.log" || it_fail "no log line for the cap"

# POST bodies count under the same cap (audit6 H8): 200 connections each
# pipeline 16 verify bodies of 60 KB (192 MB) and never read.
cast="$IT_ROOT/node_modules/.bin/cast"
anvil_key=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
sig=$("$cast" wallet sign --private-key "$anvil_key" 'hello')
it_log "verify bodies, --http-max-output 2 MiB (load: $(cut -d' ' -f1-3 /proc/loadavg))"
node "$IT_ROOT/tests/integration/api_post_flood.js" --base "$BASE" --pid "$RUN_PID" --conns 200 \
  --pipeline 16 --seconds 5 --max-output 2097152 --key "$KEY" --message hello --signature "$sig" ||
  it_fail "verify bodies flood: $(tail -3 "$WORK/run.log")"
kill -0 "$RUN_PID" || it_fail "the daemon died: $(tail -5 "$WORK/run.log")"
grep -q 'request bodies and answers held for slow clients reached' "$WORK/run.log" ||
  it_fail "no log line for bodies at the cap"

# ---- a schema newer than the binary ------------------------------------
kill -TERM "$RUN_PID"
wait "$RUN_PID" 2>/dev/null || true
logs_before=$(it_psql "$DB" "SELECT count(*) FROM logs")
it_psql "$DB" "INSERT INTO schema_migrations (version, name) VALUES (999, 'from_the_future')"
refused() {
  local what=$1 code=0
  shift
  timeout 60 "$@" >"$WORK/refused.out" 2>&1 || code=$?
  [[ $code == 2 ]] || it_fail "$what on a newer schema: exit $code, want 2: $(tail -3 "$WORK/refused.out")"
  grep -q "schema is at migration 999, newer than this dimo-indexer knows" "$WORK/refused.out" ||
    it_fail "$what: no clear message: $(tail -3 "$WORK/refused.out")"
}
refused run "$BIN" run --network "$NET" --rpc "$RPC" --db "$DB" --confirmations 0 --http 127.0.0.1:0
refused sync "$BIN" sync --network "$NET" --rpc "$RPC" --db "$DB" --confirmations 0 --to head
refused migrate "$BIN" migrate --db "$DB"
refused status "$BIN" status --network "$NET" --db "$DB"
refused license "$BIN" license --network "$NET" --db "$DB" weather-app-v2
refused verify "$BIN" verify --network "$NET" --db "$DB" --client-id "$KEY" --message hello --signature "$sig"
refused access "$BIN" access --network "$NET" --db "$DB" --client-id "$KEY" \
  --asset 0x1111111111111111111111111111111111111111 --token-id 1 --permission 1
[[ $(it_psql "$DB" "SELECT count(*) FROM logs") == "$logs_before" ]] || it_fail "a refused command wrote logs"
[[ $(it_psql "$DB" "SELECT max(version) FROM schema_migrations") == 999 ]] || it_fail "schema_migrations changed"
# The same database at this binary's version is served again.
it_psql "$DB" "DELETE FROM schema_migrations WHERE version = 999"
"$BIN" status --network "$NET" --db "$DB" >"$WORK/status.out" 2>&1 ||
  it_fail "status after the future row went: $(tail -3 "$WORK/status.out")"
"$BIN" license --network "$NET" --db "$DB" weather-app-v2 >/dev/null 2>&1 || it_fail "license after the future row went"
echo "api hostile: ok"
