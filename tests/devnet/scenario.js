#!/usr/bin/env node
'use strict';
// The DIP-5 scenario on the devnet.
//
//   node tests/devnet/scenario.js --rpc URL --network FILE [--seed N] [--ops N]
//                                 [--optins | --no-optins] [--expect OUT.json] [--verbose]
//                                 [--sacd-upgrades]
//
// Without --ops: the fixed scenario (same operations every run): the license
// part, then (unless --no-optins, or the network file lists no sacd/vehicle)
// the opt-in part. With --ops N: N random operations drawn from a PRNG seeded
// with --seed (default 1): valid ones, and about 5% that must revert (each
// checked to revert without effect); --optins adds opt-in operations to the
// draw (without it, a seed gives the same operations as before opt-ins
// existed). Every operation's logs are checked as it runs. --expect writes
// what the scenario intended (see README.md). --sacd-upgrades then runs
// the SACD timeline (lib/sacd_upgrades.js: 2024 -> templateId -> renounce
// on the same proxy, templates, account and connection grants), which the
// --expect model does not follow (the contracts' views are its oracle).

const fs = require('fs');
const { openDevnet } = require('./lib/network');
const { readState } = require('./lib/state');
const { Model } = require('./lib/model');
const { Driver, aliasKeyBytes, ZERO32 } = require('./lib/driver');
const { keccak256Hex } = require('./lib/keccak');

const E18 = 10n ** 18n;
const DAY = 24 * 3600;
const MAX_UINT = (1n << 256n) - 1n;
const ZERO = '0x0000000000000000000000000000000000000000';
const dimo = (n) => BigInt(n) * E18;

// ------------------------------------------------------------------ PRNG

function makeRng(seed) {
  let a = (Number(seed) >>> 0) || 0x9e3779b9;
  const next = () => { // mulberry32
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const rng = {
    next,
    int: (n) => Math.floor(next() * n),
    chance: (p) => next() < p,
    pick: (arr) => arr[Math.floor(next() * arr.length)],
    address: () => '0x' + Array.from({ length: 20 }, () => Math.floor(next() * 256).toString(16).padStart(2, '0')).join(''),
    /** whole DIMO in [lo, hi] plus random wei dust */
    amount: (lo, hi) => dimo(lo + Math.floor(next() * (hi - lo + 1))) + BigInt(Math.floor(next() * 1e9)),
  };
  return rng;
}

const WORDS = ['fleet', 'route', 'weather', 'insure', 'charge', 'drive', 'parking', 'tolls', 'eco', 'trip', 'garage', 'ev'];
const ODD_ALIASES = ['café-münchen', 'ünïcødé-app', 'o\'brien"s\\app', 'tab\there', 'emoji-🚗-ok', '日本の車'];

// Aliases that are not text: bytes that are not UTF-8, a NUL inside (the
// contract's getLicenseAliasByTokenId stops at it), a trailing NUL (the same
// key as the alias without it: the contract pads with zeros).
function oddBytesAlias(rng, n) {
  const r = rng.int(3);
  if (r === 0) return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`-bin-${n}`)]);
  if (r === 1) return Buffer.from(`nul\u0000inside-${n}`, 'utf8');
  return Buffer.from(`${rng.pick(WORDS)}-${n}\u0000`, 'utf8');
}

function randomAlias(rng, n) {
  const r = rng.next();
  if (r < 0.1) return rng.pick(ODD_ALIASES) + '-' + n;
  if (r < 0.15) { const base = `exactly-32-bytes-${n}-`; return (base + 'x'.repeat(32)).slice(0, 32); }
  return `${rng.pick(WORDS)}-${rng.pick(WORDS)}-${n}`;
}

// ------------------------------------------------------------------ fixed scenario

