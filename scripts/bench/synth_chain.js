#!/usr/bin/env node
'use strict';
// synth_chain.js: stretches a short anvil chain into a long, mostly empty
// one, as an anvil state file, for scripts/bench.sh section (c).
//
//   node scripts/bench/synth_chain.js --rpc URL --first-event-block B
//        --blocks N --keccak PATH --out FILE
//
// Why: anvil 1.7.1 mines each block in time that grows with the height (its
// per-block state snapshot copies every earlier block hash), so anvil_mine
// of a million blocks takes hours here. A state file with the blocks
// already in it loads in seconds, and anvil then serves them like mined
// ones (eth_getLogs, eth_getBlockByNumber, mining on top).
//
// It takes the running chain's state (anvil_dumpState), keeps blocks
// 0..B-1 (deployment, funding) as they are, spreads blocks B..head (the
// blocks with events) evenly over B..N, fills the gaps with empty blocks
// (same header fields as the block before, empty roots and bloom, timestamp
// +2 s), renumbers, re-times and re-links every header, and recomputes
// every hash (Keccak-256 of the header's RLP, by the C helper --keccak, see
// keccak_chain.c), so hash/parentHash chain exactly as anvil computes them.
// Transactions of moved blocks get their new block hash and number. The
// result has best_block_number N.

const fs = require('fs');
const http = require('http');
const zlib = require('zlib');
const { spawnSync } = require('child_process');
const { keccak256Hex } = require('../../tests/devnet/lib/keccak');

function parseArgs(argv) {
  const o = {};
  for (let i = 0; i < argv.length; i += 2) {
    const [a, v] = [argv[i], argv[i + 1]];
    if (v === undefined) throw new Error(`${a} needs a value`);
    if (a === '--rpc') o.rpc = v;
    else if (a === '--first-event-block') o.first = Number(v);
    else if (a === '--blocks') o.blocks = Number(v);
    else if (a === '--keccak') o.keccak = v;
    else if (a === '--out') o.out = v;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!o.rpc || !(o.first >= 1) || !(o.blocks >= 1) || !o.keccak || !o.out) {
    throw new Error('usage: synth_chain.js --rpc URL --first-event-block B --blocks N --keccak PATH --out FILE');
  }
  return o;
}

function rpc(url, method, params) {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method, params });
    const req = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        try {
          const j = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          if (j.error) reject(new Error(`${method}: ${j.error.message}`));
          else resolve(j.result);
        } catch (e) {
          reject(e);
        }
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

// ---- RLP ---------------------------------------------------------------------

function rlpLength(n, offset) {
  if (n < 56) return Buffer.from([offset + n]);
  let h = n.toString(16);
  if (h.length % 2) h = '0' + h;
  const l = Buffer.from(h, 'hex');
  return Buffer.concat([Buffer.from([offset + 55 + l.length]), l]);
}
const rlpString = (b) => (b.length === 1 && b[0] < 0x80 ? b : Buffer.concat([rlpLength(b.length, 0x80), b]));
const bytes = (hex) => Buffer.from(hex.slice(2), 'hex');
function uint(hex) {
  let h = BigInt(hex).toString(16);
  if (h === '0') return Buffer.alloc(0);
  if (h.length % 2) h = '0' + h;
  return Buffer.from(h, 'hex');
}

// The header fields in consensus order (through Cancun); a field absent
// from the header ends the list, as in the chain's own encoding.
const FIELDS = [
  ['parentHash', bytes], ['sha3Uncles', bytes], ['miner', bytes], ['stateRoot', bytes],
  ['transactionsRoot', bytes], ['receiptsRoot', bytes], ['logsBloom', bytes], ['difficulty', uint],
  ['number', uint], ['gasLimit', uint], ['gasUsed', uint], ['timestamp', uint], ['extraData', bytes],
  ['mixHash', bytes], ['nonce', bytes], ['baseFeePerGas', uint], ['withdrawalsRoot', bytes],
  ['blobGasUsed', uint], ['excessBlobGas', uint], ['parentBeaconBlockRoot', bytes], ['requestsHash', bytes],
];

