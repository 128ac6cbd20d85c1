#!/usr/bin/env node
'use strict';
// getlogs_loop.js: the node's own eth_getLogs rate, for scripts/bench.sh
// section (c). A tight loop over block ranges doing nothing but the
// eth_getLogs calls dimo-indexer makes for each range: one HTTP request
// holding a JSON-RPC batch of two calls (the license contracts with every
// topic0 of their ABIs; the DIMO token's Transfer out of a license
// contract), sequentially, over one keep-alive connection. No headers, no
// decoding beyond JSON.parse, no database.
//
//   node scripts/bench/getlogs_loop.js --rpc URL --network FILE [--abi-dir DIR]
//        (--ranges FILE | --from A --to B --span S)
//
// --ranges: one "from to" pair per line (the ranges the indexer used);
// otherwise from A to B in steps of S blocks. Prints one JSON line:
// {ranges, blocks, logs, bytes, seconds, blocks_per_s}.

const fs = require('fs');
const http = require('http');
const path = require('path');
const { keccak256Hex } = require('../../tests/devnet/lib/keccak');

function parseArgs(argv) {
  const o = {};
  for (let i = 0; i < argv.length; i += 2) {
    const [a, v] = [argv[i], argv[i + 1]];
    if (v === undefined) throw new Error(`${a} needs a value`);
    if (a === '--rpc') o.rpc = v;
    else if (a === '--network') o.network = v;
    else if (a === '--abi-dir') o.abiDir = v;
    else if (a === '--ranges') o.ranges = v;
    else if (a === '--from') o.from = Number(v);
    else if (a === '--to') o.to = Number(v);
    else if (a === '--span') o.span = Number(v);
    else throw new Error(`unknown argument ${a}`);
  }
  if (!o.rpc || !o.network || !(o.ranges || (o.from >= 0 && o.to >= o.from && o.span >= 1))) {
    throw new Error('usage: getlogs_loop.js --rpc URL --network FILE (--ranges FILE | --from A --to B --span S)');
  }
  o.abiDir = o.abiDir || path.join(__dirname, '..', '..', 'abi');
  return o;
}

// The two filters of dimo-indexer (see build_filters in indexer/sync.c).
function filters(o) {
  const net = JSON.parse(fs.readFileSync(o.network, 'utf8'));
  const addresses = [];
  const topic0s = new Set();
  const froms = [];
  let token = null;
  for (const c of net.contracts) {
    const address = c.address.toLowerCase();
    if (c.role === 'dimo_token') {
      token = token || address;
      continue;
    }
    addresses.push(address);
    if (c.class) froms.push('0x' + address.slice(2).padStart(64, '0'));
    const j = JSON.parse(fs.readFileSync(path.join(o.abiDir, c.abi), 'utf8'));
    for (const e of (Array.isArray(j) ? j : j.abi).filter((x) => x.type === 'event')) {
      topic0s.add(keccak256Hex(Buffer.from(`${e.name}(${e.inputs.map((i) => i.type).join(',')})`)));
    }
  }
  const transfer = keccak256Hex(Buffer.from('Transfer(address,address,uint256)'));
  return {
    main: { address: addresses, topics: [[...topic0s]] },
    token: token ? { address: token, topics: [[transfer], froms] } : null,
  };
}

function post(agent, url, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks)));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const f = filters(o);
  let ranges = [];
  if (o.ranges) {
    ranges = fs.readFileSync(o.ranges, 'utf8').split('\n').filter(Boolean).map((l) => l.trim().split(/\s+/).map(Number));
  } else {
    for (let a = o.from; a <= o.to; a += o.span) ranges.push([a, Math.min(o.to, a + o.span - 1)]);
  }
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const qty = (n) => '0x' + n.toString(16);
  let id = 1;
  let blocks = 0;
  let logs = 0;
  let bytes = 0;
  const t0 = process.hrtime.bigint();
  for (const [a, b] of ranges) {
    const calls = [{ jsonrpc: '2.0', id: id++, method: 'eth_getLogs', params: [{ fromBlock: qty(a), toBlock: qty(b), ...f.main }] }];
    if (f.token) calls.push({ jsonrpc: '2.0', id: id++, method: 'eth_getLogs', params: [{ fromBlock: qty(a), toBlock: qty(b), ...f.token }] });
    const answer = await post(agent, o.rpc, JSON.stringify(calls));
    bytes += answer.length;
    for (const r of JSON.parse(answer.toString('utf8'))) {
      if (r.error) throw new Error(`eth_getLogs ${a}..${b}: ${r.error.message}`);
      logs += r.result.length;
    }
    blocks += b - a + 1;
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  agent.destroy();
  process.stdout.write(JSON.stringify({ ranges: ranges.length, blocks, logs, bytes, seconds, blocks_per_s: blocks / seconds }) + '\n');
}

main().catch((e) => {
  process.stderr.write(`getlogs_loop: ${e.stack || e.message}\n`);
  process.exit(1);
});
