// api_client.js: what the HTTP API tests share (a module, not a test).
//
//   get(base, path) / post(base, path, body, headers) / request(...)
//       -> {status, headers, text, json}: one request over a keep-alive agent.
//   raw(port, chunks, {gapMs, waitMs}) -> {text, closed, ms}: writes raw bytes
//       on a fresh socket (chunks written gapMs apart) and collects what comes
//       back until the server closes or waitMs passes.
//   license(bin, network, db, key, args) -> the `dimo-indexer license KEY
//       --json` document(s), or null when nothing matches (exit 1).
//   rpc(url, method, params) -> the JSON-RPC result.
//   check(cond, message) / eq(a, b, message) / deepEq(a, b, message): throw
//       with a message on failure.
//   counted() -> {step, ok, eq, deepEq, checks}: the same checks, counted
//       (checks() says how many ran), and step(name) announcing a part.
//   metrics(text) -> Map "name{labels}" -> number (Prometheus text format).
'use strict';

const http = require('http');
const net = require('net');
const { execFileSync } = require('child_process');
const assert = require('assert');

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

function request(base, method, path, body, headers = {}) {
  const u = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: u.hostname, port: u.port, method, path: u.pathname + u.search, agent, headers },
      (res) => {
        const parts = [];
        res.on('data', (d) => parts.push(d));
        res.on('end', () => {
          const text = Buffer.concat(parts).toString('utf8');
          let json;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch (e) {
            json = undefined;
          }
          resolve({ status: res.statusCode, headers: res.headers, text, json });
        });
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const get = (base, path, headers) => request(base, 'GET', path, undefined, headers);
const post = (base, path, body, headers = { 'content-type': 'application/json' }) =>
  request(base, 'POST', path, typeof body === 'string' ? body : JSON.stringify(body), headers);

function raw(port, chunks, { gapMs = 0, waitMs = 5000 } = {}) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const parts = [];
    const t0 = Date.now();
    let done = false;
    let timer;
    const finish = (closed) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve({ text: Buffer.concat(parts).toString('latin1'), closed, ms: Date.now() - t0 });
    };
    s.on('data', (d) => parts.push(d));
    s.on('close', () => finish(true));
    s.on('error', () => finish(true));
    s.on('connect', async () => {
      for (const c of chunks) {
        if (done) return;
        s.write(c);
        if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
      }
    });
    timer = setTimeout(() => finish(false), waitMs);
  });
}

function license(bin, network, db, key, args = []) {
  try {
    const out = execFileSync(bin, ['license', key, '--json', '--network', network, '--db', db, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return JSON.parse(out.toString('utf8'));
  } catch (e) {
    if (e.status === 1) return null;
    throw new Error(`license ${key} ${args.join(' ')}: exit ${e.status}: ${e.stderr}`);
  }
}

async function rpc(url, method, params = []) {
  const u = new URL(url);
  const r = await request(u.origin, 'POST', u.pathname, JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }), {
    'content-type': 'application/json',
  });
  if (!r.json || r.json.error) throw new Error(`${method}: ${r.text}`);
  return r.json.result;
}

// Waits until /readyz reports the chain head indexed; returns that block.
async function caughtUp(base, rpcUrl) {
  const head = parseInt(await rpc(rpcUrl, 'eth_blockNumber'), 16);
  for (let i = 0; i < 600; i++) {
    const r = await get(base, '/readyz');
    if (r.json && r.json.indexed_block >= head) return head;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`the index did not reach block ${head}`);
}

function check(cond, message) {
  if (!cond) throw new Error(message);
}

function eq(a, b, message) {
  if (a !== b) throw new Error(`${message}: got ${JSON.stringify(a)}, expected ${JSON.stringify(b)}`);
}

function deepEq(a, b, message) {
  try {
    assert.deepStrictEqual(a, b);
  } catch (e) {
    throw new Error(`${message}:\n${e.message.split('\n').slice(0, 40).join('\n')}`);
  }
}

function counted() {
  let n = 0;
  const wrap = (f) => (...a) => {
    n++;
    f(...a);
  };
  return {
    step: (name) => console.log(`-- ${name}`),
    ok: wrap(check),
    eq: wrap(eq),
    deepEq: wrap(deepEq),
    checks: () => n,
  };
}

function metrics(text) {
  const m = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    m.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return m;
}

module.exports = { request, get, post, raw, license, rpc, caughtUp, check, eq, deepEq, counted, metrics, agent };
