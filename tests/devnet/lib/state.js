'use strict';
// readState(rpcUrl, networkFile, blockTag): every license's view-function
// state at one block, read with batched eth_call at that block number.
// Enumeration uses views only (no log scans, so it stays fast after bulk
// runs of millions of events): app tokens 1..lastTokenId, their signers from
// the devnet-only signersOf(tokenId) (every signer ever enabled with
// enableSigner), redirect URIs from redirectUrisOf(tokenId), node stakers
// from stakers(), node tokens 1..lastMintedId.
// Output: uint256 as decimal strings, addresses lower-case hex; a revoked or
// missing token has owner null (ownerOf reverts). Per license also the
// contract's own mappings: alias_key (devnet aliasKeyOf: the bytes32 key,
// zero = none) and its reverse getTokenIdByLicenseAlias(bytes32) (0 once
// freed), tokenIdToClientId / clientIdToTokenId (0x0 / 0 after a revoke);
// client_id is the devnet's clientIdOf (the id it was issued with, kept).
// Per contract zero_alias_holder: who holds the all-zero alias key (the
// bytes32 variant's issues without an alias set it). With opt-in contracts in
// the network file, `optins` is lib/optins.js's readOptins at the same block
// (combinations touched by logs up to that block); otherwise null.

const { openDevnet } = require('./network');
const { qty } = require('./abi');
const { RpcError } = require('./rpc');
const { readOptins } = require('./optins');
const { clientIdFor } = require('./chain');

const s = (v) => (typeof v === 'bigint' ? v.toString() : v);
const ZERO32 = '0x' + '00'.repeat(32);

async function getLogs(rpc, address, fromBlock, toBlock, topics) {
  const out = [];
  const STEP = 20000;
  for (let from = fromBlock; from <= toBlock; from += STEP) {
    const to = Math.min(toBlock, from + STEP - 1);
    const logs = await rpc.call('eth_getLogs', [{ address, fromBlock: qty(from), toBlock: qty(to), topics }]);
    for (const l of logs) out.push(l);
  }
  return out;
}

/** Runs eth_calls in batches; returns decoded values, or null where the call reverted. */
async function multicall(rpc, reqs, blockNumber) {
  if (!reqs.length) return [];
  const calls = reqs.map(([c, name, args]) => c.callReq(name, args, blockNumber));
  const res = await rpc.batch(calls, { throwOnError: false, chunk: 500 });
  return res.map((r, i) => {
    if (r instanceof RpcError) {
      if (/revert/i.test(r.message) || r.code === 3) return null;
      throw r;
    }
    const [c, name, args] = reqs[i];
    return c.decodeResult(name, args.length, r);
  });
}

async function readApp(rpc, d, app, bn) {
  const entry = { address: app.address, contract: app.name };
  const head = [
    [app, 'periodValidity', []], [app, 'licenseCost', []], [app, 'lastTokenId', []],
    [app, 'totalStaked', []], [app, 'bulkEmitted', []], [app, 'getTokenIdByLicenseAlias(bytes32)', [ZERO32]],
  ];
  if (d.token) head.push([d.token, 'balanceOf', [app.address]]);
  const hv = await multicall(rpc, head, bn);
  Object.assign(entry, {
    period_validity: s(hv[0]), license_cost: s(hv[1]), last_token_id: s(hv[2]), total_staked: s(hv[3]),
    bulk_emitted: s(hv[4]), zero_alias_holder: s(hv[5]), dimo_balance: d.token ? s(hv[6]) : null,
  });
  const last = Number(hv[2]);
  // Freezes of ids not issued yet (adminFreeze takes any id; the scenario
  // freezes at most two ids ahead): they hold from the issue on.
  const aheadIds = [1, 2, 3, 4].map((k) => BigInt(last + k));
  const ahead = await multicall(rpc, aheadIds.map((id) => [app, 'frozen', [id]]), bn);
  entry.frozen_ahead = aheadIds.filter((id, i) => ahead[i] === true).map(s);
  const ids = Array.from({ length: last }, (_, i) => BigInt(i + 1));
  const PER = 9;
  const first = await multicall(rpc, ids.flatMap((id) => [
    [app, 'ownerOf', [id]], [app, 'stakedBalance', [id]], [app, 'frozen', [id]],
    [app, 'getLicenseAliasByTokenId', [id]], [app, 'clientIdOf', [id]], [app, 'signersOf', [id]],
    [app, 'redirectUrisOf', [id]], [app, 'aliasKeyOf', [id]], [app, 'tokenIdToClientId', [id]],
  ]), bn);
  const second = [];
  ids.forEach((id, i) => {
    const v = first.slice(i * PER, i * PER + PER);
    second.push([app, 'clientIdToTokenId', [v[4]]], [app, 'getTokenIdByLicenseAlias(bytes32)', [v[7]]]);
    for (const sg of v[5]) second.push([app, 'isSigner', [id, sg]], [app, 'getSignerExpiration', [id, sg]], [app, 'signerEnabledAt', [id, sg]]);
    for (const u of v[6]) second.push([app, 'redirectUriStatus', [id, u]]);
  });
  const sv = await multicall(rpc, second, bn);
  let k = 0;
  entry.licenses = ids.map((id, i) => {
    const v = first.slice(i * PER, i * PER + PER);
    const owner = v[0];
    const lic = {
      contract: app.address,
      token_id: s(id),
      owner,
      revoked: owner === null,
      staked: s(v[1]),
      frozen: v[2],
      alias: v[3],
      alias_key: v[7],
      client_id: v[4],
      client_id_of: v[4],
      token_id_to_client_id: v[8],
      client_id_to_token_id: s(sv[k++]),
      alias_key_to_token_id: s(sv[k++]),
      signers: {},
      redirect_uris: {},
    };
    for (const sg of [...v[5]].sort()) lic.signers[sg] = null;
    for (const sg of v[5]) lic.signers[sg] = { is_signer: sv[k++], expiration: s(sv[k++]), enabled_at: s(sv[k++]) };
    const uris = {};
    for (const u of v[6]) uris[u] = sv[k++];
    for (const u of Object.keys(uris).sort()) lic.redirect_uris[u] = uris[u];
    return lic;
  });
  return entry;
}

