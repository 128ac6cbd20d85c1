#!/usr/bin/env node
'use strict';
// Bulk event generator for benchmarks.
//
//   node tests/devnet/bulk.js --rpc URL --network FILE --events N --blocks M
//                             [--per-tx 2000] [--licenses 8] [--verify]
//
// Produces N real DevLicenseDimo events (SignerEnabled / SignerDisabled
// pairs, via the devnet-only bulk hook devnetBulkEmit on the first
// app_license contract) spread over exactly M new blocks: min(M, N) blocks
// carry events (split into transactions of up to --per-tx events), the
// others are empty blocks mined with anvil_mine in between. Requests go over
// one pipelined keep-alive HTTP connection; automine (or interval mining,
// anvil --block-time) is switched off during the run and every block is
// mined explicitly (evm_mine, anvil_mine), then the mining mode is restored.
// First it issues --licenses fresh licenses (one extra block before the run)
// for the events to refer to.
// Prints one JSON line: {events, blocks, from_block, to_block, txs, seconds, events_per_second}.

const { openDevnet } = require('./lib/network');
const { PipelinedRpc } = require('./lib/rpc');
const { sendMany } = require('./lib/chain');
const { qty } = require('./lib/abi');

const GAS_BASE = 50000;
const GAS_PER_EVENT = 1960; // measured 1,954 (LOG3 + loop)
// The app license is a proxy (DevnetUupsProxy): the call costs the proxy's
// own work (the implementation slot, the delegatecall) on top, and the
// delegatecall passes on at most 63/64 of the gas left (EIP-150), so the
// implementation's share is scaled by 64/63.
const GAS_PROXY = 10000;
const txGas = (n) => Math.ceil(((GAS_BASE + GAS_PER_EVENT * n) * 64) / 63) + GAS_PROXY;

function parseArgs(argv) {
  const o = { perTx: 2000, licenses: 8, verify: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--rpc') o.rpc = argv[++i];
    else if (a === '--network') o.network = argv[++i];
    else if (a === '--events') o.events = Number(argv[++i]);
    else if (a === '--blocks') o.blocks = Number(argv[++i]);
    else if (a === '--per-tx') o.perTx = Number(argv[++i]);
    else if (a === '--licenses') o.licenses = Number(argv[++i]);
    else if (a === '--verify') o.verify = true;
    else if (a === '--quiet') o.quiet = true;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!o.rpc || !o.network || !(o.events >= 1) || !(o.blocks >= 1)) {
    throw new Error('usage: bulk.js --rpc URL --network FILE --events N --blocks M [--per-tx 2000] [--licenses 8] [--verify]');
  }
  return o;
}

function plan(events, blocks, perBlockCap, perTx) {
  const eventBlocks = Math.min(blocks, events);
  const base = Math.floor(events / eventBlocks);
  const extra = events % eventBlocks;
  if (base + (extra ? 1 : 0) > perBlockCap) {
    throw new Error(`${events} events need at least ${Math.ceil(events / perBlockCap)} blocks ` +
      `(at most ${perBlockCap} events fit in one block); got --blocks ${blocks}`);
  }
  const empties = blocks - eventBlocks;
  const out = [];
  for (let i = 0; i < eventBlocks; i++) {
    const n = base + (i < extra ? 1 : 0);
    const txs = [];
    for (let left = n; left > 0; left -= perTx) txs.push(Math.min(perTx, left));
    const gap = Math.floor(empties / eventBlocks) + (i < empties % eventBlocks ? 1 : 0);
    out.push({ txs, gap });
  }
  return out;
}

