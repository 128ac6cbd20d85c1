'use strict';
// The scenario's model of what the chain should hold: seeded from
// readState() at the start, updated by every operation that the driver
// expects to succeed. toExpect() renders it in the same shape as
// readState()'s output; compareExpect() lists the differences.

const { grantedIndexes, sortGrants, sortPrivileges } = require('./optins');

const ZERO = '0x0000000000000000000000000000000000000000';
const ZERO32 = '0x' + '00'.repeat(32);
const s = (v) => (typeof v === 'bigint' ? v.toString() : v);
const grantKey = (asset, id, grantee) => `${asset}|${id}|${grantee}`;
const privKey = (id, privId, user) => `${id}|${privId}|${user}`;

class Model {
  constructor() {
    this.apps = new Map(); // address -> app
    this.node = null;
    this.token = null; // address
    this.balances = new Map(); // address -> bigint
    this.totalSupply = 0n;
    this.events = new Map(); // address -> Map(name -> count)
    this.contractNames = new Map(); // address -> contract name
    this.slashes = [];
    this.nodeRevocations = [];
    this.optins = null; // see optinsFromState
  }

  /** Opt-in model (null without opt-in contracts):
   *  vehicles: id -> {owner (null once burned), privVersion};
   *  versions: "asset|id" -> SACD version; grants: "asset|id|grantee" ->
   *  {asset, id, grantee, version, permissions, expiration, source} (the
   *  last record set, under the version current then); privileges:
   *  "id|privId|user" -> {id, privId, user, version, expires}. */
  static optinsFromState(o) {
    if (!o) return null;
    const m = {
      sacd: o.sacd, vehicle: o.vehicle, privilegeCount: BigInt(o.privilege_count || 0),
      lastVehicle: BigInt(o.last_vehicle_id || 0), vehicles: new Map(), versions: new Map(),
      grants: new Map(), privileges: new Map(),
    };
    for (const v of o.vehicles) {
      const id = BigInt(v.token_id);
      m.vehicles.set(id, { owner: v.owner, privVersion: BigInt(v.privilege_version) });
      m.versions.set(`${o.vehicle}|${id}`, BigInt(v.sacd_version));
    }
    for (const g of o.grants) {
      const id = BigInt(g.token_id);
      m.versions.set(`${g.asset}|${id}`, BigInt(g.version));
      m.grants.set(grantKey(g.asset, id, g.grantee), {
        asset: g.asset, id, grantee: g.grantee, version: BigInt(g.version),
        permissions: BigInt(g.permissions), expiration: BigInt(g.expiration), source: g.source,
      });
    }
    for (const p of o.privileges) {
      const id = BigInt(p.token_id);
      const veh = m.vehicles.get(id);
      m.privileges.set(privKey(id, BigInt(p.priv_id), p.user), {
        id, privId: BigInt(p.priv_id), user: p.user, version: veh ? veh.privVersion : 0n, expires: BigInt(p.expires),
      });
    }
    return m;
  }

  sacdVersion(asset, id) { return this.optins.versions.get(`${asset}|${id}`) || 0n; }

  /** The client id's license {contract, token_id}, or null. */
  appOfClientId(addr) {
    for (const app of this.apps.values()) {
      for (const l of app.licenses.values()) if (l.clientId === addr) return { contract: app.address, token_id: s(l.id) };
    }
    return null;
  }

