'use strict';
// Test harness for tests/devnet/test_*.js: a temp dir, an anvil started via
// anvil.sh (always stopped again, also on failure, timeout or signal), a
// one-line PASS/FAIL result, exit status 0/1.

const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync, execFile } = require('child_process');

const HERE = path.resolve(__dirname, '..');
const ANVIL_SH = path.join(HERE, 'anvil.sh');

function startAnvil(dir, args = []) {
  const out = execFileSync(ANVIL_SH, ['start', dir, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return out.trim().split('\n').pop();
}

function stopAnvil(dir) {
  try { execFileSync(ANVIL_SH, ['stop', dir], { stdio: 'ignore' }); } catch (_) { /* best effort */ }
}

/** Runs `node tests/devnet/<script> args...`; resolves {stdout, stderr, ms}; rejects on non-zero exit. */
function runScript(script, args, { timeoutMs = 120000 } = {}) {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [path.join(HERE, script), ...args], { maxBuffer: 256 * 1024 * 1024, timeout: timeoutMs },
      (err, stdout, stderr) => {
        if (err) {
          const e = new Error(`${script} ${args.join(' ')} failed (${err.code || err.signal}): ${String(stderr).trim().split('\n').slice(-5).join(' | ')}`);
          e.stdout = stdout; e.stderr = stderr;
          reject(e);
        } else resolve({ stdout, stderr, ms: Date.now() - t0 });
      });
  });
}

function assert(cond, msg) { if (!cond) throw new Error(msg); }

/** runTest(name, async (ctx) => summaryString, {timeoutMs}) */
function runTest(name, fn, { timeoutMs = 150000 } = {}) {
  const t0 = Date.now();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `devnet-${name}-`));
  const started = [];
  const ctx = {
    dir,
    startAnvil: (args = [], sub = '') => {
      const d = sub ? path.join(dir, sub) : dir;
      const url = startAnvil(d, args);
      started.push(d);
      return url;
    },
    log: (msg) => process.stderr.write(`[${name}] ${msg}\n`),
  };
  let finished = false;
  const cleanup = () => { while (started.length) stopAnvil(started.pop()); };
  const secs = () => ((Date.now() - t0) / 1000).toFixed(1);
  const fail = (e) => {
    if (finished) return;
    finished = true;
    cleanup();
    process.stderr.write(`${e && e.stack ? e.stack : e}\n`);
    const first = String(e && e.message ? e.message : e).split('\n')[0];
    console.log(`FAIL ${name} (${secs()} s): ${first} [kept ${dir}]`);
    process.exit(1);
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => fail(new Error(`interrupted by ${sig}`)));
  }
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);
  const timer = setTimeout(() => fail(new Error(`timeout after ${timeoutMs / 1000} s`)), timeoutMs);
  Promise.resolve().then(() => fn(ctx)).then((summary) => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
    console.log(`PASS ${name} (${secs()} s)${summary ? `: ${summary}` : ''}`);
    process.exit(0);
  }, fail);
}

module.exports = { runTest, runScript, startAnvil, stopAnvil, assert, ANVIL_SH };