async function fixedScenario(dr, d) {
  const [app, appOld] = d.apps.map((a) => a.address);
  const acct = d.accounts;
  const [A1, A2, A3, A4, N1, N2, N3, VICTIM] = [acct[1], acct[2], acct[3], acct[4], acct[5], acct[6], acct[7], acct[8]];
  const S = (k) => '0x' + '51'.repeat(18) + k.toString(16).padStart(4, '0'); // fixed signer addresses
  // On a chain where licenses exist already (a second run), aliases get a
  // suffix so that they stay unique; on a fresh deploy they are as written.
  const prior = dr.app(app).lastTokenId + dr.app(appOld).lastTokenId;
  const A = (alias) => (prior > 0n ? `${alias}-r${prior}` : alias);

  // Apps: issue with and without alias, on both implementations.
  const t1 = await dr.issue(app, A1, A('weather-app'));
  const t2 = await dr.issue(app, A2, '');
  const t3 = await dr.issue(app, A3, A('fleet-insights'));
  const o1 = await dr.issue(appOld, A4, A('legacy-app'));
  const o2 = await dr.issue(appOld, A1, '');
  await dr.issue(app, A2, 'x'.repeat(33)); // must revert: alias longer than 32 bytes
  await dr.issue(app, A2, A('fleet-insights')); // must revert: alias taken
  await dr.setLicenseCost(app, dimo(100));
  const t4 = await dr.issue(app, A2, A('café-münchen')); // pays 100 DIMO; UTF-8 alias
  await dr.setAlias(app, A2, t2, A('route-planner'));
  await dr.setAlias(app, A1, t1, A('weather-app-v2')); // frees "weather-app"
  await dr.setAlias(app, A3, t3, A('weather-app')); // reuses the freed alias
  await dr.setAlias(appOld, A1, o2, A('legacy-two'));
  await dr.setAlias(app, A2, t1, A('not-mine')); // must revert: not the owner
  await dr.soulboundTransfer(app, A1, t1, A2); // must revert: soulbound

  // Signers.
  await dr.enableSigner(app, A1, t1, S(1));
  await dr.enableSigner(app, A1, t1, S(2));
  await dr.enableSigner(app, A2, t2, S(3));
  await dr.enableSigner(app, A3, t3, S(4));
  await dr.enableSigner(appOld, A4, o1, S(5));
  await dr.advanceTime(2 * DAY);
  await dr.enableSigner(app, A1, t1, S(6)); // recent
  await dr.disableSigner(app, A1, t1, S(2));

  // Redirect URIs.
  await dr.setRedirectUri(app, A1, t1, true, 'https://weather.example/callback');
  await dr.setRedirectUri(app, A1, t1, true, 'https://weather.example/cb2');
  await dr.setRedirectUri(app, A2, t2, true, 'https://routes.example/oauth');
  await dr.setRedirectUri(app, A1, t1, false, 'https://weather.example/cb2');
  await dr.setRedirectUri(appOld, A4, o1, true, 'https://legacy.example/cb');

  // Stake, freeze, forfeit.
  await dr.lock(app, A1, t1, dimo(20000));
  await dr.lock(app, A2, t2, dimo(10000));
  await dr.lock(app, A3, t3, dimo(15000));
  await dr.lock(appOld, A4, o1, dimo(10000));
  await dr.lock(appOld, A1, o2, dimo(5000));
  await dr.withdraw(app, A1, t1, dimo(5000));
  await dr.freeze(app, t2, true);
  await dr.withdraw(app, A2, t2, dimo(1000)); // must revert: frozen
  await dr.nonAdminFreeze(app, A3, t3); // must revert: not admin
  await dr.freeze(app, t2, false);
  await dr.withdraw(app, A2, t2, dimo(1000));
  await dr.freeze(app, t3, true);
  await dr.forfeit(app, t3, dimo(5000)); // burn
  await dr.forfeit(app, t3, dimo(3000), VICTIM); // reallocation
  await dr.forfeit(appOld, o1, dimo(2000), VICTIM);
  await dr.forfeit(appOld, o1, dimo(1000));
  await dr.lock(app, A2, t4, dimo(1000));
  await dr.revoke(app, t4); // must revert: stake not zero
  await dr.withdraw(app, A2, t4, dimo(1000));
  await dr.revoke(app, t4);
  await dr.enableSigner(app, A2, t4, S(9)); // must revert: revoked

  // periodValidity change that expires signers, then re-enable.
  await dr.setPeriodValidity(app, DAY); // S1, S3, S4 (2+ days old) expire; S6 stays valid
  await dr.enableSigner(app, A1, t1, S(1)); // re-enabled: valid again
  await dr.enableSigner(app, A1, t1, S(2)); // disabled earlier, re-enabled
  await dr.disableSigner(app, A1, t1, S(6));
  await dr.setPeriodValidity(appOld, 30 * DAY);

  // The older implementation goes through the same motions.
  await dr.disableSigner(appOld, A4, o1, S(5));
  await dr.enableSigner(appOld, A4, o1, S(5));
  await dr.setRedirectUri(appOld, A4, o1, false, 'https://legacy.example/cb');
  await dr.freeze(appOld, o2, true);
  await dr.freeze(appOld, o2, false);
  await dr.withdraw(appOld, A1, o2, dimo(5000));
  await dr.revoke(appOld, o2);
  await dr.setLicenseCost(appOld, dimo(50));
  const o3 = await dr.issue(appOld, A3, A('legacy-three'));

  // Roles (#25), on both app contracts: a grant, a refused grant by a
  // non-admin, a revoke, a renounce, an admin-role change.
  const LICENSE_ADMIN = '0x' + keccak256Hex(Buffer.from('LICENSE_ADMIN_ROLE')).slice(2);
  const UPGRADER = '0x' + keccak256Hex(Buffer.from('UPGRADER_ROLE')).slice(2);
  for (const c of [app, appOld]) {
    await dr.role(c, 'grantRole', LICENSE_ADMIN, A3);
    await dr.role(c, 'grantRole', LICENSE_ADMIN, A4, A3); // must revert: A3 is no role admin
    await dr.role(c, 'revokeRole', LICENSE_ADMIN, A3);
    await dr.role(c, 'grantRole', UPGRADER, A4);
    await dr.role(c, 'renounceRole', UPGRADER, A4, A4);
    await dr.role(c, 'setRoleAdmin', UPGRADER, LICENSE_ADMIN);
  }

  // The app license is a UUPS proxy (as DIMO's): an upgrade to a second
  // implementation by the UPGRADER_ROLE holder (the admin; A4 renounced it
  // above), and one refused to A3, who holds no role any more.
  const impl2 = await dr.deployImplementation('DevLicenseDimoV2');
  await dr.upgrade(app, impl2, A3); // must revert: not an upgrader
  await dr.upgrade(app, impl2);

  // #22: an event no ABI knows, as DIMO's license contract logs on Polygon
  // (UpdateReceiverAddress: abi/ leaves it out); the receiver stays the admin.
  for (const c of [app, appOld]) await dr.setReceiverAddress(c, d.admin);

  // Nodes.
  // (The 2022 Stake: each stake at least the minimum; mint by a
  // DEFAULT_ADMIN_ROLE holder only, here the deployer.)
  await dr.nodeStake(N1, dimo(60000)); // must revert: 60,000 < 100,000 in one call
  await dr.nodeStake(N1, dimo(110000));
  await dr.nodeMint(N1, N1); // must revert: the staker holds no role
  const n1 = await dr.nodeMint(d.admin, N1);
  await dr.nodeStake(N2, dimo(150000));
  const n2 = await dr.nodeMint(d.admin, N2);
  await dr.nodeMint(d.admin, N2);
  await dr.nodeStake(N3, dimo(100000));
  const n4 = await dr.nodeMint(d.admin, N3);
  await dr.nodeMint(N1, N2); // must revert: caller holds no role
  await dr.nodeAdjust(dimo(120000)); // N1 (110k) and N3 (100k) fall below
  await dr.nodeMint(d.admin, N3); // must revert: below the new minimum
  await dr.nodeUnstake(N2, dimo(20000));
  await dr.nodeUnstake(N3, dimo(200000)); // must revert: more than staked
  await dr.nodeRevoke(n2); // LicenseRevoked carries n4, the last minted id
  await dr.strayTransfer(N3, dimo(500));
  await dr.nodeEmergencyWithdraw(N3, dimo(500));
  await dr.nodeAdjust(dimo(100000));
  await dr.nodeRevoke(n1);
  // Its roles (Stake.sol: DEFAULT_ADMIN_ROLE, the deployer's): a grant, a
  // refused grant by a non-holder, a renounce, and the devnet-only admin-role
  // change (its ABI declares RoleAdminChanged).
  const DEFAULT_ADMIN = '0x' + '00'.repeat(32);
  await dr.role(d.node.address, 'grantRole', DEFAULT_ADMIN, N3);
  await dr.role(d.node.address, 'grantRole', DEFAULT_ADMIN, N2, N1); // must revert: N1 holds no role
  await dr.role(d.node.address, 'renounceRole', DEFAULT_ADMIN, N3, N3);
  await dr.role(d.node.address, 'setRoleAdmin', UPGRADER, LICENSE_ADMIN);

  // Pad to well over 50 blocks and age everything a little.
  await dr.mineEmpty(5);
  await dr.advanceTime(3600);
  return { app, appOld, t1, t2, t3, t4, o1, o3, n1, n4, N1, N3 };
}

