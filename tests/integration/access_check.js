#!/usr/bin/env node
'use strict';
// access_check.js: the indexer's opt-in answers against the devnet's own
// contracts. Exit status 1 with the differences listed when any differ.
//
//   node access_check.js --db CONN --oracle FILE [--base URL]
//       FILE: JSON lines of tests/devnet/access_state.js (one document per
//       block). For every block and every combination the oracle lists
//       (asset, token, grantee, permission): dimo_access(...) at that
//       block (SQL) has has_permission = SACD's hasPermission there (and
//       for every account check, dimo_access with the grantor has
//       has_permission = hasAccountPermission),
//       the record in force (permissions, expiration, source; zeros after a
//       reset) = currentPermissionRecord, and the license = the app whose
//       client id the grantee is. Per vehicle: owner, burned and the SACD
//       version (= transfers between owners so far); per legacy privilege:
//       the current version's expiry and hasPrivilege. With --base: GET
//       /v1/access?...&at_block=N answers exactly what the SQL function
//       does, for every combination, and for the head's document (the last
//       indexed block) also with at_time=T (no at_block: the current state
//       judged at T); the head month's opt-in metrics (vehicles and owners
//       per grantee) match the combinations allowed at the head.
//
//   node access_check.js --reasons --db CONN --base URL --rpc URL --network FILE --bin BIN
//       At the head: every failing condition named. Grant reasons are
//       replayed here from the chain's raw logs (eth_getLogs: PermissionsSet,
//       vehicle Transfer); license reasons from the license contracts'
//       views; signer reasons from isSigner and the signer's enabledAt. Each
//       touched combination is asked through the API (with a signer of the
//       grantee's app, or none), and a sample through `dimo-indexer access`
//       (--json equals the API's answer; exit status 0 allowed / 1 not).
//
//   node access_check.js --dump --db CONN
//       Every derived opt-in row (history and current tables), as sorted
//       text lines: equal for two databases that indexed the same chain.

const path = require('path');
const { execFileSync } = require('child_process');
const fs = require('fs');
const { get, rpc, deepEq } = require('./api_client');

function parseArgs(argv) {
  const o = { chain: 137 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--db') o.db = argv[++i];
    else if (a === '--oracle') o.oracle = argv[++i];
    else if (a === '--base') o.base = argv[++i];
    else if (a === '--rpc') o.rpc = argv[++i];
    else if (a === '--network') o.network = argv[++i];
    else if (a === '--bin') o.bin = argv[++i];
    else if (a === '--chain') o.chain = Number(argv[++i]);
    else if (a === '--reasons') o.mode = 'reasons';
    else if (a === '--dump') o.mode = 'dump';
    else throw new Error(`unknown argument ${a}`);
  }
  o.mode = o.mode || 'oracle';
  if (!o.db) throw new Error('--db is required');
  if (o.mode === 'oracle' && !o.oracle) throw new Error('--oracle FILE is required');
  if (o.mode === 'reasons' && !(o.base && o.rpc && o.network && o.bin)) {
    throw new Error('--reasons needs --base, --rpc, --network and --bin');
  }
  return o;
}

function psql(db, sql) {
  return execFileSync('psql', [db, '-v', 'ON_ERROR_STOP=1', '-qAt', '-c', sql], {
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024,
  });
}
const psqlJson = (db, sql) => JSON.parse(psql(db, sql).trim() || 'null');
const hex = (a) => `decode('${a.slice(2)}', 'hex')`;
const lit = (s) => `'${String(s).replace(/'/g, "''")}'`;

const problems = [];
function differ(what, got, want) {
  problems.push(`${what}: indexer ${JSON.stringify(got)}, chain ${JSON.stringify(want)}`);
}

// ---- oracle comparison ------------------------------------------------------------

