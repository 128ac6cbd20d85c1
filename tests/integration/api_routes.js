// api_routes.js: the API's route table (indexer/api.c, routes[]) against the
// running API, and the CLI against the API for the same questions.
//   - every row with a path pattern is reachable: a request with its method
//     reaches its handler (no "no such endpoint") and /metrics counts it
//     under the row's name;
//   - every other method gets 405 with the row's methods in Allow (and is
//     counted as a 405 of that route);
//   - license, access and verify: `dimo-indexer <command> --json` and the
//     API answer the same bytes (verify: the CLI indents, so both are
//     compared re-serialised in their own key order).
// The rows are read from the source, so a new row is covered without
// editing this test.
//
// node api_routes.js --base URL --bin BIN --network FILE --db CONNINFO --rpc URL --cast CAST --src FILE
'use strict';

const fs = require('fs');
const { execFileSync, spawnSync } = require('child_process');
const c = require('./api_client');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].slice(2)] = process.argv[i + 1];
const { base, bin, network, db, rpc, cast, src } = args;
const net = require(network);
const { step, ok, eq, checks } = c.counted();

const KEY9 = '0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6';
const castOut = (...a) => execFileSync(cast, a, { stdio: ['ignore', 'pipe', 'pipe'] }).toString('utf8').trim();
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];

