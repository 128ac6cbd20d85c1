#!/usr/bin/env node
'use strict';
// Reorg helper: replaces the last K blocks (anvil_reorg) with K blocks that
// carry different license transactions.
//
//   node tests/devnet/reorg.js --rpc URL --network FILE --depth K [--seed N] [--account I]
//
// The new branch (same head height, new hashes) holds one transaction per
// block, signed by dev account I (default 9) with eth_signTransaction:
//   block base+1: issueInDimo("reorg-<tag>") on the first app_license contract
//                 (a license that did not exist on the old branch);
//   block base+k: cycling through enableSigner(new license, fresh signer),
//                 lock(new license, k DIMO), setRedirectUri(new license, on, uri).
// Everything the old blocks did is gone (their transactions are not re-queued).
// Prints JSON: {depth, base_block, head, replaced: [{number, old_hash, new_hash}],
//   removed_txs, new_txs: [{hash, block, action}], new_license: {...}}.

const { openDevnet } = require('./lib/network');
const { qty } = require('./lib/abi');
const { waitReceipt } = require('./lib/chain');
const { makeRng } = require('./scenario');

function parseArgs(argv) {
  const o = { seed: Date.now() % 1000000, account: 9 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--rpc') o.rpc = argv[++i];
    else if (a === '--network') o.network = argv[++i];
    else if (a === '--depth') o.depth = Number(argv[++i]);
    else if (a === '--seed') o.seed = Number(argv[++i]);
    else if (a === '--account') o.account = Number(argv[++i]);
    else throw new Error(`unknown argument ${a}`);
  }
  if (!o.rpc || !o.network || !(o.depth >= 1)) throw new Error('usage: reorg.js --rpc URL --network FILE --depth K [--seed N]');
  return o;
}

async function reorg({ rpc: rpcUrl, network, depth, seed = 1, account = 9 }) {
  const d = openDevnet(rpcUrl, network);
  const rpc = d.rpc;
  const app = d.apps[0];
  const rng = makeRng(seed);
  const head = Number(BigInt(await rpc.call('eth_blockNumber', [])));
  const base = head - depth;
  const minBase = Number(d.net['x-funded-block'] || app.startBlock);
  if (base < minBase) {
    throw new Error(`depth ${depth} reaches below block ${minBase} (contracts deployed and funded); head is ${head}`);
  }
  const sender = d.accounts[account];
  if (!sender) throw new Error(`no dev account ${account}`);

  const old = [];
  const removed = [];
  for (let n = base + 1; n <= head; n++) {
    const b = await rpc.call('eth_getBlockByNumber', [qty(n), false]);
    old.push({ number: n, hash: b.hash });
    removed.push(...b.transactions);
  }

  const lastId = await app.call('lastTokenId', [], { blockTag: base });
  const newId = lastId + 1n;
  const tag = `${seed.toString(36)}-${base}`;
  const alias = `reorg-${tag}`.slice(0, 32);
  let nonce = BigInt(await rpc.call('eth_getTransactionCount', [sender, qty(base)]));
  const plan = [];
  plan.push({ action: `issueInDimo("${alias}") -> token ${newId}`, data: app.encode('issueInDimo', [alias]), gas: 600000 });
  for (let k = 1; k < depth; k++) {
    const kind = (k - 1) % 3;
    if (kind === 0) {
      const signer = rng.address();
      plan.push({ action: `enableSigner(${newId}, ${signer})`, data: app.encode('enableSigner', [newId, signer]), gas: 200000 });
    } else if (kind === 1) {
      const amount = BigInt(k) * 10n ** 18n;
      plan.push({ action: `lock(${newId}, ${amount})`, data: app.encode('lock', [newId, amount]), gas: 200000 });
    } else {
      const uri = `https://reorg.example/${tag}/${k}`;
      plan.push({ action: `setRedirectUri(${newId}, true, ${uri})`, data: app.encode('setRedirectUri', [newId, true, uri]), gas: 200000 });
    }
  }
  const pairs = [];
  for (let k = 0; k < plan.length; k++) {
    const raw = await rpc.call('eth_signTransaction', [{
      from: sender, to: app.address, data: plan[k].data, gas: qty(plan[k].gas), nonce: qty(nonce),
      maxFeePerGas: qty(1000n * 10n ** 9n), maxPriorityFeePerGas: qty(1), chainId: qty(137), type: '0x2',
    }]);
    nonce += 1n;
    pairs.push([raw, k]);
  }
  await rpc.call('anvil_reorg', [depth, pairs]);

  const newHead = Number(BigInt(await rpc.call('eth_blockNumber', [])));
  const replaced = [];
  const newTxs = [];
  for (const o of old) {
    const b = await rpc.call('eth_getBlockByNumber', [qty(o.number), false]);
    replaced.push({ number: o.number, old_hash: o.hash, new_hash: b.hash });
    for (const h of b.transactions) {
      const r = await waitReceipt(rpc, h);
      newTxs.push({ hash: h, block: o.number, status: r.status, logs: r.logs.length });
    }
  }
  newTxs.forEach((t, i) => { t.action = plan[i] ? plan[i].action : null; });
  if (newHead !== head) throw new Error(`head moved from ${head} to ${newHead}`);
  const unchanged = replaced.filter((r) => r.old_hash === r.new_hash);
  if (unchanged.length) throw new Error(`blocks not replaced: ${unchanged.map((r) => r.number).join(', ')}`);
  const failed = newTxs.filter((t) => t.status !== '0x1');
  if (newTxs.length !== plan.length || failed.length) {
    throw new Error(`replacement transactions: ${newTxs.length}/${plan.length} mined, ${failed.length} failed`);
  }
  rpc.close();
  return {
    depth, base_block: base, head,
    replaced,
    removed_txs: removed,
    new_txs: newTxs,
    new_license: { contract: app.address, token_id: newId.toString(), owner: sender, alias },
  };
}

module.exports = { reorg };

if (require.main === module) {
  let o;
  try { o = parseArgs(process.argv.slice(2)); } catch (e) { console.error(e.message); process.exit(2); }
  reorg(o).then((r) => console.log(JSON.stringify(r, null, 1)))
    .catch((e) => { console.error(`reorg: ${e.stack || e.message}`); process.exit(1); });
}
