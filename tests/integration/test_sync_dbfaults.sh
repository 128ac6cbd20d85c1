#!/usr/bin/env bash
# Database faults under `run`: connections killed with pg_terminate_backend
# during the backfill and during live following, and a full PostgreSQL
# restart. The indexer must reconnect with backoff (never crash), re-apply
# the batch in flight once, and end equal to a fresh index.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

it_devnet
node "$IT_ROOT/tests/devnet/bulk.js" --rpc "$RPC" --network "$NET" --events 10000 --blocks 2000 \
  >"$WORK/bulk.log"

kill_backends() {
  it_psql "$DB" "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
    WHERE datname = current_database() AND pid <> pg_backend_pid()
      AND application_name LIKE 'dimo-indexer%'" || true
}

it_bg indexer "$BIN" run --network "$NET" --rpc "$RPC" --db "$DB" --confirmations 0 \
  --poll-interval 100 --initial-range 2 --max-range 2 --http off
indexer=$BG_PID
# During the backfill.
killed=0
for i in 1 2 3 4 5; do
  sleep 0.3
  k=$(kill_backends)
  killed=$((killed + ${k:-0}))
done
it_log "killed $killed backend(s) during the backfill (cursor $(it_cursor "$DB"))"
((killed >= 1)) || it_fail "no indexer connection was found to kill"

# A full restart of PostgreSQL.
bash "$IT_ROOT/scripts/pg.sh" stop "$IT_PG_DIR" >/dev/null
sleep 1
kill -0 "$indexer" 2>/dev/null || it_fail "the indexer died while the database was down"
bash "$IT_ROOT/scripts/pg.sh" start "$IT_PG_DIR" >/dev/null
head=$(it_head)
it_wait_cursor "$DB" "$head" 120

# During live following: new blocks, then kill again.
node "$IT_ROOT/tests/devnet/scenario.js" --rpc "$RPC" --network "$NET" --ops 30 --seed 5 \
  >"$WORK/scenario2.log" &
scen=$!
for i in 1 2 3; do
  sleep 0.4
  kill_backends >/dev/null
done
wait "$scen" || it_fail "live scenario failed"
head=$(it_head)
it_wait_cursor "$DB" "$head" 60
kill -TERM "$indexer"
wait "$indexer" && code=0 || code=$?
[[ $code == 0 ]] || it_fail "run exited $code: $(tail -5 "$WORK/indexer.log")"
grep -q "database unavailable" "$WORK/indexer.log" || it_fail "the lost connections were not logged"

it_dump "$DB" "$WORK/live.dump"
fresh=$(it_fresh_index fresh "$head")
it_dump "$fresh" "$WORK/fresh.dump"
diff "$WORK/live.dump" "$WORK/fresh.dump" >"$WORK/diff.txt" ||
  it_fail "database differs from a fresh index: $(head -20 "$WORK/diff.txt")"
echo "db faults: ok ($killed backends killed in backfill, a restart, kills while live)"
