#!/usr/bin/env bash
# Writer failover, measured, with the default options (poll interval 2 s):
# two `run` instances on one database (the advisory-lock pair); kill -9 of
# the active one while it follows the head (operations arriving), and
# again in the middle of a backfill; then the database restarted under
# both. Each time the standby takes over within TAKEOVER_MS (printed),
# and at the end both databases equal a fresh index (no gap, no duplicate).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
TAKEOVER_MS=${TAKEOVER_MS:-5000}  # documented bound with the default options
RESTART_MS=${RESTART_MS:-10000}   # database back -> a new block indexed

it_devnet --ops 30 --seed 5
writer() { # NAME DB [ARGS]: a `run` instance with the defaults; sets BG_PID
  local name=$1 db=$2
  shift 2
  it_bg "$name" "$BIN" run --network "$NET" --rpc "${WRITER_RPC:-$RPC}" --db "$db" --confirmations 0 --http off "$@"
}
wait_log() { # FILE TEXT SECONDS
  local i
  for ((i = 0; i < $3 * 50; i++)); do
    grep -q "$2" "$1" && return 0
    sleep 0.02
  done
  it_fail "\"$2\" not in $1 within $3 s: $(tail -3 "$1")"
}
# kill -9 PID, then the time until the standby (log FILE) holds the lock.
takeover() {
  local pid=$1 log=$2 what=$3 t0 t1 ms
  kill -9 "$pid"
  t0=$(date +%s%N)
  wait_log "$log" "took the writer lock" 30
  t1=$(date +%s%N)
  ms=$(((t1 - t0) / 1000000))
  it_log "$what: the standby took over ${ms} ms after kill -9"
  ((ms <= TAKEOVER_MS)) || it_fail "$what: take-over in ${ms} ms (bound $TAKEOVER_MS ms)"
  echo "$ms" >>"$WORK/takeovers"
}

# 1. Live following.
writer a "$DB"
a=$BG_PID
it_wait_cursor "$DB" "$(it_head)" 60
writer b "$DB"
b=$BG_PID
wait_log "$WORK/b.log" "standby:" 10
node "$IT_ROOT/tests/devnet/scenario.js" --rpc "$RPC" --network "$NET" --ops 40 --seed 6 >"$WORK/ops1.log" &
ops=$!
sleep 1.5
takeover "$a" "$WORK/b.log" "live"
wait "$ops"
it_wait_cursor "$DB" "$(it_head)" 30
writer c "$DB" # the killed one comes back: a standby now
c=$BG_PID
wait_log "$WORK/c.log" "standby:" 10

# 2. The database restarted under both (operations arrive meanwhile).
node "$IT_ROOT/tests/devnet/scenario.js" --rpc "$RPC" --network "$NET" --ops 10 --seed 7 >"$WORK/ops2.log" &
ops=$!
bash "$IT_ROOT/scripts/pg.sh" stop "$IT_PG_DIR" >/dev/null
sleep 1
bash "$IT_ROOT/scripts/pg.sh" start "$IT_PG_DIR" >/dev/null
t0=$(date +%s%N)
wait "$ops"
it_rpc evm_mine '[]' >/dev/null
it_wait_cursor "$DB" "$(it_head)" 30
ms=$((($(date +%s%N) - t0) / 1000000))
it_log "database restart: indexing resumed ${ms} ms after the database was back"
((ms <= RESTART_MS)) || it_fail "database restart: resumed after ${ms} ms (bound $RESTART_MS ms)"
kill -0 "$b" && kill -0 "$c" || it_fail "a writer died with the database restart"

# 3. A backfill: a fresh database indexed in small ranges; kill -9 the
# active writer half-way.
bf=$(it_newdb backfill)
it_rpc anvil_mine '["0x3e8","0x2"]' >/dev/null # 1,000 more blocks: a backfill long enough
head=$(it_head)
# Through a proxy adding 20 ms to each exchange, one range at a time: the
# backfill takes over 10 s, so it cannot end while the standby starts (a
# fast follower did, once, under load).
it_proxy slow --delay-ms 20
WRITER_RPC=$PROXY writer d "$bf" --initial-range 2 --max-range 2 --max-inflight 1
d=$BG_PID
it_wait_cursor "$bf" 1 30
WRITER_RPC=$PROXY writer e "$bf" --initial-range 2 --max-range 2 --max-inflight 1
e=$BG_PID
wait_log "$WORK/e.log" "standby:" 10
it_wait_cursor "$bf" $((head / 3)) 60
at=$(it_cursor "$bf")
((at < head - 10)) || it_fail "the backfill ended before the kill (at $at of $head)"
takeover "$d" "$WORK/e.log" "backfill (at block $at of $head)"
it_wait_cursor "$bf" "$head" 60

# Both equal a fresh index of the same chain.
head=$(it_head)
it_wait_cursor "$DB" "$head" 30
it_wait_cursor "$bf" "$head" 30
for p in $b $c $e; do kill -TERM "$p"; done
for p in $b $c $e; do wait "$p" || it_fail "a writer did not exit cleanly"; done
fresh=$(it_fresh_index fresh "$head")
it_dump "$fresh" "$WORK/fresh.dump"
for db in "$DB" "$bf"; do
  it_dump "$db" "$WORK/got.dump"
  diff "$WORK/got.dump" "$WORK/fresh.dump" >"$WORK/diff.txt" ||
    it_fail "$db differs from a fresh index: $(head -20 "$WORK/diff.txt")"
done
echo "failover: ok (take-over $(paste -sd/ "$WORK/takeovers") ms, bound $TAKEOVER_MS ms; database restart ${ms} ms)"
