// manufacturer_admin.js: the manufacturer license contract's admin actions
// (the 2022 Stake: one immutable admin, no roles; issue #25), on a deployed
// devnet, and their record for accountability_check.js (--mfr).
//
// Account 6 stakes and is minted a license; the admin (the deployer)
// adjusts the minimum stake, unstakes part of it, withdraws stray DIMO
// sent by account 6 (emergencyWithdraw to account 9) and revokes the
// license; account 6's own adjustStakeAmount reverts and is no action.
//
// node manufacturer_admin.js --rpc URL --network FILE --out RECORD.json
'use strict';

const fs = require('fs');
const { openDevnet } = require('../devnet/lib/network');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].slice(2)] = process.argv[i + 1];
const E18 = 10n ** 18n;

(async () => {
  const d = openDevnet(args.rpc, args.network);
  const m = d.node;
  const admin = d.admin;
  const staker = d.accounts[6];
  const dest = d.accounts[9];
  const rec = { contract: m.address, admin, actions: [], reverted: [], blocks: [] };
  const block = (r) => Number(BigInt(r.blockNumber));
  const must = (r, what) => {
    if (r.status !== '0x1') throw new Error(`${what} reverted (tx ${r.transactionHash})`);
    rec.blocks.push(block(r));
    return r;
  };
  const action = (r, a) => rec.actions.push({ tx: r.transactionHash, block: block(r), by: admin, ...a });

  must(await m.send(staker, 'stake', [150000n * E18]), 'stake');
  must(await m.send(admin, 'mintLicense', [staker]), 'mintLicense');
  const id = await m.call('lastMintedId', []);
  action(must(await m.send(admin, 'adjustStakeAmount', [120000n * E18]), 'adjustStakeAmount'),
    { action: 'setting', amount: String(120000n * E18) });
  action(must(await m.send(admin, 'unstake', [staker, 10000n * E18]), 'unstake'),
    { action: 'unstake', amount: String(10000n * E18) });
  must(await d.token.send(staker, 'transfer', [m.address, 3n * E18]), 'stray transfer');
  action(must(await m.send(admin, 'emergencyWithdraw', [dest, 2n * E18]), 'emergencyWithdraw'),
    { action: 'emergency_withdrawal', amount: String(2n * E18) });
  action(must(await m.send(admin, 'revokeLicense', [id]), 'revokeLicense'),
    { action: 'revoke', token_id: String(id) });
  const bad = await m.send(staker, 'adjustStakeAmount', [1n], { gas: 100000 });
  if (bad.status !== '0x0') throw new Error('a non-admin adjustStakeAmount did not revert');
  rec.reverted.push({ tx: bad.transactionHash, block: block(bad) });
  fs.writeFileSync(args.out, JSON.stringify(rec, null, 1));
  console.log(`manufacturer admin: ${rec.actions.length} admin actions by ${admin}, 1 reverted`);
  if (d.rpc.close) d.rpc.close();
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
