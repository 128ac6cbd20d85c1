#!/usr/bin/env node
'use strict';
// node_check.js: the indexer's storage-node and connection answers against
// the devnet's own contracts. Exit status 1 with the differences listed.
//
//   node node_check.js --rpc URL --network FILE --db CONN [--block N]...
//       For every block (default: the last one the model describes), read
//       with eth_call at that block: every anchor token (StorageNode.allIds:
//       ownerOf, label, URI, anchor, URI changes), every vehicle's node
//       (NodeRegistry.storageNodeOf over DimoVehicle 1..lastTokenId: 0 for
//       a burned vehicle), every connection (Connections.allIds: ownerOf,
//       connectionOf). Then dimo_node_doc by token id and by label, and
//       dimo_connection_doc by token id and by name, at that block, must
//       say the same: owner (the last one after a burn), status, label,
//       URI and URI history length, anchor, users (recounted from the
//       registry's view) and required_stake = 100,000 + 2 per user DIMO;
//       name, generation, type, costs, points, upgrades. At the model's
//       block also: the storage_node_users view and the current month of
//       monthly_node_users give the same users.
//
//   node node_check.js --dump --db CONN
//       Every derived node and connection row (history and current), as
//       sorted text lines: equal for two databases that indexed the same
//       chain.

const { execFileSync } = require('child_process');
const { openDevnet } = require('../devnet/lib/network');
const { multicall } = require('../devnet/lib/state');
const { nodeContracts } = require('../devnet/lib/nodes');

const CHAIN = 137;
const ZERO32 = '0x' + '0'.repeat(64);
const E18 = 10n ** 18n;

function parseArgs(argv) {
  const o = { blocks: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--rpc') o.rpc = argv[++i];
    else if (a === '--network') o.network = argv[++i];
    else if (a === '--db') o.db = argv[++i];
    else if (a === '--block') o.blocks.push(Number(argv[++i]));
    else if (a === '--dump') o.dump = true;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!o.db || (!o.dump && !(o.rpc && o.network))) throw new Error('usage: node_check.js --rpc URL --network FILE --db CONN [--block N]... | --dump --db CONN');
  return o;
}

function psql(db, sql) {
  return execFileSync('psql', [db, '-v', 'ON_ERROR_STOP=1', '-qAt', '-c', sql], { encoding: 'utf8', maxBuffer: 256 << 20 });
}
const lit = (s) => `'${String(s).replace(/'/g, "''")}'`;
const problems = [];
const differ = (what, got, want) => problems.push(`${what}: indexer ${JSON.stringify(got)}, chain ${JSON.stringify(want)}`);
const s = (v) => (typeof v === 'bigint' ? v.toString() : v);

async function oracle(d, c, bn) {
  const ids = await c.sn.call('allIds', [], { blockTag: bn });
  const nv = await multicall(d.rpc, ids.flatMap((id) => [[c.sn, 'ownerOf', [id]], [c.sn, 'nodeOf', [id]]]), bn);
  const last = Number(await d.vehicle.call('lastTokenId', [], { blockTag: bn }));
  const vids = Array.from({ length: last }, (_, i) => BigInt(i + 1));
  const assigned = await multicall(d.rpc, vids.map((v) => [c.reg, 'storageNodeOf', [v]]), bn);
  const users = new Map();
  for (const n of assigned) if (n && n !== 0n) users.set(n.toString(), (users.get(n.toString()) || 0) + 1);
  const nodes = ids.map((id, i) => {
    const [label, uri, anchor, uriChanges] = nv[2 * i + 1];
    return { id: id.toString(), owner: nv[2 * i] && nv[2 * i].toLowerCase(), label, uri, anchor: anchor.toLowerCase(),
      uriChanges: Number(uriChanges), users: users.get(id.toString()) || 0 };
  });
  const cids = await c.conn.call('allIds', [], { blockTag: bn });
  const cv = await multicall(d.rpc, cids.flatMap((id) => [[c.conn, 'ownerOf', [id]], [c.conn, 'connectionOf', [id]]]), bn);
  const conns = cids.map((id, i) => {
    const [name, addr, generation, type, mintCost, points, costPaid, upgrades] = cv[2 * i + 1];
    return { id: id.toString(), owner: cv[2 * i] && cv[2 * i].toLowerCase(), name, addr: addr.toLowerCase(),
      generation: Number(generation), type: type === ZERO32 ? null : type, mintCost: s(mintCost), points: s(points),
      costPaid: s(costPaid), upgrades: Number(upgrades) };
  });
  return { nodes, conns, vehicles: last };
}

