// api_verify.js: POST /v1/verify and `dimo-indexer verify` on the indexed
// fixed scenario, with signatures made here by anvil dev keys (cast wallet
// sign) and signer changes made here on the devnet contracts (cast send):
// valid; wrong key; disabled signer; unknown client id; revoked, suspended
// and frozen-then-unfrozen licenses; a signer expired by a periodValidity
// change; malformed signature, hex, JSON, client id and body; the CLI's exit
// codes and JSON. Each change is checked right after the index has it (the
// API's cache must not hide it).
//
// node api_verify.js --base URL --bin BIN --network FILE --db CONNINFO --rpc URL --cast CAST
'use strict';

const { execFileSync, spawnSync } = require('child_process');
const c = require('./api_client');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].slice(2)] = process.argv[i + 1];
const { base, bin, network, db, rpc, cast } = args;
const net = require(network);

// anvil's well-known dev keys.
const KEYS = {
  1: '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  7: '0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356',
  8: '0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97',
  9: '0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6',
};
const DAY = 86400;

const { step, ok, eq, checks } = c.counted();

const castOut = (...a) => execFileSync(cast, a, { stdio: ['ignore', 'pipe', 'pipe'] }).toString('utf8').trim();
const address = (k) => castOut('wallet', 'address', '--private-key', KEYS[k]).toLowerCase();
const sign = (k, message) => castOut('wallet', 'sign', '--private-key', KEYS[k], message);
const send = (from, to, sig, ...a) => castOut('send', '-q', '--rpc-url', rpc, '--unlocked', '--from', from, to, sig, ...a);

async function caughtUp() {
  const head = parseInt(await c.rpc(rpc, 'eth_blockNumber'), 16);
  for (let i = 0; i < 600; i++) {
    const r = await c.get(base, '/readyz');
    if (r.json && r.json.indexed_block >= head) return;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`the index did not reach block ${head}`);
}

async function verify(clientId, k, message, status = 200) {
  const r = await c.post(base, '/v1/verify', { client_id: clientId, message, signature: sign(k, message) });
  eq(r.status, status, `verify ${clientId} key ${k}: status (${r.text.slice(0, 300)})`);
  return r.json;
}

async function expectReason(clientId, k, reason, what) {
  const v = await verify(clientId, k, `check ${what} ${Date.now()}`);
  eq(v.reason, reason, `${what}: reason`);
  eq(v.valid, reason === 'ok', `${what}: valid`);
  eq(v.signer, address(k), `${what}: signer`);
  ok(Object.keys(v).join() === 'valid,signer,reason,license', `${what}: members ${Object.keys(v)}`);
  return v;
}