  optinsExpect(T) {
    const o = this.optins;
    if (!o) return null;
    const vehicles = [...o.vehicles.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([id, v]) => ({
      token_id: s(id), owner: v.owner, burned: v.owner === null, privilege_version: s(v.privVersion),
      sacd_version: s(this.sacdVersion(o.vehicle, id)),
    }));
    const grants = sortGrants([...o.grants.values()].map((g) => {
      const version = this.sacdVersion(g.asset, g.id);
      const live = g.version === version;
      const permissions = live ? g.permissions : 0n;
      const expiration = live ? g.expiration : 0n;
      return {
        asset: g.asset, token_id: s(g.id), grantee: g.grantee, grantee_app: this.appOfClientId(g.grantee),
        version: s(version), permissions: s(permissions), expiration: s(expiration), source: live ? g.source : '',
        allowed: expiration > T ? grantedIndexes(permissions) : [],
      };
    }));
    const privileges = sortPrivileges([...o.privileges.values()].map((p) => {
      const veh = o.vehicles.get(p.id);
      const expires = veh && p.version === veh.privVersion ? p.expires : 0n;
      const valid = p.privId >= 1n && p.privId <= o.privilegeCount && expires >= T;
      // hasPrivilege: the entry first, then ownerOf (which reverts once burned).
      let has = true;
      if (!valid) has = veh && veh.owner !== null ? veh.owner === p.user : null;
      return { token_id: s(p.id), priv_id: s(p.privId), user: p.user, expires: s(expires), has_privilege: has };
    }));
    return {
      sacd: o.sacd, vehicle: o.vehicle, privilege_count: s(o.privilegeCount), last_vehicle_id: s(o.lastVehicle),
      vehicles, grants, privileges,
    };
  }

  static fromState(st) {
    const m = new Model();
    for (const a of st.app_licenses) {
      const app = {
        address: a.address, contract: a.contract,
        periodValidity: BigInt(a.period_validity || 31536000), licenseCost: BigInt(a.license_cost || 0),
        lastTokenId: BigInt(a.last_token_id || 0), totalStaked: BigInt(a.total_staked || 0),
        bulkEmitted: BigInt(a.bulk_emitted || 0),
        // aliasIndex: the contract's alias key (bytes32 hex) -> token id;
        // pendingFrozen: freezes of token ids not issued yet.
        licenses: new Map(), aliasIndex: new Map(), pendingFrozen: new Map(),
      };
      if (a.zero_alias_holder && a.zero_alias_holder !== '0') app.aliasIndex.set(ZERO32, BigInt(a.zero_alias_holder));
      for (const id of a.frozen_ahead || []) app.pendingFrozen.set(BigInt(id), true);
      for (const l of a.licenses || []) {
        const lic = {
          id: BigInt(l.token_id), owner: l.owner, revoked: l.revoked, clientId: l.client_id, alias: l.alias,
          aliasKey: l.alias_key || ZERO32,
          staked: BigInt(l.staked), frozen: l.frozen, signers: new Map(), uris: new Map(),
        };
        for (const [sg, v] of Object.entries(l.signers)) lic.signers.set(sg, BigInt(v.enabled_at));
        for (const [u, v] of Object.entries(l.redirect_uris)) lic.uris.set(u, v);
        app.licenses.set(lic.id, lic);
        if (lic.aliasKey !== ZERO32) app.aliasIndex.set(lic.aliasKey, lic.id);
      }
      m.apps.set(a.address, app);
      m.contractNames.set(a.address, a.contract);
    }
    for (const n of st.manufacturer_licenses) {
      m.node = {
        address: n.address, contract: n.contract, minimum: BigInt(n.minimum_stake), totalStaked: BigInt(n.total_staked),
        lastMinted: BigInt(n.last_minted_id), stakes: new Map(), licenses: new Map(),
      };
      for (const [u, v] of Object.entries(n.stakes)) m.node.stakes.set(u, BigInt(v.staked));
      for (const l of n.licenses) m.node.licenses.set(BigInt(l.token_id), l.owner);
      m.contractNames.set(n.address, n.contract);
    }
    if (st.dimo_token) {
      m.token = st.dimo_token.address;
      m.totalSupply = BigInt(st.dimo_token.total_supply);
      for (const [a, v] of Object.entries(st.dimo_token.balances)) m.balances.set(a, BigInt(v));
      m.contractNames.set(m.token, 'DimoToken');
    }
    m.optins = Model.optinsFromState(st.optins);
    if (m.optins) {
      m.contractNames.set(m.optins.sacd, 'Sacd');
      m.contractNames.set(m.optins.vehicle, 'DimoVehicle');
    }
    return m;
  }