// ------------------------------------------------------------------ fixed opt-ins

// After the license part (which it leaves as it was: about 40 minutes pass,
// no signer crosses its validity). Vehicle owners U1..U4 = accounts 1, 2, 3,
// 5; grantees are app client ids, other addresses and an owner itself.
async function fixedOptins(dr, d, lic) {
  const { app, appOld, t1, t2, t3, t4, o1, o3, n1, n4, N1, N3 } = lic;
  const acct = d.accounts;
  const [U1, U2, U3, U4] = [acct[1], acct[2], acct[3], acct[5]];
  const veh = d.vehicle.address;
  const node = d.node.address;
  const C = (addr, id) => dr.app(addr).licenses.get(id).clientId;
  const R = (k) => '0x' + 'a1'.repeat(18) + k.toString(16).padStart(4, '0'); // grantees that are no app
  const H0 = await dr.headTimestamp();
  const LONG = BigInt(H0 + 365 * DAY);
  const SHORT = BigInt(H0 + 600); // a block gets exactly this timestamp below

  // Vehicles.
  const v1 = await dr.mintVehicle(U1);
  const v2 = await dr.mintVehicle(U2);
  const v3 = await dr.mintVehicle(U3);
  const v4 = await dr.mintVehicle(U1);
  await dr.mintVehicle(U4, U4); // must revert: only the admin mints

  // Grants (permission i = bits 2i and 2i+1).
  await dr.grant(U1, veh, v1, C(app, t1), 0b1111n, LONG, 'ipfs://consent/weather/1'); // 0, 1
  await dr.grant(U1, veh, v1, C(app, t3), 0b11110000n, LONG, 'ipfs://consent/fleet/1'); // 2, 3 (license suspended: SACD does not care)
  await dr.grant(U1, veh, v1, C(appOld, o1), 0b0110n | (1n << 9n), LONG, 'lone bits'); // bits 1, 2, 9: no pair, nothing granted
  await dr.grant(U1, veh, v1, R(1), 0xffffn, SHORT, 'https://short.example/grant'); // 0..7 until SHORT
  await dr.grant(U2, veh, v2, C(app, t1), 0b11n | (3n << 254n), MAX_UINT, 'forever; index 127'); // 0 and 127
  await dr.grant(U2, veh, v2, C(app, t2), 0xffn, 0n, 'expiration 0'); // never counts
  await dr.grant(U2, veh, v2, C(app, t2), 0b1100n, LONG, 'replaced'); // replaces it: 1 only
  await dr.grant(U2, veh, v2, R(2), 0xf0n, BigInt(H0 - 60), 'already expired');
  await dr.grant(U3, veh, v3, C(app, t4), 0xfn, LONG, 'revoked app'); // a revoked license's client id
  await dr.grant(U3, veh, v3, U3, 0x3n, LONG, 'to oneself');
  await dr.grant(U1, veh, v4, C(app, t1), 0x30n, LONG, ''); // 2, empty source
  await dr.grant(U1, veh, v4, C(appOld, o3), 0xc0n, SHORT + 1200n, 'café ✓ utf-8'); // 3, lapses at the end
  await dr.grant(U1, veh, v1, C(app, t1), 0b111111n, LONG + BigInt(DAY), 'ipfs://consent/weather/2'); // widened: 0, 1, 2
  await dr.grant(U3, veh, v3, U3, 0n, LONG, 'withdrawn'); // permissions 0
  await dr.grant(N3, node, n4, C(app, t1), 0x3n, LONG, 'node license as the asset'); // another ERC-721
  await dr.grant(U2, veh, v1, C(app, t1), 0x3n, LONG, 'not mine'); // must revert: not the owner
  await dr.grant(U1, veh, v1, ZERO, 0x3n, LONG, 'zero grantee'); // must revert
  await dr.grant(U1, veh, dr.o.lastVehicle + 100n, C(app, t1), 0x3n, LONG, 'no such token'); // must revert
  await dr.grant(N1, node, n1, C(app, t1), 0x3n, LONG, 'revoked node license'); // must revert: ownerOf reverts
  await dr.sacdOnTransfer(U1, veh, v1); // must revert: only the asset contract
  await dr.transferVehicle(U1, U2, v1, U2); // must revert: only the owner moves it
  await dr.transferVehicle(U2, U3, v1); // must revert: from is not the owner

  // Legacy privileges (ids 1..privilegeCount).
  await dr.setPrivilege(U1, v1, 1n, C(app, t1), LONG);
  await dr.setPrivilege(U1, v1, 4n, C(appOld, o1), SHORT); // valid at SHORT itself (>=), gone after
  await dr.setPrivilege(U2, v2, 2n, U1, LONG);
  await dr.setPrivilege(U2, v2, 2n, U1, 0n); // withdrawn
  await dr.setPrivilege(U1, v1, dr.o.privilegeCount + 1n, C(app, t1), LONG); // must revert: no such privilege
  await dr.setPrivilege(U1, v1, 0n, C(app, t1), LONG); // must revert
  await dr.setPrivilege(U2, v1, 1n, U2, LONG); // must revert: not the owner

  // A block at exactly SHORT: the SACD grant with expiration SHORT no longer
  // counts (expiration > now), the privilege with expires SHORT still does.
  await dr.advanceTo(Number(SHORT));
  await dr.mineEmpty(1);

  // Transfers reset; self-transfers too; burns do not.
  await dr.transferVehicle(U1, U2, v1); // v1's grants and privileges no longer count
  await dr.grant(U2, veh, v1, C(app, t1), 0x3n, LONG, 'new owner'); // at version 1
  await dr.setPrivilege(U2, v1, 1n, C(app, t1), LONG);
  await dr.transferVehicle(U3, U3, v3); // to oneself: reset as well
  await dr.burnVehicle(U1, v4); // no reset: v4's grants keep counting until they expire
  await dr.grant(U1, veh, v4, C(app, t1), 0xffn, LONG, 'burned'); // must revert
  await dr.setPrivilege(U1, v4, 1n, U2, LONG); // must revert
  await dr.transferVehicle(U1, U2, v4); // must revert
  const v5 = await dr.mintVehicle(U4); // a new id: ids are never reused
  await dr.transferVehicle(U2, U1, v2);
  await dr.transferVehicle(U1, U2, v2); // back with its first owner, version 2: old grants stay void
  await dr.grant(U2, veh, v2, C(app, t2), 0xf00n, LONG, 'after a round trip'); // 4, 5
  await dr.grant(U4, veh, v5, C(app, t1), 0xffffn, LONG, 'all of 0..7');
  await dr.advanceTime(1800); // the SHORT + 1200 grant lapses
}

