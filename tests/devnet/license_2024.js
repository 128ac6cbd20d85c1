#!/usr/bin/env node
'use strict';
// The 2024 license contract on the devnet (DevLicenseDimo2024, deployed by
// deploy.js): a little activity, and its views at a block.
//
//   node tests/devnet/license_2024.js activity --rpc URL --network FILE
//   node tests/devnet/license_2024.js state --rpc URL --network FILE [--block N]
//
// activity: the DIMO approvals of three dev accounts, three licenses (two
// with an alias), deposits (one below the minimum after it is raised:
// refused), a withdraw, a freeze and its lift, a forfeit (burn) between two
// deposits of the same license in one block, every setting
// (UpdateMinimumStake, the indexed UpdatePeriodValidity and
// UpdateLicenseCost), two signers (one disabled again), an alias moved, and
// the revoke of a license whose stake went back to zero: every event of
// the contract. Prints {blocks: [block of each step]}.
// state: {block, period_validity, license_cost, minimum_stake, licenses:
// [{token_id, owner (null once revoked), staked, frozen, alias (text, null
// for none), client_id}]} from the contract's own views.

const { Rpc } = require('./lib/rpc');
const { Contract, sendMany, lower } = require('./lib/chain');
const { readNetwork } = require('./lib/network');
const { RpcError } = require('./lib/rpc');

const E18 = 10n ** 18n;

function find2024(net) {
  const e = net.contracts.find((c) => c['x-contract'] === 'DevLicenseDimo2024');
  if (!e) throw new Error('the network file lists no DevLicenseDimo2024');
  return e;
}

const bytes32 = (s) => '0x' + Buffer.concat([Buffer.from(s, 'utf8'), Buffer.alloc(32)]).subarray(0, 32).toString('hex');

async function activity(rpc, net) {
  const e = find2024(net);
  const lic = new Contract(rpc, 'DevLicenseDimo2024', e.address);
  const admin = lower(net['x-admin']);
  const [a, b, c] = net['x-dev-accounts'].slice(1, 4).map(lower);
  const blocks = [];
  const step = async (what, txs) => {
    const rs = await sendMany(rpc, txs);
    const bad = rs.find((r) => r.status !== '0x1');
    if (bad) throw new Error(`${what}: tx ${bad.transactionHash} failed`);
    blocks.push(Number(BigInt(rs[rs.length - 1].blockNumber)));
  };
  const G = { gas: 400000 };
  const token = new Contract(rpc, 'DimoToken', net.contracts.find((x) => x.role === 'dimo_token').address);
  await step('approvals', [a, b, c].map((who) => token.txReq(who, 'approve', [lic.address, (1n << 256n) - 1n], { gas: 80000 })));
  await step('issue', [lic.txReq(a, 'issueInDimo', [bytes32('app-2024')], G), lic.txReq(b, 'issueInDimo', ['0x' + '00'.repeat(32)], G),
    lic.txReq(c, 'issueInDimo', [bytes32('third')], G)]);
  await step('deposits', [lic.txReq(a, 'lock', [1n, 5000n * E18], G), lic.txReq(b, 'lock', [2n, 2n * E18], G)]);
  await step('settings', [lic.txReq(admin, 'setMinimumStake', [100n * E18], G), lic.txReq(admin, 'setPeriodValidity', [30n * 86400n], G),
    lic.txReq(admin, 'setLicenseCost', [7n * E18], G)]);
  // A deposit below the new minimum is refused (no log).
  const refused = await sendMany(rpc, [lic.txReq(b, 'lock', [2n, 1n * E18], G)]);
  if (refused[0].status === '0x1') throw new Error('a deposit below the minimum stake was accepted');
  await step('deposit, forfeit, deposit in one block', [lic.txReq(a, 'lock', [1n, 200n * E18], G),
    lic.txReq(admin, 'adminBurnLockedFunds', [1n, 1000n * E18], G), lic.txReq(a, 'lock', [1n, 300n * E18], G)]);
  await step('freeze', [lic.txReq(admin, 'adminFreeze', [1n, true], G), lic.txReq(a, 'enableSigner', [1n, b], G),
    lic.txReq(a, 'enableSigner', [1n, c], G), lic.txReq(a, 'disableSigner', [1n, c], G)]);
  await step('unfreeze, withdraw', [lic.txReq(admin, 'adminFreeze', [1n, false], G), lic.txReq(a, 'withdraw', [1n, 500n * E18], G),
    lic.txReq(b, 'withdraw', [2n, 2n * E18], G)]);
  await step('issue with a fee, alias moved', [lic.txReq(b, 'issueInDimo', ['0x' + '00'.repeat(32)], G),
    lic.txReq(c, 'setLicenseAlias', [3n, bytes32('third-renamed')], G)]);
  await step('revoke', [lic.txReq(admin, 'revoke', [2n], G), lic.txReq(admin, 'setPeriodValidity', [90n * 86400n], G)]);
  return { address: e.address, blocks };
}

