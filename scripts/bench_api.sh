#!/usr/bin/env bash
# bench_api.sh: throughput and latency of the HTTP API's two hot routes.
#
# Sets up a throwaway PostgreSQL cluster (scripts/pg.sh), an anvil devnet
# with the fixed DIP-5 scenario (tests/devnet), enables dev account 9 as a
# signer of app license 1, runs `dimo-indexer run` with the API on
# loopback, waits for /readyz, then runs wrk against
#   1. GET  /v1/apps/{clientId}   (the license check)
#   2. POST /v1/verify            (a valid EIP-191 signature, wrk Lua script)
#   3. GET  /v1/access            (the same question: the answer cache)
#   4. GET  /v1/access&at_time=   (a new time per request: dimo_access each time)
# and prints requests/s, p50 and p99 of each. Not a test: it asserts nothing
# beyond every answer being 200.
#
# Environment: DURATION (seconds per run, default 10), CONNS (default 16),
# THREADS (wrk threads, default 1), WARMUP (seconds, default 2), PORT
# (default: a free one), KEEP=1 keeps the services and their folder
# running after the runs (prints how to stop them), BUILD_DIR (default
# build).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bin=$root/${BUILD_DIR:-build}/indexer/dimo-indexer
cast=$root/node_modules/.bin/cast
duration=${DURATION:-10}
conns=${CONNS:-16}
threads=${THREADS:-1}
warmup=${WARMUP:-2}

say() { printf 'bench: %s\n' "$*" >&2; }
die() {
  say "$*"
  exit 1
}

command -v wrk >/dev/null || die "wrk is not installed (scripts/setup.sh installs it)"
[[ -x $bin ]] || die "$bin not built (meson compile -C build)"
[[ -x $cast ]] || die "$cast missing (npm ci)"

work=$(mktemp -d /tmp/dimo-bench.XXXXXX)
chmod 755 "$work"
indexer_pid=""
cleanup() {
  if [[ ${KEEP:-0} == 1 ]]; then
    say "kept: $work (indexer pid ${indexer_pid:-none})"
    say "stop: kill $indexer_pid; tests/devnet/anvil.sh stop $work/chain; scripts/pg.sh stop $work/pg"
    return
  fi
  [[ -n $indexer_pid ]] && kill "$indexer_pid" 2>/dev/null && wait "$indexer_pid" 2>/dev/null
  bash tests/devnet/anvil.sh stop "$work/chain" >/dev/null 2>&1 || true
  bash scripts/pg.sh stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  local p
  for _ in $(seq 1 100); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return
    fi
  done
  die "no free port"
}

say "PostgreSQL, anvil, devnet contracts, fixed scenario"
db=$(bash scripts/pg.sh start "$work/pg")
rpc=$(bash tests/devnet/anvil.sh start "$work/chain" | tail -n 1)
net=$work/network.json
node tests/devnet/deploy.js --rpc "$rpc" --out "$net" >"$work/deploy.log"
node tests/devnet/scenario.js --rpc "$rpc" --network "$net" >"$work/scenario.log"

# Dev account 9 signs; the owner of app license 1 (dev account 1) enables it.
app=$(node -e 'console.log(require(process.argv[1]).contracts[0].address)' "$net")
admin=$(node -e 'console.log(require(process.argv[1])["x-admin"])' "$net")
owner1=0x70997970c51812dc3a010c7d01b50e0d17dc79c8
key9=0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6
signer=$("$cast" wallet address --private-key "$key9")
signer=${signer,,}
"$cast" send -q --rpc-url "$rpc" --unlocked --from "$admin" "$app" \
  "setPeriodValidity(uint256)" 31536000 >/dev/null
"$cast" send -q --rpc-url "$rpc" --unlocked --from "$owner1" "$app" \
  "enableSigner(uint256,address)" 1 "$signer" >/dev/null

port=${PORT:-$(free_port)}
base=http://127.0.0.1:$port
say "dimo-indexer run, API on $base"
"$bin" run --network "$net" --rpc "$rpc" --db "$db" --confirmations 0 --http "127.0.0.1:$port" \
  --log-level warn >"$work/run.log" 2>&1 &
indexer_pid=$!
ready=0
for _ in $(seq 1 600); do
  if curl -sf "$base/readyz" >/dev/null 2>&1; then
    ready=1
    break
  fi
  kill -0 "$indexer_pid" 2>/dev/null || die "dimo-indexer exited: $(tail -5 "$work/run.log")"
  sleep 0.1