// ------------------------------------------------------------------ random opt-ins

function randomPermissions(rng) {
  const r = rng.next();
  if (r < 0.08) return 0n;
  // The top pair (index 127), complete or with bit 255 alone. Not MAX_UINT:
  // the oracle checks every index with a bit set, 128 per grant for it.
  if (r < 0.14) return rng.chance(0.5) ? (3n << 254n) | 3n : (1n << 255n) | 0xffffn;
  const lone = r < 0.3; // pairs with one bit only: nothing granted
  let p = 0n;
  for (let i = 0; i < 8; i++) {
    const x = rng.next();
    const pair = lone ? (x < 0.5 ? 0n : x < 0.75 ? 1n : 2n) : (x < 0.45 ? 3n : x < 0.6 ? 1n : x < 0.75 ? 2n : 0n);
    p |= pair << BigInt(2 * i);
  }
  return p;
}

// 0, 2^256-1, in the past, or ahead by a minute to a year; a third of them
// outlast a long run's time jumps.
function randomExpiration(rng, now) {
  const r = rng.int(12);
  if (r === 0) return 0n;
  if (r <= 2) return MAX_UINT;
  const rel = [-3600, 60, 600, 3600, 6 * 3600, DAY, 30 * DAY, 365 * DAY, 365 * DAY][r - 3];
  return BigInt(now + rel);
}

