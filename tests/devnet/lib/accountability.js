'use strict';
// The accountability scenario (issue #25) on the devnet's first app-license
// contract, and its oracle: every admin action with the executor the
// scenario knows it used, every role grant and revoke, the reverted call of
// an admin whose role was revoked, and the blocks worth checking the books
// at. The contract is a UUPS proxy: its deployment's Upgraded and one
// upgrade through the forwarder are admin actions too (UPGRADER_ROLE), after
// a refused one.
//
// Actors (dev accounts): 0 the deployer (every role), 5 an admin EOA
// granted LICENSE_ADMIN_ROLE then revoked, 6 a revoker, 7 an owner of the
// forwarder F (a multisig-style contract holding LICENSE_ADMIN_ROLE), 8 the
// owner of forwarder G, itself an owner of F (two-level forwarding: the
// indexer cannot attribute it), 1..4 license owners and a stray sender,
// 9 the adminWithdraw recipient.

const { deployContract, lower } = require('./chain');
const { keccak256Hex } = require('./keccak');

const E18 = 10n ** 18n;
const UPGRADED = '0xbc7cd75a20ee27fd9adebab32041f755214dbc6bffa90cc0225b39da2e5c2d3b';
// keccak256('Initialized(uint64)'): OpenZeppelin 5's Initializable.
const INITIALIZED = '0xc7f505b2f371ae2175ee4913f4499e1f2633a7b5936321eed1cdaeb6115181d2';
const ROLES = {
  DEFAULT_ADMIN_ROLE: '0x' + '00'.repeat(32),
  LICENSE_ADMIN_ROLE: '0x' + keccak256Hex(Buffer.from('LICENSE_ADMIN_ROLE')).replace(/^0x/, ''),
  REVOKER_ROLE: '0x' + keccak256Hex(Buffer.from('REVOKER_ROLE')).replace(/^0x/, ''),
  UPGRADER_ROLE: '0x' + keccak256Hex(Buffer.from('UPGRADER_ROLE')).replace(/^0x/, ''),
};

