#!/usr/bin/env node
'use strict';
// live.js: block-to-row latency of a following indexer, for scripts/bench.sh
// section (d).
//
//   node scripts/bench/live.js --rpc URL --network FILE --db CONNINFO
//        [--blocks 200] [--min-gap 50] [--max-gap 450] [--seed 1]
//
// Issues one license (automine on), waits until the indexer's cursor has
// the head, switches automine off, then `--blocks` times: waits a random
// gap (uniform, ms), sends one enableSigner transaction (one SignerEnabled
// log), mines it with evm_mine, and takes t0 when evm_mine has answered
// (the block exists); then asks PostgreSQL every 2 ms whether the log's row
// is in `logs` and takes t1 when it is. Times are from a monotonic clock
// (process.hrtime). One long-lived psql process answers the polls, so a
// poll costs a round trip, not a connection.
//
// Prints one JSON line: {blocks, min_gap_ms, max_gap_ms, p50_ms, p90_ms,
// p99_ms, max_ms, mean_ms, latencies_ms}.

const { spawn } = require('child_process');
const { openDevnet } = require('../../tests/devnet/lib/network');

function parseArgs(argv) {
  const o = { blocks: 200, minGap: 50, maxGap: 450, seed: 1 };
  for (let i = 0; i < argv.length; i += 2) {
    const [a, v] = [argv[i], argv[i + 1]];
    if (v === undefined) throw new Error(`${a} needs a value`);
    if (a === '--rpc') o.rpc = v;
    else if (a === '--network') o.network = v;
    else if (a === '--db') o.db = v;
    else if (a === '--blocks') o.blocks = Number(v);
    else if (a === '--min-gap') o.minGap = Number(v);
    else if (a === '--max-gap') o.maxGap = Number(v);
    else if (a === '--seed') o.seed = Number(v);
    else throw new Error(`unknown argument ${a}`);
  }
  if (!o.rpc || !o.network || !o.db || !(o.blocks >= 1)) {
    throw new Error('usage: live.js --rpc URL --network FILE --db CONNINFO [--blocks N] [--min-gap MS] [--max-gap MS]');
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
      this.p.stdin.write(sql.replace(/\s*;?\s*$/, ';') + '\n');
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

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const rnd = mulberry32(o.seed);
  const d = openDevnet(o.rpc, o.network);
  const rpc = d.rpc;
  const app = d.apps[0];
  const owner = d.accounts[1];
  const db = new Psql(o.db);

  await app.send(owner, 'issueInDimo', [''], { gas: 600000 });
  const tokenId = await app.call('lastTokenId');
  const head = Number(BigInt(await rpc.call('eth_blockNumber', [])));
  const deadline = nowMs() + 120000;
  for (;;) {
    const c = Number(await db.query('SELECT coalesce(max(last_block), -1) FROM cursors'));
    if (c >= head) break;
    if (nowMs() > deadline) throw new Error(`the indexer did not reach block ${head} within 120 s (at ${c})`);
    await sleep(20);
  }

  await rpc.call('evm_setAutomine', [false]);
  const lat = [];
  try {
    for (let k = 0; k < o.blocks; k++) {
      await sleep(o.minGap + rnd() * (o.maxGap - o.minGap));
      const signer = '0x' + (0xb1c0000000000000000000000000000000000000n + BigInt(k)).toString(16);
      const tx = app.txReq(owner, 'enableSigner', [tokenId, signer], { gas: 200000 });
      const hash = await rpc.call('eth_sendTransaction', [tx]);
      await rpc.call('evm_mine', []);
      const t0 = nowMs();
      const sql = `SELECT count(*) FROM logs WHERE tx_hash = '\\x${hash.slice(2)}'`;
      for (;;) {
        if (Number(await db.query(sql)) > 0) break;
        if (nowMs() - t0 > 30000) throw new Error(`block of tx ${hash} not indexed within 30 s`);
        await sleep(2);
      }
      lat.push(nowMs() - t0);
    }
  } finally {
    await rpc.call('evm_setAutomine', [true]).catch(() => {});
    db.close();
    if (rpc.close) rpc.close();
  }
  const sorted = lat.slice().sort((a, b) => a - b);
  const r = (x) => Math.round(x * 10) / 10;
  process.stdout.write(JSON.stringify({
    blocks: lat.length, min_gap_ms: o.minGap, max_gap_ms: o.maxGap,
    p50_ms: r(percentile(sorted, 50)), p90_ms: r(percentile(sorted, 90)), p99_ms: r(percentile(sorted, 99)),
    max_ms: r(sorted[sorted.length - 1]), mean_ms: r(lat.reduce((a, b) => a + b, 0) / lat.length),
    latencies_ms: lat.map(r),
  }) + '\n');
}

main().catch((e) => {
  process.stderr.write(`live: ${e.stack || e.message}\n`);
  process.exit(1);
});
