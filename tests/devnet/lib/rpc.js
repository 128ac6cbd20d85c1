'use strict';
// JSON-RPC clients for the devnet tools.
//  - Rpc: request/response over keep-alive HTTP (node's http.Agent), with
//    JSON-RPC batches; safe to use concurrently.
//  - PipelinedRpc: one raw TCP connection, HTTP/1.1 pipelining: requests are
//    written back to back and answered strictly in order, so a sequence such
//    as "send tx, send tx, evm_mine" keeps its order without a round trip per
//    request. Used by the bulk generator.

const http = require('http');
const net = require('net');

class RpcError extends Error {
  constructor(method, err) {
    super(`${method}: ${err && err.message ? err.message : JSON.stringify(err)}`);
    this.code = err && err.code;
    this.data = err && err.data;
    this.rpcMethod = method;
  }
}

function parseUrl(url) {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port || 80), path: (u.pathname || '/') + (u.search || '') };
}

class Rpc {
  constructor(url, { maxSockets = 8, timeoutMs = 120000 } = {}) {
    this.url = url;
    this.target = parseUrl(url);
    this.agent = new http.Agent({ keepAlive: true, maxSockets });
    this.timeoutMs = timeoutMs;
    this.nextId = 1;
  }

  _post(body) {
    const payload = Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = http.request({
        host: this.target.host,
        port: this.target.port,
        path: this.target.path,
        method: 'POST',
        agent: this.agent,
        headers: { 'content-type': 'application/json', 'content-length': payload.length },
        timeout: this.timeoutMs,
      }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200) {
            reject(new Error(`HTTP ${res.statusCode} from ${this.url}: ${text.slice(0, 300)}`));
            return;
          }
          try { resolve(JSON.parse(text)); } catch (e) { reject(new Error(`bad JSON from ${this.url}: ${text.slice(0, 300)}`)); }
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`timeout after ${this.timeoutMs} ms talking to ${this.url}`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  async call(method, params = []) {
    const id = this.nextId++;
    const res = await this._post({ jsonrpc: '2.0', id, method, params });
    if (res.error) throw new RpcError(method, res.error);
    return res.result;
  }

  /** calls: [[method, params], ...]. Returns results in order; entries that
   *  failed are RpcError instances (not thrown) unless throwOnError. */
  async batch(calls, { throwOnError = true, chunk = 500 } = {}) {
    const out = new Array(calls.length);
    for (let start = 0; start < calls.length; start += chunk) {
      const part = calls.slice(start, start + chunk);
      const base = this.nextId;
      this.nextId += part.length;
      const body = part.map(([method, params], i) => ({ jsonrpc: '2.0', id: base + i, method, params: params || [] }));
      const res = await this._post(body);
      if (!Array.isArray(res)) throw new Error(`batch: expected array, got ${JSON.stringify(res).slice(0, 200)}`);
      const byId = new Map(res.map((r) => [r.id, r]));
      for (let i = 0; i < part.length; i++) {
        const r = byId.get(base + i);
        let v;
        if (!r) v = new RpcError(part[i][0], { message: 'missing in batch response' });
        else if (r.error) v = new RpcError(part[i][0], r.error);
        else v = r.result;
        if (v instanceof RpcError && throwOnError) throw v;
        out[start + i] = v;
      }
    }
    return out;
  }

  close() { this.agent.destroy(); }
}

class PipelinedRpc {
  constructor(url, { window = 64 } = {}) {
    this.url = url;
    this.target = parseUrl(url);
    this.window = window;
    this.pending = []; // {method, resolve, reject}
    this.waiters = []; // resolvers waiting for window space
    this.buf = Buffer.alloc(0);
    this.nextId = 1;
    this.closed = false;
    this.error = null;
  }

  connect() {
    return new Promise((resolve, reject) => {
      this.sock = net.createConnection({ host: this.target.host, port: this.target.port }, resolve);
      this.sock.setNoDelay(true);
      this.sock.once('error', reject);
      this.sock.on('error', (e) => this._fail(e));
      this.sock.on('close', () => { if (!this.closed) this._fail(new Error('pipelined connection closed by peer')); });
      this.sock.on('data', (d) => this._onData(d));
    });
  }

  _fail(e) {
    this.error = e;
    for (const p of this.pending.splice(0)) p.reject(e);
    for (const w of this.waiters.splice(0)) w();
  }

  _onData(d) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    for (;;) {
      const resp = this._parseOne();
      if (!resp) break;
      const p = this.pending.shift();
      if (!p) { this._fail(new Error('unexpected response on pipelined connection')); return; }
      if (resp.status !== 200) { p.reject(new Error(`HTTP ${resp.status}: ${resp.body.slice(0, 200)}`)); }
      else {
        let j;
        try { j = JSON.parse(resp.body); } catch (e) { p.reject(new Error(`bad JSON: ${resp.body.slice(0, 200)}`)); continue; }
        if (j.error) p.reject(new RpcError(p.method, j.error)); else p.resolve(j.result);
      }
      const w = this.waiters.shift();
      if (w) w();
    }
  }

  _parseOne() {
    const headEnd = this.buf.indexOf('\r\n\r\n');
    if (headEnd < 0) return null;
    const head = this.buf.slice(0, headEnd).toString('latin1');
    const lines = head.split('\r\n');
    const status = Number(lines[0].split(' ')[1]);
    let length = -1;
    let chunked = false;
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      const k = l.slice(0, i).trim().toLowerCase();
      const v = l.slice(i + 1).trim();
      if (k === 'content-length') length = Number(v);
      else if (k === 'transfer-encoding' && /chunked/i.test(v)) chunked = true;
    }
    let pos = headEnd + 4;
    if (!chunked) {
      if (length < 0) length = 0;
      if (this.buf.length < pos + length) return null;
      const body = this.buf.slice(pos, pos + length).toString('utf8');
      this.buf = this.buf.slice(pos + length);
      return { status, body };
    }
    const parts = [];
    for (;;) {
      const le = this.buf.indexOf('\r\n', pos);
      if (le < 0) return null;
      const size = parseInt(this.buf.slice(pos, le).toString('latin1'), 16);
      if (this.buf.length < le + 2 + size + 2) return null;
      if (size === 0) {
        this.buf = this.buf.slice(le + 4);
        return { status, body: Buffer.concat(parts).toString('utf8') };
      }
      parts.push(this.buf.slice(le + 2, le + 2 + size));
      pos = le + 2 + size + 2;
    }
  }

  /** Queues a request; resolves with its result. Waits while `window`
   *  requests are outstanding (await it to apply back-pressure). */
  async call(method, params = []) {
    while (this.pending.length >= this.window && !this.error) {
      await new Promise((r) => this.waiters.push(r));
    }
    if (this.error) throw this.error;
    const body = Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: this.nextId++, method, params }));
    const req = Buffer.concat([
      Buffer.from(`POST ${this.target.path} HTTP/1.1\r\nHost: ${this.target.host}:${this.target.port}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`, 'latin1'),
      body,
    ]);
    return new Promise((resolve, reject) => {
      this.pending.push({ method, resolve, reject });
      this.sock.write(req);
    });
  }

  /** Like call() but returns once the request is queued (window permitting);
   *  the returned object's .done is the result promise. */
  async enqueue(method, params = []) {
    while (this.pending.length >= this.window && !this.error) {
      await new Promise((r) => this.waiters.push(r));
    }
    const done = this.call(method, params);
    done.catch(() => {}); // observed by the caller via .done
    return { done };
  }

  close() {
    this.closed = true;
    if (this.sock) this.sock.end();
  }
}

module.exports = { Rpc, PipelinedRpc, RpcError };
