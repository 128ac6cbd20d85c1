'use strict';
// The SACD timeline as on Polygon, on the devnet's proxies, in steps:
//
//   templated   the SACD proxy moves to SacdTemplated (Upgraded log; the
//               owner shortcut and the burned-token rule start here);
//   ops         under it: templates created; grants through both
//               setPermissions (both log the templateId generation), with
//               and without a template, one refused for a template
//               mismatch; a grant to the owner itself; account grants (one
//               templated, one of an account to itself, one short); two
//               connection grants (asset = the Connections contract); a
//               payment; a transfer (resets) and a re-grant; a burn; time
//               passing beyond the short grants;
//   deactivate  template T1 deactivated (no SACD event);
//   activate    the Template proxy moves to SacdTemplateActivate; T1
//               re-activated, T2 deactivated;
//   renounce    the SACD proxy moves to SacdRenounce; renounces with and
//               without a record, of a token grant, a connection grant and
//               account grants; a grant after a renounce.
//
// Each step reads and writes a small state (vehicle ids, template ids,
// the connection id), so the steps can run from separate processes and a
// step undone by a reorg can run again. Every transaction's status is
// checked (refusals must revert).

const { Contract, sendTx, deployContract, DEFAULT_GAS, REVERT_GAS } = require('./chain');
const { qty } = require('./abi');

const ZERO = '0x0000000000000000000000000000000000000000';
const DAY = 86400;
const STEPS = ['templated', 'ops', 'deactivate', 'activate', 'renounce'];

/** A 53-character IPFS source for template k (the contract wants ipfs:// + 46 characters). */
const cid = (k) => `ipfs://Qm${String(k).padStart(44, 'x')}`;

function context(d, state, log) {
  const entry = (role) => d.net.contracts.find((c) => c.role === role);
  const sacdEntry = entry('sacd');
  const templateEntry = entry('sacd_template');
  if (!sacdEntry || !templateEntry || !d.vehicle) throw new Error('the network file lists no sacd, sacd_template or vehicle');
  const a = d.accounts;
  return {
    d, rpc: d.rpc, state, log: log || (() => {}),
    admin: d.admin,
    sacd: new Contract(d.rpc, 'SacdRenounce', sacdEntry.address),
    sacdProxy: new Contract(d.rpc, 'DevnetProxy', sacdEntry.address),
    template: new Contract(d.rpc, 'SacdTemplateActivate', templateEntry.address),
    templateProxy: new Contract(d.rpc, 'DevnetProxy', templateEntry.address),
    vehicle: d.vehicle,
    conn: new Contract(d.rpc, 'DevnetConnections', d.net['x-connections']),
    // Owners U1..U5 (accounts 1..5, as the fixed scenario's), grantees
    // Ga, Gb, Gc (accounts 6..8: they renounce, so they send).
    U: [null, a[1], a[2], a[3], a[4], a[5]],
    Ga: a[6], Gb: a[7], Gc: a[8],
  };
}

async function send(x, c, from, fn, args, ok = true) {
  const r = await sendTx(x.rpc, c.txReq(from, fn, args, { gas: ok ? DEFAULT_GAS : REVERT_GAS }));
  const want = ok ? '0x1' : '0x0';
  if (r.status !== want) {
    throw new Error(`${c.name}.${fn}(${args.map(String).join(', ')}) from ${from}: status ${r.status}, want ${ok ? 'success' : 'revert'}`);
  }
  x.log(`${fn} ${ok ? 'ok' : 'reverted as expected'} @${Number(BigInt(r.blockNumber))}`);
  return r;
}

async function headTime(x) {
  return Number(BigInt((await x.rpc.call('eth_getBlockByNumber', ['latest', false])).timestamp));
}

/** Deploys implementation `name` and points `proxy` at it (admin only). */
async function upgrade(x, proxy, name, init = '0x') {
  const impl = await deployContract(x.rpc, x.admin, name);
  const r = await send(x, proxy, x.admin, 'upgradeToAndCall', [impl.contract.address, init]);
  return { implementation: impl.contract.address, block: Number(BigInt(r.blockNumber)) };
}

async function mintVehicle(x, to) {
  const r = await send(x, x.vehicle, x.admin, 'mint', [to]);
  return x.vehicle.decodeLog(r.logs[0]).args.tokenId;
}

async function createTemplate(x, k, owner, asset, permissions) {
  const r = await send(x, x.template, x.admin, 'createTemplate', [owner, asset, permissions, cid(k)]);
  const ev = r.logs.map((l) => x.template.decodeLog(l)).find((e) => e && e.name === 'TemplateCreated');
  return ev.args.templateId;
}

