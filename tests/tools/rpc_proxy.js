#!/usr/bin/env node
// rpc_proxy.js: a fault-injecting JSON-RPC HTTP proxy for tests (Node 20,
// no dependencies). It listens on 127.0.0.1, forwards POSTs to an upstream
// node (anvil) and, with seeded randomness, breaks some of them the ways
// real providers do. See tests/tools/README.md for the flags and the
// control protocol.
//
//   node tests/tools/rpc_proxy.js --upstream http://127.0.0.1:8545 \
//       [--port 0] [--seed 1] [--control] [--<setting> <value> ...]
//
// The first line on stdout is the proxy's URL. Answers stream through
// unless a setting needs to rewrite them; every buffer is capped.
'use strict';

const http = require('node:http');

const MAX_REQUEST = 32 << 20; // bytes of a client request body
const MAX_REWRITE = 64 << 20; // bytes of an upstream answer buffered to rewrite it
const HOLD_MS = 10 * 60 * 1000; // a held ("timeout") request is dropped after this

// Exchange-level faults, tried in this order; the first whose coin comes
// up wins.
const FAULTS = ['http429', 'http429_noretry', 'http500', 'http502', 'http503', 'timeout', 'reset',
  'truncate', 'malformed', 'wrong_id', 'oversize'];
// Per-request rates inside a batch.
const REQUEST_RATES = ['header_not_found', 'drop_logs'];
const RANGE_FAMILIES = ['-32005', 'range_too_wide', 'too_large', 'log_size', 'too_big', 'limited',
  'suggest'];

const DEFAULTS = Object.freeze({
  ...Object.fromEntries(FAULTS.map((k) => [k, 0])),
  retry_after: 1, // seconds sent with http429
  retry_after_date: false, // send Retry-After as an HTTP-date instead
  truncate_mode: 'length', // length | chunked | close
  oversize_bytes: 300 * 1024 * 1024,
  oversize_length: false, // announce Content-Length for oversize answers
  fault_budget: null, // after this many injected faults every rate drops to 0
  fault_for_ms: null, // ... or after this long
  delay_ms: 0, // latency added before forwarding
  delay_jitter_ms: 0, // plus a random 0..N ms per exchange (answers come back out of order)
  max_inflight: 0, // exchanges served at once; past it HTTP 429 + Retry-After (0: no limit)
  state_from: null, // a pruned node: state queries (eth_getCode...) below this block fail
  lag_head: 0, // eth_blockNumber answers this many blocks behind
  header_not_found: 0, // rate: eth_getBlockByNumber -> -32000 "header not found"
  drop_logs: 0, // rate: eth_getLogs -> []
  drop_logs_recent: 0, // drop only answers reaching the last N blocks (0: any); a lagging node
  max_range: 0, // eth_getLogs spanning more blocks than this fail (0: no limit)
  max_range_error: '-32005', // one of RANGE_FAMILIES
  max_range_hint: 'both', // for -32005: data | message | both | none
  limit_hold_ms: 0, // a max_range error waits until logs from a higher block were answered, or this long
  // Lies (tests/integration/test_hostile_rpc.sh): each count is how many
  // more times it happens; the batch is then answered whole, rewritten.
  finalized_lag: null, // "finalized" tag answered as head - N itself (null: the node's)
  fake_headers: 0, // batches whose numbered headers get invented hashes
  lie_log_hash: 0, // eth_getLogs answers whose mid-range logs get a false blockHash
  limit_once: 0, // eth_getLogs answered "up to a 1 block range"
  forge_error: 0, // eth_getLogs answered with an error message carrying a newline and ESC
  corrupt_log_data: 0, // eth_getLogs answers whose first log with data is cut to one byte
  unasked_topic0: 0, // topic-filtered eth_getLogs answers whose first log gets a topic0 the filter did not name
  drop_tx: 0, // eth_getTransactionByHash answered null (a node without the transaction)
  lie_tx_block: 0, // eth_getTransactionByHash answers with a false blockHash
});

