// api_slow_readers.js: many connections pipeline requests for a large
// answer and never read (issue 24's attack: 1,000 such connections took
// the server from 45 MB to 10.5 GB and stalled its loop for 30 s). While
// they hold on, another client times /healthz and the server's RSS is
// sampled; then the attackers go and the server must serve normally.
//
// node api_slow_readers.js --base URL --pid PID --conns N --pipeline K
//      --path PATH --seconds S --rss-max-mb M --healthz-max-ms T
//      [--vary N] [--max-output BYTES] [--expect-refusals 1]
//
// --vary N: connection i asks PATH&limit=(400 + i % N) instead: N
// distinct pages (each a body of its own), no two neighbours sharing one.
// --expect-refusals 1: the server's output cap must have acted (answers
// refused and connections closed, counted in /metrics).
'use strict';

const fs = require('fs');
const net = require('net');
const c = require('./api_client');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].slice(2)] = process.argv[i + 1];
const base = args.base;
const port = Number(new URL(base).port);
const pid = Number(args.pid);
const conns = Number(args.conns);
const pipeline = Number(args.pipeline);
const path = args.path;
const seconds = Number(args.seconds);
const rssMaxMb = Number(args['rss-max-mb']);
const healthzMaxMs = Number(args['healthz-max-ms']);
const vary = Number(args.vary || 0);

const { step, ok, eq, checks } = c.counted();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// VmRSS and VmHWM (peak) of the server, in MiB.
function mem() {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number((s.match(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm')) || [])[1] || 0);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}

// Opens a connection that sends `pipeline` requests at once and never reads.
function attacker(request) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => {});
    s.on('connect', () => {
      s.pause(); // never read: what the server writes stays in its buffers
      s.write(request.repeat(pipeline));
      resolve(s);
    });
    s.on('close', () => resolve(s));
  });
}

async function main() {
  step('before: the page and /healthz answer');
  const want = await c.get(base, path);
  eq(want.status, 200, `${path} answers`);
  const before = mem();
  console.log(`answer ${want.text.length} bytes; RSS before ${before.rss.toFixed(1)} MiB`);

  step(`${conns} connections pipeline ${pipeline} x ${path} and never read`);
  const request = (i) => `GET ${vary ? `${path}&limit=${400 + (i % vary)}` : path} HTTP/1.1\r\nHost: x\r\n\r\n`;
  const socks = [];
  for (let i = 0; i < conns; i += 50) {
    socks.push(...(await Promise.all(Array.from({ length: Math.min(50, conns - i) }, (_, k) => attacker(request(i + k))))));
  }
  const lat = [];
  let rssPeak = 0;
  const t0 = Date.now();
  while (Date.now() - t0 < seconds * 1000) {
    const h0 = process.hrtime.bigint();
    const h = await c.get(base, '/healthz');
    lat.push(Number(process.hrtime.bigint() - h0) / 1e6);
    if (process.env.VERBOSE) console.log(`  +${Date.now() - t0} ms: /healthz ${lat[lat.length - 1].toFixed(1)} ms, RSS ${mem().rss.toFixed(1)} MiB`);
    eq(h.status, 200, '/healthz during the attack');
    rssPeak = Math.max(rssPeak, mem().rss);
    await sleep(50);
  }
  lat.sort((a, b) => a - b);
  const p = (q) => lat[Math.min(lat.length - 1, Math.floor(q * lat.length))];
  const m = c.metrics((await c.get(base, '/metrics')).text);
  console.log(`during: /healthz ${lat.length} probes, p50 ${p(0.5).toFixed(1)} ms, p95 ${p(0.95).toFixed(1)} ms, ` +
    `p99 ${p(0.99).toFixed(1)} ms, ` +
    `max ${lat[lat.length - 1].toFixed(1)} ms; RSS peak sampled ${rssPeak.toFixed(1)} MiB; ` +
    `held ${(m.get('dimo_http_output_bytes') / 1048576).toFixed(1)} MiB; ` +
    `refused ${m.get('dimo_http_output_refused_total')}, closed ${m.get('dimo_http_output_closed_total')}, ` +
    `open connections ${m.get('dimo_http_connections_open')}`);
  // 95% of probes within the limit, none stalled ten times longer (the
  // machine is shared: a few probes can lose the CPU to other processes,
  // which a stalled loop would not explain: it delays every probe).
  ok(p(0.95) < healthzMaxMs, `/healthz p95 ${p(0.95).toFixed(1)} ms (limit ${healthzMaxMs})`);
  ok(lat[lat.length - 1] < 10 * healthzMaxMs, `/healthz max ${lat[lat.length - 1].toFixed(1)} ms (limit ${10 * healthzMaxMs})`);
  ok(m.get('dimo_http_output_bytes') <= Number(args['max-output'] || 64 * 1048576) + conns * 16384,
    `output held ${m.get('dimo_http_output_bytes')} bytes, within the cap`);

  if (args['expect-refusals'] === '1') {
    ok(m.get('dimo_http_output_refused_total') > 0, 'answers refused at the output cap');
    ok(m.get('dimo_http_output_closed_total') > 0, 'connections closed at the output cap');
  }

  step('after: the attackers go, the server serves as before');
  for (const s of socks) s.destroy();
  await sleep(1000);
  const after = await c.get(base, path);
  eq(after.status, 200, `${path} after the attack`);
  eq(after.text, want.text, `${path}: same answer as before`);
  eq((await c.get(base, '/healthz')).status, 200, '/healthz after the attack');
  const end = mem();
  console.log(`after: RSS ${end.rss.toFixed(1)} MiB, peak (VmHWM) ${end.hwm.toFixed(1)} MiB (bound ${rssMaxMb} MiB)`);
  ok(end.hwm < rssMaxMb, `peak RSS ${end.hwm.toFixed(1)} MiB under ${rssMaxMb} MiB`);

  console.log(`api slow readers: ok (${checks()} checks)`);
  c.agent.destroy();
}

main().catch((e) => {
  console.error(`FAIL: ${e.message}`);
  process.exit(1);
});
