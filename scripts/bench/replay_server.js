#!/usr/bin/env node
'use strict';
// replay_server.js: a JSON-RPC node that answers from memory, for the replay
// benchmark (scripts/bench.sh, section a). It must never be the bottleneck:
// every log is rendered once, at start, as ready JSON in one Buffer per
// stream, and an eth_getLogs answer is a slice of that Buffer written to
// the socket without copying.
//
//   node scripts/bench/replay_server.js --network FILE [--abi-dir DIR]
//        [--events N] [--blocks M] [--seed S] [--port P] [--host H] [--spread]
//
// The chain: blocks 0..M (block 0 empty), N logs spread evenly over blocks
// 1..M (with fewer logs than blocks, one per block from block 1 on, or,
// with --spread, evenly apart), two logs per transaction; hash(n) is a SHA-256 of (seed, n) and
// parentHash(n) = hash(n - 1); timestamp(n) = 1,700,000,000 + 2n. The logs
// are realistic license traffic on the first app_license contract of the
// network file, with the topic0s of its ABI files, as transactions (shares
// of transactions): enableSigner (35%), disableSigner (10%), lock (20%:
// StakeDeposit; its DIMO transfer into the license matches no filter),
// setLicenseAlias (5%), Locked alone (5%), withdraw (15%: DIMO
// Transfer(license -> owner) then StakeWithdraw), issueInDimo (Issued,
// Locked, ERC-721 Transfer from 0x0) or, when fewer than three logs are
// left in the block, a burn (DIMO Transfer(license -> 0x0) then
// AssetForfeit) (10%). Each log carries blockTimestamp, as anvil's and
// recent geth's do.
//
// Methods: eth_chainId, net_version, web3_clientVersion, eth_blockNumber,
// eth_getBlockByNumber (number or tag, headers only), eth_getBlockByHash,
// eth_getTransactionByHash (block and index read from the hash itself),
// eth_getLogs (any range, address and topics filter; the filters
// dimo-indexer sends are answered by slicing, anything else by a scan that
// re-reads each log of the range). Batches are answered in one response.
// GET /stats gives counters (requests, bytes sent, logs served);
// GET /stats?reset=1 also zeroes them.
//
// Prints one JSON line on stdout when listening: {url, events, blocks, head,
// bytes: {main, token}, generate_seconds}.

const http = require('http');
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const { keccak256Hex } = require('../../tests/devnet/lib/keccak');

// ---- options -------------------------------------------------------------

function parseArgs(argv) {
  const o = { events: 1000000, blocks: 100000, seed: 1, port: 0, host: '127.0.0.1', spread: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--network') o.network = next();
    else if (a === '--abi-dir') o.abiDir = next();
    else if (a === '--events') o.events = Number(next());
    else if (a === '--blocks') o.blocks = Number(next());
    else if (a === '--seed') o.seed = Number(next());
    else if (a === '--spread') o.spread = true;
    else if (a === '--port') o.port = Number(next());
    else if (a === '--host') o.host = next();
    else throw new Error(`unknown argument ${a}`);
  }
  if (!o.network) throw new Error('--network FILE is required');
  if (!(Number.isInteger(o.events) && o.events >= 0)) throw new Error('--events must be an integer >= 0');
  if (!(Number.isInteger(o.blocks) && o.blocks >= 1)) throw new Error('--blocks must be an integer >= 1');
  o.abiDir = o.abiDir || path.join(path.dirname(o.network), '..');
  return o;
}

// ---- deterministic helpers ------------------------------------------------

