#!/usr/bin/env bash
# The in-flight window: several backfill ranges in flight at once, their
# answers held and written strictly in chain order (issue #16).
#   1. out of order: a proxy delays each exchange by a random 0..60 ms, so
#      later ranges come back first; sampled while the sync runs, the
#      database is always a prefix of the chain (every stored log at or
#      below the cursor, as many as the reference has there); at the end
#      it equals a fresh index, and the proxy did answer out of order;
#      `status`, sampled too, shows the backfill's blocks done and left,
#      its rate and an ETA while it runs, and 0 left at the end;
#   2. a limit on requests in flight (HTTP 429 + Retry-After past 3): the
#      window shrinks to fit, the 429s are counted in the progress line;
#   3. the fault proxy at 20% faults with up to 8 ranges in flight;
#   4. kill -9 at random moments of a concurrent backfill, 10 times, then
#      a last sync: the database (and the derived model) equals a fresh index.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
KILLS=${KILLS:-10}
it_seed

it_devnet --ops 60
node "$IT_ROOT/tests/devnet/bulk.js" --rpc "$RPC" --network "$NET" --events 2000 --blocks 200 \
  >"$WORK/bulk.log"
# A sparse stretch (empty blocks), then more events: backfill ranges cross
# both.
curl -sf -X POST -H 'content-type: application/json' \
  --data '{"jsonrpc":"2.0","id":1,"method":"anvil_mine","params":["0xfa0","0x1"]}' "$RPC" >/dev/null
node "$IT_ROOT/tests/devnet/bulk.js" --rpc "$RPC" --network "$NET" --events 500 --blocks 50 \
  >>"$WORK/bulk.log"
head=$(it_head)
ref=$(it_fresh_index reference "$head")
it_dump "$ref" "$WORK/reference.dump"
node "$IT_ROOT/tests/integration/model_dump.js" --db "$ref" >"$WORK/reference.model"

stat() { # stat NAME: one counter of the proxy
  curl -sf "$PROXY/__stats" |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s)[process.argv[1]]))' "$1"
}
same() { # same LABEL CONN: the database equals the reference
  it_dump "$2" "$WORK/$1.dump"
  diff "$WORK/reference.dump" "$WORK/$1.dump" >"$WORK/$1.diff" ||
    it_fail "$1: database differs from a fresh index (seed $seed): $(head -5 "$WORK/$1.diff")"
}

# Small ranges: many of them, so many are in flight at once.
ranges=(--initial-range 40 --max-range 40 --max-inflight 8)

# 1. Out of order, sampled while it runs.
it_proxy proxy --seed "$seed" --delay-ms 5 --delay-jitter-ms 60
db=$(it_newdb window_order)
it_bg order "$BIN" sync --network "$NET" --rpc "$PROXY" --db "$db" --confirmations 0 --to "$head" \
  "${ranges[@]}"
