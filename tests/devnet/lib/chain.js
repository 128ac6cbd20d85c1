'use strict';
// Contract call/send helpers with receipt polling, artifact loading,
// address derivation (CREATE, CREATE2 client ids) and log decoding.

const fs = require('fs');
const path = require('path');
const abi = require('./abi');
const { keccak256 } = require('./keccak');

const BUILD_DIR = path.resolve(__dirname, '..', 'build');
const DEFAULT_GAS = 3000000;
const REVERT_GAS = 1000000;

const artifactCache = new Map();
function loadArtifact(name) {
  if (!artifactCache.has(name)) {
    const file = path.join(BUILD_DIR, `${name}.json`);
    if (!fs.existsSync(file)) {
      throw new Error(`${file} missing: run "node tests/devnet/compile.js" first`);
    }
    artifactCache.set(name, JSON.parse(fs.readFileSync(file, 'utf8')));
  }
  return artifactCache.get(name);
}

function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

async function waitReceipt(rpc, hash, { timeoutMs = 60000 } = {}) {
  const t0 = Date.now();
  let delay = 0;
  for (;;) {
    const r = await rpc.call('eth_getTransactionReceipt', [hash]);
    if (r && r.blockNumber) return r;
    if (Date.now() - t0 > timeoutMs) throw new Error(`no receipt for ${hash} after ${timeoutMs} ms`);
    await sleep(delay);
    delay = delay === 0 ? 1 : Math.min(delay * 2, 50);
  }
}

/** Sends a transaction from an unlocked account and waits for its receipt. */
async function sendTx(rpc, tx) {
  const full = { ...tx };
  if (full.gas === undefined) full.gas = abi.qty(DEFAULT_GAS);
  else full.gas = abi.qty(full.gas);
  if (full.value !== undefined) full.value = abi.qty(full.value);
  if (full.nonce !== undefined) full.nonce = abi.qty(full.nonce);
  const hash = await rpc.call('eth_sendTransaction', [full]);
  return waitReceipt(rpc, hash);
}

function lower(a) { return a ? a.toLowerCase() : a; }

/** CREATE address: keccak256(rlp([sender, nonce]))[12:]. */
function createAddress(sender, nonce) {
  const s = abi.hexToBuf(sender);
  const n = BigInt(nonce);
  let nb;
  if (n === 0n) nb = Buffer.from([0x80]);
  else if (n < 0x80n) nb = Buffer.from([Number(n)]);
  else {
    let h = n.toString(16); if (h.length % 2) h = '0' + h;
    const raw = Buffer.from(h, 'hex');
    nb = Buffer.concat([Buffer.from([0x80 + raw.length]), raw]);
  }
  const payload = Buffer.concat([Buffer.from([0x94]), s, nb]);
  const rlp = Buffer.concat([Buffer.from([0xc0 + payload.length]), payload]);
  return '0x' + keccak256(rlp).slice(12).toString('hex');
}

/** CREATE2 address: keccak256(0xff ++ deployer ++ salt ++ keccak256(initCode))[12:]. */
function create2Address(deployer, salt32, initCode) {
  const buf = Buffer.concat([
    Buffer.from([0xff]), abi.hexToBuf(deployer), abi.hexToBuf(salt32), keccak256(abi.hexToBuf(initCode)),
  ]);
  return '0x' + keccak256(buf).slice(12).toString('hex');
}

/** The devnet client-id scheme: LicenseAccount created by the license contract
 *  with CREATE2, salt = bytes32(tokenId), init code = LicenseAccount creation
 *  code ++ abi.encode(uint256 tokenId). */
function clientIdFor(licenseAddress, tokenId) {
  const acct = loadArtifact('LicenseAccount');
  const arg = abi.encodeParams(['uint256'], [BigInt(tokenId)]);
  const initCode = Buffer.concat([abi.hexToBuf(acct.bytecode), arg]);
  return create2Address(licenseAddress, abi.encodeParams(['uint256'], [BigInt(tokenId)]), initCode);
}

class Contract {
  constructor(rpc, artifactOrName, address, label) {
    this.rpc = rpc;
    this.artifact = typeof artifactOrName === 'string' ? loadArtifact(artifactOrName) : artifactOrName;
    this.name = this.artifact.contractName;
    this.address = lower(address);
    this.label = label || this.name;
    this.functions = new Map();
    for (const item of this.artifact.abi) {
      if (item.type !== 'function') continue;
      const sig = abi.signatureOf(item);
      const entry = { item, sig, selector: '0x' + this.artifact.methodIdentifiers[sig] };
      if (!this.functions.has(item.name)) this.functions.set(item.name, []);
      this.functions.get(item.name).push(entry);
      this.functions.set(sig, [entry]); // an overload by its full signature

    }
    this.events = this.artifact.abi.filter((x) => x.type === 'event').map((ev) => ({
      ev, topic0: abi.eventTopic(ev), nTopics: 1 + ev.inputs.filter((i) => i.indexed).length,
    }));
  }

