#!/usr/bin/env bash
# Starts and stops the devnet's anvil.
#
#   tests/devnet/anvil.sh start DIR [extra anvil args...]
#       anvil on 127.0.0.1, a free port (the kernel picks it: --port 0),
#       --chain-id 137; log DIR/anvil.log, DIR/anvil.pid, DIR/rpc_url.
#       Waits until eth_chainId answers, then prints the URL.
#       History: by default anvil keeps the states of the last 500 blocks in
#       memory and writes every older one as a JSON file (200 KB and more,
#       growing with the chain) to ~/.foundry/anvil/tmp, which it never
#       cleans up, and which makes every block slower to mine. So this script
#       passes --cache-path DIR/anvil-cache (anvil's scratch dir lives in DIR,
#       and stop removes it) and --max-persisted-states 0: eth_call works for
#       the last 500 blocks only. DEVNET_FULL_HISTORY=1 drops the latter (full
#       history, on disk in DIR/anvil-cache). Extra args --cache-path,
#       --prune-history or --max-persisted-states take precedence.
#   tests/devnet/anvil.sh stop DIR [--now]
#       Kills the PID in DIR/anvil.pid (SIGTERM, or SIGKILL with --now),
#       waits until it has exited (a zombie counts as exited: its reaper here
#       is PID 1, which can take over a second), removes DIR/anvil-cache.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
ANVIL="$ROOT/node_modules/.bin/anvil"

usage() { echo "usage: $0 start DIR [anvil args...] | stop DIR [--now]" >&2; exit 2; }

[ $# -ge 2 ] || usage
cmd="$1"; dir="$2"; shift 2

# True while the process exists and is not a zombie (an exited anvil whose
# parent has gone is reaped by PID 1, which can take a second or more).
alive() {
  local st
  kill -0 "$1" 2>/dev/null || return 1
  st="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)"
  [ "$st" != "Z" ]
}

rpc_ok() {
  curl -s -m 2 -H 'content-type: application/json' \
    -d '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "$1" 2>/dev/null | grep -q '"result":"0x89"'
}

case "$cmd" in
start)
  [ -x "$ANVIL" ] || { echo "anvil.sh: $ANVIL not found (npm install at the repo root)" >&2; exit 1; }
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  if [ -f "$dir/anvil.pid" ] && kill -0 "$(cat "$dir/anvil.pid")" 2>/dev/null; then
    echo "anvil.sh: anvil already running in $dir (pid $(cat "$dir/anvil.pid"))" >&2; exit 1
  fi
  rm -f "$dir/rpc_url" "$dir/anvil.pid"
  user_cache=0; user_hist=0
  for a in "$@"; do
    case "$a" in
      --cache-path|--cache-path=*) user_cache=1 ;;
      --prune-history|--prune-history=*|--max-persisted-states|--max-persisted-states=*) user_hist=1 ;;
    esac
  done
  cache_args=()
  [ "$user_cache" = 1 ] || cache_args+=(--cache-path "$dir/anvil-cache")
  if [ "$user_hist" = 0 ] && [ "$user_cache" = 0 ] && [ "${DEVNET_FULL_HISTORY:-0}" != "1" ]; then
    cache_args+=(--max-persisted-states 0)
  fi
  # setsid: own session, so the caller's Ctrl-C / process group does not reach it;
  # it is stopped by PID only.
  setsid "$ANVIL" --host 127.0.0.1 --port 0 --chain-id 137 "${cache_args[@]}" "$@" >"$dir/anvil.log" 2>&1 < /dev/null &
  pid=$!
  echo "$pid" > "$dir/anvil.pid"
  url=""
  for _ in $(seq 1 300); do
    if ! alive "$pid"; then
      echo "anvil.sh: anvil exited early; see $dir/anvil.log:" >&2; tail -n 20 "$dir/anvil.log" >&2; exit 1
    fi
    if [ -z "$url" ]; then
      port="$(sed -n 's/^Listening on 127\.0\.0\.1:\([0-9]\+\).*/\1/p' "$dir/anvil.log" | head -n 1)"
      [ -n "$port" ] && url="http://127.0.0.1:$port"
    fi
    if [ -n "$url" ] && rpc_ok "$url"; then
      echo "$url" > "$dir/rpc_url"
      echo "$url"
      exit 0
    fi
    sleep 0.05
  done
  echo "anvil.sh: anvil did not answer within 15 s; see $dir/anvil.log" >&2
  kill "$pid" 2>/dev/null || true
  exit 1
  ;;
stop)
  [ -f "$dir/anvil.pid" ] || { echo "anvil.sh: no $dir/anvil.pid" >&2; exit 0; }
  pid="$(cat "$dir/anvil.pid")"
  sig=TERM
  [ "${1:-}" = "--now" ] && sig=KILL
  if alive "$pid"; then
    kill -s "$sig" "$pid" 2>/dev/null || true
    for _ in $(seq 1 200); do
      alive "$pid" || break
      sleep 0.025
    done
    if alive "$pid"; then
      kill -9 "$pid" 2>/dev/null || true
      for _ in $(seq 1 80); do alive "$pid" || break; sleep 0.025; done
    fi
  fi
  rm -f "$dir/anvil.pid"
  rm -rf "$dir/anvil-cache"
  ;;
*) usage ;;
esac
