#!/usr/bin/env node
'use strict';
// Compares the indexed license model with the contracts' own view functions
// (tests/devnet/lib/state.js: eth_call at one block) and prints the
// differences; exit status 1 when there are any.
//
//   node model_check.js --rpc URL --network FILE --db CONNINFO [--block N]...
//
// Without --block: the head, through the API's defaults (dimo_license_doc
// with no block and no time: the last indexed block, which must be the
// head, and its time). With --block N (repeatable): the state as of block
// N, signer validity at block N's timestamp (as eth_call at N judges it).
//
// Compared for every license of every contract: existence, owner (null once
// revoked), revoked, staked, frozen, alias, client id (and the look-up by
// client id), every signer's enabled_at / expiration / isSigner (signers
// the contract never enabled must show as disabled), redirect URIs, status;
// per contract periodValidity, licenseCost, node minimum; per node address
// stake and whitelisted; totals. At the head also: the `licenses` view
// equals dimo_license_at at the cursor, and the cached document (the fast
// path) equals the one built from history at the cursor, for every license.

const { execFileSync } = require('child_process');
const path = require('path');
const { readState, multicall } = require(path.join(__dirname, '../devnet/lib/state'));
const { openDevnet } = require(path.join(__dirname, '../devnet/lib/network'));

// The document's alias from the contract's key (bytes32 hex): null for none,
// the text when it is UTF-8 without NUL, else the 0x-hex of the bytes
// without their zero padding.
function aliasFromKey(key) {
  let b = Buffer.from((key || '0x').slice(2), 'hex');
  let n = b.length;
  while (n > 0 && b[n - 1] === 0) n--;
  b = b.subarray(0, n);
  if (!n) return null;
  const t = b.toString('utf8');
  return Buffer.from(t, 'utf8').equals(b) && !b.includes(0) ? t : '0x' + b.toString('hex');
}

function parseArgs(argv) {
  const o = { blocks: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--rpc') o.rpc = argv[++i];
    else if (a === '--network') o.network = argv[++i];
    else if (a === '--db') o.db = argv[++i];
    else if (a === '--chain') o.chain = Number(argv[++i]);
    else if (a === '--block') o.blocks.push(Number(argv[++i]));
    else throw new Error(`unknown argument ${a}`);
  }
  if (!o.rpc || !o.network || !o.db) throw new Error('usage: model_check.js --rpc URL --network FILE --db CONNINFO [--block N]...');
  o.chain = o.chain || 137;
  return o;
}

