// api_post_flood.js: many connections each pipeline large POST /v1/verify
// bodies and never read (audit6 H8: 1,000 such connections took a server
// with the default 64 MiB --http-max-output to 750 MB, since request bodies
// were admitted whatever the server already held). Every body is about
// 60 KB (a message_hex of 30,000 bytes), each with a client id of its own
// so that no two share a lookup. While they hold on, the server's RSS is
// sampled and /healthz asked from another client; then the attackers go
// and a verify with a real signature must get the same answer as before.
//
// node api_post_flood.js --base URL --pid PID --conns N --pipeline K
//      --seconds S --max-output BYTES
//      --key CLIENT_ID --message TEXT --signature HEX
//
// The server's peak RSS (VmHWM, reset before the flood) must stay under
// its RSS before + twice the cap (a body's buffer is up to twice its
// length) + 64 KiB per connection (its unparsed input and the request
// being received) + 16 MiB (the thread pool, the allocator's slack).
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
const seconds = Number(args.seconds);
const maxOutput = Number(args['max-output']);

const { step, ok, eq, deepEq, checks } = c.counted();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// VmRSS and VmHWM (peak) of the server, in MiB.
function mem() {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number((s.match(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm')) || [])[1] || 0);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}

// A well-formed signature (r, s in range, v 27): it recovers some key,
// which holds no license of these client ids.
const sig = '0x391170eff11e409daa3255919c45e25593a40a52475d2a84c8dca1ff5ff1d38d' +
  '51079619191ba2d5503d0caa32049acbfce5771dca9932197e91f517884b1db11c';
const messageHex = '0x' + 'ab'.repeat(30000);

function verifyRequest(n) {
  const body = JSON.stringify({
    client_id: '0x' + n.toString(16).padStart(40, '0'),
    message_hex: messageHex,
    signature: sig,
  });
  return `POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

// A connection that writes its requests and never reads.
function attacker(i) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => {});
    s.on('close', () => resolve(s));
    s.on('connect', () => {
      s.pause();
      for (let k = 0; k < pipeline; k++) s.write(verifyRequest(i * pipeline + k + 1));
      resolve(s);
    });
  });
}

async function main() {
  const good = { client_id: args.key, message: args.message, signature: args.signature };
  step('before: a verify with a real signature, and /healthz');
  const want = await c.post(base, '/v1/verify', good);
  eq(want.status, 200, 'verify answers');
  // Resets VmHWM to the RSS now (Linux: clear_refs 5), so that the peak
  // read at the end is this flood's.
  fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
  const before = mem();
  const rssMaxMb = before.rss + (2 * maxOutput + conns * 65536) / 1048576 + 16;
  console.log(`RSS before ${before.rss.toFixed(1)} MiB; bound ${rssMaxMb.toFixed(1)} MiB`);

  step(`${conns} connections pipeline ${pipeline} verify bodies of 60 KB and never read`);
  const t0 = Date.now();
  const socks = [];
  for (let i = 0; i < conns; i += 50) {
    socks.push(...(await Promise.all(Array.from({ length: Math.min(50, conns - i) }, (_, k) => attacker(i + k)))));
  }
  let rssPeak = 0;
  let probes = 0;
  while (Date.now() - t0 < seconds * 1000) {
    const h = await c.get(base, '/healthz');
    eq(h.status, 200, '/healthz during the flood');
    probes++;
    rssPeak = Math.max(rssPeak, mem().rss);
    await sleep(100);
  }
  const m = c.metrics((await c.get(base, '/metrics')).text);
  const held = m.get('dimo_http_output_bytes');
  console.log(`during: ${probes} /healthz probes; RSS peak sampled ${rssPeak.toFixed(1)} MiB; ` +
    `held ${(held / 1048576).toFixed(1)} MiB; refused ${m.get('dimo_http_output_refused_total')}, ` +
    `closed ${m.get('dimo_http_output_closed_total')}, open connections ` +
    `${m.get('dimo_http_connections_open')}`);
  // What is held is the cap, plus at most a small request or answer
  // (16 KiB each) per connection with nothing else waiting.
  ok(held <= maxOutput + 2 * (conns + 1) * 16384, `held ${held} bytes, within the cap`);
  ok(m.get('dimo_http_output_refused_total') > 0, 'bodies refused at the cap');

  step('after: the attackers go, the server serves as before');
  for (const s of socks) s.destroy();
  await sleep(1000);
  const after = await c.post(base, '/v1/verify', good);
  eq(after.status, 200, 'verify after the flood');
  deepEq(after.json, want.json, 'verify: same answer as before');
  eq((await c.get(base, '/healthz')).status, 200, '/healthz after the flood');
  const end = mem();
  console.log(`after: RSS ${end.rss.toFixed(1)} MiB, peak (VmHWM) ${end.hwm.toFixed(1)} MiB (bound ${rssMaxMb.toFixed(1)} MiB)`);
  ok(end.hwm < rssMaxMb, `peak RSS ${end.hwm.toFixed(1)} MiB under ${rssMaxMb.toFixed(1)} MiB`);

  console.log(`api post flood: ok (${checks()} checks)`);
  c.agent.destroy();
}

main().catch((e) => {
  console.error(`FAIL: ${e.message}`);
  process.exit(1);
});