const SETTINGS = {
  retry_after: 'number', retry_after_date: 'boolean', truncate_mode: ['length', 'chunked', 'close'],
  oversize_bytes: 'number', oversize_length: 'boolean', fault_budget: 'count',
  fault_for_ms: 'count', delay_ms: 'number', lag_head: 'number', max_range: 'number',
  delay_jitter_ms: 'number', max_inflight: 'count', state_from: 'count',
  drop_logs_recent: 'number', limit_hold_ms: 'number',
  max_range_error: RANGE_FAMILIES, max_range_hint: ['data', 'message', 'both', 'none'],
  finalized_lag: 'count', fake_headers: 'number', lie_log_hash: 'number', limit_once: 'number',
  forge_error: 'number', corrupt_log_data: 'number', drop_tx: 'number', lie_tx_block: 'number',
  unasked_topic0: 'number',
};
const LIES = ['finalized', 'fake_headers', 'lie_log_hash', 'limit_once', 'forge_error',
  'corrupt_log_data', 'drop_tx', 'lie_tx_block', 'unasked_topic0'];
for (const k of [...FAULTS, ...REQUEST_RATES]) SETTINGS[k] = 'rate';

// ---- seeded randomness (mulberry32) ----
function makeRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---- settings ----
const cfg = { ...DEFAULTS };
let budgetLeft = null;
let faultsUntil = null;
let random = makeRandom(1);

function setSetting(key, value) {
  const kind = SETTINGS[key];
  if (!kind) throw new Error(`unknown setting ${key}`);
  if (kind === 'rate') {
    const v = Number(value);
    if (!(v >= 0 && v <= 1)) throw new Error(`${key} must be a rate in [0, 1]`);
    cfg[key] = v;
  } else if (kind === 'number') {
    const v = Number(value);
    if (!Number.isFinite(v) || v < 0) throw new Error(`${key} must be a number >= 0`);
    cfg[key] = v;
  } else if (kind === 'count') {
    const v = value === null || value === 'null' ? null : Number(value);
    if (v !== null && !(Number.isInteger(v) && v >= 0)) throw new Error(`${key}: integer or null`);
    cfg[key] = v;
    if (key === 'fault_budget') budgetLeft = v;
    if (key === 'fault_for_ms') faultsUntil = v === null ? null : Date.now() + v;
  } else if (kind === 'boolean') {
    if (value !== true && value !== false && value !== 'true' && value !== 'false')
      throw new Error(`${key} must be true or false`);
    cfg[key] = value === true || value === 'true';
  } else {
    if (!kind.includes(String(value))) throw new Error(`${key} must be one of ${kind.join(', ')}`);
    cfg[key] = String(value);
  }
}

// A control body: settings, plus "clear": true (back to the defaults
// first), "clear_stats": true (zero the counters), "seed": n (restart the
// random sequence).
function applySettings(obj) {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj))
    throw new Error('expected a JSON object');
  if (obj.clear) {
    Object.assign(cfg, DEFAULTS);
    budgetLeft = null;
    faultsUntil = null;
  }
  if (obj.clear_stats) resetStats();
  if (obj.seed !== undefined) random = makeRandom(Number(obj.seed));
  if (obj.upstream !== undefined) switchUpstream(new URL(String(obj.upstream)));
  for (const [k, v] of Object.entries(obj)) {
    if (k !== 'clear' && k !== 'clear_stats' && k !== 'seed' && k !== 'upstream') setSetting(k, v);
  }
}

// A control body may also switch the upstream: {"upstream": URL} (a node
// replaced by another, possibly of another chain).
let switchUpstream = null;

function clearRates() {
  for (const k of [...FAULTS, ...REQUEST_RATES]) cfg[k] = 0;
  budgetLeft = null;
  faultsUntil = null;
  cfg.fault_budget = null;
  cfg.fault_for_ms = null;
}

// Flips the coin for a rate, counting what it injects against the budget.
function coin(key) {
  if (faultsUntil !== null && Date.now() >= faultsUntil) clearRates();
  if (!(cfg[key] > 0) || random() >= cfg[key]) return false;
  if (budgetLeft !== null && --budgetLeft <= 0) clearRates();
  return true;
}