const SOURCES = ['', 'ipfs://bafy-consent', 'https://consent.example/v1', 'café ✓', 'dimo://sacd/template/1'];

function optinOps(dr, d, rng, users) {
  const veh = d.vehicle.address;
  const clientIds = (activeOnly) => {
    const out = [];
    for (const a of d.apps) {
      for (const l of dr.app(a.address).licenses.values()) if (!activeOnly || (!l.revoked && !l.frozen)) out.push(l.clientId);
    }
    return out;
  };
  const pickGrantee = (id) => {
    const r = rng.next();
    // Users opt in mostly to apps whose license is active (neither revoked nor suspended).
    const active = clientIds(true);
    const apps = active.length && r < 0.35 ? active : clientIds(false);
    if (r < 0.5 && apps.length) return rng.pick(apps);
    if (r < 0.65) {
      const known = [...dr.o.grants.values()].filter((g) => g.asset === veh && g.id === id).map((g) => g.grantee);
      if (known.length) return rng.pick(known); // a new grant replaces the old record
    }
    if (r < 0.8) return rng.pick(users);
    return rng.address();
  };
  const ops = {
    vehicleMint: async () => { await dr.mintVehicle(rng.pick(users)); },
    grant: async () => {
      const live = dr.liveVehicles(); if (!live.length) return ops.vehicleMint();
      const v = rng.pick(live);
      const now = await dr.headTimestamp();
      await dr.grant(v.owner, veh, v.id, pickGrantee(v.id), randomPermissions(rng), randomExpiration(rng, now),
        rng.pick(SOURCES));
    },
    vehicleTransfer: async () => {
      const live = dr.liveVehicles(); if (!live.length) return ops.vehicleMint();
      const v = rng.pick(live);
      await dr.transferVehicle(v.owner, rng.chance(0.15) ? v.owner : rng.pick(users.filter((u) => u !== v.owner)), v.id);
    },
    vehicleBurn: async () => {
      const live = dr.liveVehicles(); if (live.length < 3) return ops.vehicleMint();
      const v = rng.pick(live);
      await dr.burnVehicle(v.owner, v.id);
    },
    privilege: async () => {
      const live = dr.liveVehicles(); if (!live.length) return ops.vehicleMint();
      const v = rng.pick(live);
      const now = await dr.headTimestamp();
      const privId = 1n + BigInt(rng.int(Number(dr.o.privilegeCount)));
      const expires = rng.chance(0.15) ? 0n : randomExpiration(rng, now);
      await dr.setPrivilege(v.owner, v.id, privId, pickGrantee(v.id), expires);
    },
    optinInvalid: async () => {
      const live = dr.liveVehicles(); if (!live.length) return ops.vehicleMint();
      const v = rng.pick(live);
      const stranger = users.find((u) => u !== v.owner);
      const now = await dr.headTimestamp();
      const burned = [...dr.o.vehicles.entries()].filter(([, x]) => x.owner === null).map(([id]) => id);
      switch (rng.int(7)) {
        case 0: return dr.grant(stranger, veh, v.id, rng.address(), 3n, BigInt(now + DAY), 'not mine');
        case 1: return dr.grant(v.owner, veh, v.id, ZERO, 3n, BigInt(now + DAY), 'zero grantee');
        case 2: return burned.length
          ? dr.grant(v.owner, veh, rng.pick(burned), rng.address(), 3n, BigInt(now + DAY), 'burned')
          : dr.grant(v.owner, veh, dr.o.lastVehicle + 1n, rng.address(), 3n, BigInt(now + DAY), 'not minted');
        case 3: return dr.sacdOnTransfer(v.owner, veh, v.id);
        case 4: return dr.transferVehicle(v.owner, stranger, v.id, stranger);
        case 5: return dr.setPrivilege(v.owner, v.id, dr.o.privilegeCount + 1n, rng.address(), BigInt(now + DAY));
        default: return dr.mintVehicle(v.owner, v.owner);
      }
    },
  };
  // About 30% of the draws once added to the license weights.
  const weights = [['vehicleMint', 5], ['grant', 24], ['vehicleTransfer', 6], ['vehicleBurn', 2], ['privilege', 6], ['optinInvalid', 2]];
  return { ops, weights };
}

// ------------------------------------------------------------------ random scenario

