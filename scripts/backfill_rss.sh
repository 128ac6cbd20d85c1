#!/usr/bin/env bash
# backfill_rss.sh: peak RSS and rate of a large backfill (not run by CI).
# Makes EVENTS license events (default 1,000,000) over BLOCKS blocks
# (default 1,000) on the devnet, then times `dimo-indexer sync` of them
# into a fresh database with /usr/bin/time -v, and prints peak RSS,
# wall time and events/s.
#   BINS="a b ..."  binaries to compare on the same chain, each into a
#                   fresh database (default: this build's)
#   SYNC_ARGS       more options for every sync (e.g. --max-held-bytes N)
#   SKIP_SETUP=1    do not run scripts/setup.sh first
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[[ ${SKIP_SETUP:-0} == 1 ]] || bash "$root/scripts/setup.sh" >/dev/null
[[ -x /usr/bin/time ]] || { echo "backfill_rss: needs /usr/bin/time (apt-get install time)"; exit 1; }
source "$root/tests/integration/lib.sh"
events=${EVENTS:-1000000}
blocks=${BLOCKS:-1000}
it_devnet
node "$root/tests/devnet/bulk.js" --rpc "$RPC" --network "$NET" --events "$events" \
  --blocks "$blocks" | tail -n 1
head=$(it_head)
i=0
for bin in ${BINS:-$BIN}; do
  i=$((i + 1))
  db=$(it_newdb "rss$i")
  # shellcheck disable=SC2086
  /usr/bin/time -v "$bin" sync --network "$NET" --rpc "$RPC" --db "$db" --confirmations 0 \
    --to "$head" ${SYNC_ARGS:-} >"$WORK/sync$i.log" 2>&1 ||
    it_fail "sync failed: $(tail -5 "$WORK/sync$i.log")"
  stored=$(it_psql "$db" "SELECT count(*) FROM logs")
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$WORK/sync$i.log")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/sync$i.log")
  secs=$(awk -F: '{ if (NF == 3) print $1 * 3600 + $2 * 60 + $3; else print $1 * 60 + $2 }' <<<"$wall")
  rate=$(awk -v n="$stored" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')
  echo "backfill ($bin): $stored logs in ${secs}s ($rate events/s end to end, model included); peak RSS ${rss} kB ($((rss / 1024)) MiB); load $(cut -d' ' -f1-3 /proc/loadavg)"
done
