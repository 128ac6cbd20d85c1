// api_endpoints.js: every read endpoint of the HTTP API against the indexed
// fixed scenario, compared with `dimo-indexer license KEY --json` (the same
// documents read through the CLI) and with the database; the validation
// answers; /healthz, /readyz, /metrics; the cache.
//
// node api_endpoints.js --base URL --bin BIN --network FILE --db CONNINFO --rpc URL
'use strict';

const { execFileSync } = require('child_process');
const c = require('./api_client');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].slice(2)] = process.argv[i + 1];
const { base, bin, network, db } = args;
const net = require(network);

const { step, ok, eq, deepEq, checks } = c.counted();
const psql = (sql) =>
  execFileSync('psql', [db, '-v', 'ON_ERROR_STOP=1', '-qAt', '-c', sql]).toString('utf8').trim();

async function getJson(path, status = 200) {
  const r = await c.get(base, path);
  eq(r.status, status, `GET ${path} status (body ${r.text.slice(0, 300)})`);
  eq(r.headers['content-type'], 'application/json', `GET ${path} content-type`);
  ok(r.json !== undefined, `GET ${path}: body is JSON: ${r.text.slice(0, 200)}`);
  return r.json;
}

async function allPages(path, member, limit) {
  const out = [];
  let after = '';
  for (let i = 0; i < 1000; i++) {
    const sep = path.includes('?') ? '&' : '?';
    const page = await getJson(`${path}${sep}limit=${limit}${after ? `&after=${encodeURIComponent(after)}` : ''}`);
    ok(Array.isArray(page[member]), `${path}: ${member} is an array`);
    ok(page[member].length <= limit, `${path}: page longer than the limit`);
    out.push(...page[member]);
    if (!page.next) return out;
    after = page.next;
  }
  throw new Error(`${path}: paging does not end`);
}

// The document of contract/token among the CLI's answer (one or an array).
function pick(cli, doc) {
  const list = Array.isArray(cli) ? cli : cli ? [cli] : [];
  return list.find((d) => d.contract === doc.contract && d.token_id === doc.token_id);
}

