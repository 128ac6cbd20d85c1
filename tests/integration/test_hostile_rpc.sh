#!/usr/bin/env bash
# A lying provider (issue 24), through the corrupting proxy
# (tests/tools/rpc_proxy.js), with `sync`:
#   - logs whose blockHash lies in the middle of a backfill range are never
#     stored (every log's block hash is checked against its block's header);
#   - one "up to a 1 block range" answer does not cap the span for the run;
#   - an RPC error message with a newline and ANSI escapes cannot forge a
#     log line;
#   - a log that does not decode under its known event is a provider fault,
#     asked again, not skipped;
#   - a provider whose answers stay inconsistent while eth_blockNumber
#     succeeds makes `sync` give up after --max-retries, with growing delays,
#     a clear error and exit 1;
#   - an endpoint of another chain given at start is a configuration error
#     (exit 2), and so is a second anvil on chain 1.
# Every sync that completes equals a direct index of the chain.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

it_devnet --ops 120
node "$IT_ROOT/tests/devnet/bulk.js" --rpc "$RPC" --network "$NET" --events 600 --blocks 150 \
  >"$WORK/bulk.log"
# Past the reorg window: the bulk blocks are backfill ranges (only the
# ranges' end headers come with them).
it_rpc anvil_mine '["0x90","0x2"]' >/dev/null
head=$(it_head)
ref=$(it_fresh_index reference "$head")
it_dump "$ref" "$WORK/reference.dump"

control() { curl -sf -X POST -d "$1" "$PROXY/__control" >/dev/null || it_fail "proxy control $1"; }
mode_count() {
  curl -sf "$PROXY/__stats" | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>console.log(JSON.parse(s).modes.$1||0))"
}

n=0
sync_through_proxy() {
  local label=$1
  shift
  n=$((n + 1))
  local db
  db=$(it_newdb "hostile_$n")
  "$BIN" sync --network "$NET" --rpc "$PROXY" --db "$db" --confirmations 0 --to "$head" "$@" \
    >"$WORK/$label.log" 2>&1 || it_fail "$label: sync failed: $(tail -5 "$WORK/$label.log")"
  it_dump "$db" "$WORK/$label.dump"
  cmp -s "$WORK/reference.dump" "$WORK/$label.dump" ||
    it_fail "$label: database differs from the reference: $(diff "$WORK/reference.dump" "$WORK/$label.dump" | head -5)"
}

it_proxy proxy --control

# 1. Mid-range blockHash lies (issue 24.5): three answers lie, none is stored.
control '{"lie_log_hash":3}'
sync_through_proxy midhash --initial-range 50 --max-range 50
lies=$(mode_count lie_log_hash)
((lies == 3)) || it_fail "midhash: $lies lying answers injected, expected 3"
# A range asks three eth_getLogs (licenses, DIMO out of and into license
# contracts, #25), so one rejected batch may carry up to three of the lies:
# at least one rejection per three lies, and the dump equals the reference.
caught=$(grep -c "differs from the header of block" "$WORK/midhash.log" || true)
((caught >= 1 && caught * 3 >= lies)) || it_fail "midhash: $caught rejections for $lies lies"
it_log "midhash: $lies lying eth_getLogs answers in $caught rejected batches, nothing false stored"

# 2. One "up to a 1 block range" answer (issue 24.7): the span grows back.
control '{"clear":true,"limit_once":1}'
sync_through_proxy hint --initial-range 50 --max-range 1000
batches=$(sed -n 's/.*reached block [0-9]* (\([0-9]*\) batches.*/\1/p' "$WORK/hint.log")
[[ $(mode_count limit_once) == 1 ]] || it_fail "hint: the 1-block hint was not given"
grep -q "range 50 -> 1 blocks" "$WORK/hint.log" || it_fail "hint: the hint was not followed"
# Stuck at one block it would take about $head batches.
((batches > 0 && batches < 80)) || it_fail "hint: $batches batches for $head blocks (the span stayed small)"
it_log "hint: one 1-block hint, $batches batches for $head blocks"

# 3. A forged log line in an RPC error message (issue 24.8).
control '{"clear":true,"forge_error":1}'
sync_through_proxy forged
[[ $(mode_count forge_error) == 1 ]] || it_fail "forged: the error was not injected"
! grep -q "^2026-01-01T00:00:00.000Z ERROR sync: FORGED" "$WORK/forged.log" ||
  it_fail "forged: the provider wrote a log line"
