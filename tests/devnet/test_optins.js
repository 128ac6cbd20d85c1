#!/usr/bin/env node
'use strict';
// Devnet test 5: opt-ins. On a fresh anvil:
//  1. the Sacd and DimoVehicle contracts, driven directly (not through the
//     scenario's model): only the owner grants; exact PermissionsSet /
//     Transfer / PrivilegeSet logs; replacement; bit pairs (hasPermission)
//     and plain masks (hasPermissions); index 127 works, 128 reverts;
//     expiry is strict (expiration > block time) for SACD and inclusive for
//     legacy privileges (expires >= block time); a transfer between owners
//     (also to oneself) resets both, logs only the vehicle's Transfer;
//     mints and burns reset nothing; onTransfer only from the asset;
//  2. the fixed scenario's opt-in part and a randomized run with --optins
//     (DEVNET_SEED, default 20240517; DEVNET_OPTIN_OPS, default 400): state
//     == the scenario's model;
//  3. the oracle (access_state.js) at a spread of blocks (checks, vehicles,
//     privileges) equals a replay of the logs alone (PermissionsSet, the
//     vehicle's Transfer and PrivilegeSet): what an indexer can know from
//     eth_getLogs suffices. The replay's rules, for the indexer: a record
//     counts only if set after the token's last vehicle Transfer with
//     from != 0x0 and to != 0x0 (from == to included); then expiration >
//     block time and both bits of the pair; a privilege likewise, but
//     expires >= block time, or the user owns the vehicle (null = the
//     contract reverts: burned, entry not valid).
//  4. the SACD timeline (lib/sacd_upgrades.js) on the same proxies: the
//     templateId upgrade flips a burned vehicle's grant to no and the
//     owner's question to yes, with one Upgraded log and the new
//     PermissionsSet topic0 from the same address; a template's
//     deactivation and re-activation switch its grant; account grants
//     (the grantor for itself); renounces with and without a record.

const fs = require('fs');
const path = require('path');
const { runTest, runScript, assert } = require('./lib/harness');
const { compile } = require('./compile');
const { openDevnet } = require('./lib/network');
const { compareExpect, ZERO } = require('./lib/model');
const { sendTx, REVERT_GAS, DEFAULT_GAS } = require('./lib/chain');
const { qty } = require('./lib/abi');
const { getLogs } = require('./lib/state');

const SEED = Number(process.env.DEVNET_SEED || 20240517);
const OPS = Number(process.env.DEVNET_OPTIN_OPS || 400);
const DAY = 86400;
const APP = '0x' + '5a'.repeat(19) + '01'; // a grantee
const UPGRADED = '0xbc7cd75a20ee27fd9adebab32041f755214dbc6bffa90cc0225b39da2e5c2d3b'; // Upgraded(address)

