// api_robustness.js: the HTTP server's limits against hostile or broken
// clients, while a well-behaved client keeps being served: oversized
// headers and bodies, slow clients, garbage, pipelining beyond the
// per-connection window, a connection flood beyond --http-max-conns, idle
// connections, HTTP/1.0, Expect: 100-continue, half-closed clients.
//
// node api_robustness.js --base URL --max-conns N --timeout-ms T --key CLIENT_ID
'use strict';

const net = require('net');
const c = require('./api_client');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].slice(2)] = process.argv[i + 1];
const base = args.base;
const port = Number(new URL(base).port);
const maxConns = Number(args['max-conns']);
const timeoutMs = Number(args['timeout-ms']);
const key = args.key;

const { step, ok, eq, checks } = c.counted();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The status codes of the answers in a raw exchange, in order.
const statuses = (text) => [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));

// A well-behaved client is served, and fast, whatever else goes on.
async function stillServing(what) {
  const t0 = Date.now();
  const r = await c.get(base, `/v1/apps/${key}`);
  const ms = Date.now() - t0;
  eq(r.status, 200, `${what}: a normal request is served`);
  ok(ms < 1000, `${what}: a normal request took ${ms} ms`);
}

// Splits a raw stream of answers (Content-Length framed) into bodies.
function bodies(text) {
  const out = [];
  let rest = text;
  while (rest.length) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const head = rest.slice(0, end);
    const len = Number((head.match(/content-length: (\d+)/i) || [])[1] || 0);
    const noBody = / 100 Continue/.test(head.split('\r\n')[0]);
    out.push({ status: Number(head.slice(9, 12)), head, body: noBody ? '' : rest.slice(end + 4, end + 4 + len) });
    rest = rest.slice(end + 4 + (noBody ? 0 : len));
  }
  return out;
}

