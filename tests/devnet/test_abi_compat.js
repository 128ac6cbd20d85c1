#!/usr/bin/env node
'use strict';
// Devnet test 4: the devnet is event-compatible with the hand-written ABI
// files in abi/: every event in every compiled devnet contract's ABI appears
// in the matching abi/ file with the same name, parameter types and indexed
// flags, and the same parameter names (the indexer stores decoded arguments
// under the abi/ names; the scenario's checks use the devnet's). Also checks
// each devnet event's topic0 against the facts table
// (shared/dimo-contracts.md). No chain needed.

const fs = require('fs');
const path = require('path');
const { runTest, assert } = require('./lib/harness');
const { compile, BUILD_DIR } = require('./compile');
const { keccak256Hex } = require('./lib/keccak');

const ROOT = path.resolve(__dirname, '..', '..');
const ABI_DIR = path.join(ROOT, 'abi');

// Which abi/ file each compiled contract must be compatible with (null: must emit nothing).
const MATCH = {
  DevLicenseDimo: 'DevLicenseDimo.json',
  DevLicenseDimoBytes32Alias: 'DevLicenseDimo.json',
  DevLicenseDimoV2: 'DevLicenseDimo.json', // the second implementation behind the app license proxy
  DevLicenseDimo2024: 'DevLicenseDimo2024.json',
  ManufacturerLicenseStake: 'ManufacturerLicenseStake.json',
  DimoToken: 'DimoToken.json',
  LicenseAccount: null,
  DevnetForwarder: null, // #25: the multisig-style forwarder emits nothing of its own
  Sacd: 'Sacd.json',
  SacdTemplated: 'Sacd.json',
  SacdRenounce: 'Sacd.json',
  DevnetProxy: 'Sacd.json', // Upgraded only (the proxy of SACD and of Template)
  DevnetUupsProxy: 'Sacd.json', // Upgraded only (the proxy of the app licenses)
  SacdTemplate: 'SacdTemplate.json',
  SacdTemplateActivate: 'SacdTemplate.json',
  DimoVehicle: 'DimoVehicle.json',
  DevnetConnections: 'DimoVehicle.json', // its ERC-721 Transfer only (no role of its own yet)
  StorageNode: 'StorageNode.json',
  NodeRegistry: 'NodeRegistry.json',
  Connections: 'Connections.json',
};

