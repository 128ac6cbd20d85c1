#!/usr/bin/env node
'use strict';
// The 2024 license contract followed live (test_license_2024.sh runs
// `dimo-indexer run` on a devnet deployed with --license-2024):
//   - its activity (tests/devnet/license_2024.js) is indexed as app
//     licenses: each license's document (GET /v1/apps/{client id}, now and
//     ?at_block= at every step of the activity) equals the contract's own
//     views (owner or revoked, stake, freeze, alias, client id, contract,
//     class), and so do its parameters (periodValidity, licenseCost,
//     minimumStake) at each of those blocks;
//   - the indexed UpdateLicenseCost / UpdatePeriodValidity: the value is in
//     topics[1] (data empty) and the stored parameter equals it;
//   - nothing lost: every log the contract emitted is stored and decoded,
//     and every Deposit / Withdraw / AssetForfeit is one stake movement;
//   - a reorg across its events (a deposit and an UpdateMinimumStake)
//     leaves the index equal to the views again.
//   node license_2024_check.js --base URL --network FILE --db CONNINFO --rpc URL

const { execFileSync } = require('child_process');
const c = require('./api_client');
const { Rpc } = require('../devnet/lib/rpc');
const { Contract, sendMany, lower } = require('../devnet/lib/chain');
const { readNetwork } = require('../devnet/lib/network');
const { activity, readState2024 } = require('../devnet/license_2024');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const { base, network, db, rpc: rpcUrl } = args;
const { step, ok, deepEq: eq, checks } = c.counted();
const psql = (sql) => execFileSync('psql', [db, '-v', 'ON_ERROR_STOP=1', '-qAt', '-c', sql], { encoding: 'utf8' }).trim();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const E18 = 10n ** 18n;

async function caughtUp(what) {
  for (let i = 0; i < 600; i++) {
    const head = await c.rpc(rpcUrl, 'eth_getBlockByNumber', ['latest', false]);
    const got = psql(`SELECT '0x' || encode(c.last_hash, 'hex') || ' ' || least(c.last_block, m.block_number)
      FROM cursors c JOIN model_cursor m ON m.chain_id = c.chain_id`);
    if (got === `${head.hash} ${parseInt(head.number, 16)}`) return parseInt(head.number, 16);
    await sleep(100);
  }
  throw new Error(`${what}: the index did not follow the chain head`);
}

/** The views at block bn against the API's documents and the stored parameters. */
async function compareAt(rpc, net, bn, head, what) {
  const st = await readState2024(rpc, net, bn);
  const hex = st.contract.slice(2);
  const param = (p) => psql(`SELECT dimo_contract_param(137, '\\x${hex}', '${p}', ${bn})`);
  eq(param('period_validity'), st.period_validity, `${what}: periodValidity`);
  eq(param('license_cost'), st.license_cost, `${what}: licenseCost`);
  // No event reports the constructor's minimum (1 DIMO): before the first
  // UpdateMinimumStake the index has none.
  const min = psql(`SELECT coalesce((SELECT e.value::text FROM parameter_events e WHERE e.chain_id = 137
    AND e.contract = '\\x${hex}' AND e.parameter = 'minimum_stake' AND e.block_number <= ${bn}
    ORDER BY e.block_number DESC, e.log_index DESC LIMIT 1), 'none')`);
  eq(min === 'none' ? (1n * E18).toString() : min, st.minimum_stake, `${what}: minimumStake`);
  if (bn === head) {
    eq(psql(`SELECT minimum_stake FROM contract_parameters WHERE contract = '\\x${hex}'`), st.minimum_stake,
      `${what}: contract_parameters.minimum_stake`);
  }
  for (const l of st.licenses) {
    const q = bn === head ? '' : `?at_block=${bn}`;
    const r = await c.get(base, `/v1/apps/${l.client_id}${q}`);
    eq(r.status, 200, `${what}: GET /v1/apps/${l.client_id}${q} (${r.text.slice(0, 200)})`);
    const d = r.json || {};
    eq({ class: d.class, contract: d.contract, token_id: d.token_id, client_id: d.client_id, owner: d.revoked ? null : d.owner,
      revoked: d.revoked !== null && d.revoked !== undefined, staked: d.staked, frozen: d.frozen, alias: d.alias },
    { class: 'app', contract: st.contract, token_id: l.token_id, client_id: l.client_id, owner: l.owner, revoked: l.owner === null,
      staked: l.staked, frozen: l.frozen, alias: l.alias }, `${what}: license ${l.token_id}`);
  }
  return st;
}

