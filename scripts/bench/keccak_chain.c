/*
 * keccak_chain.c: hashes a chain of block headers, for scripts/bench/synth_chain.js.
 *
 * stdin: records of  u32 length (little-endian), u32 offset, length bytes:
 * the RLP encoding of one header whose parentHash (32 bytes at offset) is
 * still zero. The first 32 bytes of stdin are the hash of the block before
 * the first record. For each record, in order, the previous hash is written
 * at offset, the record is hashed with Keccak-256 (Ethereum's: pad 0x01),
 * and the 32-byte hash is written to stdout; it is the next record's parent.
 *
 * Build: cc -O2 -o keccak_chain keccak_chain.c -lnettle  (nettle's
 * sha3_permute is the Keccak-f[1600] permutation).
 */
#include <nettle/sha3.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { RATE = 136, MAX_RECORD = 1 << 20 };

static void keccak256(uint8_t out[32], const uint8_t *p, size_t n) {
  struct sha3_state st;
  memset(&st, 0, sizeof st);
  uint8_t block[RATE];
  for (;;) {
    size_t k = n < RATE ? n : RATE;
    memset(block, 0, sizeof block);
    memcpy(block, p, k);
    if (k < RATE) {
      block[k] ^= 0x01;
      block[RATE - 1] ^= 0x80;
    }
    for (size_t i = 0; i < RATE / 8; i++) {
      uint64_t lane = 0;
      for (size_t b = 0; b < 8; b++)
        lane |= (uint64_t)block[8 * i + b] << (8 * b);
      st.a[i] ^= lane;
    }
    sha3_permute(&st);
    if (k < RATE)
      break;
    p += k;
    n -= k;
    if (n == 0) {
      /* A message of a whole number of blocks: one more block of padding. */
      memset(block, 0, sizeof block);
      block[0] = 0x01;
      block[RATE - 1] ^= 0x80;
      for (size_t i = 0; i < RATE / 8; i++) {
        uint64_t lane = 0;
        for (size_t b = 0; b < 8; b++)
          lane |= (uint64_t)block[8 * i + b] << (8 * b);
        st.a[i] ^= lane;
      }
      sha3_permute(&st);
      break;
    }
  }
  for (size_t i = 0; i < 4; i++)
    for (size_t b = 0; b < 8; b++)
      out[8 * i + b] = (uint8_t)(st.a[i] >> (8 * b));
}

static uint32_t le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int main(void) {
  uint8_t prev[32], head[8];
  static uint8_t rec[MAX_RECORD];
  if (fread(prev, 1, 32, stdin) != 32) {
    fprintf(stderr, "keccak_chain: missing the first parent hash\n");
    return 1;
  }
  unsigned long count = 0;
  while (fread(head, 1, 8, stdin) == 8) {
    uint32_t len = le32(head), off = le32(head + 4);
    if (len > MAX_RECORD || off + 32u > len) {
      fprintf(stderr, "keccak_chain: bad record %lu (length %u, offset %u)\n", count, len, off);
      return 1;
    }
    if (fread(rec, 1, len, stdin) != len) {
      fprintf(stderr, "keccak_chain: truncated record %lu\n", count);
      return 1;
    }
    memcpy(rec + off, prev, 32);
    keccak256(prev, rec, len);
    if (fwrite(prev, 1, 32, stdout) != 32) {
      fprintf(stderr, "keccak_chain: write failed\n");
      return 1;
    }
    count++;
  }
  return fflush(stdout) == 0 ? 0 : 1;
}
