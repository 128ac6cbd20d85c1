#!/usr/bin/env node
'use strict';
// Compiles every .sol in tests/devnet/contracts/ with solc-js (standard JSON)
// into tests/devnet/build/<Contract>.json = {abi, bytecode, methodIdentifiers,
// eventTopics, source}. Skips the work when the sources, the solc version and
// this script are unchanged (build/.stamp holds their hash).
//
//   node tests/devnet/compile.js [--force] [--quiet]

const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const { keccak256Hex } = require('./lib/keccak');

const HERE = __dirname;
const ROOT = path.resolve(HERE, '..', '..');
const SRC_DIR = path.join(HERE, 'contracts');
const BUILD_DIR = path.join(HERE, 'build');
const STAMP = path.join(BUILD_DIR, '.stamp');

const SETTINGS = {
  optimizer: { enabled: true, runs: 200 },
  outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.methodIdentifiers'] } },
};

function solcVersion() {
  const pkg = path.join(ROOT, 'node_modules', 'solc', 'package.json');
  try { return JSON.parse(fs.readFileSync(pkg, 'utf8')).version; } catch (_) { return 'unknown'; }
}

function eventSignature(ev) {
  return `${ev.name}(${ev.inputs.map(canonicalType).join(',')})`;
}

function canonicalType(input) {
  if (input.type.startsWith('tuple')) {
    return `(${input.components.map(canonicalType).join(',')})${input.type.slice(5)}`;
  }
  return input.type;
}

function compile({ force = false, quiet = false } = {}) {
  const files = fs.readdirSync(SRC_DIR).filter((f) => f.endsWith('.sol')).sort();
  if (files.length === 0) throw new Error(`no .sol files in ${SRC_DIR}`);
  const sources = {};
  const h = crypto.createHash('sha256');
  h.update(`solc ${solcVersion()}\n${JSON.stringify(SETTINGS)}\n`);
  h.update(fs.readFileSync(__filename));
  h.update(fs.readFileSync(path.join(HERE, 'lib', 'keccak.js')));
  for (const f of files) {
    const content = fs.readFileSync(path.join(SRC_DIR, f), 'utf8');
    sources[f] = { content };
    h.update(`\0${f}\0${content}`);
  }
  const digest = h.digest('hex');

  if (!force && fs.existsSync(STAMP)) {
    try {
      const stamp = JSON.parse(fs.readFileSync(STAMP, 'utf8'));
      if (stamp.digest === digest && stamp.contracts.every((c) => fs.existsSync(path.join(BUILD_DIR, `${c}.json`)))) {
        if (!quiet) console.log(`compile: up to date (${stamp.contracts.length} contracts)`);
        return stamp.contracts;
      }
    } catch (_) { /* rebuild */ }
  }

  const t0 = Date.now();
  const solc = require(path.join(ROOT, 'node_modules', 'solc'));
  const input = { language: 'Solidity', sources, settings: SETTINGS };
  const output = JSON.parse(solc.compile(JSON.stringify(input)));
  const errors = (output.errors || []).filter((e) => e.severity === 'error');
  for (const e of output.errors || []) {
    if (e.severity !== 'error' && !quiet) process.stderr.write(`compile: ${e.formattedMessage || e.message}\n`);
  }
  if (errors.length) {
    throw new Error(`solc failed:\n${errors.map((e) => e.formattedMessage || e.message).join('\n')}`);
  }

  fs.mkdirSync(BUILD_DIR, { recursive: true });
  const written = [];
  for (const file of Object.keys(output.contracts || {})) {
    for (const [name, c] of Object.entries(output.contracts[file])) {
      const bytecode = c.evm && c.evm.bytecode && c.evm.bytecode.object;
      if (!bytecode) continue; // interfaces and abstract contracts
      if (written.includes(name)) throw new Error(`contract name ${name} defined twice`);
      const eventTopics = {};
      for (const ev of c.abi.filter((x) => x.type === 'event')) {
        const sig = eventSignature(ev);
        eventTopics[sig] = keccak256Hex(sig);
      }
      const artifact = {
        contractName: name,
        source: `tests/devnet/contracts/${file}`,
        abi: c.abi,
        bytecode: '0x' + bytecode,
        methodIdentifiers: c.evm.methodIdentifiers,
        eventTopics,
      };
      const out = path.join(BUILD_DIR, `${name}.json`);
      const tmp = `${out}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, JSON.stringify(artifact, null, 1) + '\n');
      fs.renameSync(tmp, out);
      written.push(name);
    }
  }
  written.sort();
  const tmp = `${STAMP}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify({ digest, solc: solcVersion(), contracts: written }) + '\n');
  fs.renameSync(tmp, STAMP);
  if (!quiet) console.log(`compile: ${written.length} contracts (${written.join(', ')}) in ${Date.now() - t0} ms`);
  return written;
}

module.exports = { compile, eventSignature, BUILD_DIR };

if (require.main === module) {
  const args = process.argv.slice(2);
  try {
    compile({ force: args.includes('--force'), quiet: args.includes('--quiet') });
  } catch (e) {
    console.error(`compile: ${e.message}`);
    process.exit(1);
  }
}