async function call(rpc, lic, name, args, block) {
  try {
    return await lic.call(name, args, { blockTag: block });
  } catch (err) {
    if (err instanceof RpcError && (/revert/i.test(err.message) || err.code === 3)) return null;
    throw err;
  }
}

const aliasText = (b) => {
  const buf = Buffer.from(b.slice(2), 'hex');
  let n = buf.length;
  while (n > 0 && buf[n - 1] === 0) n--;
  return n ? buf.subarray(0, n).toString('utf8') : null;
};

async function readState2024(rpc, net, block) {
  const e = find2024(net);
  const lic = new Contract(rpc, 'DevLicenseDimo2024', e.address);
  const bn = block === undefined ? Number(BigInt(await rpc.call('eth_blockNumber', []))) : block;
  const s = (v) => (typeof v === 'bigint' ? v.toString() : v);
  const out = {
    block: bn, contract: lic.address,
    period_validity: s(await lic.call('periodValidity', [], { blockTag: bn })),
    license_cost: s(await lic.call('licenseCost', [], { blockTag: bn })),
    minimum_stake: s(await lic.call('minimumStake', [], { blockTag: bn })),
    licenses: [],
  };
  const last = Number(await lic.call('lastTokenId', [], { blockTag: bn }));
  for (let id = 1n; id <= BigInt(last); id++) {
    const owner = await call(rpc, lic, 'ownerOf', [id], bn);
    out.licenses.push({
      token_id: id.toString(), owner: owner && lower(owner), staked: s(await lic.call('stakedBalance', [id], { blockTag: bn })),
      frozen: await lic.call('frozen', [id], { blockTag: bn }), alias: aliasText(await lic.call('aliasOf', [id], { blockTag: bn })),
      client_id: lower(await lic.call('clientIdOf', [id], { blockTag: bn })),
    });
  }
  return out;
}

module.exports = { activity, readState2024, find2024 };

if (require.main === module) {
  const argv = process.argv.slice(2);
  const o = { cmd: argv[0] };
  for (let i = 1; i < argv.length; i++) {
    if (argv[i] === '--rpc') o.rpc = argv[++i];
    else if (argv[i] === '--network') o.network = argv[++i];
    else if (argv[i] === '--block') o.block = Number(argv[++i]);
    else { console.error(`unknown argument ${argv[i]}`); process.exit(2); }
  }
  if (!['activity', 'state'].includes(o.cmd) || !o.rpc || !o.network) {
    console.error('usage: license_2024.js activity|state --rpc URL --network FILE [--block N]');
    process.exit(2);
  }
  const rpc = new Rpc(o.rpc);
  const net = readNetwork(o.network);
  (o.cmd === 'activity' ? activity(rpc, net) : readState2024(rpc, net, o.block))
    .then((r) => { console.log(JSON.stringify(r, null, 2)); rpc.close(); })
    .catch((e) => { console.error(`license_2024: ${e.stack || e.message}`); process.exit(1); });
}
