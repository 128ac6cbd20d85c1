'use strict';
// chain_counts.js: counts, straight from the node's eth_getLogs, the logs
// the indexer should have stored, per "role event-signature", as JSON.
//   node chain_counts.js --rpc URL --network FILE --to N
// The license contracts' logs whose topic0 (and topic count) an ABI in
// abi/ knows (or the indexer adds: Upgraded, BeaconUpgraded), and the DIMO token's Transfer logs out of license contracts.
const fs = require('fs');
const path = require('path');
const { Rpc } = require('../devnet/lib/rpc');
const { keccak256Hex } = require('../devnet/lib/keccak');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].slice(2)] = process.argv[i + 1];
const root = path.resolve(__dirname, '../..');
const net = JSON.parse(fs.readFileSync(args.network, 'utf8'));
const rpc = new Rpc(args.rpc);
const to = '0x' + Number(args.to).toString(16);

// ERC-1967's upgrade events, which the indexer adds to every contract's
// events at load when its ABI lacks them (README "Unknown events and
// upgrades"): the app license proxies log Upgraded, abi/DevLicenseDimo.json
// does not name it.
const ADDED = [
  { type: 'event', name: 'Upgraded', inputs: [{ type: 'address', indexed: true }] },
  { type: 'event', name: 'BeaconUpgraded', inputs: [{ type: 'address', indexed: true }] },
];

function events(abiFile) {
  const abi = JSON.parse(fs.readFileSync(path.join(root, 'abi', abiFile), 'utf8')).filter((e) => e.type === 'event');
  for (const a of ADDED) if (!abi.some((e) => e.name === a.name)) abi.push(a);
  return abi.map((e) => {
    const sig = `${e.name}(${e.inputs.map((i) => i.type).join(',')})`;
    const topic0 = keccak256Hex(Buffer.from(sig));
    return { sig, topic0, ntopics: 1 + e.inputs.filter((i) => i.indexed).length };
  });
}

(async () => {
  const counts = {};
  const licenses = net.contracts.filter((c) => c.role !== 'dimo_token');
  for (const c of net.contracts) {
    const evs = events(c.abi);
    const filter = { fromBlock: '0x' + (c.start_block || 0).toString(16), toBlock: to, address: c.address };
    if (c.role === 'dimo_token') {
      const t0 = evs.find((e) => e.ntopics === 3).topic0;
      filter.topics = [t0, licenses.map((l) => '0x' + '0'.repeat(24) + l.address.slice(2).toLowerCase())];
    }
    let logs = await rpc.call('eth_getLogs', [filter]);
    if (c.role === 'dimo_token') {
      // Also DIMO into a license contract (#25: the contracts' books); a
      // transfer between two of them is counted once.
      const into = net.contracts.filter((l) => l.class).map((l) => '0x' + '0'.repeat(24) + l.address.slice(2).toLowerCase());
      const seen = new Set(logs.map((l) => `${l.blockNumber}:${l.logIndex}`));
      const more = await rpc.call('eth_getLogs', [{ ...filter, topics: [filter.topics[0], null, into] }]);
      logs = logs.concat(more.filter((l) => !seen.has(`${l.blockNumber}:${l.logIndex}`)));
    }
    for (const log of logs) {
      const ev = evs.find((e) => e.topic0 === log.topics[0] && e.ntopics === log.topics.length);
      if (!ev) continue;
      const key = `${c.role} ${ev.sig}`;
      counts[key] = (counts[key] || 0) + 1;
    }
  }
  const sorted = {};
  for (const k of Object.keys(counts).sort()) sorted[k] = counts[k];
  console.log(JSON.stringify(sorted, null, 1));
  rpc.close && rpc.close();
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