function tableRows() {
  const text = fs.readFileSync(src, 'utf8');
  const table = text.slice(text.indexOf('static const route_def_t routes[NROUTES] = {'));
  const rows = [];
  const re = /\{(M_GET|M_POST),\s*"([^"]+)",\s*"([^"]+)",\s*(\w+),/g;
  let m;
  while ((m = re.exec(table.slice(0, table.indexOf('};')))) !== null)
    rows.push({ methods: m[1] === 'M_GET' ? ['GET', 'HEAD'] : ['POST'], pattern: m[2], name: m[3] });
  return rows;
}

// A path for a pattern: the first "*" a license key, the second an address.
function pathOf(pattern, key) {
  let n = 0;
  return '/' + pattern.split('/').map((s) => (s !== '*' ? s : n++ === 0 ? key : '0x' + '11'.repeat(20))).join('/');
}

function cli(command, argv) {
  const r = spawnSync(bin, [command, '--network', network, '--db', db, ...argv], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

async function main() {
  const rows = tableRows();
  ok(rows.length >= 14, `the route table has its rows (${rows.length})`);

  step('every route of the table is reachable and counted under its name');
  for (const r of rows) {
    const path = pathOf(r.pattern, '1');
    const res = r.methods[0] === 'POST' ? await c.post(base, path, {}) : await c.get(base, path);
    ok(!(res.status === 404 && /no such endpoint/.test(res.text)), `${r.name}: reached (${res.status} ${res.text.slice(0, 120)})`);
  }
  let m = (await c.get(base, '/metrics')).text;
  for (const r of rows)
    ok(m.includes(`dimo_http_requests_total{route="${r.name}",`), `${r.name}: counted in /metrics`);

  step('a method not in the table: 405 with Allow');
  for (const r of rows) {
    const path = pathOf(r.pattern, '1');
    for (const method of METHODS.filter((x) => !r.methods.includes(x))) {
      const res = await c.request(base, method, path, method === 'HEAD' ? undefined : '');
      eq(res.status, 405, `${method} ${r.name}: status`);
      eq(res.headers.allow, r.methods.join(', '), `${method} ${r.name}: Allow`);
    }
  }
  m = (await c.get(base, '/metrics')).text;
  for (const r of rows)
    ok(m.includes(`dimo_http_requests_total{route="${r.name}",code="405"}`), `${r.name}: 405 counted`);
  eq((await c.get(base, '/v1/no-such-route')).status, 404, 'a path in no row: 404');

  step('the CLI and the API answer the same bytes');
  const app = net.contracts.find((x) => x['x-contract'] === 'DevLicenseDimo').address;
  const owner1 = net['x-dev-accounts'][1];
  const t1 = (await c.get(base, '/v1/apps/weather-app-v2')).json;
  const C1 = t1.client_id;
  const S9 = castOut('wallet', 'address', '--private-key', KEY9).toLowerCase();
  castOut('send', '-q', '--rpc-url', rpc, '--unlocked', '--from', owner1, app, 'enableSigner(uint256,address)', '1', S9);
  const head = await c.caughtUp(base, rpc);

  const lic = cli('license', [C1, '--class', 'app', '--json']);
  eq(lic.code, 0, `license: exit (${lic.err})`);
  const apiLic = await c.get(base, `/v1/apps/${C1}`);
  eq(apiLic.status, 200, 'GET /v1/apps: status');
  eq(lic.out, apiLic.text + '\n', 'license: CLI bytes == API bytes');
  const licAt = cli('license', [C1, '--class', 'app', '--json', '--at-block', String(t1.issued.block)]);
  eq(licAt.out, (await c.get(base, `/v1/apps/${C1}?at_block=${t1.issued.block}`)).text + '\n',
    'license at a block: CLI bytes == API bytes');

  const vehicle = net.contracts.find((x) => x.role === 'vehicle').address.toLowerCase();
  // An access answer (alone, or inside a verify answer) is judged at the
  // wall clock (as_of_time: now()), so the CLI's and the API's may be a
  // second apart: each pair of times is checked close, then the bytes are
  // compared with the API's times set to the CLI's.
  const sameAtClock = (cliText, apiText, label) => {
    const times = (t) => [...t.matchAll(/"as_of_time":\s*"([^"]*)"/g)].map((m) => m[1]);
    const [tc, ta] = [times(cliText), times(apiText)];
    eq(ta.length, tc.length, `${label}: as_of_time count`);
    tc.forEach((x, i) => ok(Math.abs(Date.parse(x) - Date.parse(ta[i])) <= 5000, `${label}: as_of_time CLI ${x}, API ${ta[i]}`));
    let i = 0;
    eq(cliText, apiText.replace(/("as_of_time":\s*")[^"]*"/g, (_, p) => `${p}${tc[i++]}"`), label);
  };
  for (const q of [
    { client_id: C1, asset: vehicle, token_id: '1', permission: '2', at_block: String(head) },
    { client_id: C1, asset: vehicle, token_id: '1', permission: '2', signer: S9, at_block: String(head) },
    { client_id: C1, grantor: owner1.toLowerCase(), permission: '1', at_block: String(head) },
  ]) {
    const argv = Object.entries(q).flatMap(([k, v]) => [`--${k.replace('_', '-')}`, v]);
    const a = cli('access', [...argv, '--json']);
    ok(a.code === 0 || a.code === 1, `access ${argv.join(' ')}: exit ${a.code} (${a.err})`);
    const api = await c.get(base, `/v1/access?${new URLSearchParams(q)}`);
    eq(api.status, 200, 'GET /v1/access: status');
    sameAtClock(a.out, api.text + '\n', `access ${Object.keys(q).join(',')}: CLI bytes == API bytes`);
  }

  const msg = `routes ${Date.now()}`;
  const sig = castOut('wallet', 'sign', '--private-key', KEY9, msg);
  for (const extra of [{}, { asset: vehicle, token_id: '1', permission: '2' }]) {
    const argv = ['--client-id', C1, '--message', msg, '--signature', sig, '--json'];
    for (const [k, v] of Object.entries(extra)) argv.push(`--${k.replace('_', '-')}`, v);
    const v = cli('verify', argv);
    ok(v.code === 0 || v.code === 1, `verify: exit ${v.code} (${v.err})`);
    const api = await c.post(base, '/v1/verify', { client_id: C1, message: msg, signature: sig, ...extra });
    eq(api.status, 200, `POST /v1/verify: status (${api.text.slice(0, 200)})`);
    sameAtClock(JSON.stringify(JSON.parse(v.out)), api.text, `verify ${Object.keys(extra).join(',') || 'alone'}: CLI == API`);
  }
  console.log(`api routes: ok (${checks()} checks, ${rows.length} routes)`);
}

main().catch((e) => {
  console.error(`api routes: FAIL: ${e.message}`);
  process.exit(1);
});