order_pid=$BG_PID
samples=0
etas=0
status_check() { # FILE: the backfill lines of a `status` output, checked
  local line at target done left
  line=$(grep '^backfill:  block' "$1" || true)
  [[ -n $line ]] || return 0
  read -r at target done left < <(sed -n 's/^backfill:  block \([0-9]*\) of \([0-9]*\): \([0-9]*\) done .*, \([0-9]*\) left$/\1 \2 \3 \4/p' <<<"$line")
  [[ -n $left ]] || it_fail "status: cannot read \"$line\""
  ((target == head)) || it_fail "status: target $target, not $head"
  ((left == target - at)) || it_fail "status: $left left at block $at of $target"
  if ((left > 0)) && grep -q '^rate: .* blocks/s, .* events/s (written [0-9]* s ago); ETA [0-9]* s$' "$1"; then
    etas=$((etas + 1))
    cp "$1" "$WORK/status.mid"
  fi
}
# `status` sampled by a loop of its own (a process each time).
(
  i=0
  while kill -0 "$order_pid" 2>/dev/null; do
    i=$((i + 1))
    "$BIN" status --network "$NET" --db "$db" >"$WORK/status.$i" 2>&1 || true
  done
) &
status_loop=$!
while kill -0 "$order_pid" 2>/dev/null; do
  row=$(it_psql "$db" "SELECT c.last_block, count(l.*) FILTER (WHERE l.block_number <= c.last_block),
      count(l.*) FROM cursors c LEFT JOIN logs l ON l.chain_id = c.chain_id GROUP BY c.last_block" \
    2>/dev/null || true)
  if [[ -n $row ]]; then
    IFS='|' read -r cur below all <<<"$row"
    ((below == all)) || it_fail "order: logs above the cursor $cur ($all stored, $below at or below it)"
    want=$(it_psql "$ref" "SELECT count(*) FROM logs WHERE block_number <= $cur")
    ((all == want)) || it_fail "order: $all logs at cursor $cur, the chain has $want there"
    samples=$((samples + 1))
  fi
  sleep 0.05
done
wait "$order_pid" || it_fail "order: sync failed: $(tail -5 "$WORK/order.log")"
same order "$db"
ooo=$(stat out_of_order)
peak=$(stat served_in_flight_max)
((ooo >= 1)) || it_fail "order: no answer came back out of order"
((peak >= 3)) || it_fail "order: at most $peak exchanges in flight"
((samples >= 3)) || it_fail "order: only $samples samples taken"
wait "$status_loop"
for f in "$WORK"/status.[0-9]*; do status_check "$f"; done
((etas >= 1)) || it_fail "status: no sample showed the backfill's rate and ETA"
"$BIN" status --network "$NET" --db "$db" >"$WORK/status.end" 2>&1
status_check "$WORK/status.end"
grep -q "^backfill:  block $head of $head: .* 0 left$" "$WORK/status.end" ||
  it_fail "status: at the end: $(cat "$WORK/status.end")"
it_log "order: $ooo answers out of order, $peak in flight at most, $samples samples, always a prefix"
it_log "status: $etas samples with an ETA, e.g. $(grep -h '^rate:' "$WORK/status.mid")"
it_proxy_stop

# 2. A limit on requests in flight.
it_proxy proxy --seed "$seed" --delay-ms 20 --max-inflight 3 --retry-after 1
db=$(it_newdb window_limit)
"$BIN" sync --network "$NET" --rpc "$PROXY" --db "$db" --confirmations 0 --to "$head" \
  "${ranges[@]}" >"$WORK/limit.log" 2>&1 || it_fail "limit: sync failed: $(tail -5 "$WORK/limit.log")"
same limit "$db"
n429=$(stat inflight_429)
peak=$(stat served_in_flight_max)
((n429 >= 1)) || it_fail "limit: no 429 was sent"
((peak <= 3)) || it_fail "limit: the proxy served $peak at once"
grep -q "429s" "$WORK/limit.log" || it_fail "limit: the progress line does not count 429s"
it_log "limit: $n429 x 429, $peak served at once"
it_proxy_stop

# 3. Faults at 20% with up to 8 in flight.
it_proxy proxy --seed "$seed" --delay-jitter-ms 20 --http500 0.04 --http502 0.03 --http503 0.02 \
  --reset 0.03 --truncate 0.03 --malformed 0.03 --wrong-id 0.02 --header-not-found 0.05
db=$(it_newdb window_faults)
"$BIN" sync --network "$NET" --rpc "$PROXY" --db "$db" --confirmations 0 --to "$head" \
  "${ranges[@]}" >"$WORK/faults.log" 2>&1 || it_fail "faults: sync failed: $(tail -5 "$WORK/faults.log")"
same faults "$db"
it_log "faults: equal to a fresh index"
it_proxy_stop

# 4. kill -9 during a concurrent backfill.
it_proxy proxy --seed "$seed" --delay-jitter-ms 30
db=$(it_newdb window_crash)
sync_args=(sync --network "$NET" --rpc "$PROXY" --db "$db" --confirmations 0 --to "$head"
  --initial-range 10 --max-range 10 --max-inflight 8)
mid=0
for ((i = 1; i <= KILLS; i++)); do
  it_bg "crash-$i" "$BIN" "${sync_args[@]}"
  sleep "$(printf '0.%03d' $((100 + RANDOM % 400)))"
  kill -9 "$BG_PID" 2>/dev/null || true
  wait "$BG_PID" 2>/dev/null || true
  c=$(it_cursor "$db")
  ((c < head)) && mid=$((mid + 1))
done
((mid >= KILLS / 2)) || it_fail "crash: only $mid of $KILLS kills landed mid-backfill"
"$BIN" "${sync_args[@]}" >"$WORK/crash-final.log" 2>&1 ||
  it_fail "crash: final sync failed: $(tail -5 "$WORK/crash-final.log")"
same crash "$db"
node "$IT_ROOT/tests/integration/model_dump.js" --db "$db" >"$WORK/crash.model"
diff "$WORK/reference.model" "$WORK/crash.model" >"$WORK/crash.model.diff" ||
  it_fail "crash: derived rows differ (seed $seed): $(head -5 "$WORK/crash.model.diff")"
it_log "crash: $KILLS kills, $mid mid-backfill, equal"
it_proxy_stop
echo "sync_window: ok (out of order, 429 limit, 20% faults, $KILLS kills; head $head, seed $seed)"
