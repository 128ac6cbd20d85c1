// The key order of license documents (issue #18 item 4): for each class
// the devnet holds, one license's document from the API (GET
// /v1/{apps|manufacturers|nodes|connections}/{id}) and from the CLI
// (`license KEY --class C --json`), at the same block, must
//   - be byte-equal (the same rendering on both sides);
//   - list the members of shared/license-json.md's example that it has in
//     the example's order, before any extra member, and the same for the
//     nested objects the example shows (issued, signers[], redirect_uris[],
//     stake_history[], slashes[]);
// and dimo_verify_license's `license` member follows the same order.
// Usage: node doc_order.js --md FILE --base URL --bin BIN --db CONNINFO --network FILE
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');

const arg = (name) => {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0 || i + 1 >= process.argv.length) throw new Error(`--${name} is required`);
  return process.argv[i + 1];
};
const md = arg('md'), base = arg('base'), bin = arg('bin'), db = arg('db'), network = arg('network');
const psql = (sql) => execFileSync('psql', [db, '-X', '-qAt', '-v', 'ON_ERROR_STOP=1', '-c', sql], { encoding: 'utf8' }).trim();

// The example: the first ```json block of license-json.md.
const m = /```json\n([\s\S]*?)```/.exec(fs.readFileSync(md, 'utf8'));
if (!m) throw new Error(`${md}: no json example`);
const example = JSON.parse(m[1]);
const top = Object.keys(example);
const nested = {}; // member -> the key order of its (first) object
for (const [k, v] of Object.entries(example)) {
  const o = Array.isArray(v) ? v[0] : v;
  if (o && typeof o === 'object') nested[k] = Object.keys(o);
}
if (top.slice(0, 3).join() !== 'class,contract,token_id' || Object.keys(nested).length < 4)
  throw new Error(`${md}: unexpected example (${top.join()})`);

const problems = [];
// keys: the document's member order; want: the documented order. The
// documented members present come first, in that order.
const checkOrder = (what, keys, want) => {
  const documented = keys.filter((k) => want.includes(k));
  const expect = want.filter((k) => keys.includes(k));
  if (documented.join() !== expect.join())
    problems.push(`${what}: documented members in order ${documented.join()}, want ${expect.join()}`);
  if (keys.slice(0, documented.length).join() !== documented.join())
    problems.push(`${what}: an extra member before a documented one: ${keys.join()}`);
};
const checkDoc = (what, doc) => {
  checkOrder(what, Object.keys(doc), top);
  let objects = 0;
  for (const [k, order] of Object.entries(nested)) {
    const v = doc[k];
    for (const o of Array.isArray(v) ? v : v ? [v] : []) {
      checkOrder(`${what}.${k}`, Object.keys(o), order);
      objects++;
    }
  }
  return objects;
};

const head = Number(psql('SELECT last_block FROM cursors'));
const classes = [
  // class, route, SQL picking a key that finds one license
  // (an app by its client id: token ids repeat across app contracts)
  ['app', 'apps', `SELECT '0x' || encode(client_id, 'hex') FROM license_state s WHERE class = 'app'
     ORDER BY (SELECT count(*) FROM stake_movements m WHERE m.contract = s.contract AND m.token_id = s.token_id) DESC,
       contract, token_id LIMIT 1`],
  ['manufacturer', 'manufacturers', `SELECT token_id FROM license_state WHERE class = 'manufacturer' GROUP BY token_id
     HAVING count(*) = 1 ORDER BY token_id LIMIT 1`],
  ['node', 'nodes', `SELECT token_id FROM storage_nodes ORDER BY token_id LIMIT 1`],
  ['connection', 'connections', `SELECT token_id FROM connections ORDER BY token_id LIMIT 1`],
];
let nestedSeen = 0;
for (const [cls, route, sql] of classes) {
  const id = psql(sql);
  if (!id) {
    problems.push(`${cls}: the devnet has no license of this class`);
    continue;
  }
  const api = execFileSync('curl', ['-sf', `${base}/v1/${route}/${id}?at_block=${head}`], { encoding: 'utf8' });
  const cli = execFileSync(bin, ['license', id, '--class', cls, '--at-block', String(head), '--json',
    '--db', db, '--network', network], { encoding: 'utf8' });
  const doc = JSON.parse(api);
  if (doc.class !== cls) problems.push(`${cls} ${id}: the API answered class ${doc.class}`);
  if (api.trim() !== cli.trim()) problems.push(`${cls} ${id}: API and CLI differ:\n  api ${api.trim()}\n  cli ${cli.trim()}`);
  nestedSeen += checkDoc(`${cls} ${id}`, doc);
  console.log(`${cls} ${id}: ${Object.keys(doc).join(', ')}`);
}
if (nestedSeen < 4) problems.push(`only ${nestedSeen} nested objects checked`);

// verify's license member (the document the API's verify answers carry).
const v = JSON.parse(psql(`SELECT dimo_verify_license(137, client_id, '\\x00')::text FROM license_state
  WHERE class = 'app' AND client_id IS NOT NULL ORDER BY token_id LIMIT 1`));
if (!v.license) problems.push('verify: no license member');
else checkDoc('verify.license', v.license);
if (Object.keys(v).join() !== 'valid,reason,license') problems.push(`verify: members ${Object.keys(v).join()}`);

if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(`doc order: ok (${classes.length} classes, ${nestedSeen} nested objects, verify)`);
