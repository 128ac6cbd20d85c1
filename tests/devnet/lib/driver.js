'use strict';
// Executes license operations against the devnet and checks each one:
//  - the model decides whether the operation must succeed or revert;
//  - a success must emit exactly the expected logs, in order, with the
//    expected key arguments; the model is then updated;
//  - a revert must have status 0, no logs, and leave the touched contract's
//    views unchanged (compared at the block before and the block of the tx).

const { qty } = require('./abi');
const { sendTx, clientIdFor, deployContract, REVERT_GAS, DEFAULT_GAS } = require('./chain');
const { keccak256Hex } = require('./keccak');
const { multicall } = require('./state');
const { ZERO } = require('./model');

const norm = (v) => (typeof v === 'bigint' ? v.toString() : typeof v === 'string' ? v.toLowerCase() : String(v));

// Aliases are JS strings (UTF-8) or Buffers (any bytes: text that is not
// UTF-8, NUL bytes). The contract keys them by the zero-padded bytes32.
const aliasBuf = (alias) => (Buffer.isBuffer(alias) ? alias : Buffer.from(alias, 'utf8'));
const ZERO32 = '0x' + '00'.repeat(32);
const UPGRADER_ROLE = '0x' + keccak256Hex(Buffer.from('UPGRADER_ROLE')).replace(/^0x/, '');
// bytes32(uint256(keccak256("eip1967.proxy.implementation")) - 1)
const IMPLEMENTATION_SLOT = '0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc';

function aliasBytes32(alias) {
  const b = Buffer.alloc(32);
  aliasBuf(alias).copy(b, 0, 0, 32);
  return '0x' + b.toString('hex');
}

/** getLicenseAliasByTokenId's answer: the bytes up to the first zero byte. */
function viewAlias(alias) {
  const b = aliasBuf(alias);
  const z = b.indexOf(0);
  return (z < 0 ? b : b.subarray(0, z)).toString('utf8');
}

/** The alias's bytes as the contract keys them (trailing zero bytes dropped). */
function aliasKeyBytes(key) {
  const b = Buffer.from(key.slice(2), 'hex');
  let n = b.length;
  while (n > 0 && b[n - 1] === 0) n--;
  return b.subarray(0, n);
}

/** How the LicenseAliasSet log decodes (lib/abi: strings as UTF-8). */
const aliasArg = (app, alias) => (app.contract === 'DevLicenseDimoBytes32Alias' ? aliasBytes32(alias) : aliasBuf(alias).toString('utf8'));

class Driver {
  constructor(devnet, model, { log = null } = {}) {
    this.d = devnet;
    this.rpc = devnet.rpc;
    this.m = model;
    this.admin = devnet.admin;
    this.log = log;
    this.opLog = [];
    this.opCounts = {};
    this.reverted = 0;
    this.handles = new Map(devnet.all.map((h) => [h.address, h]));
  }

  h(addr) { return this.handles.get(addr); }
  app(addr) { return this.m.apps.get(addr); }

  async _headTimestamp() {
    const b = await this.rpc.call('eth_getBlockByNumber', ['latest', false]);
    return Number(BigInt(b.timestamp));
  }

