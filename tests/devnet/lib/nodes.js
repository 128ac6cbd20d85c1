'use strict';
// Storage-node operators and connections on the devnet (roles storage_node,
// node_registry, connection of the network file).
//
// fixedNodes(dr, d): the fixed DIP-5 node and connection operations, run by
//   scenario.js after the opt-in part (vehicles are minted, moved and burned
//   through the opt-in driver, so that its model stays right): node anchors
//   minted, re-pointed (URI), transferred and burned; vehicles assigned to
//   nodes under the registry's old event name, then (after the rename)
//   moved under the new one, one vehicle through the default node (id 0);
//   a vehicle transferred and re-assigned by its new owner, one burned;
//   connections minted in all three generations, upgraded and transferred.
//   Every operation's logs are checked as it runs (names and key
//   arguments, in order); operations that must revert are checked to
//   revert without logs.
//
// CLI (state read from the chain, so it can follow any earlier run):
//   node tests/devnet/lib/nodes.js ops --rpc URL --network FILE [--ops N] [--seed N]
//       N random valid operations: assignments (most), URI changes, node
//       transfers and mints, vehicle mints and burns, connection mints,
//       upgrades and transfers.
//   node tests/devnet/lib/nodes.js reorg --rpc URL --network FILE --depth K [--seed N]
//       Replaces the last K blocks (anvil_reorg) with K blocks that each
//       move one live vehicle (as of the fork point) to another live node,
//       signed by the vehicle's owner. Prints JSON {depth, base_block, head,
//       moves: [{vehicle, from_node, to_node, block}]}.

const { sendTx, lower, REVERT_GAS, DEFAULT_GAS, waitReceipt } = require('./chain');
const { qty } = require('./abi');
const { keccak256Hex } = require('./keccak');

const ZERO = '0x0000000000000000000000000000000000000000';
const E18 = 10n ** 18n;
const norm = (v) => (typeof v === 'bigint' ? v.toString() : typeof v === 'string' ? v.toLowerCase() : String(v));

/** StorageNode token id of a label: uint256(keccak256(label)). */
const nodeId = (label) => BigInt(keccak256Hex(Buffer.from(label, 'utf8')));
/** Connection token id of a name: the name as bytes32, right-padded. */
function connectionId(name) {
  const b = Buffer.alloc(32);
  Buffer.from(name, 'utf8').copy(b);
  return BigInt('0x' + b.toString('hex'));
}
/** bytes32 of a short text (a connection type). */
function bytes32(text) {
  const b = Buffer.alloc(32);
  Buffer.from(text, 'utf8').copy(b);
  return '0x' + b.toString('hex');
}

/** The handles of the three roles (null when the network file lacks one). */
function nodeContracts(d) {
  const by = (role) => d.all.find((h) => h.role === role) || null;
  return { sn: by('storage_node'), reg: by('node_registry'), conn: by('connection') };
}

class NodeOps {
  constructor(d, { log = null } = {}) {
    this.d = d;
    this.rpc = d.rpc;
    this.log = log;
    this.ops = 0;
    this.reverted = 0;
  }

