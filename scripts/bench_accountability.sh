#!/usr/bin/env bash
# bench_accountability.sh: what accountability (#25) costs a backfill: the
# same devnet chain indexed with `sync` by this build and by a baseline
# binary (a build of the commit before #25), through a counting JSON-RPC
# proxy: wall time, JSON-RPC requests per method and HTTP exchanges.
#
#   scripts/bench_accountability.sh BASELINE_BIN [RUNS] [PAD_BLOCKS]
#
# The chain: the devnet, the fixed DIP-5 scenario, the accountability
# scenario (10 admin actions), then PAD_BLOCKS (default 20000) empty
# blocks so the backfill spans many ranges (every range asks one more
# eth_getLogs: DIMO into license contracts).
source "$(dirname "${BASH_SOURCE[0]}")/../tests/integration/lib.sh"
BASE_BIN=${1:?usage: bench_accountability.sh BASELINE_BIN [RUNS] [PAD_BLOCKS]}
RUNS=${2:-3}
PAD=${3:-20000}

it_pg
it_chain
it_deploy
node "$IT_ROOT/tests/devnet/scenario.js" --rpc "$RPC" --network "$NET" >"$WORK/scenario.log"
node "$IT_ROOT/tests/devnet/accountability.js" --rpc "$RPC" --network "$NET" --out "$WORK/oracle.json" >/dev/null
it_rpc anvil_mine "[\"0x$(printf '%x' "$PAD")\"]" >/dev/null
head=$(it_head)

# The counting proxy: forwards every POST, counts requests per method and
# exchanges; GET /counts answers them and resets.
cat >"$WORK/count.js" <<'JS'
const http = require('http');
const up = new URL(process.argv[2]);
let counts = {}, exchanges = 0;
http.createServer((req, res) => {
  if (req.method === 'GET') { res.end(JSON.stringify({ exchanges, counts })); counts = {}; exchanges = 0; return; }
  const parts = [];
  req.on('data', (d) => parts.push(d)).on('end', () => {
    const body = Buffer.concat(parts);
    exchanges++;
    try { for (const r of [].concat(JSON.parse(body))) counts[r.method] = (counts[r.method] || 0) + 1; } catch (e) {}
    const p = http.request({ host: up.hostname, port: up.port, method: 'POST', path: '/',
      headers: { 'content-type': 'application/json', 'content-length': body.length } }, (u) => {
      res.writeHead(u.statusCode, u.headers); u.pipe(res);
    });
    p.end(body);
  });
}).listen(0, '127.0.0.1', function () { console.log(`http://127.0.0.1:${this.address().port}`); });
JS
it_bg proxy node "$WORK/count.js" "$RPC"
for i in $(seq 50); do PROXY=$(head -1 "$WORK/proxy.log" 2>/dev/null || true); [[ -n $PROXY ]] && break; sleep 0.1; done

echo "chain: $head blocks; $(uptime | sed 's/.*load/load/')"
run() {
  local name=$1 bin=$2 n=$3 db t0 t1
  db=$(it_newdb "${name}_$n")
  curl -s "$PROXY/counts" >/dev/null
  t0=$(date +%s.%N)
  "$bin" sync --network "$NET" --rpc "$PROXY" --db "$db" --confirmations 0 --to "$head" >"$WORK/$name.$n.log" 2>&1 ||
    it_fail "$name sync failed: $(tail -3 "$WORK/$name.$n.log")"
  t1=$(date +%s.%N)
  printf '%-9s run %d: %6.2f s  %s\n' "$name" "$n" "$(echo "$t1 - $t0" | bc)" "$(curl -s "$PROXY/counts")"
}
for n in $(seq "$RUNS"); do
  run baseline "$BASE_BIN" "$n"
  run audit "$BIN" "$n"
done
