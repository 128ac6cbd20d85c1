#!/usr/bin/env node
'use strict';
// Prints the devnet's license state at a block as JSON (see lib/state.js).
//   node tests/devnet/state.js --rpc URL --network FILE [--block N]

const { readState } = require('./lib/state');

function parseArgs(argv) {
  const o = { block: 'latest' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--rpc') o.rpc = argv[++i];
    else if (a === '--network') o.network = argv[++i];
    else if (a === '--block') { const v = argv[++i]; o.block = /^\d+$/.test(v) ? Number(v) : v; }
    else throw new Error(`unknown argument ${a}`);
  }
  if (!o.rpc || !o.network) throw new Error('usage: state.js --rpc URL --network FILE [--block N]');
  return o;
}

if (require.main === module) {
  let o;
  try { o = parseArgs(process.argv.slice(2)); } catch (e) { console.error(e.message); process.exit(2); }
  readState(o.rpc, o.network, o.block)
    .then((st) => { process.stdout.write(JSON.stringify(st, null, 1) + '\n'); })
    .catch((e) => { console.error(`state: ${e.stack || e.message}`); process.exit(1); });
}
