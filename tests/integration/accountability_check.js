// accountability_check.js: the index against the accountability scenario's
// oracle (tests/devnet/lib/accountability.js) and the contracts' own views
// (test_accountability.sh runs it).
//
// Checked, for the oracle's records at or below --keep (default: all):
//   - every admin action of the license contract (its proxy's Upgraded at
//     deployment and at the scenario's upgrade included): action, token, amount,
//     executor (`by`), `via`, attribution and gating role equal the
//     scenario's record, and there is no other; the reverted call of the
//     revoked admin left nothing; the two-level forwarding is unattributed;
//   - every role grant and revoke is in role_events with its sender; at
//     every check block and the head, each known account's roles as of that
//     block (dimo_role_holders) equal the contract's hasRole at that block;
//   - the books (dimo_license_books) at every check block and the head:
//     held = the token's balanceOf(contract), staked = totalStaked = the
//     sum of stakedBalance over the licenses; no forfeit mismatch;
//   - adminWithdraw is never a forfeit (no stake movement, no slash, in its
//     transaction).
//
//   - with --mfr (manufacturer_admin.js's record): the manufacturer license's
//     admin actions, each by its DEFAULT_ADMIN_ROLE holder (the sender, or
//     the Safe stand-in as the called contract), its role history against
//     hasRole, and its books against balanceOf, totalStaked and the sum of
//     stakedBalance.
//
// node accountability_check.js --db CONNINFO --rpc URL --network FILE --oracle FILE [--keep N] [--mfr FILE]
'use strict';

const fs = require('fs');
const { execFileSync } = require('child_process');
const c = require('./api_client');
const { openDevnet } = require('../devnet/lib/network');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].slice(2)] = process.argv[i + 1];
const { db, rpc, network, oracle: oracleFile } = args;
const { step, ok, deepEq: eq, checks } = c.counted();
const psql = (sql) => execFileSync('psql', [db, '-v', 'ON_ERROR_STOP=1', '-qAt', '-c', sql], { encoding: 'utf8' }).trim();
const json = (sql) => JSON.parse(psql(sql));

