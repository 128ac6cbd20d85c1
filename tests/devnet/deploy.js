#!/usr/bin/env node
'use strict';
// Deploys the devnet contracts, funds the dev accounts with DIMO and writes
// the network file.
//
//   node tests/devnet/deploy.js --rpc URL --out FILE [--fund DIMO] [--interval S]
//
// Order: DimoToken, DevLicenseDimo, DevLicenseDimoBytes32Alias,
// ManufacturerLicenseStake (one block each; each app license is, as DIMO's,
// an implementation and its ERC-1967 proxy DevnetUupsProxy, both deployed in
// that one block, the proxy initialized in its constructor: it logs
// Upgraded(implementation), then the four RoleGranted), then one block with the DIMO mints and
// the max approvals of every dev account for the three license contracts,
// then the opt-in contracts: the 2024 Sacd implementation and its
// DevnetProxy (the address everything uses), DimoVehicle (knowing the proxy;
// privilege ids 1..VEHICLE_PRIVILEGES enabled), the SacdTemplate
// implementation and its proxy, one block each; and DevnetConnections'
// code installed at the Polygon ConnectionsManager address
// (anvil_setCode; no block). tests/devnet/lib/sacd_upgrades.js upgrades
// the proxies later (2024 -> templateId -> renounce), as on Polygon.
// Then the storage-node operators' contracts StorageNode and NodeRegistry
// (knowing the vehicle and StorageNode addresses) and Connections, one block
// each (appended last, so that every earlier contract keeps its block).
// Also sets anvil_setBlockTimestampInterval (default 2 s, Polygon-like) so
// every later block has a strictly increasing timestamp.
// Last, DevLicenseDimo2024 (the 2024 license contract's event generation),
// one block, listed as a further app_license with abi DevLicenseDimo2024.json
// and "x-scenario": false: the scenario's driver and oracle speak today's
// contract only and leave it alone; tests/devnet/license_2024.js drives it.

const fs = require('fs');
const path = require('path');
const { Rpc } = require('./lib/rpc');
const { deployContract, sendMany, lower, Contract, loadArtifact, createAddress } = require('./lib/chain');
const { encodeParams } = require('./lib/abi');
const { compile } = require('./compile');

const MAX_UINT = (1n << 256n) - 1n;
const E18 = 10n ** 18n;
/** Legacy vehicle privilege ids 1..N exist and are enabled from deployment. */
const VEHICLE_PRIVILEGES = 6;
/** DIMO's ConnectionsManager on Polygon: grants on it are connection grants. */
const CONNECTIONS = '0x41799e9dc893722844e771a1c1caf3bbc2876132';

/** Deploys `impl` and a DevnetProxy delegating to it (initData run through
 *  the proxy); returns {contract (the proxy, with the ABI of `abiName`),
 *  receipt (the proxy's), implementation}. */
async function deployProxied(rpc, admin, impl, abiName, initData = '0x') {
  const i = await deployContract(rpc, admin, impl);
  const p = await deployContract(rpc, admin, 'DevnetProxy', [i.contract.address, initData]);
  return { contract: new Contract(rpc, abiName, p.contract.address), receipt: p.receipt, implementation: i.contract.address };
}

/** Deploys `impl` (constructor `implArgs`) and a DevnetUupsProxy over it,
 *  initialized by its constructor (`initialize()` delegated), in one block:
 *  the implementation's address is the CREATE address of the admin's next
 *  nonce, so both transactions go out together (sendMany) and the app
 *  licenses keep the blocks they had as plain contracts. Returns
 *  {contract (the proxy, with `impl`'s ABI), receipt (the proxy's),
 *  implementation}. */
async function deployUups(rpc, admin, impl, implArgs) {
  const art = loadArtifact(impl);
  const ctor = art.abi.find((x) => x.type === 'constructor');
  const implData = art.bytecode + encodeParams(ctor.inputs.map((i) => i.type), implArgs).toString('hex');
  const implGas = Math.ceil(Number(BigInt(await rpc.call('eth_estimateGas', [{ from: admin, data: implData }]))) * 1.2) + 50000;
  const nonce = BigInt(await rpc.call('eth_getTransactionCount', [admin, 'pending']));
  const implementation = createAddress(admin, nonce);
  const initData = new Contract(rpc, art, implementation).encode('initialize', []);
  const proxyData = loadArtifact('DevnetUupsProxy').bytecode +
    encodeParams(['address', 'bytes'], [implementation, Buffer.from(initData.slice(2), 'hex')]).toString('hex');
  const [ri, rp] = await sendMany(rpc, [{ from: admin, data: implData, gas: implGas }, { from: admin, data: proxyData, gas: 1500000 }]);
  if (ri.status !== '0x1' || lower(ri.contractAddress) !== implementation) throw new Error(`deploying ${impl} failed (tx ${ri.transactionHash})`);
  if (rp.status !== '0x1') throw new Error(`deploying the proxy of ${impl} failed (tx ${rp.transactionHash})`);
  return { contract: new Contract(rpc, art, rp.contractAddress), receipt: rp, implementation };
}

