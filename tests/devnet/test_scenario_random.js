#!/usr/bin/env node
'use strict';
// Devnet test 2: a randomized scenario of 1,000 operations (seed from
// DEVNET_SEED, default 20240517) must finish in under a minute, every
// operation's logs and every expected revert are checked as it runs, and the
// final view-function state must equal the scenario's --expect model.

const fs = require('fs');
const path = require('path');
const { runTest, runScript, assert } = require('./lib/harness');
const { compile } = require('./compile');
const { compareExpect } = require('./lib/model');

const SEED = Number(process.env.DEVNET_SEED || 20240517);
const OPS = Number(process.env.DEVNET_OPS || 1000);

runTest('test_scenario_random', async (ctx) => {
  compile({ quiet: true });
  const url = ctx.startAnvil();
  const netFile = path.join(ctx.dir, 'network.json');
  const expFile = path.join(ctx.dir, 'expect.json');
  await runScript('deploy.js', ['--rpc', url, '--out', netFile, '--quiet']);
  const t0 = Date.now();
  const sc = await runScript('scenario.js', ['--rpc', url, '--network', netFile, '--seed', String(SEED), '--ops', String(OPS), '--expect', expFile]);
  const secs = (Date.now() - t0) / 1000;
  ctx.log(sc.stdout.trim());
  assert(secs < 60, `${OPS} operations took ${secs.toFixed(1)} s (limit 60 s)`);
  const exp = JSON.parse(fs.readFileSync(expFile, 'utf8'));
  assert(exp.ops >= OPS, `only ${exp.ops} operations ran`);
  assert(exp.reverted_ops > 0, 'no operation was checked to revert');
  const st = JSON.parse((await runScript('state.js', ['--rpc', url, '--network', netFile, '--block', String(exp.end_block)])).stdout);
  const diffs = compareExpect(exp, st);
  assert(diffs.length === 0, `seed ${SEED}: state differs from the model:\n${diffs.slice(0, 30).join('\n')}`);
  const nLic = st.app_licenses.reduce((a, x) => a + x.licenses.length, 0);
  const nSigners = st.app_licenses.reduce((a, x) => a + x.licenses.reduce((b, l) => b + Object.keys(l.signers).length, 0), 0);
  return `seed ${SEED}: ${exp.ops} ops in ${secs.toFixed(1)} s (${exp.reverted_ops} reverts checked), ` +
    `blocks ${exp.start_block + 1}..${exp.end_block}, ${nLic} licenses, ${nSigners} signers, state matches the model`;
});