function psqlJson(db, sql) {
  const out = execFileSync('psql', [db, '-v', 'ON_ERROR_STOP=1', '-qAt', '-c', sql],
    { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
  return JSON.parse(out.trim() || 'null');
}

const unix = (iso) => (iso === null || iso === undefined ? 0 : Date.parse(iso) / 1000);

// Everything the comparison needs from the database, in one query.
function dbSnapshot(db, chain, block, time) {
  const b = block === null ? 'NULL' : String(block);
  const t = time === null ? 'NULL' : `to_timestamp(${time})`;
  const at = block === null ? '(SELECT last_block FROM cursors WHERE chain_id = ' + chain + ')' : b;
  return psqlJson(db, `
    SELECT jsonb_build_object(
      'cursor', (SELECT last_block FROM cursors WHERE chain_id = ${chain}),
      'docs', (SELECT coalesce(jsonb_agg(d ORDER BY s.contract, s.token_id), '[]')
               FROM license_state s, LATERAL dimo_license_doc(${chain}, s.contract, s.token_id, ${b}, ${t}) d
               WHERE s.chain_id = ${chain} AND d IS NOT NULL),
      'params', (SELECT jsonb_object_agg(dimo_hex(c.address), jsonb_build_object(
                   'period_validity', dimo_contract_param(${chain}, c.address, 'period_validity', ${at})::text,
                   'license_cost', dimo_contract_param(${chain}, c.address, 'license_cost', ${at})::text,
                   'minimum_stake', dimo_contract_param(${chain}, c.address, 'minimum_stake', ${at})::text))
                 FROM contracts c WHERE c.chain_id = ${chain}),
      'node_stakes', (SELECT coalesce(jsonb_object_agg(dimo_hex(k.contract) || ' ' || dimo_hex(k.holder),
                        (SELECT m.balance_after::text FROM stake_movements m
                         WHERE m.chain_id = ${chain} AND m.contract = k.contract AND m.holder = k.holder
                           AND m.block_number <= ${at}
                         ORDER BY m.block_number DESC, m.log_index DESC LIMIT 1)), '{}')
                      FROM (SELECT DISTINCT contract, holder FROM stake_movements
                            WHERE chain_id = ${chain} AND holder IS NOT NULL AND block_number <= ${at}) k),
      'by_client_id', (SELECT coalesce(jsonb_object_agg(dimo_hex(s.client_id),
                          (SELECT jsonb_agg(f.token_id::text) FROM dimo_find_licenses(${chain}, NULL, dimo_hex(s.client_id)) f
                           WHERE f.contract = s.contract)), '{}')
                        FROM license_state s WHERE s.chain_id = ${chain} AND s.client_id IS NOT NULL
                          AND s.issued_block <= ${at}),
      'alias_lookups', (SELECT coalesce(jsonb_agg(jsonb_build_object('contract', dimo_hex(k.contract),
                          'key', dimo_hex(k.alias_key), 'text', dimo_internal.alias_text(k.alias_key),
                          'found', (SELECT coalesce(jsonb_agg(f.token_id::text ORDER BY f.token_id), '[]')
                                    FROM dimo_find_licenses(${chain}, NULL, dimo_internal.alias_text(k.alias_key), ${b}) f
                                    WHERE f.contract = k.contract))), '[]')
                        FROM (SELECT DISTINCT contract, alias_key FROM alias_events
                              WHERE chain_id = ${chain} AND block_number <= ${at}
                                AND octet_length(alias_key) > 0) k),
      'view_vs_history', ${block === null ? `(SELECT count(*) FROM licenses l WHERE l.chain_id = ${chain}
                          AND ROW(l.*)::dimo_license IS DISTINCT FROM
                              (SELECT ROW(x.*)::dimo_license FROM dimo_license_at(${chain}, l.contract, l.token_id, l.as_of_block) x))` : '0'},
      'doc_vs_history', ${block === null ? `(SELECT count(*) FROM license_state s, model_cursor m
                          WHERE s.chain_id = ${chain} AND m.chain_id = ${chain}
                            AND dimo_license_doc(${chain}, s.contract, s.token_id) IS DISTINCT FROM
                                dimo_internal.doc_at(${chain}, s.contract, s.token_id, m.block_number, m.block_time)
                                || jsonb_build_object('as_of_block', m.block_number, 'as_of_time', dimo_iso(m.block_time))
                                || dimo_internal.finality(${chain}, m.block_number))` : '0'}
    )`);
}

// The network file's requirements (issue #23: requirements are data) and
// each license contract's class: what a license's status follows.
let NET = { requirements: {}, classes: {} };
function loadNet(file) {
  const n = JSON.parse(require('fs').readFileSync(file, 'utf8'));
  NET = { requirements: n.requirements || {}, classes: {} };
  for (const c of n.contracts) if (c.class) NET.classes[c.address.toLowerCase()] = c.class;
}
// understaked when the class's rule says falling below its requirement
// stops sharing and the stake is below it (the network file's amounts;
// no file requirement: the database's defaults never mark it).
function belowRule(cls, staked, floor = 0n) {
  const r = NET.requirements[cls];
  if (!r || !r.understaked) return false;
  const need = BigInt(r.stake) > floor ? BigInt(r.stake) : floor;
  return BigInt(staked || 0) < need;
}

function compare(st, snap, label) {
  const diffs = [];
  const eq = (what, want, got) => {
    const a = JSON.stringify(want), b = JSON.stringify(got);
    if (a !== b) diffs.push(`${label} ${what}: chain ${a}, db ${b}`);
  };
  const docs = new Map(snap.docs.map((d) => [`${d.contract} ${d.token_id}`, d]));
  const seen = new Set();
  let licenses = 0, signers = 0;
  for (const app of st.app_licenses) {
    const p = snap.params[app.address] || {};
    if (app.deployed === false) continue;
    eq(`${app.address} period_validity`, app.period_validity, p.period_validity);
    eq(`${app.address} license_cost`, app.license_cost, p.license_cost);
    let total = 0n;
    for (const l of app.licenses) {
      const key = `${app.address} ${l.token_id}`;
      const d = docs.get(key);
      seen.add(key);
      licenses++;
      if (!d) { diffs.push(`${label} ${key}: missing from the database`); continue; }
      const tag = `${app.contract}#${l.token_id}`;
      eq(`${tag} class`, 'app', d.class);
      eq(`${tag} owner`, l.owner, d.revoked ? null : d.owner);
      eq(`${tag} revoked`, l.revoked, d.revoked !== null);
      eq(`${tag} staked`, l.staked, d.staked);
      eq(`${tag} frozen`, l.frozen, d.frozen);
      eq(`${tag} alias`, aliasFromKey(l.alias_key), d.alias);
      eq(`${tag} client_id`, l.client_id, d.client_id);
      eq(`${tag} client_id look-up`, [l.token_id], (snap.by_client_id[l.client_id] || []));
      const cls = NET.classes[app.address.toLowerCase()] || 'app';
      eq(`${tag} status`, l.revoked ? 'revoked' : l.frozen ? 'suspended' : belowRule(cls, l.staked) ? 'understaked' : 'active', d.status);
      total += BigInt(l.staked);
      const ds = new Map(d.signers.map((s) => [s.address, s]));
      for (const [addr, s] of Object.entries(l.signers)) {
        signers++;
        const x = ds.get(addr);
        if (!x) { diffs.push(`${label} ${tag} signer ${addr}: missing`); continue; }
        eq(`${tag} signer ${addr}`, { enabled_at: s.enabled_at, expiration: s.expiration, is_signer: s.is_signer },
          { enabled_at: String(unix(x.enabled_at)), expiration: String(unix(x.expires_at)), is_signer: x.valid });
      }
      for (const x of d.signers) {
        if (!(x.address in l.signers) && (x.valid || x.enabled_at !== null)) {
          diffs.push(`${label} ${tag} signer ${x.address}: enabled in the db, never enabled on chain`);
        }
      }
      const uris = {};
      for (const u of d.redirect_uris) uris[u.uri] = u.enabled;
      const sorted = Object.fromEntries(Object.keys(uris).sort().map((k) => [k, uris[k]]));
      eq(`${tag} redirect_uris`, l.redirect_uris, sorted);
    }
    eq(`${app.address} total_staked`, app.total_staked, String(total));
  }
  for (const node of st.manufacturer_licenses) {
    const p = snap.params[node.address] || {};
    eq('node minimum_stake', node.minimum_stake, p.minimum_stake);
    let total = 0n;
    for (const [addr, s] of Object.entries(node.stakes)) {
      const db = snap.node_stakes[`${node.address} ${addr}`] || '0';
      eq(`node stake ${addr}`, s.staked, db);
      eq(`node whitelisted ${addr}`, s.whitelisted, BigInt(db) >= BigInt(p.minimum_stake || 0));
      total += BigInt(db);
    }
    eq('node total_staked', node.total_staked, String(total));
    for (const l of node.licenses) {
      const key = `${node.address} ${l.token_id}`;
      const d = docs.get(key);
      seen.add(key);
      licenses++;
      if (!d) { diffs.push(`${label} node ${key}: missing from the database`); continue; }
      eq(`manufacturer#${l.token_id} class`, 'manufacturer', d.class);
      eq(`manufacturer#${l.token_id} owner`, l.owner, d.revoked ? null : d.owner);
      eq(`manufacturer#${l.token_id} revoked`, l.revoked, d.revoked !== null);
      const ownerStake = l.owner ? node.stakes[l.owner] : null;
      if (ownerStake) {
        eq(`manufacturer#${l.token_id} staked`, ownerStake.staked, d.staked);
        eq(`manufacturer#${l.token_id} status`, ownerStake.whitelisted &&
          !belowRule('manufacturer', ownerStake.staked, BigInt(p.minimum_stake || 0)) ? 'active' : 'understaked', d.status);
      } else if (l.revoked) {
        eq(`manufacturer#${l.token_id} status`, 'revoked', d.status);
      }
    }
  }
  for (const d of snap.docs) {
    const key = `${d.contract} ${d.token_id}`;
    if (!seen.has(key)) diffs.push(`${label} ${key}: in the database, not on chain`);
  }
  if (snap.view_vs_history) diffs.push(`${label}: ${snap.view_vs_history} license(s) where the licenses view differs from dimo_license_at`);
  if (snap.doc_vs_history) diffs.push(`${label}: ${snap.doc_vs_history} license(s) whose cached document differs from the one built from history`);
  return { diffs, licenses, signers };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  loadNet(o.network);
  const targets = o.blocks.length ? o.blocks : [null];
  let bad = 0;
  const notes = [];
  for (const block of targets) {
    const st = await readState(o.rpc, o.network, block === null ? 'latest' : block);
    const snap = dbSnapshot(o.db, o.chain, block, block === null ? null : st.block.timestamp);
    const label = block === null ? `head ${st.block.number}` : `block ${block}`;
    if (block === null && snap.cursor !== st.block.number) {
      console.error(`${label}: the cursor is at ${snap.cursor}`);
      bad++;
      continue;
    }
    const { diffs, licenses, signers } = compare(st, snap, label);
    // Every alias ever set (by then): the contract's getTokenIdByLicenseAlias
    // at that block names the license a look-up must find, or none (freed).
    const d = openDevnet(o.rpc, o.network);
    const apps = new Map(d.apps.map((a) => [a.address, a]));
    const keys = snap.alias_lookups.filter((k) => apps.has(k.contract));
    const padded = (k) => '0x' + k.key.slice(2).padEnd(64, '0');
    const holders = await multicall(d.rpc, keys.map((k) => [apps.get(k.contract), 'getTokenIdByLicenseAlias(bytes32)', [padded(k)]]),
      st.block.number);
    d.rpc.close();
    keys.forEach((k, i) => {
      const want = holders[i] === 0n ? [] : [holders[i].toString()];
      const a = JSON.stringify(want), b = JSON.stringify(k.found);
      if (a !== b) diffs.push(`${label} look-up of alias ${JSON.stringify(k.text)} (${k.key}) in ${k.contract}: chain ${a}, db ${b}`);
    });
    notes.push(`${label}: ${keys.length} alias look-ups`);
    for (const d of diffs.slice(0, 40)) console.error(d);
    if (diffs.length > 40) console.error(`... ${diffs.length - 40} more`);
    bad += diffs.length;
    notes.push(`${label}: ${licenses} licenses, ${signers} signers`);
  }
  console.log(notes.join('; '));
  process.exit(bad ? 1 : 0);
}

main().catch((e) => { console.error(e.stack || e.message); process.exit(2); });