async function main() {
  const rpc = new Rpc(rpcUrl);
  const net = readNetwork(network);
  const e = net.contracts.find((x) => x['x-contract'] === 'DevLicenseDimo2024');
  const hex = lower(e.address).slice(2);

  step('activity, followed live');
  const act = await activity(rpc, net);
  let head = await caughtUp('after the activity');
  for (const bn of [e.start_block, ...act.blocks]) await compareAt(rpc, net, bn, head, `block ${bn}`);

  step('indexed Update* values come from topics[1]');
  const rows = psql(`SELECT l.event, encode(l.topic1, 'hex'), octet_length(l.data), l.args ->> (CASE WHEN l.event LIKE 'UpdateLicenseCost%'
      THEN 'licenseCost' ELSE 'periodValidity' END), p.value
    FROM logs l LEFT JOIN parameter_events p ON p.chain_id = l.chain_id AND p.block_number = l.block_number AND p.log_index = l.log_index
    WHERE l.address = '\\x${hex}' AND l.event IN ('UpdateLicenseCost(uint256)', 'UpdatePeriodValidity(uint256)')
    ORDER BY l.block_number, l.log_index`).split('\n').filter(Boolean).map((r) => r.split('|'));
  eq(rows.length, 3, 'three indexed Update* logs');
  for (const [ev, topic1, dataLen, arg, value] of rows) {
    eq([dataLen, arg, value], ['0', BigInt('0x' + topic1).toString(), BigInt('0x' + topic1).toString()],
      `${ev}: value from topics[1], stored as the parameter`);
  }

  step('nothing lost');
  const chainLogs = await rpc.call('eth_getLogs', [{ address: e.address, fromBlock: '0x0', toBlock: 'latest' }]);
  eq(psql(`SELECT count(*) FROM logs WHERE address = '\\x${hex}'`), String(chainLogs.length), 'every log of the contract is stored');
  eq(psql(`SELECT count(*) FROM logs WHERE address = '\\x${hex}' AND event IS NULL`), '0', 'every log is decoded');
  const lic = new Contract(rpc, 'DevLicenseDimo2024', e.address);
  const moves = chainLogs.filter((l) => ['Deposit', 'Withdraw', 'AssetForfeit'].includes((lic.decodeLog(l) || {}).name)).length;
  eq(psql(`SELECT count(*) FROM stake_movements WHERE contract = '\\x${hex}'`), String(moves), 'one stake movement per Deposit/Withdraw/AssetForfeit');
  eq(psql(`SELECT count(*) FROM stake_movements WHERE contract = '\\x${hex}' AND owner IS NULL`), '0', 'every movement knows the owner');
  const kinds = new Set(chainLogs.map((l) => (lic.decodeLog(l) || {}).signature));
  for (const ev of lic.events) {
    const sig = `${ev.ev.name}(${ev.ev.inputs.map((i) => i.type).join(',')})`;
    ok(kinds.has(sig), `the activity emitted ${sig}`);
  }

  step('a reorg across a Deposit and an UpdateMinimumStake');
  const admin = lower(net['x-admin']);
  const owner3 = (await readState2024(rpc, net)).licenses.find((l) => l.token_id === '3').owner;
  const rs = await sendMany(rpc, [lic.txReq(owner3, 'lock', [3n, 150n * E18], { gas: 400000 }),
    lic.txReq(admin, 'setMinimumStake', [150n * E18], { gas: 400000 })]);
  ok(rs.every((r) => r.status === '0x1'), 'deposit and setMinimumStake mined');
  head = await caughtUp('after the deposit');
  let st = await compareAt(rpc, net, head, head, 'with the deposit');
  eq(st.licenses.find((l) => l.token_id === '3').staked, (150n * E18).toString(), 'the deposit is in the views');
  await c.rpc(rpcUrl, 'anvil_reorg', [1, []]);
  head = await caughtUp('after the reorg');
  st = await compareAt(rpc, net, head, head, 'after the reorg');
  eq(st.licenses.find((l) => l.token_id === '3').staked, '0', 'the deposit is gone from the views');
  eq(psql(`SELECT count(*) FROM stake_movements WHERE contract = '\\x${hex}' AND token_id = 3`), '0', 'no movement of license 3 left');
  for (const bn of act.blocks.slice(-2)) await compareAt(rpc, net, bn, head, `block ${bn} after the reorg`);
  rpc.close();
  return `${checks()} checks, ${act.blocks.length} activity blocks`;
}

main().then((s) => console.log(`license 2024: ok (${s})`)).catch((err) => {
  console.error(`license 2024: ${err.stack || err.message}`);
  process.exit(1);
});
