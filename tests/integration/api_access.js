// api_access.js: GET /v1/access, the access question inside POST
// /v1/verify and `dimo-indexer access`, on the indexed fixed scenario, with
// grants, a transfer and a short-lived grant sent here to the devnet
// contracts (cast send from the unlocked dev accounts): malformed requests
// are 400s that name the problem; answers follow each commit at once (the
// cache must not hide a grant, a reset or a lapse); an allowed answer
// judged at the wall clock stops being served when its grant expires; the
// command line's exit codes and JSON.
//
// node api_access.js --base URL --bin BIN --network FILE --db CONNINFO --rpc URL --cast CAST
'use strict';

const { execFileSync, spawnSync } = require('child_process');
const c = require('./api_client');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].slice(2)] = process.argv[i + 1];
const { base, bin, network, db, rpc, cast } = args;
const net = require(network);
const sacd = net.contracts.find((x) => x.role === 'sacd').address.toLowerCase();
const vehicle = net.contracts.find((x) => x.role === 'vehicle').address.toLowerCase();

// anvil's dev key 7 (the signer this test enables).
const KEY7 = '0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356';
const FOREVER = (1n << 256n) - 1n;

const { step, ok, eq, deepEq, checks } = c.counted();

const castOut = (...a) => execFileSync(cast, a, { stdio: ['ignore', 'pipe', 'pipe'] }).toString('utf8').trim();
const send = (from, to, sig, ...a) => castOut('send', '-q', '--rpc-url', rpc, '--unlocked', '--from', from, to, sig, ...a);
const sql = (q) => execFileSync('psql', [db, '-v', 'ON_ERROR_STOP=1', '-qAt', '-c', q], { encoding: 'utf8' }).trim();

async function caughtUp() {
  const head = parseInt(await c.rpc(rpc, 'eth_blockNumber'), 16);
  for (let i = 0; i < 600; i++) {
    const r = await c.get(base, '/readyz');
    if (r.json && r.json.indexed_block >= head) return head;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`the index did not reach block ${head}`);
}

const query = (o) =>
  Object.entries(o)
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
    .join('&');

async function access(o, status = 200) {
  const r = await c.get(base, `/v1/access?${query(o)}`);
  eq(r.status, status, `GET /v1/access?${query(o)}: status (${r.text.slice(0, 300)})`);
  return r.json;
}

async function badRequests(q) {
  step('malformed requests are 400s naming the problem');
  const { client_id, asset, token_id } = q;
  const cases = [
    [{ asset, token_id, permission: 1 }, 'client_id is required'],
    [{ client_id: '0x12', asset, token_id, permission: 1 }, 'client_id must be a 0x address'],
    [{ client_id, token_id, permission: 1 }, 'asset is required'],
    [{ client_id, asset: 'vehicle', token_id, permission: 1 }, 'asset must be a 0x address'],
    [{ client_id, asset, permission: 1 }, 'token_id is required'],
    [{ client_id, asset, token_id: '-1', permission: 1 }, 'token_id must be a decimal number below 2^256'],
    [{ client_id, asset, token_id: '0x1', permission: 1 }, 'token_id must be a decimal number below 2^256'],
    [{ client_id, asset, token_id: (FOREVER + 1n).toString(), permission: 1 }, 'token_id must be a decimal'],
    [{ client_id, asset, token_id }, 'permission is required'],
    [{ client_id, asset, token_id, permission: 128 }, 'permission must be a SACD permission index 0..127'],
    [{ client_id, asset, token_id, permission: 'read' }, 'permission must be a SACD permission index'],
    [{ client_id, asset, token_id, permission: 1, signer: 'me' }, 'signer must be a 0x address'],
    [{ client_id, asset, token_id, permission: 1, at_block: 'latest' }, 'at_block must be a block number'],
    [{ client_id, asset, token_id, permission: 1, at_block: 99999999 }, 'block 99999999 is not indexed'],
    [{ client_id, asset, token_id, permission: 1, at_time: 'now' }, 'at_time must be Unix seconds or'],
    [{ client_id, asset, token_id, permission: 1, at_time: '2025-13-01T00:00:00Z' }, 'at_time must be'],
    [{ client_id, asset, token_id, permission: 1, vehicle: 3 }, 'unknown query parameter "vehicle"'],
    [{ client_id, grantor: 'me', permission: 1 }, 'grantor must be a 0x address'],
    [{ client_id, grantor: asset, asset, token_id, permission: 1 }, 'grantor replaces asset and token_id'],
    [{ client_id, grantor: asset, token_id, permission: 1 }, 'asset is required'],
    [{ client_id, grantor: asset }, 'permission is required'],
  ];
  for (const [o, msg] of cases) {
    const r = await c.get(base, `/v1/access?${query(o)}`);
    eq(r.status, 400, `${query(o)}: status`);
    ok(r.json && r.json.error.includes(msg), `${query(o)}: error ${r.text}, expected "${msg}"`);
  }
  const twice = await c.get(base, `/v1/access?${query({ client_id, asset, token_id, permission: 1 })}&permission=2`);
  eq(twice.status, 400, 'repeated parameter: status');
  ok(twice.json.error.includes('given twice'), `repeated parameter: ${twice.text}`);
  const post = await c.post(base, '/v1/access', {});
  eq(post.status, 405, 'POST /v1/access: status');
  eq(post.headers.allow, 'GET, HEAD', 'POST /v1/access: Allow');
  const head = await c.request(base, 'HEAD', `/v1/access?${query({ client_id, asset, token_id, permission: 1 })}`);
  eq(head.status, 200, 'HEAD /v1/access: status');
  // An account question: no account grant on the 2024 devnet, no owner rules yet.
  const acct = await c.get(base, `/v1/access?${query({ client_id, grantor: asset, permission: 1 })}`);
  eq(acct.status, 200, 'account question: status');
  eq(JSON.stringify([acct.json.grantor, acct.json.asset, acct.json.token_id, acct.json.has_permission, acct.json.reasons.slice(-1)]),
    JSON.stringify([asset, null, null, false, ['grant_missing']]), 'account question: answer');
}