  /** Sends fn(args) from `from` on handle h. want: null = must revert (no
   *  logs); else [[handle, eventName, {arg: value}]] = exactly these logs. */
  async exec(h, from, fn, args, want) {
    const r = await sendTx(this.rpc, h.txReq(from, fn, args, { gas: want ? DEFAULT_GAS : REVERT_GAS }));
    this.ops++;
    const what = `${h.name}.${fn}(${args.map(norm).join(', ')}) from ${from}`;
    if (this.log) this.log(`${what} -> ${want ? 'ok' : 'revert'} @${Number(BigInt(r.blockNumber))}`);
    if (!want) {
      this.reverted++;
      if (r.status !== '0x0') throw new Error(`${what}: expected a revert, tx ${r.transactionHash} succeeded`);
      if (r.logs.length) throw new Error(`${what}: reverted tx has logs`);
      return r;
    }
    if (r.status !== '0x1') throw new Error(`${what}: tx ${r.transactionHash} reverted unexpectedly`);
    const got = r.logs.map((l) => this.d.decodeLog(l));
    const problems = [];
    if (got.length !== want.length) problems.push(`expected ${want.length} logs, got ${got.length}`);
    want.forEach(([hh, name, a], i) => {
      const g = got[i];
      if (!g || g.address !== hh.address || g.name !== name) {
        problems.push(`log ${i}: expected ${name}@${hh.address}, got ${g ? `${g.name}@${g.address}` : 'none'}`);
        return;
      }
      for (const [k, v] of Object.entries(a || {})) {
        if (norm(g.args[k]) !== norm(v)) problems.push(`log ${i} ${name}.${k}: expected ${norm(v)}, got ${norm(g.args[k])}`);
      }
    });
    if (problems.length) throw new Error(`${what} tx ${r.transactionHash}: ${problems.join('; ')}`);
    return r;
  }
}

// ------------------------------------------------------------------ fixed

