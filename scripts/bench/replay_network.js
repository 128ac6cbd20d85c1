#!/usr/bin/env node
'use strict';
// replay_network.js: the network file the replay server (replay_server.js)
// is indexed with: polygon.json's contracts, each from block 1 (the replay
// chain starts there), no confirmations, under another name.
//
//   node scripts/bench/replay_network.js NAME OUT_FILE [POLYGON_JSON]

const fs = require('fs');
const path = require('path');

const [name, out, src = path.join(__dirname, '..', '..', 'abi', 'networks', 'polygon.json')] =
  process.argv.slice(2);
if (!name || !out) {
  console.error('usage: replay_network.js NAME OUT_FILE [POLYGON_JSON]');
  process.exit(2);
}
const n = JSON.parse(fs.readFileSync(src, 'utf8'));
n.name = name;
n.confirmations = 0;
for (const c of n.contracts) c.start_block = 1;
fs.writeFileSync(out, JSON.stringify(n, null, 2));