  balance(a) { return this.balances.get(a) || 0n; }

  move(from, to, amount) {
    if (from !== ZERO) this.balances.set(from, this.balance(from) - amount);
    else this.totalSupply += amount;
    if (to !== ZERO) this.balances.set(to, this.balance(to) + amount);
    else this.totalSupply -= amount;
  }

  countEvents(list) {
    for (const [addr, name] of list) {
      if (!this.events.has(addr)) this.events.set(addr, new Map());
      const m = this.events.get(addr);
      m.set(name, (m.get(name) || 0) + 1);
    }
  }

  toExpect(head, extra = {}) {
    const T = BigInt(head.timestamp);
    const out = { ...extra, head: { number: head.number, hash: head.hash, timestamp: head.timestamp } };
    out.app_licenses = [...this.apps.values()].map((app) => ({
      address: app.address,
      contract: app.contract,
      period_validity: s(app.periodValidity),
      license_cost: s(app.licenseCost),
      last_token_id: s(app.lastTokenId),
      total_staked: s(app.totalStaked),
      dimo_balance: s(this.balance(app.address)),
      zero_alias_holder: s(app.aliasIndex.get(ZERO32) || 0n),
      licenses: [...app.licenses.values()].sort((x, y) => (x.id < y.id ? -1 : 1)).map((l) => ({
        contract: app.address,
        token_id: s(l.id),
        owner: l.revoked ? null : l.owner,
        revoked: l.revoked,
        client_id: l.clientId,
        alias: l.alias,
        alias_key: l.aliasKey,
        alias_key_to_token_id: s(app.aliasIndex.get(l.aliasKey) || 0n),
        staked: s(l.staked),
        frozen: l.frozen,
        signers: Object.fromEntries([...l.signers.entries()].sort().map(([sg, at]) => [sg, {
          enabled_at: s(at),
          expiration: s(at === 0n ? 0n : at + app.periodValidity),
          is_signer: at !== 0n && T - at <= app.periodValidity,
        }])),
        redirect_uris: Object.fromEntries([...l.uris.entries()].sort()),
      })),
    }));
    out.manufacturer_licenses = this.node ? [{
      address: this.node.address,
      contract: this.node.contract,
      minimum_stake: s(this.node.minimum),
      total_staked: s(this.node.totalStaked),
      last_minted_id: s(this.node.lastMinted),
      dimo_balance: s(this.balance(this.node.address)),
      stakes: Object.fromEntries([...this.node.stakes.entries()].sort().map(([u, v]) => [u, {
        staked: s(v), whitelisted: v >= this.node.minimum,
      }])),
      licenses: [...this.node.licenses.entries()].sort((x, y) => (x[0] < y[0] ? -1 : 1)).map(([id, o]) => ({
        token_id: s(id), owner: o, revoked: o === null,
      })),
    }] : [];
    out.dimo_token = this.token ? {
      address: this.token,
      total_supply: s(this.totalSupply),
      balances: Object.fromEntries([...this.balances.entries()].sort().map(([a, v]) => [a, s(v)])),
    } : null;
    out.optins = this.optinsExpect(T);
    out.slashes = this.slashes;
    out.node_revocations = this.nodeRevocations;
    out.event_counts = Object.fromEntries([...this.events.entries()].sort().map(([addr, m]) => [addr, {
      contract: this.contractNames.get(addr) || null,
      events: Object.fromEntries([...m.entries()].sort()),
    }]));
    return out;
  }
}

/** Lists differences between an --expect document and a readState() result
 *  (read at the same block). Returns an array of strings; empty = equal. */