// topic0 facts (dimo-contracts.md), keyed by event signature.
const FACTS = {
  'Issued(uint256,address,address)': '0x7533f62ec6601bf9c87f8d96bf756b4b495e2a0e26ec9284e4927926ed6b3afd',
  'Transfer(address,address,uint256)': '0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef',
  'Locked(uint256)': '0x032bc66be43dbccb7487781d168eb7bda224628a3b2c3388bdf69b532a3a1611',
  'LicenseAliasSet(uint256,string)': '0xcd1647e82913e163e110815fdac0265c513795a376da7a90f90090cea69905a7',
  'LicenseAliasSet(uint256,bytes32)': '0xfe58d4b233d8114f2410e0523dd6a08f17b416b28c66c27fc4ba2f132f44e863',
  'SignerEnabled(uint256,address)': '0x0ea45d41f8d2f0fd7e53e2a0821276268b7cf41414e2c2eac7bf8cd69241386b',
  'SignerDisabled(uint256,address)': '0xdbd8d9c504c83e3bec8383041e811568d4eb37e94697dbfce9a50e8ae572017a',
  'RedirectUriEnabled(uint256,string)': '0x100a5934f50dcbea6ca17171581b081113167276cba43b6ca421a7bb1b9704f0',
  'RedirectUriDisabled(uint256,string)': '0xa5ad928ebfe9bbabb9b65e85335dc567892182dc87c0b7b1fef8d054db2383a3',
  'StakeDeposit(uint256,address,uint256)': '0x1cd3a07c960f34280cc48968d5b5315035ebdde3a1e371aa539bf0a415743a3b',
  'StakeWithdraw(uint256,address,uint256)': '0xb632f81a2da981f3daa6d867e773bbab8f2931ca133d2cca3595eb61af045c3a',
  'AssetFreezeUpdate(uint256,uint256,bool)': '0x16ba6956fa2c7ee4362cc81ca5ab2cb6bbd122fe59d7ce140387b1cd4e044899',
  'AssetForfeit(uint256,uint256)': '0x52d30ff0b778a7633bd7cbd2a5f340804ec47e42354939955b95c7647b5250b7',
  'UpdatePeriodValidity(uint256)': '0x9a360497eca32e7df7472fb414b7188a59505b079b391e7f3a12d59cc4c3fabd',
  'UpdateLicenseCost(uint256)': '0x0aca62d366c4fbb1ef303879453cb890975077ec0dcc742f25c0736c2f563652',
  'Deposit(uint256,address,uint256)': '0xeaa18152488ce5959073c9c79c88ca90b3d96c00de1f118cfaad664c3dab06b9',
  'Withdraw(uint256,address,uint256)': '0x9da6493a92039daf47d1f2d7a782299c5994c6323eb1e972f69c432089ec52bf',
  'UpdateMinimumStake(uint256)': '0xcbb91d072dbb6343465915f872eeb60dc1a13ae67c3c11d608e85c0c49b7591c',
  // AccessControl's role events (dimo-contracts.md section 1; #25).
  'RoleGranted(bytes32,address,address)': '0x2f8788117e7eff1d82e926ec794901d17c78024a50270940304540a733656f0d',
  'RoleRevoked(bytes32,address,address)': '0xf6391f5c32d9c69d2a47ea670b442974b53935d1edc7fd64eb21e047a839171b',
  'RoleAdminChanged(bytes32,bytes32,bytes32)': '0xbd79b86ffe0ab8e8776151514217cd7cacd52c909f66475c3af44e129f0b00ff',
  'StakeTokens(address,uint256)': '0xeb564dbda54c69318a29599b8551d044674ca4e3c47f3c0da3f4f253c90b1702',
  'UnstakeTokens(address,uint256)': '0xf74a79d13d6fdbdf26b2c779e6a24490a43e65d60cc7e064740f8d40b2b5ea2c',
  'EmergencyWithdrawal(address,uint256)': '0x23d6711a1d031134a36921253c75aa59e967d38e369ac625992824315e204f20',
  'StakeAmountAdjusted(uint256)': '0xe100971816337d5825f8570b428173ee97873063d0293ca6f88845ef7123b82c',
  'LicenseMinted(address,uint256)': '0xa61082ca5c0abc17994ed7c94b6d5c390edf79bab751fe2c7de47ddc3b02749c',
  'LicenseRevoked(uint256)': '0xf8ecc300d4504a2b49692052f138b7e697df679cf0580522720ce405bd01be55',
  'PermissionsSet(address,uint256,uint256,address,uint256,string)': '0x948fe417941bab89f81888f9039015a1da93ff8cbe034f5615f7bf35679de7db',
  'PermissionsSet(address,uint256,uint256,address,uint256,uint256,string)': '0x4a32700253007acd848b4ddb755cf335fdefab27ec717f48ac9a82305d98804a',
  'PermissionsRenounced(address,uint256,address)': '0x396d33091ebdc7d372ddd13bd00c2c5cbdadb5c9419f0026c159260ee069b13a',
  'PaymentSet(address,address,address,uint256,uint256,string)': '0xea8d632c616b0a57034db544e22aee1a35cb4092ddc8215008b13bf791b2bfa5',
  'Upgraded(address)': '0xbc7cd75a20ee27fd9adebab32041f755214dbc6bffa90cc0225b39da2e5c2d3b',
  'TemplateCreated(uint256,address,address,uint256,string)': '0x13afcb06b0acc825cac500f494719657942fa49f6f6bf018e067a0670faa280f',
  'TemplateDeactivated(uint256)': '0x39985767bcf8b3750746daea802fa7221d3057b28d5be7162a167c5e69a065f2',
  'TemplateActivated(uint256)': '0x0d40aeaa40661ce3a785bb569acbec41fe6811c2b9b40374eee211f7bde9d57f',
  'PrivilegeSet(uint256,uint256,uint256,address,uint256)': '0x61a24679288162b799d80b2bb2b8b0fcdd5c5f53ac19e9246cc190b60196c359',
  'Upgraded(address)': '0xbc7cd75a20ee27fd9adebab32041f755214dbc6bffa90cc0225b39da2e5c2d3b',
  'StorageNodeAnchorMinted(address,uint256,address,string,string)': '0x430efd668e3f72e9f9f42e0305fdf8b36a502ab1d64cc1f9cd0d0f81f980a4f5',
  'NodeUriUpdated(uint256,string)': '0x299aa0feeeceed16a093b27c728021c473ebe77d341fc5b465711983a7bb8521',
  'VehicleStorageNodeIdSet(uint256,uint256)': '0x9197060b37d411c171b9a3c09175a1f6e3f98e71adaf8f44c750a7cdd2c87fee',
  'NodeIdSetForVehicleId(uint256,uint256)': '0x69d862842a542c254e1c8f7394f40b9632ec6a00a452ea1e6e15f18618eb6b9d',
  'LicenseMinted(address,uint256,address,uint256)': '0x4bce7eaeb5f9b0163fdd057deb2a52eefcf77f28f50703ef59a20ddcd4751067',
  'ConnectionMinted(address,uint256,address,string,uint256,uint256)': '0xb751dcd57d7731ef1af0a7e83d4062bf65bff8bfe40b39d8d5039fcae7f8db92',
  'ConnectionMinted(address,uint256,address,string,bytes32,uint256)': '0x16e7256a94e935dc419efa2b47bdb62ec5023b40947b172169eeb37b9b132686',
  'ConnectionUpgraded(uint256,address,bytes32,uint256)': '0x93ddd901a3ea6ff22e9341e376e10dda6418aaaeb53a70944c43aa9f3e0923f6',
  'ConnectionConfigSet(bytes32,uint256,uint256)': '0x593c7899a7f5ec995ee4b81fda8eb207db516971606db21600afc1e2aa52d550',
  'LicenseCostSet(uint256)': '0x64ff47a047aab1310ab71801b127c5711061751fb7fc83c1ce777bc23410e0ab',
  // The app license's OpenZeppelin 5 Initializable (dimo-contracts.md section 1, "also emitted").
  'Initialized(uint64)': '0xc7f505b2f371ae2175ee4913f4499e1f2633a7b5936321eed1cdaeb6115181d2',
};