// ---- statistics ----
let stats;
let nextSeq = 0;
const openSeqs = new Set(); // exchanges served and not yet answered, by arrival
let rpcSockets = new WeakSet();
function resetStats() {
  rpcSockets = new WeakSet();
  stats = {
    requests: 0, // HTTP requests (control and stats excluded)
    rpc_requests: 0, // JSON-RPC requests inside them
    connections: 0, // TCP connections accepted (control ones included)
    rpc_connections: 0, // connections that carried JSON-RPC requests
    in_flight: stats ? stats.in_flight : 0,
    in_flight_max: 0,
    served_in_flight: stats ? stats.served_in_flight : 0, // under max_inflight
    served_in_flight_max: 0,
    inflight_429: 0, // 429s sent for max_inflight
    out_of_order: 0, // exchanges answered while one that arrived earlier was still open
    forwarded: 0, // upstream requests
    upstream_errors: 0,
    bytes_out: 0,
    faults: Object.fromEntries(FAULTS.map((k) => [k, 0])),
    modes: { lag_head: 0, header_not_found: 0, drop_logs: 0, max_range: 0, state_refused: 0,
      limit_held: 0, limit_released_early: 0,
      ...Object.fromEntries(LIES.map((k) => [k, 0])) },
  };
}
resetStats();

// ---- CLI ----
function parseArgs(argv) {
  const opts = { upstream: null, port: 0, seed: 1, control: false, verbose: false, settings: {} };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const key = a.slice(2).replace(/-/g, '_');
    if (key === 'control' || key === 'verbose') {
      opts[key] = true;
      continue;
    }
    if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
    const v = argv[++i];
    if (key === 'upstream') opts.upstream = new URL(v);
    else if (key === 'port') opts.port = Number(v);
    else if (key === 'seed') opts.seed = Number(v);
    else if (SETTINGS[key]) opts.settings[key] = v;
    else throw new Error(`unknown flag ${a}`);
  }
  if (!opts.upstream) throw new Error('--upstream URL is required');
  return opts;
}

// ---- helpers ----
const toHex = (n) => '0x' + n.toString(16);
const jsonHeaders = { 'Content-Type': 'application/json' };

function note(opts, msg) {
  if (opts.verbose) process.stderr.write(`rpc_proxy: ${msg}\n`);
}

function readBody(stream, cap) {
  return new Promise((resolve, reject) => {
    const parts = [];
    let len = 0;
    stream.on('data', (c) => {
      len += c.length;
      if (len > cap) {
        stream.destroy();
        reject(Object.assign(new Error('body too large'), { tooLarge: true }));
      } else {
        parts.push(c);
      }
    });
    stream.on('end', () => resolve(Buffer.concat(parts)));
    stream.on('error', reject);
  });
}

function send(res, status, headers, body) {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body);
  stats.bytes_out += buf.length;
  res.writeHead(status, { ...headers, 'Content-Length': buf.length });
  res.end(buf);
}

// One POST to the upstream; resolves with the response stream.
function upstreamRequest(ctx, body) {
  stats.forwarded++;
  return new Promise((resolve, reject) => {
    const req = http.request(ctx.upstream, {
      method: 'POST',
      agent: ctx.agent,
      headers: { 'Content-Type': 'application/json', 'Content-Length': body.length },
    });
    req.on('response', resolve);
    req.on('error', reject);
    req.end(body);
  });
}

async function upstreamJson(ctx, body) {
  const up = await upstreamRequest(ctx, Buffer.from(JSON.stringify(body)));
  const raw = await readBody(up, MAX_REWRITE);
  return JSON.parse(raw.toString('utf8'));
}

async function upstreamHead(ctx) {
  const r = await upstreamJson(ctx, { jsonrpc: '2.0', id: 1, method: 'eth_blockNumber', params: [] });
  const head = Number(BigInt(r.result)) - cfg.lag_head;
  return head < 0 ? 0 : head;
}

// ---- exchange-level faults ----
function sendOversize(res, id, size, announce) {
  const head = Buffer.from(`[{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":"0x`);
  const tail = Buffer.from('"}]');
  const fill = Buffer.alloc(64 * 1024, 'ab');
  let left = Math.max(0, size - head.length - tail.length);
  res.writeHead(200, announce ? { ...jsonHeaders, 'Content-Length': head.length + left + tail.length }
    : jsonHeaders);
  let closed = false;
  res.on('close', () => { closed = true; });
  res.write(head);
  const pump = () => {
    while (!closed && left > 0) {
      const n = Math.min(left, fill.length);
      left -= n;
      stats.bytes_out += n;
      if (!res.write(n === fill.length ? fill : fill.subarray(0, n))) {
        res.once('drain', pump);
        return;
      }
    }
    if (!closed) res.end(tail);
  };
  pump();
}

function sendMalformed(res) {
  const variants = [
    '[{"jsonrpc":"2.0","id":1,"result":"0x1"},{"jsonrpc":',
    '<html><body><h1>502 Bad Gateway</h1></body></html>',
    '{"jsonrpc":"2.0","id":1,"result":0x12}',
    '',
  ];
  send(res, 200, jsonHeaders, variants[Math.floor(random() * variants.length)]);
}