const steps = {
  async templated(x) {
    const u = await upgrade(x, x.sacdProxy, 'SacdTemplated',
      new Contract(x.rpc, 'SacdTemplated', ZERO).encode('initializeTemplated', [x.template.address]));
    x.state.templated = u;
  },

  async ops(x) {
    const { sacd, vehicle, conn, U, Ga, Gb, Gc } = x;
    const veh = vehicle.address;
    const now = await headTime(x);
    const LONG = BigInt(now + 365 * DAY);
    const SHORT = BigInt(now + 40);
    const s = x.state;
    s.A = await mintVehicle(x, U[1]);
    s.B = await mintVehicle(x, U[2]);
    s.C = await mintVehicle(x, U[4]);
    s.T1 = await createTemplate(x, 1, U[5], veh, 0x3fn);
    s.T2 = await createTemplate(x, 2, U[5], veh, 0xfn);
    s.TA = await createTemplate(x, 3, U[5], ZERO, 0xfn);
    const set6 = (from, asset, id, who, p, e, src, ok) => send(x, sacd, from, 'setPermissions', [asset, id, who, p, e, src], ok);
    const set7 = (from, asset, id, who, p, e, t, src, ok) => send(x, sacd, from, 'setPermissions', [asset, id, who, p, e, t, src], ok);
    const acct = (from, who, p, e, t, src, ok) => send(x, sacd, from, 'setAccountPermissions', [who, p, e, t, src], ok);

    await set6(U[1], veh, s.A, Ga, 0xfn, LONG, 'six arguments, new topic0');
    await set7(U[1], veh, s.A, Gb, 0x3fn, LONG, s.T1, 'ipfs://template-1');
    await set7(U[1], veh, s.A, Gc, 0xfn, LONG, s.T2, 'ipfs://template-2');
    await set7(U[1], veh, s.A, Gc, 0x3n, LONG, s.T2, 'template permissions mismatch', false);
    await set7(U[1], veh, s.A, Gc, 0xfn, LONG, 12345n, 'no such template', false);
    await set6(U[2], veh, s.B, U[2], 0n, LONG, 'to the owner itself, nothing');
    await set6(U[2], veh, s.B, Ga, 0xffn, LONG, 'before a burn');
    await set7(U[4], veh, s.C, Ga, 0xfn, LONG, s.T2, 'ipfs://template-2 on C');
    await set6(U[4], veh, s.C, Gb, 0xfn, SHORT, 'short');

    await acct(U[3], Ga, 0xffn, LONG, 0n, 'account grant');
    await acct(U[3], Gb, 0xfn, LONG, s.TA, 'templated account grant');
    await acct(U[3], Gb, 0xfn, LONG, s.T1, 'vehicle template on an account', false);
    await acct(U[4], U[4], 0x3n, LONG, 0n, 'an account to itself');
    await acct(U[3], Gc, 0xfn, SHORT, 0n, 'short account grant');

    const name = '0x' + Buffer.from('dimo-connection-1').toString('hex').padEnd(64, '0');
    const r = await send(x, conn, U[1], 'mint', [U[1], name]);
    s.connection = conn.decodeLog(r.logs[0]).args.tokenId;
    await set6(U[1], conn.address, s.connection, Gc, 0xfn, LONG, 'connection grant');
    await set6(U[1], conn.address, s.connection, Ga, 0x3n, LONG, 'connection grant 2');

    await send(x, sacd, Ga, 'setPayment', [veh, U[1], 1000n, LONG, 'ipfs://payment']);

    await send(x, vehicle, U[1], 'transferFrom', [U[1], U[4], s.A]);
    await set7(U[4], veh, s.A, Gb, 0x3fn, LONG, s.T1, 'after the transfer');
    await send(x, vehicle, U[2], 'burn', [s.B]);
    await x.rpc.call('anvil_mine', [qty(5), qty(10)]); // 50 s: the short grants lapse
  },

  async deactivate(x) {
    await send(x, x.template, x.U[5], 'deactivateTemplate', [x.state.T1]);
    await x.rpc.call('anvil_mine', [qty(2), qty(2)]);
  },

  async activate(x) {
    x.state.template_activate = await upgrade(x, x.templateProxy, 'SacdTemplateActivate');
    await send(x, x.template, x.U[5], 'activateTemplate', [x.state.T1]);
    await send(x, x.template, x.U[5], 'deactivateTemplate', [x.state.T2]);
    await x.rpc.call('anvil_mine', [qty(2), qty(2)]);
  },

  async renounce(x) {
    const { sacd, vehicle, conn, U, Ga, Gb, Gc } = x;
    const s = x.state;
    const veh = vehicle.address;
    x.state.renounce = await upgrade(x, x.sacdProxy, 'SacdRenounce');
    await send(x, sacd, Gb, 'renouncePermissions', [veh, s.A]); // with a record (templated)
    await send(x, sacd, Gc, 'renouncePermissions', [veh, s.C]); // without one
    await send(x, sacd, Gc, 'renouncePermissions', [conn.address, s.connection]); // a connection grant
    await send(x, sacd, Ga, 'renounceAccountPermissions', [U[3]]); // with a record
    await send(x, sacd, Gc, 'renounceAccountPermissions', [U[5]]); // without one
    const now = await headTime(x);
    await send(x, sacd, U[4], 'setPermissions', [veh, s.C, Gc, 0x3n, BigInt(now + 365 * DAY), 'after a renounce']);
    await x.rpc.call('anvil_mine', [qty(2), qty(2)]);
  },
};

/** Runs the named steps in order on devnet d; state: the steps' shared state (mutated). */
async function runSacdSteps(d, names, state = {}, log = null) {
  const x = context(d, state, log);
  for (const n of names) {
    if (!steps[n]) throw new Error(`unknown step ${n} (${STEPS.join(', ')})`);
    await steps[n](x);
  }
  return state;
}

module.exports = { runSacdSteps, STEPS };
