#!/usr/bin/env bash
# start.sh: the main job in one command.
#
#   scripts/start.sh
#       Sets everything up, then runs the whole product locally: a throwaway
#       PostgreSQL cluster (.run/pg), an anvil chain (.run/chain) with the
#       event-compatible DIMO contracts and the DIP-5 scenario, a live
#       activity generator (licenses, signers, stakes, freezes, slashes,
#       revokes every few seconds, and now and then a reorg), and
#       `dimo-indexer run` following it with the HTTP API on loopback.
#       Ctrl-C stops everything it started, by PID.
#
#   scripts/start.sh --rpc URL [--rpc URL2] --db CONNINFO [--network polygon|amoy|FILE] [RUN OPTIONS]
#       Starts nothing local: runs `dimo-indexer run` against that network
#       and database (see `dimo-indexer run --help` for every option).
#
# Environment (local mode): DIMO_HTTP_PORT (default 8080, or a free port
# when taken), ACTIVITY_SECONDS (pause between activity rounds, default 3),
# START_RUN_DIR (default .run: where the cluster, chain and logs live).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bin="$root/build/indexer/dimo-indexer"

say() { printf '\033[1mstart:\033[0m %s\n' "$*" >&2; }

bash scripts/setup.sh

if (($#)); then
  has_network=0
  for a in "$@"; do
    [[ $a == --network || $a == --network=* ]] && has_network=1
  done
  if ((has_network)); then
    exec "$bin" run "$@"
  fi
  exec "$bin" run --network polygon "$@"
fi

run=${START_RUN_DIR:-$root/.run}
mkdir -p "$run"
chmod 755 "$run"
pids=()

stop_all() {
  trap - INT TERM EXIT
  say "stopping"
  local p
  for p in "${pids[@]}"; do
    kill -TERM "$p" 2>/dev/null || true
  done
  for p in "${pids[@]}"; do
    wait "$p" 2>/dev/null || true
  done
  bash tests/devnet/anvil.sh stop "$run/chain" >/dev/null 2>&1 || true
  bash scripts/pg.sh stop "$run/pg" >/dev/null 2>&1 || true
  say "stopped; nothing left running"
}
trap stop_all INT TERM EXIT

# A previous run that was killed hard may have left its services behind.
bash tests/devnet/anvil.sh stop "$run/chain" >/dev/null 2>&1 || true
bash scripts/pg.sh stop "$run/pg" >/dev/null 2>&1 || true
rm -rf "$run/pg" "$run/chain"
mkdir -p "$run/pg" "$run/chain"

say "starting PostgreSQL ($run/pg)"
db=$(bash scripts/pg.sh start "$run/pg")
say "starting the devnet chain ($run/chain)"
rpc=$(bash tests/devnet/anvil.sh start "$run/chain" | tail -n 1)
say "deploying the license and opt-in contracts and running the DIP-5 scenario"
node tests/devnet/deploy.js --rpc "$rpc" --out "$run/network.json" >"$run/deploy.log"
node tests/devnet/scenario.js --rpc "$rpc" --network "$run/network.json" >"$run/scenario.log"

port=${DIMO_HTTP_PORT:-8080}
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
fi

# Live DIP-5 activity: a few random operations (licenses and opt-ins) every
# few seconds, and a shallow reorg every tenth round.
activity() {
  local round=0 seed=$RANDOM child=""
  # Children run in the background and are waited for, so a stop signal
  # is handled at once and takes the running children with it: all of
  # them, by parent, since a signal between a fork and `child=$!` would
  # leave the newest one out of $child (and a background child ignores
  # SIGINT, so it would outlive the stop).
  trap 'pkill -TERM -P $BASHPID 2>/dev/null; exit 0' TERM INT
  while true; do
    round=$((round + 1))
    node tests/devnet/scenario.js --rpc "$rpc" --network "$run/network.json" --ops 4 --optins \
      --seed $((seed + round)) >>"$run/activity.log" 2>&1 &
    child=$!
    wait "$child" || true
    if ((round % 10 == 0)); then
      node tests/devnet/reorg.js --rpc "$rpc" --network "$run/network.json" \
        --depth $((1 + RANDOM % 3)) --seed $((seed + round)) >>"$run/activity.log" 2>&1 &
      child=$!
      wait "$child" || true
    fi
    sleep "${ACTIVITY_SECONDS:-3}" &
    child=$!
    wait "$child" || true
  done
}
activity &
pids+=($!)

say "starting dimo-indexer run (log: $run/indexer.log)"
"$bin" run --network "$run/network.json" --rpc "$rpc" --db "$db" --confirmations 0 \
  --poll-interval 500 --http "127.0.0.1:$port" >"$run/indexer.log" 2>&1 &
indexer=$!
pids+=("$indexer")

for ((i = 0; i < 300; i++)); do
  if curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then
    break
  fi
  if ! kill -0 "$indexer" 2>/dev/null; then
    tail -n 20 "$run/indexer.log" >&2
    say "dimo-indexer exited"
    exit 1
  fi
  sleep 0.2
done

cat <<EOF

  dimo-indexer is following a live local license network.

  chain (anvil):  $rpc
  database:       psql "$db"
  API:            http://127.0.0.1:$port
  page:           http://127.0.0.1:$port/   (auditors: overview, search, licenses, slash ledger, admin actions)
  network file:   $run/network.json
  indexer log:    $run/indexer.log

  Try:
    curl -s http://127.0.0.1:$port/v1/apps/1
    curl -s 'http://127.0.0.1:$port/v1/licenses?class=app&limit=5'
    curl -s http://127.0.0.1:$port/v1/slashes
    curl -s http://127.0.0.1:$port/metrics | grep '^dimo_'
    $bin license 1 --class app --db "$db" --network $run/network.json
    $bin status --db "$db" --network $run/network.json --rpc $rpc

    psql "$db" -c 'SELECT event_name, count(*) FROM logs GROUP BY 1 ORDER BY 2 DESC'
    psql "$db" -c 'SELECT * FROM slashes ORDER BY block_number DESC LIMIT 5'
    psql "$db" -c 'SELECT * FROM monthly_license_metrics'

  Ctrl-C stops everything.
EOF
wait "$indexer"
