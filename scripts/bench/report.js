#!/usr/bin/env node
'use strict';
// report.js: turns the measurements of one scripts/bench.sh run into the
// table it prints, and into the JSON document of --json.
//
//   node scripts/bench/report.js RESULTS_DIR [JSON_OUT]
//
// RESULTS_DIR holds meta.json and one JSON file per measurement (written by
// bench.sh: a_sync, a_server, a_rows, a_copy, b_bulk, b_ours, b_ponder,
// c_synth, c_ours, c_raw, c_raw_max, d_live, ...). Missing files mean a
// section was not run; its rows are left out.

const fs = require('fs');
const path = require('path');

const dir = process.argv[2];
const jsonOut = process.argv[3];
const read = (name) => {
  const f = path.join(dir, `${name}.json`);
  if (!fs.existsSync(f)) return null;
  const text = fs.readFileSync(f, 'utf8').trim();
  if (!text) return null;
  try {
    return JSON.parse(text.split('\n').pop());
  } catch {
    return null;
  }
};

const meta = read('meta') || {};
const r = {};
for (const f of fs.readdirSync(dir)) {
  if (f.endsWith('.json') && f !== 'meta.json') r[f.slice(0, -5)] = read(f.slice(0, -5));
}

const int = (x) => (x === null || x === undefined || !Number.isFinite(x) ? '-' : Math.round(x).toLocaleString('en-US'));
const fix = (x, d = 1) => (x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(d));
const mb = (kb) => (kb ? `${int(kb / 1024)} MiB` : "-");
const pct = (x) => (Number.isFinite(x) ? `${fix(100 * x, 0)}%` : '-');
const yesno = (b) => (b === null || b === undefined ? '-' : b ? 'yes' : 'NO');

const rows = [];
const out = { meta, figures: {}, raw: r };

// (a) replay and bare COPY
if (r.a_sync) {
  const a = r.a_sync;
  const rowsA = r.a_rows ? r.a_rows.rows : null;
  const eps = rowsA / a.wall_s;
  const bytes = r.a_server ? r.a_server.bytes : null;
  const copy = r.a_copy;
  const copyRate = copy && copy.exit_code === 0 ? rowsA / copy.wall_s : null;
  const ratio = copyRate ? eps / copyRate : null;
  const partial = a.timed_out ? ` (stopped at the ${meta.cap_a_s} s cap)` : '';
  out.figures.a = {
    events: rowsA, requested_events: meta.events, wall_s: a.wall_s, events_per_s: eps, rpc_bytes: bytes,
    rpc_mb_per_s: bytes / 1e6 / a.wall_s, peak_rss_kb: a.root_hwm_kb, timed_out: a.timed_out,
    store_s: r.a_rows ? r.a_rows.store_s : null, batches: r.a_rows ? r.a_rows.batches : null,
    copy_wall_s: copy ? copy.wall_s : null, copy_rows_per_s: copyRate, ratio_to_copy: ratio,
  };
  rows.push([`(a) replay -> Postgres, events/s${partial}`, int(eps), `bare COPY ${int(copyRate)} rows/s`, pct(ratio),
    '>= 100,000/s and >= 50% of COPY', `${yesno(eps >= 100000)} / ${yesno(ratio === null ? null : ratio >= 0.5)}`]);
  rows.push(['(a) JSON-RPC read, MB/s', fix(bytes / 1e6 / a.wall_s, 1), `${int(bytes / 1e6)} MB in ${fix(a.wall_s, 1)} s`, '', '', '']);
  rows.push(['(a) events indexed / wall time', `${int(rowsA)} / ${fix(a.wall_s, 1)} s`,
    r.a_rows && r.a_rows.store_s !== null ? `store jobs ${fix(r.a_rows.store_s, 1)} s (${pct(r.a_rows.store_s / a.wall_s)})` : '', '', '', '']);
  const ph = r.a_rows || {};
  if (ph.stored_s !== null && ph.stored_s !== undefined && ph.model_s !== null && ph.end_s !== null) {
    // Where the wall time goes: the logs stored, the model catching up
    // with them, then the deferred documents (scripts/bench.sh, section a).
    out.figures.a.phases = { stored_s: ph.stored_s, model_s: ph.model_s, end_s: ph.end_s };
    rows.push(['(a) phases (s after start)', `logs ${fix(ph.stored_s, 1)} / model ${fix(ph.model_s, 1)} / docs ${fix(ph.end_s, 1)}`,
      `model lag ${fix(ph.model_s - ph.stored_s, 1)} s, documents ${fix(ph.end_s - ph.model_s, 1)} s`, '', '', '']);
  }
  rows.push(['(a) peak RSS, indexer', mb(a.root_hwm_kb), '', '', '', '']);
  // The floor of the model's own rows (bench.sh section_a_floor): loading
  // them by bare COPY, no derivation; the ceiling of the ratio above.
  const fm = r.a_floor_model;
  const fb = r.a_floor_both;
  if (fm && fb && fm.exit_code === 0 && fb.exit_code === 0 && copy && r.a_floor_rows) {
    const ceiling = copy.wall_s / fb.wall_s;
    out.figures.a.floor = {
      model_tables: r.a_floor_rows.tables, model_rows: r.a_floor_rows.rows, model_copy_s: fm.wall_s,
      logs_and_model_copy_s: fb.wall_s, ceiling_ratio: ceiling,
    };
    rows.push(["(a) the model's rows, bare COPY", `${int(r.a_floor_rows.rows)} rows in ${fix(fm.wall_s, 1)} s`,
      `the logs' ${fix(copy.wall_s, 1)} s`, `${fix(fm.wall_s / copy.wall_s, 1)}x`, '', '']);
    rows.push(['(a) ceiling: logs + model rows, 2 connections', `${fix(fb.wall_s, 1)} s`,
      `bare COPY ${fix(copy.wall_s, 1)} s`, pct(ceiling), 'the best ratio any derivation reaches', '']);
    // The same rate against the bare COPY of every row the backfill writes
    // (the logs, then the model's rows, one connection): what the fetch,
    // the decoding and the derivation cost beyond writing their result.
    const allRate = rowsA / (copy.wall_s + fm.wall_s);
    out.figures.a.floor.all_rows_copy_events_per_s = allRate;
    out.figures.a.floor.ratio_to_all_rows_copy = eps / allRate;
    rows.push(['(a) against every row it writes, events/s', int(eps),
      `bare COPY of all ${int(rowsA + r.a_floor_rows.rows)} rows ${int(allRate)} events/s`, pct(eps / allRate),
      '>= 50%', yesno(eps / allRate >= 0.5)]);
  }
}

