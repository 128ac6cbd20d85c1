/*
 * u256.h: exact 256-bit unsigned arithmetic for token amounts and ids.
 *
 * uint256 values must never pass through a double: amounts are converted
 * between the ABI's 32-byte big-endian words, decimal strings (JSON, SQL
 * numeric) and this limb form. Signed ABI ints (intN) are rendered from
 * their two's complement form by idx_u256_to_dec_signed().
 */
#ifndef IDX_U256_H
#define IDX_U256_H

#include "common.h"

/* Longest decimal rendering: 78 digits, a sign and NUL. */
#define IDX_U256_DEC_MAX 80

void idx_u256_from_u64(idx_u256_t *out, uint64_t v) IDX_NONNULL(1);
void idx_u256_from_be(idx_u256_t *out, const uint8_t be[32]) IDX_NONNULL(1, 2);
void idx_u256_to_be(uint8_t be[32], const idx_u256_t *v) IDX_NONNULL(1, 2);

bool idx_u256_is_zero(const idx_u256_t *v) IDX_NONNULL(1);
/* Returns -1, 0 or 1. */
int idx_u256_cmp(const idx_u256_t *a, const idx_u256_t *b) IDX_NONNULL(1, 2);

/* out = a + b; returns true on overflow (out then holds the wrapped sum). */
bool idx_u256_add(idx_u256_t *out, const idx_u256_t *a, const idx_u256_t *b) IDX_NONNULL(1, 2, 3);
/* out = a - b; returns true on underflow (out then holds the wrapped difference). */
bool idx_u256_sub(idx_u256_t *out, const idx_u256_t *a, const idx_u256_t *b) IDX_NONNULL(1, 2, 3);
/* out = a * m + add; returns true on overflow. */
bool idx_u256_mul_add_u64(idx_u256_t *out, const idx_u256_t *a, uint64_t m, uint64_t add)
    IDX_NONNULL(1, 2);
/* v /= d (d > 0); returns the remainder. */
uint64_t idx_u256_div_u64(idx_u256_t *v, uint64_t d) IDX_NONNULL(1);

/* Writes the decimal form (no leading zeros, "0" for zero) into out
 * (IDX_U256_DEC_MAX bytes). Returns the length. */
size_t idx_u256_to_dec(char *out, const idx_u256_t *v) IDX_NONNULL(1, 2);

/* Decimal form of the two's complement value of a bits-wide signed int
 * stored in v (bits 8..256). Returns the length. */
size_t idx_u256_to_dec_signed(char *out, const idx_u256_t *v, unsigned bits) IDX_NONNULL(1, 2);

/* Parses a decimal string of len bytes (digits only, at most 2^256-1).
 * Returns 0 or IDX_ERR_NUMBER. */
IDX_WARN_UNUSED int idx_u256_from_dec(idx_u256_t *out, const char *s, size_t len) IDX_NONNULL(1, 2);

/* Parses a 0x hex quantity of at most 64 digits. Returns 0, IDX_ERR_HEX or IDX_ERR_NUMBER. */
IDX_WARN_UNUSED int idx_u256_from_hex(idx_u256_t *out, const char *s, size_t len) IDX_NONNULL(1, 2);

#endif
