#!/usr/bin/env node
'use strict';
// Runs the accountability scenario (issue #25; tests/devnet/lib/accountability.js)
// on a deployed devnet and writes its oracle as JSON.
//
//   node tests/devnet/accountability.js --rpc URL --network FILE --out ORACLE.json

const fs = require('fs');
const { openDevnet } = require('./lib/network');
const { runAccountability } = require('./lib/accountability');

const a = {};
for (let i = 2; i < process.argv.length; i += 2) a[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
if (!a.rpc || !a.network || !a.out) {
  console.error('usage: accountability.js --rpc URL --network FILE --out ORACLE.json');
  process.exit(2);
}
(async () => {
  const d = openDevnet(a.rpc, a.network);
  const oracle = await runAccountability(d);
  fs.writeFileSync(a.out, JSON.stringify(oracle, (k, v) => (typeof v === 'bigint' ? v.toString() : v), 1));
  console.log(`accountability scenario: ${oracle.actions.length} admin actions, ${oracle.roles.length} role changes, ` +
    `${oracle.reverted.length} reverted, ${oracle.checkBlocks.length} check blocks`);
  if (d.rpc.close) d.rpc.close();
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