// (b) devnet, ours against Ponder
if (r.b_ours) {
  const o = r.b_ours;
  const p = r.b_ponder;
  const rowsO = r.b_rows ? r.b_rows.ours : null;
  const pDone = p && p.head_s !== null && p.head_s !== undefined;
  const speed = pDone ? p.head_s / o.wall_s : null;
  const pRss = p ? Math.max(p.peak_rss_kb, p.root_hwm_kb) : null;
  const rssRatio = pRss ? o.root_hwm_kb / pRss : null;
  out.figures.b = {
    events: rowsO, blocks: r.b_bulk ? r.b_bulk.blocks : null, head: meta.b_head, ours_wall_s: o.wall_s,
    ours_peak_rss_kb: o.root_hwm_kb, ours_timed_out: o.timed_out,
    ponder_head_s: p ? p.head_s : null, ponder_ready_s: p ? p.ready_s : null, ponder_rows: p ? p.rows : null,
    ponder_peak_rss_kb: pRss, ponder_timed_out: p ? p.timed_out : null, speedup: speed, rss_ratio: rssRatio,
  };
  const label = `(b) devnet ${int(rowsO)} events / ${int(r.b_bulk ? r.b_bulk.blocks : null)} blocks, wall to head`;
  const pText = !p ? 'Ponder not run' : pDone ? `Ponder ${fix(p.head_s, 1)} s` : `Ponder did not reach the head in ${meta.ponder_cap_s} s`;
  rows.push([label, `${fix(o.wall_s, 1)} s`, pText, speed ? `${fix(speed, 1)}x faster` : '-', '>= 10x faster', yesno(speed === null ? null : speed >= 10)]);
  rows.push(['(b) peak RSS', mb(o.root_hwm_kb), p ? `Ponder ${mb(pRss)}` : '-', rssRatio ? fix(rssRatio, 2) : '-', '<= 0.10 of Ponder',
    yesno(rssRatio === null ? null : rssRatio <= 0.1)]);
}

// (c) sparse scan
if (r.c_ours && r.c_raw) {
  const o = r.c_ours;
  const blocks = r.c_raw.blocks;
  const bps = blocks / o.wall_s;
  const ratio = bps / r.c_raw.blocks_per_s;
  out.figures.c = {
    blocks, ranges: r.c_raw.ranges, ours_wall_s: o.wall_s, ours_blocks_per_s: bps, raw_seconds: r.c_raw.seconds,
    raw_blocks_per_s: r.c_raw.blocks_per_s, ratio, raw_max_range_blocks_per_s: r.c_raw_max ? r.c_raw_max.blocks_per_s : null,
    logs: r.c_raw.logs, ours_peak_rss_kb: o.root_hwm_kb,
  };
  rows.push([`(c) sparse scan of ${int(blocks)} blocks, blocks/s`, int(bps), `raw eth_getLogs ${int(r.c_raw.blocks_per_s)}/s (same ${r.c_raw.ranges} ranges)`,
    pct(ratio), '>= 50% of raw getLogs', yesno(ratio >= 0.5)]);
  if (r.c_raw_max) {
    rows.push(['(c) raw eth_getLogs, 100,000-block ranges', '', `${int(r.c_raw_max.blocks_per_s)}/s (${r.c_raw_max.ranges} ranges)`,
      pct(bps / r.c_raw_max.blocks_per_s), '', '']);
  }
}

// (d) live latency
if (r.d_live) {
  const d = r.d_live;
  const poll = meta.poll_interval_ms || 100;
  out.figures.d = { ...d, latencies_ms: undefined, poll_interval_ms: poll };
  rows.push([`(d) live, block mined -> row visible (${d.blocks} blocks)`, `p50 ${fix(d.p50_ms)} / p99 ${fix(d.p99_ms)} ms`,
    `poll interval ${poll} ms; max ${fix(d.max_ms)} ms`, '', `p99 < ${poll + 50} ms`, yesno(d.p99_ms < poll + 50)]);
}

const head = ['figure', 'ours', 'reference', 'ratio', 'target', 'met'];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => String(row[i]).length)));
const line = (cells) => cells.map((c, i) => String(c).padEnd(widths[i])).join('  ').trimEnd();
const text = [
  `dimo-indexer benchmark  ${meta.date || ''}  commit ${meta.commit || '?'}${meta.dirty ? ' (+ uncommitted changes)' : ''}`,
  `machine: ${meta.nproc} cores (${meta.cpu}), ${int(meta.mem_total_kb / 1048576)} GB; load average at start ${meta.load_start || '?'}, end ${meta.load_end || '?'}`,
  `versions: ${meta.versions || ''}`,
  '',
  line(head),
  line(widths.map((w) => '-'.repeat(w))),
  ...rows.map(line),
].join('\n');
process.stdout.write(text + '\n');
out.table = text;
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify(out, null, 2) + '\n');
