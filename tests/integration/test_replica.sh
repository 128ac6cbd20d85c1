#!/usr/bin/env bash
# The API on a hot standby (real PostgreSQL streaming replication):
#   - `run` on the primary follows the devnet; `serve` on a standby made
#     with pg_basebackup -R answers every license document, slash page and
#     access question exactly as the primary's API does, and so does `serve`
#     on the primary through a read-only role;
#   - freshness: after new blocks, the standby's answers follow within the
#     poll interval plus the replication lag;
#   - replay lag: with replay paused, /readyz turns 503 with the reason;
#   - `serve` never writes: the standby's log has no refused write;
#   - the schema: none yet is a 503 on /readyz, an older one (a migration
#     not replayed yet) too, a newer one a clear error at start (and a
#     warning, serving on, when it becomes newer while serving);
#   - promotion: the standby is promoted (pg_ctl promote) and a writer
#     pointed at it continues from the cursor; the result equals a fresh
#     index, and `serve` stays ready across the promotion.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
POLL_MS=100

it_devnet --ops 40 --seed 11 --optins
# One opt-in certainly allowed (a license staked at the devnet's seed
# requirement: below it every license is understaked, and the comparison
# of access answers needs some allowed).
node "$IT_ROOT/tests/devnet/grant_allowed.js" --rpc "$RPC" --network "$NET" >/dev/null
it_standby
api_run
serve_start serve "$SDB" --model-poll "$POLL_MS"
it_ready "$SBASE" 30
SERVE1=$SBASE

# Same block on both, then every answer equal.
same_block() {
  local want i got
  want=$(it_cursor "$DB")
  for ((i = 0; i < 200; i++)); do
    got=$(it_json "$SBASE/readyz" 'j.indexed_block')
    [[ $got == "$want" ]] && return 0
    sleep 0.05
  done
  it_fail "the standby's API did not reach block $want (at $got)"
}
same_block
it_log "standby /readyz: $(curl -s "$SBASE/readyz")"
node "$IT_ROOT/tests/integration/replica_compare.js" --a "$BASE" --b "$SBASE" --db "$DB" ||
  it_fail "the standby's answers differ from the primary's"

# The other topology: serve on the primary itself, through a read-only role.
it_psql "$DB" "CREATE ROLE dimo_ro LOGIN; GRANT pg_read_all_data TO dimo_ro" >/dev/null
serve_start serve-ro "${DB/user=postgres/user=dimo_ro}"
it_ready "$SBASE" 10
node "$IT_ROOT/tests/integration/replica_compare.js" --a "$BASE" --b "$SBASE" --db "$DB" ||
  it_fail "serve through a read-only role answers differently from run"
kill -TERM "$SERVE_PID"
SBASE=$SERVE1

# Freshness: each new batch of operations is seen by the standby's API
# (its cache emptied) within the poll interval plus replication lag.
probe=/v1/licenses?limit=1000
for round in 1 2; do
  before=$(curl -s "$SBASE$probe")
  node "$IT_ROOT/tests/devnet/scenario.js" --rpc "$RPC" --network "$NET" --ops 15 --seed $((20 + round)) >/dev/null
  it_wait_cursor "$DB" "$(it_head)" 30
  primary_at=$(date +%s%N)
  want=$(curl -s "$BASE$probe")
  for ((i = 0; i < 400; i++)); do
    [[ $(curl -s "$SBASE$probe") == "$want" ]] && break
    sleep 0.01
  done
  seen_at=$(date +%s%N)
  [[ $(curl -s "$SBASE$probe") == "$want" ]] || it_fail "round $round: the standby's answer did not follow"
  [[ $want != "$before" ]] || it_fail "round $round: the operations changed nothing"
  ms=$(((seen_at - primary_at) / 1000000))
  it_log "round $round: standby answer followed the primary's ${ms} ms later (poll $POLL_MS ms)"
  ((ms < 5000)) || it_fail "round $round: the standby followed only after ${ms} ms (bound 5 s: poll plus replication on a loaded CI machine)"
done
# (The random rounds may have unstaked the allowed opt-in's license: one more.)
node "$IT_ROOT/tests/devnet/grant_allowed.js" --rpc "$RPC" --network "$NET" >/dev/null
it_wait_cursor "$DB" "$(it_head)" 30
same_block
node "$IT_ROOT/tests/integration/replica_compare.js" --a "$BASE" --b "$SBASE" --db "$DB" ||
  it_fail "after more blocks, the standby's answers differ from the primary's"
grep -q 'dimo_replica_in_recovery 1' <(curl -s "$SBASE/metrics") || it_fail "/metrics: not in recovery?"

# Replay lag: replay paused on the standby while the writer goes on; a
# serve with --ready-replay-age 1000 turns unready with the reason, and
# ready again once replay resumes.
serve_start serve-lag "$SDB" --ready-replay-age 1000 --model-poll "$POLL_MS"
it_ready "$SBASE" 10
it_psql "$SDB" "SELECT pg_wal_replay_pause()" >/dev/null
for ((i = 0; i < 100; i++)); do
  it_rpc evm_mine '[]' >/dev/null
  curl -s "$SBASE/readyz" | grep -q 'replay lag' && break
  sleep 0.1
done
curl -s "$SBASE/readyz" | grep -q 'replay lag' || it_fail "paused replay: $(curl -s "$SBASE/readyz")"
it_log "paused replay: $(curl -s "$SBASE/readyz")"
it_psql "$SDB" "SELECT pg_wal_replay_resume()" >/dev/null
it_ready "$SBASE" 10
kill -TERM "$SERVE_PID"

