'use strict';
// readOptins(rpc, devnet, blockNumber, {touchedTo}): the opt-in state at one
// block, from the contracts' own view functions (batched eth_call at that
// block), for every combination the chain has touched:
//   - grants: every (asset, tokenId, grantee) with tokenId != 0 of a SACD
//     PermissionsSet (either generation) or PermissionsRenounced log in
//     blocks sacd.start_block..touchedTo (default: blockNumber), with the
//     token's SACD version, currentPermissionRecord and, for every index of
//     permissionIndexes(), hasPermission;
//   - accounts: every (grantor, grantee) of such a log with tokenId 0 (an
//     account grant: asset = the grantor), with hasAccountPermission for
//     every index (false where the call reverts: before the upgrade that
//     brought account grants);
//   - vehicles: every vehicle token 1..lastTokenId: owner (null once burned
//     or not yet minted), the privilege version and the SACD version;
//   - privileges: every (tokenId, privId, user) of a vehicle PrivilegeSet log
//     in the same blocks: privilegeExpiresAt and hasPrivilege (null where the
//     call reverts: a burned vehicle whose entry no longer answers).
// Values: uint256 as decimal strings, addresses lower-case hex.

const { decodeLog } = require('./abi');
const { Contract } = require('./chain');

/** The SACD proxy read with the ABI of its last implementation, which
 *  declares every generation of its events and every view (the network
 *  file names the implementation it was deployed with). */
function sacdAllGenerations(d) {
  if (!d.sacd) return null;
  if (!d.sacdAll) d.sacdAll = new Contract(d.rpc, 'SacdRenounce', d.sacd.address);
  return d.sacdAll;
}

const s = (v) => (typeof v === 'bigint' ? v.toString() : v);
const MAX_INDEX = 127; // hasPermission reverts from 128 on (uint8 overflow, as deployed)
const BASE_INDEXES = 8; // 0..7 are always checked

/** Permission indexes to check: 0..7 plus every index with a bit set in any
 *  of the given permission values (bigints), at most 127. */
function permissionIndexes(permissionValues) {
  const set = new Set(Array.from({ length: BASE_INDEXES }, (_, i) => i));
  for (const p of permissionValues) {
    for (let i = 0; i <= MAX_INDEX; i++) if ((p >> BigInt(2 * i)) & 3n) set.add(i);
  }
  return [...set].sort((a, b) => a - b);
}

/** Indexes i (0..127) with bits 2i and 2i+1 both set. */
function grantedIndexes(p) {
  const out = [];
  for (let i = 0; i <= MAX_INDEX; i++) if (((p >> BigInt(2 * i)) & 3n) === 3n) out.push(i);
  return out;
}

const cmpBig = (a, b) => { const x = BigInt(a), y = BigInt(b); return x < y ? -1 : x > y ? 1 : 0; };

function sortGrants(list) {
  return list.sort((a, b) => (a.asset < b.asset ? -1 : a.asset > b.asset ? 1 : 0) ||
    cmpBig(a.token_id, b.token_id) || (a.grantee < b.grantee ? -1 : a.grantee > b.grantee ? 1 : 0));
}

function sortPrivileges(list) {
  return list.sort((a, b) => cmpBig(a.token_id, b.token_id) || cmpBig(a.priv_id, b.priv_id) ||
    (a.user < b.user ? -1 : a.user > b.user ? 1 : 0));
}

/** Every SACD record log (both PermissionsSet generations and
 *  PermissionsRenounced) and PrivilegeSet log up to toBlock, decoded. */
async function touchedLogs(rpc, d, toBlock) {
  const { getLogs } = require('./state');
  const out = { grants: new Map(), accounts: new Map(), permissionValues: [], privileges: new Map() };
  if (d.sacd && d.sacd.startBlock <= toBlock) {
    const evs = sacdAllGenerations(d).events.filter((e) => e.ev.name === 'PermissionsSet' || e.ev.name === 'PermissionsRenounced');
    for (const l of await getLogs(rpc, d.sacd.address, d.sacd.startBlock, toBlock, [evs.map((e) => e.topic0)])) {
      const ev = evs.find((e) => e.topic0 === l.topics[0].toLowerCase());
      const a = decodeLog(ev.ev, l).args;
      if (a.tokenId === 0n) out.accounts.set(`${a.asset}|${a.grantee}`, { grantor: a.asset, grantee: a.grantee });
      else out.grants.set(`${a.asset}|${a.tokenId}|${a.grantee}`, { asset: a.asset, tokenId: a.tokenId, grantee: a.grantee });
      if (a.permissions !== undefined) out.permissionValues.push(a.permissions);
    }
  }
  if (d.vehicle && d.vehicle.startBlock <= toBlock) {
    const ev = d.vehicle.events.find((e) => e.ev.name === 'PrivilegeSet');
    for (const l of await getLogs(rpc, d.vehicle.address, d.vehicle.startBlock, toBlock, [ev.topic0])) {
      const a = decodeLog(ev.ev, l).args;
      out.privileges.set(`${a.tokenId}|${a.privId}|${a.user}`, { tokenId: a.tokenId, privId: a.privId, user: a.user });
    }
  }
  return out;
}