// Events a devnet contract emits that its abi/ file must NOT know (issue
// #22): the devnet's emitters of events no ABI knows, as on Polygon (the
// license contract's UpdateReceiverAddress, dimo-contracts.md section 1).
const UNKNOWN_ON_PURPOSE = new Set(['UpdateReceiverAddress(address)']);

// Events the indexer adds to every contract's events at load (README
// "Unknown events and upgrades"), so an abi/ file need not list them: the
// app license's UUPS upgrade logs Upgraded, which abi/DevLicenseDimo.json
// does not name. Still checked: the topic0 facts, and the shape when the
// abi/ file does name it.
const ADDED_BY_INDEXER = new Set(['Upgraded(address)']);

const shape = (ev) => `${ev.name}(${ev.inputs.map((i) => `${i.type}${i.indexed ? ' indexed' : ''}`).join(',')})${ev.anonymous ? ' anonymous' : ''}`;
const named = (ev) => `${shape(ev)} [${ev.inputs.map((i) => i.name).join(',')}]`;
const sig = (ev) => `${ev.name}(${ev.inputs.map((i) => i.type).join(',')})`;

function loadAbiFile(name) {
  const file = path.join(ABI_DIR, name);
  if (!fs.existsSync(file)) {
    throw new Error(`${path.relative(ROOT, file)} is missing: the devnet's events are checked against it ` +
      '(hand-written ABI files in abi/ are a prerequisite of this test)');
  }
  let j;
  try { j = JSON.parse(fs.readFileSync(file, 'utf8')); } catch (e) { throw new Error(`abi/${name}: not JSON (${e.message})`); }
  const list = Array.isArray(j) ? j : j.abi;
  if (!Array.isArray(list)) throw new Error(`abi/${name}: expected a JSON ABI array (or {"abi": [...]})`);
  return list.filter((x) => x.type === 'event');
}

runTest('test_abi_compat', async () => {
  const contracts = compile({ quiet: true });
  const problems = [];
  let checked = 0;
  const cache = {};
  for (const name of contracts) {
    assert(name in MATCH, `compiled contract ${name} has no abi/ file assigned in test_abi_compat.js`);
    const art = JSON.parse(fs.readFileSync(path.join(BUILD_DIR, `${name}.json`), 'utf8'));
    const events = art.abi.filter((x) => x.type === 'event');
    if (MATCH[name] === null) {
      if (events.length) problems.push(`${name} emits ${events.map(shape).join(', ')} but should emit nothing`);
      continue;
    }
    cache[MATCH[name]] = cache[MATCH[name]] || loadAbiFile(MATCH[name]);
    const theirs = new Set(cache[MATCH[name]].map(shape));
    const theirNames = new Set(cache[MATCH[name]].map(named));
    for (const ev of events) {
      checked++;
      if (UNKNOWN_ON_PURPOSE.has(sig(ev))) {
        if ([...theirs].some((x) => x.startsWith(ev.name + '('))) problems.push(`${name}: ${sig(ev)} must stay out of abi/${MATCH[name]} (the unknown-event path)`);
        continue;
      }
      const added = ADDED_BY_INDEXER.has(sig(ev)) && ![...theirs].some((x) => x.startsWith(ev.name + '('));
      if (added) {
        if (shape(ev) !== 'Upgraded(address indexed)') problems.push(`${name}: ${shape(ev)} is not ERC-1967's Upgraded`);
      } else if (!theirs.has(shape(ev))) problems.push(`${name}: ${shape(ev)} not in abi/${MATCH[name]}`);
      else if (!theirNames.has(named(ev))) problems.push(`${name}: ${named(ev)}: parameter names differ from abi/${MATCH[name]}`);
      const t = keccak256Hex(sig(ev));
      if (!(sig(ev) in FACTS)) problems.push(`${name}: ${sig(ev)} is not a DIMO license or opt-in event`);
      else if (FACTS[sig(ev)] !== t) problems.push(`${name}: topic0 of ${sig(ev)} is ${t}, facts say ${FACTS[sig(ev)]}`);
      if (art.eventTopics[sig(ev)] !== t) problems.push(`${name}: build eventTopics for ${sig(ev)} wrong`);
    }
  }
  assert(problems.length === 0, `devnet not event-compatible with abi/: ${problems.join("; ")}`);
  return `${checked} devnet events in ${contracts.length} contracts match abi/ (name, types, indexed, parameter names) and the topic0 facts`;
});
