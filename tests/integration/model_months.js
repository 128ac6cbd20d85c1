#!/usr/bin/env node
'use strict';
// DIP-5 monthly metrics over three calendar months of devnet time.
//
//   node model_months.js run --rpc URL --network FILE --out EXPECTED.json
//       Moves the chain's clock to the start of the next three calendar
//       months (UTC; evm_setNextBlockTimestamp) and runs license operations
//       in each: issues, freezes and unfreezes, stakes, a burn and a
//       reallocation, revokes, a node minimum raised so that a node falls
//       below it, a node revoked. At the last block of each month it reads
//       the contracts' views (state.js) and writes what they imply for the
//       month: per class licenses issued and revoked in the month; active,
//       suspended, understaked, revoked and total at its end; slashes; the
//       stake total at its end.
//   node model_months.js compare --db CONNINFO --expected EXPECTED.json
//       Compares that with the monthly_* views; exit status 1 on a
//       difference.

const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const devnet = path.join(__dirname, '../devnet/lib');
const { openDevnet } = require(path.join(devnet, 'network'));
const { readState } = require(path.join(devnet, 'state'));
const { Model } = require(path.join(devnet, 'model'));
const { Driver } = require(path.join(devnet, 'driver'));

const E18 = 10n ** 18n;
const dimo = (n) => BigInt(n) * E18;

function args(argv) {
  const o = { cmd: argv[0] };
  for (let i = 1; i < argv.length; i++) {
    const k = argv[i].replace(/^--/, '');
    o[k] = argv[++i];
  }
  return o;
}

// Counts per class implied by a readState() result, judged by the network
// file's requirements (the devnet's: the seed's rules, understaked below
// them) and, for manufacturers, the contract minimum.
function counts(st, req) {
  const below = (cls, staked, floor = 0n) => {
    const r = req[cls];
    if (!r || !r.understaked) return false;
    return BigInt(staked || 0) < (BigInt(r.stake) > floor ? BigInt(r.stake) : floor);
  };
  const out = { app: { active: 0, suspended: 0, understaked: 0, revoked_total: 0, licenses_total: 0 },
    manufacturer: { active: 0, suspended: 0, understaked: 0, revoked_total: 0, licenses_total: 0 } };
  let appStake = 0n;
  for (const a of st.app_licenses) {
    appStake += BigInt(a.total_staked);
    for (const l of a.licenses) {
      const c = out.app;
      c.licenses_total++;
      if (l.revoked) c.revoked_total++;
      else if (l.frozen) c.suspended++;
      else if (below('app', l.staked)) c.understaked++;
      else c.active++;
    }
  }
  const n = st.manufacturer_licenses[0];
  for (const l of n.licenses) {
    const c = out.manufacturer;
    const s = n.stakes[l.owner];
    c.licenses_total++;
    if (l.revoked) c.revoked_total++;
    else if (s && s.whitelisted && !below('manufacturer', s.staked, BigInt(n.minimum_stake))) c.active++;
    else c.understaked++;
  }
  return { counts: out, stake: { app: appStake.toString(), manufacturer: n.total_staked } };
}