async function fixedNodes(dr, d, { log = null } = {}) {
  const { sn, reg, conn } = nodeContracts(d);
  if (!sn || !reg || !conn || !dr.o) return null;
  const x = new NodeOps(d, { log });
  const admin = d.admin;
  const acct = d.accounts;
  const [O1, O2, O3] = [acct[6], acct[7], acct[8]];
  const [U1, U2, U3, U4] = [acct[1], acct[2], acct[3], acct[5]];
  // A second run on the same chain gets fresh labels and names.
  const prior = (await sn.call('allIds')).length;
  const L = (s) => (prior ? `${s}-r${prior}` : s);
  const renamed = await reg.call('renamed');
  const setEvent = () => (x.renamedNow ? 'VehicleStorageNodeIdSet' : 'NodeIdSetForVehicleId');
  x.renamedNow = renamed;

  const mintNode = async (to, label, uri, anchor) => {
    const id = nodeId(label);
    await x.exec(sn, admin, 'mint', [to, label, uri, anchor], [
      [sn, 'Transfer', { from: ZERO, to, id }],
      [sn, 'StorageNodeAnchorMinted', { account: to, nodeAnchorId: id, nodeAnchorAddr: anchor, nodeAnchorLabel: label, nodeAnchorUri: uri }],
    ]);
    return id;
  };
  const assign = async (owner, vehicle, node, resolved = node) => x.exec(reg, owner, 'setStorageNodeForVehicle', [vehicle, node],
    [[reg, setEvent(), { vehicleId: vehicle, storageNodeId: resolved }]]);

  // Node anchors.
  const A = await mintNode(O1, L('node-alpha'), 'https://alpha.example/v1', '0x' + 'a1'.repeat(20));
  const B = await mintNode(O2, L('node-beta'), 'https://beta.example', '0x' + 'b2'.repeat(20));
  const C = await mintNode(O3, L('node-gamma'), 'ipfs://gamma', '0x' + 'c3'.repeat(20));
  await x.exec(sn, O1, 'mint', [O1, L('node-x'), 'u', ZERO], null); // must revert: not the minter
  await x.exec(sn, admin, 'mint', [O2, L('node-alpha'), 'u', ZERO], null); // must revert: label taken
  await x.exec(reg, admin, 'setDefaultStorageNodeId', [A], []); // no event

  // Vehicles (through the opt-in driver) and their first assignments.
  const w = [];
  for (const u of [U1, U2, U3, U4, U1]) w.push(await dr.mintVehicle(u));
  await assign(U1, w[0], A);
  await assign(U2, w[1], B);
  await assign(U3, w[2], 0n, A); // id 0: the default node
  await assign(U4, w[3], B);
  await assign(U1, w[4], C);
  await x.exec(reg, U2, 'setStorageNodeForVehicle', [w[0], B], null); // must revert: not the owner
  await x.exec(reg, U1, 'setStorageNodeForVehicle', [w[0], nodeId('no-such-node')], null); // must revert

  // URIs and upgrades.
  await x.exec(sn, O1, 'setNodeUri', [A, 'https://alpha.example/v2'], [[sn, 'NodeUriUpdated', { nodeId: A, newNodeUri: 'https://alpha.example/v2' }]]);
  await x.exec(sn, O2, 'setNodeUri', [A, 'https://evil.example'], null); // must revert: not the owner
  await x.exec(sn, admin, 'upgradeTo', ['0x' + '5e'.repeat(20)], [[sn, 'Upgraded', { implementation: '0x' + '5e'.repeat(20) }]]);

  // The registry's event is renamed; assignments move.
  await x.exec(reg, admin, 'rename', [], []);
  x.renamedNow = true;
  await assign(U2, w[1], A);
  await assign(U4, w[3], C);
  await assign(U1, w[0], A); // the same node again
  await dr.transferVehicle(U1, U3, w[0]); // the assignment stays with the vehicle
  await assign(U3, w[0], B); // ... until its new owner moves it
  await dr.burnVehicle(U1, w[4]); // leaves node C's users
  await x.exec(reg, U1, 'setStorageNodeForVehicle', [w[4], A], null); // must revert: burned

  // A node changes hands; another is minted, used and burned.
  await x.exec(sn, O2, 'transferFrom', [O2, O1, B], [[sn, 'Transfer', { from: O2, to: O1, id: B }]]);
  await x.exec(sn, O1, 'setNodeUri', [B, 'https://beta.example/new-owner'], [[sn, 'NodeUriUpdated', { nodeId: B, newNodeUri: 'https://beta.example/new-owner' }]]);
  const D = await mintNode(O2, L('node-delta'), 'https://delta.example', '0x' + 'd4'.repeat(20));
  await assign(U3, w[2], D);
  await x.exec(sn, O2, 'burn', [D], [[sn, 'Transfer', { from: O2, to: ZERO, id: D }]]);
  await x.exec(reg, U3, 'setStorageNodeForVehicle', [w[2], D], null); // must revert: node burned

  // Connections: generation 1 (LicenseMinted), 2 (with points), 3 (with a type).
  const cost = 10n * E18;
  const names = { tesla: L('tesla'), smartcar: L('smartcar'), ford: L('ford-oem') };
  const cid = Object.fromEntries(Object.entries(names).map(([k, n]) => [k, connectionId(n)]));
  const caddr = async (id) => lower(await conn.call('addressOf', [id]));
  const OEM = bytes32('oem');
  const AFTER = bytes32('aftermarket');
  if (Number(await conn.call('generation')) !== 1) {
    await x.exec(conn, admin, 'upgradeTo', ['0x' + '61'.repeat(20), 1], [[conn, 'Upgraded', {}]]);
  }
  await x.exec(conn, admin, 'setLicenseCost', [cost], [[conn, 'LicenseCostSet', { licenseCost: cost }]]);
  await x.exec(conn, U1, 'mint', [names.tesla, OEM], [
    [conn, 'Transfer', { from: ZERO, to: U1, tokenId: cid.tesla }],
    [conn, 'LicenseMinted', { account: U1, licenseId: cid.tesla, licenseAddr: await caddr(cid.tesla), licenseCostInDimo: cost }],
  ]);
  await x.exec(conn, U2, 'mint', [names.tesla, OEM], null); // must revert: name taken
  await x.exec(conn, U2, 'mint', ['x'.repeat(33), OEM], null); // must revert: longer than 32 bytes
  await x.exec(conn, admin, 'setConnectionConfig', [bytes32(''), 20n * E18, 5n],
    [[conn, 'ConnectionConfigSet', { connectionType: bytes32(''), cost: 20n * E18, points: 5n }]]);
  await x.exec(conn, admin, 'upgradeTo', ['0x' + '62'.repeat(20), 2], [[conn, 'Upgraded', { implementation: '0x' + '62'.repeat(20) }]]);
  await x.exec(conn, U2, 'mint', [names.smartcar, OEM], [
    [conn, 'Transfer', { from: ZERO, to: U2, tokenId: cid.smartcar }],
    [conn, 'ConnectionMinted', { account: U2, connectionId: cid.smartcar, connectionName: names.smartcar, connectionCostInDimo: 20n * E18, points: 5n }],
  ]);
  await x.exec(conn, U2, 'upgrade', [cid.smartcar, AFTER], null); // must revert: not before generation 3
  await x.exec(conn, admin, 'setConnectionConfig', [OEM, 50n * E18, 0n], [[conn, 'ConnectionConfigSet', { connectionType: OEM }]]);
  await x.exec(conn, admin, 'setConnectionConfig', [AFTER, 30n * E18, 2n], [[conn, 'ConnectionConfigSet', { connectionType: AFTER }]]);
  await x.exec(conn, admin, 'upgradeTo', ['0x' + '63'.repeat(20), 3], [[conn, 'Upgraded', {}]]);
  await x.exec(conn, U3, 'mint', [names.ford, OEM], [
    [conn, 'Transfer', { from: ZERO, to: U3, tokenId: cid.ford }],
    [conn, 'ConnectionMinted', { account: U3, connectionId: cid.ford, connectionName: names.ford, connectionType: OEM, connectionCostInDimo: 50n * E18 }],
  ]);
  await x.exec(conn, U2, 'upgrade', [cid.smartcar, AFTER], [[conn, 'ConnectionUpgraded', { connectionId: cid.smartcar, connectionType: AFTER, connectionCostInDimo: 30n * E18 }]]);
  await x.exec(conn, U1, 'upgrade', [cid.tesla, OEM], [[conn, 'ConnectionUpgraded', { connectionId: cid.tesla, connectionType: OEM, connectionCostInDimo: 50n * E18 }]]);
  await x.exec(conn, U1, 'upgrade', [cid.ford, AFTER], null); // must revert: not the owner
  await x.exec(conn, U3, 'transferFrom', [U3, U4, cid.ford], [[conn, 'Transfer', { from: U3, to: U4, tokenId: cid.ford }]]);
  await x.exec(conn, U3, 'transferFrom', [U3, U4, cid.ford], null); // must revert: no longer the owner
  await x.exec(conn, U4, 'upgrade', [cid.ford, AFTER], [[conn, 'ConnectionUpgraded', { connectionId: cid.ford, connectionType: AFTER }]]);
  return { ops: x.ops, reverted: x.reverted, nodes: { A, B, C, D }, vehicles: w, connections: cid };
}

