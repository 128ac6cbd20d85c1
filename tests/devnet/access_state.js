#!/usr/bin/env node
'use strict';
// The opt-in oracle: what the devnet's own SACD and vehicle contracts answer
// at a block, for every combination the chain has touched. An indexer's
// answers are compared with this.
//
//   node tests/devnet/access_state.js --rpc URL --network FILE [--block N]... [--touched-to N]
//
// --block N (repeatable; default: the head; "latest" also accepted): one
// JSON document per block, one per line, in the order given. Touched
// combinations come from the SACD PermissionsSet and vehicle PrivilegeSet
// logs in blocks start_block..--touched-to (default: the head when the
// command starts), so a document for an early block also lists
// combinations first touched later (answered as they stood at that block:
// usually not allowed). Every answer is eth_call at block N (so it is the
// block's own timestamp that decides expiry); anvil keeps the state of the
// last 500 blocks only (tests/devnet/anvil.sh), older blocks fail.
//
// Document (uint256 as decimal strings, addresses lower-case 0x-hex):
// {
//   "block": N, "hash": "0x..", "time": T,           // block N's timestamp (seconds)
//   "sacd": "0x..", "vehicle": "0x..",
//   "permission_indexes": [0, 1, ..., 7, ...],        // 0..7 plus every index with a bit set in any PermissionsSet
//   "checks": [                                       // every touched (asset, token_id, grantee) x permission_indexes,
//     { "asset": "0x..", "token_id": "1", "grantee": "0x..",   //   sorted by asset, token_id (numeric), grantee, permission
//       "permission": 3,                              // the index i (bits 2i and 2i+1)
//       "allowed": true,                              // SACD hasPermission(asset, token_id, grantee, i) at N
//       "permissions": "15", "expiration": "1767225600", "source": "..",  // currentPermissionRecord at N
//       "version": "0",                               // SACD tokenIdToVersion(asset, token_id) at N
//       "grantee_app": {"contract": "0x..", "token_id": "3"} | null }   // the app license whose client id the grantee is
//   ],
//   "account_checks": [                               // every touched account grant (PermissionsSet/Renounced with
//     { "grantor": "0x..", "grantee": "0x..",         //   tokenId 0: asset = the grantor) x permission_indexes
//       "permission": 3, "allowed": false }           // hasAccountPermission at N (false where it reverts: before
//   ],                                                //   the upgrade that brought account grants)
//   "connections": "0x..",                            // the network file's x-connections (DIMO's ConnectionsManager)
//   "vehicles": [ { "token_id": "1", "owner": "0x.." | null, "burned": false,       // tokens 1..lastTokenId at N
//                   "privilege_version": "0", "sacd_version": "0" } ],            //   (owner null: burned or not yet minted)
//   "privileges": [ { "token_id": "1", "priv_id": "1", "user": "0x..",            // every touched legacy privilege
//                     "expires": "..",                                            // privilegeExpiresAt at N (current version)
//                     "has_privilege": true | false | null } ]                    // hasPrivilege at N; null = the call reverts
// }
// "permissions"/"expiration"/"source" are the record of the token's current
// SACD version: after a transfer they read "0"/"0"/"" until the new owner
// grants again. A block before the opt-in contracts exist gives
// {"block", "hash", "time", "sacd", "vehicle", "deployed": false, empty lists}.

const { openDevnet } = require('./lib/network');
const { readOptins, optinChecks, accountChecks } = require('./lib/optins');
const { withIssuedGranteeApps } = require('./lib/state'); // revoked licenses keep their client id
const { qty } = require('./lib/abi');

function parseArgs(argv) {
  const o = { blocks: [], touchedTo: null };
  const blockArg = (v) => {
    if (v === 'latest') return 'latest';
    if (!/^\d+$/.test(v || '')) throw new Error(`--block: expected a block number or "latest", got ${v}`);
    return Number(v);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--rpc') o.rpc = argv[++i];
    else if (a === '--network') o.network = argv[++i];
    else if (a === '--block') o.blocks.push(blockArg(argv[++i]));
    else if (a === '--touched-to') o.touchedTo = blockArg(argv[++i]);
    else throw new Error(`unknown argument ${a}`);
  }
  if (!o.rpc || !o.network) throw new Error('usage: access_state.js --rpc URL --network FILE [--block N]... [--touched-to N]');
  if (!o.blocks.length) o.blocks.push('latest');
  return o;
}

async function blockInfo(rpc, tag) {
  const b = await rpc.call('eth_getBlockByNumber', [typeof tag === 'number' ? qty(tag) : tag, false]);
  if (!b) throw new Error(`block ${tag} not found`);
  return { number: Number(BigInt(b.number)), hash: b.hash, timestamp: Number(BigInt(b.timestamp)) };
}

/** The oracle document for one block (see the header). */
async function accessState(d, blockTag, touchedTo) {
  const b = await blockInfo(d.rpc, blockTag);
  const o = await withIssuedGranteeApps(d.rpc, d, b.number, await readOptins(d.rpc, d, b.number, { touchedTo }));
  if (!o) throw new Error('the network file lists no sacd and vehicle contracts');
  const doc = { block: b.number, hash: b.hash, time: b.timestamp, sacd: o.sacd, vehicle: o.vehicle };
  if (o.deployed === false) doc.deployed = false;
  doc.permission_indexes = o.permission_indexes;
  doc.checks = optinChecks(o);
  doc.account_checks = accountChecks(o);
  doc.connections = d.net['x-connections'] || null;
  doc.vehicles = o.vehicles;
  doc.privileges = o.privileges;
  return doc;
}

async function main(o) {
  const d = openDevnet(o.rpc, o.network);
  try {
    const touchedTo = o.touchedTo === null || o.touchedTo === 'latest'
      ? (await blockInfo(d.rpc, 'latest')).number : o.touchedTo;
    for (const tag of o.blocks) {
      process.stdout.write(JSON.stringify(await accessState(d, tag, touchedTo)) + '\n');
    }
  } finally {
    d.rpc.close();
  }
}

module.exports = { accessState };

if (require.main === module) {
  let o;
  try { o = parseArgs(process.argv.slice(2)); } catch (e) { console.error(e.message); process.exit(2); }
  main(o).catch((e) => {
    const hint = /BlockOutOfRange|state.*not available|missing trie node/i.test(e.message)
      ? ' (anvil.sh keeps the state of the last 500 blocks only; DEVNET_FULL_HISTORY=1 keeps all)' : '';
    console.error(`access_state: ${e.stack || e.message}${hint}`);
    process.exit(1);
  });
}