function compareExpect(exp, st) {
  const diffs = [];
  const eq = (what, a, b) => {
    const x = JSON.stringify(a), y = JSON.stringify(b);
    if (x !== y) diffs.push(`${what}: expected ${x}, chain has ${y}`);
  };
  const stApps = new Map(st.app_licenses.map((a) => [a.address, a]));
  for (const ea of exp.app_licenses) {
    const sa = stApps.get(ea.address);
    if (!sa) { diffs.push(`app contract ${ea.address} missing from state`); continue; }
    for (const k of ['period_validity', 'license_cost', 'last_token_id', 'total_staked', 'dimo_balance', 'zero_alias_holder']) {
      eq(`${ea.contract}.${k}`, ea[k], sa[k]);
    }
    const sl = new Map((sa.licenses || []).map((l) => [l.token_id, l]));
    if ((sa.licenses || []).length !== ea.licenses.length) {
      diffs.push(`${ea.contract}: expected ${ea.licenses.length} licenses, chain has ${(sa.licenses || []).length}`);
    }
    for (const el of ea.licenses) {
      const l = sl.get(el.token_id);
      const tag = `${ea.contract}#${el.token_id}`;
      if (!l) { diffs.push(`${tag} missing from state`); continue; }
      for (const k of ['owner', 'revoked', 'client_id', 'alias', 'alias_key', 'alias_key_to_token_id', 'staked', 'frozen']) {
        eq(`${tag}.${k}`, el[k], l[k]);
      }
      // revoke deletes both client id mappings (clientIdOf, devnet-only, keeps the id).
      eq(`${tag}.client_id_to_token_id`, el.revoked ? '0' : el.token_id, l.client_id_to_token_id);
      eq(`${tag}.token_id_to_client_id`, el.revoked ? ZERO : el.client_id, l.token_id_to_client_id);
      eq(`${tag}.client_id_of`, el.client_id, l.client_id_of);
      eq(`${tag}.signers(set)`, Object.keys(el.signers).sort(), Object.keys(l.signers).sort());
      for (const [sg, v] of Object.entries(el.signers)) {
        if (l.signers[sg]) eq(`${tag}.signer ${sg}`, v, { enabled_at: l.signers[sg].enabled_at, expiration: l.signers[sg].expiration, is_signer: l.signers[sg].is_signer });
      }
      eq(`${tag}.redirect_uris`, el.redirect_uris, l.redirect_uris);
    }
  }
  const en = exp.manufacturer_licenses[0];
  const sn = st.manufacturer_licenses[0];
  if (en && !sn) diffs.push('node license contract missing from state');
  if (en && sn) {
    for (const k of ['minimum_stake', 'total_staked', 'last_minted_id', 'dimo_balance']) eq(`node.${k}`, en[k], sn[k]);
    eq('node.stakes', en.stakes, sn.stakes);
    eq('node.licenses', en.licenses, sn.licenses);
  }
  if (exp.optins && !st.optins) diffs.push('opt-in contracts missing from state');
  if (exp.optins && st.optins) {
    const so = st.optins;
    for (const k of ['sacd', 'vehicle', 'privilege_count', 'last_vehicle_id']) eq(`optins.${k}`, exp.optins[k], so[k]);
    eq('optins.vehicles', exp.optins.vehicles, so.vehicles);
    const sg = new Map(so.grants.map((g) => [`${g.asset}|${g.token_id}|${g.grantee}`, g]));
    if (so.grants.length !== exp.optins.grants.length) {
      diffs.push(`optins: expected ${exp.optins.grants.length} touched grants, chain has ${so.grants.length}`);
    }
    for (const g of exp.optins.grants) {
      const tag = `grant ${g.asset}#${g.token_id} -> ${g.grantee}`;
      const c = sg.get(`${g.asset}|${g.token_id}|${g.grantee}`);
      if (!c) { diffs.push(`${tag} missing from state`); continue; }
      eq(tag, g, c);
    }
    eq('optins.privileges', exp.optins.privileges, so.privileges);
  }
  if (exp.dimo_token && st.dimo_token) {
    eq('dimo.total_supply', exp.dimo_token.total_supply, st.dimo_token.total_supply);
    for (const [a, v] of Object.entries(exp.dimo_token.balances)) {
      if (a in st.dimo_token.balances) eq(`dimo.balance ${a}`, v, st.dimo_token.balances[a]);
    }
  }
  return diffs;
}

module.exports = { Model, compareExpect, ZERO, ZERO32 };
