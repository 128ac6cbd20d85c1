#!/usr/bin/env bash
# The sync engine behind the fault-injecting proxy (tests/tools/rpc_proxy.js):
#   - every provider error family for an over-wide eth_getLogs makes the
#     range shrink, and a suggested or stated range is used at once;
#   - HTTP 429 with Retry-After, 5xx, resets, truncated and malformed
#     answers, wrong ids and "header not found" are survived;
# and every run ends with a database equal to a direct index of the chain.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

it_devnet
node "$IT_ROOT/tests/devnet/bulk.js" --rpc "$RPC" --network "$NET" --events 3000 --blocks 300 \
  >"$WORK/bulk.log"
head=$(it_head)
ref=$(it_fresh_index reference "$head")
it_dump "$ref" "$WORK/reference.dump"


# Indexes through the proxy into a new database and checks it equals the reference.
n=0
sync_through_proxy() {
  local label=$1
  shift
  n=$((n + 1))
  local db
  db=$(it_newdb "faults_$n")
  "$BIN" sync --network "$NET" --rpc "$PROXY" --db "$db" --confirmations 0 --to "$head" "$@" \
    >"$WORK/$label.log" 2>&1 || it_fail "$label: sync failed: $(tail -5 "$WORK/$label.log")"
  it_dump "$db" "$WORK/$label.dump"
  cmp -s "$WORK/reference.dump" "$WORK/$label.dump" || it_fail "$label: database differs from the reference"
}

# 1. Every error family: the range shrinks until it fits under 50 blocks.
for family in -32005 range_too_wide too_large log_size too_big limited suggest; do
  for hint in both none; do
    [[ $family != -32005 && $hint == none ]] && continue
    it_proxy proxy --control --max-range 50 --max-range-error "$family" --max-range-hint "$hint"
    label="family${family}-$hint"
    sync_through_proxy "$label" --initial-range 1000 --max-range 1000
    limits=$(grep -c "provider limit" "$WORK/$label.log" || true)
    ((limits >= 1)) || it_fail "$label: no limit was recognised"
    final=$(grep -o 'range [0-9]* -> [0-9]*' "$WORK/$label.log" | tail -n 1 | awk '{print $4}')
    ((final <= 50)) || it_fail "$label: range ended at $final > 50"
    case "$family-$hint" in
    -32005-both | suggest-* | limited-*)
      # The provider named the range: one error is enough, straight to 50.
      first=$(grep -o 'range [0-9]* -> [0-9]*' "$WORK/$label.log" | head -n 1 | awk '{print $4}')
      [[ $first == 50 ]] || it_fail "$label: did not follow the suggested range (went to $first)"
      ;;
    esac
    it_log "$label: $limits limit answer(s), range ended at $final"
    it_proxy_stop
  done
done

# 2. Rate limits: 429 with Retry-After on half the answers for a while.
it_proxy proxy --control --http429 0.5 --retry-after 1 --fault-for-ms 4000
sync_through_proxy ratelimit
got=$(curl -sf "$PROXY/__stats" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).faults.http429||0))')
((got >= 1)) || it_fail "ratelimit: no 429 was injected"
grep -q "429" "$WORK/ratelimit.log" || it_fail "ratelimit: the 429s were not logged"
it_log "ratelimit: $got x 429 survived"
it_proxy_stop

# 3. A mix of transport faults and lagging-node answers at 20%.
it_proxy proxy --control --seed 7 --http500 0.03 --http502 0.03 --http503 0.02 --reset 0.03 \
  --truncate 0.03 --malformed 0.03 --wrong-id 0.02 --header-not-found 0.05
sync_through_proxy mixed --initial-range 64 --max-range 64
faults=$(curl -sf "$PROXY/__stats" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const f=JSON.parse(s);console.log(Object.values(f.faults||{}).reduce((a,b)=>a+b,0)+Object.values(f.modes||{}).reduce((a,b)=>a+b,0))})')
((faults >= 3)) || it_fail "mixed: only $faults faults injected"
it_log "mixed: $faults faults survived"
it_proxy_stop
echo "faults: ok (every error family, 429s, $faults mixed faults)"