async function randomScenario(dr, d, rng, nOps, withOptins = false) {
  const apps = d.apps.map((a) => a.address);
  const users = d.accounts.slice(1);
  let aliasCounter = 0;
  let uriCounter = 0;

  const liveLicenses = (pred = () => true) => {
    const out = [];
    for (const addr of apps) {
      for (const lic of dr.app(addr).licenses.values()) if (!lic.revoked && pred(lic, addr)) out.push([addr, lic]);
    }
    return out;
  };
  const pickApp = () => (rng.chance(0.75) ? apps[0] : rng.pick(apps));

  const ops = {
    issue: async () => {
      const addr = pickApp();
      await dr.issue(addr, rng.pick(users), rng.chance(0.6) ? randomAlias(rng, ++aliasCounter) : '');
    },
    setAlias: async () => {
      const c = liveLicenses(); if (!c.length) return ops.issue();
      const [addr, lic] = rng.pick(c);
      await dr.setAlias(addr, lic.owner, lic.id, randomAlias(rng, ++aliasCounter));
    },
    enableSigner: async () => {
      const c = liveLicenses(); if (!c.length) return ops.issue();
      const [addr, lic] = rng.pick(c);
      const known = [...lic.signers.keys()];
      const sg = known.length && rng.chance(0.25) ? rng.pick(known) : rng.address();
      await dr.enableSigner(addr, lic.owner, lic.id, sg);
    },
    disableSigner: async () => {
      const c = liveLicenses((l) => [...l.signers.values()].some((v) => v !== 0n));
      if (!c.length) return ops.enableSigner();
      const [addr, lic] = rng.pick(c);
      const sg = rng.pick([...lic.signers.entries()].filter(([, v]) => v !== 0n).map(([k]) => k));
      await dr.disableSigner(addr, lic.owner, lic.id, sg);
    },
    redirect: async () => {
      const c = liveLicenses(); if (!c.length) return ops.issue();
      const [addr, lic] = rng.pick(c);
      const on = [...lic.uris.entries()].filter(([, v]) => v).map(([k]) => k);
      if (on.length && rng.chance(0.4)) await dr.setRedirectUri(addr, lic.owner, lic.id, false, rng.pick(on));
      else await dr.setRedirectUri(addr, lic.owner, lic.id, true, `https://app${Number(lic.id)}.example/cb/${++uriCounter}?x=${rng.int(1000)}`);
    },
    lock: async () => {
      const c = liveLicenses(); if (!c.length) return ops.issue();
      const [addr, lic] = rng.pick(c);
      await dr.lock(addr, lic.owner, lic.id, rng.amount(1, 30000));
    },
    withdraw: async () => {
      const c = liveLicenses((l) => l.staked > 0n && !l.frozen); if (!c.length) return ops.lock();
      const [addr, lic] = rng.pick(c);
      const amt = rng.chance(0.3) ? lic.staked : (lic.staked * BigInt(1 + rng.int(99))) / 100n || lic.staked;
      await dr.withdraw(addr, lic.owner, lic.id, amt);
    },
    freeze: async () => {
      const c = liveLicenses(); if (!c.length) return ops.issue();
      const [addr, lic] = rng.pick(c);
      await dr.freeze(addr, lic.id, !lic.frozen);
    },
    forfeit: async () => {
      const c = liveLicenses((l) => l.staked > 0n); if (!c.length) return ops.lock();
      const [addr, lic] = rng.pick(c);
      const amt = rng.chance(0.3) ? lic.staked : (lic.staked * BigInt(1 + rng.int(99))) / 100n || lic.staked;
      await dr.forfeit(addr, lic.id, amt, rng.chance(0.5) ? null : rng.pick(users));
    },
    revoke: async () => {
      const c = liveLicenses((l) => l.staked === 0n); if (!c.length) return ops.issue();
      const [addr, lic] = rng.pick(c);
      await dr.revoke(addr, lic.id);
    },
    // A license with an alias is revoked (its stake withdrawn first); the
    // contract frees the alias with no event, and most times another
    // license takes it at once (a new issue or a setAlias).
    revokeAliased: async () => {
      // (Not a suspended one: those stay, for the opt-in tests' license_suspended answers.)
      const c = liveLicenses((l) => l.aliasKey !== ZERO32 && !l.frozen);
      if (!c.length) return ops.setAlias();
      const [addr, lic] = rng.pick(c);
      if (lic.staked > 0n) await dr.withdraw(addr, lic.owner, lic.id, lic.staked);
      const raw = aliasKeyBytes(lic.aliasKey);
      if (!(await dr.revoke(addr, lic.id)) || !rng.chance(0.7)) return;
      const others = liveLicenses((l, a) => a === addr);
      if (others.length && rng.chance(0.5)) {
        const [, o] = rng.pick(others);
        await dr.setAlias(addr, o.owner, o.id, raw);
      } else {
        await dr.issue(addr, rng.pick(users), raw);
      }
    },
    // Revoke of a token already revoked or not issued yet: Transfer(0x0 -> 0x0).
    revokeGhost: async () => {
      const addr = pickApp();
      const gone = [...dr.app(addr).licenses.values()].filter((l) => l.revoked);
      await dr.revoke(addr, gone.length && rng.chance(0.5) ? rng.pick(gone).id : dr.app(addr).lastTokenId + 1n + BigInt(rng.int(3)));
    },
    // adminFreeze of a token id not issued yet (the next one or the one after).
    freezeAhead: async () => {
      const addr = pickApp();
      await dr.freeze(addr, dr.app(addr).lastTokenId + 1n + BigInt(rng.int(2)), rng.chance(0.75));
    },
    // A forfeit of 0 (AssetForfeit(0)) of any token id: live, revoked or not issued.
    forfeitZero: async () => {
      const addr = pickApp();
      const id = 1n + BigInt(rng.int(Number(dr.app(addr).lastTokenId) + 2));
      await dr.forfeit(addr, id, 0n, rng.chance(0.5) ? null : rng.pick(users));
    },
    oddAlias: async () => {
      const c = liveLicenses(); if (!c.length) return ops.issue();
      const [addr, lic] = rng.pick(c);
      await dr.setAlias(addr, lic.owner, lic.id, oddBytesAlias(rng, ++aliasCounter));
    },
    periodValidity: async () => {
      await dr.setPeriodValidity(rng.pick(apps), rng.pick([3600, DAY, 7 * DAY, 30 * DAY, 365 * DAY]));
    },
    licenseCost: async () => {
      await dr.setLicenseCost(rng.pick(apps), rng.pick([0n, dimo(10), dimo(100), dimo(250) + 12345n]));
    },
    advanceTime: async () => { await dr.advanceTime(rng.pick([60, 3600, 6 * 3600, DAY, 3 * DAY, 10 * DAY])); },
    mineEmpty: async () => { await dr.mineEmpty(1 + rng.int(5)); },
    nodeStake: async () => {
      // Each stake at least the minimum (Stake.sol); now and then one below it (reverts).
      const min = dr.m.node.minimum / 10n ** 18n;
      await dr.nodeStake(rng.pick(users), rng.chance(0.15) ? rng.amount(1000, 40000) : rng.amount(Number(min), Number(min) + 80000));
    },
    nodeMint: async () => {
      const node = dr.m.node;
      const ok = users.filter((u) => (node.stakes.get(u) || 0n) >= node.minimum);
      if (!ok.length) return ops.nodeStake();
      const to = rng.pick(ok);
      await dr.nodeMint(rng.chance(0.5) ? to : d.admin, to);
    },
    nodeUnstake: async () => {
      const node = dr.m.node;
      const c = users.filter((u) => (node.stakes.get(u) || 0n) > 0n);
      if (!c.length) return ops.nodeStake();
      const u = rng.pick(c);
      const st = node.stakes.get(u);
      await dr.nodeUnstake(u, rng.chance(0.3) ? st : (st * BigInt(1 + rng.int(99))) / 100n || st);
    },
    nodeAdjust: async () => { await dr.nodeAdjust(rng.pick([dimo(50000), dimo(100000), dimo(120000), dimo(200000)])); },
    nodeRevoke: async () => {
      const live = [...dr.m.node.licenses.entries()].filter(([, o]) => o !== null).map(([id]) => id);
      if (!live.length) return ops.nodeMint();
      await dr.nodeRevoke(rng.pick(live));
    },
    nodeEmergency: async () => {
      if (dr.strayBalance() === 0n || rng.chance(0.3)) { await dr.strayTransfer(rng.pick(users), rng.amount(1, 2000)); return; }
      const stray = dr.strayBalance();
      await dr.nodeEmergencyWithdraw(rng.pick(users), rng.chance(0.5) ? stray : stray / 2n || stray);
    },
    // ---- operations that must revert
    invalid: async () => {
      const live = liveLicenses();
      const kind = rng.int(9);
      if (!live.length && kind < 7) return ops.issue();
      const [addr, lic] = live.length ? rng.pick(live) : [apps[0], null];
      const app = dr.app(addr);
      switch (kind) {
        case 0: { // withdraw while frozen (or more than staked)
          if (lic.frozen && lic.staked > 0n) return dr.withdraw(addr, lic.owner, lic.id, lic.staked);
          return dr.withdraw(addr, lic.owner, lic.id, lic.staked + 1n);
        }
        case 1: return dr.setAlias(addr, lic.owner, lic.id, 'y'.repeat(33 + rng.int(10)));
        case 2: { // alias held by another license (or by this one: refused too)
          const other = [...app.aliasIndex.entries()].find(([k, id]) => k !== ZERO32 && (id !== lic.id || rng.chance(0.3)));
          if (!other) return dr.setAlias(addr, lic.owner, lic.id, 'é'.repeat(17)); // 34 bytes
          return dr.setAlias(addr, lic.owner, lic.id, aliasKeyBytes(other[0]));
        }
        case 3: { // revoke with stake
          if (lic.staked === 0n) await dr.lock(addr, lic.owner, lic.id, dimo(1));
          return dr.revoke(addr, lic.id);
        }
        case 4: { // not the owner
          const stranger = users.find((u) => u !== lic.owner);
          return dr.enableSigner(addr, stranger, lic.id, rng.address());
        }
        case 5: return dr.soulboundTransfer(addr, lic.owner, lic.id, rng.pick(users));
        case 6: return dr.nonAdminFreeze(addr, lic.owner, lic.id);
        case 7: { // node mint below minimum
          const node = dr.m.node;
          const low = users.find((u) => (node.stakes.get(u) || 0n) < node.minimum);
          if (!low) return dr.nodeUnstake(users[0], (node.stakes.get(users[0]) || 0n) + 1n);
          return dr.nodeMint(low, low);
        }
        default: { // unstake more than staked
          const u = rng.pick(users);
          return dr.nodeUnstake(u, (dr.m.node.stakes.get(u) || 0n) + 1n);
        }
      }
    },
  };

  const weights = [
    ['issue', 8], ['setAlias', 5], ['enableSigner', 14], ['disableSigner', 6], ['redirect', 6],
    ['lock', 10], ['withdraw', 6], ['freeze', 5], ['forfeit', 6], ['revoke', 3], ['periodValidity', 2],
    ['licenseCost', 1], ['advanceTime', 4], ['mineEmpty', 2], ['nodeStake', 6], ['nodeMint', 4],
    ['nodeUnstake', 3], ['nodeAdjust', 1], ['nodeRevoke', 2], ['nodeEmergency', 2], ['invalid', 5],
    ['revokeAliased', 3], ['revokeGhost', 1], ['freezeAhead', 2], ['forfeitZero', 2], ['oddAlias', 2],
  ];
  if (withOptins) {
    const extra = optinOps(dr, d, rng, users);
    Object.assign(ops, extra.ops);
    weights.push(...extra.weights);
  }
  const total = weights.reduce((a, [, w]) => a + w, 0);

  // A few issues first so that every kind of operation has something to act on.
  for (let i = 0; i < Math.min(3, nOps); i++) await ops.issue();
  for (let i = Math.min(3, nOps); i < nOps; i++) {
    let r = rng.int(total);
    let name = weights[0][0];
    for (const [n, w] of weights) { if (r < w) { name = n; break; } r -= w; }
    await ops[name]();
  }
}