// Every combination of one block in one query: the SQL answers, the
// vehicles and the legacy privileges as the indexer has them at that block.
function dbAtBlock(o, doc) {
  const checks = doc.checks.map(
    (c, k) => `(${k}, ${hex(c.grantee)}, ${hex(c.asset)}, ${lit(c.token_id)}::numeric, ${c.permission})`,
  );
  const vehicles = doc.vehicles.map((v) => `(${lit(v.token_id)}::numeric)`);
  const privs = doc.privileges.map(
    (p) => `(${lit(p.token_id)}::numeric, ${lit(p.priv_id)}::numeric, ${hex(p.user)})`,
  );
  const accounts = (doc.account_checks || []).map(
    (c, k) => `(${k}, ${hex(c.grantee)}, ${hex(c.grantor)}, ${c.permission})`,
  );
  const b = doc.block;
  const asset = hex(doc.vehicle);
  return psqlJson(
    o.db,
    `SELECT jsonb_build_object(
      'accounts', ${accounts.length ? `(SELECT jsonb_agg(dimo_access(${o.chain}, c.g, NULL, NULL, c.p, ${b}, NULL, NULL, c.r)
                   ORDER BY c.k) FROM (VALUES ${accounts.join(',')}) c(k, g, r, p))` : `'[]'::jsonb`},
      'answers', ${checks.length ? `(SELECT jsonb_agg(dimo_access(${o.chain}, c.g, c.a, c.t, c.p, ${b}) ORDER BY c.k)
                   FROM (VALUES ${checks.join(',')}) c(k, g, a, t, p))` : `'[]'::jsonb`},
      'vehicles', ${vehicles.length ? `(SELECT jsonb_agg(jsonb_build_object('token_id', v.t::text,
                     'owner', CASE WHEN l.kind = 'burn' THEN NULL ELSE '0x' || encode(l.to_address, 'hex') END,
                     'burned', coalesce(l.kind = 'burn', false), 'minted', l.kind IS NOT NULL,
                     'sacd_version', (SELECT count(*) FROM vehicle_transfers x WHERE x.chain_id = ${o.chain}
                        AND x.asset = ${asset} AND x.token_id = v.t AND x.kind = 'transfer'
                        AND x.block_number <= ${b})::text) ORDER BY v.t)
                   FROM (VALUES ${vehicles.join(',')}) v(t)
                   LEFT JOIN LATERAL (SELECT x.kind, x.to_address FROM vehicle_transfers x
                     WHERE x.chain_id = ${o.chain} AND x.asset = ${asset} AND x.token_id = v.t
                       AND x.block_number <= ${b}
                     ORDER BY x.block_number DESC, x.log_index DESC LIMIT 1) l ON true)` : `'[]'::jsonb`},
      'privileges', ${privs.length ? `(SELECT jsonb_agg(jsonb_build_object('token_id', p.t::text,
                     'priv_id', p.i::text, 'user', '0x' || encode(p.u, 'hex'),
                     'expires', CASE WHEN e.block_number IS NULL OR r.block_number IS NOT NULL THEN '0'
                                ELSE e.expires::text END) ORDER BY p.t, p.i, p.u)
                   FROM (VALUES ${privs.join(',')}) p(t, i, u)
                   LEFT JOIN LATERAL (SELECT x.* FROM vehicle_privilege_events x
                     WHERE x.chain_id = ${o.chain} AND x.asset = ${asset} AND x.token_id = p.t
                       AND x.priv_id = p.i AND x.holder = p.u AND x.block_number <= ${b}
                     ORDER BY x.block_number DESC, x.log_index DESC LIMIT 1) e ON true
                   LEFT JOIN LATERAL (SELECT x.block_number FROM vehicle_transfers x
                     WHERE x.chain_id = ${o.chain} AND x.asset = ${asset} AND x.token_id = p.t
                       AND x.kind = 'transfer' AND x.block_number <= ${b}
                       AND (x.block_number, x.log_index) > (e.block_number, e.log_index)
                     LIMIT 1) r ON true)` : `'[]'::jsonb`})`,
  );
}