async function runAccountability(d) {
  const app = d.apps[0];
  const token = d.token;
  const acc = d.accounts;
  const [admin, o1, o2, o3, stray, a1, r1, f1, g1, dest] = acc;
  const oracle = { contract: app.address, actions: [], reverted: [], roles: [], checkBlocks: [], accounts: acc,
    roleHashes: ROLES };
  const block = (r) => Number(BigInt(r.blockNumber));
  const must = (r, what) => {
    if (r.status !== '0x1') throw new Error(`${what} reverted (tx ${r.transactionHash})`);
    return r;
  };
  const check = (r) => oracle.checkBlocks.push(block(r));
  const action = (r, a) => { oracle.actions.push({ tx: r.transactionHash, block: block(r), ...a }); check(r); };
  const role = (r, kind, name, account, sender) =>
    oracle.roles.push({ tx: r.transactionHash, block: block(r), kind, role: name, account, sender });

  // The proxy's deployment (deploy.js): its constructor logged
  // Upgraded(first implementation) before initialize() granted any role
  // (as on Polygon, where initialize was even a later transaction). The
  // indexer's rule (schema/functions/accountability.sql: the sender or the
  // called contract held the gating role just before the log) finds no
  // holder; the transaction created the contract, so the upgrade is the
  // deployer's (`deployment`, migration 018).
  const dep = await d.rpc.call('eth_getTransactionReceipt', [app.entry['x-deploy-tx']]);
  if (!dep.logs.some((l) => lower(l.address) === app.address && l.topics[0] === UPGRADED)) {
    throw new Error(`the deployment of ${app.address} logged no Upgraded: not a proxy`);
  }
  oracle.actions.push({ tx: dep.transactionHash, block: block(dep), action: 'upgrade', by: lower(dep.from), via: null,
    attribution: 'deployment', role: 'UPGRADER_ROLE', deployment: true });
  // Then initialize() (delegated by the proxy's constructor) logs
  // Initialized(1) last, as OpenZeppelin's `initializer` does: the
  // `initialize` action, gated by no role, its sender's (`sender_only`).
  if (!dep.logs.some((l) => lower(l.address) === app.address && l.topics[0] === INITIALIZED)) {
    throw new Error(`the deployment of ${app.address} logged no Initialized`);
  }
  oracle.actions.push({ tx: dep.transactionHash, block: block(dep), action: 'initialize', by: lower(dep.from),
    via: null, attribution: 'sender_only', role: null, deployment: true });

  // Forwarders: G (owner 8), then F (owners 7 and G).
  const G = (await deployContract(d.rpc, admin, 'DevnetForwarder', [[g1]])).contract;
  const F = (await deployContract(d.rpc, admin, 'DevnetForwarder', [[f1, G.address]])).contract;
  oracle.forwarders = { F: F.address, G: G.address };
  const viaF = (from, fn, args) => F.send(from, 'forward', [app.address, Buffer.from(app.encode(fn, args).slice(2), 'hex')]);
  const viaGF = (from, fn, args) => G.send(from, 'forward', [F.address,
    Buffer.from(F.encode('forward', [app.address, Buffer.from(app.encode(fn, args).slice(2), 'hex')]).slice(2), 'hex')]);

  // Licenses with stake (DIMO in: deposits).
  const ids = [];
  for (const [owner, alias, stake] of [[o1, 'acct-one', 1000n], [o2, 'acct-two', 500n], [o3, '', 0n]]) {
    must(await app.send(owner, 'issueInDimo', [alias]), 'issue');
    const id = await app.call('lastTokenId', []);
    ids.push(id);
    if (stake) check(must(await app.send(owner, 'lock', [id, stake * E18]), 'lock'));
  }
  const [t1, t2, t3] = ids;

  // Roles granted by the deployer.
  for (const [name, who] of [['LICENSE_ADMIN_ROLE', a1], ['REVOKER_ROLE', r1], ['LICENSE_ADMIN_ROLE', F.address]]) {
    const r = must(await app.send(admin, 'grantRole', [ROLES[name], who]), 'grantRole');
    role(r, 'granted', name, who, admin);
  }

  // Direct EOA admin; forwarder; deployer.
  let r = must(await app.send(a1, 'adminFreeze', [t1, true]), 'freeze');
  action(r, { action: 'freeze', token_id: t1, by: a1, via: null, attribution: 'sender', role: 'LICENSE_ADMIN_ROLE' });
  r = must(await viaF(f1, 'adminFreeze', [t1, false]), 'unfreeze via F');
  action(r, { action: 'unfreeze', token_id: t1, by: F.address, via: f1, attribution: 'called_contract', role: 'LICENSE_ADMIN_ROLE' });
  r = must(await app.send(admin, 'adminBurnLockedFunds', [t1, 100n * E18]), 'burn');
  action(r, { action: 'forfeit_burn', token_id: t1, amount: 100n * E18, by: admin, via: null, attribution: 'sender', role: 'LICENSE_ADMIN_ROLE' });
  r = must(await viaF(f1, 'adminReallocate', [t2, 50n * E18, o3]), 'reallocate via F');
  action(r, { action: 'forfeit_reallocate', token_id: t2, amount: 50n * E18, by: F.address, via: f1, attribution: 'called_contract', role: 'LICENSE_ADMIN_ROLE' });
  r = must(await app.send(admin, 'setPeriodValidity', [30n * 86400n]), 'setPeriodValidity');
  action(r, { action: 'setting', amount: 30n * 86400n, by: admin, via: null, attribution: 'sender', role: 'LICENSE_ADMIN_ROLE' });
  r = must(await viaF(f1, 'setLicenseCost', [0n]), 'setLicenseCost via F');
  action(r, { action: 'setting', amount: 0n, by: F.address, via: f1, attribution: 'called_contract', role: 'LICENSE_ADMIN_ROLE' });

  // Stray DIMO, then adminWithdraw (a transfer out with no license event).
  check(must(await token.send(stray, 'transfer', [app.address, 777n * E18]), 'stray transfer'));
  r = must(await app.send(a1, 'adminWithdraw', [dest]), 'adminWithdraw');
  action(r, { action: 'admin_withdraw', amount: 777n * E18, by: a1, via: null, attribution: 'sender', role: 'LICENSE_ADMIN_ROLE' });

  // The admin loses the role; its next call reverts and leaves nothing.
  r = must(await app.send(admin, 'revokeRole', [ROLES.LICENSE_ADMIN_ROLE, a1]), 'revokeRole');
  role(r, 'revoked', 'LICENSE_ADMIN_ROLE', a1, admin);
  check(r);
  r = await app.send(a1, 'adminFreeze', [t2, true], { gas: 200000 });
  if (r.status !== '0x0') throw new Error('a revoked admin could still freeze');
  oracle.reverted.push({ tx: r.transactionHash, block: block(r), from: a1 });

  // Two levels of forwarding: F holds the role, the transaction called G.
  r = must(await viaGF(g1, 'adminFreeze', [t2, true]), 'freeze via G -> F');
  action(r, { action: 'freeze', token_id: t2, by: null, via: null, attribution: 'unattributed', role: 'LICENSE_ADMIN_ROLE' });

  // The revoker revokes the license without stake, then renounces.
  r = must(await app.send(r1, 'revoke', [t3]), 'revoke');
  action(r, { action: 'revoke', token_id: t3, by: r1, via: null, attribution: 'sender', role: 'REVOKER_ROLE' });
  r = must(await app.send(r1, 'renounceRole', [ROLES.REVOKER_ROLE, r1]), 'renounceRole');
  role(r, 'revoked', 'REVOKER_ROLE', r1, r1);

  // An upgrade (UUPS: upgradeToAndCall through the proxy, gated by
  // UPGRADER_ROLE): refused to the revoker, who never held that role; then
  // made through F, granted the role, as DIMO's Safe upgrades on Polygon.
  const impl2 = (await deployContract(d.rpc, admin, 'DevLicenseDimoV2', [token.address])).contract.address;
  r = await app.send(r1, 'upgradeToAndCall', [impl2, Buffer.alloc(0)], { gas: 200000 });
  if (r.status !== '0x0') throw new Error('a non-upgrader could upgrade');
  oracle.reverted.push({ tx: r.transactionHash, block: block(r), from: r1 });
  r = must(await app.send(admin, 'grantRole', [ROLES.UPGRADER_ROLE, F.address]), 'grantRole upgrader');
  role(r, 'granted', 'UPGRADER_ROLE', F.address, admin);
  r = must(await viaF(f1, 'upgradeToAndCall', [impl2, Buffer.alloc(0)]), 'upgrade via F');
  if (BigInt(await app.call('implementationVersion', [])) !== 2n) throw new Error('the upgrade did not take');
  action(r, { action: 'upgrade', by: F.address, via: f1, attribution: 'called_contract', role: 'UPGRADER_ROLE' });
  oracle.implementations = [app.entry['x-implementation'], impl2].map(lower);

  // More stray DIMO, withdrawn through the forwarder.
  check(must(await token.send(stray, 'transfer', [app.address, 5n * E18]), 'stray transfer 2'));
  r = must(await viaF(f1, 'adminWithdraw', [dest]), 'adminWithdraw via F');
  action(r, { action: 'admin_withdraw', amount: 5n * E18, by: F.address, via: f1, attribution: 'called_contract', role: 'LICENSE_ADMIN_ROLE' });
  check(must(await token.send(stray, 'transfer', [app.address, 3n * E18]), 'stray transfer 3'));

  oracle.tokenIds = ids;
  oracle.actors = { admin, a1, r1, f1, g1, dest };
  oracle.checkBlocks = [...new Set(oracle.checkBlocks)].sort((x, y) => x - y);
  for (const a of oracle.actions) {
    for (const k of ['by', 'via']) a[k] = a[k] ? lower(a[k]) : null;
  }
  return oracle;
}

module.exports = { runAccountability, ROLES };
