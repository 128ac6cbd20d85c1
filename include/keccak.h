/*
 * keccak.h: Keccak-256 as Ethereum uses it (original 0x01 padding, not
 * the FIPS-202 SHA3-256 0x06 padding), on nettle's Keccak-f[1600]
 * permutation. Used for event topic0s, function selectors, EIP-191
 * message hashes and address derivation.
 */
#ifndef IDX_KECCAK_H
#define IDX_KECCAK_H

#include "common.h"

/* Incremental state: absorb with update, then final once. */
typedef struct idx_keccak_s {
  uint64_t lanes[25];
  uint8_t block[136]; /* pending bytes of the current 136-byte block */
  size_t used;
} idx_keccak_t;

void idx_keccak_init(idx_keccak_t *k) IDX_NONNULL(1);
void idx_keccak_update(idx_keccak_t *k, const void *data, size_t n) IDX_NONNULL(1);
void idx_keccak_final(idx_keccak_t *k, idx_hash_t *out) IDX_NONNULL(1, 2);

/* One-shot Keccak-256 of n bytes. */
void idx_keccak256(idx_hash_t *out, const void *data, size_t n) IDX_NONNULL(1);

#endif