function compareBlock(doc, db) {
  const at = `block ${doc.block}`;
  doc.checks.forEach((c, k) => {
    const a = db.answers[k];
    const what = `${at} ${c.asset} #${c.token_id} grantee ${c.grantee} permission ${c.permission}`;
    if (!a) return differ(what, a, 'an answer');
    const g = a.grant;
    if (a.has_permission !== c.allowed) differ(`${what} hasPermission`, a.has_permission, c.allowed);
    const live = g && !g.reset_by_transfer;
    const rec = live ? [g.permissions, g.expiration, g.source] : ['0', '0', ''];
    const want = [c.permissions, c.expiration, c.source];
    if (JSON.stringify(rec) !== JSON.stringify(want)) differ(`${what} record`, rec, want);
    const lic = a.license ? { contract: a.license.contract, token_id: a.license.token_id } : null;
    if (JSON.stringify(lic) !== JSON.stringify(c.grantee_app)) differ(`${what} license`, lic, c.grantee_app);
  });
  (doc.account_checks || []).forEach((c, k) => {
    const a = db.accounts[k];
    const what = `${at} account grant of ${c.grantor} to ${c.grantee} permission ${c.permission}`;
    if (!a || a.has_permission !== c.allowed) differ(`${what} hasAccountPermission`, a && a.has_permission, c.allowed);
  });
  const vehicles = new Map(db.vehicles.map((v) => [v.token_id, v]));
  for (const v of doc.vehicles) {
    const m = vehicles.get(v.token_id);
    const what = `${at} vehicle #${v.token_id}`;
    if (!m || !m.minted) {
      if (v.owner !== null) differ(`${what} owner`, null, v.owner);
      continue;
    }
    if (m.owner !== v.owner) differ(`${what} owner`, m.owner, v.owner);
    if (m.burned !== v.burned) differ(`${what} burned`, m.burned, v.burned);
    if (m.sacd_version !== v.sacd_version) differ(`${what} SACD version`, m.sacd_version, v.sacd_version);
  }
  const wanted = new Map(doc.privileges.map((p) => [`${p.token_id}:${p.priv_id}:${p.user}`, p]));
  db.privileges.forEach((p) => {
    const want = wanted.get(`${p.token_id}:${p.priv_id}:${p.user}`);
    const what = `${at} privilege ${p.priv_id} of vehicle #${p.token_id} for ${p.user}`;
    if (p.expires !== want.expires) differ(`${what} expires`, p.expires, want.expires);
    // hasPrivilege: the entry (>= now), else the owner test, which reverts
    // for a burned vehicle.
    const owner = (vehicles.get(p.token_id) || {}).owner || null;
    const valid = BigInt(p.expires) >= BigInt(doc.time);
    const has = valid ? true : owner === null ? null : owner === p.user;
    if (has !== want.has_privilege) differ(`${what} hasPrivilege`, has, want.has_privilege);
  });
}

async function apiAnswers(o, doc, db, extra, accounts = []) {
  let n = 0;
  for (let k = 0; k < (doc.account_checks || []).length; k++) {
    const c = doc.account_checks[k];
    const q = `client_id=${c.grantee}&grantor=${c.grantor}&permission=${c.permission}${extra}`;
    const r = await get(o.base, `/v1/access?${q}`);
    if (r.status !== 200) {
      problems.push(`GET /v1/access?${q}: status ${r.status} ${r.text}`);
      continue;
    }
    try {
      deepEq(r.json, accounts[k], `GET /v1/access?${q} differs from dimo_access`);
    } catch (e) {
      problems.push(e.message);
    }
    n++;
  }
  for (let k = 0; k < doc.checks.length; k++) {
    const c = doc.checks[k];
    const q = `client_id=${c.grantee}&asset=${c.asset}&token_id=${c.token_id}&permission=${c.permission}${extra}`;
    const r = await get(o.base, `/v1/access?${q}`);
    if (r.status !== 200) {
      problems.push(`GET /v1/access?${q}: status ${r.status} ${r.text}`);
      continue;
    }
    try {
      deepEq(r.json, db[k], `GET /v1/access?${q} differs from dimo_access`);
    } catch (e) {
      problems.push(e.message);
    }
    n++;
  }
  return n;
}

