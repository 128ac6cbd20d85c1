#!/usr/bin/env node
'use strict';
// measure.js: runs one command and reports its wall time (monotonic clock)
// and peak memory, for scripts/bench.sh.
//
//   node scripts/bench/measure.js [--log FILE] [--interval MS] [--cwd DIR]
//        [--timeout SECONDS]
//        [--ponder-port P --ponder-head N [--ponder-rows-sql SQL --psql CONNINFO --rows N]]
//        -- COMMAND [ARGS...]
//
// The command runs in its own process group with stdout and stderr going to
// --log (default /dev/null). Memory: every --interval ms (default 50) the
// resident set (VmRSS) of the whole process tree is summed; the peak of
// that sum is reported, together with the root process's own high-water
// mark (VmHWM, exact). Prints one JSON line:
//   {wall_s, exit_code, signal, peak_rss_kb, root_hwm_kb, samples, timed_out, ...}
// --timeout stops the command (SIGTERM to its group, SIGKILL 10 s later)
// after that many seconds; timed_out is then true, stop_requested_s says
// when, and wall_s is still the exit (an indexer commits the batch in
// flight before it exits, and that batch is counted).
//
// With --ponder-port/--ponder-head the command is a `ponder start`: it is
// stopped (SIGTERM to its group, SIGKILL after 10 s) as soon as its /status
// says the chain's latest indexed block is >= N; the line then also has
// ready_s (first 200 from /ready: backfill complete) and head_s (status
// reached N), both from the spawn. With --ponder-rows-sql, reaching the
// head also needs that query (run with psql) to return --rows.

const { spawn, execFileSync } = require('child_process');
const fs = require('fs');
const http = require('http');

function parseArgs(argv) {
  const o = { log: '/dev/null', interval: 50 };
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') break;
    const v = argv[i + 1];
    if (a === '--log') o.log = v;
    else if (a === '--interval') o.interval = Number(v);
    else if (a === '--cwd') o.cwd = v;
    else if (a === '--timeout') o.timeout = Number(v);
    else if (a === '--ponder-port') o.ponderPort = Number(v);
    else if (a === '--ponder-head') o.ponderHead = Number(v);
    else if (a === '--ponder-rows-sql') o.rowsSql = v;
    else if (a === '--psql') o.psql = v;
    else if (a === '--rows') o.rows = Number(v);
    else throw new Error(`unknown option ${a}`);
    i++;
  }
  o.cmd = argv.slice(i + 1);
  if (!o.cmd.length) throw new Error('usage: measure.js [options] -- COMMAND [ARGS...]');
  return o;
}

// pid -> ppid for every process, to find the tree.
function processTable() {
  const kids = new Map();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let stat;
    try {
      stat = fs.readFileSync(`/proc/${d}/stat`, 'latin1');
    } catch {
      continue;
    }
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (!kids.has(ppid)) kids.set(ppid, []);
    kids.get(ppid).push(Number(d));
  }
  return kids;
}

function statusKb(pid, field) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'latin1');
    const m = s.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function treeRss(root) {
  const kids = processTable();
  let sum = 0;
  const stack = [root];
  while (stack.length) {
    const p = stack.pop();
    sum += statusKb(p, 'VmRSS');
    for (const k of kids.get(p) || []) stack.push(k);
  }
  return sum;
}

function getJson(port, path) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, timeout: 2000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => {
        let json = null;
        try {
          json = JSON.parse(body);
        } catch {
          json = null;
        }
        resolve({ status: res.statusCode, json });
      });
    });
    req.on('error', () => resolve({ status: 0, json: null }));
    req.on('timeout', () => {
      req.destroy();
      resolve({ status: 0, json: null });
    });
  });
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const out = fs.openSync(o.log, 'a');
  const t0 = process.hrtime.bigint();
  const secs = () => Number(process.hrtime.bigint() - t0) / 1e9;
  const child = spawn(o.cmd[0], o.cmd.slice(1), { stdio: ['ignore', out, out], detached: true, cwd: o.cwd });
  const res = { wall_s: null, exit_code: null, signal: null, peak_rss_kb: 0, root_hwm_kb: 0, samples: 0, timed_out: false };
  let done = false;
  let stopping = false;
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => {
    res.wall_s = res.wall_s === null ? secs() : res.wall_s;
    res.exit_code = code;
    res.signal = signal;
    done = true;
    resolve();
  }));
  child.on('error', (e) => {
    process.stderr.write(`measure: cannot run ${o.cmd[0]}: ${e.message}\n`);
    done = true;
  });
  const sample = () => {
    if (done) return;
    const rss = treeRss(child.pid);
    const hwm = statusKb(child.pid, 'VmHWM');
    if (rss > res.peak_rss_kb) res.peak_rss_kb = rss;
    if (hwm > res.root_hwm_kb) res.root_hwm_kb = hwm;
    res.samples++;
  };
  const timer = setInterval(sample, o.interval);
  const stop = () => {
    if (stopping || done) return;
    stopping = true;
    sample();
    try { process.kill(-child.pid, 'SIGTERM'); } catch { /* gone */ }
    setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }, 10000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  if (o.timeout > 0) {
    setTimeout(() => {
      if (done || stopping) return;
      res.timed_out = true;
      res.stop_requested_s = secs();
      stop();
    }, o.timeout * 1000).unref();
  }

  if (o.ponderPort) {
    res.ready_s = null;
    res.head_s = null;
    while (!done && res.head_s === null) {
      await new Promise((r) => setTimeout(r, 100));
      if (res.ready_s === null && (await getJson(o.ponderPort, '/ready')).status === 200) res.ready_s = secs();
      const st = await getJson(o.ponderPort, '/status');
      const chains = st.json ? Object.values(st.json) : [];
      const at = chains.length && chains[0] && chains[0].block ? chains[0].block.number : -1;
      if (at >= o.ponderHead) {
        let rowsOk = true;
        if (o.rowsSql) {
          try {
            const n = Number(execFileSync('psql', [o.psql, '-qAtX', '-c', o.rowsSql], { encoding: 'utf8' }).trim());
            rowsOk = n >= o.rows;
            res.rows = n;
          } catch {
            rowsOk = false;
          }
        }
        if (rowsOk) {
          res.head_s = secs();
          res.wall_s = res.head_s;
        }
      }
    }
    stop();
  }
  await exited;
  clearInterval(timer);
  process.stdout.write(JSON.stringify(res) + '\n');
}

main().catch((e) => {
  process.stderr.write(`measure: ${e.stack || e.message}\n`);
  process.exit(2);
});