function mulberry32(a) {
  return function next() {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const hex32 = (s) => '0x' + crypto.createHash('sha256').update(s).digest('hex');
// A transaction's hash carries its block and index in its first 12 bytes,
// so eth_getTransactionByHash answers without a table of every transaction.
const txHashOf = (seed, n, i) =>
  '0x' + n.toString(16).padStart(16, '0') + i.toString(16).padStart(8, '0') +
  hex32(`tx:${seed}:${n}:${i}`).slice(26);
// The sender of every replayed transaction (the admin of the license
// contract's forfeits, and everyone else's too: the replay does not model
// roles, and the indexer only asks for admin actions' senders).
const TX_SENDER = '0x' + 'ad'.repeat(20);
const qty = (n) => '0x' + n.toString(16);
const word = (hexNoPrefix) => hexNoPrefix.padStart(64, '0');
const addrTopic = (addr) => '0x' + word(addr.slice(2).toLowerCase());
const uintTopic = (n) => '0x' + word(BigInt(n).toString(16));

// ---- the chain -----------------------------------------------------------

class Chain {
  constructor(o) {
    this.o = o;
    const net = JSON.parse(fs.readFileSync(o.network, 'utf8'));
    this.chainId = Number(net.chain_id);
    this.head = o.blocks;
    const abiOf = (c) => {
      const j = JSON.parse(fs.readFileSync(path.join(o.abiDir, c.abi), 'utf8'));
      return Array.isArray(j) ? j : j.abi;
    };
    const topic0 = (abi, name, types) => {
      const ev = abi.find((e) => e.type === 'event' && e.name === name &&
        e.inputs.map((i) => i.type).join(',') === types);
      if (!ev) throw new Error(`event ${name}(${types}) is not in the ABI`);
      return keccak256Hex(Buffer.from(`${name}(${types})`));
    };
    const app = net.contracts.find((c) => c.role === 'app_license');
    const token = net.contracts.find((c) => c.role === 'dimo_token');
    if (!app || !token) throw new Error('the network file needs an app_license and a dimo_token contract');
    this.licenses = net.contracts.filter((c) => c.role === 'app_license' || c.role === 'manufacturer_license')
      .map((c) => c.address.toLowerCase());
    const appAbi = abiOf(app);
    const tokAbi = abiOf(token);
    this.app = app.address.toLowerCase();
    this.token = token.address.toLowerCase();
    this.t = {
      signerEnabled: topic0(appAbi, 'SignerEnabled', 'uint256,address'),
      signerDisabled: topic0(appAbi, 'SignerDisabled', 'uint256,address'),
      stakeDeposit: topic0(appAbi, 'StakeDeposit', 'uint256,address,uint256'),
      stakeWithdraw: topic0(appAbi, 'StakeWithdraw', 'uint256,address,uint256'),
      transfer721: topic0(appAbi, 'Transfer', 'address,address,uint256'),
      issued: topic0(appAbi, 'Issued', 'uint256,address,address'),
      aliasSet: topic0(appAbi, 'LicenseAliasSet', 'uint256,string'),
      locked: topic0(appAbi, 'Locked', 'uint256'),
      assetForfeit: topic0(appAbi, 'AssetForfeit', 'uint256,uint256'),
      transfer20: topic0(tokAbi, 'Transfer', 'address,address,uint256'),
    };
    this.hashes = new Array(this.head + 1);
    for (let n = 0; n <= this.head; n++) this.hashes[n] = hex32(`block:${o.seed}:${n}`);
    this.byHash = null;
  }

  time(n) { return 1700000000 + 2 * n; }

  // Renders every log; fills this.streams[k] = {buf, off (Float64Array of
  // M + 2 block start offsets, each log followed by a comma), logs}.
  generate() {
    const { events, seed } = this.o;
    const M = this.head;
    const rnd = mulberry32(seed >>> 0);
    const owners = [];
    for (let i = 0; i < 64; i++) owners.push('0x' + crypto.createHash('sha256').update(`owner:${i}`).digest('hex').slice(0, 40));
    const signers = [];
    for (let i = 0; i < 256; i++) signers.push('0x' + crypto.createHash('sha256').update(`signer:${i}`).digest('hex').slice(0, 40));
    const pick = (arr) => arr[Math.floor(rnd() * arr.length)];
    const amount = () => BigInt(1 + Math.floor(rnd() * 1e6)) * 10n ** 15n;
    const zeroAddr = '0x0000000000000000000000000000000000000000';
    const streams = [
      { name: 'main', parts: [], off: new Float64Array(M + 2), cnt: new Float64Array(M + 2), len: 0, logs: 0, chunk: [] },
      { name: 'token', parts: [], off: new Float64Array(M + 2), cnt: new Float64Array(M + 2), len: 0, logs: 0, chunk: [] },
      // DIMO transfers into a license (the follower's inflow request, #25).
      { name: 'inflow', parts: [], off: new Float64Array(M + 2), cnt: new Float64Array(M + 2), len: 0, logs: 0, chunk: [] },
    ];
    const flush = (s) => {
      if (!s.chunk.length) return;
      const b = Buffer.from(s.chunk.join(''), 'latin1');
      s.parts.push(b);
      s.chunk = [];
    };
    const base = Math.floor(events / M);
    const extra = events % M;
    let nextToken = 1;
    for (let n = 0; n <= M; n++) {
      for (const s of streams) {
        s.off[n] = s.len;
        s.cnt[n] = s.logs;
      }
      // --spread: block n holds floor(nN/M) - floor((n-1)N/M) logs, so a
      // sparse chain has its logs evenly apart (not all in the first
      // blocks).
      const count = n === 0 ? 0 : this.o.spread
        ? Math.floor((n * events) / M) - Math.floor(((n - 1) * events) / M)
        : base + (n <= extra ? 1 : 0);
      const bh = this.hashes[n];
      const prefix = `","blockHash":"${bh}","blockNumber":"${qty(n)}","blockTimestamp":"${qty(this.time(n))}","transactionHash":"`;
      // Transactions of one to three logs until the block has `count`.
      let logIndex = 0;
      let txIndex = 0;
      const emit = (s, address, topics, data, txHash) => {
        const json = `{"address":"${address}","topics":["${topics.join('","')}"],"data":"${data}` +
          `${prefix}${txHash}","transactionIndex":"${qty(txIndex)}","logIndex":"${qty(logIndex)}","removed":false},`;
        s.chunk.push(json);
        s.len += json.length;
        s.logs++;
        logIndex++;
      };
      while (logIndex < count) {
        const left = count - logIndex;
        const txHash = txHashOf(seed, n, txIndex);
        const r = rnd();
        const tokenId = 1 + Math.floor(rnd() * 5000);
        const owner = pick(owners);
        const main = streams[0];
        if (r < 0.35 || left === 1 && r >= 0.75) {
          emit(main, this.app, [this.t.signerEnabled, uintTopic(tokenId), addrTopic(pick(signers))], '0x', txHash);
        } else if (r < 0.45) {
          emit(main, this.app, [this.t.signerDisabled, uintTopic(tokenId), addrTopic(pick(signers))], '0x', txHash);
        } else if (r < 0.65) {
          // lock(): DIMO Transfer(owner -> license), then StakeDeposit (the
          // follower checks that stake coming in came with its transfer).
          const a = '0x' + word(amount().toString(16));
          emit(streams[2], this.token, [this.t.transfer20, addrTopic(owner), addrTopic(this.app)], a, txHash);
          emit(main, this.app, [this.t.stakeDeposit, uintTopic(tokenId), addrTopic(owner)], a, txHash);
        } else if (r < 0.70) {
          const alias = Buffer.from(`license-${tokenId}-${Math.floor(rnd() * 1e6)}`);
          const padded = alias.toString('hex').padEnd(Math.ceil(alias.length / 32) * 64, '0');
          emit(main, this.app, [this.t.aliasSet, uintTopic(tokenId)], '0x' + word('20') + word(alias.length.toString(16)) + padded, txHash);
        } else if (r < 0.75) {
          emit(main, this.app, [this.t.locked, uintTopic(tokenId)], '0x', txHash);
        } else if (r < 0.90) {
          // withdraw(): DIMO Transfer(license -> owner), then StakeWithdraw.
          const a = '0x' + word(amount().toString(16));
          emit(streams[1], this.token, [this.t.transfer20, addrTopic(this.app), addrTopic(owner)], a, txHash);
          emit(main, this.app, [this.t.stakeWithdraw, uintTopic(tokenId), addrTopic(owner)], a, txHash);
        } else if (left >= 3) {
          // issueInDimo(""): Issued, Locked, Transfer(0x0 -> owner).
          const id = nextToken++;
          const client = '0x' + crypto.createHash('sha256').update(`client:${id}`).digest('hex').slice(0, 40);
          emit(main, this.app, [this.t.issued, uintTopic(id), addrTopic(owner), addrTopic(client)], '0x', txHash);
          emit(main, this.app, [this.t.locked, uintTopic(id)], '0x', txHash);
          emit(main, this.app, [this.t.transfer721, addrTopic(zeroAddr), addrTopic(owner), uintTopic(id)], '0x', txHash);
        } else {
          // adminBurnLockedFunds(): DIMO Transfer(license -> 0x0), AssetForfeit.
          const v = amount().toString(16);
          emit(streams[1], this.token, [this.t.transfer20, addrTopic(this.app), addrTopic(zeroAddr)], '0x' + word(v), txHash);
          emit(main, this.app, [this.t.assetForfeit, uintTopic(tokenId)], '0x' + word(v), txHash);
        }
        txIndex++;
      }
      if (n % 2000 === 0) for (const st of streams) flush(st);
    }
    for (const s of streams) {
      s.off[M + 1] = s.len;
      s.cnt[M + 1] = s.logs;
      flush(s);
      s.buf = Buffer.concat(s.parts, s.len);
      delete s.parts;
      delete s.chunk;
    }
    this.streams = streams;
    // What each stream holds, to tell whether a filter takes all of it.
    this.shapes = [
      {
        addresses: [this.app],
        topic0s: [this.t.signerEnabled, this.t.signerDisabled, this.t.stakeDeposit, this.t.stakeWithdraw,
          this.t.transfer721, this.t.issued, this.t.aliasSet, this.t.locked, this.t.assetForfeit],
      },
      { addresses: [this.token], topic0s: [this.t.transfer20], topic1s: this.licenses.map(addrTopic) },
      { addresses: [this.token], topic0s: [this.t.transfer20], topic1s: owners.map(addrTopic) },
    ];
  }

  block(n) {
    if (!(n >= 0 && n <= this.head)) return null;
    const zero = '0x' + '0'.repeat(64);
    return `{"number":"${qty(n)}","hash":"${this.hashes[n]}","parentHash":"${n ? this.hashes[n - 1] : zero}",` +
      '"sha3Uncles":"0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347",' +
      '"miner":"0x0000000000000000000000000000000000000000",' +
      `"stateRoot":"${hex32(`state:${n}`)}","transactionsRoot":"${hex32(`txs:${n}`)}","receiptsRoot":"${hex32(`rcpt:${n}`)}",` +
      `"logsBloom":"0x${'0'.repeat(512)}","difficulty":"0x0","gasLimit":"0x1c9c380","gasUsed":"0x0",` +
      `"timestamp":"${qty(this.time(n))}","extraData":"0x","mixHash":"${zero}","nonce":"0x0000000000000000",` +
      '"baseFeePerGas":"0x3b9aca00","size":"0x246","uncles":[],"transactions":[]}';
  }

  blockNumberOf(tag) {
    if (typeof tag === 'number') return tag;
    if (tag === undefined || tag === null || tag === 'latest' || tag === 'pending' || tag === 'safe' || tag === 'finalized') return this.head;
    if (tag === 'earliest') return 0;
    if (typeof tag === 'string' && /^0x[0-9a-fA-F]{1,16}$/.test(tag)) return Number(BigInt(tag));
    return NaN;
  }

  numberOfHash(h) {
    if (!this.byHash) {
      this.byHash = new Map();
      this.hashes.forEach((x, i) => this.byHash.set(x, i));
    }
    const n = this.byHash.get(String(h).toLowerCase());
    return n === undefined ? -1 : n;
  }
}

// ---- filters -------------------------------------------------------------

const lowerList = (v) => (v === undefined || v === null ? null : (Array.isArray(v) ? v : [v]).map((x) => String(x).toLowerCase()));

// 'all' when every log of the stream matches, 'none' when none can, else
// 'scan' (look at each log).
function classify(shape, address, topics) {
  if (address && !shape.addresses.every((a) => address.includes(a))) {
    return shape.addresses.some((a) => address.includes(a)) ? 'scan' : 'none';
  }
  for (let i = 0; i < topics.length; i++) {
    const want = topics[i];
    if (!want) continue;
    const have = i === 0 ? shape.topic0s : i === 1 ? shape.topic1s : null;
    if (!have) return 'scan';
    if (have.every((t) => want.includes(t))) continue;
    return have.some((t) => want.includes(t)) ? 'scan' : 'none';
  }
  return 'all';
}

function logMatches(log, address, topics) {
  if (address && !address.includes(log.address)) return false;
  for (let i = 0; i < topics.length; i++) {
    const want = topics[i];
    if (!want) continue;
    if (i >= log.topics.length || !want.includes(log.topics[i])) return false;
  }
  return true;
}

// ---- JSON-RPC ------------------------------------------------------------

const stats = { requests: 0, calls: 0, getlogs: 0, logs: 0, bytes: 0, started: Date.now() };

function rpcError(id, code, message) {
  return JSON.stringify({ jsonrpc: '2.0', id, error: { code, message } });
}

// Returns the reply to one call as an array of string/Buffer parts.
function answer(chain, req) {
  stats.calls++;
  const id = req && req.id !== undefined ? req.id : null;
  if (!req || typeof req !== 'object' || typeof req.method !== 'string') return [rpcError(id, -32600, 'invalid request')];
  const p = Array.isArray(req.params) ? req.params : [];
  const head = `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":`;
  const ok = (v) => [head + v + '}'];
  switch (req.method) {
    case 'eth_chainId': return ok(`"${qty(chain.chainId)}"`);
    case 'net_version': return ok(`"${chain.chainId}"`);
    case 'web3_clientVersion': return ok('"dimo-bench-replay/1"');
    case 'eth_blockNumber': return ok(`"${qty(chain.head)}"`);
    case 'eth_getBlockByNumber': {
      const n = chain.blockNumberOf(p[0]);
      if (Number.isNaN(n)) return [rpcError(id, -32602, 'invalid block tag')];
      return ok(chain.block(n) || 'null');
    }
    case 'eth_getTransactionByHash': {
      const h = typeof p[0] === 'string' ? p[0].toLowerCase() : '';
      if (!/^0x[0-9a-f]{64}$/.test(h)) return [rpcError(id, -32602, 'invalid transaction hash')];
      const n = parseInt(h.slice(2, 18), 16);
      const i = parseInt(h.slice(18, 26), 16);
      if (!(n >= 1 && n <= chain.head) || txHashOf(chain.o.seed, n, i) !== h) return ok('null');
      return ok(JSON.stringify({
        hash: h, blockHash: chain.hashes[n], blockNumber: qty(n), transactionIndex: qty(i),
        from: TX_SENDER, to: chain.app, input: '0x', value: '0x0', nonce: qty(i), gas: '0x30d40',
      }));
    }
    case 'eth_getBlockByHash': {
      const n = chain.numberOfHash(p[0]);
      return ok(n < 0 ? 'null' : chain.block(n));
    }
    case 'eth_getLogs': {
      stats.getlogs++;
      const f = p[0] && typeof p[0] === 'object' ? p[0] : {};
      let from;
      let to;
      if (f.blockHash !== undefined) {
        from = to = chain.numberOfHash(f.blockHash);
        if (from < 0) return [rpcError(id, -32000, 'unknown block')];
      } else {
        from = chain.blockNumberOf(f.fromBlock === undefined ? 'latest' : f.fromBlock);
        to = chain.blockNumberOf(f.toBlock === undefined ? 'latest' : f.toBlock);
      }
      if (Number.isNaN(from) || Number.isNaN(to)) return [rpcError(id, -32602, 'invalid block range')];
      if (to > chain.head) to = chain.head;
      if (from > to) return ok('[]');
      const address = lowerList(f.address);
      const topics = Array.isArray(f.topics) ? f.topics.map(lowerList) : [];
      const pieces = [];
      chain.streams.forEach((s, k) => {
        const how = classify(chain.shapes[k], address, topics);
        if (how === 'none') return;
        const a = s.off[from];
        const b = s.off[to + 1];
        if (b <= a) return;
        if (how === 'all') {
          pieces.push(s.buf.subarray(a, b - 1));
          stats.logs += s.cnt[to + 1] - s.cnt[from];
          return;
        }
        // Scan: split the slice into logs, keep the matching ones.
        const text = s.buf.toString('latin1', a, b - 1);
        const logs = JSON.parse(`[${text}]`).filter((l) => logMatches(l, address, topics));
        stats.logs += logs.length;
        if (logs.length) pieces.push(JSON.stringify(logs).slice(1, -1));
      });
      // The streams are each in chain order; merge when several answered.
      if (pieces.length >= 2) {
        const all = JSON.parse(`[${pieces.map((x) => x.toString('latin1')).join(',')}]`);
        all.sort((x, y) => Number(BigInt(x.blockNumber) - BigInt(y.blockNumber)) || Number(BigInt(x.logIndex) - BigInt(y.logIndex)));
        return ok(JSON.stringify(all));
      }
      if (pieces.length === 0) return ok('[]');
      return [head + '[', pieces[0], ']}'];
    }
    default:
      return [rpcError(id, -32601, `method ${req.method} not supported`)];
  }
}

function serve(chain, o) {
  const server = http.createServer({ noDelay: true, keepAliveTimeout: 60000 }, (req, res) => {
    if (req.method === 'GET' && req.url.startsWith('/stats')) {
      const body = JSON.stringify({ ...stats, uptime_ms: Date.now() - stats.started });
      if (req.url.includes('reset=1')) Object.assign(stats, { requests: 0, calls: 0, getlogs: 0, logs: 0, bytes: 0, started: Date.now() });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(405, { 'content-length': '0' });
      res.end();
      return;
    }
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      stats.requests++;
      let parts;
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        if (Array.isArray(body)) {
          parts = ['['];
          body.forEach((r, i) => {
            if (i) parts.push(',');
            for (const x of answer(chain, r)) parts.push(x);
          });
          parts.push(']');
        } else {
          parts = answer(chain, body);
        }
      } catch (e) {
        parts = [rpcError(null, -32700, `parse error: ${e.message}`)];
      }
      let len = 0;
      for (const x of parts) len += typeof x === 'string' ? Buffer.byteLength(x, 'latin1') : x.length;
      stats.bytes += len;
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': len });
      res.cork();
      for (const x of parts) res.write(typeof x === 'string' ? Buffer.from(x, 'latin1') : x);
      res.end();
      res.uncork();
    });
  });
  server.listen(o.port, o.host, () => {
    const { port } = server.address();
    const url = `http://${o.host}:${port}`;
    process.stdout.write(JSON.stringify({
      url, events: o.events, blocks: o.blocks, head: chain.head,
      logs: { main: chain.streams[0].logs, token: chain.streams[1].logs },
      bytes: { main: chain.streams[0].buf.length, token: chain.streams[1].buf.length },
      generate_seconds: chain.generateSeconds,
    }) + '\n');
  });
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

function main() {
  let o;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`replay_server: ${e.message}\n`);
    process.exit(2);
  }
  const t0 = process.hrtime.bigint();
  const chain = new Chain(o);
  chain.generate();
  chain.generateSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  serve(chain, o);
}

main();