  /** Core: send, then verify success/revert against expectations. */
  async _exec(opName, { from, contract, fn, args, ok, events, snapshot, params }) {
    const c = this.h(contract);
    const tx = c.txReq(from, fn, args, { gas: ok ? DEFAULT_GAS : REVERT_GAS });
    const r = await sendTx(this.rpc, tx);
    const block = Number(BigInt(r.blockNumber));
    const entry = { op: opName, ...params, ok, tx: r.transactionHash, block };
    this.opLog.push(entry);
    this.opCounts[opName] = (this.opCounts[opName] || 0) + 1;
    if (this.log) this.log(`${opName} ${JSON.stringify(params)} -> ${ok ? 'ok' : 'revert'} @${block}`);
    if (!ok) {
      this.reverted++;
      if (r.status !== '0x0') throw new Error(`${opName} ${JSON.stringify(params)}: expected a revert, tx ${r.transactionHash} succeeded`);
      if (r.logs.length) throw new Error(`${opName}: reverted tx ${r.transactionHash} has logs`);
      if (snapshot) {
        const before = await multicall(this.rpc, snapshot, block - 1);
        const after = await multicall(this.rpc, snapshot, block);
        const a = JSON.stringify(before, (k, v) => (typeof v === 'bigint' ? v.toString() : v));
        const b = JSON.stringify(after, (k, v) => (typeof v === 'bigint' ? v.toString() : v));
        if (a !== b) throw new Error(`${opName}: reverted tx ${r.transactionHash} changed state: ${a} -> ${b}`);
      }
      return null;
    }
    if (r.status !== '0x1') throw new Error(`${opName} ${JSON.stringify(params)}: tx ${r.transactionHash} reverted unexpectedly`);
    const got = r.logs.map((l) => this.d.decodeLog(l));
    const problems = [];
    if (got.length !== events.length) problems.push(`expected ${events.length} logs, got ${got.length}`);
    events.forEach(([addr, name, args], i) => {
      const g = got[i];
      if (!g) { problems.push(`log ${i}: missing (${name})`); return; }
      if (g.address !== addr || g.name !== name) { problems.push(`log ${i}: expected ${name}@${addr}, got ${g.name}@${g.address}`); return; }
      for (const [k, v] of Object.entries(args || {})) {
        if (norm(g.args[k]) !== norm(v)) problems.push(`log ${i} ${name}.${k}: expected ${norm(v)}, got ${norm(g.args[k])}`);
      }
    });
    if (problems.length) throw new Error(`${opName} ${JSON.stringify(params)} tx ${r.transactionHash}: ${problems.join('; ')}`);
    this.m.countEvents(events.map(([a, n]) => [a, n]));
    r.blockTimestampNum = r.logs.length && r.logs[0].blockTimestamp
      ? Number(BigInt(r.logs[0].blockTimestamp))
      : Number(BigInt((await this.rpc.call('eth_getBlockByNumber', [r.blockNumber, false])).timestamp));
    return r;
  }

  _appSnap(addr, id) {
    const c = this.h(addr);
    const q = [[c, 'lastTokenId', []], [c, 'totalStaked', []], [c, 'periodValidity', []], [c, 'licenseCost', []],
      [c, 'getTokenIdByLicenseAlias(bytes32)', [ZERO32]]];
    if (this.d.token) q.push([this.d.token, 'balanceOf', [addr]]);
    if (id !== undefined) {
      q.push([c, 'ownerOf', [id]], [c, 'stakedBalance', [id]], [c, 'frozen', [id]], [c, 'aliasKeyOf', [id]],
        [c, 'tokenIdToClientId', [id]]);
    }
    return q;
  }

  _nodeSnap(user) {
    const c = this.d.node;
    const q = [[c, 'minimumStake', []], [c, 'totalStaked', []], [c, 'lastMintedId', []], [this.d.token, 'balanceOf', [c.address]]];
    if (user) q.push([c, 'stakedBalance', [user]]);
    return q;
  }

  _isOwner(lic, from) { return lic && !lic.revoked && lic.owner === from; }

  // ------------------------------------------------------------ app license

  // Aliases as DIMO's contract keeps them (see DevLicenseDimo.sol): keyed by
  // the zero-padded bytes32 (app.aliasIndex: key -> token), refused while
  // the key is held (by anyone, the license itself included); setting one
  // deletes the key of the license's current alias, whatever it is (the
  // all-zero key too: in the bytes32 variant every issue without an alias
  // sets that key, and a second such issue reverts until it is freed).
  async issue(addr, owner, alias = '') {
    const app = this.app(addr);
    const bytes32 = app.contract === 'DevLicenseDimoBytes32Alias';
    const n = aliasBuf(alias).length;
    const sets = n > 0 || bytes32;
    const key = n <= 32 ? aliasBytes32(alias) : null;
    const ok = (!sets || (key !== null && !app.aliasIndex.has(key))) && this.m.balance(owner) >= app.licenseCost;
    const id = app.lastTokenId + 1n;
    const clientId = clientIdFor(addr, id);
    const events = [];
    if (app.licenseCost > 0n) events.push([this.m.token, 'Transfer', { from: owner, to: this.admin, value: app.licenseCost }]);
    events.push([addr, 'Issued', { tokenId: id, owner, clientId }]);
    if (sets) events.push([addr, 'LicenseAliasSet', { tokenId: id, licenseAlias: aliasArg(app, alias) }]);
    events.push([addr, 'Locked', { tokenId: id }], [addr, 'Transfer', { from: ZERO, to: owner, tokenId: id }]);
    const shown = Buffer.isBuffer(alias) ? '0x' + alias.toString('hex') : alias;
    const r = await this._exec('issue', {
      from: owner, contract: addr, fn: 'issueInDimo', args: [alias], ok, events,
      snapshot: this._appSnap(addr), params: { contract: addr, owner, alias: shown },
    });
    if (!r) return null;
    if (app.licenseCost > 0n) this.m.move(owner, this.admin, app.licenseCost);
    app.lastTokenId = id;
    app.licenses.set(id, {
      id, owner, revoked: false, clientId, alias: viewAlias(alias), aliasKey: sets ? key : ZERO32,
      staked: 0n, frozen: app.pendingFrozen.get(id) || false, signers: new Map(), uris: new Map(),
    });
    app.pendingFrozen.delete(id);
    if (sets) {
      app.aliasIndex.delete(ZERO32); // the new token's current alias key: all-zero
      app.aliasIndex.set(key, id);
    }
    return id;
  }

