#!/usr/bin/env node
// freshness.js: how soon the API answers a freeze after it is mined, and
// after its block is final (driven by scripts/bench_finality.sh).
//
//   node scripts/bench/freshness.js --rpc NODE --final RPC_WITH_FINALIZED --api BASE \
//     --contract ADDR --admin ADDR --alias ALIAS --samples N
//
// Each sample toggles adminFreeze(1, x) with eth_sendTransaction on NODE,
// then polls every 10 ms: the receipt on NODE (mined: first seen), the
// "finalized" tag on RPC_WITH_FINALIZED (final: first time it reaches the
// receipt's block) and GET BASE/v1/apps/ALIAS (answered: first time
// "frozen" is x). Prints one JSON line per sample and a summary (p50, p99).
'use strict';

const args = Object.fromEntries(process.argv.slice(2).reduce((a, v, i, all) =>
  (v.startsWith('--') ? a.concat([[v.slice(2), all[i + 1]]]) : a), []));
const samples = Number(args.samples || 30);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function rpc(url, method, params) {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
  const j = await r.json();
  if (j.error) throw new Error(`${method}: ${j.error.message}`);
  return j.result;
}

// adminFreeze(uint256,bool): selector 0x + keccak("adminFreeze(uint256,bool)")[0..4],
// given by the shell script (cast sig).
const selector = args.selector;
const word = (v) => BigInt(v).toString(16).padStart(64, '0');

function pct(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

async function frozenNow() {
  const r = await fetch(`${args.api}/v1/apps/${args.alias}`);
  if (r.status !== 200) return null;
  return (await r.json()).frozen;
}

async function main() {
  const mined2answer = [];
  const final2answer = [];
  let want = !(await frozenNow());
  for (let i = 0; i < samples; i++) {
    const tx = await rpc(args.rpc, 'eth_sendTransaction', [{ from: args.admin, to: args.contract,
      data: selector + word(1) + word(want ? 1 : 0) }]);
    let mined = null; let final = null; let answered = null; let block = null;
    const t0 = Date.now();
    while (answered === null || final === null) {
      if (Date.now() - t0 > 120000) throw new Error(`sample ${i}: no answer within 120 s`);
      const now = performance.now();
      if (mined === null) {
        const rc = await rpc(args.rpc, 'eth_getTransactionReceipt', [tx]);
        if (rc) { mined = now; block = Number(BigInt(rc.blockNumber)); }
      }
      if (mined !== null && final === null) {
        const f = await rpc(args.final, 'eth_getBlockByNumber', ['finalized', false]);
        if (f && Number(BigInt(f.number)) >= block) final = performance.now();
      }
      if (mined !== null && answered === null && (await frozenNow()) === want) answered = performance.now();
      await sleep(10);
    }
    const m = answered - mined;
    const f = Math.max(0, answered - final);
    mined2answer.push(m);
    final2answer.push(f);
    console.log(JSON.stringify({ sample: i, block, frozen: want, mined_to_answer_ms: Math.round(m),
      final_to_answer_ms: Math.round(f) }));
    want = !want;
  }
  const r = (xs) => ({ p50: Math.round(pct(xs, 50)), p99: Math.round(pct(xs, 99)),
    max: Math.round(Math.max(...xs)) });
  console.log(JSON.stringify({ summary: true, samples, mined_to_answer_ms: r(mined2answer),
    final_to_answer_ms: r(final2answer) }));
}

main().catch((e) => { console.error(`freshness: ${e.message}`); process.exit(1); });