async function readNode(rpc, d, node, bn) {
  const head = [[node, 'minimumStake', []], [node, 'totalStaked', []], [node, 'lastMintedId', []], [node, 'stakers', []]];
  if (d.token) head.push([d.token, 'balanceOf', [node.address]]);
  const hv = await multicall(rpc, head, bn);
  const entry = {
    address: node.address, contract: node.name, minimum_stake: s(hv[0]), total_staked: s(hv[1]),
    last_minted_id: s(hv[2]), dimo_balance: d.token ? s(hv[4]) : null, stakes: {}, licenses: [],
  };
  const users = [...hv[3]].sort();
  const last = Number(hv[2]);
  const reqs = [];
  for (const u of users) reqs.push([node, 'stakedBalance', [u]], [node, 'isWhitelisted', [u]]);
  for (let id = 1; id <= last; id++) reqs.push([node, 'ownerOf', [id]]);
  const vals = await multicall(rpc, reqs, bn);
  let k = 0;
  for (const u of users) entry.stakes[u] = { staked: s(vals[k++]), whitelisted: vals[k++] };
  for (let id = 1; id <= last; id++) {
    const owner = vals[k++];
    entry.licenses.push({ token_id: String(id), owner, revoked: owner === null });
  }
  return entry;
}

/** Opt-in rows (lib/optins.js) name grantee_app from the contract's
 *  clientIdToTokenId, which DIMO's revoke deletes; but a client id never
 *  moves to another license, and the indexer keeps answering for it (status
 *  revoked). This fills grantee_app of such rows from the client ids issued
 *  (CREATE2 addresses of tokens 1..lastTokenId). Returns the same object. */
async function withIssuedGranteeApps(rpc, d, bn, optins) {
  if (!optins) return optins;
  const rows = optins.grants.filter((g) => g.grantee_app === null);
  if (!rows.length) return optins;
  const lasts = await multicall(rpc, d.apps.map((a) => [a, 'lastTokenId', []]), bn);
  const found = new Map();
  d.apps.forEach((a, j) => {
    for (let id = 1n; id <= (lasts[j] || 0n); id++) {
      const cid = clientIdFor(a.address, id);
      if (!found.has(cid)) found.set(cid, { contract: a.address, token_id: s(id) });
    }
  });
  for (const g of rows) g.grantee_app = found.get(g.grantee) || null;
  return optins;
}

async function readState(rpcOrUrl, networkFile, blockTag = 'latest') {
  const d = openDevnet(rpcOrUrl, networkFile);
  const rpc = d.rpc;
  const tag = typeof blockTag === 'number' ? qty(blockTag) : blockTag;
  const block = await rpc.call('eth_getBlockByNumber', [tag, false]);
  if (!block) throw new Error(`block ${blockTag} not found`);
  const bn = Number(BigInt(block.number));
  const state = {
    block: { number: bn, hash: block.hash, timestamp: Number(BigInt(block.timestamp)) },
    chain_id: Number(BigInt(await rpc.call('eth_chainId', []))),
    app_licenses: [],
    manufacturer_licenses: [],
    dimo_token: null,
    optins: null,
  };
  for (const app of d.apps) {
    if (app.startBlock > bn) state.app_licenses.push({ address: app.address, contract: app.name, deployed: false, licenses: [] });
    else state.app_licenses.push(await readApp(rpc, d, app, bn));
  }
  if (d.node && d.node.startBlock <= bn) state.manufacturer_licenses.push(await readNode(rpc, d, d.node, bn));
  if (d.token && d.token.startBlock <= bn) {
    const holders = new Set([...d.accounts, ...d.apps.map((a) => a.address)]);
    if (d.node) holders.add(d.node.address);
    const list = [...holders].sort();
    const vals = await multicall(rpc, [[d.token, 'totalSupply', []], ...list.map((a) => [d.token, 'balanceOf', [a]])], bn);
    state.dimo_token = { address: d.token.address, total_supply: s(vals[0]), balances: {} };
    list.forEach((a, i) => { state.dimo_token.balances[a] = s(vals[i + 1]); });
  }
  state.optins = await withIssuedGranteeApps(rpc, d, bn, await readOptins(rpc, d, bn));
  if (typeof rpcOrUrl === 'string') rpc.close();
  return state;
}

module.exports = { readState, getLogs, multicall, withIssuedGranteeApps };