async function sendTruncated(ctx, res, body) {
  const up = await upstreamRequest(ctx, body);
  const raw = await readBody(up, MAX_REWRITE);
  const half = raw.subarray(0, Math.floor(raw.length / 2));
  stats.bytes_out += half.length;
  if (cfg.truncate_mode === 'close') {
    // No length, no chunking: the body ends where the connection does.
    const sock = res.socket;
    sock.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n');
    sock.end(half);
    return;
  }
  const headers = cfg.truncate_mode === 'length' ? { ...jsonHeaders, 'Content-Length': raw.length }
    : jsonHeaders;
  res.writeHead(200, headers);
  res.write(half, () => res.destroy());
}

async function sendWrongIds(ctx, res, body) {
  const up = await upstreamRequest(ctx, body);
  const raw = await readBody(up, MAX_REWRITE);
  let out;
  try {
    const parsed = JSON.parse(raw.toString('utf8'));
    const shift = (r) => ({ ...r, id: typeof r.id === 'number' ? r.id + 1000003 : 999999 });
    if (Array.isArray(parsed)) {
      // Alternate between shifted ids and a duplicated id.
      out = random() < 0.5 || parsed.length < 2 ? parsed.map(shift)
        : parsed.map((r, i) => (i === 1 ? { ...r, id: parsed[0].id } : r));
    } else {
      out = shift(parsed);
    }
  } catch {
    out = { jsonrpc: '2.0', id: 999999, result: null };
  }
  send(res, 200, jsonHeaders, JSON.stringify(out));
}

// ---- per-request modes ----
function blockParam(tag, head) {
  if (tag === undefined || tag === null) return head;
  if (typeof tag === 'string' && /^0x[0-9a-fA-F]+$/.test(tag)) return Number(BigInt(tag));
  if (tag === 'earliest') return 0;
  return head; // latest, safe, finalized, pending
}

function needsHead(filter) {
  const isTag = (t) => t === undefined || t === null || (typeof t === 'string' && !t.startsWith('0x'));
  return filter && !filter.blockHash && (isTag(filter.fromBlock) || isTag(filter.toBlock));
}

function rangeError(from, n) {
  const a = toHex(from);
  const b = toHex(from + n - 1);
  switch (cfg.max_range_error) {
    case '-32005': {
      const e = { code: -32005, message: 'query returned more than 10000 results' };
      if (cfg.max_range_hint === 'message' || cfg.max_range_hint === 'both')
        e.message += `. Try with this block range [${a}, ${b}].`;
      if (cfg.max_range_hint === 'data' || cfg.max_range_hint === 'both') e.data = { from: a, to: b };
      return e;
    }
    case 'range_too_wide':
      return { code: -32000, message: 'block range is too wide' };
    case 'too_large':
      return { code: -32000, message: 'block range too large' };
    case 'log_size':
      return {
        code: -32602,
        message: 'Log response size exceeded. You can make eth_getLogs requests with up to a 2K ' +
          'block range and no limit on the response size, or you can request any block range ' +
          'with a cap of 10K logs in the response',
      };
    case 'too_big':
      return { code: -32008, message: 'response is too big' };
    case 'limited':
      return { code: -32000, message: `eth_getLogs is limited to a ${n} blocks range` };
    default: // suggest
      return { code: -32602, message: `try with this block range [${a}, ${b}]` };
  }
}

// drop_logs applies to every eth_getLogs, or with drop_logs_recent N only
// to those reaching the last N blocks (the logs a lagging node lacks).
async function dropApplies(ctx, it) {
  if (!(cfg.drop_logs_recent > 0)) return true;
  const f = Array.isArray(it.params) && it.params[0];
  if (!f || f.blockHash) return true;
  const h = await upstreamHead(ctx);
  return blockParam(f.toBlock, h) > h - cfg.drop_logs_recent;
}

// Splits a batch into answers made here and requests to forward.
// State queries and the index of their block parameter (state_from).
const STATE_METHODS = { eth_getCode: 1, eth_getBalance: 1, eth_getStorageAt: 2, eth_call: 1,
  eth_getTransactionCount: 1 };