  async setAlias(addr, from, id, alias) {
    const app = this.app(addr);
    const lic = app.licenses.get(id);
    const n = aliasBuf(alias).length;
    const key = n <= 32 ? aliasBytes32(alias) : null;
    const ok = this._isOwner(lic, from) && (n > 0 || app.contract === 'DevLicenseDimoBytes32Alias') &&
      key !== null && !app.aliasIndex.has(key);
    const events = [[addr, 'LicenseAliasSet', { tokenId: id, licenseAlias: aliasArg(app, alias) }]];
    const shown = Buffer.isBuffer(alias) ? '0x' + alias.toString('hex') : alias;
    const r = await this._exec('setAlias', {
      from, contract: addr, fn: 'setLicenseAlias', args: [id, alias], ok, events,
      snapshot: this._appSnap(addr, id), params: { contract: addr, tokenId: String(id), alias: shown },
    });
    if (!r) return false;
    app.aliasIndex.delete(lic.aliasKey);
    lic.alias = viewAlias(alias);
    lic.aliasKey = key;
    app.aliasIndex.set(key, id);
    return true;
  }

  async enableSigner(addr, from, id, signer) {
    const lic = this.app(addr).licenses.get(id);
    const ok = this._isOwner(lic, from) && signer !== ZERO;
    const r = await this._exec('enableSigner', {
      from, contract: addr, fn: 'enableSigner', args: [id, signer], ok,
      events: [[addr, 'SignerEnabled', { tokenId: id, signer }]],
      snapshot: this._appSnap(addr, id), params: { contract: addr, tokenId: String(id), signer },
    });
    if (!r) return false;
    lic.signers.set(signer, BigInt(r.blockTimestampNum));
    return true;
  }

  async disableSigner(addr, from, id, signer) {
    const lic = this.app(addr).licenses.get(id);
    const ok = this._isOwner(lic, from);
    const r = await this._exec('disableSigner', {
      from, contract: addr, fn: 'disableSigner', args: [id, signer], ok,
      events: [[addr, 'SignerDisabled', { tokenId: id, signer }]],
      snapshot: this._appSnap(addr, id), params: { contract: addr, tokenId: String(id), signer },
    });
    if (!r) return false;
    if (lic.signers.has(signer)) lic.signers.set(signer, 0n);
    return true;
  }

  async setRedirectUri(addr, from, id, enabled, uri) {
    const lic = this.app(addr).licenses.get(id);
    const ok = this._isOwner(lic, from);
    const r = await this._exec(enabled ? 'redirectUriOn' : 'redirectUriOff', {
      from, contract: addr, fn: 'setRedirectUri', args: [id, enabled, uri], ok,
      events: [[addr, enabled ? 'RedirectUriEnabled' : 'RedirectUriDisabled', { tokenId: id, uri }]],
      snapshot: this._appSnap(addr, id), params: { contract: addr, tokenId: String(id), uri },
    });
    if (!r) return false;
    lic.uris.set(uri, enabled);
    return true;
  }

  async lock(addr, from, id, amount) {
    const app = this.app(addr);
    const lic = app.licenses.get(id);
    const ok = this._isOwner(lic, from) && this.m.balance(from) >= amount; // 0 included, as DIMO's
    const r = await this._exec('lock', {
      from, contract: addr, fn: 'lock', args: [id, amount], ok,
      events: [
        [this.m.token, 'Transfer', { from, to: addr, value: amount }],
        [addr, 'StakeDeposit', { tokenId: id, user: from, amount }],
      ],
      snapshot: this._appSnap(addr, id), params: { contract: addr, tokenId: String(id), amount: String(amount) },
    });
    if (!r) return false;
    this.m.move(from, addr, amount);
    lic.staked += amount;
    app.totalStaked += amount;
    return true;
  }