async function bulk({ rpc: rpcUrl, network, events, blocks, perTx = 2000, licenses = 8, verify = false, quiet = false }) {
  const d = openDevnet(rpcUrl, network);
  const rpc = d.rpc;
  const app = d.apps[0];
  const admin = d.admin;

  // Fresh licenses for the events to refer to (contiguous ids, one block).
  const owners = d.accounts.slice(1);
  const txs = [];
  for (let i = 0; i < licenses; i++) txs.push(app.txReq(owners[i % owners.length], 'issueInDimo', [''], { gas: 600000 })); // the ERC-1271 account's code: ~430k
  const rs = await sendMany(rpc, txs);
  if (rs.some((r) => r.status !== '0x1')) throw new Error('bulk: issuing licenses failed');
  const lastId = await app.call('lastTokenId');
  const firstId = lastId - BigInt(licenses) + 1n;
  const emittedBefore = await app.call('bulkEmitted');

  const latest = await rpc.call('eth_getBlockByNumber', ['latest', false]);
  const gasLimit = Number(BigInt(latest.gasLimit));
  const perBlockCap = Math.floor((gasLimit * 0.95 * perTx) / txGas(perTx));
  if (txGas(perTx) > gasLimit * 0.95) throw new Error(`--per-tx ${perTx} does not fit in a block`);
  const p = plan(events, blocks, perBlockCap, perTx);
  const fromBlock = Number(BigInt(latest.number)) + 1;
  const halfGas = gasLimit / 2;

  const automine = await rpc.call('anvil_getAutomine', []);
  // Interval mining (anvil --block-time) would add blocks of its own: pause it.
  const interval = await rpc.call('anvil_getIntervalMining', []).catch(() => null);
  let nonce = BigInt(await rpc.call('eth_getTransactionCount', [admin, 'pending']));
  const pipe = new PipelinedRpc(rpcUrl, { window: 128 });
  await pipe.connect();
  const results = [];
  let txCount = 0;
  let salt = 0n;
  const t0 = process.hrtime.bigint();
  if (automine) await rpc.call('evm_setAutomine', [false]);
  if (interval) await rpc.call('evm_setIntervalMining', [0]);
  try {
    for (const blk of p) {
      let blockGas = 0;
      for (const n of blk.txs) {
        const gas = txGas(n);
        blockGas += gas;
        const data = app.encode('devnetBulkEmit', [firstId, BigInt(licenses), BigInt(n), salt]);
        salt += BigInt(n);
        const tx = {
          from: admin, to: app.address, data, gas: qty(gas), nonce: qty(nonce),
          maxFeePerGas: qty(1000n * 10n ** 9n), maxPriorityFeePerGas: qty(1),
        };
        nonce += 1n;
        txCount++;
        results.push((await pipe.enqueue('eth_sendTransaction', [tx])).done);
      }
      // Keep the base fee from climbing when blocks are more than half full.
      if (blockGas > halfGas) results.push((await pipe.enqueue('anvil_setNextBlockBaseFeePerGas', [qty(10n ** 9n)])).done);
      results.push((await pipe.enqueue('evm_mine', [])).done);
      if (blk.gap > 0) results.push((await pipe.enqueue('anvil_mine', [qty(blk.gap)])).done);
    }
    await Promise.all(results);
  } finally {
    pipe.close();
    if (automine) await rpc.call('evm_setAutomine', [true]);
    if (interval) await rpc.call('evm_setIntervalMining', [interval]);
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;

  const toBlock = Number(BigInt(await rpc.call('eth_blockNumber', [])));
  const emitted = (await app.call('bulkEmitted')) - emittedBefore;
  const pool = await rpc.call('txpool_status', []).catch(() => null);
  if (pool && (Number(BigInt(pool.pending)) || Number(BigInt(pool.queued)))) {
    throw new Error(`bulk: transactions left in the pool: ${JSON.stringify(pool)}`);
  }
  if (emitted !== BigInt(events)) throw new Error(`bulk: contract counted ${emitted} events, expected ${events}`);
  if (toBlock - fromBlock + 1 !== blocks) throw new Error(`bulk: produced ${toBlock - fromBlock + 1} blocks, expected ${blocks}`);

  let logCount = null;
  if (verify) {
    logCount = 0;
    for (let b = fromBlock; b <= toBlock; b += 20) {
      const logs = await rpc.call('eth_getLogs', [{ address: app.address, fromBlock: qty(b), toBlock: qty(Math.min(toBlock, b + 19)) }]);
      logCount += logs.length;
    }
    if (logCount !== events) throw new Error(`bulk: eth_getLogs found ${logCount} logs, expected ${events}`);
  }
  rpc.close();
  const res = {
    events, blocks, from_block: fromBlock, to_block: toBlock, txs: txCount, contract: app.address,
    token_ids: [firstId.toString(), lastId.toString()], seconds: Number(seconds.toFixed(3)),
    events_per_second: Math.round(events / seconds), verified_logs: logCount,
  };
  if (!quiet) {
    process.stderr.write(`bulk: ${events} events in ${blocks} blocks (#${fromBlock}..#${toBlock}), ${txCount} txs, ` +
      `${seconds.toFixed(2)} s, ${res.events_per_second} events/s\n`);
  }
  return res;
}

module.exports = { bulk, plan };

if (require.main === module) {
  let o;
  try { o = parseArgs(process.argv.slice(2)); } catch (e) { console.error(e.message); process.exit(2); }
  bulk(o).then((r) => console.log(JSON.stringify(r)))
    .catch((e) => { console.error(`bulk: ${e.stack || e.message}`); process.exit(1); });
}