function fromDb(o, bn, or, atModel) {
  const nk = or.nodes.map((n) => `(${lit(n.id)}, ${lit(n.label)})`);
  const ck = or.conns.map((c) => `(${lit(c.id)}, ${lit(c.name)})`);
  const sql = `SELECT jsonb_build_object(
    'nodes', ${nk.length ? `(SELECT jsonb_agg(jsonb_build_array(dimo_node_doc(${CHAIN}, k.id, ${bn}),
       dimo_node_doc(${CHAIN}, k.label, ${bn})) ORDER BY k.n) FROM (SELECT row_number() OVER () n, * FROM (VALUES ${nk.join(',')}) v(id, label)) k)` : `'[]'::jsonb`},
    'conns', ${ck.length ? `(SELECT jsonb_agg(jsonb_build_array(dimo_connection_doc(${CHAIN}, k.id, ${bn}),
       dimo_connection_doc(${CHAIN}, k.name, ${bn})) ORDER BY k.n) FROM (SELECT row_number() OVER () n, * FROM (VALUES ${ck.join(',')}) v(id, name)) k)` : `'[]'::jsonb`},
    'view', ${atModel ? `(SELECT jsonb_object_agg(u.token_id::text, u.users) FROM storage_node_users u WHERE u.chain_id = ${CHAIN})` : 'NULL'},
    'month', ${atModel ? `(SELECT jsonb_object_agg(m.token_id::text, m.users) FROM monthly_node_users m
       WHERE m.chain_id = ${CHAIN} AND m.month = (SELECT max(month) FROM monthly_node_users WHERE chain_id = ${CHAIN}))` : 'NULL'})`;
  return JSON.parse(psql(o.db, sql).trim());
}

// license-json.md's lists, which every class's document carries: a node or
// a connection has no signer, redirect URI, stake or slash.
const NO_LICENSE_LISTS = { signers: [], redirect_uris: [], stake_history: [], slashes: [] };

function checkNode(bn, n, byId, byLabel) {
  const w = `block ${bn} node ${n.label}`;
  if (!byId) { differ(`${w} document`, null, n); return; }
  if (JSON.stringify(byId) !== JSON.stringify(byLabel)) differ(`${w}: by label`, byLabel, byId);
  const want = {
    class: 'node', token_id: n.id, label: n.label, alias: n.label, uri: n.uri, anchor_address: n.anchor,
    status: n.owner ? 'active' : 'revoked', users: n.users, staked: null, trust_ratio: null,
    required_stake: (100000n * E18 + 2n * E18 * BigInt(n.users)).toString(), uri_count: n.uriChanges + 1,
    ...NO_LICENSE_LISTS,
  };
  const got = { ...Object.fromEntries(Object.keys(want).map((k) => [k, byId[k]])), uri_count: byId.uris.length };
  if (n.owner) { want.owner = n.owner; got.owner = byId.owner; }
  if (byId.as_of_block !== bn) differ(`${w} as_of_block`, byId.as_of_block, bn);
  if (JSON.stringify(got) !== JSON.stringify(want)) differ(w, got, want);
  if (!n.owner && !byId.revoked) differ(`${w} revoked`, byId.revoked, 'a burn');
}

