#!/usr/bin/env bash
# A database failure that passes by itself never stops the follower (audit
# H2): the writer's statement cancelled while it waits for a lock (57014, as
# a DBA's pg_cancel_backend or a statement_timeout gives) is retried with
# backoff on a fresh session, and once the lock is gone `run` indexes the
# new block, is ready again, and the database equals a fresh index. Before,
# any SQLSTATE but a connection's stopped `run` for good (`/readyz` 503,
# `dimo_sync_halted 1`) while the process stayed up, so systemd never
# restarted it. (Deadlocks, serialization failures, a full disk take the
# same path: include/pgerr.h, tests/unit/test_pgerr.c.)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

it_devnet
api_run --log-level info
head=$(it_head)

# Another session holds the cursors table (ACCESS EXCLUSIVE) for 4 s; a new
# block makes the writer wait for it; its waiting statement is cancelled.
psql "$DB" -v ON_ERROR_STOP=1 -qAt -c "BEGIN; LOCK TABLE cursors IN ACCESS EXCLUSIVE MODE;
  SELECT pg_sleep(4); COMMIT;" >/dev/null &
locker=$!
for ((i = 0; i < 50; i++)); do
  [[ $(it_psql "$DB" "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
    WHERE c.relname = 'cursors' AND l.mode = 'AccessExclusiveLock' AND l.granted") == 1 ]] && break
  sleep 0.1
done
it_rpc anvil_mine '["0x1"]' >/dev/null
cancelled=0
for ((i = 0; i < 60 && cancelled == 0; i++)); do
  sleep 0.05
  cancelled=$(it_psql "$DB" "SELECT count(pg_cancel_backend(pid)) FROM pg_stat_activity
    WHERE datname = current_database() AND application_name LIKE 'dimo-indexer%'
      AND wait_event_type = 'Lock'")
done
((cancelled > 0)) || it_fail "no indexer statement was found waiting for the lock"
wait "$locker" || it_fail "the locking session failed"
grep -q "canceling statement due to user request" "$WORK/run.log" ||
  it_fail "the cancel did not reach the indexer: $(grep -i 'error\|warn' "$WORK/run.log" | tail -3)"

# The follower goes on: the new block indexed, ready again, not halted.
it_wait_cursor "$DB" "$((head + 1))" 30
grep -q "the follower stopped" "$WORK/run.log" &&
  it_fail "the follower stopped: $(grep 'the follower stopped' "$WORK/run.log" | head -1)"
grep -q "database error, retrying" "$WORK/run.log" ||
  it_fail "the retry was not logged: $(grep -i 'cancel' "$WORK/run.log" | tail -3)"
curl -sf "$BASE/readyz" >/dev/null || it_fail "not ready after the lock went: $(curl -s "$BASE/readyz")"
# (Read whole first: `grep -q` leaving early would fail curl's write, and
# the pipeline under pipefail.)
metrics=$(curl -sf "$BASE/metrics") || it_fail "no /metrics"
grep -q '^dimo_sync_halted 0' <<<"$metrics" || it_fail "dimo_sync_halted is not 0: $(grep halted <<<"$metrics")"

# Nothing lost, nothing twice.
head=$(it_head)
it_wait_cursor "$DB" "$head" 30
kill -TERM "$RUN_PID"
wait "$RUN_PID" && code=0 || code=$?
[[ $code == 0 ]] || it_fail "run exited $code: $(tail -5 "$WORK/run.log")"
it_dump "$DB" "$WORK/live.dump"
fresh=$(it_fresh_index fresh "$head")
it_dump "$fresh" "$WORK/fresh.dump"
diff "$WORK/live.dump" "$WORK/fresh.dump" >"$WORK/diff.txt" ||
  it_fail "database differs from a fresh index: $(head -20 "$WORK/diff.txt")"
echo "transient database errors: ok ($cancelled statement(s) cancelled; the follower retried and indexed block $head)"