function parseArgs(argv) {
  const o = { fund: '10000000', interval: 2 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--rpc') o.rpc = argv[++i];
    else if (a === '--out') o.out = argv[++i];
    else if (a === '--fund') o.fund = argv[++i];
    else if (a === '--interval') o.interval = Number(argv[++i]);
    else if (a === '--quiet') o.quiet = true;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!o.rpc || !o.out) throw new Error('usage: deploy.js --rpc URL --out FILE [--fund DIMO] [--interval S]');
  return o;
}

async function deploy({ rpc: rpcUrl, out, fund = '10000000', interval = 2, quiet = false }) {
  compile({ quiet: true });
  const rpc = new Rpc(rpcUrl);
  const chainId = Number(BigInt(await rpc.call('eth_chainId', [])));
  if (chainId !== 137) throw new Error(`expected chain id 137, node says ${chainId}`);
  const accounts = (await rpc.call('eth_accounts', [])).map(lower);
  if (accounts.length < 10) throw new Error(`need 10 unlocked dev accounts, node has ${accounts.length}`);
  const admin = accounts[0];
  if (interval > 0) await rpc.call('anvil_setBlockTimestampInterval', [interval]);

  const token = await deployContract(rpc, admin, 'DimoToken');
  const app = await deployUups(rpc, admin, 'DevLicenseDimo', [token.contract.address]);
  const appOld = await deployUups(rpc, admin, 'DevLicenseDimoBytes32Alias', [token.contract.address]);
  const node = await deployContract(rpc, admin, 'ManufacturerLicenseStake', [token.contract.address]);

  const amount = BigInt(fund) * E18;
  const txs = [];
  for (const a of accounts) txs.push(token.contract.txReq(admin, 'mint', [a, amount], { gas: 120000 }));
  for (const a of accounts) {
    for (const c of [app, appOld, node]) {
      txs.push(token.contract.txReq(a, 'approve', [c.contract.address, MAX_UINT], { gas: 80000 }));
    }
  }
  const receipts = await sendMany(rpc, txs);
  const bad = receipts.find((r) => r.status !== '0x1');
  if (bad) throw new Error(`funding tx ${bad.transactionHash} failed`);
  const fundBlock = Math.max(...receipts.map((r) => Number(BigInt(r.blockNumber))));

  // Opt-ins, after the license contracts so that their blocks stay as before.
  const sacd = await deployProxied(rpc, admin, 'Sacd', 'SacdRenounce');
  const vehicle = await deployContract(rpc, admin, 'DimoVehicle', [sacd.contract.address, VEHICLE_PRIVILEGES]);
  const templateImpl = new Contract(rpc, 'SacdTemplate', '0x' + '00'.repeat(20));
  const template = await deployProxied(rpc, admin, 'SacdTemplate', 'SacdTemplateActivate',
    templateImpl.encode('initialize', []));
  const conn = await deployContract(rpc, admin, 'DevnetConnections');
  await rpc.call('anvil_setCode', [CONNECTIONS, await rpc.call('eth_getCode', [conn.contract.address, 'latest'])]);

  // Storage nodes, the registry's vehicle -> node assignments, connections.
  const storageNode = await deployContract(rpc, admin, 'StorageNode');
  const registry = await deployContract(rpc, admin, 'NodeRegistry', [vehicle.contract.address, storageNode.contract.address]);
  const connections = await deployContract(rpc, admin, 'Connections');
  const lic2024 = await deployContract(rpc, admin, 'DevLicenseDimo2024', [token.contract.address]);

  const entry = (role, cls, d, name, extra = {}) => {
    const e = { role };
    if (cls) e.class = cls;
    Object.assign(e, {
      address: d.contract.address,
      abi: {
        app_license: 'DevLicenseDimo.json', manufacturer_license: 'ManufacturerLicenseStake.json', dimo_token: 'DimoToken.json',
        sacd: 'Sacd.json', vehicle: 'DimoVehicle.json', sacd_template: 'SacdTemplate.json',
        storage_node: 'StorageNode.json', node_registry: 'NodeRegistry.json', connection: 'Connections.json',
      }[role],
      start_block: Number(BigInt(d.receipt.blockNumber)),
      ...(name ? { 'x-contract': name } : {}),
      'x-deploy-tx': d.receipt.transactionHash,
      ...extra,
    });
    return e;
  };

  const network = {
    name: 'devnet',
    chain_id: 137,
    confirmations: 0,
    // The seed's rules (DIP-5 draft, dimo-contracts.md section 4): falling
    // below the requirement stops sharing, so every class is understaked
    // below it.
    requirements: {
      app: { stake: '10000000000000000000000', understaked: true, note: 'DIP-5 seed: 10,000 DIMO' },
      client: { stake: '10000000000000000000000', understaked: true, note: 'DIP-5 seed: 10,000 DIMO' },
      node: { stake: '100000000000000000000000', per_user: '2000000000000000000', understaked: true, note: 'DIP-5 seed: 100,000 DIMO plus 2 per user' },
      manufacturer: { stake: '100000000000000000000000', understaked: true, note: 'the 2022 Stake contract minimum' },
    },
    contracts: [
      // Proxies (DevnetUupsProxy): x-implementation is the first one
      // (the scenarios upgrade later; the Upgraded logs tell).
      entry('app_license', 'app', app, 'DevLicenseDimo', { 'x-alias-event': 'LicenseAliasSet(uint256,string)',
        'x-implementation': app.implementation }),
      entry('app_license', 'app', appOld, 'DevLicenseDimoBytes32Alias', { 'x-alias-event': 'LicenseAliasSet(uint256,bytes32)',
        'x-implementation': appOld.implementation }),
      entry('manufacturer_license', 'manufacturer', node, 'ManufacturerLicenseStake'),
      entry('dimo_token', null, token, 'DimoToken'),
      // x-contract: the implementation as deployed (the 2024 one), so the
      // scenario's checks see the events it emits; lib/sacd_upgrades.js and
      // lib/optins.js read the proxy with SacdRenounce's ABI (every generation).
      entry('sacd', null, sacd, 'Sacd', { 'x-implementation': sacd.implementation }),
      entry('vehicle', null, vehicle, 'DimoVehicle', { 'x-sacd': sacd.contract.address, 'x-privilege-count': VEHICLE_PRIVILEGES }),
      // No x-contract: no scenario operation touches the Template (see
      // lib/sacd_upgrades.js); its implementation is named for readers.
      entry('sacd_template', null, template, null, {
        'x-implementation': template.implementation, 'x-implementation-contract': 'SacdTemplate',
      }),
      entry('storage_node', 'node', storageNode, 'StorageNode'),
      entry('node_registry', null, registry, 'NodeRegistry', { 'x-vehicle': vehicle.contract.address }),
      entry('connection', 'connection', connections, 'Connections'),
      entry('app_license', 'app', lic2024, 'DevLicenseDimo2024', { abi: 'DevLicenseDimo2024.json', 'x-scenario': false }),
    ],
    'x-connections': CONNECTIONS,
    'x-rpc-url': rpcUrl,
    'x-admin': admin,
    'x-dev-accounts': accounts,
    'x-deploy-block': Number(BigInt(token.receipt.blockNumber)),
    'x-funded-block': fundBlock,
    'x-funding-per-account': amount.toString(),
    'x-block-timestamp-interval': interval,
    'x-client-id-scheme': 'CREATE2 by the license contract: salt = bytes32(tokenId), init code = ' +
      'LicenseAccount creation code ++ abi.encode(uint256 tokenId); ' +
      'clientId = keccak256(0xff ++ license ++ salt ++ keccak256(initCode))[12:]',
    'x-node-minimum-stake': (100000n * E18).toString(),
    'x-period-validity': String(365 * 24 * 3600),
    'x-optins-block': Number(BigInt(template.receipt.blockNumber)),
    'x-nodes-block': Number(BigInt(connections.receipt.blockNumber)),
  };
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(network, null, 2) + '\n');
  fs.renameSync(tmp, out);
  rpc.close();
  if (!quiet) {
    console.log(`deploy: token ${token.contract.address}, app ${app.contract.address}, app (bytes32 alias) ` +
      `${appOld.contract.address}, node ${node.contract.address}, sacd ${sacd.contract.address}, vehicle ` +
      `${vehicle.contract.address}, storage node ${storageNode.contract.address}, registry ` +
      `${registry.contract.address}, connections ${connections.contract.address}; blocks ` +
      `${network['x-deploy-block']}..${network['x-nodes-block']}; wrote ${out}`);
  }
  return network;
}

module.exports = { deploy, deployProxied, deployUups, VEHICLE_PRIVILEGES, CONNECTIONS };

if (require.main === module) {
  let opts;
  try { opts = parseArgs(process.argv.slice(2)); } catch (e) { console.error(e.message); process.exit(2); }
  deploy(opts).catch((e) => { console.error(`deploy: ${e.stack || e.message}`); process.exit(1); });
}