async function contractSemantics(d, ctx) {
  const { rpc, sacd, vehicle } = d;
  const [admin, U1, U2, U3] = [d.admin, d.accounts[1], d.accounts[2], d.accounts[3]];
  let checks = 0;
  const send = async (c, from, fn, args, ok = true) => {
    const r = await sendTx(rpc, c.txReq(from, fn, args, { gas: ok ? DEFAULT_GAS : REVERT_GAS }));
    assert(r.status === (ok ? '0x1' : '0x0'), `${c.name}.${fn}(${args.join(', ')}) from ${from}: status ${r.status}, want ${ok ? 'success' : 'revert'}`);
    checks++;
    r.bn = Number(BigInt(r.blockNumber));
    r.decoded = r.logs.map((l) => d.decodeLog(l));
    return r;
  };
  const at = (c, fn, args, bn) => c.call(fn, args, { blockTag: bn === undefined ? 'latest' : bn });
  const eq = (what, want, got) => {
    checks++;
    const a = JSON.stringify(want, (k, v) => (typeof v === 'bigint' ? v.toString() : v));
    const b = JSON.stringify(got, (k, v) => (typeof v === 'bigint' ? v.toString() : v));
    assert(a === b, `${what}: want ${a}, got ${b}`);
  };
  const head = async () => Number(BigInt((await rpc.call('eth_getBlockByNumber', ['latest', false])).timestamp));
  const has = (id, who, i, bn) => at(sacd, 'hasPermission', [vehicle.address, id, who, i], bn);
  const veh = vehicle.address;

  // Mints: admin only; ids from 1; Transfer(0x0 -> to); no SACD version change.
  const m1 = await send(vehicle, admin, 'mint', [U1]);
  eq('mint log', [{ name: 'Transfer', address: veh, from: ZERO, to: U1, tokenId: 1n }],
    m1.decoded.map((e) => ({ name: e.name, address: e.address, from: e.args.from, to: e.args.to, tokenId: e.args.tokenId })));
  await send(vehicle, admin, 'mint', [U2]);
  await send(vehicle, U1, 'mint', [U1], false);
  const T = await head();
  const LONG = BigInt(T + 365 * DAY);

  // Only the owner grants; zero grantee and unknown tokens revert.
  await send(sacd, U2, 'setPermissions', [veh, 1n, APP, 3n, LONG, 'x'], false);
  await send(sacd, admin, 'setPermissions', [veh, 1n, APP, 3n, LONG, 'x'], false);
  await send(sacd, U1, 'setPermissions', [veh, 1n, ZERO, 3n, LONG, 'x'], false);
  await send(sacd, U1, 'setPermissions', [veh, 99n, APP, 3n, LONG, 'x'], false);
  await send(sacd, U1, 'onTransfer', [veh, 1n], false);
  const g1 = await send(sacd, U1, 'setPermissions', [veh, 1n, APP, 0b1101n, LONG, 'ipfs://one']);
  eq('PermissionsSet log', [{ name: 'PermissionsSet', address: sacd.address, asset: veh, tokenId: 1n, permissions: 13n, grantee: APP, expiration: LONG, source: 'ipfs://one' }],
    g1.decoded.map((e) => ({ name: e.name, address: e.address, ...Object.fromEntries(['asset', 'tokenId', 'permissions', 'grantee', 'expiration', 'source'].map((k) => [k, e.args[k]])) })));
  eq('PermissionsSet topics: asset, tokenId, grantee indexed', 4, g1.logs[0].topics.length);

  // Bit pairs: 0b1101 = pair 0 has bit 0 only, pair 1 both bits.
  eq('hasPermission 0..2 of 0b1101', [false, true, false], [await has(1n, APP, 0), await has(1n, APP, 1), await has(1n, APP, 2)]);
  eq('hasPermissions is a plain mask', [true, true, false, true],
    [await at(sacd, 'hasPermissions', [veh, 1n, APP, 0b1100n]), await at(sacd, 'hasPermissions', [veh, 1n, APP, 0b0001n]),
      await at(sacd, 'hasPermissions', [veh, 1n, APP, 0b0011n]), await at(sacd, 'hasPermissions', [veh, 1n, APP, 0n])]);
  eq('no grant for another grantee', false, await has(1n, U3, 1));
  eq('no shortcut for the owner', false, await has(1n, U1, 1));

  // Replacement, and the top pair (index 127).
  await send(sacd, U1, 'setPermissions', [veh, 1n, APP, (3n << 254n) | 3n, LONG + 1n, 'ipfs://two']);
  eq('replaced record', [(3n << 254n) | 3n, LONG + 1n, 'ipfs://two'], await at(sacd, 'currentPermissionRecord', [veh, 1n, APP]));
  eq('after replacement 0, 1, 127', [true, false, true], [await has(1n, APP, 0), await has(1n, APP, 1), await has(1n, APP, 127)]);
  let reverted = false;
  try { await has(1n, APP, 128); } catch (e) { reverted = /revert|overflow|panic/i.test(e.message); }
  eq('hasPermission(128) reverts (uint8 overflow, as deployed)', true, reverted);

  // Expiry is strict: at a block whose timestamp equals the expiration, no.
  const E = (await head()) + 100;
  await send(sacd, U2, 'setPermissions', [veh, 2n, APP, 3n, BigInt(E), 'short']);
  const before = (await send(vehicle, admin, 'mint', [U3])).bn; // token 3, also a block before E
  await rpc.call('evm_setNextBlockTimestamp', [E]);
  await rpc.call('evm_mine', []);
  const atE = before + 1;
  eq('block at the expiration', E, Number(BigInt((await rpc.call('eth_getBlockByNumber', [qty(atE), false])).timestamp)));
  eq('grant before / at its expiration', [true, false], [await has(2n, APP, 0, before), await has(2n, APP, 0, atE)]);

  // Legacy privileges: owner only, ids 1..privilegeCount, expires >= now.
  const count = await at(vehicle, 'privilegeCount', []);
  await send(vehicle, U2, 'setPrivilege', [1n, 1n, APP, LONG], false);
  await send(vehicle, U1, 'setPrivilege', [1n, 0n, APP, LONG], false);
  await send(vehicle, U1, 'setPrivilege', [1n, count + 1n, APP, LONG], false);
  const p1 = await send(vehicle, U1, 'setPrivilege', [1n, 2n, APP, LONG]);
  eq('PrivilegeSet log', [['PrivilegeSet', 1n, 0n, 2n, APP, LONG]], p1.decoded.map((e) => [e.name, e.args.tokenId, e.args.version, e.args.privId, e.args.user, e.args.expires]));
  eq('hasPrivilege; the owner always', [true, false, true],
    [await at(vehicle, 'hasPrivilege', [1n, 2n, APP]), await at(vehicle, 'hasPrivilege', [1n, 3n, APP]), await at(vehicle, 'hasPrivilege', [1n, 5n, U1])]);
  const E2 = (await head()) + 50;
  await send(vehicle, U2, 'setPrivilege', [2n, 1n, APP, BigInt(E2)]);
  await rpc.call('evm_setNextBlockTimestamp', [E2]);
  await rpc.call('evm_mine', []);
  const atE2 = Number(BigInt(await rpc.call('eth_blockNumber', [])));
  await rpc.call('evm_mine', []);
  eq('privilege at / after its expiry (>=)', [true, false],
    [await at(vehicle, 'hasPrivilege', [2n, 1n, APP], atE2), await at(vehicle, 'hasPrivilege', [2n, 1n, APP], atE2 + 1)]);

  // Transfers reset (only the owner moves a vehicle); SACD logs nothing.
  await send(vehicle, U2, 'transferFrom', [U1, U2, 1n], false);
  await send(vehicle, U1, 'transferFrom', [U1, ZERO, 1n], false);
  const tr = await send(vehicle, U1, 'transferFrom', [U1, U2, 1n]);
  eq('transfer logs only Transfer', [[veh, 'Transfer', U1, U2, 1n]], tr.decoded.map((e) => [e.address, e.name, e.args.from, e.args.to, e.args.tokenId]));
  eq('versions after a transfer', [1n, 1n], [await at(sacd, 'tokenIdToVersion', [veh, 1n]), await at(vehicle, 'tokenIdToVersion', [1n])]);
  eq('grant gone after the transfer', [false, false], [await has(1n, APP, 0), await has(1n, APP, 127)]);
  eq('current record after the transfer', [0n, 0n, ''], await at(sacd, 'currentPermissionRecord', [veh, 1n, APP]));
  eq('old record still stored', [(3n << 254n) | 3n, LONG + 1n, 'ipfs://two'], await at(sacd, 'permissionRecords', [veh, 1n, 0n, APP]));
  eq('privilege gone after the transfer', [false, 0n], [await at(vehicle, 'hasPrivilege', [1n, 2n, APP]), await at(vehicle, 'privilegeExpiresAt', [1n, 2n, APP])]);
  await send(sacd, U1, 'setPermissions', [veh, 1n, APP, 3n, LONG, 'old owner'], false);
  await send(sacd, U2, 'setPermissions', [veh, 1n, APP, 3n, LONG, 'new owner']);
  const p2 = await send(vehicle, U2, 'setPrivilege', [1n, 2n, APP, LONG]);
  eq('PrivilegeSet carries the new version', 1n, p2.decoded[0].args.version);
  eq('new owner grant', true, await has(1n, APP, 0));
  await send(vehicle, U2, 'transferFrom', [U2, U2, 1n]);
  eq('self-transfer resets too', [2n, false], [await at(sacd, 'tokenIdToVersion', [veh, 1n]), await has(1n, APP, 0)]);

  // Burns reset nothing: the grant keeps counting; nothing can be set any more.
  await send(sacd, U3, 'setPermissions', [veh, 3n, APP, 0xfn, LONG, 'before burn']);
  const vb = await at(sacd, 'tokenIdToVersion', [veh, 3n]);
  await send(vehicle, U1, 'burn', [3n], false);
  const b = await send(vehicle, U3, 'burn', [3n]);
  eq('burn log', [[veh, 'Transfer', U3, ZERO, 3n]], b.decoded.map((e) => [e.address, e.name, e.args.from, e.args.to, e.args.tokenId]));
  eq('burn keeps the version and the grant', [vb, true, true], [await at(sacd, 'tokenIdToVersion', [veh, 3n]), await has(3n, APP, 0), await has(3n, APP, 1)]);
  await send(sacd, U3, 'setPermissions', [veh, 3n, APP, 3n, LONG, 'after burn'], false);
  await send(vehicle, U3, 'transferFrom', [U3, U1, 3n], false);
  await send(vehicle, U3, 'setPrivilege', [3n, 1n, APP, LONG], false);
  reverted = false;
  try { await at(vehicle, 'hasPrivilege', [3n, 1n, U3]); } catch (e) { reverted = /revert/i.test(e.message); }
  eq('hasPrivilege of a burned vehicle without a valid entry reverts', true, reverted);
  const m4 = await send(vehicle, admin, 'mint', [U1]);
  eq('ids are not reused', 4n, m4.decoded[0].args.tokenId);
  ctx.log(`contract semantics: ${checks} checks`);
  return checks;
}