// ------------------------------------------------------------------ chain state

/** Live vehicles [{id, owner}] and live nodes [id] at a block (views only). */
async function liveState(d, block = 'latest') {
  const { multicall } = require('./state');
  const { sn } = nodeContracts(d);
  const tag = block === 'latest' ? 'latest' : Number(block);
  const last = Number(await d.vehicle.call('lastTokenId', [], { blockTag: tag }));
  const vids = Array.from({ length: last }, (_, i) => BigInt(i + 1));
  const owners = await multicall(d.rpc, vids.map((v) => [d.vehicle, 'ownerOf', [v]]), tag === 'latest' ? 'latest' : tag);
  const ids = await sn.call('allIds', [], { blockTag: tag });
  const live = await multicall(d.rpc, ids.map((id) => [sn, 'exists', [id]]), tag);
  const nodeOwners = await multicall(d.rpc, ids.map((id) => [sn, 'ownerOf', [id]]), tag);
  return {
    vehicles: vids.map((id, i) => ({ id, owner: owners[i] && lower(owners[i]) })).filter((v) => v.owner),
    nodes: ids.map((id, i) => ({ id, owner: nodeOwners[i] && lower(nodeOwners[i]) })).filter((n, i) => live[i]),
  };
}

// ------------------------------------------------------------------ random

