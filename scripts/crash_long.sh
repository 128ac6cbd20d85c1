#!/usr/bin/env bash
# crash_long.sh: the long crash-consistency variant (not run by CI):
# KILLS_BACKFILL kill -9 during a backfill and KILLS_LIVE during live
# following with reorgs (defaults 50 + 50 = 100); each run ends by
# comparing with a fresh index. Prints the seeds and the outcome.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/scripts/setup.sh"
start=$SECONDS
KILLS=${KILLS_BACKFILL:-50} bash "$root/tests/integration/test_sync_crash.sh"
KILLS=${KILLS_LIVE:-50} bash "$root/tests/integration/test_crash_live.sh"
echo "crash_long: ok in $((SECONDS - start)) s"
