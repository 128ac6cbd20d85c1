/* keccak.c: Keccak-256 sponge over nettle's sha3_permute (see keccak.h). */
#include "common.h"

#include "keccak.h"

#include <nettle/sha3.h>
#include <string.h>

enum { KECCAK256_RATE = 136 };

_Static_assert(sizeof(((struct sha3_state *)0)->a) == 25 * sizeof(uint64_t),
               "nettle's sha3_state must be 25 64-bit lanes");

void idx_keccak_init(idx_keccak_t *k) { memset(k, 0, sizeof *k); }

static void absorb_block(idx_keccak_t *k, const uint8_t *block) {
  /* Lanes are little-endian 64-bit words of the block. */
  for (size_t i = 0; i < KECCAK256_RATE / 8; i++) {
    uint64_t lane = 0;
    for (size_t b = 8; b-- > 0;)
      lane = (lane << 8) | block[8 * i + b];
    k->lanes[i] ^= lane;
  }
  struct sha3_state st;
  memcpy(st.a, k->lanes, sizeof st.a);
  sha3_permute(&st);
  memcpy(k->lanes, st.a, sizeof st.a);
}

void idx_keccak_update(idx_keccak_t *k, const void *data, size_t n) {
  const uint8_t *p = data;
  if (n == 0)
    return;
  if (k->used) {
    size_t take = KECCAK256_RATE - k->used;
    if (take > n)
      take = n;
    memcpy(k->block + k->used, p, take);
    k->used += take;
    p += take;
    n -= take;
    if (k->used < KECCAK256_RATE)
      return;
    absorb_block(k, k->block);
    k->used = 0;
  }
  while (n >= KECCAK256_RATE) {
    absorb_block(k, p);
    p += KECCAK256_RATE;
    n -= KECCAK256_RATE;
  }
  if (n) {
    memcpy(k->block, p, n);
    k->used = n;
  }
}

void idx_keccak_final(idx_keccak_t *k, idx_hash_t *out) {
  memset(k->block + k->used, 0, KECCAK256_RATE - k->used);
  k->block[k->used] ^= 0x01;
  k->block[KECCAK256_RATE - 1] ^= 0x80;
  absorb_block(k, k->block);
  for (size_t i = 0; i < 32; i++)
    out->b[i] = (uint8_t)(k->lanes[i / 8] >> (8 * (i % 8)));
  idx_keccak_init(k);
}

void idx_keccak256(idx_hash_t *out, const void *data, size_t n) {
  idx_keccak_t k;
  idx_keccak_init(&k);
  idx_keccak_update(&k, data, n);
  idx_keccak_final(&k, out);
}