  fn(name, nargs) {
    const list = this.functions.get(name);
    if (!list) throw new Error(`${this.name} has no function ${name}`);
    const hit = nargs === undefined ? list[0] : list.find((e) => e.item.inputs.length === nargs);
    if (!hit) throw new Error(`${this.name}.${name} with ${nargs} arguments not found`);
    return hit;
  }

  encode(name, args = []) {
    const f = this.fn(name, args.length);
    const data = abi.encodeParams(f.item.inputs.map((i) => i.type), args);
    return f.selector + data.toString('hex');
  }

  decodeResult(name, nargs, hex) {
    const f = this.fn(name, nargs);
    const out = abi.decodeParams(f.item.outputs.map((o) => o.type), hex);
    return f.item.outputs.length === 1 ? out[0] : out;
  }

  /** eth_call params for a batch: [method, params]. */
  callReq(name, args = [], blockTag = 'latest', from) {
    const call = { to: this.address, data: this.encode(name, args) };
    if (from) call.from = from;
    return ['eth_call', [call, typeof blockTag === 'number' || typeof blockTag === 'bigint' ? abi.qty(blockTag) : blockTag]];
  }

  async call(name, args = [], { blockTag = 'latest', from } = {}) {
    const [m, p] = this.callReq(name, args, blockTag, from);
    const hex = await this.rpc.call(m, p);
    return this.decodeResult(name, args.length, hex);
  }

  txReq(from, name, args = [], opts = {}) {
    const tx = { from, to: this.address, data: this.encode(name, args) };
    if (opts.gas !== undefined) tx.gas = opts.gas;
    if (opts.nonce !== undefined) tx.nonce = opts.nonce;
    return tx;
  }

  async send(from, name, args = [], opts = {}) {
    return sendTx(this.rpc, this.txReq(from, name, args, opts));
  }

  decodeLog(log) {
    if (lower(log.address) !== this.address) return null;
    const t0 = log.topics[0] && log.topics[0].toLowerCase();
    for (const e of this.events) {
      if (e.topic0 === t0 && e.nTopics === log.topics.length) return abi.decodeLog(e.ev, log);
    }
    return null;
  }

  topic(name, types) {
    const e = this.events.find((x) => x.ev.name === name &&
      (!types || x.ev.inputs.map((i) => i.type).join(',') === types));
    if (!e) throw new Error(`${this.name} has no event ${name}${types ? `(${types})` : ''}`);
    return e.topic0;
  }
}

async function deployContract(rpc, from, name, args = []) {
  const art = loadArtifact(name);
  const ctor = art.abi.find((x) => x.type === 'constructor');
  const types = ctor ? ctor.inputs.map((i) => i.type) : [];
  const data = art.bytecode + abi.encodeParams(types, args).toString('hex');
  const gasHex = await rpc.call('eth_estimateGas', [{ from, data }]);
  const gas = Math.ceil(Number(BigInt(gasHex)) * 1.2) + 50000;
  const receipt = await sendTx(rpc, { from, data, gas });
  if (receipt.status !== '0x1') throw new Error(`deploying ${name} failed (tx ${receipt.transactionHash})`);
  return { contract: new Contract(rpc, art, receipt.contractAddress), receipt };
}

/** Sends several transactions so that they land in one block when the node
 *  automines (automine is switched off for the batch and restored); with
 *  interval mining they land wherever the node puts them. Nonces are
 *  assigned here. Returns receipts in order. */
async function sendMany(rpc, txs) {
  if (txs.length === 0) return [];
  const automine = await rpc.call('anvil_getAutomine', []).catch(() => false);
  const nonces = new Map();
  const hashes = [];
  if (automine) await rpc.call('evm_setAutomine', [false]);
  try {
    for (const tx of txs) {
      const from = lower(tx.from);
      if (!nonces.has(from)) nonces.set(from, BigInt(await rpc.call('eth_getTransactionCount', [from, 'pending'])));
      const n = nonces.get(from);
      nonces.set(from, n + 1n);
      const full = { ...tx, nonce: abi.qty(n), gas: abi.qty(tx.gas === undefined ? DEFAULT_GAS : tx.gas) };
      hashes.push(await rpc.call('eth_sendTransaction', [full]));
    }
    if (automine) await rpc.call('evm_mine', []);
  } finally {
    if (automine) await rpc.call('evm_setAutomine', [true]);
  }
  const receipts = [];
  for (const h of hashes) receipts.push(await waitReceipt(rpc, h));
  return receipts;
}

module.exports = {
  Contract, loadArtifact, sendTx, sendMany, waitReceipt, deployContract, createAddress,
  create2Address, clientIdFor, sleep, lower, DEFAULT_GAS, REVERT_GAS, BUILD_DIR,
};
