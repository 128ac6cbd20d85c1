// app.js: the audit page. Reads this indexer's JSON API only (same origin)
// and draws everything with DOM calls: every string the chain provides
// (aliases, redirect URIs, addresses...) goes in as text (textContent /
// text nodes), never as markup, and becomes a link only when it is a
// transaction hash checked below and an explorer URL was configured.
'use strict';

(function () {
  const POLL_MS = 3000;
  const PAGE_SIZE = 50;
  const WEI = 10n ** 18n;
  // stale: a block arrived since the view was drawn; gap: the least time
  // between two redraws (the overview's numbers cost the database most).
  const state = { explorer: null, block: null, live: true, render: null, pinned: false, timer: null,
    stale: false, drawnAt: 0, gap: 0 };
  const OVERVIEW_GAP_MS = 6000;

  // ---- DOM helpers (text only) ---------------------------------------------

  // el('td', {class: 'x'}, 'text', child...): attributes set one by one,
  // strings become text nodes.
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'text') e.textContent = String(v);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of kids.flat(Infinity)) {
      if (c === null || c === undefined) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }
  const SVG = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs, ...kids) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    for (const c of kids) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return e;
  }
  const view = () => document.getElementById('view');
  function show(...nodes) {
    const v = view();
    v.replaceChildren(...nodes.filter((n) => n !== null && n !== undefined));
  }

  // ---- formatting -----------------------------------------------------------

  function group(s) { return s.replace(/\B(?=(\d{3})+(?!\d))/g, ','); }
  // wei (decimal string) -> "1,234.5 DIMO" (at most 4 decimals, exact wei on hover).
  function dimoText(wei) {
    if (wei === null || wei === undefined) return '—';
    const w = BigInt(wei);
    const neg = w < 0n;
    const a = neg ? -w : w;
    let frac = (a % WEI).toString().padStart(18, '0').slice(0, 4).replace(/0+$/, '');
    const approx = (a % WEI) !== 0n && (a % (WEI / 10000n)) !== 0n;
    return (neg ? '-' : '') + (approx ? '≈' : '') + group((a / WEI).toString()) + (frac ? '.' + frac : '') + ' DIMO';
  }
  // "378k" style, for chart axes.
  function compact(wei) {
    const d = Number(BigInt(wei) / WEI);
    if (d >= 1e9) return (d / 1e9).toFixed(d >= 1e10 ? 0 : 1) + 'G';
    if (d >= 1e6) return (d / 1e6).toFixed(d >= 1e7 ? 0 : 1) + 'M';
    if (d >= 1e3) return (d / 1e3).toFixed(d >= 1e4 ? 0 : 1) + 'k';
    return String(d);
  }
  function dimo(wei, attrs) {
    if (wei === null || wei === undefined) return el('span', attrs, '—');
    return el('span', Object.assign({ class: 'amount', title: wei + ' wei', 'data-wei': wei, tabindex: 0 }, attrs || {}),
      dimoText(wei));
  }
  function addr(a) { return a ? el('code', { class: 'addr' }, a) : el('span', { class: 'muted' }, 'none'); }
  function shortAddr(a) { return a ? el('code', { class: 'addr', title: a }, a.slice(0, 8) + '…' + a.slice(-6)) : el('span', { class: 'muted' }, 'none'); }
  const TX_RE = /^0x[0-9a-f]{64}$/;
  // Who executed an admin action (#25): the role holder, the sender it came
  // via (a multisig), or why there is none.
  function executor(by) {
    if (!by) return el('span', { class: 'muted' }, 'unknown');
    if (!by.address) return el('span', { class: 'muted' }, by.attribution === 'unattributed' ? 'unattributed' : 'not fetched');
    const label = by.role || (by.attribution === 'deployment' ? 'deployer' : by.attribution === 'sender_only' ? 'sender (no roles)' : '');
    return el('span', {}, shortAddr(by.address), ' ', el('small', {}, label),
      by.via ? [' via ', shortAddr(by.via)] : null);
  }
  function txLink(tx) {
    if (!tx) return el('span', { class: 'muted' }, '—');
    const short = tx.slice(0, 10) + '…' + tx.slice(-6);
    if (state.explorer && TX_RE.test(tx)) {
      return el('a', { href: state.explorer.replace(/\/+$/, '') + '/tx/' + tx, rel: 'noopener noreferrer',
        target: '_blank', title: tx, class: 'tx' }, short);
    }
    return el('code', { title: tx, class: 'tx' }, short);
  }
  function when(t) { return t ? t.replace('T', ' ').replace('Z', ' UTC') : '—'; }
  function licenseHref(kind, key, at) {
    return '#/license/' + kind + '/' + encodeURIComponent(key) + (at !== null && at !== undefined ? '?at=' + at : '');
  }
  // The license classes the page opens, with their API route and title
  // (client licenses are app-license compatible: the app route).
  const KINDS = {
    app: { path: 'apps', title: 'App' },
    manufacturer: { path: 'manufacturers', title: 'Manufacturer' },
    node: { path: 'nodes', title: 'Storage node' },
    connection: { path: 'connections', title: 'Connection' },
  };
  function kindOf(cls) { return Object.prototype.hasOwnProperty.call(KINDS, cls) ? cls : 'app'; }

  // ---- API -----------------------------------------------------------------

  async function api(path) {
    let r;
    try {
      r = await fetch(path, { headers: { Accept: 'application/json' }, cache: 'no-store' });
    } catch (e) {
      return { status: 0, body: { error: 'the indexer did not answer (' + e.message + ')' } };
    }
    let body = null;
    try { body = await r.json(); } catch (e) { body = { error: 'unreadable answer (HTTP ' + r.status + ')' }; }
    return { status: r.status, body };
  }
  function problem(res, what) {
    const msg = res.body && res.body.error ? res.body.error : 'HTTP ' + res.status;
    return el('p', { class: 'error', role: 'alert' }, what + ': ' + msg);
  }

  // ---- key rules (as the API's) --------------------------------------------

  // Returns {kind: 'token'|'address'|'alias', key} or {error}.
  function classify(raw) {
    const key = raw.trim();
    if (!key) return { error: 'Type a token id, a client id, an alias or an owner address.' };
    if (/^[0-9]+$/.test(key)) {
      if (key.length > 78) return { error: 'A token id has at most 78 digits (got ' + key.length + ').' };
      return { kind: 'token', key };
    }
    if (/^0[xX]/.test(key)) {
      const hex = key.slice(2);
      if (!/^[0-9a-fA-F]*$/.test(hex)) return { error: 'An address is 0x and 40 hex digits ("' + key + '" has other characters).' };
      if (hex.length !== 40) return { error: 'An address is 0x and 40 hex digits (got ' + hex.length + ' digits).' };
      return { kind: 'address', key: '0x' + hex.toLowerCase() };
    }
    const bytes = new TextEncoder().encode(key).length;
    if (bytes > 32) return { error: 'An alias is 1 to 32 bytes (got ' + bytes + ').' };
    return { kind: 'alias', key };
  }

  // ---- live head -------------------------------------------------------------

  async function poll() {
    const r = await api('/readyz');
    const s = document.getElementById('head-status');
    if (r.body && typeof r.body.indexed_block === 'number') {
      const lag = typeof r.body.lag === 'number' ? r.body.lag : null;
      s.textContent = 'block ' + group(String(r.body.indexed_block)) +
        (lag !== null ? ' · lag ' + lag : '') + (r.body.ready ? '' : ' · not ready');
      const changed = state.block !== null && r.body.indexed_block !== state.block;
      state.block = r.body.indexed_block;
      state.readyz = r.body;
      if (changed) state.stale = true;
      if (state.stale && state.live && !state.pinned && state.render && Date.now() - state.drawnAt >= state.gap) state.render(true);
    } else {
      s.textContent = r.status === 0 ? 'indexer unreachable' : 'waiting for the index';
    }
  }
  function schedule() {
    clearTimeout(state.timer);
    state.timer = setTimeout(async () => { await poll(); schedule(); }, POLL_MS);
  }

  // ---- charts ------------------------------------------------------------------

  function axisLabel(x, y, text, anchor) {
    return svg('text', { x, y, 'text-anchor': anchor || 'middle', class: 'axis' }, text);
  }

  // Monthly: bars = licenses active at each month's end, line = DIMO staked.
  function monthlyChart(rows) {
    const months = [...new Set(rows.map((r) => r.month))];
    const active = months.map((m) => rows.filter((r) => r.month === m).reduce((a, r) => a + r.active, 0));
    const staked = months.map((m) => rows.filter((r) => r.month === m).reduce((a, r) => a + BigInt(r.staked_end), 0n));
    const W = 560, H = 200, L = 40, R = 70, T = 14, B = 28;
    const w = W - L - R, h = H - T - B;
    const maxA = Math.max(1, ...active);
    const maxS = staked.reduce((a, b) => (b > a ? b : a), 1n);
    // At least six slots, the latest month at the right.
    const slots = Math.max(6, months.length);
    const bw = w / slots;
    const x0 = L + (slots - months.length) * bw;
    const g = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, class: 'chart', role: 'img',
      'aria-label': 'Licenses active and DIMO staked at the end of each month' });
    g.append(svg('line', { x1: L, y1: T + h, x2: L + w, y2: T + h, class: 'base' }));
    g.append(axisLabel(L - 6, T + 8, String(maxA), 'end'), axisLabel(L - 6, T + h, '0', 'end'));
    g.append(axisLabel(L + w + 6, T + 8, compact(maxS.toString()) + ' DIMO', 'start'));
    let path = '';
    months.forEach((m, i) => {
      const x = x0 + i * bw;
      const bh = (active[i] / maxA) * h;
      g.append(svg('rect', { x: x + bw * 0.2, y: T + h - bh, width: Math.max(1, bw * 0.6), height: bh, class: 'bar',
        'data-month': m, 'data-active': active[i] }, svg('title', {}, m + ': ' + active[i] + ' active')));
      const y = T + h - Number((staked[i] * 1000n) / maxS) / 1000 * h;
      path += (i ? 'L' : 'M') + (x + bw / 2).toFixed(1) + ' ' + y.toFixed(1);
      g.append(svg('circle', { cx: x + bw / 2, cy: y, r: 3, class: 'dot', 'data-month': m, 'data-staked': staked[i].toString() },
        svg('title', {}, m + ': ' + dimoText(staked[i].toString()) + ' staked')));
      if (months.length <= 12 || i % Math.ceil(months.length / 12) === 0) g.append(axisLabel(x + bw / 2, H - 8, m));
    });
    g.insertBefore(svg('path', { d: path, class: 'line' }), g.querySelector('circle'));
    const legend = el('p', { class: 'legend' }, el('span', { class: 'key bar-key' }), ' licenses active at month end  ',
      el('span', { class: 'key line-key' }), ' DIMO staked at month end');
    const table = el('table', { class: 'data' },
      el('caption', {}, 'Monthly metrics (DIP-5 views), per class'),
      el('thead', {}, el('tr', {}, ['Month', 'Class', 'Issued', 'Revoked', 'Active', 'Suspended', 'Understaked',
        'Staked at end', 'Slashes', 'Burned', 'Reallocated'].map((t) => el('th', { scope: 'col' }, t)))),
      el('tbody', {}, rows.map((r) => el('tr', {}, el('td', {}, r.month), el('td', {}, r.class), el('td', {}, r.issued),
        el('td', {}, r.revoked), el('td', {}, r.active), el('td', {}, r.suspended), el('td', {}, r.understaked),
        el('td', {}, dimo(r.staked_end)), el('td', {}, r.slashes), el('td', {}, dimo(r.burned)),
        el('td', {}, dimo(r.reallocated))))));
    return el('div', {}, g, legend, el('details', {}, el('summary', {}, 'The numbers'), table));
  }

  // The classes whose contract has a slash path (DevLicenseDimo's forfeits).
  const SLASHABLE = new Set(['app', 'client']);

  const MARK = {
    deposit: 'Deposit', withdraw: 'Withdrawal', forfeit_burn: 'Forfeit (burned)',
    forfeit_reallocate: 'Forfeit (reallocated)', forfeit: 'Forfeit (destination unknown)',
    emergency_withdrawal: 'Emergency withdrawal', stake: 'Stake', unstake: 'Unstake',
  };

  // Stake over time: the balance after each movement (a step line), one
  // marker per movement shaped by its kind.
  function stakeChart(history) {
    const W = 560, H = 200, L = 70, R = 14, T = 14, B = 28;
    const w = W - L - R, h = H - T - B;
    const g = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, class: 'chart', role: 'img', id: 'stake-chart',
      'aria-label': 'Stake over time: ' + history.length + ' movements' });
    if (!history.length) {
      g.append(axisLabel(W / 2, H / 2, 'no stake movements'));
      return g;
    }
    const bal = history.map((m) => BigInt(m.balance_after));
    const maxB = bal.reduce((a, b) => (b > a ? b : a), 1n);
    const n = history.length;
    const xs = history.map((_, i) => L + (n === 1 ? w / 2 : (i / (n - 1)) * w));
    const ys = bal.map((b) => T + h - Number((b * 1000n) / maxB) / 1000 * h);
    g.append(svg('line', { x1: L, y1: T + h, x2: L + w, y2: T + h, class: 'base' }));
    g.append(axisLabel(L - 6, T + 8, compact(maxB.toString()) + ' DIMO', 'end'), axisLabel(L - 6, T + h, '0', 'end'));
    let d = 'M' + L + ' ' + (T + h);
    history.forEach((_, i) => { d += 'H' + xs[i].toFixed(1) + 'V' + ys[i].toFixed(1); });
    d += 'H' + (L + w);
    g.append(svg('path', { d, class: 'line' }));
    history.forEach((m, i) => {
      const x = xs[i], y = ys[i];
      const label = (MARK[m.kind] || m.kind) + ' of ' + dimoText(m.amount) + ' at block ' + m.block +
        (m.kind === 'forfeit_reallocate' && m.to ? ' to ' + m.to : '') + '; balance ' + dimoText(m.balance_after);
      const attrs = { class: 'pt ' + m.kind, 'data-kind': m.kind, 'data-block': m.block, 'data-log-index': m.log_index,
        'data-balance': m.balance_after, 'data-amount': m.amount };
      let shape;
      if (m.kind === 'deposit' || m.kind === 'stake') shape = svg('path', Object.assign({ d: `M${x} ${y - 6}L${x + 5} ${y + 3}L${x - 5} ${y + 3}Z` }, attrs));
      else if (m.kind === 'forfeit_burn') shape = svg('path', Object.assign({ d: `M${x - 5} ${y - 5}L${x + 5} ${y + 5}M${x + 5} ${y - 5}L${x - 5} ${y + 5}` }, attrs));
      else if (m.kind === 'forfeit_reallocate' || m.kind === 'forfeit') shape = svg('path', Object.assign({ d: `M${x} ${y - 6}L${x + 6} ${y}L${x} ${y + 6}L${x - 6} ${y}Z` }, attrs));
      else shape = svg('path', Object.assign({ d: `M${x} ${y + 6}L${x + 5} ${y - 3}L${x - 5} ${y - 3}Z` }, attrs));
      shape.append(svg('title', {}, label));
      g.append(shape);
    });
    g.append(axisLabel(L, H - 8, 'block ' + history[0].block, 'start'), axisLabel(L + w, H - 8, 'block ' + history[n - 1].block, 'end'));
    return g;
  }
  function stakeLegend() {
    return el('p', { class: 'legend' },
      el('span', { class: 'key k-deposit' }, '▲'), ' deposit  ', el('span', { class: 'key k-withdraw' }, '▼'), ' withdrawal  ',
      el('span', { class: 'key k-burn' }, '✕'), ' forfeit, burned  ', el('span', { class: 'key k-realloc' }, '◆'),
      ' forfeit, reallocated');
  }

  // ---- views ---------------------------------------------------------------------

  function card(title, ...body) { return el('section', { class: 'card' }, el('h2', {}, title), ...body); }

  async function renderOverview(at) {
    const [o, ready] = await Promise.all([api('/v1/overview' + (at !== null ? '?at_block=' + at : '')), api('/readyz')]);
    const atForm = asOfForm((b) => '#/overview' + (b !== null ? '?at=' + b : ''), at, o.status === 200 ? o.body.as_of_block : null);
    if (o.status !== 200) return show(el('h1', {}, 'Overview'), atForm, problem(o, 'The overview could not be read'));
    const d = o.body;
    const statuses = ['active', 'suspended', 'understaked', 'revoked', 'total'];
    const classes = Object.keys(d.licenses.by_class).sort();
    const counts = el('table', { class: 'data', id: 'license-counts' },
      el('caption', {}, 'Licenses by class and status (' + d.licenses.total + ' in all)'),
      el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Class'), statuses.map((s) => el('th', { scope: 'col' }, s)))),
      el('tbody', {}, classes.map((c) => el('tr', {}, el('th', { scope: 'row' }, c),
        statuses.map((s) => el('td', { 'data-k': 'licenses.' + c + '.' + s }, d.licenses.by_class[c][s]))))));
    const st = d.staked;
    const staked = el('dl', { class: 'kv' }, el('dt', {}, 'Total staked'), el('dd', {}, dimo(st.total, { 'data-k': 'staked.total' })),
      Object.keys(st.by_class).sort().map((c) => [el('dt', {}, c), el('dd', {}, dimo(st.by_class[c], { 'data-k': 'staked.' + c }))]));
    const s = d.slashes;
    const slashes = el('dl', { class: 'kv' },
      el('dt', {}, 'Burned'), el('dd', {}, dimo(s.burn.amount, { 'data-k': 'slashes.burn' }), ' in ' + s.burn.count + ' slashes'),
      el('dt', {}, 'Reallocated'), el('dd', {}, dimo(s.reallocate.amount, { 'data-k': 'slashes.reallocate' }), ' in ' + s.reallocate.count + ' slashes'),
      s.unknown.count ? [el('dt', {}, 'Destination unknown'), el('dd', {}, dimo(s.unknown.amount, { 'data-k': 'slashes.unknown' }), ' in ' + s.unknown.count)] : null,
      el('dt', {}, 'All slashes'), el('dd', {}, dimo(s.amount, { 'data-k': 'slashes.total' }), ' in ', el('span', { 'data-k': 'slashes.count' }, s.count), ' slashes'));
    const bar = [];
    const total = BigInt(s.amount);
    if (total > 0n) {
      const burnPct = Number((BigInt(s.burn.amount) * 1000n) / total) / 10;
      bar.push(el('div', { class: 'split', role: 'img', 'aria-label': burnPct + '% of slashed DIMO burned' },
        el('div', { class: 'split-burn', 'data-pct': String(Math.round(burnPct)) })));
    }
    const r = ready.body || {};
    const head = el('dl', { class: 'kv' },
      el('dt', {}, at !== null ? 'Block shown' : 'Last indexed block'), el('dd', { 'data-k': 'as_of_block' }, d.as_of_block === null ? '—' : d.as_of_block),
      el('dt', {}, 'Block time'), el('dd', {}, when(d.as_of_time)),
      el('dt', {}, 'Chain head seen'), el('dd', {}, r.head_block === undefined || r.head_block === null ? '—' : r.head_block),
      el('dt', {}, 'Lag'), el('dd', { 'data-k': 'lag' }, r.lag === undefined || r.lag === null ? '—' : r.lag + ' blocks'));
    show(el('h1', {}, 'Overview'), atForm,
      el('div', { class: 'grid' },
        card('Index', head), card('Stake', staked), card('Slashes', slashes, ...bar)),
      card('Licenses', counts),
      card('Month by month', d.months && d.months.length ? monthlyChart(d.months)
        : el('p', { class: 'muted' }, at !== null ? 'The monthly numbers describe the chain as indexed now: see the latest block.' : 'No months yet.')));
    splitWidths();
  }
  // The burn share of the split bar: a width set from script (CSP: no inline style).
  function splitWidths() {
    for (const b of document.querySelectorAll('.split-burn')) b.style.width = b.getAttribute('data-pct') + '%';
  }

  function renderSearch(params) {
    const input = el('input', { id: 'q', type: 'search', name: 'q', autocomplete: 'off', spellcheck: 'false',
      'aria-describedby': 'q-help', value: params.get('q') || '' });
    const out = el('div', { id: 'search-result', 'aria-live': 'polite' });
    const form = el('form', { id: 'search-form', role: 'search' },
      el('label', { for: 'q' }, 'Token id, client id, alias or owner address'),
      el('div', { class: 'row' }, input, el('button', { type: 'submit' }, 'Search')),
      el('p', { id: 'q-help', class: 'help' },
        'A token id is decimal (up to 78 digits); a client id or owner is 0x and 40 hex digits; an alias is 1 to 32 bytes.'));
    form.addEventListener('submit', (ev) => { ev.preventDefault(); search(input.value, out); });
    show(el('h1', {}, 'Search'), form, out);
    input.focus();
    if (params.get('q')) search(params.get('q'), out);
  }

  async function search(raw, out) {
    const c = classify(raw);
    if (c.error) return out.replaceChildren(el('p', { class: 'error', role: 'alert' }, c.error));
    out.replaceChildren(el('p', { class: 'muted' }, 'Looking up…'));
    const k = encodeURIComponent(c.key);
    const app = await api('/v1/apps/' + k);
    if (app.status === 400) return out.replaceChildren(problem(app, 'Not a valid key'));
    let found = app.status === 200 ? { kind: 'app', doc: app.body } : null;
    if (!found && c.kind !== 'alias') {
      const m = await api('/v1/manufacturers/' + k);
      if (m.status === 200) found = { kind: 'manufacturer', doc: m.body };
    }
    // Storage nodes (by token id or label) and connections (by token id or
    // name): a label or name looks like an alias.
    for (const kind of ['node', 'connection']) {
      if (found || c.kind === 'address') break;
      const r = await api('/v1/' + KINDS[kind].path + '/' + k);
      if (r.status === 200) found = { kind, doc: r.body };
    }
    const others = [];
    if (c.kind === 'address') {
      const list = await api('/v1/licenses?owner=' + k + '&limit=100');
      if (list.status === 200) others.push(...list.body.licenses);
    }
    if (!found && !others.length) {
      if (app.status !== 404 && app.status !== 200) return out.replaceChildren(problem(app, 'The search failed'));
      return out.replaceChildren(el('p', { class: 'notice', role: 'status' },
        'No license matches "' + c.key + '" (searched as ' + (c.kind === 'token' ? 'a token id' : c.kind === 'address' ? 'a client id or owner address' : 'an alias') + ').'));
    }
    const list = (found ? [found.doc] : []).concat(others.filter((o) => !found ||
      o.contract !== found.doc.contract || o.token_id !== found.doc.token_id));
    if (list.length === 1) {
      location.hash = licenseHref(kindOf(list[0].class), canonicalKey(kindOf(list[0].class), list[0]));
      return;
    }
    out.replaceChildren(el('h2', {}, 'Licenses matching ' + c.key),
      el('ul', { class: 'matches' }, list.map((d) => el('li', {},
        el('a', { href: licenseHref(kindOf(d.class), canonicalKey(kindOf(d.class), d)) },
          d.class + ' #' + d.token_id), ' ', d.alias ? el('q', {}, d.alias) : '', ' — ', d.status))));
  }
  // The key a license page is opened with: an app's client id (unique), else its token id.
  function canonicalKey(kind, d) { return kind === 'app' && d.client_id ? d.client_id : d.token_id; }

  const REASON = {
    active: 'Active: not revoked, not frozen, stake as required.',
    suspended: 'Suspended: the license is frozen (AssetFreezeUpdate).',
    understaked: 'Understaked: the stake is below what its class requires.',
    revoked: 'Revoked: the license token was burned.',
  };

  // A token id names the first license by contract address; a link that
  // means another contract's (the ledger's) carries contract and owner,
  // and the license is reopened by its client id, which is unique.
  async function resolveContract(kind, key, at, want) {
    const list = await api('/v1/licenses?owner=' + encodeURIComponent(want.owner) + '&limit=1000');
    if (list.status !== 200) return false;
    const d = list.body.licenses.find((l) => l.contract === want.contract && l.token_id === key);
    if (!d || !d.client_id) return false;
    location.replace(licenseHref(kind, d.client_id, at));
    return true;
  }

  async function renderLicense(kind, key, at, want) {
    const q = at !== null ? '?at_block=' + at : '';
    const [res, extra] = await Promise.all([
      api('/v1/' + KINDS[kind].path + '/' + encodeURIComponent(key) + q),
      api('/v1/overview?license=' + encodeURIComponent(key) + (at !== null ? '&at_block=' + at : ''))]);
    const title = el('h1', {}, KINDS[kind].title + ' license');
    const atForm = asOfForm((b) => licenseHref(kind, key, b), at, res.status === 200 ? res.body.as_of_block : null);
    if (res.status === 404) return show(title, atForm, el('p', { class: 'notice', role: 'status' }, 'No ' + kind + ' license matches "' + key + '"' + (at !== null ? ' at block ' + at : '') + '.'));
    if (res.status !== 200) return show(title, atForm, problem(res, 'The license could not be read'));
    const d = res.body;
    if (want && want.contract && want.owner && d.contract !== want.contract && await resolveContract(kind, key, at, want)) return;
    title.textContent = (KINDS[d.class] ? KINDS[d.class].title : d.class) + ' license #' + d.token_id;
    const status = el('p', { class: 'status s-' + d.status, id: 'license-status', 'data-status': d.status },
      el('strong', {}, d.status), ' — ', statusReason(d));
    const facts = el('dl', { class: 'kv', id: 'license-facts' },
      el('dt', {}, 'Alias'), el('dd', { id: 'license-alias' }, d.alias === null ? el('span', { class: 'muted' }, 'none') : d.alias),
      el('dt', {}, 'Owner'), el('dd', { id: 'license-owner' }, addr(d.owner)),
      el('dt', {}, 'Client id'), el('dd', { id: 'license-client-id' }, addr(d.client_id)),
      el('dt', {}, 'Contract'), el('dd', {}, addr(d.contract)),
      el('dt', {}, 'Token id'), el('dd', {}, d.token_id),
      el('dt', {}, 'Staked'), el('dd', {}, dimo(d.staked, { id: 'license-staked' })),
      el('dt', {}, 'Required stake'), el('dd', {}, dimo(d.required_stake)),
      el('dt', {}, 'Trust ratio'), el('dd', { id: 'license-trust' }, d.trust_ratio === null ? '—' : d.trust_ratio),
      // Storage nodes: users as of the block (the requirement grows with them).
      d.users !== undefined ? [el('dt', {}, 'Users'), el('dd', { id: 'license-users' }, d.users)] : null,
      el('dt', {}, 'Issued'), el('dd', {}, d.issued ? ['block ' + d.issued.block + ', ' + when(d.issued.time) + ' ', txLink(d.issued.tx)] : '—'),
      d.revoked ? [el('dt', {}, 'Revoked'), el('dd', {}, 'block ' + d.revoked.block + ', ' + when(d.revoked.time) + ' ', txLink(d.revoked.tx))] : null);
    const asOfTime = d.as_of_time ? Date.parse(d.as_of_time) : null;
    const signers = table('signers', 'Signers (validity as of block ' + d.as_of_block + ')',
      ['Signer', 'Enabled', 'Expires', 'State'],
      (d.signers || []).map((s) => {
        let stateText = s.valid ? 'valid' : s.enabled_at === null ? 'disabled' : 'expired';
        if (!s.valid && s.expires_at && asOfTime !== null && Date.parse(s.expires_at) > asOfTime) stateText = 'not valid';
        return el('tr', { 'data-signer': s.address, 'data-valid': String(s.valid) }, el('td', {}, addr(s.address)),
          el('td', {}, when(s.enabled_at)), el('td', {}, when(s.expires_at)),
          el('td', {}, el('span', { class: 'tag t-' + stateText.replace(' ', '-') }, stateText)));
      }));
    const uris = el('section', { class: 'card' }, el('h2', {}, 'Redirect URIs'),
      d.redirect_uris && d.redirect_uris.length ? el('ul', { class: 'uris', id: 'redirect-uris' }, d.redirect_uris.map((u) =>
        el('li', { 'data-enabled': String(u.enabled) }, el('code', { class: 'uri' }, u.uri), ' ',
          el('span', { class: 'tag ' + (u.enabled ? 't-valid' : 't-disabled') }, u.enabled ? 'enabled' : 'disabled'))))
        : el('p', { class: 'muted' }, 'none'),
      el('p', { class: 'help' }, 'Shown as text: a URI is whatever the license owner wrote on chain.'));
    const history = d.stake_history || [];
    const moves = table('stake-history', 'Stake movements', ['Kind', 'Amount', 'Balance after', 'Block', 'Time', 'Transaction'],
      history.map((m) => el('tr', {}, el('td', {}, MARK[m.kind] || m.kind), el('td', {}, dimo(m.amount)),
        el('td', {}, dimo(m.balance_after)), el('td', {}, m.block), el('td', {}, when(m.time)), el('td', {}, txLink(m.tx)))), true);
    // No slash path exists for manufacturers (nor nodes, connections): their
    // documents carry `slashes: []` (license-json.md's shape), and the page
    // shows no table for them.
    const slashes = !SLASHABLE.has(d.class) ? null : table('license-slashes', 'Slashes', ['Amount', 'Destination', 'Block', 'Time', 'Transaction', 'Executed by'],
      (d.slashes || []).map((s) => el('tr', { 'data-amount': s.amount, 'data-destination': s.destination === null ? '' : s.destination, 'data-block': s.block,
        'data-by': s.by ? (s.by.address || s.by.attribution) : '' },
        el('td', {}, dimo(s.amount)), el('td', {}, destination(s.destination)), el('td', {}, s.block), el('td', {}, when(s.time)),
        el('td', {}, txLink(s.tx)), el('td', {}, executor(s.by)))));
    let aliasHist = null;
    if (extra.status === 200 && extra.body.aliases) {
      const mine = extra.body.aliases.filter((a) => a.contract === d.contract && a.token_id === d.token_id);
      aliasHist = table('alias-history', 'Alias history', ['Alias', 'Block', 'Time', 'Transaction'],
        mine.map((a) => el('tr', {}, el('td', {}, a.alias === null || a.alias === '' ? el('span', { class: 'muted' }, '(cleared)') : a.alias),
          el('td', {}, a.block), el('td', {}, when(a.time)), el('td', {}, txLink(a.tx)))));
    }
    show(title, atForm, status, el('div', { class: 'grid2' }, card('License', facts), uris),
      card('Stake over time', stakeChart(history), stakeLegend(), moves), slashes, signers, aliasHist);
  }
  function statusReason(d) {
    if (d.status === 'revoked' && d.revoked) return 'Revoked at block ' + d.revoked.block + ' (' + when(d.revoked.time) + ').';
    if (d.status === 'understaked') return 'Understaked: ' + dimoText(d.staked) + ' staked, ' + dimoText(d.required_stake) + ' required.';
    return REASON[d.status] || d.status;
  }
  function destination(dst, short) {
    if (dst === 'burn') return el('span', { class: 'tag t-burn' }, 'burn');
    if (dst === null || dst === undefined) return el('span', { class: 'muted' }, 'unknown');
    return el('span', {}, 'to ', short ? shortAddr(dst) : addr(dst));
  }
  function table(id, caption, heads, rows, plain) {
    return el(plain ? 'div' : 'section', { class: plain ? 'plain' : 'card' }, el(plain ? 'h3' : 'h2', {}, caption),
      rows.length ? el('table', { class: 'data', id },
        el('thead', {}, el('tr', {}, heads.map((h) => el('th', { scope: 'col' }, h)))), el('tbody', {}, rows))
        : el('p', { class: 'muted', id }, 'none'));
  }
  // "As of block N" and a field to view another block; hrefFor(block or
  // null for the latest) gives the view's address.
  function asOfForm(hrefFor, at, asOf) {
    const input = el('input', { id: 'at-block', type: 'text', inputmode: 'numeric', size: 10,
      value: at !== null ? at : asOf !== null ? asOf : '' });
    const msg = el('span', { class: 'error', role: 'alert', id: 'at-error' });
    const form = el('form', { class: 'asof', id: 'asof-form' },
      el('span', { id: 'as-of' }, asOf !== null ? 'As of block ' + asOf + (at === null ? ' (latest)' : '') : ''), ' ',
      el('label', { for: 'at-block' }, 'View at block'), input, el('button', { type: 'submit' }, 'View'),
      at !== null ? el('a', { href: hrefFor(null), class: 'button' }, 'Latest') : null, msg);
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const v = input.value.trim();
      if (!/^[0-9]{1,18}$/.test(v)) { msg.textContent = 'A block is a number.'; return; }
      location.hash = hrefFor(v);
    });
    return form;
  }

  // The slash ledger: /v1/slashes pages, totals from /v1/overview.
  async function renderLedger(params) {
    const license = params.get('license') || '';
    const after = params.get('after') || '';
    const prev = params.get('prev') || '';
    const filter = el('input', { id: 'ledger-license', type: 'search', value: license, autocomplete: 'off', spellcheck: 'false' });
    const form = el('form', { class: 'row', id: 'ledger-form', role: 'search' },
      el('label', { for: 'ledger-license' }, 'Filter by license (token id, client id, alias or owner)'), filter,
      el('button', { type: 'submit' }, 'Filter'),
      license ? el('a', { href: '#/ledger', class: 'button' }, 'All licenses') : null);
    const out = el('div', { id: 'ledger-out' });
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const v = filter.value.trim();
      if (v) {
        const c = classify(v);
        if (c.error) { out.replaceChildren(el('p', { class: 'error', role: 'alert' }, c.error)); return; }
        location.hash = '#/ledger?license=' + encodeURIComponent(c.key);
      } else location.hash = '#/ledger';
    });
    const lq = license ? 'license=' + encodeURIComponent(license) : '';
    const [page, tot] = await Promise.all([
      api('/v1/slashes?limit=' + PAGE_SIZE + (lq ? '&' + lq : '') + (after ? '&after=' + encodeURIComponent(after) : '')),
      api('/v1/overview' + (lq ? '?' + lq : ''))]);
    show(el('h1', {}, 'Slash ledger'), form, out);
    if (page.status === 404) return out.replaceChildren(el('p', { class: 'notice', role: 'status' }, 'No license matches "' + license + '".'));
    if (page.status !== 200) return out.replaceChildren(problem(page, 'The ledger could not be read'));
    if (tot.status !== 200) return out.replaceChildren(problem(tot, 'The totals could not be read'));
    const s = tot.body.slashes;
    const totals = el('dl', { class: 'kv', id: 'ledger-totals' },
      el('dt', {}, 'Slashes'), el('dd', { 'data-k': 'count' }, s.count),
      el('dt', {}, 'Total'), el('dd', {}, dimo(s.amount, { 'data-k': 'amount' })),
      el('dt', {}, 'Burned'), el('dd', {}, dimo(s.burn.amount, { 'data-k': 'burn' }), ' in ' + s.burn.count),
      el('dt', {}, 'Reallocated'), el('dd', {}, dimo(s.reallocate.amount, { 'data-k': 'reallocate' }), ' in ' + s.reallocate.count),
      s.unknown.count ? [el('dt', {}, 'Destination unknown'), el('dd', {}, dimo(s.unknown.amount, { 'data-k': 'unknown' }), ' in ' + s.unknown.count)] : null,
      el('dt', {}, 'As of block'), el('dd', {}, tot.body.as_of_block));
    const rows = page.body.slashes;
    const tbl = rows.length ? el('table', { class: 'data', id: 'ledger' },
      el('caption', {}, 'Forfeits in chain order' + (license ? ' of licenses matching ' + license : '')),
      el('thead', {}, el('tr', {}, ['License', 'Owner', 'Amount', 'Destination', 'Block', 'Time', 'Transaction', 'Executed by'].map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, rows.map((r) => el('tr', { 'data-amount': r.amount, 'data-block': r.block, 'data-log-index': r.log_index, 'data-contract': r.license.contract,
        'data-by': r.by ? (r.by.address || r.by.attribution) : '' },
        el('td', {}, el('a', { href: licenseHref(kindOf(r.license.class), r.license.token_id) + '?contract=' + r.license.contract + '&owner=' + (r.owner || ''),
          title: r.license.contract }, r.license.class + ' #' + r.license.token_id)),
        el('td', {}, shortAddr(r.owner)), el('td', {}, dimo(r.amount)), el('td', {}, destination(r.destination, true)),
        el('td', {}, r.block), el('td', {}, when(r.time)), el('td', {}, txLink(r.tx)), el('td', {}, executor(r.by))))))
      : el('p', { class: 'muted' }, 'No slashes.');
    const nav = el('nav', { class: 'pager', 'aria-label': 'Ledger pages' },
      after ? el('a', { class: 'button', href: '#/ledger?' + [lq, prev ? 'after=' + encodeURIComponent(prev) : ''].filter(Boolean).join('&') }, '← Previous') : null,
      page.body.next ? el('a', { class: 'button', id: 'ledger-next', href: '#/ledger?' + [lq, 'after=' + encodeURIComponent(page.body.next), after ? 'prev=' + encodeURIComponent(after) : ''].filter(Boolean).join('&') }, 'Next →') : null);
    const csv = [['class', 'contract', 'token_id', 'owner', 'amount_wei', 'destination', 'block', 'log_index', 'time', 'tx',
      'by', 'by_role', 'via', 'attribution']]
      .concat(rows.map((r) => [r.license.class, r.license.contract, r.license.token_id, r.owner, r.amount,
        r.destination === null ? 'unknown' : r.destination, r.block, r.log_index, r.time, r.tx,
        r.by ? r.by.address : '', r.by ? r.by.role : '', r.by ? r.by.via : '', r.by ? r.by.attribution : '']))
      .map((cols) => cols.map(csvCell).join(',')).join('\r\n') + '\r\n';
    const link = el('a', { class: 'button', id: 'ledger-csv', download: 'slashes' + (after ? '-after-' + after : '') + '.csv',
      href: URL.createObjectURL(new Blob([csv], { type: 'text/csv' })) }, 'Download these rows (CSV)');
    out.replaceChildren(card('Totals' + (license ? ' for ' + license : ''), totals), tbl, nav, el('p', {}, link));
  }
  // A setting names its event (UpdateLicenseCost, ...); a period of
  // validity is in seconds, every other value in DIMO wei.
  function settingEvent(r) {
    return r.action === 'setting' && r.detail && typeof r.detail.event === 'string' ? r.detail.event.split('(')[0] : '';
  }
  function actionName(r) {
    const ev = settingEvent(r);
    return ev ? 'setting: ' + ev : r.action;
  }
  function actionValue(r) {
    if (r.amount === null) return '—';
    return settingEvent(r) === 'UpdatePeriodValidity' ? r.amount + ' s' : dimo(r.amount);
  }

  // The admin-actions ledger (#25): /v1/admin-actions pages, newest first,
  // each action with who executed it under which role; the API's own CSV
  // for the same rows.
  async function renderActions(params) {
    const after = params.get('after') || '';
    const q = 'limit=' + PAGE_SIZE + (after ? '&after=' + encodeURIComponent(after) : '');
    const page = await api('/v1/admin-actions?' + q);
    const out = el('div', { id: 'actions-out' });
    show(el('h1', {}, 'Admin actions'), el('p', { class: 'muted' },
      'Freezes, forfeits, revokes, settings and withdrawals of the license contracts, newest first, ' +
      'with the address that held the gating role (the sender, or the contract it called) at that block.'), out);
    if (page.status !== 200) return out.replaceChildren(problem(page, 'The admin actions could not be read'));
    const rows = page.body.actions || [];
    const tbl = rows.length ? el('table', { class: 'data', id: 'actions' },
      el('caption', {}, 'As of block ' + page.body.as_of_block),
      el('thead', {}, el('tr', {}, ['Action', 'Contract', 'License', 'Amount', 'Block', 'Time', 'Transaction', 'Executed by'].map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, rows.map((r) => el('tr', { 'data-action': r.action, 'data-block': r.block_number, 'data-log-index': r.log_index,
        'data-by': r.by ? (r.by.address || r.by.attribution) : '' },
        el('td', {}, actionName(r)), el('td', {}, shortAddr(r.contract)), el('td', {}, r.token_id === null ? '—' : '#' + r.token_id),
        el('td', {}, actionValue(r)), el('td', {}, r.block_number), el('td', {}, when(r.time)),
        el('td', {}, txLink(r.tx_hash)), el('td', {}, executor(r.by))))))
      : el('p', { class: 'muted' }, 'No admin actions.');
    const nav = el('nav', { class: 'pager', 'aria-label': 'Admin action pages' },
      after ? el('a', { class: 'button', href: '#/actions' }, '← Newest') : null,
      page.body.next ? el('a', { class: 'button', id: 'actions-next', href: '#/actions?after=' + encodeURIComponent(page.body.next) }, 'Older →') : null);
    const csv = el('a', { class: 'button', id: 'actions-csv', href: '/v1/admin-actions?format=csv&' + q }, 'These rows as CSV');
    out.replaceChildren(tbl, nav, el('p', {}, csv));
  }

  // The books of the license contracts (#25): /v1/books, one card per
  // contract: DIMO held (the token's transfers in and out), staked (the
  // stake events), the stray difference, every adminWithdraw with its
  // executor and each forfeit against its transfer, a mismatch flagged.
  const FLOW_NAMES = { in_deposit: 'Deposited (stakes)', in_stray: 'Sent in without a stake (stray)',
    out_withdraw: 'Withdrawn by owners', out_forfeit: 'Forfeited (burned or reallocated)', out_unstake: 'Unstaked',
    out_emergency_withdrawal: 'Emergency withdrawals', out_admin_withdraw: 'adminWithdraw', out_other: 'Other outflows' };
  function booksCard(b, i) {
    const kv = (k, label, wei) => [el('dt', {}, label), el('dd', {}, dimo(wei, { 'data-k': k }))];
    const kinds = Object.keys(b.by_kind || {}).sort();
    const mism = b.forfeit_mismatches;
    const flows = kinds.length ? el('table', { class: 'data', id: 'books-flows-' + i },
      el('caption', {}, 'DIMO in and out, by reason'),
      el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Reason'), el('th', { scope: 'col' }, 'Amount'))),
      el('tbody', {}, kinds.map((k) => el('tr', { 'data-kind': k }, el('td', {}, FLOW_NAMES[k] || k), el('td', {}, dimo(b.by_kind[k]))))))
      : el('p', { class: 'muted' }, 'No DIMO moved.');
    const w = b.admin_withdrawals || [];
    const withdrawals = w.length ? el('table', { class: 'data', id: 'books-withdrawals-' + i },
      el('caption', {}, 'adminWithdraw (stray DIMO sent out, no stake moved)'),
      el('thead', {}, el('tr', {}, ['Amount', 'To', 'Block', 'Time', 'Transaction', 'Executed by'].map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, w.map((a) => el('tr', { 'data-amount': a.amount, 'data-block': a.block_number, 'data-by': a.by ? (a.by.address || a.by.attribution) : '' },
        el('td', {}, dimo(a.amount)), el('td', {}, shortAddr(a.detail && a.detail.to)), el('td', {}, a.block_number), el('td', {}, when(a.time)),
        el('td', {}, txLink(a.tx_hash)), el('td', {}, executor(a.by))))))
      : el('p', { class: 'muted' }, 'No adminWithdraw.');
    const f = b.forfeit_checks || [];
    const forfeits = f.length ? el('table', { class: 'data', id: 'books-forfeits-' + i },
      el('caption', {}, 'Each forfeit against the DIMO its transaction sent out'),
      el('thead', {}, el('tr', {}, ['License', 'Forfeited', 'Transferred', 'Check', 'Block', 'Transaction'].map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, f.map((x) => el('tr', { 'data-matches': String(x.matches), 'data-block': x.block_number, 'data-log-index': x.log_index },
        el('td', {}, '#' + x.token_id), el('td', {}, dimo(x.amount)), el('td', {}, dimo(x.transferred)),
        el('td', {}, x.matches ? el('span', { class: 'tag t-valid' }, 'matches') : el('strong', { class: 'tag t-expired' }, 'MISMATCH')),
        el('td', {}, x.block_number), el('td', {}, txLink(x.tx_hash))))))
      : el('p', { class: 'muted' }, 'No forfeits.');
    return el('section', { class: 'card books', 'data-contract': b.contract, 'aria-labelledby': 'books-h-' + i },
      el('h2', { id: 'books-h-' + i }, (b.role === 'manufacturer_license' ? 'Manufacturer licenses ' : 'App licenses ') , shortAddr(b.contract)),
      el('dl', { class: 'kv' }, kv('held', 'DIMO held', b.held), kv('staked', 'Staked', b.staked), kv('stray', 'Stray (held − staked)', b.stray),
        kv('received', 'Received in all', b.received), kv('sent', 'Sent out in all', b.sent),
        el('dt', {}, 'Forfeit mismatches'), el('dd', { 'data-k': 'mismatches', class: mism ? 'error' : '' }, String(mism))),
      flows, withdrawals, forfeits);
  }
  async function renderBooks(at) {
    const r = await api('/v1/books' + (at !== null ? '?at_block=' + at : ''));
    const asOf = r.status === 200 ? r.body.as_of_block : null;
    const out = el('div', { id: 'books-out' });
    show(el('h1', {}, 'Books'), el('p', { class: 'muted' },
      'The DIMO each license contract holds, from the token\'s own transfers, against the stakes it records. ' +
      'Stray tokens (sent without a stake) may leave only by adminWithdraw.'),
    asOfForm((b) => '#/books' + (b !== null ? '?at=' + b : ''), at, asOf), out);
    if (r.status !== 200) return out.replaceChildren(problem(r, 'The books could not be read'));
    const cs = r.body.contracts || [];
    out.replaceChildren(...(cs.length ? cs.map(booksCard) : [el('p', { class: 'muted' }, 'No license contract.')]));
  }

  // A CSV cell: quoted when needed; a leading =, +, - or @ is escaped so a
  // spreadsheet never reads a formula out of chain data.
  function csvCell(v) {
    let s = v === null || v === undefined ? '' : String(v);
    if (/^[=+\-@\t\r]/.test(s)) s = "'" + s;
    return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }

  // ---- routing -----------------------------------------------------------------------

  function route() {
    const h = location.hash || '#/overview';
    const [path, qs] = h.slice(1).split('?');
    const params = new URLSearchParams(qs || '');
    const parts = path.split('/').filter(Boolean);
    const name = parts[0] || 'overview';
    for (const a of document.querySelectorAll('nav a[data-view]')) {
      if (a.getAttribute('data-view') === (name === 'license' ? 'search' : name)) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    state.pinned = false;
    let render;
    if (name === 'search') {
      state.pinned = true; // a new block does not redraw a search
      render = () => renderSearch(params);
    } else if (name === 'license' && parts.length >= 3) {
      let key;
      try { key = decodeURIComponent(parts.slice(2).join('/')); } catch (e) { key = parts.slice(2).join('/'); }
      const at = /^[0-9]{1,18}$/.test(params.get('at') || '') ? params.get('at') : null;
      state.pinned = at !== null;
      const want = { contract: params.get('contract'), owner: params.get('owner') };
      render = () => renderLicense(kindOf(parts[1]), key, at, want);
    } else if (name === 'ledger') {
      state.pinned = !!params.get('after');
      render = () => renderLedger(params);
    } else if (name === 'actions') {
      state.pinned = !!params.get('after');
      render = () => renderActions(params);    } else if (name === 'books') {
      const at = /^[0-9]{1,18}$/.test(params.get('at') || '') ? params.get('at') : null;
      state.pinned = at !== null;
      render = () => renderBooks(at);
    }
    state.gap = 0;
    if (!render) {
      const at = /^[0-9]{1,18}$/.test(params.get('at') || '') ? params.get('at') : null;
      state.pinned = at !== null;
      render = () => renderOverview(at);
      state.gap = OVERVIEW_GAP_MS;
    }
    // A redraw waits while the reader is in a field of the view.
    state.render = (isRefresh) => {
      if (isRefresh && document.activeElement !== document.body && view().contains(document.activeElement)) return undefined;
      state.stale = false;
      state.drawnAt = Date.now();
      return render();
    };
    return state.render(false);
  }

  async function start() {
    const cfg = await api('/ui-config.json');
    if (cfg.status === 200 && typeof cfg.body.explorer_url === 'string' && /^https?:\/\/[^\s"'<>`\\]+$/.test(cfg.body.explorer_url)) {
      state.explorer = cfg.body.explorer_url;
    }
    const toggle = document.getElementById('live-toggle');
    toggle.addEventListener('change', () => { state.live = toggle.checked; });
    window.addEventListener('hashchange', () => { route(); document.getElementById('main').focus({ preventScroll: true }); });
    await poll();
    await route();
    document.body.setAttribute('data-ready', '1');
    schedule();
  }
  document.addEventListener('DOMContentLoaded', start);
})();
