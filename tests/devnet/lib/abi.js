'use strict';
// A small Solidity ABI codec for the types the devnet uses: uintN, intN,
// address, bool, bytesN, bytes, string and arrays of those (T[] and T[k]).
// Decoded values: integers as BigInt, addresses lower-case 0x-hex, bytes and
// bytesN as 0x-hex, strings as JS strings (UTF-8), arrays as JS arrays.

const { keccak256Hex } = require('./keccak');

const WORD = 32;

function toBigInt(v) {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new Error(`unsafe integer ${v}`);
    return BigInt(v);
  }
  if (typeof v === 'boolean') return v ? 1n : 0n;
  if (typeof v === 'string') return BigInt(v); // decimal or 0x-hex
  throw new Error(`not an integer: ${v}`);
}

function hexToBuf(h) {
  if (Buffer.isBuffer(h)) return h;
  if (h instanceof Uint8Array) return Buffer.from(h);
  if (typeof h !== 'string') throw new Error(`not hex: ${h}`);
  const s = h.startsWith('0x') || h.startsWith('0X') ? h.slice(2) : h;
  if (s.length % 2) throw new Error(`odd-length hex: ${h}`);
  if (!/^[0-9a-fA-F]*$/.test(s)) throw new Error(`not hex: ${h}`);
  return Buffer.from(s, 'hex');
}

function wordFromBigInt(n, signed = false, bits = 256) {
  let x = n;
  if (x < 0n) {
    if (!signed) throw new Error(`negative value ${n} for unsigned type`);
    x = (1n << 256n) + x;
  }
  const max = signed ? (1n << BigInt(bits - 1)) : (1n << BigInt(bits));
  if (!signed && n >= max) throw new Error(`value ${n} overflows uint${bits}`);
  if (signed && (n >= max || n < -max)) throw new Error(`value ${n} overflows int${bits}`);
  return Buffer.from(x.toString(16).padStart(64, '0'), 'hex');
}

function padRight(buf) {
  const len = Math.ceil(buf.length / WORD) * WORD;
  const out = Buffer.alloc(len);
  buf.copy(out);
  return out;
}

function arrayInfo(type) {
  const m = /^(.*)\[(\d*)\]$/.exec(type);
  if (!m) return null;
  return { inner: m[1], length: m[2] === '' ? null : Number(m[2]) };
}

function isDynamic(type) {
  if (type === 'string' || type === 'bytes') return true;
  const a = arrayInfo(type);
  if (a) return a.length === null || isDynamic(a.inner);
  return false;
}

function staticSize(type) {
  const a = arrayInfo(type);
  if (a && a.length !== null && !isDynamic(a.inner)) return a.length * staticSize(a.inner);
  return WORD;
}

function encodeStaticWord(type, value) {
  if (type === 'address') {
    const b = hexToBuf(value);
    if (b.length !== 20) throw new Error(`bad address ${value}`);
    return Buffer.concat([Buffer.alloc(12), b]);
  }
  if (type === 'bool') return wordFromBigInt(value ? 1n : 0n);
  let m = /^uint(\d*)$/.exec(type);
  if (m) return wordFromBigInt(toBigInt(value), false, Number(m[1] || 256));
  m = /^int(\d*)$/.exec(type);
  if (m) return wordFromBigInt(toBigInt(value), true, Number(m[1] || 256));
  m = /^bytes(\d+)$/.exec(type);
  if (m) {
    const b = hexToBuf(value);
    if (b.length > Number(m[1])) throw new Error(`${type}: value too long (${b.length} bytes)`);
    const out = Buffer.alloc(WORD);
    b.copy(out);
    return out;
  }
  throw new Error(`unsupported ABI type ${type}`);
}

function encodeValue(type, value) {
  if (type === 'string' || type === 'bytes') {
    // A string may be given as a Buffer: its exact bytes (text that is not UTF-8).
    const b = type === 'string' ? (Buffer.isBuffer(value) ? value : Buffer.from(String(value), 'utf8')) : hexToBuf(value);
    return Buffer.concat([wordFromBigInt(BigInt(b.length)), padRight(b)]);
  }
  const a = arrayInfo(type);
  if (a) {
    if (!Array.isArray(value)) throw new Error(`${type}: expected an array`);
    if (a.length !== null && value.length !== a.length) throw new Error(`${type}: expected ${a.length} items`);
    const body = encodeParams(value.map(() => a.inner), value);
    return a.length === null ? Buffer.concat([wordFromBigInt(BigInt(value.length)), body]) : body;
  }
  return encodeStaticWord(type, value);
}