// RLP of a header, and the offset of its parentHash bytes in it.
function headerRlp(h) {
  const items = [];
  for (const [k, enc] of FIELDS) {
    if (h[k] === undefined || h[k] === null) break;
    items.push(rlpString(enc(h[k])));
  }
  const body = Buffer.concat(items);
  const prefix = rlpLength(body.length, 0xc0);
  return { rlp: Buffer.concat([prefix, body]), parentOffset: prefix.length + 1 };
}

const hexq = (n) => '0x' + n.toString(16);
const EMPTY_ROOT = '0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421';
const ZERO_BLOOM = '0x' + '0'.repeat(512);
const ZERO_HASH = '0x' + '0'.repeat(64);
const ZERO32 = Buffer.alloc(32);

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  const dumped = await rpc(o.rpc, 'anvil_dumpState', []);
  const raw = Buffer.from(dumped.slice(2), 'hex');
  const state = JSON.parse((raw[0] === 0x1f && raw[1] === 0x8b ? zlib.gunzipSync(raw) : raw).toString('utf8'));
  const blocks = state.blocks.slice().sort((a, b) => Number(BigInt(a.header.number) - BigInt(b.header.number)));
  const prefix = blocks.filter((b) => Number(BigInt(b.header.number)) < o.first);
  const moved = blocks.filter((b) => Number(BigInt(b.header.number)) >= o.first);
  const last = prefix[prefix.length - 1].header;
  const lastNumber = Number(BigInt(last.number));
  const span = o.blocks - lastNumber;
  if (span < moved.length) throw new Error(`--blocks ${o.blocks} leaves no room for ${moved.length} blocks after #${lastNumber}`);

  // Slot of each moved block among the new numbers lastNumber+1..N.
  const slotOf = new Map();
  moved.forEach((b, k) => slotOf.set(Math.floor(((k + 1) * span) / moved.length) - 1, b));

  // Empty blocks all share one header template (the last kept block's
  // fields with empty roots and bloom); only parentHash, number and
  // timestamp differ, so their RLP and JSON are assembled from fixed pieces.
  const tpl = { ...last, transactionsRoot: EMPTY_ROOT, receiptsRoot: EMPTY_ROOT, logsBloom: ZERO_BLOOM, gasUsed: '0x0' };
  const enc = (k) => rlpString(FIELDS.find((f) => f[0] === k)[1](tpl[k]));
  const present = FIELDS.filter(([k]) => tpl[k] !== undefined && tpl[k] !== null).map(([k]) => k);
  const iNum = present.indexOf('number');
  const iTs = present.indexOf('timestamp');
  const segA = Buffer.concat(present.slice(1, iNum).map(enc));
  const segB = Buffer.concat(present.slice(iNum + 1, iTs).map(enc));
  const segC = Buffer.concat(present.slice(iTs + 1).map(enc));
  const marks = { parentHash: '\u0001P', number: '\u0001N', timestamp: '\u0001T' };
  const tplJson = JSON.stringify({
    header: { ...tpl, parentHash: marks.parentHash, number: marks.number, timestamp: marks.timestamp },
    transactions: [], ommers: [], withdrawals: null,
  });
  const jP = tplJson.split(JSON.stringify(marks.parentHash).slice(1, -1));
  const jN = jP[1].split(JSON.stringify(marks.number).slice(1, -1));
  const jT = jN[1].split(JSON.stringify(marks.timestamp).slice(1, -1));
  const emptyJson = (parent, n, t) => jP[0] + parent + jN[0] + n + jT[0] + t + jT[1];

  // RLP records for the hashing helper, written into one buffer.
  const recs = Buffer.alloc(span * (8 + 3 + 33 + segA.length + 10 + segB.length + 10 + segC.length) + (1 << 20));
  let at = 0;
  const movedHeader = new Map();
  let ts = Number(BigInt(last.timestamp));
  const times = new Float64Array(span);
  for (let i = 0; i < span; i++) {
    ts += 2;
    times[i] = ts;
    const src = slotOf.get(i);
    let rlp;
    let parentOffset;
    if (src) {
      const h = { ...src.header, parentHash: ZERO_HASH, number: hexq(lastNumber + 1 + i), timestamp: hexq(ts) };
      movedHeader.set(i, h);
      ({ rlp, parentOffset } = headerRlp(h));
    } else {
      const body = Buffer.concat([Buffer.from([0xa0]), ZERO32, segA, rlpString(uint(hexq(lastNumber + 1 + i))), segB,
        rlpString(uint(hexq(ts))), segC]);
      const prefix = rlpLength(body.length, 0xc0);
      rlp = Buffer.concat([prefix, body]);
      parentOffset = prefix.length + 1;
    }
    if (at + 8 + rlp.length > recs.length) throw new Error('record buffer too small');
    recs.writeUInt32LE(rlp.length, at);
    recs.writeUInt32LE(parentOffset, at + 4);
    rlp.copy(recs, at + 8);
    at += 8 + rlp.length;
  }
  const firstParent = bytes(keccak256Hex(headerRlp(last).rlp));
  const run = spawnSync(o.keccak, [], { input: Buffer.concat([firstParent, recs.subarray(0, at)]), maxBuffer: 40 * span + (1 << 20) });
  if (run.status !== 0) throw new Error(`keccak helper failed: ${run.stderr}`);
  const hashes = run.stdout;
  if (hashes.length !== 32 * span) throw new Error('keccak helper returned too little');

  // Old hash -> new (hash, number), for the transactions of moved blocks.
  const relink = new Map();
  const out = fs.openSync(o.out, 'w');
  fs.writeSync(out, '{"blocks":[');
  let first = true;
  let buf = [];
  const flush = () => {
    if (!buf.length) return;
    fs.writeSync(out, (first ? '' : ',') + buf.join(','));
    first = false;
    buf = [];
  };
  for (const b of prefix) buf.push(JSON.stringify(b));
  let parent = '0x' + firstParent.toString('hex');
  for (let i = 0; i < span; i++) {
    const hash = '0x' + hashes.toString('hex', 32 * i, 32 * i + 32);
    const src = slotOf.get(i);
    if (src) {
      const h = movedHeader.get(i);
      h.parentHash = parent;
      relink.set(keccak256Hex(headerRlp(src.header).rlp), { hash, number: lastNumber + 1 + i });
      buf.push(JSON.stringify({ ...src, header: h }));
    } else {
      buf.push(emptyJson(parent, hexq(lastNumber + 1 + i), hexq(times[i])));
    }
    parent = hash;
    if (buf.length >= 8192) flush();
  }
  flush();
  fs.writeSync(out, '],"transactions":[');
  const txs = state.transactions.map((t) => {
    const m = relink.get(t.block_hash);
    return JSON.stringify(m ? { ...t, block_hash: m.hash, block_number: m.number } : t);
  });
  fs.writeSync(out, txs.join(','));
  const env = { ...state.block, number: hexq(o.blocks + 1), timestamp: hexq(ts + 2) };
  fs.writeSync(out, `],"block":${JSON.stringify(env)},"accounts":${JSON.stringify(state.accounts)},` +
    `"best_block_number":${o.blocks},"historical_states":null}`);
  fs.closeSync(out);
  process.stdout.write(JSON.stringify({
    blocks: o.blocks, kept: prefix.length, moved: moved.length, relinked_txs: state.transactions.filter((t) => relink.has(t.block_hash)).length,
    head_hash: parent, bytes: fs.statSync(o.out).size, seconds: (Date.now() - t0) / 1000,
  }) + '\n');
}

main().catch((e) => {
  process.stderr.write(`synth_chain: ${e.stack || e.message}\n`);
  process.exit(1);
});