// ------------------------------------------------------------------ runner

async function runScenario({ rpc, network, seed = 1, ops = null, expect = null, verbose = false, optins = null,
  sacdUpgrades = false }) {
  const d = openDevnet(rpc, network);
  if (d.apps.length < 2 || !d.node || !d.token) throw new Error('network file must list two app licenses, a node license and the token');
  const hasOptins = !!(d.sacd && d.vehicle);
  if (optins === true && !hasOptins) throw new Error('--optins: the network file lists no sacd and vehicle contracts');
  const withOptins = optins === null ? ops === null && hasOptins : optins;
  const t0 = Date.now();
  const start = await readState(d.rpc, d.net, 'latest');
  const model = Model.fromState(start);
  const dr = new Driver(d, model, { log: verbose ? (m) => process.stderr.write(m + '\n') : null });
  if (ops === null) {
    const lic = await fixedScenario(dr, d);
    if (withOptins) await fixedOptins(dr, d, lic);
    if (withOptins) await require('./lib/nodes').fixedNodes(dr, d, { log: dr.log }); // storage nodes, connections
  } else {
    await randomScenario(dr, d, makeRng(seed), ops, withOptins);
  }
  if (sacdUpgrades) await require('./lib/sacd_upgrades').runSacdSteps(d, require('./lib/sacd_upgrades').STEPS);
  const head = await d.rpc.call('eth_getBlockByNumber', ['latest', false]);
  const headInfo = { number: Number(BigInt(head.number)), hash: head.hash, timestamp: Number(BigInt(head.timestamp)) };
  const doc = model.toExpect(headInfo, {
    mode: ops === null ? 'fixed' : 'random',
    seed: ops === null ? null : Number(seed),
    with_optins: withOptins,
    ops: dr.opLog.length,
    reverted_ops: dr.reverted,
    op_counts: dr.opCounts,
    start_block: start.block.number,
    end_block: headInfo.number,
  });
  doc.op_log = dr.opLog;
  if (expect) fs.writeFileSync(expect, JSON.stringify(doc, null, 1) + '\n');
  d.rpc.close();
  return { doc, seconds: (Date.now() - t0) / 1000 };
}

