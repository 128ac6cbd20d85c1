#!/usr/bin/env bash
# soak.sh: a long live run (not run by CI): `dimo-indexer run` follows the
# devnet while license activity (and a reorg every tenth round) keeps
# coming, for SOAK_SECONDS (default 600). Prints the indexer's RSS and open
# file descriptors every SAMPLE_SECONDS (default 30), then first / peak /
# last, so a leak shows as growth. Ends by checking the database against a
# fresh index.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/scripts/setup.sh" >/dev/null
source "$root/tests/integration/lib.sh"
secs=${SOAK_SECONDS:-600}
every=${SAMPLE_SECONDS:-30}
it_devnet
it_bg indexer "$BIN" run --network "$NET" --rpc "$RPC" --db "$DB" --confirmations 0 \
  --poll-interval 500 --http 127.0.0.1:0
indexer=$BG_PID
it_wait_cursor "$DB" "$(it_head)" 60

rss() { awk '/^VmRSS/ {print $2}' "/proc/$indexer/status"; }
fds() { ls "/proc/$indexer/fd" | wc -l; }
first=$(rss)
peak=$first
printf '%8s %10s %5s %8s\n' seconds rss_kb fds cursor
start=$SECONDS
round=0
next_sample=0
while ((SECONDS - start < secs)); do
  round=$((round + 1))
  node "$root/tests/devnet/scenario.js" --rpc "$RPC" --network "$NET" --ops 5 \
    --seed "$round" >>"$WORK/activity.log" 2>&1 || true
  if ((round % 10 == 0)); then
    node "$root/tests/devnet/reorg.js" --rpc "$RPC" --network "$NET" --depth 2 \
      --seed "$round" >>"$WORK/activity.log" 2>&1 || true
  fi
  if ((SECONDS - start >= next_sample)); then
    r=$(rss)
    ((r > peak)) && peak=$r
    printf '%8d %10d %5d %8s\n' $((SECONDS - start)) "$r" "$(fds)" "$(it_cursor "$DB")"
    next_sample=$((next_sample + every))
  fi
  sleep 1
done
last=$(rss)
head=$(it_head)
it_wait_cursor "$DB" "$head" 60
kill -TERM "$indexer"
wait "$indexer" || it_fail "run did not exit cleanly"
it_dump "$DB" "$WORK/soak.dump"
fresh=$(it_fresh_index fresh "$head")
it_dump "$fresh" "$WORK/fresh.dump"
cmp -s "$WORK/soak.dump" "$WORK/fresh.dump" || it_fail "database differs from a fresh index"
echo "soak: ${secs}s, $round activity rounds, head $head; RSS first ${first} kB, peak ${peak} kB, last ${last} kB; equal to a fresh index"
