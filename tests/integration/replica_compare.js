// replica_compare.js: every answer of one API equals another's: `serve` on
// a hot standby against `run` on the primary. Exit status 1 with the
// differences listed when any differ.
//
//   node replica_compare.js --a URL --b URL --db CONNINFO
//
// Both must describe the same block (the caller waits for that). Asked of
// both, compared as text: the license list, every license document (apps by
// client id and token id, nodes by token id and owner), the slash pages
// (all, and per license), and the access answer for every app x vehicle with
// a SACD record (from --db) x a few permissions, with and without a signer,
// at the head and at a fixed time. Prints one line: how many answers agreed.
'use strict';

const { execFileSync } = require('child_process');
const c = require('./api_client');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].slice(2)] = process.argv[i + 1];
const psql = (sql) =>
  execFileSync('psql', [args.db, '-v', 'ON_ERROR_STOP=1', '-qAt', '-c', sql]).toString('utf8').trim();

let same = 0;
let allowed = 0;
const reasons = new Map(); // why access answers said no (shown when none said yes)
const diffs = [];
async function both(path) {
  const [a, b] = await Promise.all([c.get(args.a, path), c.get(args.b, path)]);
  if (a.status !== b.status || a.text !== b.text) {
    diffs.push(`${path}:\n  a ${a.status} ${a.text.slice(0, 300)}\n  b ${b.status} ${b.text.slice(0, 300)}`);
  } else {
    same++;
    if (path.startsWith('/v1/access') && a.status === 200 && a.json.allowed === true) allowed++;
    else if (path.startsWith('/v1/access')) {
      const why = a.status === 200 ? (a.json.reasons || []).join('+') : `HTTP ${a.status}`;
      reasons.set(why, (reasons.get(why) || 0) + 1);
    }
  }
  return a.json;
}

async function main() {
  const list = (await both('/v1/licenses?limit=1000')).licenses;
  c.check(list.length > 0, 'the primary lists no license');
  const apps = [];
  for (const l of list) {
    if (l.class === 'app') {
      apps.push(l);
      await both(`/v1/apps/${l.client_id}`);
      await both(`/v1/apps/${l.token_id}`);
    } else {
      await both(`/v1/manufacturers/${l.token_id}`);
      await both(`/v1/manufacturers/${l.owner}`);
    }
    await both(`/v1/slashes?license=${l.token_id}&limit=1000`);
  }
  await both('/v1/slashes?limit=1000');
  await both('/v1/slashes?limit=2');

  const vehicles = psql(
    // The first vehicles with grants, and those granted to a license that
    // is active (staked at its requirement: the access answers need some
    // allowed ones).
    `(SELECT DISTINCT '0x' || encode(g.asset, 'hex') || ' ' || g.token_id FROM sacd_grants g JOIN contracts c ON c.chain_id = g.chain_id AND c.address = g.asset AND c.role = 'vehicle' WHERE g.token_id <> 0 ORDER BY 1 LIMIT 12)
     UNION (SELECT DISTINCT '0x' || encode(g.asset, 'hex') || ' ' || g.token_id FROM sacd_grants g JOIN contracts c ON c.chain_id = g.chain_id AND c.address = g.asset AND c.role = 'vehicle'
       WHERE g.token_id <> 0 AND g.grantee IN (SELECT l.client_id FROM licenses l WHERE l.status = 'active') ORDER BY 1 LIMIT 4) ORDER BY 1`,
  )
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' '));
  const signers = new Map(
    psql(`SELECT '0x' || encode(s.signer, 'hex') || ' ' || s.token_id FROM license_signers s`)
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' ').reverse()),
  );
  // Judged at the time of the newest grant: a fixed instant both servers
  // share, at which that grant (set unexpired) is in force, however long ago.
  const at = psql('SELECT extract(epoch FROM max(block_time))::bigint FROM sacd_grants').trim();
  // Permissions the vehicle grants actually carry, and a few besides.
  const perms = [
    ...new Set([1, 3, 4, ...psql(`SELECT DISTINCT unnest(permission_ids) FROM sacd_grants ORDER BY 1 LIMIT 4`)
      .split('\n').filter(Boolean).map(Number)]),
  ];
  for (const app of apps) {
    for (const [asset, token] of vehicles) {
      for (const perm of perms) {
        const q = `client_id=${app.client_id}&asset=${asset}&token_id=${token}&permission=${perm}`;
        await both(`/v1/access?${q}&at_time=${at}`);
        const signer = signers.get(String(app.token_id));
        if (signer) await both(`/v1/access?${q}&signer=${signer}&at_time=${at}`);
      }
    }
  }
  c.check(allowed > 0, `no access answer was allowed: the comparison would prove little (${JSON.stringify([...reasons])})`);
  if (diffs.length) {
    console.error(`${diffs.length} answers differ (${same} agree):\n${diffs.slice(0, 10).join('\n')}`);
    process.exit(1);
  }
  console.log(`replica_compare: ${same} answers equal (${list.length} licenses, ${vehicles.length} vehicles, ${allowed} access answers allowed)`);
}

main().catch((e) => {
  console.error(e.stack || String(e));
  process.exit(1);
});
