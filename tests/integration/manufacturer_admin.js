// manufacturer_admin.js: the manufacturer license contract's admin actions
// (the 2022 Stake: AccessControl, every admin call onlyRole(DEFAULT_ADMIN_ROLE),
// as DIMO's contracts/Stake.sol; issue #25), on a deployed devnet, and their
// record for accountability_check.js (--mfr).
//
// Account 0 deployed the contract (it holds DEFAULT_ADMIN_ROLE from the
// constructor) and grants the role to S, a multisig-style forwarder owned
// by account 7 (the stand-in for DIMO's Safe, as the app license's
// scenario uses). Account 6 stakes; account 0 mints it a license and
// adjusts the minimum; the Safe unstakes part of the stake; account 0
// withdraws stray DIMO sent by account 6 (emergencyWithdraw to account 9);
// the Safe revokes the license. Account 6's own setNewMinStakeAmount and
// mint revert and are no actions. Each action's executor is recorded as the
// scenario made it (the deployer as the sender, the Safe as the called
// contract with its owner as `via`), and the accounts whose roles the check
// compares with the contract's hasRole at every recorded block.
//
// node manufacturer_admin.js --rpc URL --network FILE --out RECORD.json
'use strict';

const fs = require('fs');
const { openDevnet } = require('../devnet/lib/network');
const { deployContract } = require('../devnet/lib/chain');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].slice(2)] = process.argv[i + 1];
const E18 = 10n ** 18n;
const DEFAULT_ADMIN_ROLE = '0x' + '00'.repeat(32);

(async () => {
  const d = openDevnet(args.rpc, args.network);
  const m = d.node;
  const admin = d.admin;
  const staker = d.accounts[6];
  const owner = d.accounts[7];
  const dest = d.accounts[9];
  const S = (await deployContract(d.rpc, admin, 'DevnetForwarder', [[owner]])).contract;
  const viaS = (fn, a) => S.send(owner, 'forward', [m.address, Buffer.from(m.encode(fn, a).slice(2), 'hex')]);
  const rec = { contract: m.address, admin, safe: S.address, safeOwner: owner, actions: [], roles: [],
    reverted: [], blocks: [], accounts: [admin, S.address, staker, owner] };
  const block = (r) => Number(BigInt(r.blockNumber));
  const must = (r, what) => {
    if (r.status !== '0x1') throw new Error(`${what} reverted (tx ${r.transactionHash})`);
    rec.blocks.push(block(r));
    return r;
  };
  const direct = (r, a) => rec.actions.push({ tx: r.transactionHash, block: block(r), by: admin, via: null,
    attribution: 'sender', ...a });
  const bySafe = (r, a) => rec.actions.push({ tx: r.transactionHash, block: block(r), by: S.address, via: owner,
    attribution: 'called_contract', ...a });
  const bad = async (r, what) => {
    if (r.status !== '0x0') throw new Error(`${what} did not revert`);
    rec.reverted.push({ tx: r.transactionHash, block: block(r) });
  };

  let r = must(await m.send(admin, 'grantRole', [DEFAULT_ADMIN_ROLE, S.address]), 'grantRole');
  rec.roles.push({ tx: r.transactionHash, block: block(r), kind: 'granted', account: S.address, sender: admin });
  must(await m.send(staker, 'stake', [150000n * E18]), 'stake');
  await bad(await m.send(staker, 'mint', [staker], { gas: 200000 }), "the staker's own mint");
  r = must(await m.send(admin, 'mint', [staker]), 'mint');
  const id = await m.call('lastMintedId', []);
  direct(r, { action: 'mint', token_id: String(id) });
  direct(must(await m.send(admin, 'setNewMinStakeAmount', [120000n * E18]), 'setNewMinStakeAmount'),
    { action: 'setting', amount: String(120000n * E18) });
  bySafe(must(await viaS('unstake', [staker, 10000n * E18]), 'unstake through the Safe'),
    { action: 'unstake', amount: String(10000n * E18) });
  must(await d.token.send(staker, 'transfer', [m.address, 3n * E18]), 'stray transfer');
  direct(must(await m.send(admin, 'emergencyWithdraw', [dest, 2n * E18]), 'emergencyWithdraw'),
    { action: 'emergency_withdrawal', amount: String(2n * E18) });
  bySafe(must(await viaS('revoke', [id]), 'revoke through the Safe'), { action: 'revoke', token_id: String(id) });
  await bad(await m.send(staker, 'setNewMinStakeAmount', [1n], { gas: 100000 }), 'a non-admin setNewMinStakeAmount');
  fs.writeFileSync(args.out, JSON.stringify(rec, null, 1));
  const safe = rec.actions.filter((a) => a.attribution === 'called_contract').length;
  console.log(`manufacturer admin: ${rec.actions.length} admin actions (${safe} through the Safe ${S.address}), ` +
    `${rec.reverted.length} reverted`);
  if (d.rpc.close) d.rpc.close();
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
