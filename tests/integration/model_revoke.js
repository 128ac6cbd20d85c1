// model_revoke.js: what DIMO's revoke forgets, against a live `run` with the
// API (test_model_revoke.sh starts it). On the devnet contracts, which follow
// DIMO's source: a license with an alias is revoked (the contract deletes the
// alias and the client id mappings with no event) and another license then
// takes the alias; a revoke of the revoked license again (Transfer 0x0 ->
// 0x0); a freeze before the issue; forfeits of 0; aliases that are not text;
// the bytes32 variant's all-zero aliases (every issue logs one) and its
// refusal of a second such issue. Checked: the contracts' views (model_check.js)
// at the head and around the revoke and the re-use; the API and the CLI by
// alias, by client id and by the hex form of an alias that is not text, now
// and ?at_block=; the license account's ERC-1271 (valid for a revoked and a
// frozen license) against POST /v1/verify (license_revoked,
// license_suspended). Then a reorg removes the re-use (the alias is free
// again) and one removes the revoke (the alias is the revoked license's
// again), each checked the same way once the index has followed.
//
// node model_revoke.js --base URL --bin BIN --network FILE --db CONNINFO --rpc URL --cast CAST
'use strict';

const { execFileSync, spawnSync } = require('child_process');
const path = require('path');
const c = require('./api_client');
const { openDevnet } = require('../devnet/lib/network');
const { readState } = require('../devnet/lib/state');
const { Model } = require('../devnet/lib/model');
const { Driver } = require('../devnet/lib/driver');
const abi = require('../devnet/lib/abi');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].slice(2)] = process.argv[i + 1];
const { base, bin, network, db, rpc, cast } = args;

// anvil's dev key 9: the app's signer (API key).
const KEY = '0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6';
const castOut = (...a) => execFileSync(cast, a, { stdio: ['ignore', 'pipe', 'pipe'] }).toString('utf8').trim();
const SIGNER = castOut('wallet', 'address', '--private-key', KEY).toLowerCase();

const { step, ok, deepEq: eq, checks } = c.counted();
const psql = (sql) => execFileSync('psql', [db, '-v', 'ON_ERROR_STOP=1', '-qAt', '-c', sql], { encoding: 'utf8' }).trim();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Waits until the index (logs and model) is at the chain head, same hash. */
async function caughtUp(what) {
  for (let i = 0; i < 600; i++) {
    const head = await c.rpc(rpc, 'eth_getBlockByNumber', ['latest', false]);
    const got = psql(`SELECT '0x' || encode(c.last_hash, 'hex') || ' ' || least(c.last_block, m.block_number)
      FROM cursors c JOIN model_cursor m ON m.chain_id = c.chain_id`);
    if (got === `${head.hash} ${parseInt(head.number, 16)}`) return parseInt(head.number, 16);
    await sleep(100);
  }
  throw new Error(`${what}: the index did not follow the chain head`);
}

function modelCheck(blocks, what) {
  const r = spawnSync('node', [path.join(__dirname, 'model_check.js'), '--rpc', rpc, '--network', network, '--db', db,
    ...blocks.flatMap((b) => ['--block', String(b)])], { encoding: 'utf8' });
  ok(r.status === 0, `${what}: the model equals the contracts' views (${(r.stderr || r.stdout).trim().slice(0, 2000)})`);
}

async function app(key, atBlock, status = 200) {
  const q = atBlock === undefined ? '' : `?at_block=${atBlock}`;
  const r = await c.get(base, `/v1/apps/${encodeURIComponent(key)}${q}`);
  eq(r.status, status, `GET /v1/apps/${key}${q}: status (${r.text.slice(0, 200)})`);
  return r.json;
}

/** ERC-1271 on the license account (client id) for a message signed with KEY. */
async function erc1271(clientId, message) {
  const hash = castOut('hash-message', message);
  const sig = castOut('wallet', 'sign', '--private-key', KEY, message);
  const data = '0x1626ba7e' + abi.encodeParams(['bytes32', 'bytes'], [hash, sig]).toString('hex');
  const out = await c.rpc(rpc, 'eth_call', [{ to: clientId, data }, 'latest']);
  return { valid: out.slice(0, 10) === '0x1626ba7e', sig };
}

async function verifyReason(clientId, message) {
  const { sig } = await erc1271(clientId, message);
  const r = await c.post(base, '/v1/verify', { client_id: clientId, message, signature: sig });
  eq(r.status, 200, `verify ${clientId}: status (${r.text.slice(0, 200)})`);
  return r.json;
}