  async withdraw(addr, from, id, amount) {
    const app = this.app(addr);
    const lic = app.licenses.get(id);
    const ok = this._isOwner(lic, from) && !lic.frozen && amount > 0n && amount <= lic.staked;
    const r = await this._exec('withdraw', {
      from, contract: addr, fn: 'withdraw', args: [id, amount], ok,
      events: [
        [this.m.token, 'Transfer', { from: addr, to: from, value: amount }],
        [addr, 'StakeWithdraw', { tokenId: id, user: from, amount }],
      ],
      snapshot: this._appSnap(addr, id), params: { contract: addr, tokenId: String(id), amount: String(amount) },
    });
    if (!r) return false;
    this.m.move(addr, from, amount);
    lic.staked -= amount;
    app.totalStaked -= amount;
    return true;
  }

  /** Any token id, as DIMO's: one not issued yet keeps the flag until its issue. */
  async freeze(addr, id, frozen, from = this.admin) {
    const app = this.app(addr);
    const lic = app.licenses.get(id);
    const ok = from === this.admin;
    const r = await this._exec(frozen ? 'freeze' : 'unfreeze', {
      from, contract: addr, fn: 'adminFreeze', args: [id, frozen], ok,
      events: [[addr, 'AssetFreezeUpdate', { tokenId: id, amount: lic ? lic.staked : 0n, frozen }]],
      snapshot: this._appSnap(addr, id), params: { contract: addr, tokenId: String(id), from },
    });
    if (!r) return false;
    if (lic) lic.frozen = frozen;
    else app.pendingFrozen.set(id, frozen);
    return true;
  }

  /** Any token id and any amount up to its stake, 0 included, as DIMO's. */
  async forfeit(addr, id, amount, to = null) {
    const app = this.app(addr);
    const lic = app.licenses.get(id);
    const staked = lic ? lic.staked : 0n;
    const ok = amount <= staked && (to === null || to !== ZERO);
    const dest = to === null ? ZERO : to;
    const r = await this._exec(to === null ? 'forfeitBurn' : 'forfeitReallocate', {
      from: this.admin, contract: addr,
      fn: to === null ? 'adminBurnLockedFunds' : 'adminReallocate',
      args: to === null ? [id, amount] : [id, amount, to], ok,
      events: [
        [this.m.token, 'Transfer', { from: addr, to: dest, value: amount }],
        [addr, 'AssetForfeit', { tokenId: id, amount }],
      ],
      snapshot: this._appSnap(addr, id), params: { contract: addr, tokenId: String(id), amount: String(amount), to: dest },
    });
    if (!r) return false;
    this.m.move(addr, dest, amount);
    if (lic) lic.staked -= amount;
    app.totalStaked -= amount;
    this.m.slashes.push({
      contract: addr, token_id: String(id), amount: String(amount), kind: to === null ? 'burn' : 'reallocate',
      to: dest, tx: r.transactionHash, block: Number(BigInt(r.blockNumber)),
    });
    return true;
  }

  /** As DIMO's: refused only with stake; forgets the alias and the client id
   *  mappings; a token not issued or already revoked logs Transfer(0x0 -> 0x0). */
  async revoke(addr, id) {
    const app = this.app(addr);
    const lic = app.licenses.get(id);
    const ok = (lic ? lic.staked : 0n) === 0n;
    const r = await this._exec('revoke', {
      from: this.admin, contract: addr, fn: 'revoke', args: [id], ok,
      events: [[addr, 'Transfer', { from: lic && !lic.revoked ? lic.owner : ZERO, to: ZERO, tokenId: id }]],
      snapshot: this._appSnap(addr, id), params: { contract: addr, tokenId: String(id) },
    });
    if (!r) return false;
    app.aliasIndex.delete(lic ? lic.aliasKey : ZERO32);
    if (lic) {
      lic.revoked = true;
      lic.alias = '';
      lic.aliasKey = ZERO32;
    }
    return true;
  }

  async setPeriodValidity(addr, seconds) {
    const r = await this._exec('setPeriodValidity', {
      from: this.admin, contract: addr, fn: 'setPeriodValidity', args: [BigInt(seconds)], ok: true,
      events: [[addr, 'UpdatePeriodValidity', { periodValidity: BigInt(seconds) }]],
      params: { contract: addr, seconds: String(seconds) },
    });
    this.app(addr).periodValidity = BigInt(seconds);
    return !!r;
  }