function cli(...a) {
  const r = spawnSync(bin, ['verify', '--network', network, ...a], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

async function main() {
  const app = net.contracts.find((x) => x['x-contract'] === 'DevLicenseDimo').address;
  const admin = net['x-admin'];
  const owner1 = net['x-dev-accounts'][1];
  // App license 1 of the current contract carries the alias weather-app-v2.
  const t1 = (await c.get(base, '/v1/apps/weather-app-v2')).json;
  eq(t1.token_id, '1', 'weather-app-v2 is token 1');
  eq(t1.owner, owner1.toLowerCase(), 'owned by dev account 1');
  const C1 = t1.client_id;
  const [S7, S8, S9] = [address(7), address(8), address(9)];

  step('enable signers (dev keys 9 and 7, then 7 disabled); a long periodValidity');
  send(admin, app, 'setPeriodValidity(uint256)', String(365 * DAY));
  send(owner1, app, 'enableSigner(uint256,address)', '1', S9);
  send(owner1, app, 'enableSigner(uint256,address)', '1', S7);
  send(owner1, app, 'disableSigner(uint256,address)', '1', S7);
  await caughtUp();

  step('valid');
  const v = await expectReason(C1, 9, 'ok', 'enabled signer');
  c.deepEq(v.license, (await c.get(base, `/v1/apps/${C1}`)).json, 'the license is the /v1/apps document');
  c.deepEq(v.license, c.license(bin, network, db, C1, ['--class', 'app']), 'the license is `license --json`');
  const s9 = v.license.signers.find((s) => s.address === S9);
  ok(s9 && s9.valid && s9.enabled_at, 'the document lists the signer as valid');
  // Upper-case client id, v as 0/1, message_hex: the same answer.
  const msg = 'GET /v1/vehicles nonce=7';
  const sig = sign(9, msg);
  const v01 = sig.slice(0, -2) + (parseInt(sig.slice(-2), 16) - 27).toString(16).padStart(2, '0');
  for (const [name, body] of [
    ['upper-case client id', { client_id: '0x' + C1.slice(2).toUpperCase(), message: msg, signature: sig }],
    ['v as 0/1', { client_id: C1, message: msg, signature: v01 }],
    ['message_hex', { client_id: C1, message_hex: '0xdeadbeef', signature: sign(9, '0xdeadbeef') }],
    ['unicode message', { client_id: C1, message: 'café ✓ 🚗', signature: sign(9, 'café ✓ 🚗') }],
    ['empty message', { client_id: C1, message: '', signature: sign(9, '') }],
  ]) {
    const r = await c.post(base, '/v1/verify', body);
    eq(r.status, 200, `${name}: status ${r.text}`);
    eq(r.json.valid, true, `${name}: valid`);
    eq(r.json.signer, S9, `${name}: signer`);
  }

  step('the verify command: exit codes and JSON');
  const good = cli('--db', db, '--client-id', C1, '--message', msg, '--signature', sig, '--json');
  eq(good.code, 0, `verify valid: exit (${good.err})`);
  const gj = JSON.parse(good.out);
  eq(gj.valid, true, 'CLI valid');
  eq(gj.signer, S9, 'CLI signer');
  c.deepEq(gj.license, v.license, 'CLI license == API license');
  const text = cli('--db', db, '--client-id', C1, '--message', msg, '--signature', sig);
  eq(text.code, 0, 'verify valid (text): exit');
  ok(/^valid: +yes$/m.test(text.out) && /^reason: +ok$/m.test(text.out), `CLI text: ${text.out}`);
  const wrong = cli('--db', db, '--client-id', C1, '--message', msg, '--signature', sign(8, msg));
  eq(wrong.code, 1, 'verify with another key: exit 1');
  ok(/signer_not_enabled/.test(wrong.out), `CLI reason: ${wrong.out}`);
  eq(cli('--db', db, '--client-id', C1, '--message', msg, '--signature', '0x1234').code, 2, 'short signature: exit 2');
  eq(cli('--db', db, '--client-id', '0x12', '--message', msg, '--signature', sig).code, 2, 'bad client id: exit 2');
  eq(cli('--db', db, '--client-id', C1, '--signature', sig).code, 2, 'no message: exit 2');
  const down = cli('--db', 'host=127.0.0.1 port=1 dbname=x connect_timeout=2', '--client-id', C1, '--message', msg,
    '--signature', sig);
  eq(down.code, 3, `database unreachable: exit 3 (${down.err})`);
  const head = parseInt(await c.rpc(rpc, 'eth_blockNumber'), 16);
  const atHead = cli('--db', db, '--client-id', C1, '--message', msg, '--signature', sig, '--json', '--at-block',
    String(head));
  eq(atHead.code, 0, `--at-block head: exit (${atHead.err})`);
  eq(JSON.parse(atHead.out).reason, 'ok', '--at-block head: ok');
  const before = cli('--db', db, '--client-id', C1, '--message', msg, '--signature', sig, '--json', '--at-block',
    String(t1.issued.block));
  eq(before.code, 1, '--at-block before the signer: exit 1');
  // At its issue the license has no stake yet: under the devnet's seed rule
  // (understaked below 10,000 DIMO) that reason comes first, else the
  // signer not enabled yet.
  const then = (await c.get(base, `/v1/apps/${C1}?at_block=${t1.issued.block}`)).json;
  eq(JSON.parse(before.out).reason, then.status === 'understaked' ? 'license_understaked' : 'signer_not_enabled',
    `--at-block before the signer was enabled (status then: ${then.status})`);
  eq(cli('--db', db, '--client-id', C1, '--message', msg, '--signature', sig, '--at-block', String(head + 99)).code, 2,
    '--at-block beyond the index: exit 2');

  step('not valid: wrong key, disabled signer, unknown client id, revoked and suspended licenses');
  await expectReason(C1, 8, 'signer_not_enabled', 'a key never enabled');
  const dis = await expectReason(C1, 7, 'signer_not_enabled', 'a disabled signer');
  const s7 = dis.license.signers.find((s) => s.address === S7);
  ok(s7 && s7.enabled_at === null && s7.valid === false, 'the document shows the signer disabled');
  const unknown = await expectReason('0x00000000000000000000000000000000000000c1', 9, 'unknown_client_id', 'unknown');
  eq(unknown.license, null, 'unknown client id: license null');
  const list = (await c.get(base, '/v1/licenses?class=app&limit=1000')).json.licenses;
  const revoked = list.find((l) => l.status === 'revoked' && l.client_id);
  const suspended = list.find((l) => l.status === 'suspended' && l.client_id);
  ok(revoked && suspended, 'the scenario has revoked and suspended app licenses');
  const rv = await expectReason(revoked.client_id, 9, 'license_revoked', 'revoked license');
  eq(rv.license.status, 'revoked', 'revoked: the document');
  await expectReason(suspended.client_id, 9, 'license_suspended', 'suspended license');
  for (const l of list.filter((x) => x.status === 'understaked' && x.client_id))
    await expectReason(l.client_id, 9, 'license_understaked', `understaked license ${l.token_id}`);

  step('freeze, then unfreeze: suspended, then valid again (cache invalidated)');
  send(admin, app, 'adminFreeze(uint256,bool)', '1', 'true');
  await caughtUp();
  const fr = await expectReason(C1, 9, 'license_suspended', 'frozen license');
  eq(fr.license.frozen, true, 'frozen: the document');
  eq((await c.get(base, `/v1/apps/${C1}`)).json.status, 'suspended', '/v1/apps follows at once');
  send(admin, app, 'adminFreeze(uint256,bool)', '1', 'false');
  await caughtUp();
  await expectReason(C1, 9, 'ok', 'unfrozen license');

  step('periodValidity cut to one hour: the signer (enabled days ago) expires');
  send(admin, app, 'setPeriodValidity(uint256)', '3600');
  await caughtUp();
  const ex = await expectReason(C1, 9, 'signer_expired', 'expired signer');
  const s9x = ex.license.signers.find((s) => s.address === S9);
  ok(s9x && Date.parse(s9x.expires_at) < Date.now(), `the document's expires_at is past: ${s9x && s9x.expires_at}`);
  const cliExpired = cli('--db', db, '--client-id', C1, '--message', msg, '--signature', sig);
  eq(cliExpired.code, 1, 'CLI: expired is exit 1');
  ok(/signer_expired/.test(cliExpired.out), 'CLI: signer_expired');

  step('malformed requests: 400 with a reason');
  const good9 = sign(9, 'x');
  const bad = [
    ['short signature', { client_id: C1, message: 'x', signature: good9.slice(0, -2) }, /65 bytes/],
    ['long signature', { client_id: C1, message: 'x', signature: good9 + '00' }, /65 bytes/],
    ['bad hex', { client_id: C1, message: 'x', signature: good9.slice(0, 10) + 'zz' + good9.slice(12) }, /non-hex/],
    ['no 0x', { client_id: C1, message: 'x', signature: good9.slice(2) }, /0x/],
    ['v = 29', { client_id: C1, message: 'x', signature: good9.slice(0, -2) + '1d' }, /got 29/],
    ['r = 0', { client_id: C1, message: 'x', signature: '0x' + '0'.repeat(64) + good9.slice(66) }, /zero/],
    ['s >= n', { client_id: C1, message: 'x', signature: good9.slice(0, 66) + 'f'.repeat(64) + '1b' }, /curve order/],
    ['signature not a string', { client_id: C1, message: 'x', signature: 12 }, /signature must be/],
    ['no signature', { client_id: C1, message: 'x' }, /signature is required/],
    ['client id short', { client_id: '0x1234', message: 'x', signature: good9 }, /client_id must be/],
    ['client id not hex', { client_id: '0x' + 'g'.repeat(40), message: 'x', signature: good9 }, /client_id must be/],
    ['client id a number', { client_id: 12, message: 'x', signature: good9 }, /client_id must be/],
    ['no client id', { message: 'x', signature: good9 }, /client_id is required/],
    ['no message', { client_id: C1, signature: good9 }, /message .* is required/],
    ['both messages', { client_id: C1, message: 'x', message_hex: '0x78', signature: good9 }, /not both/],
    ['message not a string', { client_id: C1, message: ['x'], signature: good9 }, /message must be a string/],
    ['message_hex odd', { client_id: C1, message_hex: '0x123', signature: good9 }, /message_hex/],
    ['unknown member', { client_id: C1, message: 'x', signature: good9, nonce: 1 }, /unknown member "nonce"/],
  ];
  for (const [name, body, re] of bad) {
    const r = await c.post(base, '/v1/verify', body);
    eq(r.status, 400, `${name}: status (${r.text})`);
    ok(r.json && re.test(r.json.error), `${name}: "${r.json && r.json.error}" should match ${re}`);
  }
  for (const [name, body, re] of [
    ['truncated JSON', '{"client_id":', /not valid JSON/],
    ['not JSON', 'client_id=0x12', /not valid JSON/],
    ['empty body', '', /not valid JSON/],
    ['an array', '[1,2]', /JSON object/],
    ['duplicate member', `{"client_id":"${C1}","client_id":"${C1}","message":"x","signature":"${good9}"}`, /duplicate/],
    ['NUL in message', `{"client_id":"${C1}","message":"a\\u0000b","signature":"${good9}"}`, /not valid JSON/],
  ]) {
    const r = await c.post(base, '/v1/verify', body);
    eq(r.status, 400, `${name}: status (${r.text})`);
    ok(r.json && re.test(r.json.error), `${name}: "${r.json && r.json.error}" should match ${re}`);
  }
  const huge = await c.post(base, '/v1/verify', JSON.stringify({ client_id: C1, message: 'x'.repeat(70000), signature: good9 }));
  eq(huge.status, 413, 'a body over 64 KiB');
  const m = c.metrics((await c.get(base, '/metrics')).text);
  ok(m.get('dimo_http_requests_total{route="/v1/verify",code="400"}') >= bad.length, '400s counted');
  ok(m.get('dimo_http_requests_total{route="/v1/verify",code="200"}') >= 10, '200s counted');

  console.log(`api verify: ok (${checks()} checks)`);
}

main().catch((e) => {
  console.error(`FAIL: ${e.message}`);
  process.exit(1);
});
