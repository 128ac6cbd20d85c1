#!/usr/bin/env node
'use strict';
// Makes one opt-in that is certainly allowed at the head, whatever a random
// scenario did before: a new app license (active, not frozen even where
// the scenario froze its id ahead of the issue, staked at
// its class's requirement in the network file: the devnet's seed rule
// makes a license below it understaked), a new
// vehicle, and its owner's SACD grant of permissions 0 and 1 to the
// license's client id, never expiring. Tests that require every access
// reason to occur (test_access_scenario.sh) run it so that "allowed" does
// not depend on the random draw or on how far block time ran ahead.
//
//   node tests/devnet/grant_allowed.js --rpc URL --network FILE

const { openDevnet } = require('./lib/network');

function parseArgs(argv) {
  const o = {};
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--rpc') o.rpc = argv[++i];
    else if (argv[i] === '--network') o.network = argv[++i];
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (!o.rpc || !o.network) throw new Error('usage: grant_allowed.js --rpc URL --network FILE');
  return o;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const d = openDevnet(o.rpc, o.network);
  const app = d.apps[0];
  const holder = d.accounts[7];
  const owner = d.accounts[8];
  const ok = (r, what) => {
    if (r.status !== '0x1') throw new Error(`${what} failed (tx ${r.transactionHash})`);
    return r;
  };
  const issued = ok(await app.send(holder, 'issueInDimo', [''], { gas: 600000 }), 'issue');
  const ev = issued.logs.map((l) => app.decodeLog(l)).find((e) => e && e.name === 'Issued');
  if (!ev) throw new Error('no Issued log');
  const tokenId = BigInt(ev.args.tokenId);
  const clientId = ev.args.clientId;
  // A random scenario may have frozen this id before it was issued
  // (adminFreeze takes any id, and the freeze holds from the issue on):
  // lift it, or the license answers license_suspended.
  let lifted = '';
  if (await app.call('frozen', [tokenId])) {
    ok(await app.send(d.admin, 'adminFreeze', [tokenId, false], { gas: 100000 }), 'unfreeze');
    lifted = ' (its freeze from before the issue lifted)';
  }
  // Stake the requirement (the holder's DIMO, topped up by the admin).
  const req = (d.net.requirements || {}).app;
  const need = req ? BigInt(req.stake) : 0n;
  if (need > 0n) {
    const have = BigInt(await d.token.call('balanceOf', [holder]));
    if (have < need) ok(await d.token.send(d.admin, 'transfer', [holder, need - have], { gas: 100000 }), 'top-up');
    ok(await app.send(holder, 'lock', [tokenId, need], { gas: 200000 }), 'lock');
  }
  ok(await d.vehicle.send(d.admin, 'mint', [owner], { gas: 200000 }), 'vehicle mint');
  const vehicleId = BigInt(await d.vehicle.call('lastTokenId'));
  const forever = (1n << 256n) - 1n;
  ok(await d.sacd.send(owner, 'setPermissions', [d.vehicle.address, vehicleId, clientId, 0b1111n, forever,
    'granted by grant_allowed.js'], { gas: 300000 }), 'grant');
  console.log(`license ${tokenId}${lifted} (client id ${clientId}) may read permissions 0 and 1 of vehicle ${vehicleId}`);
  d.rpc.close();
}

main().catch((e) => {
  console.error(`grant_allowed: ${e.stack || e.message}`);
  process.exit(1);
});