  async setLicenseCost(addr, amount) {
    const r = await this._exec('setLicenseCost', {
      from: this.admin, contract: addr, fn: 'setLicenseCost', args: [amount], ok: true,
      events: [[addr, 'UpdateLicenseCost', { licenseCost: amount }]],
      params: { contract: addr, amount: String(amount) },
    });
    this.app(addr).licenseCost = amount;
    return !!r;
  }

  /** #22: UpdateReceiverAddress, an event abi/DevLicenseDimo.json leaves out
   *  on purpose (the indexer stores it raw, as unknown). */
  async setReceiverAddress(addr, receiver) {
    const r = await this._exec('setReceiverAddress', {
      from: this.admin, contract: addr, fn: 'setReceiverAddress', args: [receiver], ok: true,
      events: [[addr, 'UpdateReceiverAddress', { receiver_: receiver }]],
      params: { contract: addr, receiver },
    });
    return !!r;
  }

  /** Deploys a further implementation of the app license proxies (one
   *  block; it logs nothing: its storage is never used, only its code). */
  async deployImplementation(name) {
    const { contract, receipt } = await deployContract(this.rpc, this.admin, name, [this.d.token.address]);
    this.opLog.push({ op: 'deployImplementation', contract: name, address: contract.address, tx: receipt.transactionHash,
      block: Number(BigInt(receipt.blockNumber)) });
    this.opCounts.deployImplementation = (this.opCounts.deployImplementation || 0) + 1;
    return contract.address;
  }

  /** UUPS, as DIMO's: upgradeToAndCall through the proxy, allowed to an
   *  UPGRADER_ROLE holder only (the role model of role() below); logs
   *  Upgraded(implementation) from the proxy. A refused one leaves the
   *  ERC-1967 slot and the views as they were. */
  async upgrade(addr, implementation, from = this.admin) {
    const ok = this._holdsRole(addr, UPGRADER_ROLE, from);
    const snapshot = ok ? null : [...this._appSnap(addr), [this.h(addr), 'implementationVersion', []]];
    const r = await this._exec('upgrade', {
      from, contract: addr, fn: 'upgradeToAndCall', args: [implementation, Buffer.alloc(0)], ok,
      events: [[addr, 'Upgraded', { implementation }]], snapshot,
      params: { contract: addr, implementation, from },
    });
    const e = this.opLog[this.opLog.length - 1];
    const slot = async (b) => '0x' + (await this.rpc.call('eth_getStorageAt', [addr, IMPLEMENTATION_SLOT, qty(b)])).slice(-40);
    const now = await slot(e.block);
    if (r && now !== implementation.toLowerCase()) throw new Error(`upgrade: the proxy's slot holds ${now}, not ${implementation}`);
    if (!r && now !== await slot(e.block - 1)) throw new Error(`upgrade: a refused upgrade changed the proxy's slot (tx ${e.tx})`);
    return !!r;
  }

  _holdsRole(addr, role, account) {
    const k = `${addr} ${role} ${account}`;
    return this.roleState && this.roleState.has(k) ? this.roleState.get(k) : account === this.admin;
  }

  /** AccessControl (#25), as DIMO's (OpenZeppelin): grantRole, revokeRole
   *  and renounceRole (by the account itself) log only when something
   *  changes; a caller without the role's admin role reverts. The deployer
   *  holds every role from the constructor; setRoleAdmin always logs. */
  async role(addr, fn, role, account, from = this.admin) {
    this.roleState = this.roleState || new Map();
    this.roleAdmin = this.roleAdmin || new Map();
    const key = (r, a) => `${addr} ${r} ${a}`;
    const holds = (r, a) => (this.roleState.has(key(r, a)) ? this.roleState.get(key(r, a)) : a === this.admin);
    const adminOf = (r) => this.roleAdmin.get(`${addr} ${r}`) || '0x' + '00'.repeat(32);
    let ok;
    let events = [];
    let args;
    if (fn === 'setRoleAdmin') {
      ok = holds('0x' + '00'.repeat(32), from);
      args = [role, account];
      events = [[addr, 'RoleAdminChanged', { role, previousAdminRole: adminOf(role), newAdminRole: account }]];
    } else {
      ok = fn === 'renounceRole' ? account === from : holds(adminOf(role), from);
      args = [role, account];
      const has = holds(role, account);
      if (fn === 'grantRole' && !has) events = [[addr, 'RoleGranted', { role, account, sender: from }]];
      if (fn !== 'grantRole' && has) events = [[addr, 'RoleRevoked', { role, account, sender: from }]];
    }
    const r = await this._exec(fn, {
      from, contract: addr, fn, args, ok, events, params: { contract: addr, role, account, from },
    });
    if (!r) return false;
    if (fn === 'setRoleAdmin') this.roleAdmin.set(`${addr} ${role}`, account);
    else this.roleState.set(key(role, account), fn === 'grantRole');
    return true;
  }

