#!/usr/bin/env node
'use strict';
// Runs steps of the SACD timeline (lib/sacd_upgrades.js) on a deployed devnet:
//
//   node tests/devnet/sacd_upgrades.js --rpc URL --network FILE --state FILE --step NAME [--step NAME]...
//
// Steps, in the order they make sense: templated, ops, deactivate,
// activate, renounce (or --step all). The state FILE (JSON, created when
// missing) carries vehicle, template and connection ids from step to step.
// Prints one line per step with the head block after it.

const fs = require('fs');
const { openDevnet } = require('./lib/network');
const { runSacdSteps, STEPS } = require('./lib/sacd_upgrades');

function parseArgs(argv) {
  const o = { steps: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--rpc') o.rpc = argv[++i];
    else if (a === '--network') o.network = argv[++i];
    else if (a === '--state') o.state = argv[++i];
    else if (a === '--step') o.steps.push(argv[++i]);
    else if (a === '--verbose') o.verbose = true;
    else throw new Error(`unknown argument ${a}`);
  }
  if (o.steps.includes('all')) o.steps = STEPS;
  if (!o.rpc || !o.network || !o.state || !o.steps.length) {
    throw new Error(`usage: sacd_upgrades.js --rpc URL --network FILE --state FILE --step NAME... (${STEPS.join(', ')}, all)`);
  }
  return o;
}

const big = (k, v) => (typeof v === 'bigint' ? `${v}n` : v);
const unbig = (k, v) => (typeof v === 'string' && /^\d+n$/.test(v) ? BigInt(v.slice(0, -1)) : v);

async function main(o) {
  const d = openDevnet(o.rpc, o.network);
  const state = fs.existsSync(o.state) ? JSON.parse(fs.readFileSync(o.state, 'utf8'), unbig) : {};
  try {
    for (const step of o.steps) {
      await runSacdSteps(d, [step], state, o.verbose ? (m) => process.stderr.write(m + '\n') : null);
      fs.writeFileSync(o.state, JSON.stringify(state, big, 1) + '\n');
      const head = Number(BigInt(await d.rpc.call('eth_blockNumber', [])));
      console.log(`sacd_upgrades: ${step} done, head ${head}`);
    }
  } finally {
    d.rpc.close();
  }
}

if (require.main === module) {
  let o;
  try { o = parseArgs(process.argv.slice(2)); } catch (e) { console.error(e.message); process.exit(2); }
  main(o).catch((e) => { console.error(`sacd_upgrades: ${e.stack || e.message}`); process.exit(1); });
}