done
((ready)) || die "/readyz not 200 within 60 s"

# App license 1 of the current contract carries the alias weather-app-v2
# in the fixed scenario (token id 1 alone also matches the old contract's).
client=$(curl -sf "$base/v1/apps/weather-app-v2" | node -e '
  let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    const d = JSON.parse(s);
    if (d.token_id !== "1" || d.contract !== process.argv[1].toLowerCase()) process.exit(1);
    console.log(d.client_id); })' "$app") || die "app license 1 not found by its alias"
message="GET /v1/data nonce=42 $(date -u +%FT%TZ)"
sig=$("$cast" wallet sign --private-key "$key9" "$message")
body=$(node -e 'console.log(JSON.stringify({client_id: process.argv[1], message: process.argv[2], signature: process.argv[3]}))' \
  "$client" "$message" "$sig")
check=$(curl -sf -X POST -H 'content-type: application/json' -d "$body" "$base/v1/verify" |
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s);console.log(v.valid+" "+v.reason+" "+v.signer)})')
[[ $check == "true ok $signer" ]] || die "the verify request is not valid: $check"

# Every script counts the answers other than 200 (run_wrk checks none).
cat >"$work/get.lua" <<'EOF'
local non200 = 0
response = function(status, headers, body)
  if status ~= 200 then non200 = non200 + 1 end
end
done = function(summary, latency, requests)
  io.write(string.format("non-200 answers: %d\n", non200))
end
EOF
cat - "$work/get.lua" >"$work/verify.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [[$body]]
EOF

# The access question (GET /v1/access) about vehicle 1 of the fixed
# scenario and app license 1's client id: the same question (the answer
# cache), and a different at_time on every request (every answer from the
# database: dimo_access).
vehicle=$(node -e 'const n=require(process.argv[1]);const v=n.contracts.find((c)=>c.role==="vehicle");console.log(v?v.address:"")' "$net")
access_path=""
if [[ -n $vehicle ]]; then
  access_path="/v1/access?client_id=$client&asset=$vehicle&token_id=1&permission=1"
  curl -sf "$base$access_path" >/dev/null || die "GET $access_path failed"
  cat - "$work/get.lua" >"$work/access.lua" <<EOF
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "$access_path&at_time=" .. (1700000000 + n))
end
EOF
fi

# Runs wrk; prints "req/s p50 p99" (latencies in ms) and checks the answers.
run_wrk() {
  local name=$1 script=$2 url=$3 out
  out=$work/wrk-$(basename "$script" .lua).txt
  wrk -t"$threads" -c"$conns" -d"${warmup}s" -s "$script" "$url" >/dev/null
  wrk -t"$threads" -c"$conns" -d"${duration}s" --latency -s "$script" "$url" >"$out"
  grep -q '^non-200 answers: 0$' "$out" || die "$name: non-200 answers: $(grep non-200 "$out")"
  node -e '
    const t = require("fs").readFileSync(process.argv[1], "utf8");
    const ms = (v, u) => v * ({ us: 0.001, ms: 1, s: 1000 })[u];
    const lat = (p) => { const m = t.match(new RegExp("^\\s+" + p + "%\\s+([\\d.]+)(us|ms|s)\\s*$", "m")); return m ? ms(+m[1], m[2]) : NaN; };
    const rps = +t.match(/Requests\/sec:\s+([\d.]+)/)[1];
    console.log(`${process.argv[2].padEnd(26)} ${rps.toFixed(0).padStart(8)} req/s   p50 ${lat(50).toFixed(3)} ms   p99 ${lat(99).toFixed(3)} ms`);
  ' "$out" "$name"
}

say "wrk: $threads thread(s), $conns connections, ${duration}s per run after ${warmup}s warm-up, $(nproc) cores"
say "load before the runs:$(uptime | sed 's/.*load average: / /')"
run_wrk "GET /v1/apps/{clientId}" "$work/get.lua" "$base/v1/apps/$client"
run_wrk "POST /v1/verify" "$work/verify.lua" "$base/v1/verify"
if [[ -n $access_path ]]; then
  run_wrk "GET /v1/access (cached)" "$work/get.lua" "$base$access_path"
  run_wrk "GET /v1/access (database)" "$work/access.lua" "$base$access_path"
fi
say "load after the runs:$(uptime | sed 's/.*load average: / /')"
curl -sf "$base/metrics" | grep -E '^dimo_(api_cache_(hits|misses)_total|db_pool_queries_total) ' >&2 || true
