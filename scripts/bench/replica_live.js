#!/usr/bin/env node
'use strict';
// replica_live.js: block mined -> answer changed, on the primary's API and
// on a hot standby's `serve`, for scripts/bench_replica.sh.
//
//   node scripts/bench/replica_live.js --rpc URL --network FILE --primary URL --replica URL
//        [--blocks 200] [--min-gap 50] [--max-gap 450] [--seed 1]
//
// Issues one app license (automine on) and waits until both APIs know it;
// switches automine off, then `--blocks` times: waits a random gap
// (uniform, ms), sends one enableSigner transaction, mines it with
// evm_mine, takes t0 when evm_mine has answered (the block exists), then
// asks both APIs GET /v1/apps/{token} every 2 ms until the new signer is in
// the document: t1 per API. So the replica's figure is the whole path:
// the writer's head poll, the batch commit, WAL shipping and replay, serve's
// model cursor poll, its answer cache. With --standby-db, the standby is
// also asked (one long-lived psql, every 2 ms) when the model cursor there
// reaches the block: the replication part alone. Monotonic clock
// (process.hrtime).
//
// Prints one JSON line: {blocks, primary: {p50_ms, p90_ms, p99_ms, max_ms,
// mean_ms}, replica: {...}, replica_minus_primary: {...}, standby_row:
// {...}}.

const { spawn } = require('child_process');
const { openDevnet } = require('../../tests/devnet/lib/network');
const c = require('../../tests/integration/api_client');

function parseArgs(argv) {
  const o = { blocks: 200, minGap: 50, maxGap: 450, seed: 1 };
  for (let i = 0; i < argv.length; i += 2) {
    const [a, v] = [argv[i], argv[i + 1]];
    if (v === undefined) throw new Error(`${a} needs a value`);
    if (a === '--rpc') o.rpc = v;
    else if (a === '--network') o.network = v;
    else if (a === '--primary') o.primary = v;
    else if (a === '--replica') o.replica = v;
    else if (a === '--standby-db') o.standbyDb = v;
    else if (a === '--blocks') o.blocks = Number(v);
    else if (a === '--min-gap') o.minGap = Number(v);
    else if (a === '--max-gap') o.maxGap = Number(v);
    else if (a === '--seed') o.seed = Number(v);
    else throw new Error(`unknown argument ${a}`);
  }
  if (!o.rpc || !o.network || !o.primary || !o.replica || !(o.blocks >= 1)) {
    throw new Error('usage: replica_live.js --rpc URL --network FILE --primary URL --replica URL [--blocks N]');
  }
  return o;
}

function mulberry32(a) {
  return function next() {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// A psql process fed one query per line; each query must print one line.
class Psql {
  constructor(conninfo) {
    this.p = spawn('psql', [conninfo, '-qAtX'], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.waiting = [];
    this.buf = '';
    this.p.stdout.on('data', (d) => {
      this.buf += d.toString('utf8');
      let nl;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        const w = this.waiting.shift();
        if (w) w(line);
      }
    });
  }

  query(sql) {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.p.stdin.write(sql + ';\n');
    });
  }

  close() {
    this.p.stdin.end();
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

function percentile(sorted, p) {
  const k = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[k];
}

function summary(lat) {
  const sorted = lat.slice().sort((a, b) => a - b);
  const r = (x) => Math.round(x * 10) / 10;
  return {
    p50_ms: r(percentile(sorted, 50)), p90_ms: r(percentile(sorted, 90)), p99_ms: r(percentile(sorted, 99)),
    max_ms: r(sorted[sorted.length - 1]), mean_ms: r(lat.reduce((a, b) => a + b, 0) / lat.length),
  };
}

// Resolves with the time the document of token on base first lists signer.
async function seen(base, token, signer, t0) {
  const path = `/v1/apps/${token}`;
  for (;;) {
    const r = await c.get(base, path);
    if (r.status === 200 && r.text.includes(signer)) return nowMs();
    if (nowMs() - t0 > 30000) throw new Error(`${base}${path} did not list ${signer} within 30 s`);
    await sleep(2);
  }
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const rnd = mulberry32(o.seed);
  const d = openDevnet(o.rpc, o.network);
  const rpc = d.rpc;
  const app = d.apps[0];
  const owner = d.accounts[1];

  await app.send(owner, 'issueInDimo', [''], { gas: 600000 });
  const tokenId = String(await app.call('lastTokenId'));
  const t = nowMs();
  for (const base of [o.primary, o.replica]) {
    for (;;) {
      if ((await c.get(base, `/v1/apps/${tokenId}`)).status === 200) break;
      if (nowMs() - t > 120000) throw new Error(`${base} did not index license ${tokenId} within 120 s`);
      await sleep(20);
    }
  }

  const sdb = o.standbyDb ? new Psql(o.standbyDb) : null;
  // When the standby's model describes block n.
  const replayed = async (n, t0) => {
    if (!sdb) return t0;
    for (;;) {
      if (Number(await sdb.query('SELECT coalesce(max(block_number), -1) FROM model_cursor')) >= n) return nowMs();
      if (nowMs() - t0 > 30000) throw new Error(`the standby did not replay block ${n} within 30 s`);
      await sleep(2);
    }
  };
  await rpc.call('evm_setAutomine', [false]);
  const lp = [];
  const lr = [];
  const ls = [];
  try {
    for (let k = 0; k < o.blocks; k++) {
      await sleep(o.minGap + rnd() * (o.maxGap - o.minGap));
      const signer = '0x' + (0xb2c0000000000000000000000000000000000000n + BigInt(k)).toString(16);
      const tx = app.txReq(owner, 'enableSigner', [tokenId, signer], { gas: 200000 });
      await rpc.call('eth_sendTransaction', [tx]);
      await rpc.call('evm_mine', []);
      const t0 = nowMs();
      const n = Number(BigInt(await rpc.call('eth_blockNumber', [])));
      const [tp, tr, ts] = await Promise.all([
        seen(o.primary, tokenId, signer, t0), seen(o.replica, tokenId, signer, t0), replayed(n, t0)]);
      lp.push(tp - t0);
      lr.push(tr - t0);
      ls.push(ts - t0);
    }
  } finally {
    await rpc.call('evm_setAutomine', [true]).catch(() => {});
    if (rpc.close) rpc.close();
    if (sdb) sdb.close();
  }
  process.stdout.write(JSON.stringify({
    blocks: lr.length, min_gap_ms: o.minGap, max_gap_ms: o.maxGap,
    primary: summary(lp), replica: summary(lr), replica_minus_primary: summary(lr.map((x, i) => x - lp[i])),
    ...(sdb ? { standby_row: summary(ls) } : {}),
  }) + '\n');
  process.exit(0);
}

main().catch((e) => {
  process.stderr.write(`replica_live: ${e.stack || e.message}\n`);
  process.exit(1);
});