# Schema checks (on databases of the primary: no RPC, no writer needed).
mkdir -p "$WORK/schema-new" "$WORK/schema-old"
cp "$IT_ROOT"/schema/*.sql "$WORK/schema-new/"
last=$(basename "$(ls "$IT_ROOT"/schema/[0-9][0-9][0-9]_*.sql | tail -n 1)")
echo "SELECT 1;" >"$WORK/schema-new/$(printf '%03d' $((10#${last:0:3} + 1)))_future.sql"
ls "$IT_ROOT"/schema/*.sql | head -n -1 | xargs -I{} cp {} "$WORK/schema-old/"
serve_start serve-older "$SDB" --schema-dir "$WORK/schema-new"
curl -s "$SBASE/readyz" | grep -q 'waiting for the writer.s migration' ||
  it_fail "older schema: $(curl -s "$SBASE/readyz")"
kill -TERM "$SERVE_PID"
wait "$SERVE_PID" || it_fail "serve did not stop cleanly on SIGTERM"
set +e
"$BIN" serve --network "$NET" --db "$SDB" --http 127.0.0.1:0 --schema-dir "$WORK/schema-old" >"$WORK/newer.log" 2>&1
code=$?
set -e
((code == 2)) && grep -q 'newer than this dimo-indexer knows' "$WORK/newer.log" ||
  it_fail "newer schema: exit $code: $(tail -3 "$WORK/newer.log")"
empty=$(it_newdb empty)
serve_start serve-empty "$empty"
for ((i = 0; i < 100; i++)); do
  curl -s "$SBASE/readyz" | grep -q 'no schema yet' && break
  sleep 0.05
done
curl -s "$SBASE/readyz" | grep -q 'no schema yet' || it_fail "empty database: $(curl -s "$SBASE/readyz")"
[[ $(curl -s -o /dev/null -w '%{http_code}' "$SBASE/readyz") == 503 ]] || it_fail "empty database: /readyz not 503"
# The writer migrates to a newer schema while serve runs: logged, served on.
"$BIN" migrate --db "$empty" --schema-dir "$WORK/schema-new" >"$WORK/migrate.log" 2>&1 ||
  it_fail "migrate: $(tail -3 "$WORK/migrate.log")"
for ((i = 0; i < 100; i++)); do
  grep -q 'newer than this binary.*still serving' "$WORK/serve-empty.log" && break
  sleep 0.05
done
grep -q 'newer than this binary.*still serving' "$WORK/serve-empty.log" || it_fail "no warning of the newer schema"
curl -s "$SBASE/readyz" | grep -q 'nothing indexed yet' || it_fail "newer schema at run time: $(curl -s "$SBASE/readyz")"
kill -TERM "$SERVE_PID"

# serve never wrote: the standby refused nothing (a write there fails with
# "cannot execute ... in a read-only transaction" or "recovery is in progress").
if grep -E 'ERROR|FATAL' "$IT_STANDBY_DIR/postgres.log" | grep -v 'terminating walreceiver' >"$WORK/standby-errors.txt"; then
  it_fail "the standby logged errors: $(head -5 "$WORK/standby-errors.txt")"
fi
grep -qiE 'error|warn' "$WORK/serve.log" && it_fail "serve logged trouble: $(grep -iE 'error|warn' "$WORK/serve.log" | head -3)"

# Promotion: the primary's writer stops (the primary is lost), the standby
# is promoted, a writer pointed at it continues from the cursor.
kill -TERM "$RUN_PID"
wait "$RUN_PID" || it_fail "run did not stop cleanly"
cursor=$(it_cursor "$SDB")
bash "$IT_ROOT/scripts/pg.sh" stop "$IT_PG_DIR" >/dev/null
bash "$IT_ROOT/scripts/pg.sh" promote "$IT_STANDBY_DIR"
node "$IT_ROOT/tests/devnet/scenario.js" --rpc "$RPC" --network "$NET" --ops 15 --seed 31 >/dev/null
it_bg writer2 "$BIN" run --network "$NET" --rpc "$RPC" --db "$SDB" --confirmations 0 --poll-interval 200 --http off
writer2=$BG_PID
head=$(it_head)
it_wait_cursor "$SDB" "$head" 30
grep -q "applied .* schema migration" "$WORK/writer2.log" && it_fail "the writer re-applied migrations"
# serve on the promoted standby: ready, and following the new writer.
SBASE=$SERVE1
same_block_as() {
  local want=$1 i got
  for ((i = 0; i < 200; i++)); do
    got=$(it_json "$SBASE/readyz" 'j.indexed_block')
    [[ $got == "$want" ]] && return 0
    sleep 0.05
  done
  it_fail "serve did not follow the promoted standby to block $want (at $got): $(curl -s "$SBASE/readyz")"
}
same_block_as "$head"
it_ready "$SBASE" 5
grep -q 'dimo_replica_in_recovery 0' <(curl -s "$SBASE/metrics") || it_fail "/metrics: still in recovery?"
kill -TERM "$writer2"
wait "$writer2" || it_fail "the writer on the promoted standby did not exit cleanly"
it_pg # the old primary again, for the fresh index
it_dump "$SDB" "$WORK/promoted.dump"
fresh=$(it_fresh_index fresh "$head")
it_dump "$fresh" "$WORK/fresh.dump"
diff "$WORK/promoted.dump" "$WORK/fresh.dump" >"$WORK/diff.txt" ||
  it_fail "the promoted standby differs from a fresh index: $(head -20 "$WORK/diff.txt")"
echo "replica: ok (answers equal on the standby, promoted at cursor $cursor, continued to $head)"