function parseArgs(argv) {
  const o = { seed: 1, ops: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--rpc') o.rpc = argv[++i];
    else if (a === '--network') o.network = argv[++i];
    else if (a === '--seed') o.seed = Number(argv[++i]);
    else if (a === '--ops') o.ops = Number(argv[++i]);
    else if (a === '--expect') o.expect = argv[++i];
    else if (a === '--verbose') o.verbose = true;
    else if (a === '--optins') o.optins = true;
    else if (a === '--no-optins') o.optins = false;
    else if (a === '--sacd-upgrades') o.sacdUpgrades = true;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!o.rpc || !o.network) {
    throw new Error('usage: scenario.js --rpc URL --network FILE [--seed N] [--ops N] [--optins | --no-optins] [--expect OUT.json]');
  }
  if (o.ops !== null && !(o.ops >= 0)) throw new Error('--ops must be a number');
  return o;
}

module.exports = { runScenario, makeRng };

if (require.main === module) {
  let o;
  try { o = parseArgs(process.argv.slice(2)); } catch (e) { console.error(e.message); process.exit(2); }
  runScenario(o).then(({ doc, seconds }) => {
    console.log(`scenario ${doc.mode}${doc.seed !== null ? ` seed ${doc.seed}` : ''}${doc.with_optins ? ' with opt-ins' : ''}: ${doc.ops} operations ` +
      `(${doc.reverted_ops} reverted as expected), blocks ${doc.start_block + 1}..${doc.end_block}, ${seconds.toFixed(2)} s`);
  }).catch((e) => { console.error(`scenario: ${e.stack || e.message}`); process.exit(1); });
}