/** Part 4: the upgraded implementations' views, step by step. */
async function upgradedSemantics(d) {
  const { runSacdSteps } = require('./lib/sacd_upgrades');
  const { sacdAllGenerations } = require('./lib/optins');
  const { rpc, vehicle } = d;
  const sacd = sacdAllGenerations(d); // the proxy, read with the last implementation's ABI
  const veh = vehicle.address;
  const [U1, U2, U3, U4] = [d.accounts[1], d.accounts[2], d.accounts[3], d.accounts[4]];
  const [Ga, Gb, Gc] = [d.accounts[6], d.accounts[7], d.accounts[8]];
  let n = 0;
  const is = (what, want, got) => { n++; assert(want === got, `${what}: want ${want}, got ${got}`); };
  const has = (id, who, i) => sacd.call('hasPermission', [veh, id, who, i]);
  const acct = (grantor, who, i) => sacd.call('hasAccountPermission', [grantor, who, i]);
  // A burned vehicle with a grant still in force, and a live one with its owner.
  const last = await vehicle.call('lastTokenId', []);
  let burned = null;
  let live = null;
  const grants = (await getLogs(rpc, sacd.address, d.sacd.startBlock, Number(BigInt(await rpc.call('eth_blockNumber', [])))))
    .map((l) => sacd.decodeLog(l)).filter((e) => e && e.name === 'PermissionsSet' && e.args.asset === veh);
  for (let id = 1n; id <= last; id++) {
    const owner = await vehicle.call('ownerOf', [id]).catch(() => null);
    if (owner === null && burned === null) { // a burned vehicle whose grant still counts (2024 rule)
      for (const g of grants.filter((e) => e.args.tokenId === id)) {
        for (let i = 0; i < 8 && burned === null; i++) if (await has(id, g.args.grantee, i)) burned = [id, g.args.grantee, i];
      }
    }
    if (owner !== null && live === null) live = [id, owner];
  }
  assert(live && burned, `no live vehicle (${live}) or no burned vehicle with a grant in force (${burned}) after the scenarios`);
  is('owner before the upgrade', false, await has(live[0], live[1], 5));
  const state = {};
  const head0 = Number(BigInt(await rpc.call('eth_blockNumber', [])));
  await runSacdSteps(d, ['templated'], state);
  const logs = await rpc.call('eth_getLogs', [{ address: sacd.address, fromBlock: qty(head0 + 1), toBlock: 'latest' }]);
  is('one Upgraded log from the proxy', 1, logs.filter((l) => (sacd.decodeLog(l) || {}).name === 'Upgraded').length);
  is('owner after the upgrade', true, await has(live[0], live[1], 5));
  is('burned vehicle after the upgrade', false, await has(burned[0], burned[1], burned[2]));
  await runSacdSteps(d, ['ops'], state);
  const newTopic = sacd.topic('PermissionsSet', 'address,uint256,uint256,address,uint256,uint256,string');
  const sets = await rpc.call('eth_getLogs', [{ address: sacd.address, fromBlock: qty(head0 + 1), toBlock: 'latest', topics: [newTopic] }]);
  is('six-argument setPermissions logs the new generation', true, sets.length >= 10);
  is('templated grant after the transfer', true, await has(state.A, Gb, 2));
  is('templated grant on C', true, await has(state.C, Ga, 1));
  is('grant of a burned vehicle', false, await has(state.B, Ga, 0));
  is('account grant', true, await acct(U3, Ga, 3));
  is('templated account grant', true, await acct(U3, Gb, 1));
  is('an account for itself', true, await acct(U4, U4, 100));
  is('expired account grant', false, await acct(U3, Gc, 0));
  for (let id = 1n; id <= await vehicle.call('lastTokenId', []); id++) {
    if ((await vehicle.call('ownerOf', [id]).catch(() => null)) !== U3) continue;
    const rec = await sacd.call('currentPermissionRecord', [veh, id, Ga]);
    if (rec[1] === 0n) { // Ga has no record on U3's vehicle: U3's account grant must not count
      is('an account grant is not a grant on the grantor\'s vehicles', false, await has(id, Ga, 3));
      break;
    }
  }
  await runSacdSteps(d, ['deactivate'], state);
  is('T1 deactivated', false, await has(state.A, Gb, 2));
  await runSacdSteps(d, ['activate'], state);
  is('T1 re-activated', true, await has(state.A, Gb, 2));
  is('T2 deactivated', false, await has(state.C, Ga, 1));
  await runSacdSteps(d, ['renounce'], state);
  is('renounced', false, await has(state.A, Gb, 2));
  is('account grant renounced', false, await acct(U3, Ga, 3));
  is('grant after a renounce', true, await has(state.C, Gc, 0));
  is('owner unaffected by the renounce upgrade', true, await has(state.C, U4, 9));
  void U1; void U2;
  return n;
}