// The monthly metrics of the head's month (the head being the last indexed
// block): per grantee, the vehicles with any permission allowed now by
// their record (an opt-in: not the owner's shortcut, not a connection
// grant) and their distinct owners.
function compareMetrics(o, last) {
  const owners = new Map(last.vehicles.map((v) => [v.token_id, v.owner]));
  const want = new Map();
  for (const c of last.checks) {
    const byRecord = BigInt(c.expiration) > BigInt(last.time) &&
      ((BigInt(c.permissions) >> BigInt(2 * c.permission)) & 3n) === 3n;
    if (!c.allowed || !byRecord || c.asset === last.connections) continue;
    const w = want.get(c.grantee) || { vehicles: new Set(), owners: new Set() };
    w.vehicles.add(`${c.asset}:${c.token_id}`);
    const owner = c.asset === last.vehicle ? owners.get(c.token_id) : null;
    if (owner) w.owners.add(owner);
    want.set(c.grantee, w);
  }
  const rows = psqlJson(
    o.db,
    `SELECT coalesce(jsonb_agg(jsonb_build_object('grantee', '0x' || encode(m.client_id, 'hex'),
       'vehicles', m.vehicles, 'owners', m.owners)), '[]')
     FROM dimo_monthly_optin_metrics(${o.chain}) m
     WHERE m.month = date_trunc('month', to_timestamp(${last.time}) AT TIME ZONE 'UTC')::date`,
  );
  const got = new Map(rows.map((r) => [r.grantee, r]));
  for (const grantee of new Set([...want.keys(), ...got.keys()])) {
    const w = want.get(grantee);
    const g = got.get(grantee);
    const pair = [g ? g.vehicles : 0, g ? g.owners : 0];
    const wpair = [w ? w.vehicles.size : 0, w ? w.owners.size : 0];
    if (pair[0] !== wpair[0] || pair[1] !== wpair[1]) {
      differ(`metrics of ${grantee} this month [vehicles, owners]`, pair, wpair);
    }
  }
}

async function oracleMode(o) {
  const docs = fs
    .readFileSync(o.oracle, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
  let checks = 0;
  let api = 0;
  for (const doc of docs) {
    if (doc.deployed === false) continue;
    const db = dbAtBlock(o, doc);
    compareBlock(doc, db);
    checks += doc.checks.length;
    if (o.base) api += await apiAnswers(o, doc, db.answers, `&at_block=${doc.block}`, db.accounts);
  }
  // The head: the latest block asked about, when it is the last indexed.
  const cursor = Number(psql(o.db, `SELECT last_block FROM cursors WHERE chain_id = ${o.chain}`).trim());
  const last = docs.find((d) => d.block === cursor && d.deployed !== false);
  if (o.base && last) {
    // The current state judged at a given time: the head's time gives the
    // head's answers (as_of_time aside, which is the same).
    const now = psqlJson(
      o.db,
      `SELECT coalesce(jsonb_agg(dimo_access(${o.chain}, c.g, c.a, c.t, c.p, NULL, to_timestamp(${last.time}))
         ORDER BY c.k), '[]') FROM (VALUES ${last.checks
           .map((c, k) => `(${k}, ${hex(c.grantee)}, ${hex(c.asset)}, ${lit(c.token_id)}::numeric, ${c.permission})`)
           .join(',')}) c(k, g, a, t, p)`,
    );
    const atBlock = dbAtBlock(o, last).answers;
    now.forEach((a, k) => {
      try {
        deepEq(a, atBlock[k], `block ${last.block}: at_time = its time differs from at_block`);
      } catch (e) {
        problems.push(e.message);
      }
    });
    api += await apiAnswers(o, { checks: last.checks }, now, `&at_time=${last.time}`);
  }
  if (last) compareMetrics(o, last);
  const accounts = docs.reduce((n, d) => n + (d.account_checks || []).length, 0);
  return `${docs.length} blocks, ${checks} checks against hasPermission, ${accounts} against hasAccountPermission, ` +
    `${api} API answers`;
}

// ---- reasons -------------------------------------------------------------------------

const TRANSFER = '0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef';
const PERMISSIONS_SET = ['0x948fe417941bab89f81888f9039015a1da93ff8cbe034f5615f7bf35679de7db',
  '0x4a32700253007acd848b4ddb755cf335fdefab27ec717f48ac9a82305d98804a'];
const PERMISSIONS_RENOUNCED = '0x396d33091ebdc7d372ddd13bd00c2c5cbdadb5c9419f0026c159260ee069b13a';
const ZERO = '0x0000000000000000000000000000000000000000';
const word = (data, i) => BigInt('0x' + data.slice(2 + 64 * i, 66 + 64 * i));
const topicAddr = (t) => '0x' + t.slice(26);

// The grant reasons of every (asset, token, grantee, permission), replayed
// from the raw logs up to block `head` at time `time`.
async function replayGrants(o, net, head, time) {
  const sacd = net.contracts.find((c) => c.role === 'sacd');
  const vehicles = net.contracts.filter((c) => c.role === 'vehicle').map((c) => c.address.toLowerCase());
  const logs = await rpc(o.rpc, 'eth_getLogs', [
    { fromBlock: '0x0', toBlock: '0x' + head.toString(16), address: [sacd.address, ...vehicles] },
  ]);
  const records = new Map(); // key -> last record {pos, permissions, expiration}
  const resets = new Map(); // asset:token -> last reset pos
  for (const l of logs) {
    const pos = [Number(BigInt(l.blockNumber)), Number(BigInt(l.logIndex))];
    if (l.address.toLowerCase() === sacd.address.toLowerCase()) {
      // Record logs only (the proxy also logs Upgraded, PaymentSet).
      if (!PERMISSIONS_SET.includes(l.topics[0]) && l.topics[0] !== PERMISSIONS_RENOUNCED) continue;
      const key = `${topicAddr(l.topics[1])}:${BigInt(l.topics[2])}:${topicAddr(l.topics[3])}`;
      if (l.topics[0] === PERMISSIONS_RENOUNCED) records.set(key, { pos, renounced: true });
      else records.set(key, { pos, permissions: word(l.data, 0), expiration: word(l.data, 1) });
    } else if (l.topics[0] === TRANSFER && l.topics.length === 4) {
      const from = topicAddr(l.topics[1]);
      const to = topicAddr(l.topics[2]);
      if (from !== ZERO && to !== ZERO) resets.set(`${l.address.toLowerCase()}:${BigInt(l.topics[3])}`, pos);
    }
  }
  const after = (a, b) => a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]);
  return (asset, token, grantee, permission) => {
    const r = records.get(`${asset}:${BigInt(token)}:${grantee}`);
    if (!r) return ['grant_missing'];
    if (r.renounced) return ['grant_renounced'];
    const out = [];
    const reset = resets.get(`${asset}:${BigInt(token)}`);
    if (reset && after(reset, r.pos)) out.push('grant_reset_by_transfer');
    if (r.expiration <= BigInt(time)) out.push('grant_expired');
    if (((r.permissions >> BigInt(2 * permission)) & 3n) !== 3n) out.push('permission_not_granted');
    return out;
  };
}

