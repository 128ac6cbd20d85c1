#!/usr/bin/env bash
# End to end: README's first command. Starts scripts/start.sh in the
# background (its own run folder and port), waits until /readyz answers 200,
# checks that licenses and a slash appear through the API and the views
# while the live activity runs, stops it with SIGINT (Ctrl-C) and checks
# that no process it started is left.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=$(mktemp -d /tmp/dimo-start.XXXXXX)
chmod 755 "$work"
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
api="http://127.0.0.1:$port"
fail() {
  echo "FAIL: $*" >&2
  local f
  for f in "$work/start.log" "$work/run/indexer.log" "$work/run/activity.log"; do
    [[ -f $f ]] || continue
    echo "--- last lines of $f" >&2
    tail -n 15 "$f" >&2
  done
  exit 1
}

START_RUN_DIR="$work/run" DIMO_HTTP_PORT=$port ACTIVITY_SECONDS=1 \
  setsid bash "$root/scripts/start.sh" >"$work/start.log" 2>&1 &
start_pid=$!
cleanup() {
  kill -INT "$start_pid" 2>/dev/null || true
  sleep 2
  pkill -9 -f "$work/run" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

t0=$SECONDS
until curl -sf "$api/readyz" >/dev/null 2>&1; do
  kill -0 "$start_pid" 2>/dev/null || fail "start.sh exited"
  ((SECONDS - t0 < 300)) || fail "/readyz not 200 within 300 s"
  sleep 0.5
done
echo "ready after $((SECONDS - t0)) s"
for ((i = 0; i < 50; i++)); do
  grep -q "Try:" "$work/start.log" && break
  sleep 0.2
done
grep -q "Try:" "$work/start.log" || fail "start.sh printed no hints"

# Licenses through the API and a slash through both the API and the views.
curl -sf "$api/v1/licenses?class=app&limit=5" | grep -q '"token_id"' || fail "no app licenses via the API"
curl -sf "$api/v1/apps/1" | grep -q '"status"' || fail "GET /v1/apps/1 failed"
curl -sf "$api/v1/slashes" | grep -q '"destination"' || fail "no slash via the API"
db=$(cat "$work/run/pg/conninfo")
n=$(psql "$db" -qAt -c "SELECT count(*) FROM slashes")
((n >= 1)) || fail "no slash in the slashes view"
# The activity keeps going: the cursor moves.
c1=$(psql "$db" -qAt -c "SELECT last_block FROM cursors")
sleep 4
c2=$(psql "$db" -qAt -c "SELECT last_block FROM cursors")
((c2 > c1)) || fail "the live activity did not move the cursor ($c1 -> $c2)"

# Ctrl-C stops everything it started.
kill -INT -- "-$start_pid" 2>/dev/null || kill -INT "$start_pid"
for ((i = 0; i < 100; i++)); do
  kill -0 "$start_pid" 2>/dev/null || break
  sleep 0.2
done
kill -0 "$start_pid" 2>/dev/null && fail "start.sh still running 20 s after Ctrl-C"
# Live processes only: a zombie already exited and is being reaped, and a
# process pgrep saw may have exited since (ps then prints no state: it was
# counted as left behind, CI failed with an empty list once).
alive() {
  local p st out=""
  for p in $1; do
    st=$(ps -o stat= -p "$p" 2>/dev/null || true)
    if [[ -n $st && $st != Z* ]]; then out+="$p "; fi
  done
  echo "${out% }"
}
sleep 1
left=$(alive "$(pgrep -f "$work/run" || true)")
[[ -z $left ]] || fail "processes left behind: $(ps -o pid,args -p "${left// /,}")"
left=$(alive "$(pgrep -g "$start_pid" || true)")
[[ -z $left ]] || fail "processes of its group left behind: $(ps -o pid,args -p "${left// /,}")"
echo "start: ok (ready in $((SECONDS - t0)) s, cursor $c1 -> $c2, $n slash(es))"