async function main() {
  const d = openDevnet(rpc, network);
  const model = Model.fromState(await readState(d.rpc, d.net, 'latest'));
  const dr = new Driver(d, model);
  const [APP, OLD] = d.apps.map((a) => a.address);
  const U = d.accounts;
  const last = () => dr.opLog[dr.opLog.length - 1];
  const mustOk = (v, what) => { if (!v) throw new Error(`${what} did not succeed`); return v; };

  step('operations');
  const t1 = mustOk(await dr.issue(APP, U[2], 'garage-27'), 'issue t1');
  const t2 = mustOk(await dr.issue(APP, U[3], 'garage-28'), 'issue t2');
  mustOk(await dr.enableSigner(APP, U[2], t1, SIGNER), 'signer t1');
  const ahead = dr.app(APP).lastTokenId + 1n;
  mustOk(await dr.freeze(APP, ahead, true), 'freeze before issue');
  const frozenAt = last().block;
  const t3 = mustOk(await dr.issue(APP, U[4], 'born-frozen'), 'issue t3');
  eq(t3, ahead, 'the frozen id is the next issued');
  mustOk(await dr.enableSigner(APP, U[4], t3, SIGNER), 'signer t3');
  mustOk(await dr.forfeit(APP, t2, 0n), 'zero burn');
  mustOk(await dr.forfeit(APP, t2, 0n, U[5]), 'zero reallocation');
  mustOk(await dr.forfeit(APP, dr.app(APP).lastTokenId + 7n, 0n), 'zero forfeit of a token not issued');
  const nul = Buffer.from('nul\u0000inside', 'utf8');
  mustOk(await dr.setAlias(APP, U[3], t2, nul), 'alias with a NUL');
  const notUtf8 = Buffer.from([0xff, 0xfe, 0x41]);
  const t4 = mustOk(await dr.issue(APP, U[5], notUtf8), 'issue with an alias that is not UTF-8');
  // The bytes32 variant: zero aliases.
  const o1 = mustOk(await dr.issue(OLD, U[2], ''), 'bytes32 issue without alias');
  ok((await dr.issue(OLD, U[3], '')) === null, 'a second bytes32 issue without alias reverts (the all-zero key is held)');
  const o2 = mustOk(await dr.issue(OLD, U[3], 'b32-alias'), 'bytes32 issue with alias');
  const o3 = mustOk(await dr.issue(OLD, U[4], ''), 'bytes32 issue without alias, key freed');
  mustOk(await dr.issue(OLD, U[5], 'b32-other'), 'bytes32 issue with alias (frees the all-zero key)');
  mustOk(await dr.setAlias(OLD, U[3], o2, ''), 'bytes32 alias cleared');
  const cleared = last().block;
  mustOk(await dr.setAlias(OLD, U[2], o1, 'b32-later'), 'a bytes32 license issued without alias sets one later');
  await dr.mineEmpty(2);
  mustOk(await dr.revoke(APP, t1), 'revoke t1');
  const R = last().block;
  mustOk(await dr.revoke(APP, t1), 'revoke t1 again');
  await dr.mineEmpty(2);
  mustOk(await dr.setAlias(APP, U[3], t2, 'garage-27'), 'another license takes the freed alias');
  const reuse = last().block;
  const lic = (a, id) => dr.app(a).licenses.get(id);
  const cid1 = lic(APP, t1).clientId;
  const cid3 = lic(APP, t3).clientId;

  step('after the revoke and the re-use');
  let head = await caughtUp('after the operations');
  modelCheck([], 'head');
  modelCheck([frozenAt, R - 1, R, reuse - 1, cleared - 1], 'past blocks');
  // (No stake on these licenses, which a revoke needs: below the devnet's
  // app requirement, the seed's rule, they are understaked when not revoked.)
  let a = await app('garage-27');
  eq([a.contract, a.token_id, a.status], [APP, String(t2), 'understaked'], 'garage-27 names the license that took it');
  a = await app('garage-27', R - 1);
  eq([a.token_id, a.alias, a.status], [String(t1), 'garage-27', 'understaked'], 'garage-27 before the revoke');
  await app('garage-27', R, 404);
  await app('garage-27', reuse - 1, 404);
  a = await app(cid1);
  eq([a.token_id, a.status, a.alias, a.client_id, a.revoked && a.revoked.block], [String(t1), 'revoked', null, cid1, R],
    'the revoked license by its client id: no alias');
  a = await app(cid1, R - 1);
  eq([a.status, a.alias], ['understaked', 'garage-27'], 'by client id before the revoke');
  a = await app('0xfffe41');
  eq([a.token_id, a.alias], [String(t4), '0xfffe41'], 'an alias that is not UTF-8: hex form');
  a = await app('0x' + nul.toString('hex'), reuse - 1);
  eq([a.token_id, a.alias], [String(t2), '0x' + nul.toString('hex')], 'an alias with a NUL: hex form');
  await app('nul', reuse - 1, 404); // the contract's getLicenseAliasByTokenId stops at the NUL; the key does not
  a = await app(cid3);
  eq([a.status, a.frozen, a.issued.block > frozenAt], ['suspended', true, true], 'frozen before its issue');
  a = await app(cid3, a.issued.block);
  eq(a.status, 'suspended', 'suspended from its issue block');
  a = await app(lic(APP, t2).clientId);
  eq(a.slashes.map((s) => [s.amount, s.destination]), [['0', 'burn'], ['0', U[5]]], 'zero forfeits');
  const oc = (id) => lic(OLD, id).clientId;
  eq([(await app(oc(o1), cleared)).alias, (await app(oc(o3), cleared)).alias, (await app(oc(o2), cleared)).alias],
    [null, null, null], 'bytes32 zero aliases are no alias');
  eq((await app(oc(o2), cleared - 1)).alias, 'b32-alias', 'bytes32 alias before it was cleared');
  await app('b32-alias', undefined, 404); // cleared by the zero alias
  a = await app('b32-later');
  eq([a.contract, a.token_id, a.alias], [OLD, String(o1), 'b32-later'], 'a later bytes32 alias works');
  const hexCli = c.license(bin, network, db, '0xfffe41', ['--class', 'app']);
  eq([hexCli.token_id, hexCli.alias], [String(t4), '0xfffe41'], 'license 0xfffe41: the alias that is not UTF-8');
  const cli = c.license(bin, network, db, 'garage-27', ['--class', 'app']);
  eq(Array.isArray(cli) ? cli.map((x) => x.token_id) : [cli.token_id], [String(t2)], 'license garage-27: the new holder only');

  step('ERC-1271 against verify');
  let e = await erc1271(cid1, `revoked ${Date.now()}`);
  ok(e.valid, 'the revoked license account still answers valid (isSigner only)');
  let v = await verifyReason(cid1, `revoked ${Date.now()}`);
  eq([v.valid, v.reason], [false, 'license_revoked'], 'verify: license_revoked');
  e = await erc1271(cid3, `frozen ${Date.now()}`);
  ok(e.valid, 'the frozen license account answers valid');
  v = await verifyReason(cid3, `frozen ${Date.now()}`);
  eq([v.valid, v.reason], [false, 'license_suspended'], 'verify: license_suspended');

  step('a reorg removes the re-use');
  head = parseInt(await c.rpc(rpc, 'eth_blockNumber'), 16);
  await c.rpc(rpc, 'anvil_reorg', [head - reuse + 1, []]);
  await caughtUp('after the first reorg');
  modelCheck([], 'head after removing the re-use');
  modelCheck([R - 1, R], 'past blocks after removing the re-use');
  await app('garage-27', undefined, 404);
  eq((await app(lic(APP, t2).clientId)).alias, '0x' + nul.toString('hex'), 'the license keeps its alias with a NUL');

  step('a reorg removes the revoke');
  head = parseInt(await c.rpc(rpc, 'eth_blockNumber'), 16);
  await c.rpc(rpc, 'anvil_reorg', [head - R + 1, []]);
  await caughtUp('after the second reorg');
  modelCheck([], 'head after removing the revoke');
  a = await app('garage-27');
  eq([a.token_id, a.status, a.alias, a.revoked], [String(t1), 'understaked', 'garage-27', null], 'the alias is the license\'s again');
  v = await verifyReason(cid1, `back ${Date.now()}`);
  // Revoked no more; without stake it is understaked under the devnet's
  // seed rule (the revoke's reason is gone).
  eq([v.valid, v.reason], [false, 'license_understaked'], 'verify: not revoked any more');
  d.rpc.close();
}

main().then(() => {
  console.log(`model revoke: ${checks()} checks`);
}).catch((err) => {
  console.error(`FAIL: ${err.stack || err.message}`);
  process.exit(1);
});