async function reasonsMode(o) {
  const { readState } = require(path.join(__dirname, '../devnet/lib/state'));
  const { readOptins, optinChecks } = require(path.join(__dirname, '../devnet/lib/optins'));
  const { openDevnet } = require(path.join(__dirname, '../devnet/lib/network'));
  const net = JSON.parse(fs.readFileSync(o.network, 'utf8'));
  const head = Number(psql(o.db, `SELECT last_block FROM cursors WHERE chain_id = ${o.chain}`).trim());
  const blk = await rpc(o.rpc, 'eth_getBlockByNumber', ['0x' + head.toString(16), false]);
  const time = Number(BigInt(blk.timestamp));
  const grantReasons = await replayGrants(o, net, head, time);
  const state = await readState(o.rpc, o.network, head);
  const d = await openDevnet(o.rpc, o.network);
  const { withIssuedGranteeApps } = require(path.join(__dirname, '../devnet/lib/state'));
  const checks = optinChecks(await withIssuedGranteeApps(d.rpc, d, head, await readOptins(d.rpc, d, head)));

  // License reasons and signers per app license (contract:token).
  const apps = new Map();
  for (const c of state.app_licenses) {
    for (const l of c.licenses) {
      apps.set(`${l.contract}:${l.token_id}`, l);
    }
  }
  const licenseReasons = (app) => {
    if (!app) return ['unknown_client_id'];
    const l = apps.get(`${app.contract}:${app.token_id}`);
    if (l.revoked) return ['license_revoked'];
    if (l.frozen) return ['license_suspended'];
    // The network file's requirement for the contract's class (the
    // devnet's: the seed's rule, understaked below 10,000 DIMO).
    const cls = (net.contracts.find((c) => c.address.toLowerCase() === l.contract.toLowerCase()) || {}).class || 'app';
    const req = (net.requirements || {})[cls];
    if (req && req.understaked && BigInt(l.staked || 0) < BigInt(req.stake)) return ['license_understaked'];
    return [];
  };

  // Also every app license as the asker of one touched combination, so
  // each license condition of the head (revoked, suspended) is asked
  // whatever the random grants chose (with no grant of its own, the answer
  // also names grant_missing, as the replay says).
  if (checks.length) {
    const c0 = checks[0];
    const grantees = new Set(checks.map((c) => c.grantee));
    for (const l of apps.values()) {
      if (!l.client_id || /^0x0{40}$/.test(l.client_id) || grantees.has(l.client_id)) continue;
      checks.push({ ...c0, grantee: l.client_id, grantee_app: { contract: l.contract, token_id: l.token_id } });
    }
  }
  // Also a token nobody granted anything on, for every grantee.
  for (const grantee of new Set(checks.map((c) => c.grantee))) {
    const c0 = checks.find((c) => c.grantee === grantee);
    checks.push({ ...c0, token_id: '999999', permission: 0 });
  }
  const seen = new Map();
  const tally = (reasons) => {
    for (const r of reasons) seen.set(r, (seen.get(r) || 0) + 1);
    if (!reasons.length) seen.set('allowed', (seen.get('allowed') || 0) + 1);
  };
  let asked = 0;
  let withSigner = 0;
  const stranger = '0x5151515151515151515151515151515151515151';
  const seenSigner = new Set();
  for (const c of checks) {
    const base = `client_id=${c.grantee}&asset=${c.asset}&token_id=${c.token_id}&permission=${c.permission}&at_block=${head}`;
    const want = [...licenseReasons(c.grantee_app), ...grantReasons(c.asset, c.token_id, c.grantee, c.permission)];
    const r = await get(o.base, `/v1/access?${base}`);
    asked++;
    if (r.status !== 200) {
      problems.push(`${base}: status ${r.status} ${r.text}`);
      continue;
    }
    tally(r.json.reasons);
    if (JSON.stringify(r.json.reasons) !== JSON.stringify(want)) differ(`reasons of ${base}`, r.json.reasons, want);
    if (r.json.allowed !== (want.length === 0)) differ(`allowed of ${base}`, r.json.allowed, want.length === 0);
    if (r.json.allowed && r.json.allowed_until === null) problems.push(`${base}: allowed without allowed_until`);
    if (!r.json.allowed && r.json.allowed_until !== null) problems.push(`${base}: allowed_until when not allowed`);
    // Each signer of the app once per grantee, plus one never enabled.
    const l = c.grantee_app && apps.get(`${c.grantee_app.contract}:${c.grantee_app.token_id}`);
    const signers = l ? Object.entries(l.signers) : [];
    signers.push([stranger, { enabled_at: '0', is_signer: false }]);
    for (const [signer, s] of signers) {
      const key = `${c.grantee}:${signer}`;
      if (seenSigner.has(key)) continue;
      seenSigner.add(key);
      const sr = await get(o.base, `/v1/access?${base}&signer=${signer}`);
      withSigner++;
      const sreason = s.is_signer ? [] : !l || BigInt(s.enabled_at || 0) === 0n ? ['signer_not_enabled'] : ['signer_expired'];
      const swant = [...licenseReasons(c.grantee_app), ...sreason, ...grantReasons(c.asset, c.token_id, c.grantee, c.permission)];
      if (sr.status === 200) tally(sr.json.reasons);
      if (sr.status !== 200 || JSON.stringify(sr.json.reasons) !== JSON.stringify(swant)) {
        differ(`reasons of ${base}&signer=${signer}`, sr.json && sr.json.reasons, swant);
      } else if (sr.json.signer.valid !== s.is_signer) {
        differ(`signer.valid of ${base}&signer=${signer}`, sr.json.signer.valid, s.is_signer);
      }
    }
  }

  // The command line: a sample of allowed and refused answers.
  let cli = 0;
  const sample = checks.filter((_, k) => k % Math.max(1, Math.floor(checks.length / 24)) === 0);
  for (const c of sample) {
    const args = ['access', '--db', o.db, '--network', o.network, '--client-id', c.grantee, '--asset', c.asset,
      '--token-id', c.token_id, '--permission', String(c.permission), '--at-block', String(head)];
    let out;
    let status = 0;
    try {
      out = execFileSync(o.bin, [...args, '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      status = e.status;
      out = e.stdout;
    }
    const r = await get(o.base, `/v1/access?client_id=${c.grantee}&asset=${c.asset}&token_id=${c.token_id}&permission=${c.permission}&at_block=${head}`);
    try {
      deepEq(JSON.parse(out), r.json, `dimo-indexer ${args.join(' ')} --json differs from the API`);
    } catch (e) {
      problems.push(e.message);
    }
    if (status !== (r.json.allowed ? 0 : 1)) differ(`exit status of dimo-indexer ${args.join(' ')}`, status, r.json.allowed ? 0 : 1);
    cli++;
  }
  // The scenario reaches every condition; each must have been seen.
  for (const r of ['allowed', 'unknown_client_id', 'license_revoked', 'license_suspended', 'signer_not_enabled',
    'grant_missing', 'grant_reset_by_transfer', 'grant_expired', 'permission_not_granted']) {
    if (!seen.has(r)) problems.push(`no answer had the reason ${r}: the scenario no longer covers it`);
  }
  const counts = [...seen].sort().map(([r, n]) => `${r} ${n}`).join(', ');
  return `${asked} combinations, ${withSigner} with a signer, ${cli} through the command line, at block ${head}; ${counts}`;
}

// ---- dump ---------------------------------------------------------------------------

function dumpMode(o) {
  const queries = [
    `SELECT 'rec', chain_id, block_number, log_index, encode(tx_hash, 'hex'), extract(epoch FROM block_time),
       encode(sacd, 'hex'), kind, op, generation, encode(asset, 'hex'), token_id, encode(grantee, 'hex'), permissions,
       expiration, template_id, source
     FROM sacd_records`,
    `SELECT 'pay', chain_id, block_number, log_index, encode(tx_hash, 'hex'), encode(sacd, 'hex'), encode(asset, 'hex'),
       encode(grantee, 'hex'), encode(grantor, 'hex'), amount, expiration, source FROM sacd_payments`,
    `SELECT 'upg', chain_id, block_number, log_index, encode(tx_hash, 'hex'), encode(contract, 'hex'), role,
       encode(implementation, 'hex') FROM sacd_upgrades`,
    `SELECT 'tev', chain_id, block_number, log_index, encode(tx_hash, 'hex'), encode(contract, 'hex'), template_id, kind,
       encode(creator, 'hex'), encode(asset, 'hex'), permissions, cid FROM sacd_template_events`,
    `SELECT 'tpl', chain_id, template_id, encode(contract, 'hex'), encode(creator, 'hex'), encode(asset, 'hex'),
       permissions, cid, active, created_block, changed_block, extract(epoch FROM changed_time) FROM sacd_templates`,
    `SELECT 'xfr', chain_id, block_number, log_index, encode(tx_hash, 'hex'), extract(epoch FROM block_time),
       encode(asset, 'hex'), token_id, encode(from_address, 'hex'), encode(to_address, 'hex'), kind
     FROM vehicle_transfers`,
    `SELECT 'pev', chain_id, block_number, log_index, encode(tx_hash, 'hex'), encode(asset, 'hex'), token_id,
       version, priv_id, encode(holder, 'hex'), expires FROM vehicle_privilege_events`,
    `SELECT 'grt', chain_id, encode(sacd, 'hex'), encode(asset, 'hex'), token_id, encode(grantee, 'hex'), kind, op,
       generation, block_number, log_index, encode(tx_hash, 'hex'), extract(epoch FROM block_time), permissions,
       permission_ids, expiration, extract(epoch FROM expires_at), template_id, source FROM sacd_grants`,
    `SELECT 'veh', chain_id, encode(asset, 'hex'), token_id, encode(owner, 'hex'), burned, reset_block,
       reset_log_index, extract(epoch FROM reset_time), encode(reset_tx, 'hex'), changed_block FROM vehicle_state`,
    `SELECT 'prv', chain_id, encode(asset, 'hex'), token_id, priv_id, encode(holder, 'hex'), version, expires,
       extract(epoch FROM expires_at), block_number, log_index, encode(tx_hash, 'hex') FROM vehicle_privileges`,
  ];
  const lines = [];
  for (const q of queries) {
    for (const l of psql(o.db, q).split('\n')) if (l) lines.push(l);
  }
  lines.sort();
  process.stdout.write(lines.join('\n') + (lines.length ? '\n' : ''));
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.mode === 'dump') return dumpMode(o);
  const summary = o.mode === 'reasons' ? await reasonsMode(o) : await oracleMode(o);
  if (problems.length) {
    console.error(`${problems.length} differences:`);
    for (const p of problems.slice(0, 60)) console.error('  ' + p);
    process.exit(1);
  }
  console.log(`access ${o.mode}: ok (${summary})`);
  process.exit(0);
}

main().catch((e) => {
  console.error(e.stack || String(e));
  process.exit(1);
});