function checkConn(bn, c, byId, byName) {
  const w = `block ${bn} connection ${c.name}`;
  if (!byId) { differ(`${w} document`, null, c); return; }
  if (JSON.stringify(byId) !== JSON.stringify(byName)) differ(`${w}: by name`, byName, byId);
  const want = {
    class: 'connection', token_id: c.id, name: c.name, owner: c.owner, connection_address: c.addr,
    generation: c.generation, type: c.type, mint_cost: c.mintCost, points: c.generation === 2 ? c.points : null,
    cost_paid: c.costPaid, upgrades: c.upgrades, status: 'active', staked: null, trust_ratio: null,
    ...NO_LICENSE_LISTS,
  };
  const got = Object.fromEntries(Object.keys(want).map((k) => [k, byId[k]]));
  if (JSON.stringify(got) !== JSON.stringify(want)) differ(w, got, want);
}

function dump(o) {
  const q = [
    `SELECT 'sne', block_number, log_index, encode(contract,'hex'), token_id, kind, encode(from_address,'hex'),
       encode(to_address,'hex'), encode(anchor,'hex'), label, uri FROM storage_node_events`,
    `SELECT 'vne', block_number, log_index, encode(registry,'hex'), vehicle_id, node_id, event FROM vehicle_node_events`,
    `SELECT 'sn', encode(contract,'hex'), token_id, label, encode(anchor,'hex'), uri, encode(owner,'hex'), burned,
       issued_block, revoked_block, changed_block FROM storage_nodes`,
    `SELECT 'vsn', vehicle_id, node_id, block_number, log_index FROM vehicle_storage_nodes`,
    `SELECT 'ce', block_number, log_index, encode(contract,'hex'), token_id, kind, event, generation,
       encode(from_address,'hex'), encode(to_address,'hex'), encode(connection_addr,'hex'), name,
       encode(connection_type,'hex'), cost, points FROM connection_events`,
    `SELECT 'cs', block_number, log_index, kind, encode(connection_type,'hex'), cost, points FROM connection_settings`,
    `SELECT 'c', encode(contract,'hex'), token_id, name, encode(owner,'hex'), burned, generation,
       encode(connection_type,'hex'), mint_cost, points, cost_paid, upgrades, issued_block, changed_block FROM connections`,
  ];
  const lines = q.flatMap((x) => psql(o.db, x).split('\n').filter(Boolean));
  process.stdout.write(lines.sort().join('\n') + '\n');
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.dump) { dump(o); return; }
  const d = openDevnet(o.rpc, o.network);
  const c = nodeContracts(d);
  const model = Number(psql(o.db, `SELECT block_number FROM model_cursor WHERE chain_id = ${CHAIN}`).trim());
  const blocks = o.blocks.length ? o.blocks : [model];
  let nodes = 0;
  let conns = 0;
  let users = 0;
  for (const bn of blocks) {
    const or = await oracle(d, c, bn);
    const db = fromDb(o, bn, or, bn === model);
    or.nodes.forEach((n, i) => checkNode(bn, n, db.nodes[i][0], db.nodes[i][1]));
    or.conns.forEach((x, i) => checkConn(bn, x, db.conns[i][0], db.conns[i][1]));
    if (bn === model) {
      for (const n of or.nodes) {
        if ((db.view || {})[n.id] !== n.users) differ(`storage_node_users ${n.label}`, (db.view || {})[n.id], n.users);
        if ((db.month || {})[n.id] !== n.users) differ(`monthly_node_users (current month) ${n.label}`, (db.month || {})[n.id], n.users);
      }
    }
    nodes += or.nodes.length;
    conns += or.conns.length;
    users += or.nodes.reduce((a, n) => a + n.users, 0);
  }
  d.rpc.close();
  if (problems.length) {
    console.error(problems.slice(0, 40).join('\n'));
    process.exit(1);
  }
  console.log(`node check: ${blocks.length} block(s), ${nodes} node and ${conns} connection documents, ${users} users match the contracts' views`);
}

main().catch((e) => { console.error(e.stack || e.message); process.exit(1); });