async function randomNodes(d, rng, n, { log = null } = {}) {
  const { sn, reg, conn } = nodeContracts(d);
  const x = new NodeOps(d, { log });
  x.renamedNow = await reg.call('renamed');
  const gen = Number(await conn.call('generation'));
  const st = await liveState(d);
  const admin = d.admin;
  const acct = d.accounts.slice(1, 9);
  const round = `${Date.now().toString(36)}${rng.int(1e6).toString(36)}`;
  let k = 0;
  for (let i = 0; i < n; i++) {
    const r = rng.next();
    if (st.nodes.length === 0 || r < 0.06) { // a new node
      const label = `node-${round}-${k++}`;
      const to = rng.pick(acct);
      const id = nodeId(label);
      await x.exec(sn, admin, 'mint', [to, label, `https://${label}.example`, rng.address()], [
        [sn, 'Transfer', { from: ZERO, to, id }], [sn, 'StorageNodeAnchorMinted', { nodeAnchorId: id }]]);
      st.nodes.push({ id, owner: to });
    } else if (st.vehicles.length === 0 || r < 0.12) { // a new vehicle (the vehicle's admin mints)
      const to = rng.pick(acct);
      const rc = await x.exec(d.vehicle, admin, 'mint', [to], [[d.vehicle, 'Transfer', { from: ZERO, to }]]);
      st.vehicles.push({ id: BigInt(rc.logs[0].topics[3]), owner: to });
    } else if (r < 0.17 && st.vehicles.length > 1) { // a vehicle burned
      const j = rng.int(st.vehicles.length);
      const v = st.vehicles[j];
      await x.exec(d.vehicle, v.owner, 'burn', [v.id], [[d.vehicle, 'Transfer', { from: v.owner, to: ZERO, tokenId: v.id }]]);
      st.vehicles.splice(j, 1);
    } else if (r < 0.25) { // a node's URI
      const nd = rng.pick(st.nodes);
      const uri = `https://uri-${round}-${k++}.example`;
      await x.exec(sn, nd.owner, 'setNodeUri', [nd.id, uri], [[sn, 'NodeUriUpdated', { nodeId: nd.id, newNodeUri: uri }]]);
    } else if (r < 0.30) { // a node changes hands
      const nd = rng.pick(st.nodes);
      const to = rng.pick(acct);
      await x.exec(sn, nd.owner, 'transferFrom', [nd.owner, to, nd.id], [[sn, 'Transfer', { from: nd.owner, to, id: nd.id }]]);
      nd.owner = to;
    } else if (r < 0.35) { // a connection (current generation)
      const name = `c-${round}-${k++}`.slice(0, 32);
      const to = rng.pick(acct);
      const id = connectionId(name);
      await x.exec(conn, to, 'mint', [name, bytes32(rng.pick(['oem', 'aftermarket', 'software']))], [
        [conn, 'Transfer', { from: ZERO, to, tokenId: id }],
        [conn, gen === 1 ? 'LicenseMinted' : 'ConnectionMinted', gen === 1 ? { licenseId: id } : { connectionId: id }]]);
    } else { // an assignment (most operations)
      const v = rng.pick(st.vehicles);
      const nd = rng.pick(st.nodes);
      await x.exec(reg, v.owner, 'setStorageNodeForVehicle', [v.id, nd.id],
        [[reg, x.renamedNow ? 'VehicleStorageNodeIdSet' : 'NodeIdSetForVehicleId', { vehicleId: v.id, storageNodeId: nd.id }]]);
    }
  }
  return { ops: x.ops };
}

// ------------------------------------------------------------------ reorg

