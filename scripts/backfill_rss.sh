#!/usr/bin/env bash
# backfill_rss.sh: peak RSS and rate of a large backfill (not run by CI).
# Makes EVENTS license events (default 1,000,000) over BLOCKS blocks
# (default 1,000) on the devnet, then times `dimo-indexer sync` of them
# into a fresh database with /usr/bin/time -v, and prints peak RSS,
# wall time and events/s.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/scripts/setup.sh" >/dev/null
[[ -x /usr/bin/time ]] || { echo "backfill_rss: needs /usr/bin/time (apt-get install time)"; exit 1; }
source "$root/tests/integration/lib.sh"
events=${EVENTS:-1000000}
blocks=${BLOCKS:-1000}
it_devnet
node "$root/tests/devnet/bulk.js" --rpc "$RPC" --network "$NET" --events "$events" \
  --blocks "$blocks" | tail -n 1
head=$(it_head)
/usr/bin/time -v "$BIN" sync --network "$NET" --rpc "$RPC" --db "$DB" --confirmations 0 \
  --to "$head" >"$WORK/sync.log" 2>&1 || it_fail "sync failed: $(tail -5 "$WORK/sync.log")"
stored=$(it_psql "$DB" "SELECT count(*) FROM logs")
wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$WORK/sync.log")
rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/sync.log")
secs=$(awk -F: '{ if (NF == 3) print $1 * 3600 + $2 * 60 + $3; else print $1 * 60 + $2 }' <<<"$wall")
rate=$(awk -v n="$stored" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')
echo "backfill: $stored logs in ${secs}s ($rate events/s end to end, model included); peak RSS ${rss} kB"