async function run(o) {
  const d = openDevnet(o.rpc, o.network);
  const rpc = d.rpc;
  const model = Model.fromState(await readState(rpc, d.net, 'latest'));
  const dr = new Driver(d, model);
  const [app, appOld] = d.apps.map((a) => a.address);
  const [A1, A2, A3, A4, N1, N2, , X] = d.accounts.slice(1);
  const head = await rpc.call('eth_getBlockByNumber', ['latest', false]);
  const now = new Date(Number(BigInt(head.timestamp)) * 1000);
  const monthStart = (k) => Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + k, 1) / 1000;
  const months = [];
  let prev = null;

  const month = async (k, ops) => {
    await rpc.call('evm_setNextBlockTimestamp', [monthStart(k) + 3600]);
    await rpc.call('evm_mine', []);
    const firstBlock = Number(BigInt((await rpc.call('eth_getBlockByNumber', ['latest', false])).number));
    const slashesBefore = dr.m.slashes.length;
    await ops();
    const st = await readState(rpc, d.net, 'latest');
    const { counts: c, stake } = counts(st, d.net.requirements || {});
    for (const cls of ['app', 'manufacturer']) {
      c[cls].issued = c[cls].licenses_total - (prev ? prev[cls].licenses_total : 0);
      c[cls].revoked = c[cls].revoked_total - (prev ? prev[cls].revoked_total : 0);
    }
    const sl = dr.m.slashes.slice(slashesBefore);
    const sum = (f) => sl.filter(f).reduce((a, s) => a + BigInt(s.amount), 0n).toString();
    if (st.block.timestamp >= monthStart(k + 1)) throw new Error(`month ${k} ran past its end`);
    months.push({
      month: new Date(monthStart(k) * 1000).toISOString().slice(0, 10),
      first_block: firstBlock, last_block: st.block.number, classes: c, stake_end: stake,
      slashes: { slashes: sl.length, amount: sum(() => true), burned: sum((s) => s.kind === 'burn'),
        reallocated: sum((s) => s.kind !== 'burn') },
    });
    prev = c;
  };

  let a1, a2, a3, a4, n1;
  await month(1, async () => {
    a1 = await dr.issue(app, A1, 'month-one');
    a2 = await dr.issue(app, A2, '');
    a3 = await dr.issue(app, A3, 'month-three');
    a4 = await dr.issue(appOld, A4, 'month-four');
    await dr.freeze(app, a2, true);
    await dr.lock(app, A1, a1, dimo(20000));
    await dr.forfeit(app, a1, dimo(5000)); // burn
    await dr.nodeStake(N1, dimo(150000));
    n1 = await dr.nodeMint(d.admin, N1); // mint: DEFAULT_ADMIN_ROLE only
    await dr.nodeStake(N2, dimo(100000));
    await dr.nodeMint(d.admin, N2);
  });
  await month(2, async () => {
    await dr.revoke(app, a3);
    await dr.freeze(app, a2, false);
    await dr.issue(app, A3, 'month-five');
    await dr.nodeAdjust(dimo(120000)); // N2's license falls below
    await dr.forfeit(app, a1, dimo(3000), X); // reallocation
    await dr.lock(app, A2, a2, dimo(12000));
  });
  await month(3, async () => {
    await dr.nodeRevoke(n1);
    await dr.freeze(appOld, a4, true);
    await dr.nodeStake(N2, dimo(120000)); // back above the minimum (a stake is at least the minimum)
    await dr.withdraw(app, A2, a2, dimo(2000));
    await dr.forfeit(app, a1, dimo(1000));
  });
  rpc.close();
  fs.writeFileSync(o.out, JSON.stringify({ months }, null, 1) + '\n');
  console.log(`${months.length} months, blocks ${months[0].first_block}..${months[months.length - 1].last_block}`);
}

function compare(o) {
  const exp = JSON.parse(fs.readFileSync(o.expected, 'utf8'));
  const q = (sql) => JSON.parse(execFileSync('psql', [o.db, '-v', 'ON_ERROR_STOP=1', '-qAt', '-c', sql],
    { encoding: 'utf8' }).trim() || 'null');
  const lic = q(`SELECT json_agg(row_to_json(m) ORDER BY month, class) FROM monthly_license_metrics m WHERE chain_id = 137`);
  // (Amounts as text: a JSON number would lose digits.)
  const sla = q(`SELECT json_agg(json_build_object('month', month, 'class', class, 'slashes', slashes,
      'amount', amount::text, 'burned', burned::text, 'reallocated', reallocated::text) ORDER BY month, class)
    FROM monthly_slash_metrics m WHERE chain_id = 137`);
  const stk = q(`SELECT json_agg(json_build_object('month', month, 'class', class, 'staked_end', staked_end::text)
      ORDER BY month, class) FROM monthly_stake_metrics m WHERE chain_id = 137`);
  const diffs = [];
  const eq = (what, want, got) => {
    const a = JSON.stringify(want), b = JSON.stringify(got);
    if (a !== b) diffs.push(`${what}: want ${a}, got ${b}`);
  };
  eq('months', exp.months.map((m) => m.month), [...new Set(lic.map((r) => r.month))]);
  const keys = ['issued', 'revoked', 'active', 'suspended', 'understaked', 'revoked_total', 'licenses_total'];
  for (const m of exp.months) {
    for (const cls of ['app', 'manufacturer']) {
      const row = lic.find((r) => r.month === m.month && r.class === cls) || {};
      eq(`${m.month} ${cls}`, Object.fromEntries(keys.map((k) => [k, m.classes[cls][k]])),
        Object.fromEntries(keys.map((k) => [k, row[k]])));
      const s = stk.find((r) => r.month === m.month && r.class === cls) || {};
      eq(`${m.month} ${cls} staked at the end`, m.stake_end[cls], s.staked_end);
    }
    const s = sla.find((r) => r.month === m.month && r.class === 'app') || {};
    eq(`${m.month} slashes`, m.slashes, { slashes: s.slashes, amount: s.amount, burned: s.burned,
      reallocated: s.reallocated });
  }
  for (const d of diffs) console.error(d);
  if (diffs.length) process.exit(1);
  console.log(`${exp.months.length} months x 2 classes agree`);
}

const o = args(process.argv.slice(2));
if (o.cmd === 'run') {
  run(o).catch((e) => { console.error(e.stack || e.message); process.exit(2); });
} else if (o.cmd === 'compare') {
  compare(o);
} else {
  console.error('usage: model_months.js run --rpc URL --network FILE --out FILE | compare --db CONNINFO --expected FILE');
  process.exit(2);
}