async function reorgNodes(d, rng, depth) {
  const { reg } = nodeContracts(d);
  const rpc = d.rpc;
  const head = Number(BigInt(await rpc.call('eth_blockNumber', [])));
  const base = head - depth;
  const min = Number(d.net['x-nodes-block'] || 0);
  if (base < min) throw new Error(`depth ${depth} reaches below block ${min} (node contracts deployed); head is ${head}`);
  const st = await liveState(d, base);
  if (!st.vehicles.length || st.nodes.length < 2) throw new Error(`block ${base}: need live vehicles and two live nodes`);
  const { multicall } = require('./state');
  const cur = await multicall(rpc, st.vehicles.map((v) => [reg, 'storageNodeOf', [v.id]]), base);
  const nonces = new Map();
  const pairs = [];
  const moves = [];
  for (let k = 0; k < depth; k++) {
    const j = rng.int(st.vehicles.length);
    const v = st.vehicles[j];
    const others = st.nodes.filter((nd) => nd.id !== cur[j]);
    const to = rng.pick(others).id;
    if (!nonces.has(v.owner)) nonces.set(v.owner, BigInt(await rpc.call('eth_getTransactionCount', [v.owner, qty(base)])));
    const nonce = nonces.get(v.owner);
    nonces.set(v.owner, nonce + 1n);
    const raw = await rpc.call('eth_signTransaction', [{
      from: v.owner, to: reg.address, data: reg.encode('setStorageNodeForVehicle', [v.id, to]), gas: qty(200000),
      nonce: qty(nonce), maxFeePerGas: qty(1000n * 10n ** 9n), maxPriorityFeePerGas: qty(1), chainId: qty(137), type: '0x2',
    }]);
    pairs.push([raw, k]);
    moves.push({ vehicle: v.id.toString(), from_node: cur[j].toString(), to_node: to.toString(), block: base + 1 + k });
    cur[j] = to;
  }
  await rpc.call('anvil_reorg', [depth, pairs]);
  const newHead = Number(BigInt(await rpc.call('eth_blockNumber', [])));
  if (newHead !== head) throw new Error(`head moved from ${head} to ${newHead}`);
  for (let n = base + 1; n <= head; n++) {
    const b = await rpc.call('eth_getBlockByNumber', [qty(n), false]);
    for (const h of b.transactions) {
      const r = await waitReceipt(rpc, h);
      if (r.status !== '0x1') throw new Error(`replacement tx ${h} failed`);
    }
  }
  return { depth, base_block: base, head, moves };
}

module.exports = { fixedNodes, randomNodes, reorgNodes, liveState, nodeContracts, nodeId, connectionId, bytes32 };

if (require.main === module) {
  const { openDevnet } = require('./network');
  const { makeRng } = require('../scenario');
  const [cmd, ...rest] = process.argv.slice(2);
  const o = { ops: 20, seed: 1 };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === '--rpc') o.rpc = rest[++i];
    else if (a === '--network') o.network = rest[++i];
    else if (a === '--ops') o.ops = Number(rest[++i]);
    else if (a === '--seed') o.seed = Number(rest[++i]);
    else if (a === '--depth') o.depth = Number(rest[++i]);
    else { console.error(`unknown argument ${a}`); process.exit(2); }
  }
  if (!['ops', 'reorg'].includes(cmd) || !o.rpc || !o.network || (cmd === 'reorg' && !(o.depth >= 1))) {
    console.error('usage: nodes.js ops|reorg --rpc URL --network FILE [--ops N] [--depth K] [--seed N]');
    process.exit(2);
  }
  const d = openDevnet(o.rpc, o.network);
  const run = cmd === 'ops' ? randomNodes(d, makeRng(o.seed), o.ops) : reorgNodes(d, makeRng(o.seed), o.depth);
  run.then((r) => { console.log(JSON.stringify(r, (k, v) => (typeof v === 'bigint' ? v.toString() : v))); d.rpc.close(); })
    .catch((e) => { console.error(`nodes.js ${cmd}: ${e.stack || e.message}`); process.exit(1); });
}