  /** Must revert: licenses are soulbound. */
  async soulboundTransfer(addr, from, id, to) {
    await this._exec('soulboundTransfer', {
      from, contract: addr, fn: 'transferFrom', args: [from, to, id], ok: false, events: [],
      snapshot: this._appSnap(addr, id), params: { contract: addr, tokenId: String(id), to },
    });
  }

  // ------------------------------------------------------------ node license

  async nodeStake(user, amount) {
    const node = this.m.node;
    // Stake.sol: each stake() call brings at least the current minimum.
    const ok = amount > 0n && amount >= node.minimum && this.m.balance(user) >= amount;
    const r = await this._exec('nodeStake', {
      from: user, contract: node.address, fn: 'stake', args: [amount], ok,
      events: [
        [this.m.token, 'Transfer', { from: user, to: node.address, value: amount }],
        [node.address, 'StakeTokens', { user, amountOfTokens: amount }],
      ],
      snapshot: this._nodeSnap(user), params: { user, amount: String(amount) },
    });
    if (!r) return false;
    this.m.move(user, node.address, amount);
    node.stakes.set(user, (node.stakes.get(user) || 0n) + amount);
    node.totalStaked += amount;
    return true;
  }

  async nodeMint(caller, to) {
    const node = this.m.node;
    // Stake.sol: mint is onlyRole(DEFAULT_ADMIN_ROLE) (the deployer holds it here).
    const ok = caller === this.admin && (node.stakes.get(to) || 0n) >= node.minimum;
    const id = node.lastMinted + 1n;
    const r = await this._exec('nodeMint', {
      from: caller, contract: node.address, fn: 'mint', args: [to], ok,
      events: [
        [node.address, 'Transfer', { from: ZERO, to, tokenId: id }],
        [node.address, 'LicenseMinted', { user: to, tokenId: id }],
      ],
      snapshot: this._nodeSnap(to), params: { caller, to },
    });
    if (!r) return null;
    node.lastMinted = id;
    node.licenses.set(id, to);
    if (!node.stakes.has(to)) node.stakes.set(to, 0n);
    return id;
  }

  async nodeUnstake(user, amount) {
    const node = this.m.node;
    const ok = amount > 0n && amount <= (node.stakes.get(user) || 0n);
    const r = await this._exec('nodeUnstake', {
      from: this.admin, contract: node.address, fn: 'unstake', args: [user, amount], ok,
      events: [
        [this.m.token, 'Transfer', { from: node.address, to: user, value: amount }],
        [node.address, 'UnstakeTokens', { user, amountOfTokens: amount }],
      ],
      snapshot: this._nodeSnap(user), params: { user, amount: String(amount) },
    });
    if (!r) return false;
    this.m.move(node.address, user, amount);
    node.stakes.set(user, node.stakes.get(user) - amount);
    node.totalStaked -= amount;
    return true;
  }

  async nodeAdjust(amount) {
    const node = this.m.node;
    const r = await this._exec('nodeAdjustMinimum', {
      from: this.admin, contract: node.address, fn: 'setNewMinStakeAmount', args: [amount], ok: true,
      events: [[node.address, 'StakeAmountAdjusted', { amount }]],
      params: { amount: String(amount) },
    });
    node.minimum = amount;
    return !!r;
  }

  async nodeRevoke(id) {
    const node = this.m.node;
    const owner = node.licenses.get(id);
    const ok = owner !== undefined && owner !== null;
    const r = await this._exec('nodeRevoke', {
      from: this.admin, contract: node.address, fn: 'revoke', args: [id], ok,
      events: [
        [node.address, 'Transfer', { from: owner || ZERO, to: ZERO, tokenId: id }],
        [node.address, 'LicenseRevoked', { tokenId: node.lastMinted }], // the deployed bug
      ],
      snapshot: this._nodeSnap(), params: { tokenId: String(id) },
    });
    if (!r) return false;
    node.licenses.set(id, null);
    this.m.nodeRevocations.push({
      token_id: String(id), owner, logged_token_id: String(node.lastMinted), tx: r.transactionHash,
      block: Number(BigInt(r.blockNumber)),
    });
    return true;
  }