! grep -q $'\x1b' "$WORK/forged.log" || it_fail "forged: an escape byte reached the log"
grep -qF 'busy\n2026-01-01T00:00:00.000Z ERROR sync: FORGED LINE \x1b[31mred' "$WORK/forged.log" ||
  it_fail "forged: the message is not shown escaped"
it_log "forged: the error text is logged on one line, escaped"

# Two lies of one mode in a backfill: each caught (the log line), asked
# again, and the database equals the reference (sync_through_proxy).
two_lies_caught() {
  local mode=$1 label=$2 line=$3
  control "{\"clear\":true,\"$mode\":2}"
  sync_through_proxy "$label" --initial-range 50 --max-range 50
  [[ $(mode_count "$mode") == 2 ]] || it_fail "$label: not injected"
  caught=$(grep -c "$line" "$WORK/$label.log" || true)
  ((caught == 2)) || it_fail "$label: $caught of 2 caught"
}

# 4. Undecodable logs under a known event (issue 24.10): asked again.
two_lies_caught corrupt_log_data undecodable "does not decode under its event"
it_log "undecodable: 2 corrupt logs caught, asked again, nothing lost"

# 4b. A topic-filtered answer with a log under a topic0 its filter did not
#     name (#22): a provider fault, asked again; never stored as an unknown
#     event (the dump, which holds unknown_logs, equals the reference).
two_lies_caught unasked_topic0 unasked "a topic0 its request's filter does not name"
it_log "unasked: 2 logs under unasked topic0s caught, asked again, none stored as unknown"

# 5. Inconsistent answers while eth_blockNumber succeeds (issue 24.6): sync
#    backs off per cause and gives up after --max-retries.
control '{"clear":true,"header_not_found":1}'
db=$(it_newdb hostile_giveup)
t0=$(date +%s%N)
"$BIN" sync --network "$NET" --rpc "$PROXY" --db "$db" --confirmations 0 --to "$head" \
  --max-retries 5 >"$WORK/giveup.log" 2>&1 && code=0 || code=$?
ms=$((($(date +%s%N) - t0) / 1000000))
((code == 1)) || it_fail "giveup: exit $code, expected 1: $(tail -3 "$WORK/giveup.log")"
grep -q "answered inconsistently 5 times in a row (last: header not found); giving up" "$WORK/giveup.log" ||
  it_fail "giveup: no clear error: $(tail -3 "$WORK/giveup.log")"
tries=$(grep -c "inconsistent node answer" "$WORK/giveup.log" || true)
((tries == 5)) || it_fail "giveup: $tries tries, expected 5"
((ms < 30000)) || it_fail "giveup: took ${ms} ms"
it_log "giveup: exit 1 after $tries inconsistent answers in ${ms} ms"
control '{"clear":true}'

# 6. An endpoint of another chain at start (issue 24.1): a second anvil on
#    chain 1 beside the right one is a configuration error, exit 2, and
#    nothing is written.
it_bg anvil1 "$IT_ROOT/node_modules/.bin/anvil" --host 127.0.0.1 --port 0 --chain-id 1
for ((t = 0; t < 100; t++)); do
  RPC1=$(sed -n 's/^Listening on \(127\.0\.0\.1:[0-9]*\).*/http:\/\/\1/p' "$WORK/anvil1.log" | head -n 1)
  [[ -n $RPC1 ]] && break
  sleep 0.1
done
[[ -n $RPC1 ]] || it_fail "the chain-1 anvil did not start: $(tail -3 "$WORK/anvil1.log")"
db=$(it_newdb hostile_chain)
"$BIN" sync --network "$NET" --rpc "$RPC" --rpc "$RPC1" --db "$db" --confirmations 0 \
  --to "$head" >"$WORK/chain.log" 2>&1 && code=0 || code=$?
((code == 2)) || it_fail "chain: exit $code, expected 2: $(tail -3 "$WORK/chain.log")"
grep -q "serves chain 1, the network file says 137" "$WORK/chain.log" ||
  it_fail "chain: no clear error: $(tail -3 "$WORK/chain.log")"
[[ $(it_psql "$db" "SELECT count(*) FROM logs") == 0 ]] || it_fail "chain: logs were written"
it_log "chain: an endpoint on chain 1 beside chain 137 is exit 2, nothing written"

echo "hostile rpc: ok (mid-range hash lies, 1-block hint, forged line, undecodable logs, give-up, wrong chain)"