async function planBatch(ctx, items) {
  const local = []; // finished replies
  const lagged = []; // eth_blockNumber requests to answer behind the head
  const forward = [];
  let head = null;
  let limited = false;
  for (const it of items) {
    const m = it && typeof it === 'object' ? it.method : undefined;
    const reply = (fields) => local.push({ jsonrpc: '2.0', id: it.id ?? null, ...fields });
    if (m === 'eth_getBlockByNumber' && coin('header_not_found')) {
      stats.modes.header_not_found++;
      reply({ error: { code: -32000, message: 'header not found' } });
    } else if (m === 'eth_getLogs' && cfg.drop_logs > 0 && await dropApplies(ctx, it) &&
      coin('drop_logs')) {
      stats.modes.drop_logs++;
      reply({ result: [] });
    } else if (m === 'eth_getLogs' && cfg.max_range > 0 && Array.isArray(it.params) &&
      it.params[0] && !it.params[0].blockHash) {
      const f = it.params[0];
      if (head === null && needsHead(f)) head = await upstreamHead(ctx);
      const from = blockParam(f.fromBlock, head);
      const to = blockParam(f.toBlock, head);
      if (to >= from && to - from + 1 > cfg.max_range) {
        stats.modes.max_range++;
        limited = true;
        reply({ error: rangeError(from, cfg.max_range) });
      } else {
        forward.push(it);
      }
    } else if (cfg.state_from !== null && STATE_METHODS[m] !== undefined && Array.isArray(it.params) &&
      typeof it.params[STATE_METHODS[m]] === 'string' && it.params[STATE_METHODS[m]].startsWith('0x') &&
      Number(BigInt(it.params[STATE_METHODS[m]])) < cfg.state_from) {
      stats.modes.state_refused++;
      reply({ error: { code: -32000, message: 'missing trie node 0000000000000000000000000000000000000000000000000000000000000000 (path )' } });
    } else if (m === 'eth_blockNumber' && cfg.lag_head > 0) {
      lagged.push(it);
    } else {
      forward.push(it);
    }
  }
  if (lagged.length) {
    const answers = await upstreamJson(ctx, lagged);
    for (const r of Array.isArray(answers) ? answers : [answers]) {
      if (r && typeof r.result === 'string') {
        const v = BigInt(r.result) - BigInt(cfg.lag_head);
        r.result = toHex(v < 0n ? 0n : v);
        stats.modes.lag_head++;
      }
      local.push(r);
    }
  }
  return { local, forward, limited };
}

// ---- lies: the batch is answered whole, rewritten ----
function lying() {
  return cfg.finalized_lag !== null || cfg.fake_headers > 0 || cfg.lie_log_hash > 0 ||
    cfg.limit_once > 0 || cfg.forge_error > 0 || cfg.corrupt_log_data > 0 || cfg.drop_tx > 0 ||
    cfg.lie_tx_block > 0 || cfg.unasked_topic0 > 0;
}

const numbered = (it) => Array.isArray(it.params) && typeof it.params[0] === 'string' &&
  /^0x[0-9a-fA-F]+$/.test(it.params[0]);
// An invented 32-byte hash, different from h and stable for it.
const fakeHash = (h) => '0x' + [...h.slice(2)].map((c) => (parseInt(c, 16) ^ 0xa).toString(16)).join('');

