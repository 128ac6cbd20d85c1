#!/usr/bin/env bash
# test_rpc.sh: the JSON-RPC client (indexer/rpc.c) against a real anvil,
# directly and through the fault-injecting proxy (tests/tools/rpc_proxy.js).
#
# Starts anvil (--chain-id 137) and the proxy on free ports of 127.0.0.1,
# runs build/tests/integration/rpc_client_test PROXY_URL ANVIL_URL DEAD_URL
# (DEAD_URL: a port nothing listens on), and stops both on exit.
#
# Environment:
#   RPC_TEST_BIN   the test program (default: build/tests/integration/rpc_client_test;
#                  e.g. build-san/tests/integration/rpc_client_test)
#   RPC_TEST_WRAP  a command to run it under, e.g.
#                  "valgrind --leak-check=full --error-exitcode=1"
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
bin=${RPC_TEST_BIN:-$root/build/tests/integration/rpc_client_test}
anvil=$root/node_modules/.bin/anvil

if [[ ! -x $bin ]]; then
  echo "test_rpc: $bin is not built (meson compile -C build)" >&2
  exit 1
fi
if [[ ! -x $anvil ]]; then
  echo "test_rpc: $anvil is missing (bash scripts/setup.sh)" >&2
  exit 1
fi

tmp=$(mktemp -d)
anvil_pid=
proxy_pid=

stop() {
  local pid=$1
  [[ -n $pid ]] || return 0
  kill "$pid" 2>/dev/null || return 0
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local status=$?
  stop "$proxy_pid"
  stop "$anvil_pid"
  if ((status != 0)); then
    echo "--- proxy stderr"
    tail -n 20 "$tmp/proxy.err" 2>/dev/null || true
    echo "--- anvil log"
    tail -n 20 "$tmp/anvil.log" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# Two free ports, held open together so they differ.
read -r anvil_port dead_port < <(node -e '
  const net = require("net");
  const a = net.createServer(), b = net.createServer();
  a.listen(0, "127.0.0.1", () => b.listen(0, "127.0.0.1", () => {
    console.log(a.address().port, b.address().port);
    a.close(); b.close();
  }));')
anvil_url=http://127.0.0.1:$anvil_port
dead_url=http://127.0.0.1:$dead_port

"$anvil" --host 127.0.0.1 --port "$anvil_port" --chain-id 137 \
  --cache-path "$tmp/anvil-cache" --max-persisted-states 0 >"$tmp/anvil.log" 2>&1 &
anvil_pid=$!

# Waits until anvil answers eth_chainId (at most 15 s).
node -e '
  const url = process.argv[1], until = Date.now() + 15000;
  const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] });
  (async function poll() {
    try {
      const r = await fetch(url, { method: "POST", body, headers: { "content-type": "application/json" } });
      if ((await r.json()).result === "0x89") process.exit(0);
    } catch {}
    if (Date.now() > until) { console.error("test_rpc: anvil did not answer"); process.exit(1); }
    setTimeout(poll, 100);
  })();' "$anvil_url"

node tests/tools/rpc_proxy.js --upstream "$anvil_url" --port 0 --seed 7 --control \
  >"$tmp/proxy.out" 2>"$tmp/proxy.err" &
proxy_pid=$!
proxy_url=
for _ in $(seq 1 100); do
  proxy_url=$(head -n 1 "$tmp/proxy.out" 2>/dev/null || true)
  [[ -n $proxy_url ]] && break
  kill -0 "$proxy_pid" 2>/dev/null || break
  sleep 0.05
done
if [[ -z $proxy_url ]]; then
  echo "test_rpc: the proxy did not start" >&2
  exit 1
fi

echo "anvil $anvil_url, proxy $proxy_url, dead $dead_url"
start=$SECONDS
# shellcheck disable=SC2086 # RPC_TEST_WRAP is a command line
${RPC_TEST_WRAP:-} "$bin" "$proxy_url" "$anvil_url" "$dead_url"
echo "test_rpc: passed in $((SECONDS - start)) s"
