'use strict';
// Keccak-256 (the Ethereum variant: pad byte 0x01, not SHA3's 0x06).
// Written for the devnet tooling: event topics, CREATE2 client ids, CREATE
// addresses. Lanes are 64-bit values held as two 32-bit halves (lo, hi) in a
// Uint32Array of 50 words; speed matters little here, clarity does.

const ROUNDS = 24;

// Round constants from the LFSR x^8 + x^6 + x^5 + x^4 + 1 (FIPS 202, 3.2.5).
const RC_LO = new Uint32Array(ROUNDS);
const RC_HI = new Uint32Array(ROUNDS);
(function buildRoundConstants() {
  let r = 1;
  const nextBit = () => {
    const bit = r & 1;
    r <<= 1;
    if (r & 0x100) r ^= 0x171;
    return bit;
  };
  for (let round = 0; round < ROUNDS; round++) {
    for (let j = 0; j < 7; j++) {
      if (nextBit()) {
        const pos = (1 << j) - 1;
        if (pos < 32) RC_LO[round] |= 1 << pos;
        else RC_HI[round] |= 1 << (pos - 32);
      }
    }
  }
})();

// Rotation offsets and the pi permutation, derived by the walk (x,y) -> (y, 2x+3y).
const ROT = new Array(25).fill(0);
(function buildRotations() {
  let x = 1, y = 0;
  for (let t = 0; t < 24; t++) {
    ROT[x + 5 * y] = (((t + 1) * (t + 2)) / 2) % 64;
    const nx = y;
    const ny = (2 * x + 3 * y) % 5;
    x = nx; y = ny;
  }
})();

function keccakF(s) {
  const cLo = new Uint32Array(5), cHi = new Uint32Array(5);
  const bLo = new Uint32Array(25), bHi = new Uint32Array(25);
  for (let round = 0; round < ROUNDS; round++) {
    // theta
    for (let x = 0; x < 5; x++) {
      cLo[x] = s[2 * x] ^ s[2 * (x + 5)] ^ s[2 * (x + 10)] ^ s[2 * (x + 15)] ^ s[2 * (x + 20)];
      cHi[x] = s[2 * x + 1] ^ s[2 * (x + 5) + 1] ^ s[2 * (x + 10) + 1] ^ s[2 * (x + 15) + 1] ^ s[2 * (x + 20) + 1];
    }
    for (let x = 0; x < 5; x++) {
      const l = cLo[(x + 1) % 5], h = cHi[(x + 1) % 5];
      // rotate left by 1
      const rLo = (l << 1) | (h >>> 31);
      const rHi = (h << 1) | (l >>> 31);
      const dLo = cLo[(x + 4) % 5] ^ rLo;
      const dHi = cHi[(x + 4) % 5] ^ rHi;
      for (let y = 0; y < 25; y += 5) {
        s[2 * (x + y)] ^= dLo;
        s[2 * (x + y) + 1] ^= dHi;
      }
    }
    // rho + pi: B[y, 2x+3y] = rot(A[x,y], r[x,y])
    for (let x = 0; x < 5; x++) {
      for (let y = 0; y < 5; y++) {
        const i = x + 5 * y;
        let lo = s[2 * i], hi = s[2 * i + 1];
        let n = ROT[i];
        if (n >= 32) { const t = lo; lo = hi; hi = t; n -= 32; }
        let rlo = lo, rhi = hi;
        if (n > 0) {
          rlo = (lo << n) | (hi >>> (32 - n));
          rhi = (hi << n) | (lo >>> (32 - n));
        }
        const j = y + 5 * ((2 * x + 3 * y) % 5);
        bLo[j] = rlo; bHi[j] = rhi;
      }
    }
    // chi
    for (let y = 0; y < 25; y += 5) {
      for (let x = 0; x < 5; x++) {
        const i = x + y, i1 = ((x + 1) % 5) + y, i2 = ((x + 2) % 5) + y;
        s[2 * i] = bLo[i] ^ (~bLo[i1] & bLo[i2]);
        s[2 * i + 1] = bHi[i] ^ (~bHi[i1] & bHi[i2]);
      }
    }
    // iota
    s[0] ^= RC_LO[round];
    s[1] ^= RC_HI[round];
  }
}

const RATE = 136; // bytes, for a 256-bit output

function keccak256(data) {
  let bytes;
  if (typeof data === 'string') {
    bytes = data.startsWith('0x') ? Buffer.from(data.slice(2), 'hex') : Buffer.from(data, 'utf8');
  } else {
    bytes = Buffer.from(data);
  }
  const padLen = RATE - (bytes.length % RATE);
  const msg = Buffer.alloc(bytes.length + padLen);
  bytes.copy(msg);
  msg[bytes.length] ^= 0x01;
  msg[msg.length - 1] ^= 0x80;
  const s = new Uint32Array(50);
  for (let off = 0; off < msg.length; off += RATE) {
    for (let i = 0; i < RATE / 4; i++) s[i] ^= msg.readUInt32LE(off + 4 * i);
    keccakF(s);
  }
  const out = Buffer.alloc(32);
  for (let i = 0; i < 8; i++) out.writeUInt32LE(s[i], 4 * i);
  return out;
}

function keccak256Hex(data) {
  return '0x' + keccak256(data).toString('hex');
}

module.exports = { keccak256, keccak256Hex };