async function answerLying(ctx, res, parsed, items) {
  const local = new Map();
  const forward = [];
  for (const it of items) {
    const m = it && it.method;
    const f = m === 'eth_getLogs' && Array.isArray(it.params) ? it.params[0] : null;
    const span = f && !f.blockHash ? blockParam(f.toBlock, 0) - blockParam(f.fromBlock, 0) + 1 : 0;
    if (m === 'eth_getBlockByNumber' && cfg.finalized_lag !== null && Array.isArray(it.params) &&
      it.params[0] === 'finalized') {
      const head = await upstreamHead(ctx);
      const n = Math.max(0, head - cfg.finalized_lag);
      const r = await upstreamJson(ctx, { jsonrpc: '2.0', id: it.id, method: m,
        params: [toHex(n), false] });
      stats.modes.finalized++;
      local.set(it.id, r);
    } else if (m === 'eth_getBlockByNumber' && numbered(it) && coin('header_not_found')) {
      stats.modes.header_not_found++;
      local.set(it.id, { jsonrpc: '2.0', id: it.id, error: { code: -32000, message: 'header not found' } });
    } else if (f && span > 1 && cfg.limit_once > 0) {
      cfg.limit_once--;
      stats.modes.limit_once++;
      local.set(it.id, { jsonrpc: '2.0', id: it.id, error: { code: -32602, message:
        'Log response size exceeded. You can make eth_getLogs requests with up to a 1 block ' +
        'range and no limit on the response size' } });
    } else if (f && cfg.forge_error > 0) {
      cfg.forge_error--;
      stats.modes.forge_error++;
      local.set(it.id, { jsonrpc: '2.0', id: it.id, error: { code: -32000, message:
        'busy\n2026-01-01T00:00:00.000Z ERROR sync: FORGED LINE \u001b[31mred\u001b[0m' } });
    } else if (m === 'eth_getTransactionByHash' && cfg.drop_tx > 0) {
      cfg.drop_tx--;
      stats.modes.drop_tx++;
      local.set(it.id, { jsonrpc: '2.0', id: it.id, result: null });
    } else {
      forward.push(it);
    }
  }
  const got = forward.length ? await upstreamJson(ctx, forward) : [];
  const up = Array.isArray(got) ? got : [got];
  const byId = new Map(items.map((it) => [it && it.id, it]));
  let faked = false;
  for (const r of up) {
    const it = byId.get(r && r.id);
    if (!it || !r.result) continue;
    if (it.method === 'eth_getBlockByNumber' && cfg.fake_headers > 0 && numbered(it)) {
      r.result.hash = fakeHash(r.result.hash);
      r.result.parentHash = fakeHash(r.result.parentHash);
      faked = true;
    } else if (it.method === 'eth_getTransactionByHash' && cfg.lie_tx_block > 0 && r.result.blockHash) {
      cfg.lie_tx_block--;
      stats.modes.lie_tx_block++;
      r.result.blockHash = fakeHash(r.result.blockHash);
    } else if (it.method === 'eth_getLogs' && Array.isArray(r.result) && r.result.length) {
      const f = it.params[0];
      const from = blockParam(f.fromBlock, 0);
      const to = blockParam(f.toBlock, 0);
      const mid = r.result.filter((l) => { const b = Number(BigInt(l.blockNumber)); return b > from && b < to; });
      if (cfg.lie_log_hash > 0 && mid.length) {
        cfg.lie_log_hash--;
        stats.modes.lie_log_hash++;
        for (const l of mid) l.blockHash = fakeHash(l.blockHash);
      }
      // A provider that ignores a filter's topics: a log under a topic0
      // the filter did not name (and no ABI knows).
      if (cfg.unasked_topic0 > 0 && Array.isArray(f.topics) && f.topics[0] && r.result[0].topics.length) {
        cfg.unasked_topic0--;
        stats.modes.unasked_topic0++;
        r.result[0].topics[0] = fakeHash(r.result[0].topics[0]);
      }
      const withData = r.result.find((l) => typeof l.data === 'string' && l.data.length > 4);
      if (cfg.corrupt_log_data > 0 && withData) {
        cfg.corrupt_log_data--;
        stats.modes.corrupt_log_data++;
        withData.data = withData.data.slice(0, 4);
      }
    }
  }
  if (faked) {
    cfg.fake_headers--;
    stats.modes.fake_headers++;
  }
  for (const r of up) if (r) local.set(r.id, r);
  const out = items.map((it) => local.get(it && it.id) ||
    { jsonrpc: '2.0', id: (it && it.id) ?? null, error: { code: -32603, message: 'no answer' } });
  return send(res, 200, jsonHeaders, JSON.stringify(Array.isArray(parsed) ? out : out[0]));
}

// Streams an upstream batch answer with extra replies spliced in front:
// "[" + local + "," + the upstream array's elements. A non-array answer
// (the node refused the batch) passes through unchanged.
function spliceStream(up, res, local) {
  const extra = local.map((r) => JSON.stringify(r)).join(',');
  let state = 0; // 0: before "[", 1: after "[" before the first element, 2: passthrough
  res.writeHead(up.statusCode, jsonHeaders);
  const out = (b) => {
    stats.bytes_out += b.length;
    return res.write(b);
  };
  up.on('data', (chunk) => {
    let i = 0;
    while (state < 2 && i < chunk.length) {
      const c = chunk[i];
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
        i++;
      } else if (state === 0 && c === 0x5b) {
        state = 1;
        i++;
      } else if (state === 0) {
        state = 2; // not an array
      } else {
        out(Buffer.from('[' + extra + (c === 0x5d ? '' : ',')));
        state = 2;
      }
    }
    if (state === 2 && i < chunk.length && !out(chunk.subarray(i))) {
      up.pause();
      res.once('drain', () => up.resume());
    }
  });
  up.on('end', () => res.end());
  up.on('error', () => res.destroy());
  res.on('close', () => { if (!up.complete) up.destroy(); });
}