function cli(argv) {
  const r = spawnSync(bin, ['access', '--network', network, '--db', db, ...argv], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

async function main() {
  // An active app license whose owner can enable a signer, and a vehicle of
  // a dev account that has never granted that app anything.
  const app = sql(`SELECT '0x' || encode(client_id, 'hex') || ' ' || '0x' || encode(owner, 'hex') || ' ' || token_id
    || ' ' || '0x' || encode(contract, 'hex') FROM licenses
    WHERE status = 'active' AND client_id IS NOT NULL AND role = 'app_license' ORDER BY contract, token_id LIMIT 1`).split(' ');
  const [clientId, appOwner, appToken, appContract] = app;
  const devs = net['x-dev-accounts'].map((a) => a.toLowerCase());
  const v = sql(`SELECT token_id || ' ' || '0x' || encode(owner, 'hex') FROM vehicle_state v
    WHERE NOT burned AND owner IN (${devs.map((a) => `'\\x${a.slice(2)}'::bytea`).join(',')})
      AND NOT EXISTS (SELECT 1 FROM sacd_records r WHERE r.asset = v.asset AND r.token_id = v.token_id
                      AND r.grantee = '\\x${clientId.slice(2)}'::bytea)
    ORDER BY token_id LIMIT 1`).split(' ');
  ok(v.length === 2, `a vehicle of a dev account without a grant to ${clientId}`);
  const [token, owner] = v;
  const newOwner = devs.find((a) => a !== owner && a !== appOwner);
  const q = { client_id: clientId, asset: vehicle, token_id: token, permission: 2 };

  await badRequests(q);

  step('no grant yet: grant_missing, cached, then a grant is seen at once');
  let a = await access(q);
  deepEq(a.reasons, ['grant_missing'], 'before the grant');
  eq(a.allowed, false, 'before the grant: allowed');
  eq(a.grant, null, 'before the grant: grant');
  eq(a.signer, null, 'no signer asked: signer');
  const hits = async () => c.metrics((await c.get(base, '/metrics')).text).get('dimo_api_cache_hits_total');
  const h0 = await hits();
  await access(q);
  ok((await hits()) > h0, 'the second identical question is answered from the cache');
  // Pair 2 (bits 4, 5) and pair 0 (bits 0, 1), never expiring.
  send(owner, sacd, 'setPermissions(address,uint256,address,uint256,uint256,string)', vehicle, token, clientId,
    '51', FOREVER.toString(), 'ipfs://api-access-test');
  await caughtUp();
  a = await access(q);
  eq(a.allowed, true, `after the grant: ${JSON.stringify(a)}`);
  deepEq(a.reasons, [], 'after the grant: reasons');
  deepEq(a.grant.permission_ids, [0, 2], 'after the grant: permission ids');
  eq(a.grant.source, 'ipfs://api-access-test', 'after the grant: source');
  eq(a.allowed_until, '9999-12-31T23:59:59Z', 'a grant that never expires: allowed_until capped');
  a = await access({ ...q, permission: 1 });
  deepEq(a.reasons, ['permission_not_granted'], 'a permission outside the grant');

  step('signers: a fresh one enabled here, a stranger');
  const signer = castOut('wallet', 'address', '--private-key', KEY7).toLowerCase();
  send(appOwner, appContract, 'enableSigner(uint256,address)', appToken, signer);
  await caughtUp();
  a = await access({ ...q, signer });
  eq(a.allowed, true, `with a valid signer: ${JSON.stringify(a)}`);
  eq(a.signer.valid, true, 'with a valid signer: signer.valid');
  ok(a.allowed_until <= a.signer.expires_at, 'allowed_until is no later than the signer expiry');
  a = await access({ ...q, signer: '0x000000000000000000000000000000000000dEaD' });
  deepEq(a.reasons, ['signer_not_enabled'], 'a stranger as signer');

  step('POST /v1/verify with a vehicle and a permission');
  const message = `GET /v1/vehicles/${token}/telemetry nonce=1`;
  const signature = castOut('wallet', 'sign', '--private-key', KEY7, message);
  let r = await c.post(base, '/v1/verify', { client_id: clientId, message, signature, asset: vehicle,
    token_id: Number(token), permission: '2' });
  eq(r.status, 200, `verify with access: ${r.text.slice(0, 300)}`);
  eq(r.json.valid, true, 'verify with access: valid');
  eq(r.json.access.allowed, true, 'verify with access: access.allowed');
  eq(r.json.access.signer.address, signer, 'verify with access: the recovered signer is checked');
  r = await c.post(base, '/v1/verify', { client_id: clientId, message, signature, asset: vehicle, token_id: token,
    permission: 1 });
  deepEq(r.json.access.reasons, ['permission_not_granted'], 'verify with access: another permission');
  r = await c.post(base, '/v1/verify', { client_id: clientId, message, signature });
  eq(r.json.access, undefined, 'verify without a vehicle has no access member');
  for (const [body, msg] of [
    [{ asset: vehicle, token_id: token }, 'asset, token_id and permission go together'],
    [{ asset: vehicle, token_id: token, permission: 300 }, 'permission must be a SACD permission index'],
    [{ asset: vehicle, token_id: true, permission: 1 }, 'token_id must be a decimal'],
    [{ asset: 7, token_id: token, permission: 1 }, 'asset must be a 0x address'],
  ]) {
    r = await c.post(base, '/v1/verify', { client_id: clientId, message, signature, ...body });
    eq(r.status, 400, `verify ${JSON.stringify(body)}: status`);
    ok(r.json.error.includes(msg), `verify ${JSON.stringify(body)}: ${r.text}, expected "${msg}"`);
  }

  step('the command line');
  const head = await caughtUp();
  let x = cli(['--client-id', clientId, '--asset', vehicle, '--token-id', token, '--permission', '2',
    '--at-block', String(head), '--json']);
  eq(x.status, 0, `access --json (allowed): exit status (${x.err})`);
  deepEq(JSON.parse(x.out), await access({ ...q, at_block: head }), 'access --json equals the API');
  x = cli(['--client-id', clientId, '--asset', vehicle, '--token-id', token, '--permission', '1']);
  eq(x.status, 1, 'access (not allowed): exit status');
  ok(/allowed: +no/.test(x.out) && x.out.includes('permission_not_granted'), `access text: ${x.out}`);
  x = cli(['--client-id', clientId, '--asset', vehicle, '--token-id', token]);
  eq(x.status, 2, 'access without --permission: exit status');
  ok(x.err.includes('--permission is required'), `access without --permission: ${x.err}`);
  x = cli(['--client-id', clientId, '--asset', vehicle, '--token-id', token, '--permission', '1', '--at-block',
    '99999999']);
  eq(x.status, 2, 'access --at-block beyond the index: exit status');
  x = cli(['--client-id', clientId, '--asset', vehicle, '--token-id', token, '--permission', '1', '--bogus']);
  eq(x.status, 2, 'access --bogus: exit status');
  x = cli(['--client-id', clientId, '--grantor', vehicle, '--permission', '1', '--at-block', String(head), '--json']);
  eq(x.status, 1, `access --grantor (no account grant): exit status (${x.err})`);
  deepEq(JSON.parse(x.out), await access({ client_id: clientId, grantor: vehicle, permission: 1, at_block: head }),
    'access --grantor --json equals the API');
  x = cli(['--client-id', clientId, '--grantor', vehicle, '--permission', '1']);
  ok(x.status === 1 && /account: +grantor/.test(x.out), `access --grantor text: ${x.out}`);
  x = cli(['--client-id', clientId, '--grantor', vehicle, '--asset', vehicle, '--token-id', token, '--permission', '1']);
  eq(x.status, 2, 'access --grantor with --asset: exit status');
  ok(x.err.includes('--grantor replaces --asset and --token-id'), `access --grantor with --asset: ${x.err}`);
  x = cli(['--client-id', clientId, '--grantor', 'me', '--permission', '1']);
  ok(x.status === 2 && x.err.includes('--grantor must be a 0x address'), `access --grantor me: ${x.status} ${x.err}`);

  step('`verify` with a vehicle and a permission');
  const verifyCli = (argv) => {
    const v = spawnSync(bin, ['verify', '--network', network, '--db', db, '--client-id', clientId,
      '--message', message, '--signature', signature, ...argv], { encoding: 'utf8' });
    return { status: v.status, out: v.stdout, err: v.stderr };
  };
  x = verifyCli(['--asset', vehicle, '--token-id', token, '--permission', '2', '--json']);
  eq(x.status, 0, `verify --asset --json (allowed): exit status (${x.err})`);
  const vj = JSON.parse(x.out);
  eq(vj.valid, true, 'verify --asset: valid');
  eq(vj.access.allowed, true, 'verify --asset: access.allowed');
  eq(vj.access.signer.address, signer, 'verify --asset: the recovered signer is checked');
  x = verifyCli(['--asset', vehicle, '--token-id', token, '--permission', '1']);
  eq(x.status, 1, `verify --asset (not allowed): exit status (${x.err})`);
  ok(/^valid: +yes$/m.test(x.out) && x.out.includes('access:     not allowed (permission_not_granted)'),
    `verify --asset text: ${x.out}`);
  x = verifyCli(['--asset', vehicle, '--token-id', token]);
  eq(x.status, 2, 'verify --asset without --permission: exit status');
  x = verifyCli(['--asset', vehicle, '--token-id', token, '--permission', '2', '--at-block', String(head)]);
  eq(x.status, 2, 'verify --asset --at-block: exit status');
  ok(x.err.includes('dimo-indexer access --at-block'), `verify --asset --at-block: ${x.err}`);

  step('a transfer resets the grant at once');
  send(owner, vehicle, 'transferFrom(address,address,uint256)', owner, newOwner, token);
  await caughtUp();
  a = await access(q);
  deepEq(a.reasons, ['grant_reset_by_transfer'], `after the transfer: ${JSON.stringify(a)}`);
  eq(a.grant.reset_by_transfer.to, newOwner, 'after the transfer: the reset names the new owner');
  const past = await access({ ...q, at_block: head });
  eq(past.allowed, true, 'as of the block before the transfer it was allowed');

  step('a grant judged at the wall clock lapses by itself');
  const now = Math.floor(Date.now() / 1000);
  send(newOwner, sacd, 'setPermissions(address,uint256,address,uint256,uint256,string)', vehicle, token, clientId,
    '48', String(now + 4), 'ipfs://short');
  await caughtUp();
  a = await access(q);
  eq(a.allowed, true, `the short grant, at once: ${JSON.stringify(a)}`);
  eq(Date.parse(a.allowed_until) / 1000, now + 4, 'allowed_until is the grant expiry');
  await new Promise((res) => setTimeout(res, Math.max(0, (now + 5) * 1000 - Date.now())));
  a = await access(q);
  deepEq(a.reasons, ['grant_expired'], `the short grant after its expiry (no commit in between): ${JSON.stringify(a)}`);
  a = await access({ ...q, at_time: String(now + 3) });
  eq(a.allowed, true, 'at_time before the expiry: allowed');
  a = await access({ ...q, at_time: new Date((now + 4) * 1000).toISOString().replace('.000', '') });
  deepEq(a.reasons, ['grant_expired'], 'at_time = the expiry: expired (expiration > time is required)');

  console.log(`api access: ok (${checks()} checks)`);
}

main().catch((e) => {
  console.error(e.stack || String(e));
  process.exit(1);
});