/** What an indexer can derive from logs alone, at block `bn` with time `time`. */
function replay(logs, d, bn, time, touched) {
  const veh = d.vehicle.address;
  const version = new Map(); // "asset|id" -> transfers between owners so far (vehicle only)
  const owner = new Map();
  const grants = new Map(); // "asset|id|grantee" -> {version, permissions, expiration, source}
  const privs = new Map(); // "id|priv|user" -> {version, expires}
  for (const l of logs) {
    if (l.blockNumber > bn) break;
    const a = l.ev.args;
    if (l.ev.address === veh && l.ev.name === 'Transfer') {
      owner.set(String(a.tokenId), a.to === ZERO ? null : a.to);
      if (a.from !== ZERO && a.to !== ZERO) {
        const k = `${veh}|${a.tokenId}`;
        version.set(k, (version.get(k) || 0) + 1);
      }
    } else if (l.ev.name === 'PermissionsSet') {
      grants.set(`${a.asset}|${a.tokenId}|${a.grantee}`, {
        version: version.get(`${a.asset}|${a.tokenId}`) || 0, permissions: a.permissions, expiration: a.expiration, source: a.source,
      });
    } else if (l.ev.name === 'PrivilegeSet') {
      privs.set(`${a.tokenId}|${a.privId}|${a.user}`, { version: Number(a.version), expires: a.expires });
    }
  }
  const checks = [];
  for (const t of touched.grants) {
    const v = version.get(`${t.asset}|${t.tokenId}`) || 0;
    const g = grants.get(`${t.asset}|${t.tokenId}|${t.grantee}`);
    const live = g && g.version === v;
    const p = live ? g.permissions : 0n;
    const e = live ? g.expiration : 0n;
    for (const i of touched.indexes) {
      checks.push({
        asset: t.asset, token_id: String(t.tokenId), grantee: t.grantee, permission: i,
        allowed: e > BigInt(time) && ((p >> BigInt(2 * i)) & 3n) === 3n,
        permissions: p.toString(), expiration: e.toString(), source: live ? g.source : '', version: String(v),
      });
    }
  }
  const privileges = touched.privileges.map((t) => {
    const v = version.get(`${veh}|${t.tokenId}`) || 0;
    const p = privs.get(`${t.tokenId}|${t.privId}|${t.user}`);
    const expires = p && p.version === v ? p.expires : 0n;
    const o = owner.get(String(t.tokenId));
    const has = expires >= BigInt(time) ? true : o ? o === t.user : null;
    return { token_id: String(t.tokenId), priv_id: String(t.privId), user: t.user, expires: expires.toString(), has_privilege: has };
  });
  const vehicles = [...owner.keys()].map(Number).sort((a, b) => a - b).map((id) => {
    const o = owner.get(String(id));
    const v = String(version.get(`${veh}|${id}`) || 0);
    return { token_id: String(id), owner: o, burned: o === null, privilege_version: v, sacd_version: v };
  });
  return { checks, privileges, vehicles };
}