async function forwardPlain(ctx, res, body) {
  const up = await upstreamRequest(ctx, body);
  res.writeHead(up.statusCode, { 'Content-Type': up.headers['content-type'] || 'application/json' });
  up.on('data', (c) => { stats.bytes_out += c.length; });
  up.on('error', () => res.destroy());
  up.pipe(res);
  res.on('close', () => { if (!up.complete) up.destroy(); });
}

// limit_hold_ms: an exchange answered with a range-limit error is held
// until an exchange asking logs from a higher block has been answered (or
// limit_hold_ms passed), so ranges in flight at once that all meet the
// limit are answered highest first: the lowest, the one the writer waits
// for, comes last.
const limitHeld = [];
function releaseLimitedBelow(from) {
  for (let i = limitHeld.length - 1; i >= 0; i--) {
    if (limitHeld[i].from < from) {
      stats.modes.limit_released_early++;
      limitHeld.splice(i, 1)[0].release();
    }
  }
}
function holdLimited(from) {
  stats.modes.limit_held++;
  return new Promise((resolve) => {
    const h = { from, release: resolve };
    limitHeld.push(h);
    setTimeout(() => {
      const i = limitHeld.indexOf(h);
      if (i >= 0) limitHeld.splice(i, 1);
      resolve();
    }, cfg.limit_hold_ms).unref();
  });
}
// The lowest fromBlock (a number) of a batch's eth_getLogs; null if none.
function logsFrom(items) {
  let from = null;
  for (const it of items) {
    const f = it && it.method === 'eth_getLogs' && Array.isArray(it.params) ? it.params[0] : null;
    if (f && typeof f.fromBlock === 'string' && /^0x[0-9a-fA-F]+$/.test(f.fromBlock)) {
      const n = Number(BigInt(f.fromBlock));
      if (from === null || n < from) from = n;
    }
  }
  return from;
}

