// api_hostile.js: crafted requests of issue 24 against the real server.
//
//   node api_hostile.js issue --rpc URL --network FILE --licenses N
//       issues N more app licenses (so that a page of 1,000 is large);
//   node api_hostile.js check --base URL --key CLIENT_ID
//       cache keys that cannot collide (every cacheable route asked first
//       with a parameter equal to an old key separator, then normally:
//       the normal answer equals a fresh one); token id 2^256 is a 400 on
//       every route; HTTP/9.9 (505) and a request line without a version
//       or with HTTP/0.9 (400); the header cap counts the header section's
//       raw bytes (431 past 16 KiB however they are split); error texts name no library internals; malformed page
//       cursors are a 400 (the caller checks the server log).
'use strict';

const c = require('./api_client');

const args = { mode: process.argv[2] };
for (let i = 3; i < process.argv.length; i += 2) args[process.argv[i].slice(2)] = process.argv[i + 1];

const { step, ok, eq, checks } = c.counted();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const TWO_256 = (1n << 256n).toString();
const MAX_256 = ((1n << 256n) - 1n).toString();
const ADDR = '0x' + '11'.repeat(20);

async function issue() {
  const { openDevnet } = require('../devnet/lib/network');
  const { sendMany } = require('../devnet/lib/chain');
  const d = openDevnet(args.rpc, args.network);
  const app = d.apps[0];
  const owners = d.accounts.slice(1);
  const n = Number(args.licenses);
  // At most 45 issues (600,000 gas each: the license account's code) fit in one 30M-gas block.
  for (let done = 0; done < n; done += 45) {
    const txs = [];
    for (let i = done; i < Math.min(n, done + 45); i++) txs.push(app.txReq(owners[i % owners.length], 'issueInDimo', [''], { gas: 600000 }));
    const rs = await sendMany(d.rpc, txs);
    if (rs.some((r) => r.status !== '0x1')) throw new Error('issuing licenses failed');
  }
  console.log(`issued ${n} app licenses`);
}

// The status code and body of a raw request line (the connection closes).
async function rawStatus(port, text) {
  const r = await c.raw(port, [text], { waitMs: 3000 });
  const m = r.text.match(/^HTTP\/1\.1 (\d{3}) /);
  return { status: m ? Number(m[1]) : 0, text: r.text, closed: r.closed };
}