async function main() {
  const head = parseInt(await c.rpc(args.rpc, 'eth_blockNumber'), 16);

  step('health and readiness');
  const h = await getJson('/healthz');
  deepEq(h, { status: 'ok' }, '/healthz');
  const head1 = await c.request(base, 'HEAD', '/healthz');
  eq(head1.status, 200, 'HEAD /healthz');
  eq(head1.text, '', 'HEAD /healthz has no body');
  const ready = await getJson('/readyz');
  eq(ready.ready, true, '/readyz ready');
  eq(ready.indexed_block, head, '/readyz indexed_block is the chain head');
  eq(ready.database, 'ok', '/readyz database');

  step('licenses: list, paging, filters');
  const list = (await getJson('/v1/licenses?limit=1000')).licenses;
  const count = Number(psql(`SELECT count(*) FROM license_state WHERE chain_id = ${net.chain_id}`));
  eq(list.length, count, 'every license listed');
  ok(list.length >= 10, `the scenario has licenses (${list.length})`);
  deepEq(await allPages('/v1/licenses', 'licenses', 2), list, 'pages of 2 make the whole list');
  deepEq(await allPages('/v1/licenses', 'licenses', 1), list, 'pages of 1 make the whole list');
  for (const [query, pred] of [
    ['class=app', (l) => l.class === 'app'],
    ['class=manufacturer', (l) => l.class === 'manufacturer'],
    ['status=revoked', (l) => l.status === 'revoked'],
    ['status=active', (l) => l.status === 'active'],
    ['status=suspended', (l) => l.status === 'suspended'],
    [`owner=${list[0].owner}`, (l) => l.owner === list[0].owner],
    [`owner=${list[0].owner.toUpperCase().replace('0X', '0x')}`, (l) => l.owner === list[0].owner],
    [`class=app&status=active&owner=${list[0].owner}`,
      (l) => l.class === 'app' && l.status === 'active' && l.owner === list[0].owner],
  ]) {
    const got = (await getJson(`/v1/licenses?${query}&limit=1000`)).licenses;
    deepEq(got, list.filter(pred), `/v1/licenses?${query}`);
  }
  ok(list.some((l) => l.status === 'revoked') && list.some((l) => l.class === 'manufacturer'), 'varied statuses');
  ok(!list.some((l) => l.class === 'node'), 'no license of the 2022 contract is called a node');

  step('license documents: /v1/apps and /v1/manufacturers against `dimo-indexer license --json`');
  let docs = 0;
  for (const l of list) {
    const cls = l.class;
    if (cls === 'app') {
      // By client id: unique.
      const byClient = await getJson(`/v1/apps/${l.client_id}`);
      const cli = c.license(bin, network, db, l.client_id, ['--class', 'app']);
      deepEq(byClient, pick(cli, l), `/v1/apps/${l.client_id} == license --json`);
      eq(byClient.token_id, l.token_id, 'client id finds its license');
      // Upper-case hex is the same address.
      deepEq(await getJson(`/v1/apps/0x${l.client_id.slice(2).toUpperCase()}`), byClient, 'upper-case client id');
      if (l.alias) {
        const byAlias = await getJson(`/v1/apps/${encodeURIComponent(l.alias)}`);
        const cliAlias = c.license(bin, network, db, l.alias, ['--class', 'app']);
        deepEq(byAlias, Array.isArray(cliAlias) ? cliAlias[0] : cliAlias, `/v1/apps/${l.alias} == license --json`);
      }
      // By token id: the first match (contract order), as the CLI's first.
      const byToken = await getJson(`/v1/apps/${l.token_id}`);
      const cliToken = c.license(bin, network, db, l.token_id, ['--class', 'app']);
      deepEq(byToken, Array.isArray(cliToken) ? cliToken[0] : cliToken, `/v1/apps/${l.token_id}`);
      docs++;
    } else if (cls === 'manufacturer') {
      const byToken = await getJson(`/v1/manufacturers/${l.token_id}`);
      deepEq(byToken, pick(c.license(bin, network, db, l.token_id, ['--class', 'manufacturer']), l), `/v1/manufacturers/${l.token_id}`);
      ok(Array.isArray(byToken.slashes) && byToken.slashes.length === 0,
        'a manufacturer document has license-json.md\'s slashes member, empty (there is no slash path)');
      const byOwner = await getJson(`/v1/manufacturers/${l.owner}`);
      const cliOwner = c.license(bin, network, db, l.owner, ['--class', 'manufacturer']);
      deepEq(byOwner, Array.isArray(cliOwner) ? cliOwner[0] : cliOwner, `/v1/manufacturers/${l.owner}`);
      docs++;
    }
  }
  ok(docs === list.length, 'every license checked');
  // A manufacturer is not an app.
  const mf = list.find((l) => l.class === 'manufacturer');
  await getJson(`/v1/apps/${mf.owner}`, list.some((l) => l.class === 'app' && l.owner === mf.owner) ? 200 : 404);
  const nf = await getJson('/v1/apps/no-such-alias', 404);
  eq(nf.error, 'no app license matches "no-such-alias"', '404 message');
  await getJson('/v1/manufacturers/999999', 404);

  step('storage nodes and connections: /v1/nodes, /v1/connections against `license --class node|connection`');
  const nodes = psql(`SELECT token_id || '|' || coalesce(label, '') FROM storage_nodes WHERE chain_id = ${net.chain_id} ORDER BY token_id`)
    .split('\n').filter(Boolean).map((r) => r.split('|'));
  ok(nodes.length >= 2, `the scenario has storage nodes (${nodes.length})`);
  for (const [id, label] of nodes) {
    const byId = await getJson(`/v1/nodes/${id}`);
    eq(byId.class, 'node', `/v1/nodes/${id} class`);
    eq(typeof byId.users, 'number', `/v1/nodes/${id} users`);
    eq(byId.staked, null, 'no node bond on chain');
    eq(byId.trust_ratio, null, 'no trust ratio without a bond');
    deepEq(byId, c.license(bin, network, db, id, ['--class', 'node']), `/v1/nodes/${id} == license --class node`);
    if (label) deepEq(await getJson(`/v1/nodes/${encodeURIComponent(label)}`), byId, `/v1/nodes/${label} (label)`);
    const past = await getJson(`/v1/nodes/${id}?at_block=${byId.issued.block}`);
    deepEq(past, c.license(bin, network, db, id, ['--class', 'node', '--at-block', String(byId.issued.block)]),
      `/v1/nodes/${id}?at_block == license --at-block`);
    docs++;
  }
  const conns = psql(`SELECT token_id || '|' || coalesce(name, '') FROM connections WHERE chain_id = ${net.chain_id} ORDER BY token_id`)
    .split('\n').filter(Boolean).map((r) => r.split('|'));
  ok(conns.length >= 3, `the scenario has connections of all three generations (${conns.length})`);
  for (const [id, name] of conns) {
    const byId = await getJson(`/v1/connections/${id}`);
    eq(byId.class, 'connection', `/v1/connections/${id} class`);
    deepEq(byId, c.license(bin, network, db, id, ['--class', 'connection']), `/v1/connections/${id} == license --class connection`);
    if (name) deepEq(await getJson(`/v1/connections/${encodeURIComponent(name)}`), byId, `/v1/connections/${name} (name)`);
  }
  await getJson('/v1/nodes/no-such-node', 404);
  await getJson('/v1/connections/no-such-connection', 404);
  eq(c.license(bin, network, db, 'no-such-node', ['--class', 'node']), null, 'license --class node: unknown key exits 1');
  for (const [args, re] of [[['--class', 'vendor'], /--class must be app, client, manufacturer, node or connection/],
    [['--class', 'connection'], /connection key/]]) {
    const key = args[1] === 'connection' ? 'x'.repeat(33) : '1';
    let code = 0, err = '';
    try { c.license(bin, network, db, key, args); } catch (e) { err = e.message; code = Number((/exit (\d+)/.exec(e.message) || [])[1]); }
    eq(code, 2, `license ${key} ${args.join(' ')}: exit 2`);
    ok(re.test(err), `license ${args.join(' ')}: ${err}`);
  }
  await getJson('/v1/apps/0x0000000000000000000000000000000000000001', 404);

  step('?at_block=N against `license --at-block N --json`');
  const app1 = list.find((l) => l.class === 'app' && l.client_id && l.alias);
  const issued = (await getJson(`/v1/apps/${app1.client_id}`)).issued.block;
  for (const b of [issued - 1, issued, issued + 5, Math.floor((issued + head) / 2), head]) {
    const cli = c.license(bin, network, db, app1.client_id, ['--class', 'app', '--at-block', String(b)]);
    const r = await c.get(base, `/v1/apps/${app1.client_id}?at_block=${b}`);
    if (!pick(cli, app1)) {
      eq(r.status, 404, `at_block ${b}: not issued yet`);
    } else {
      eq(r.status, 200, `at_block ${b}`);
      deepEq(r.json, pick(cli, app1), `/v1/apps/..?at_block=${b} == license --at-block ${b}`);
      eq(r.json.as_of_block, b, 'as_of_block');
    }
  }
  const beyond = await getJson(`/v1/apps/${app1.client_id}?at_block=${head + 1000}`, 400);
  ok(/not indexed/.test(beyond.error), `at_block beyond the index: ${beyond.error}`);

  step('signers: /v1/apps/{id}/signers/{address} against the documents');
  let signerChecks = 0;
  for (const l of list.filter((x) => x.class === 'app')) {
    const doc = await getJson(`/v1/apps/${l.client_id}`);
    for (const s of doc.signers) {
      const st = await getJson(`/v1/apps/${l.client_id}/signers/${s.address}`);
      eq(st.valid, s.valid, `signer ${s.address} valid`);
      eq(st.enabled_at, s.enabled_at, `signer ${s.address} enabled_at`);
      eq(st.expires_at, s.expires_at, `signer ${s.address} expires_at`);
      eq(st.signer, s.address, 'signer echoed');
      eq(st.license.token_id, l.token_id, 'signer status names the license');
      signerChecks++;
    }
    const none = await getJson(`/v1/apps/${l.client_id}/signers/0x00000000000000000000000000000000000000aa`);
    eq(none.valid, false, 'unknown signer is not valid');
    eq(none.enabled_at, null, 'unknown signer has no enabled_at');
  }
  ok(signerChecks >= 5, `signers checked (${signerChecks})`);
  await getJson('/v1/apps/no-such-alias/signers/0x00000000000000000000000000000000000000aa', 404);

  step('slashes: /v1/slashes against the database');
  const slashes = (await getJson('/v1/slashes?limit=1000')).slashes;
  eq(slashes.length, Number(psql(`SELECT count(*) FROM slashes WHERE chain_id = ${net.chain_id}`)), 'every slash');
  ok(slashes.length >= 4, 'the scenario slashed four times');
  deepEq(await allPages('/v1/slashes', 'slashes', 1), slashes, 'slash pages of 1');
  const slashed = slashes[0].license;
  const lic = list.find((l) => l.contract === slashed.contract && l.token_id === slashed.token_id);
  const mine = (await getJson(`/v1/slashes?license=${lic.client_id}&limit=1000`)).slashes;
  deepEq(mine, slashes.filter((s) => s.license.contract === lic.contract && s.license.token_id === lic.token_id),
    '/v1/slashes?license=');
  const first = slashes[0].block;
  eq((await getJson(`/v1/slashes?at_block=${first - 1}`)).slashes.length, 0, 'no slash before the first');
  ok((await getJson(`/v1/slashes?at_block=${first}`)).slashes.length >= 1, 'the first slash at its block');
  await getJson('/v1/slashes?license=no-such-alias', 404);
  ok(slashes.some((s) => s.destination === 'burn') && slashes.some((s) => /^0x/.test(s.destination)),
    'burns and reallocations');

  step('validation: 400 with a reason');
  const bad = [
    ['/v1/apps/0x123', /40 hex digits/], // (an even count is the hex form of an alias that is not text)
    ['/v1/apps/0xzz34567890123456789012345678901234567890', /not a token id|alias/],
    [`/v1/apps/${'1'.repeat(79)}`, /78 digits/],
    [`/v1/apps/${'a'.repeat(33)}`, /32 bytes/],
    ['/v1/apps/%ZZ', /percent-encoding/],
    ['/v1/apps/%FF%FE', /UTF-8/],
    ['/v1/apps/a%00b', /UTF-8|NUL/],
    ['/v1/manufacturers/some-alias', /token id or a 0x owner address/],
    [`/v1/connections/${'x'.repeat(33)}`, /at most 32 bytes/],
    ['/v1/nodes/a%01b', /control character/],
    [`/v1/nodes/${'9'.repeat(79)}`, /2\^256/],
    ['/v1/apps/1?at_block=x', /at_block/],
    ['/v1/apps/1?at_block=-1', /at_block/],
    ['/v1/apps/1?at_block=99999999999999999999', /at_block/],
    ['/v1/apps/1?at_block=1&at_block=2', /twice/],
    ['/v1/apps/1?colour=red', /unknown query parameter "colour"/],
    ['/v1/apps/1/signers/0x12', /signer must be a 0x address/],
    ['/v1/licenses?limit=0', /limit must be 1\.\.1000/],
    ['/v1/licenses?limit=1001', /limit must be 1\.\.1000/],
    ['/v1/licenses?limit=ten', /limit/],
    ['/v1/licenses?class=vendor', /class must be/],
    ['/v1/licenses?status=sleeping', /status must be/],
    ['/v1/licenses?owner=0x1', /owner must be a 0x address/],
    ['/v1/licenses?after=nonsense', /malformed page cursor/],
    ['/v1/licenses?at_block=3', /not supported/],
    ['/v1/slashes?after=nonsense', /malformed page cursor/],
    ['/v1/slashes?limit=0', /limit/],
    ['/v1/slashes?license=0x123', /40 hex digits/],
    ['/healthz?x=1', /unknown query parameter/],
  ];
  for (const [path, re] of bad) {
    const r = await getJson(path, 400);
    ok(typeof r.error === 'string' && re.test(r.error), `${path}: error "${r.error}" should match ${re}`);
  }
  // Percent-encoded and '+' in query values.
  const plus = await getJson('/v1/slashes?license=no+such+alias', 404);
  eq(plus.error, 'no license matches "no such alias"', "'+' is a space in the query");

  step('routes, methods');
  eq((await getJson('/nope', 404)).error, 'no such endpoint: /nope', '404 route');
  await getJson('/v1/apps', 404);
  await getJson('/v1/apps/1/signers', 404);
  const del = await c.request(base, 'DELETE', '/v1/apps/1');
  eq(del.status, 405, 'DELETE is 405');
  eq(del.headers.allow, 'GET, HEAD', 'Allow header');
  const getVerify = await c.get(base, '/v1/verify');
  eq(getVerify.status, 405, 'GET /v1/verify is 405');
  eq(getVerify.headers.allow, 'POST', 'Allow: POST');
  const headDoc = await c.request(base, 'HEAD', `/v1/apps/${app1.client_id}`);
  eq(headDoc.status, 200, 'HEAD a document');
  eq(headDoc.text, '', 'HEAD has no body');
  ok(Number(headDoc.headers['content-length']) > 100, 'HEAD gives the length');

  step('cache: repeated answers are identical and counted');
  const m0 = c.metrics((await c.get(base, '/metrics')).text);
  const again = [];
  for (let i = 0; i < 20; i++) again.push((await c.get(base, `/v1/apps/${app1.client_id}`)).text);
  ok(again.every((t) => t === again[0]), 'same answer 20 times');
  const m1 = c.metrics((await c.get(base, '/metrics')).text);
  ok(m1.get('dimo_api_cache_hits_total') >= m0.get('dimo_api_cache_hits_total') + 18, 'cache hits counted');

  step('metrics');
  const mt = await c.get(base, '/metrics');
  eq(mt.status, 200, '/metrics');
  ok(mt.headers['content-type'].startsWith('text/plain; version=0.0.4'), 'Prometheus content type');
  const m = c.metrics(mt.text);
  for (const name of ['dimo_chain_head_block', 'dimo_indexed_block', 'dimo_index_lag_blocks',
    'dimo_sync_batches_total', 'dimo_reorgs_total', 'dimo_reorg_max_depth_blocks',
    'dimo_rpc_requests_total', 'dimo_rpc_failures_total', 'dimo_rpc_latency_seconds_count',
    'dimo_db_batch_duration_seconds_count', 'dimo_http_connections_open', 'dimo_db_pool_up']) {
    ok(m.has(name), `metric ${name} present`);
  }
  eq(m.get('dimo_indexed_block'), head, 'dimo_indexed_block');
  eq(m.get('dimo_chain_head_block'), head, 'dimo_chain_head_block');
  eq(m.get('dimo_index_lag_blocks'), 0, 'dimo_index_lag_blocks');
  eq(m.get('dimo_db_pool_up'), 4, 'four API connections up');
  ok(m.get('dimo_stored_events{event="Issued"}') >= 5, 'stored events by name');
  eq(m.get('dimo_stored_events{event="Issued"}'),
    Number(psql(`SELECT count(*) FROM logs WHERE event_name = 'Issued'`)), 'Issued count');
  ok(m.get('dimo_http_requests_total{route="/v1/apps/{id}",code="200"}') >= 40, 'requests by route and code');
  ok(m.get('dimo_http_requests_total{route="/v1/apps/{id}",code="400"}') >= 5, '400s counted');
  ok(m.get('dimo_http_requests_total{route="other",code="404"}') >= 1, '404s counted');
  // Histograms: cumulative buckets, +Inf equals _count.
  for (const [hist, label] of [['dimo_rpc_latency_seconds', ''], ['dimo_db_batch_duration_seconds', ''],
    ['dimo_http_request_duration_seconds', 'route="/v1/apps/{id}",']]) {
    const buckets = [...m.entries()].filter(([k]) => k.startsWith(`${hist}_bucket{${label}le=`));
    ok(buckets.length >= 5, `${hist} has buckets`);
    for (let i = 1; i < buckets.length; i++) ok(buckets[i][1] >= buckets[i - 1][1], `${hist} buckets are cumulative`);
    const inf = m.get(`${hist}_bucket{${label}le="+Inf"}`);
    const cnt = m.get(label ? `${hist}_count{${label.slice(0, -1)}}` : `${hist}_count`);
    eq(inf, cnt, `${hist}: +Inf bucket equals _count`);
    ok(cnt > 0, `${hist} observed something`);
  }
  ok(m.get('dimo_db_batch_duration_seconds_count') >= 1, 'batches observed');

  console.log(`api endpoints: ok (${checks()} checks, ${list.length} licenses, ${slashes.length} slashes)`);
}

main().catch((e) => {
  console.error(`FAIL: ${e.message}`);
  process.exit(1);
});