  /** A plain DIMO transfer into the stake contract: stray tokens (no stake). */
  async strayTransfer(from, amount) {
    const node = this.m.node;
    const ok = amount > 0n && this.m.balance(from) >= amount;
    const r = await this._exec('strayTransfer', {
      from, contract: this.m.token, fn: 'transfer', args: [node.address, amount], ok,
      events: [[this.m.token, 'Transfer', { from, to: node.address, value: amount }]],
      params: { from, amount: String(amount) },
    });
    if (!r) return false;
    this.m.move(from, node.address, amount);
    return true;
  }

  strayBalance() { return this.m.balance(this.m.node.address) - this.m.node.totalStaked; }

  async nodeEmergencyWithdraw(to, amount) {
    const node = this.m.node;
    const ok = amount > 0n && amount <= this.strayBalance() && to !== ZERO;
    const r = await this._exec('nodeEmergencyWithdraw', {
      from: this.admin, contract: node.address, fn: 'emergencyWithdraw', args: [to, amount], ok,
      events: [
        [this.m.token, 'Transfer', { from: node.address, to, value: amount }],
        [node.address, 'EmergencyWithdrawal', { user: to, amountOfTokens: amount }],
      ],
      snapshot: this._nodeSnap(to), params: { to, amount: String(amount) },
    });
    if (!r) return false;
    this.m.move(node.address, to, amount);
    return true;
  }

  /** Must revert: a non-admin calls an admin function. */
  async nonAdminFreeze(addr, from, id) { return this.freeze(addr, id, true, from); }

  // ------------------------------------------------------------ opt-ins

  get o() {
    if (!this.m.optins) throw new Error('the network file lists no sacd/vehicle contracts');
    return this.m.optins;
  }

  _optSnap(asset, id, grantee, privId) {
    const { sacd, vehicle } = this.d;
    const q = [[vehicle, 'lastTokenId', []]];
    if (id !== undefined) {
      q.push([vehicle, 'ownerOf', [id]], [vehicle, 'tokenIdToVersion', [id]], [sacd, 'tokenIdToVersion', [asset, id]]);
      if (grantee) q.push([sacd, 'currentPermissionRecord', [asset, id, grantee]]);
      if (privId !== undefined) q.push([vehicle, 'privilegeExpiresAt', [id, privId, grantee]]);
    }
    return q;
  }

  /** The owner of `id` on an ERC-721 asset the model follows: a string,
   *  null (burned / revoked) or undefined (never minted, unknown asset). */
  assetOwner(asset, id) {
    if (asset === this.o.vehicle) {
      const v = this.o.vehicles.get(id);
      return v ? v.owner : undefined;
    }
    if (this.m.node && asset === this.m.node.address) return this.m.node.licenses.get(id);
    return undefined;
  }

  liveVehicles() {
    return [...this.o.vehicles.entries()].filter(([, v]) => v.owner !== null).map(([id, v]) => ({ id, owner: v.owner }));
  }

  async mintVehicle(to, from = this.admin) {
    const o = this.o;
    const ok = from === this.admin && to !== ZERO;
    const id = o.lastVehicle + 1n;
    const r = await this._exec('vehicleMint', {
      from, contract: o.vehicle, fn: 'mint', args: [to], ok,
      events: [[o.vehicle, 'Transfer', { from: ZERO, to, tokenId: id }]],
      snapshot: this._optSnap(o.vehicle), params: { to, from },
    });
    if (!r) return null;
    o.lastVehicle = id;
    o.vehicles.set(id, { owner: to, privVersion: 0n });
    return id;
  }

  /** Transfer between owners (also to oneself): resets grants and privileges. */
  async transferVehicle(from, to, id, caller = from) {
    const o = this.o;
    const v = o.vehicles.get(id);
    const ok = v !== undefined && v.owner !== null && v.owner === from && caller === from && to !== ZERO;
    const r = await this._exec(from === to ? 'vehicleSelfTransfer' : 'vehicleTransfer', {
      from: caller, contract: o.vehicle, fn: 'transferFrom', args: [from, to, id], ok,
      events: [[o.vehicle, 'Transfer', { from, to, tokenId: id }]],
      snapshot: this._optSnap(o.vehicle, id), params: { tokenId: String(id), from, to, caller },
    });
    if (!r) return false;
    v.owner = to;
    v.privVersion += 1n;
    o.versions.set(`${o.vehicle}|${id}`, this.m.sacdVersion(o.vehicle, id) + 1n);
    return true;
  }

