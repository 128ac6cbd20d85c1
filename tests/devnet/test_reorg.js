#!/usr/bin/env node
'use strict';
// Devnet test 3: reorg.js replaces the last K blocks. After the fixed
// scenario, four known license transactions fill the last four blocks
// (enableSigner, lock, setLicenseAlias on an app license; a node stake).
// Then reorg.js --depth 4 must: keep the head height and the base block,
// change every hash at the reorged heights, drop those four transactions
// (no receipts, their effects gone from the view state, which equals the
// base block's state again for every old license), and apply its own
// replacement transactions (a new license with alias, signer, stake and URI).

const path = require('path');
const { runTest, runScript, assert } = require('./lib/harness');
const { compile } = require('./compile');
const { openDevnet } = require('./lib/network');
const { readState } = require('./lib/state');
const { qty } = require('./lib/abi');

const DEPTH = 4;
const E18 = 10n ** 18n;

function stable(lic) {
  const signers = {};
  for (const [k, v] of Object.entries(lic.signers)) signers[k] = { enabled_at: v.enabled_at, expiration: v.expiration };
  return JSON.stringify({ ...lic, signers });
}

runTest('test_reorg', async (ctx) => {
  compile({ quiet: true });
  const url = ctx.startAnvil();
  const netFile = path.join(ctx.dir, 'network.json');
  await runScript('deploy.js', ['--rpc', url, '--out', netFile, '--quiet']);
  await runScript('scenario.js', ['--rpc', url, '--network', netFile]);
  const d = openDevnet(url, netFile);
  const rpc = d.rpc;
  const app = d.apps[0];

  // Four known transactions, one block each.
  const st0 = await readState(rpc, d.net);
  const lic = st0.app_licenses[0].licenses.find((l) => !l.revoked && !l.frozen);
  const id = BigInt(lic.token_id);
  const signer = '0x' + 'ab'.repeat(20);
  const nodeUser = d.accounts[6];
  const tail = [
    await app.send(lic.owner, 'enableSigner', [id, signer]),
    await app.send(lic.owner, 'lock', [id, 777n * E18]),
    await app.send(lic.owner, 'setLicenseAlias', [id, 'pre-reorg-alias']),
    // (a stake is at least the contract's minimum, as Stake.sol requires)
    await d.node.send(nodeUser, 'stake', [(await d.node.call('minimumStake', [])) + 1234n * E18]),
  ];
  assert(tail.every((r) => r.status === '0x1'), 'tail transactions failed');
  const head = Number(BigInt(await rpc.call('eth_blockNumber', [])));
  const base = head - DEPTH;
  assert(tail.map((r) => Number(BigInt(r.blockNumber))).join() === [base + 1, base + 2, base + 3, base + 4].join(), 'tail not in the last 4 blocks');
  const before = await readState(rpc, d.net, head);
  const atBase = await readState(rpc, d.net, base);
  const bl = before.app_licenses[0].licenses.find((l) => l.token_id === lic.token_id);
  assert(bl.signers[signer] && bl.signers[signer].is_signer && bl.alias === 'pre-reorg-alias', 'tail effects missing before the reorg');
  const oldHashes = {};
  for (let n = base; n <= head; n++) oldHashes[n] = (await rpc.call('eth_getBlockByNumber', [qty(n), false])).hash;

  const out = JSON.parse((await runScript('reorg.js', ['--rpc', url, '--network', netFile, '--depth', String(DEPTH), '--seed', '7'])).stdout);

  // Heights and hashes.
  assert(out.head === head && out.base_block === base, `reorg reported head ${out.head} base ${out.base_block}`);
  assert(Number(BigInt(await rpc.call('eth_blockNumber', []))) === head, 'head height changed');
  assert((await rpc.call('eth_getBlockByNumber', [qty(base), false])).hash === oldHashes[base], 'base block changed');
  assert(out.replaced.length === DEPTH, 'replaced count');
  for (const r of out.replaced) {
    const now = await rpc.call('eth_getBlockByNumber', [qty(r.number), false]);
    assert(r.old_hash === oldHashes[r.number], `old hash of ${r.number} misreported`);
    assert(now.hash === r.new_hash && now.hash !== oldHashes[r.number], `block ${r.number} not replaced`);
  }
  const first = await rpc.call('eth_getBlockByNumber', [qty(base + 1), false]);
  assert(first.parentHash === oldHashes[base], 'new branch does not start at the base block');

  // The replaced transactions are gone, with their effects.
  for (const r of tail) {
    assert(out.removed_txs.includes(r.transactionHash), `removed_txs lacks ${r.transactionHash}`);
    assert(await rpc.call('eth_getTransactionReceipt', [r.transactionHash]) === null, `receipt of ${r.transactionHash} survived`);
  }
  const after = await readState(rpc, d.net, head);
  const al = after.app_licenses[0].licenses.find((l) => l.token_id === lic.token_id);
  assert(!(signer in al.signers), 'reorged-out signer still listed');
  assert(al.alias === lic.alias && al.staked === lic.staked, `alias/stake not restored: ${al.alias} ${al.staked}`);
  assert(after.manufacturer_licenses[0].stakes[nodeUser].staked === atBase.manufacturer_licenses[0].stakes[nodeUser].staked, 'node stake not restored');
  assert(JSON.stringify(after) !== JSON.stringify(before), 'state did not change');
  for (const [i, a] of atBase.app_licenses.entries()) {
    for (const l of a.licenses) {
      const x = after.app_licenses[i].licenses.find((y) => y.token_id === l.token_id);
      assert(x && stable(x) === stable(l), `license ${a.contract}#${l.token_id} differs from the base block's state`);
    }
  }
  const logs = await rpc.call('eth_getLogs', [{ fromBlock: qty(base + 1), toBlock: qty(head) }]);
  assert(!logs.some((l) => tail.some((r) => r.transactionHash === l.transactionHash)), 'logs of removed transactions remain');

  // The replacement transactions took effect.
  assert(out.new_txs.length === DEPTH && out.new_txs.every((t) => t.status === '0x1'), 'replacement txs');
  const nl = after.app_licenses[0].licenses.find((l) => l.token_id === out.new_license.token_id);
  assert(nl && nl.owner === out.new_license.owner && nl.alias === out.new_license.alias, 'new license missing');
  assert(!before.app_licenses[0].licenses.some((l) => l.token_id === out.new_license.token_id), 'new license existed before');
  assert(Object.keys(nl.signers).length === 1 && nl.staked === (2n * E18).toString() && Object.keys(nl.redirect_uris).length === 1,
    `new license effects: ${JSON.stringify(nl)}`);
  const newLogs = logs.filter((l) => out.new_txs.some((t) => t.hash === l.transactionHash)).length;
  rpc.close();
  return `depth ${DEPTH} at blocks ${base + 1}..${head}: hashes replaced, ${tail.length} transactions and their effects gone, ` +
    `${out.new_txs.length} replacement transactions (${newLogs} logs) applied`;
});
