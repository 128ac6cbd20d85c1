'use strict';
// Reads a devnet network file and returns contract handles.

const fs = require('fs');
const { Rpc } = require('./rpc');
const { Contract, lower } = require('./chain');

const ROLE_DEFAULT_CONTRACT = {
  app_license: 'DevLicenseDimo',
  manufacturer_license: 'ManufacturerLicenseStake',
  dimo_token: 'DimoToken',
  sacd: 'Sacd',
  vehicle: 'DimoVehicle',
};

function readNetwork(file) {
  const net = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (!Array.isArray(net.contracts)) throw new Error(`${file}: no contracts[]`);
  return net;
}

/** {rpc, net, token, apps[], node, sacd, vehicle, admin, accounts, byAddress, all}
 *  (sacd and vehicle are null for a network file without opt-in contracts) */
function openDevnet(rpcOrUrl, networkFile) {
  const rpc = typeof rpcOrUrl === 'string' ? new Rpc(rpcOrUrl) : rpcOrUrl;
  const net = typeof networkFile === 'string' ? readNetwork(networkFile) : networkFile;
  const apps = [];
  let node = null;
  let token = null;
  let sacd = null;
  let vehicle = null;
  const all = [];
  for (const c of net.contracts) {
    const artifactName = c['x-contract'] || ROLE_DEFAULT_CONTRACT[c.role];
    if (!artifactName) continue;
    const h = new Contract(rpc, artifactName, c.address, c['x-label'] || artifactName);
    h.role = c.role;
    h.startBlock = Number(c.start_block || 0);
    h.entry = c;
    all.push(h);
    // "x-scenario": false (the 2024 license contract): not one of the apps
    // the scenario drives and reads.
    if (c.role === 'app_license' && c['x-scenario'] !== false) apps.push(h);
    else if (c.role === 'manufacturer_license' && !node) node = h;
    else if (c.role === 'dimo_token' && !token) token = h;
    else if (c.role === 'sacd' && !sacd) sacd = h;
    else if (c.role === 'vehicle' && !vehicle) vehicle = h;
  }
  const byAddress = new Map(all.map((h) => [h.address, h]));
  return {
    rpc, net, apps, node, token, sacd, vehicle, all, byAddress,
    admin: lower(net['x-admin']),
    accounts: (net['x-dev-accounts'] || []).map(lower),
    /** Decodes any log emitted by a known contract: {address, contract, name, args} or null. */
    decodeLog(log) {
      const h = byAddress.get(lower(log.address));
      if (!h) return null;
      const d = h.decodeLog(log);
      return d ? { address: h.address, contract: h.label, role: h.role, ...d } : null;
    },
  };
}

module.exports = { readNetwork, openDevnet };
