#!/usr/bin/env node
'use strict';
// Prints every derived row of the license model (history and current
// tables) as sorted text lines: two databases that indexed the same
// canonical chain must print the same thing, however they got there
// (one sync, several, or a live run through reorgs and rollbacks).
//
//   node model_dump.js --db CONNINFO > FILE

const { execFileSync } = require('child_process');

const i = process.argv.indexOf('--db');
if (i < 0 || !process.argv[i + 1]) {
  console.error('usage: model_dump.js --db CONNINFO');
  process.exit(2);
}
const db = process.argv[i + 1];

const queries = [
  `SELECT 'own', chain_id, block_number, log_index, encode(tx_hash, 'hex'), extract(epoch FROM block_time),
     encode(contract, 'hex'), role, token_id, kind, encode(owner, 'hex'), encode(previous_owner, 'hex'),
     encode(client_id, 'hex') FROM ownership_events`,
  `SELECT 'ali', chain_id, block_number, log_index, encode(contract, 'hex'), token_id, source,
     encode(alias_key, 'hex'), alias, encode(alias_raw, 'hex') FROM alias_events`,
  `SELECT 'sig', chain_id, block_number, log_index, encode(contract, 'hex'), token_id, encode(signer, 'hex'),
     enabled, extract(epoch FROM block_time) FROM signer_events`,
  `SELECT 'uri', chain_id, block_number, log_index, encode(contract, 'hex'), token_id, uri,
     encode(uri_key, 'hex'), enabled FROM redirect_uri_events`,
  `SELECT 'stk', chain_id, block_number, log_index, encode(tx_hash, 'hex'), encode(contract, 'hex'), token_id,
     encode(holder, 'hex'), kind, amount, delta, balance_after, encode(from_address, 'hex'),
     encode(to_address, 'hex'), encode(owner, 'hex') FROM stake_movements`,
  `SELECT 'frz', chain_id, block_number, log_index, encode(contract, 'hex'), token_id, frozen, amount FROM freeze_events`,
  `SELECT 'par', chain_id, block_number, log_index, encode(contract, 'hex'), parameter, value FROM parameter_events`,
  `SELECT 'lic', chain_id, encode(contract, 'hex'), token_id, role, class, encode(owner, 'hex'),
     encode(client_id, 'hex'), alias, encode(alias_key, 'hex'), issued_block, issued_log_index, extract(epoch FROM issued_time),
     encode(issued_tx, 'hex'), revoked, revoked_block, encode(revoked_tx, 'hex'), frozen, staked FROM license_state`,
  `SELECT 'sgn', chain_id, encode(contract, 'hex'), token_id, encode(signer, 'hex'), extract(epoch FROM enabled_at),
     first_enabled_block, changed_block, changed_log_index FROM license_signers`,
  `SELECT 'rdu', chain_id, encode(contract, 'hex'), token_id, encode(uri_key, 'hex'), uri, enabled, changed_block
     FROM license_redirect_uris`,
  `SELECT 'nst', chain_id, encode(contract, 'hex'), encode(holder, 'hex'), staked, changed_block FROM node_stakes`,
  `SELECT 'vw', chain_id, encode(contract, 'hex'), token_id, status, staked, required_stake, trust_ratio FROM licenses`,
  // The documents as readers get them (the cache may be stale in one run
  // and built in the other: backfill batches defer it), and the number of
  // cached documents that differ from a fresh build at the cursor (0).
  `SELECT 'doc', chain_id, encode(contract, 'hex'), token_id, (dimo_license_doc(chain_id, contract, token_id) - 'finalized_block' - 'final')::text
     FROM license_state`,
  `SELECT 'dcache', count(*) FROM license_state s JOIN model_cursor m ON m.chain_id = s.chain_id
     WHERE s.doc IS NOT NULL AND (s.doc_expires IS NULL OR date_trunc('second', m.block_time) <= s.doc_expires)
       AND s.doc IS DISTINCT FROM (dimo_internal.doc_now(s.chain_id, s.contract, s.token_id, m.block_time)).doc`,
  `SELECT 'cur', chain_id, block_number, extract(epoch FROM block_time) FROM model_cursor`,
];
const out = execFileSync('psql', [db, '-v', 'ON_ERROR_STOP=1', '-qAt', '-c', queries.join(';\n')],
  { encoding: 'utf8', maxBuffer: 1024 * 1024 * 1024 });
process.stdout.write(out.split('\n').filter((l) => l !== '').sort().join('\n') + '\n');