async function handleRpc(ctx, req, res) {
  stats.requests++;
  if (!rpcSockets.has(req.socket)) {
    rpcSockets.add(req.socket);
    stats.rpc_connections++;
  }
  stats.in_flight++;
  stats.in_flight_max = Math.max(stats.in_flight_max, stats.in_flight);
  res.on('close', () => { stats.in_flight--; });
  if (cfg.max_inflight !== null && cfg.max_inflight > 0) {
    if (stats.served_in_flight >= cfg.max_inflight) {
      stats.inflight_429++;
      req.resume();
      return send(res, 429, { 'Retry-After': String(cfg.retry_after) }, 'Too Many Requests');
    }
  }
  stats.served_in_flight++;
  stats.served_in_flight_max = Math.max(stats.served_in_flight_max, stats.served_in_flight);
  const seq = nextSeq++;
  openSeqs.add(seq);
  res.on('close', () => {
    stats.served_in_flight--;
    openSeqs.delete(seq);
    for (const o of openSeqs) {
      if (o < seq) {
        stats.out_of_order++;
        break;
      }
    }
  });
  let body;
  try {
    body = await readBody(req, MAX_REQUEST);
  } catch (e) {
    if (e.tooLarge) send(res, 413, {}, 'request too large');
    return;
  }
  let parsed;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const items = Array.isArray(parsed) ? parsed : parsed ? [parsed] : [];
  stats.rpc_requests += items.length;
  const firstId = items.length && items[0] && items[0].id !== undefined ? items[0].id : 1;

  const fault = FAULTS.find((k) => coin(k));
  if (fault) {
    stats.faults[fault]++;
    note(ctx, `injecting ${fault}`);
  }
  switch (fault) {
    case 'http429': {
      const when = cfg.retry_after_date ? new Date(Date.now() + cfg.retry_after * 1000).toUTCString()
        : String(cfg.retry_after);
      return send(res, 429, { 'Retry-After': when }, 'Too Many Requests');
    }
    case 'http429_noretry':
      return send(res, 429, {}, 'Too Many Requests');
    case 'http500':
      return send(res, 500, {}, 'Internal Server Error');
    case 'http502':
      return send(res, 502, {}, 'Bad Gateway');
    case 'http503':
      return send(res, 503, {}, 'Service Unavailable');
    case 'timeout': {
      const t = setTimeout(() => res.destroy(), HOLD_MS);
      t.unref();
      res.on('close', () => clearTimeout(t));
      return undefined; // never answered
    }
    case 'reset':
      if (req.socket.resetAndDestroy) req.socket.resetAndDestroy();
      else req.socket.destroy();
      return undefined;
    case 'truncate':
      return sendTruncated(ctx, res, body);
    case 'malformed':
      return sendMalformed(res);
    case 'wrong_id':
      return sendWrongIds(ctx, res, body);
    case 'oversize':
      return sendOversize(res, firstId, cfg.oversize_bytes, cfg.oversize_length);
    default:
      break;
  }

  const delay = cfg.delay_ms + (cfg.delay_jitter_ms > 0 ? random() * cfg.delay_jitter_ms : 0);
  if (delay > 0) await new Promise((r) => setTimeout(r, delay));
  if (lying() && items.length) return answerLying(ctx, res, parsed, items);
  const modes = cfg.lag_head > 0 || cfg.max_range > 0 || cfg.header_not_found > 0 ||
    cfg.drop_logs > 0 || cfg.state_from !== null;
  if (!modes || items.length === 0) return forwardPlain(ctx, res, body);
  const { local, forward, limited } = await planBatch(ctx, items);
  const from = cfg.limit_hold_ms > 0 ? logsFrom(items) : null;
  if (from !== null) {
    res.on('finish', () => releaseLimitedBelow(from));
    if (limited) await holdLimited(from);
  }
  if (!Array.isArray(parsed)) {
    if (local.length) return send(res, 200, jsonHeaders, JSON.stringify(local[0]));
    return forwardPlain(ctx, res, body);
  }
  if (forward.length === 0) return send(res, 200, jsonHeaders, JSON.stringify(local));
  if (local.length === 0) return forwardPlain(ctx, res, body);
  const up = await upstreamRequest(ctx, Buffer.from(JSON.stringify(forward)));
  return spliceStream(up, res, local);
}

function handleControl(ctx, req, res) {
  if (req.url === '/__stats' && req.method === 'GET')
    return send(res, 200, jsonHeaders, JSON.stringify(stats));
  if (req.url === '/__control' && ctx.control) {
    if (req.method === 'GET') return send(res, 200, jsonHeaders, JSON.stringify(cfg));
    if (req.method === 'POST') {
      return readBody(req, 1 << 20).then((b) => {
        try {
          applySettings(JSON.parse(b.toString('utf8') || '{}'));
        } catch (e) {
          return send(res, 400, jsonHeaders, JSON.stringify({ error: e.message }));
        }
        note(ctx, `control ${b.toString('utf8')}`);
        return send(res, 200, jsonHeaders, JSON.stringify(cfg));
      }, () => send(res, 413, {}, 'too large'));
    }
  }
  return send(res, 404, {}, 'not found');
}

function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
    random = makeRandom(opts.seed);
    applySettings(opts.settings);
  } catch (e) {
    process.stderr.write(`rpc_proxy: ${e.message}\n`);
    process.exit(2);
  }
  const ctx = {
    upstream: opts.upstream,
    agent: new http.Agent({ keepAlive: true, maxSockets: 64 }),
    control: opts.control,
    verbose: opts.verbose,
  };
  switchUpstream = (url) => {
    ctx.upstream = url;
    ctx.agent.destroy();
    ctx.agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  };
  const sockets = new Set();
  const server = http.createServer((req, res) => {
    const done = req.url.startsWith('/__') ? handleControl(ctx, req, res) : handleRpc(ctx, req, res);
    Promise.resolve(done).catch((e) => {
      stats.upstream_errors++;
      note(ctx, `upstream: ${e.message}`);
      if (!res.headersSent) send(res, 502, {}, `upstream: ${e.message}`);
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 65000;
  server.headersTimeout = 66000;
  server.requestTimeout = 0;
  server.on('connection', (s) => {
    stats.connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.listen(opts.port, '127.0.0.1', () => {
    process.stdout.write(`http://127.0.0.1:${server.address().port}\n`);
  });
  const stop = () => {
    server.close();
    for (const s of sockets) s.destroy();
    ctx.agent.destroy();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main();