(async () => {
  const o = JSON.parse(fs.readFileSync(oracleFile, 'utf8'));
  const d = openDevnet(rpc, network);
  const chain = d.net.chain_id;
  const app = d.apps.find((a) => a.address === o.contract.toLowerCase());
  const head = parseInt(await c.rpc(rpc, 'eth_blockNumber', []), 16);
  const keep = args.keep !== undefined ? Number(args.keep) : head;
  const hexC = `'\\x${o.contract.slice(2).toLowerCase()}'::bytea`;

  step('admin actions');
  const want = o.actions.filter((a) => a.block <= keep).map((a) => ({
    tx: a.tx, action: a.action, token_id: a.token_id === undefined ? null : String(a.token_id),
    amount: a.amount === undefined ? null : String(a.amount), by: a.by, via: a.via,
    attribution: a.attribution, role: a.role,
  }));
  const got = json(`SELECT coalesce(jsonb_agg(jsonb_build_object('tx', dimo_hex(tx_hash), 'action', action,
      'token_id', token_id::text, 'amount', amount::text,
      'by', dimo_hex(by_address), 'via', dimo_hex(via), 'attribution', attribution,
      'role', dimo_role_name(gating_role)) ORDER BY block_number, log_index), '[]')
    FROM admin_actions WHERE chain_id = ${chain} AND contract = ${hexC}`);
  // A freeze's amount is the stake at that moment (the oracle does not track it).
  for (const g of got) if (g.action === 'freeze' || g.action === 'unfreeze') g.amount = null;
  for (const w of want) if (w.action === 'freeze' || w.action === 'unfreeze') w.amount = null;
  eq(got, want, 'admin actions equal the scenario\'s record');
  const unattributed = Number(psql(`SELECT count(*) FROM admin_actions WHERE chain_id = ${chain}
    AND contract = ${hexC} AND attribution = 'unattributed'`));
  eq(unattributed, want.filter((a) => a.attribution === 'unattributed').length, 'unattributed actions counted');
  // Elsewhere on the chain, the other app license proxies' Upgraded at
  // deployment (before any role existed) are their deployer's, and no
  // action is unattributed.
  const others = d.net.contracts.filter((x) => x.role === 'app_license' && x['x-implementation'] &&
    x.address.toLowerCase() !== o.contract.toLowerCase() && x.start_block <= keep);
  const deployers = [];
  for (const x of others) deployers.push((await c.rpc(rpc, 'eth_getTransactionByHash', [x['x-deploy-tx']])).from.toLowerCase());
  eq(json(`SELECT coalesce(jsonb_agg(jsonb_build_array(dimo_hex(tx_hash), action, dimo_role_name(gating_role),
        dimo_hex(by_address)) ORDER BY block_number, log_index), '[]') FROM admin_actions WHERE chain_id = ${chain}
      AND contract <> ${hexC} AND attribution = 'deployment'`),
    others.map((x, i) => [x['x-deploy-tx'], 'upgrade', 'UPGRADER_ROLE', deployers[i]]),
    'other proxies\' deployment upgrades: their deployer\'s');
  // Their initialize() (in the same transaction) logged Initialized: the
  // `initialize` action, gated by no role, its sender's.
  eq(json(`SELECT coalesce(jsonb_agg(jsonb_build_array(dimo_hex(tx_hash), attribution, dimo_role_name(gating_role),
        dimo_hex(by_address)) ORDER BY block_number, log_index), '[]') FROM admin_actions WHERE chain_id = ${chain}
      AND contract <> ${hexC} AND action = 'initialize'`),
    others.map((x, i) => [x['x-deploy-tx'], 'sender_only', null, deployers[i]]),
    'other proxies\' initialize: their deployer\'s, no role');
  eq(psql(`SELECT count(*) FROM admin_actions WHERE chain_id = ${chain} AND contract <> ${hexC}
      AND attribution = 'unattributed'`), '0', 'no other action unattributed');
  for (const r of o.reverted.filter((x) => x.block <= keep)) {
    const receipt = await c.rpc(rpc, 'eth_getTransactionReceipt', [r.tx]);
    eq(receipt.status, '0x0', `the revoked admin's call ${r.tx} reverted`);
    eq(psql(`SELECT count(*) FROM logs WHERE tx_hash = '\\x${r.tx.slice(2)}'`), '0', 'a reverted call has no logs');
    eq(psql(`SELECT count(*) FROM admin_actions WHERE tx_hash = '\\x${r.tx.slice(2)}'`), '0',
      'a reverted call is no action');
  }
  eq(psql(`SELECT count(*) FROM tx_senders t WHERE NOT EXISTS (SELECT 1 FROM admin_actions a
    WHERE a.chain_id = t.chain_id AND a.block_number = t.block_number AND a.tx_hash = t.tx_hash)`), '0',
  'every fetched sender explains an action');
  eq(psql(`SELECT count(*) FROM admin_actions WHERE attribution = 'not_fetched'`), '0', 'every sender fetched');

  let mfrWant = null;
  if (args.mfr) {
    // The manufacturer license (2022 Stake): AccessControl, every admin
    // call gated by DEFAULT_ADMIN_ROLE (DIMO's Stake.sol): its actions are
    // attributed like the app license's, to the deployer as the sender or
    // to the Safe stand-in as the called contract (`via` its owner), and
    // its role history is the contract's hasRole at every recorded block.
    step('manufacturer license: admin actions by DEFAULT_ADMIN_ROLE holders');
    const mr = JSON.parse(fs.readFileSync(args.mfr, 'utf8'));
    const hexM = `'\\x${mr.contract.slice(2).toLowerCase()}'::bytea`;
    const gotM = json(`SELECT coalesce(jsonb_agg(jsonb_build_object('tx', dimo_hex(tx_hash), 'action', action,
        'token_id', token_id::text, 'amount', amount::text, 'by', dimo_hex(by_address), 'via', dimo_hex(via),
        'attribution', attribution, 'role', dimo_role_name(gating_role), 'tx_from', dimo_hex(tx_from))
        ORDER BY block_number, log_index), '[]') FROM admin_actions WHERE chain_id = ${chain} AND contract = ${hexM}`);
    const wantM = [];
    for (const a of mr.actions) {
      const tx = await c.rpc(rpc, 'eth_getTransactionByHash', [a.tx]);
      wantM.push({ tx: a.tx, action: a.action, token_id: a.token_id || null, amount: a.amount || null,
        by: a.by.toLowerCase(), via: a.via && a.via.toLowerCase(), attribution: a.attribution,
        role: 'DEFAULT_ADMIN_ROLE', tx_from: tx.from.toLowerCase() });
    }
    eq(gotM, wantM, 'manufacturer admin actions: each by its DEFAULT_ADMIN_ROLE holder (the deployer, or the Safe via its owner)');
    for (const r of mr.roles) {
      eq(psql(`SELECT dimo_hex(sender) FROM role_events WHERE tx_hash = '\\x${r.tx.slice(2)}' AND kind = '${r.kind}'
        AND dimo_role_name(role) = 'DEFAULT_ADMIN_ROLE' AND account = '\\x${r.account.slice(2).toLowerCase()}'`),
      r.sender.toLowerCase(), `manufacturer: ${r.kind} DEFAULT_ADMIN_ROLE ${r.account} by ${r.sender}`);
    }
    for (const b of [...new Set(mr.blocks)]) {
      const doc = json(`SELECT dimo_role_holders(${chain}, ${hexM}, ${b})`);
      const held = doc.roles.filter((x) => x.held).map((x) => `${x.role} ${x.account}`).sort();
      const chainHeld = [];
      for (const a of mr.accounts) {
        if (await d.node.call('hasRole', ['0x' + '00'.repeat(32), a], { blockTag: b })) chainHeld.push(`DEFAULT_ADMIN_ROLE ${a.toLowerCase()}`);
      }
      eq(held, chainHeld.sort(), `manufacturer: roles held at block ${b} equal hasRole`);
    }
    for (const r of mr.reverted)
      eq(psql(`SELECT count(*) FROM admin_actions WHERE tx_hash = '\\x${r.tx.slice(2)}'`), '0', 'a reverted call is no action');
    for (const b of mr.blocks) {
      const bk = json(`SELECT dimo_license_books(${chain}, ${hexM}, ${b})`);
      eq(bk.held, String(await d.token.call('balanceOf', [mr.contract], { blockTag: b })), `manufacturer held at ${b} = balanceOf`);
      eq(bk.staked, String(await d.node.call('totalStaked', [], { blockTag: b })), `manufacturer staked at ${b} = totalStaked`);
      let sum = 0n;
      for (const u of await d.node.call('stakers', [], { blockTag: b })) sum += await d.node.call('stakedBalance', [u], { blockTag: b });
      eq(bk.staked, String(sum), `manufacturer staked at ${b} = sum of stakedBalance`);
    }
    const bkNow = json(`SELECT dimo_license_books(${chain}, ${hexM})`);
    eq(bkNow.by_kind.out_emergency_withdrawal, String(2n * 10n ** 18n), 'emergencyWithdraw in the manufacturer books');
    ok(BigInt(bkNow.by_kind.in_stray || 0) >= 3n * 10n ** 18n, 'the stray transfer in the manufacturer books');
    mfrWant = { contract: mr.contract, actions: wantM };
  }

  step('roles');
  for (const r of o.roles.filter((x) => x.block <= keep)) {
    eq(psql(`SELECT dimo_hex(sender) FROM role_events WHERE tx_hash = '\\x${r.tx.slice(2)}' AND kind = '${r.kind}'
      AND dimo_role_name(role) = '${r.role}' AND account = '\\x${r.account.slice(2)}'`), r.sender.toLowerCase(),
    `${r.kind} ${r.role} ${r.account} by ${r.sender}`);
  }
  const accounts = [...new Set([...o.accounts, o.forwarders.F, o.forwarders.G].map((a) => a.toLowerCase()))];
  const blocks = [...new Set([...o.checkBlocks.filter((b) => b <= keep), head])];
  for (const b of blocks) {
    const doc = json(`SELECT dimo_role_holders(${chain}, ${hexC}, ${b})`);
    eq(doc.as_of_block, b, `role holders as of ${b}`);
    const held = new Set(doc.roles.filter((x) => x.held).map((x) => `${x.role} ${x.account}`));
    const chainHeld = new Set();
    for (const [name, hash] of Object.entries(o.roleHashes)) {
      for (const a of accounts) {
        if (await app.call('hasRole', [hash, a], { blockTag: b })) chainHeld.add(`${name} ${a}`);
      }
    }
    eq([...held].sort(), [...chainHeld].sort(), `roles held at block ${b} equal hasRole`);
  }

  step('books');
  for (const b of blocks) {
    const books = json(`SELECT dimo_license_books(${chain}, ${hexC}, ${b})`);
    const balance = await d.token.call('balanceOf', [o.contract], { blockTag: b });
    const total = await app.call('totalStaked', [], { blockTag: b });
    let sum = 0n;
    for (const id of o.tokenIds) sum += await app.call('stakedBalance', [BigInt(id)], { blockTag: b });
    eq(books.held, balance.toString(), `held at ${b} = balanceOf`);
    eq(books.staked, total.toString(), `staked at ${b} = totalStaked`);
    eq(books.staked, sum.toString(), `staked at ${b} = sum of stakedBalance`);
    eq(BigInt(books.stray), balance - total, `stray at ${b}`);
    eq(books.forfeit_mismatches, 0, `no forfeit mismatch at ${b}`);
  }
  const withdrawals = o.actions.filter((a) => a.action === 'admin_withdraw' && a.block <= keep);
  const booksNow = json(`SELECT dimo_license_books(${chain}, ${hexC}, ${keep})`);
  eq(booksNow.admin_withdrawals.map((a) => a.tx_hash), withdrawals.map((a) => a.tx), 'every adminWithdraw in the books');
  for (const w of withdrawals) {
    const tx = `'\\x${w.tx.slice(2)}'`;
    eq(psql(`SELECT count(*) FROM stake_movements WHERE tx_hash = ${tx}`), '0', `adminWithdraw ${w.tx} moves no stake`);
    eq(psql(`SELECT count(*) FROM slashes WHERE tx_hash = ${tx}`), '0', `adminWithdraw ${w.tx} is no slash`);
  }
  if (args.base) {
    step('API: /v1/admin-actions, CSV, slashes and documents with `by`');
    const base = args.base;
    const getJson = async (path, status = 200) => {
      const r = await c.get(base, path);
      eq(r.status, status, `GET ${path}: ${r.text.slice(0, 200)}`);
      return r.json;
    };
    // (The app contract's ledger: the manufacturer's actions are checked above.)
    const L = `license=${o.contract}`;
    const all = await getJson(`/v1/admin-actions?limit=1000&to_block=${keep}&${L}`);
    eq(all.actions.map((a) => a.tx_hash).reverse(), want.map((a) => a.tx), 'the ledger lists every action, newest first');
    eq(all.actions, json(`SELECT dimo_admin_actions_page(${chain}, '${o.contract}', NULL, NULL, NULL, ${keep}, 1000, NULL) -> 'actions'`),
      'the route answers what the SQL function says');
    let paged = [];
    let next = null;
    do {
      const page = await getJson(`/v1/admin-actions?limit=3&to_block=${keep}&${L}${next ? `&after=${next}` : ''}`);
      paged = paged.concat(page.actions);
      next = page.next;
    } while (next);
    eq(paged, all.actions, 'pages of 3 give the whole ledger');
    const byAction = await getJson(`/v1/admin-actions?action=admin_withdraw&to_block=${keep}&license=${o.contract.toUpperCase().replace('0X', '0x')}`);
    eq(byAction.actions.map((a) => a.tx_hash).reverse(), withdrawals.map((a) => a.tx), '?action=admin_withdraw&license=');
    const F = o.forwarders.F.toLowerCase();
    const byExec = await getJson(`/v1/admin-actions?executor=${F}&to_block=${keep}`);
    eq(byExec.actions.map((a) => a.tx_hash).reverse(), want.filter((a) => a.by === F).map((a) => a.tx), '?executor= (the forwarder)');
    const first = o.actions[0].block;
    const range = await getJson(`/v1/admin-actions?from_block=${first}&to_block=${first}&${L}`);
    eq(range.actions.map((a) => a.tx_hash), o.actions.filter((a) => a.block === first).map((a) => a.tx), 'block range');
    // The license is a UUPS proxy: its deployment's Upgraded and the
    // scenario's upgrade are the `upgrade` actions (UPGRADER_ROLE, compared
    // above) and its implementation history in /v1/upgrades.
    const upgrades = o.actions.filter((a) => a.action === 'upgrade' && a.block <= keep);
    ok(upgrades.length >= 2, `the oracle has the deployment's and a later upgrade (${upgrades.length})`);
    const byUpgrade = await getJson(`/v1/admin-actions?action=upgrade&to_block=${keep}&${L}`);
    eq(byUpgrade.actions.map((a) => a.tx_hash).reverse(), upgrades.map((a) => a.tx), '?action=upgrade&license=');
    const history = (await getJson(`/v1/upgrades?contract=${o.contract}&limit=1000`)).upgrades.filter((u) => u.block <= keep);
    eq(history.map((u) => [u.tx, u.block, u.role, u.kind, u.implementation]),
      upgrades.map((a, i) => [a.tx, a.block, 'app_license', 'implementation', o.implementations[i]]),
      '/v1/upgrades lists the proxy\'s implementations');
    const csv = await c.get(base, `/v1/admin-actions?format=csv&limit=1000&to_block=${keep}&${L}`);
    eq(csv.status, 200, 'CSV answers');
    ok(/^text\/csv/.test(csv.headers['content-type']), `CSV content type (${csv.headers['content-type']})`);
    const lines = csv.text.split('\r\n').filter((l) => l);
    eq(lines.length, want.length + 1, 'a CSV header and one line per action');
    eq(lines.slice(1).map((l) => l.split(',')[3]).reverse(), want.map((a) => a.tx), 'CSV rows in ledger order');
    for (const bad of ['action=bogus', 'executor=0x12', 'format=xml', 'after=zz', 'license=alias', 'from_block=x']) {
      await getJson(`/v1/admin-actions?${bad}`, 400);
    }
    const slashes = (await getJson('/v1/slashes?limit=1000')).slashes;
    for (const sl of slashes) {
      const w = want.find((a) => a.tx === sl.tx);
      ok(w && sl.by && sl.by.attribution === w.attribution && sl.by.address === w.by && sl.by.via === w.via,
        `slash ${sl.tx} carries its executor (${JSON.stringify(sl.by)})`);
    }
    if (mfrWant) {
      // (Asked here, not in the manufacturer step: a keep-alive socket left
      // idle through the long RPC steps may be closed by the server.)
      const page = await getJson(`/v1/admin-actions?license=${mfrWant.contract}&limit=1000`);
      eq(page.actions.map((a) => [a.tx_hash, a.by.address, a.by.attribution, a.gating_role]).reverse(),
        mfrWant.actions.map((a) => [a.tx, a.by, a.attribution, 'DEFAULT_ADMIN_ROLE']), '/v1/admin-actions?license= (manufacturer)');
      for (const act of ['unstake', 'emergency_withdrawal', 'mint'])
        eq((await getJson(`/v1/admin-actions?action=${act}&license=${mfrWant.contract}`)).actions.length, 1, `?action=${act}`);
    }
    step('API: /v1/books');
    // The route's numbers against the chain itself at every checked block,
    // and against the SQL books (one question, one answer).
    for (const b of blocks) {
      const books = await getJson(`/v1/books/${o.contract}?at_block=${b}`);
      eq(books, json(`SELECT dimo_license_books(${chain}, ${hexC}, ${b})`), `/v1/books/{contract} at ${b} = SQL`);
      const balance = await d.token.call('balanceOf', [o.contract], { blockTag: b });
      let sum = 0n;
      for (const id of o.tokenIds) sum += await app.call('stakedBalance', [BigInt(id)], { blockTag: b });
      eq(books.held, balance.toString(), `/v1/books held at ${b} = balanceOf`);
      eq(books.staked, sum.toString(), `/v1/books staked at ${b} = sum of stakedBalance`);
      eq(books.stray, (balance - sum).toString(), `/v1/books stray at ${b}`);
      eq(books.role, 'app_license', 'the books name the contract\'s role');
      const all = await getJson(`/v1/books?at_block=${b}`);
      eq(all.as_of_block, b, `/v1/books as of ${b}`);
      // Every license contract (the manufacturers' too) against its balanceOf and stakes.
      const want = d.all.filter((h) => h.role === 'app_license' || h.role === 'manufacturer_license')
        .map((h) => h.address).sort();
      eq(all.contracts.map((x) => x.contract), want, '/v1/books lists every license contract, by address');
      for (const x of all.contracts) {
        eq(await d.token.call('balanceOf', [x.contract], { blockTag: b }).then(String), x.held,
          `/v1/books: ${x.contract} held at ${b} = balanceOf`);
        const h = d.byAddress.get(x.contract);
        if (x.role === 'manufacturer_license' || h.entry['x-scenario'] !== false)
          eq(String(await h.call('totalStaked', [], { blockTag: b })), x.staked, `/v1/books: ${x.contract} staked at ${b} = totalStaked`);
        eq(BigInt(x.held) - BigInt(x.staked), BigInt(x.stray), `/v1/books: ${x.contract} stray = held - staked`);
      }
      eq(all.contracts.find((x) => x.contract === o.contract.toLowerCase()), books, '/v1/books holds the contract\'s books');
    }
    const bw = await getJson(`/v1/books/${o.contract}?at_block=${keep}`);
    eq(bw.admin_withdrawals.map((a) => [a.tx_hash, a.amount, a.by.address, a.by.via]),
      withdrawals.map((a) => [a.tx, String(a.amount), a.by, a.via]), '/v1/books: each adminWithdraw with its executor');
    ok(bw.forfeit_checks.length > 0 && bw.forfeit_checks.every((f) => f.matches && f.transferred === f.amount),
      '/v1/books: each forfeit matches its transfer');
    for (const x of [bw.held, bw.staked, bw.stray, bw.received, bw.sent]) ok(/^-?[0-9]+$/.test(x), `exact decimal string ${x}`);
    await getJson(`/v1/books/${'0x' + '12'.repeat(20)}`, 404);
    for (const bad of ['/v1/books/0x12', '/v1/books/alias', '/v1/books?at_block=x', '/v1/books?bogus=1']) await getJson(bad, 400);
    const doc = await getJson(`/v1/apps/${o.tokenIds[1]}`);
    const docSlashes = doc.slashes || [];
    ok(docSlashes.length > 0 && docSlashes.every((x) => x.by && x.by.attribution), 'the license document\'s slashes carry `by`');
  }
  if (args.bin) {
    step('CLI: audit');
    const cli = (...a) => JSON.parse(execFileSync(args.bin, ['audit', ...a, '--json', '--db', db, '--network', network],
      { encoding: 'utf8' }));
    eq(cli('actions', o.contract, '--at-block', String(keep)).actions.map((a) => a.tx_hash).reverse(), want.map((a) => a.tx),
      'audit actions');
    eq(cli('books', o.contract, '--at-block', String(keep)), booksNow, 'audit books');
    eq(cli('books', '--at-block', String(keep)), json(`SELECT dimo_books(${chain}, NULL, ${keep})`), 'audit books (every contract)');
    eq(cli('roles', o.contract), json(`SELECT dimo_role_holders(${chain}, ${hexC})`), 'audit roles');
  }
  ok(checks() > 0, 'checks ran');
  console.log(`accountability: ${checks()} checks passed (${want.length} actions, ${blocks.length} blocks, keep ${keep})`);
  if (d.rpc.close) d.rpc.close();
})().catch((e) => {
  console.error(e.stack || e.message);
  process.exit(1);
});