async function main() {
  await stillServing('start');

  step('oversized request line and headers: 431, then closed');
  let r = await c.raw(port, [`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20000)}\r\n\r\n`]);
  eq(statuses(r.text)[0], 431, 'big header');
  ok(r.closed, 'closed after 431');
  ok(/"error":"request line and headers too large"/.test(r.text), 'JSON reason');
  r = await c.raw(port, [`GET /v1/apps/${'a'.repeat(20000)} HTTP/1.1\r\nHost: x\r\n\r\n`]);
  eq(statuses(r.text)[0], 431, 'long request line');
  r = await c.raw(port, ['GET /healthz HTTP/1.1\r\n', ...Array.from({ length: 400 }, (_, i) => `X-H${i}: ${'v'.repeat(40)}\r\n`), '\r\n']);
  eq(statuses(r.text)[0], 431, 'many headers');
  await stillServing('after big headers');

  step('oversized bodies: 413, then closed');
  r = await c.raw(port, ['POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{"a":']);
  eq(statuses(r.text)[0], 413, 'declared length over the limit');
  ok(r.closed, 'closed after 413');
  const chunk = 'x'.repeat(16000);
  r = await c.raw(port, ['POST /v1/verify HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n',
    ...Array.from({ length: 6 }, () => `${(16000).toString(16)}\r\n${chunk}\r\n`), '0\r\n\r\n']);
  eq(statuses(r.text)[0], 413, 'chunked body over the limit');
  // A whole 100 KB body sent at once: the answer still arrives (lingering close).
  r = await c.raw(port, [`POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n${'y'.repeat(100000)}`]);
  eq(statuses(r.text)[0], 413, 'body sent whole: 413 read before any reset');
  await stillServing('after big bodies');

  step('slow clients: 408 after --http-timeout, others unaffected');
  const slow = [];
  for (let i = 0; i < 5; i++) {
    slow.push(c.raw(port, ['GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ', ...'abcdefghijklmnopqrstuvwxyz'.split('')],
      { gapMs: 250, waitMs: timeoutMs + 5000 }));
  }
  await sleep(300);
  await stillServing('during slow clients');
  for (const s of await Promise.all(slow)) {
    eq(statuses(s.text)[0], 408, 'slow client gets 408');
    ok(s.closed, 'slow client closed');
    ok(s.ms >= timeoutMs - 100 && s.ms < timeoutMs + 3000, `408 after ${s.ms} ms (timeout ${timeoutMs})`);
  }
  // Idle connection: closed without an answer.
  r = await c.raw(port, [], { waitMs: timeoutMs + 5000 });
  ok(r.closed && r.text === '', 'idle connection closed silently');
  ok(r.ms >= timeoutMs - 100, `idle closed after ${r.ms} ms`);

  step('garbage: 400, then closed');
  for (const g of [Buffer.from([0, 1, 2, 255, 254, 13, 10, 13, 10]), 'GET / HTTP/1.1x\r\n\r\n',
    'HELLO\r\n\r\n', 'GET /healthz HTTP/1.1\r\nContent-Length: -5\r\n\r\n', 'GET /healthz HTTP/1.1\r\nBad Header\r\n\r\n',
    'POST /v1/verify HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n']) {
    r = await c.raw(port, [g]);
    eq(statuses(r.text)[0], 400, `garbage ${JSON.stringify(g.toString()).slice(0, 40)}`);
    ok(r.closed, 'closed after garbage');
    ok(/"error":"malformed HTTP request: /.test(r.text), 'JSON reason for garbage');
  }
  await stillServing('after garbage');

  step('pipelining: answers in request order, beyond the per-connection window');
  const paths = [`/v1/apps/${key}`, '/healthz', '/v1/nodes/1', '/nope', '/v1/licenses?limit=1', '/v1/apps/0x12',
    '/v1/slashes?limit=2', '/v1/apps/weather-app-v2', '/v1/nodes/999'];
  const want = [];
  for (const p of paths) want.push(await c.get(base, p));
  const seq = Array.from({ length: 150 }, (_, i) => i % paths.length);
  const pipelined = seq.map((i) => `GET ${paths[i]} HTTP/1.1\r\nHost: x\r\n\r\n`).join('');
  r = await c.raw(port, [pipelined, 'GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n'], { waitMs: 15000 });
  const got = bodies(r.text);
  eq(got.length, seq.length + 1, 'every pipelined request answered');
  for (let k = 0; k < seq.length; k++) {
    eq(got[k].status, want[seq[k]].status, `pipelined #${k} ${paths[seq[k]]}: status`);
    eq(got[k].body, want[seq[k]].text, `pipelined #${k} ${paths[seq[k]]}: body`);
  }
  ok(/connection: close/i.test(got[seq.length].head), 'the last answer closes');
  ok(r.closed, 'closed after Connection: close');
  // A POST in the middle of GETs, split across writes mid-request.
  const vbody = '{"client_id":"0x12","message":"x","signature":"0x00"}';
  const mixed = `GET /healthz HTTP/1.1\r\n\r\nPOST /v1/verify HTTP/1.1\r\nContent-Length: ${vbody.length}\r\n\r\n${vbody}GET /healthz HTTP/1.1\r\n\r\n`;
  r = await c.raw(port, [mixed.slice(0, 40), mixed.slice(40, 90), mixed.slice(90)], { gapMs: 50, waitMs: 2000 });
  const mb = bodies(r.text);
  eq(mb.map((x) => x.status).join(), '200,400,200', 'split pipelined GET, POST, GET');

  step('HTTP/1.0, Expect: 100-continue, half-closed client');
  r = await c.raw(port, ['GET /healthz HTTP/1.0\r\n\r\n']);
  eq(statuses(r.text)[0], 200, 'HTTP/1.0');
  ok(r.closed && /connection: close/i.test(r.text), 'HTTP/1.0 closes');
  r = await c.raw(port, ['GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /healthz HTTP/1.0\r\n\r\n']);
  eq(statuses(r.text).join(), '200,200', 'HTTP/1.0 keep-alive');
  r = await c.raw(port, [`POST /v1/verify HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: ${vbody.length}\r\n\r\n`, vbody],
    { gapMs: 300, waitMs: 2000 });
  eq(statuses(r.text).join(), '100,400', '100 Continue, then the answer');
  const half = await new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.end(`GET /v1/apps/${key} HTTP/1.1\r\nHost: x\r\n\r\n`));
    let t = '';
    s.on('data', (d) => (t += d));
    s.on('close', () => resolve(t));
  });
  eq(statuses(half)[0], 200, 'a client that half-closes after asking still gets its answer');

  step(`connection flood beyond --http-max-conns ${maxConns}`);
  c.agent.destroy();
  await sleep(200);
  const flood = [];
  const events = [];
  await new Promise((resolve) => {
    let connected = 0;
    for (let i = 0; i < maxConns * 3; i++) {
      const s = net.connect(port, '127.0.0.1');
      const rec = { s, text: '', closed: false };
      s.on('data', (d) => (rec.text += d));
      s.on('close', () => {
        rec.closed = true;
        events.push(i);
      });
      s.on('error', () => {});
      s.on('connect', () => {
        if (++connected === maxConns * 3) resolve();
      });
      flood.push(rec);
    }
    setTimeout(resolve, 3000);
  });
  await sleep(500);
  const refused = flood.filter((f) => f.closed || f.text.startsWith('HTTP/1.1 503'));
  const open = flood.filter((f) => !f.closed && !f.text);
  ok(refused.length >= maxConns * 2 - 2, `refused ${refused.length} of ${flood.length} (limit ${maxConns})`);
  ok(refused.every((f) => f.text === '' || /^HTTP\/1\.1 503 .*too many open connections/s.test(f.text)),
    'refused ones got 503 or a close');
  ok(refused.some((f) => f.text.startsWith('HTTP/1.1 503')), 'at least one got a 503 answer');
  ok(open.length >= maxConns - 2 && open.length <= maxConns, `${open.length} stay open`);
  // The admitted connections still work.
  const answers = await Promise.all(open.slice(0, 5).map((f) => new Promise((resolve) => {
    let t = '';
    f.s.on('data', (d) => {
      t += d;
      if (t.includes('"status":"ok"')) resolve(statuses(t)[0]);
    });
    f.s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    setTimeout(() => resolve(0), 3000);
  })));
  eq(answers.join(), '200,200,200,200,200', 'admitted connections are served during the flood');
  for (const f of flood) f.s.destroy();
  await sleep(300);
  await stillServing('after the flood');
  const mt = c.metrics((await c.get(base, '/metrics')).text);
  ok(mt.get('dimo_http_connections_rejected_total') >= maxConns * 2 - 2, 'rejections counted');
  ok(mt.get('dimo_http_refused_total{reason="timeout"}') >= 5, 'timeouts counted');
  ok(mt.get('dimo_http_refused_total{reason="too_large"}') >= 5, 'too large counted');
  ok(mt.get('dimo_http_refused_total{reason="malformed"}') >= 5, 'malformed counted');

  console.log(`api robustness: ok (${checks()} checks)`);
  c.agent.destroy();
}

main().catch((e) => {
  console.error(`FAIL: ${e.message}`);
  process.exit(1);
});