  /** Burn: no reset; the token's grants keep counting until they expire. */
  async burnVehicle(from, id) {
    const o = this.o;
    const v = o.vehicles.get(id);
    const ok = v !== undefined && v.owner !== null && v.owner === from;
    const r = await this._exec('vehicleBurn', {
      from, contract: o.vehicle, fn: 'burn', args: [id], ok,
      events: [[o.vehicle, 'Transfer', { from, to: ZERO, tokenId: id }]],
      snapshot: this._optSnap(o.vehicle, id), params: { tokenId: String(id), from },
    });
    if (!r) return false;
    v.owner = null;
    return true;
  }

  /** SACD setPermissions on any ERC-721 the model follows (the vehicle, the node license). */
  async grant(from, asset, id, grantee, permissions, expiration, source) {
    const o = this.o;
    const owner = this.assetOwner(asset, id);
    const ok = typeof owner === 'string' && (from === owner || from === asset) && grantee !== ZERO;
    const r = await this._exec('grant', {
      from, contract: o.sacd, fn: 'setPermissions', args: [asset, id, grantee, permissions, expiration, source], ok,
      events: [[o.sacd, 'PermissionsSet', { asset, tokenId: id, permissions, grantee, expiration, source }]],
      snapshot: this._optSnap(asset, id, grantee),
      params: { asset, tokenId: String(id), grantee, permissions: '0x' + permissions.toString(16), expiration: String(expiration), source, from },
    });
    if (!r) return false;
    o.grants.set(`${asset}|${id}|${grantee}`, {
      asset, id, grantee, version: this.m.sacdVersion(asset, id), permissions, expiration, source,
    });
    return true;
  }

  /** Must revert: only the asset contract may call onTransfer. */
  async sacdOnTransfer(from, asset, id) {
    await this._exec('sacdOnTransferNotAsset', {
      from, contract: this.o.sacd, fn: 'onTransfer', args: [asset, id], ok: from === asset, events: [],
      snapshot: this._optSnap(asset, id), params: { asset, tokenId: String(id), from },
    });
  }

  /** Legacy vehicle privilege (PrivilegeSet). */
  async setPrivilege(from, id, privId, user, expires) {
    const o = this.o;
    const v = o.vehicles.get(id);
    const ok = v !== undefined && v.owner !== null && v.owner === from && privId >= 1n && privId <= o.privilegeCount;
    const r = await this._exec('setPrivilege', {
      from, contract: o.vehicle, fn: 'setPrivilege', args: [id, privId, user, expires], ok,
      events: [[o.vehicle, 'PrivilegeSet', { tokenId: id, version: v ? v.privVersion : 0n, privId, user, expires }]],
      snapshot: this._optSnap(o.vehicle, id, user, privId),
      params: { tokenId: String(id), privId: String(privId), user, expires: String(expires), from },
    });
    if (!r) return false;
    o.privileges.set(`${id}|${privId}|${user}`, { id, privId, user, version: v.privVersion, expires });
    return true;
  }

  async headTimestamp() { return this._headTimestamp(); }

  // ------------------------------------------------------------ time and blocks

  /** One empty block with exactly this timestamp (later than the head's). */
  async advanceTo(ts) {
    await this.rpc.call('evm_setNextBlockTimestamp', [ts]);
    await this.rpc.call('evm_mine', []);
    this.opLog.push({ op: 'advanceTo', timestamp: ts });
    this.opCounts.advanceTo = (this.opCounts.advanceTo || 0) + 1;
  }

  /** Next block's timestamp = latest + seconds (one empty block). */
  async advanceTime(seconds) {
    const ts = await this._headTimestamp();
    await this.rpc.call('evm_setNextBlockTimestamp', [ts + seconds]);
    await this.rpc.call('evm_mine', []);
    this.opLog.push({ op: 'advanceTime', seconds });
    this.opCounts.advanceTime = (this.opCounts.advanceTime || 0) + 1;
  }

  async mineEmpty(n) {
    await this.rpc.call('anvil_mine', [qty(n)]);
    this.opLog.push({ op: 'mineEmpty', blocks: n });
    this.opCounts.mineEmpty = (this.opCounts.mineEmpty || 0) + 1;
  }
}

module.exports = { Driver, aliasBytes32, aliasKeyBytes, viewAlias, ZERO32, UPGRADER_ROLE, IMPLEMENTATION_SLOT };