async function readOptins(rpc, d, bn, { touchedTo = bn } = {}) {
  const { multicall } = require('./state');
  const { vehicle } = d;
  if (!d.sacd || !vehicle) return null;
  const sacd = Object.assign(sacdAllGenerations(d), { startBlock: d.sacd.startBlock });
  const out = {
    sacd: sacd.address, vehicle: vehicle.address, privilege_count: null, last_vehicle_id: '0',
    permission_indexes: [], vehicles: [], grants: [], accounts: [], privileges: [],
  };
  if (vehicle.startBlock > bn || sacd.startBlock > bn) { out.deployed = false; return out; }
  const touched = await touchedLogs(rpc, d, touchedTo);
  const indexes = permissionIndexes(touched.permissionValues);
  out.permission_indexes = indexes;

  const [last, privCount] = await multicall(rpc, [[vehicle, 'lastTokenId', []], [vehicle, 'privilegeCount', []]], bn);
  out.last_vehicle_id = s(last);
  out.privilege_count = s(privCount);
  const ids = Array.from({ length: Number(last) }, (_, i) => BigInt(i + 1));
  const grants = [...touched.grants.values()];
  const accounts = [...touched.accounts.values()].sort((a, b) =>
    (a.grantor < b.grantor ? -1 : a.grantor > b.grantor ? 1 : 0) || (a.grantee < b.grantee ? -1 : a.grantee > b.grantee ? 1 : 0));
  const privs = [...touched.privileges.values()];

  const reqs = [];
  for (const id of ids) {
    reqs.push([vehicle, 'ownerOf', [id]], [vehicle, 'tokenIdToVersion', [id]], [sacd, 'tokenIdToVersion', [vehicle.address, id]]);
  }
  for (const g of grants) {
    reqs.push([sacd, 'tokenIdToVersion', [g.asset, g.tokenId]], [sacd, 'currentPermissionRecord', [g.asset, g.tokenId, g.grantee]]);
    for (const i of indexes) reqs.push([sacd, 'hasPermission', [g.asset, g.tokenId, g.grantee, i]]);
  }
  const grantees = [...new Set(grants.map((g) => g.grantee))].sort();
  for (const who of grantees) for (const app of d.apps) reqs.push([app, 'clientIdToTokenId', [who]]);
  for (const p of privs) {
    reqs.push([vehicle, 'privilegeExpiresAt', [p.tokenId, p.privId, p.user]], [vehicle, 'hasPrivilege', [p.tokenId, p.privId, p.user]]);
  }
  for (const a of accounts) {
    for (const i of indexes) reqs.push([sacd, 'hasAccountPermission', [a.grantor, a.grantee, i]]);
  }
  const v = await multicall(rpc, reqs, bn);
  let k = 0;
  for (const id of ids) {
    const owner = v[k++];
    out.vehicles.push({ token_id: s(id), owner, burned: owner === null, privilege_version: s(v[k++]), sacd_version: s(v[k++]) });
  }
  const grantRows = grants.map((g) => {
    const version = v[k++];
    const [permissions, expiration, source] = v[k++];
    const allowed = [];
    for (const i of indexes) if (v[k++] === true) allowed.push(i);
    return { asset: g.asset, token_id: s(g.tokenId), grantee: g.grantee, grantee_app: null, version: s(version),
      permissions: s(permissions), expiration: s(expiration), source, allowed };
  });
  const apps = new Map();
  for (const who of grantees) {
    for (const app of d.apps) {
      const id = v[k++];
      if (id !== null && id !== 0n && !apps.has(who)) apps.set(who, { contract: app.address, token_id: s(id) });
    }
  }
  for (const r of grantRows) r.grantee_app = apps.get(r.grantee) || null;
  out.grants = sortGrants(grantRows);
  out.privileges = sortPrivileges(privs.map((p) => ({
    token_id: s(p.tokenId), priv_id: s(p.privId), user: p.user, expires: s(v[k++]), has_privilege: v[k++],
  })));
  out.accounts = accounts.map((a) => {
    const allowed = [];
    for (const i of indexes) if (v[k++] === true) allowed.push(i);
    return { grantor: a.grantor, grantee: a.grantee, allowed };
  });
  return out;
}

/** The oracle's flat form: one check per (asset, token, grantee, index). */
function optinChecks(o) {
  const checks = [];
  for (const g of o.grants) {
    for (const i of o.permission_indexes) {
      checks.push({
        asset: g.asset, token_id: g.token_id, grantee: g.grantee, permission: i, allowed: g.allowed.includes(i),
        permissions: g.permissions, expiration: g.expiration, source: g.source, version: g.version,
        grantee_app: g.grantee_app,
      });
    }
  }
  return checks;
}

/** The same for account grants: one check per (grantor, grantee, index). */
function accountChecks(o) {
  const checks = [];
  for (const a of o.accounts) {
    for (const i of o.permission_indexes) {
      checks.push({ grantor: a.grantor, grantee: a.grantee, permission: i, allowed: a.allowed.includes(i) });
    }
  }
  return checks;
}

module.exports = { readOptins, optinChecks, accountChecks, sacdAllGenerations, permissionIndexes, grantedIndexes, sortGrants, sortPrivileges, touchedLogs };