async function check() {
  const base = args.base;
  const port = Number(new URL(base).port);
  const key = args.key;

  step('cache keys: a parameter equal to a separator never answers for another request');
  // Each pair: the crafted request first (it may be a 400 or a 404; under
  // the old keys, a missing parameter was "\x1e" and parts were joined by
  // "\x1f"), then the normal request, then (after the cache's 2 s) the
  // normal request again, read fresh from the database.
  const sep = ['%1E', '%1F', '%1E%1F%1E', '%1F%1E'];
  const pairs = [];
  for (const s of sep) {
    pairs.push([`/v1/apps/${s}`, '/v1/apps/weather-app-v2']);
    pairs.push([`/v1/apps/weather-app-v2${s}`, '/v1/apps/weather-app-v2']);
    pairs.push([`/v1/apps/${s}/signers/${ADDR}`, `/v1/apps/weather-app-v2/signers/${ADDR}`]);
    pairs.push([`/v1/nodes/${s}`, '/v1/nodes/1']);
    pairs.push([`/v1/slashes?license=${s}`, '/v1/slashes']);
    pairs.push([`/v1/slashes?license=${s}&limit=100`, '/v1/slashes?limit=100']);
    pairs.push([`/v1/slashes?after=${s}`, '/v1/slashes']);
    pairs.push([`/v1/licenses?after=${s}`, '/v1/licenses']);
    pairs.push([`/v1/licenses?class=${s}`, '/v1/licenses']);
    pairs.push([`/v1/licenses?owner=${s}`, '/v1/licenses']);
    pairs.push([`/v1/access?client_id=${key}&asset=${ADDR}&token_id=1&permission=1&signer=${s}`,
      `/v1/access?client_id=${key}&asset=${ADDR}&token_id=1&permission=1`]);
    pairs.push([`/v1/access?client_id=${key}&asset=${ADDR}&token_id=1&permission=1&at_time=${s}`,
      `/v1/access?client_id=${key}&asset=${ADDR}&token_id=1&permission=1`]);
  }
  const first = [];
  for (const [crafted, normal] of pairs) {
    const x = await c.get(base, crafted);
    ok(x.status === 400 || x.status === 404, `${crafted}: ${x.status} (400 or 404)`);
    first.push(await c.get(base, normal));
  }
  // /v1/verify: a member equal to a separator, then a valid request.
  const vbad = await c.post(base, '/v1/verify', { client_id: key, message: '\x1e', signature: '0x' + '1e'.repeat(65) });
  ok(vbad.status === 400 || vbad.status === 200, `verify with a separator message: ${vbad.status}`);
  await sleep(2300);
  for (let i = 0; i < pairs.length; i++) {
    const fresh = await c.get(base, pairs[i][1]);
    eq(first[i].status, fresh.status, `${pairs[i][1]} after ${pairs[i][0]}: status`);
    // The access question judged now says when: compare the rest.
    const norm = (r) => (pairs[i][1].startsWith('/v1/access') ? JSON.stringify({ ...r.json, as_of_time: null }) : r.text);
    eq(norm(first[i]), norm(fresh), `${pairs[i][1]} after ${pairs[i][0]}: the fresh answer`);
  }
  eq((await c.get(base, '/v1/slashes')).status, 200, 'the unfiltered /v1/slashes answers 200');

  step('token id 2^256 (and above 2^256 - 1) is a 400 on every route');
  const big = [TWO_256, ((1n << 256n) + 12345n).toString(), '9'.repeat(78), `000${TWO_256}`];
  for (const t of big) {
    const routes = [`/v1/apps/${t}`, `/v1/nodes/${t}`, `/v1/apps/${t}/signers/${ADDR}`, `/v1/slashes?license=${t}`,
      `/v1/access?client_id=${key}&asset=${ADDR}&token_id=${t}&permission=1`];
    for (const r of routes) {
      const x = await c.get(base, r);
      eq(x.status, 400, `${r.slice(0, 60)}...: 400`);
      ok(/2\^256/.test(x.text), `${r.slice(0, 40)}: the reason names 2^256: ${x.text}`);
    }
    const v = await c.post(base, '/v1/verify', { client_id: key, message: 'x', signature: '0x' + '11'.repeat(65), asset: ADDR, token_id: t, permission: 1 });
    eq(v.status, 400, `POST /v1/verify token_id ${t.slice(0, 12)}...: 400`);
  }
  // 2^256 - 1 is a valid key: not found, not refused.
  eq((await c.get(base, `/v1/apps/${MAX_256}`)).status, 404, '2^256 - 1 is looked up (404)');
  eq((await c.get(base, `/v1/nodes/${MAX_256}`)).status, 404, 'node 2^256 - 1 is looked up (404)');

  step('HTTP versions: 9.9 and 2.0 are 505, a request line without a version is 400');
  for (const v of ['HTTP/9.9', 'HTTP/2.0', 'HTTP/3.0']) {
    const x = await rawStatus(port, `GET /healthz ${v}\r\nHost: x\r\n\r\n`);
    eq(x.status, 505, `${v}: 505`);
    ok(x.closed, `${v}: closed`);
    ok(/"error":"HTTP version not supported/.test(x.text), `${v}: JSON reason`);
  }
  for (const line of ['GET /healthz\r\n\r\n', 'GET /healthz\r\nHost: x\r\n\r\n', 'GET /v1/apps/1\r\n\r\n']) {
    const x = await rawStatus(port, line);
    eq(x.status, 400, `${JSON.stringify(line)}: 400`);
    ok(/without an HTTP version/.test(x.text), `${JSON.stringify(line)}: reason`);
  }
  eq((await rawStatus(port, 'GET /healthz HTTP/1.2\r\nConnection: close\r\n\r\n')).status, 200, 'HTTP/1.2 is served as 1.1');

  // HTTP/0.9's literal version is major 0: refused as a request line
  // without a version, as README says.
  const v09 = await rawStatus(port, 'GET /healthz HTTP/0.9\r\n\r\n');
  eq(v09.status, 400, 'HTTP/0.9: 400');
  ok(/without an HTTP version/.test(v09.text), 'HTTP/0.9: reason');

  step('the 16 KiB header cap counts the raw header section (audit6 H1)');
  // Request line, names, values, ": ", line ends and the final CRLF: all
  // count. Before, only names and values did, and 64 KB of "a:" lines
  // (two bytes each counted) were answered 200.
  const section = (line, n) => `GET /healthz HTTP/1.1\r\n${line.repeat(n)}\r\n`;
  for (const [line, n] of [['a:\r\n', 16000], ['a: b\r\n', 2800], [`X: ${'v'.repeat(60)}\r\n`, 260]]) {
    const text = section(line, n);
    const x = await rawStatus(port, text);
    eq(x.status, 431, `${n} x ${JSON.stringify(line)} (${text.length} bytes): 431`);
    ok(/request line and headers too large/.test(x.text), `${text.length} bytes: reason`);
  }
  const under = section(`X: ${'v'.repeat(60)}\r\n`, 250);
  ok(under.length < 16384, `${under.length} bytes is under 16 KiB`);
  eq((await rawStatus(port, under.replace('HTTP/1.1\r\n', 'HTTP/1.1\r\nConnection: close\r\n'))).status, 200,
    `a ${under.length}-byte header section is served`);

  step('error texts name no library internals');
  const bodies = ['{"client_id":"a\\u0000b"}', '{"a":1,"a":2}', '{"client_id":', '[1,2', 'nul', '{"x":1} 2',
    '{"a":' + '['.repeat(5000), '{"a":1e999999}'];
  for (const b of bodies) {
    const x = await c.post(base, '/v1/verify', b);
    eq(x.status, 400, `verify body ${JSON.stringify(b).slice(0, 30)}: 400`);
    ok(/not valid JSON/.test(x.text), `reason: ${x.text}`);
    ok(!/JSON_[A-Z_]+|jansson|near '|json_/.test(x.text), `no jansson internals: ${x.text}`);
  }

  step('page cursors are checked before SQL');
  const bad = ['nonsense', 'l1', 'l1.', 'l1.zz', `l1.${'a'.repeat(40)}`, `l1.${'A'.repeat(40)}.1`, `l1.${'a'.repeat(39)}.1`,
    `l1.${'a'.repeat(40)}.${'1'.repeat(79)}`, `l1.${'a'.repeat(40)}.1.2`, `s1.1.1`, 'x'.repeat(300)];
  for (const a of bad) {
    const x = await c.get(base, `/v1/licenses?after=${encodeURIComponent(a)}`);
    eq(x.status, 400, `licenses after=${a.slice(0, 20)}: 400`);
    ok(/malformed page cursor/.test(x.text), `reason: ${x.text}`);
  }
  for (const a of ['nonsense', 's1', 's1.1', 's1.a.1', `s1.${'1'.repeat(19)}.1`, `s1.1.${'1'.repeat(10)}`, 's1.1.1.1', 'l1.1.1', 's1.-1.1']) {
    const x = await c.get(base, `/v1/slashes?after=${encodeURIComponent(a)}`);
    eq(x.status, 400, `slashes after=${a.slice(0, 20)}: 400`);
  }
  // Good cursors still page.
  const p1 = await c.get(base, '/v1/licenses?limit=2');
  eq(p1.status, 200, 'first page');
  const p2 = await c.get(base, `/v1/licenses?limit=2&after=${encodeURIComponent(p1.json.next)}`);
  eq(p2.status, 200, `next page (${p1.json.next})`);
  ok(p2.json.licenses[0].token_id !== p1.json.licenses[0].token_id || p2.json.licenses[0].contract !== p1.json.licenses[0].contract, 'the next page moves on');
  eq((await c.get(base, '/v1/slashes?after=s1.0.0')).status, 200, 'a well-formed slashes cursor');
  eq((await c.get(base, `/v1/slashes?after=s1.${'9'.repeat(18)}.${'9'.repeat(9)}`)).status, 200, 'the largest slashes cursor');

  console.log(`api hostile: ok (${checks()} checks)`);
  c.agent.destroy();
}

(args.mode === 'issue' ? issue() : check()).catch((e) => {
  console.error(`FAIL: ${e.message}`);
  process.exit(1);
});