/** ABI-encodes a parameter list (no selector). */
function encodeParams(types, values) {
  if (types.length !== values.length) throw new Error(`expected ${types.length} values, got ${values.length}`);
  let headSize = 0;
  for (const t of types) headSize += isDynamic(t) ? WORD : staticSize(t);
  const heads = [];
  const tails = [];
  let tailOffset = headSize;
  types.forEach((t, i) => {
    if (isDynamic(t)) {
      const enc = encodeValue(t, values[i]);
      heads.push(wordFromBigInt(BigInt(tailOffset)));
      tails.push(enc);
      tailOffset += enc.length;
    } else {
      heads.push(encodeValue(t, values[i]));
    }
  });
  return Buffer.concat([...heads, ...tails]);
}

function readWord(buf, off) {
  if (off + WORD > buf.length) throw new Error(`ABI decode: read past end (${off + WORD} > ${buf.length})`);
  return buf.slice(off, off + WORD);
}

function wordToBigInt(w) { return BigInt('0x' + w.toString('hex')); }

function decodeStaticWord(type, w) {
  if (type === 'address') return '0x' + w.slice(12).toString('hex');
  if (type === 'bool') return wordToBigInt(w) !== 0n;
  let m = /^uint(\d*)$/.exec(type);
  if (m) return wordToBigInt(w);
  m = /^int(\d*)$/.exec(type);
  if (m) {
    const x = wordToBigInt(w);
    return x >= (1n << 255n) ? x - (1n << 256n) : x;
  }
  m = /^bytes(\d+)$/.exec(type);
  if (m) return '0x' + w.slice(0, Number(m[1])).toString('hex');
  throw new Error(`unsupported ABI type ${type}`);
}

function decodeValue(type, buf, off) {
  if (type === 'string' || type === 'bytes') {
    const len = Number(wordToBigInt(readWord(buf, off)));
    if (off + WORD + len > buf.length) throw new Error('ABI decode: bytes past end');
    const b = buf.slice(off + WORD, off + WORD + len);
    return type === 'string' ? b.toString('utf8') : '0x' + b.toString('hex');
  }
  const a = arrayInfo(type);
  if (a) {
    let n = a.length;
    let start = off;
    if (n === null) { n = Number(wordToBigInt(readWord(buf, off))); start = off + WORD; }
    return decodeParams(new Array(n).fill(a.inner), buf.slice(start));
  }
  return decodeStaticWord(type, readWord(buf, off));
}

/** Decodes a parameter list from `data` (hex or Buffer). */
function decodeParams(types, data) {
  const buf = hexToBuf(data);
  const out = [];
  let off = 0;
  for (const t of types) {
    if (isDynamic(t)) {
      const ptr = Number(wordToBigInt(readWord(buf, off)));
      out.push(decodeValue(t, buf, ptr));
      off += WORD;
    } else {
      out.push(decodeValue(t, buf, off));
      off += staticSize(t);
    }
  }
  return out;
}

function canonicalType(input) {
  if (input.type.startsWith('tuple')) throw new Error('tuples are not supported by the devnet codec');
  return input.type;
}

function signatureOf(item) {
  return `${item.name}(${item.inputs.map(canonicalType).join(',')})`;
}

function eventTopic(ev) { return keccak256Hex(signatureOf(ev)); }

/** Decodes a log against one event ABI entry; returns null when topic0 or
 *  the number of topics does not match. */
function decodeLog(ev, log) {
  const indexed = ev.inputs.filter((i) => i.indexed);
  if (!log.topics || log.topics.length !== indexed.length + 1) return null;
  if (log.topics[0].toLowerCase() !== eventTopic(ev)) return null;
  const nonIndexed = ev.inputs.filter((i) => !i.indexed);
  const dataVals = decodeParams(nonIndexed.map((i) => i.type), log.data || '0x');
  const args = {};
  let ti = 1, di = 0;
  ev.inputs.forEach((inp, k) => {
    let v;
    if (inp.indexed) {
      const topic = log.topics[ti++];
      v = isDynamic(inp.type) ? topic.toLowerCase() : decodeStaticWord(inp.type, hexToBuf(topic));
    } else {
      v = dataVals[di++];
    }
    args[inp.name || String(k)] = v;
    args[k] = v;
  });
  return { name: ev.name, signature: signatureOf(ev), args };
}

/** Hex quantity for JSON-RPC. */
function qty(n) { return '0x' + toBigInt(n).toString(16); }

module.exports = {
  encodeParams, decodeParams, decodeLog, eventTopic, signatureOf, isDynamic,
  toBigInt, hexToBuf, qty,
};