runTest('test_optins', async (ctx) => {
  compile({ quiet: true });
  const url = ctx.startAnvil();
  const netFile = path.join(ctx.dir, 'network.json');
  const t0 = Date.now();
  await runScript('deploy.js', ['--rpc', url, '--out', netFile, '--quiet']);
  const d = openDevnet(url, netFile);
  assert(d.sacd && d.vehicle, 'deploy.js wrote no sacd/vehicle contracts');
  const n1 = await contractSemantics(d, ctx);

  // 2. Scenarios: state == model. 3. After each, the oracle at a spread of
  // its blocks (anvil answers eth_call for the last 500 blocks only).
  const expFixed = path.join(ctx.dir, 'fixed.json');
  const expRandom = path.join(ctx.dir, 'random.json');
  const oracle = async (from, to) => {
    const args = ['--rpc', url, '--network', netFile];
    const blocks = [...new Set(Array.from({ length: 11 }, (_, k) => from + Math.floor(((to - from) * k) / 10)))];
    for (const b of blocks) args.push('--block', String(b));
    const out = (await runScript('access_state.js', args)).stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert(out.length === blocks.length, `access_state printed ${out.length} documents for ${blocks.length} blocks`);
    return out;
  };
  let grants = 0;
  const docs = [];
  for (const [f, extra] of [[expFixed, []], [expRandom, ['--seed', String(SEED), '--ops', String(OPS), '--optins']]]) {
    const sc = await runScript('scenario.js', ['--rpc', url, '--network', netFile, ...extra, '--expect', f]);
    ctx.log(sc.stdout.trim());
    const exp = JSON.parse(fs.readFileSync(f, 'utf8'));
    assert(exp.with_optins && exp.optins, `${path.basename(f)}: no opt-ins in the scenario`);
    const st = JSON.parse((await runScript('state.js', ['--rpc', url, '--network', netFile, '--block', String(exp.end_block)])).stdout);
    const diffs = compareExpect(exp, st);
    assert(diffs.length === 0, `${path.basename(f)} (seed ${SEED}): state differs from the model:\n${diffs.slice(0, 30).join('\n')}`);
    grants = st.optins.grants.length;
    for (const doc of await oracle(Math.max(exp.start_block + 1, exp.end_block - 450), exp.end_block)) {
      docs.push({ doc, touchedTo: exp.end_block });
    }
  }
  const exp = JSON.parse(fs.readFileSync(expRandom, 'utf8'));
  for (const op of ['grant', 'vehicleMint', 'vehicleTransfer', 'setPrivilege']) {
    assert((exp.op_counts[op] || 0) > 0, `the random run did no ${op}`);
  }

  // 3. The oracle == a replay of the logs.
  const last = exp.end_block;
  const logs = [];
  for (const c of [d.sacd, d.vehicle]) {
    for (const l of await getLogs(d.rpc, c.address, c.startBlock, last)) {
      if (l.topics[0] === UPGRADED) continue; // the proxy's own log at deployment
      const ev = d.decodeLog(l);
      assert(ev, `undecodable log at block ${Number(BigInt(l.blockNumber))} from ${c.label}`);
      logs.push({ blockNumber: Number(BigInt(l.blockNumber)), logIndex: Number(BigInt(l.logIndex)), ev });
    }
  }
  logs.sort((a, b) => a.blockNumber - b.blockNumber || a.logIndex - b.logIndex);
  const big = (x, y) => (BigInt(x) < BigInt(y) ? -1 : BigInt(x) > BigInt(y) ? 1 : 0);
  const touchedUpTo = (to, indexes) => {
    const touched = { grants: [], privileges: [], indexes };
    const seenG = new Set(), seenP = new Set();
    for (const l of logs) {
      if (l.blockNumber > to) break;
      const a = l.ev.args;
      if (l.ev.name === 'PermissionsSet' && !seenG.has(`${a.asset}|${a.tokenId}|${a.grantee}`)) {
        seenG.add(`${a.asset}|${a.tokenId}|${a.grantee}`);
        touched.grants.push({ asset: a.asset, tokenId: a.tokenId, grantee: a.grantee });
      }
      if (l.ev.name === 'PrivilegeSet' && !seenP.has(`${a.tokenId}|${a.privId}|${a.user}`)) {
        seenP.add(`${a.tokenId}|${a.privId}|${a.user}`);
        touched.privileges.push({ tokenId: a.tokenId, privId: a.privId, user: a.user });
      }
    }
    touched.grants.sort((x, y) => (x.asset < y.asset ? -1 : x.asset > y.asset ? 1 : 0) || big(x.tokenId, y.tokenId) || (x.grantee < y.grantee ? -1 : 1));
    touched.privileges.sort((x, y) => big(x.tokenId, y.tokenId) || big(x.privId, y.privId) || (x.user < y.user ? -1 : 1));
    return touched;
  };
  let nChecks = 0, nAllowed = 0;
  for (const { doc, touchedTo } of docs) {
    const touched = touchedUpTo(touchedTo, doc.permission_indexes);
    const want = replay(logs, d, doc.block, doc.time, touched);
    const got = doc.checks.map((c) => { const x = { ...c }; delete x.grantee_app; return x; });
    assert(got.length === want.checks.length, `block ${doc.block}: oracle has ${got.length} checks, replay ${want.checks.length}`);
    for (let i = 0; i < got.length; i++) {
      assert(JSON.stringify(got[i]) === JSON.stringify(want.checks[i]),
        `block ${doc.block}: oracle ${JSON.stringify(got[i])} != replay ${JSON.stringify(want.checks[i])}`);
    }
    assert(JSON.stringify(doc.vehicles) === JSON.stringify(want.vehicles),
      `block ${doc.block}: vehicles: oracle ${JSON.stringify(doc.vehicles).slice(0, 400)} != replay ${JSON.stringify(want.vehicles).slice(0, 400)}`);
    assert(JSON.stringify(doc.privileges) === JSON.stringify(want.privileges),
      `block ${doc.block}: privileges: oracle ${JSON.stringify(doc.privileges).slice(0, 400)} != replay ${JSON.stringify(want.privileges).slice(0, 400)}`);
    nChecks += got.length;
    nAllowed += got.filter((c) => c.allowed).length;
  }
  assert(nAllowed > 0 && nAllowed < nChecks, `oracle: ${nAllowed} of ${nChecks} checks allowed`);
  const n4 = await upgradedSemantics(d);
  d.rpc.close();
  return `${n1} contract checks; fixed + seed ${SEED} (${OPS} ops, --optins) state == model (${grants} grants touched); ` +
    `oracle == log replay at ${docs.length} blocks (${nChecks} checks, ${nAllowed} allowed); ${n4} checks across the ` +
    `SACD upgrades in ${((Date.now() - t0) / 1000).toFixed(1)} s`;
});
