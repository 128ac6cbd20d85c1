/*
 * hex.h: strict conversions between 0x-hex text and bytes or integers.
 *
 * JSON-RPC speaks hex everywhere; these functions are the only place that
 * parses it, so every caller gets the same checks: the 0x prefix, even
 * length for data, exact length for addresses and hashes, and no
 * characters outside [0-9a-fA-F]. Nothing here allocates.
 */
#ifndef IDX_HEX_H
#define IDX_HEX_H

#include "common.h"

/* Writes "0x" + 2n lower-case hex digits + NUL into out (cap >= 2n+3).
 * Returns 0 or IDX_ERR_TOO_LARGE when out is too small. */
IDX_WARN_UNUSED int idx_hex_encode(char *out, size_t cap, const uint8_t *bytes, size_t n)
    IDX_NONNULL(1);

/* Decodes "0x..." data of even length into out. len is the length of s;
 * *outlen receives the byte count. Returns 0, IDX_ERR_HEX or
 * IDX_ERR_TOO_LARGE (more than cap bytes). */
IDX_WARN_UNUSED int idx_hex_decode(uint8_t *out, size_t cap, size_t *outlen, const char *s,
                                   size_t len) IDX_NONNULL(1, 3, 4);

/* Decodes exactly n bytes ("0x" + 2n digits), e.g. an address or a hash. */
IDX_WARN_UNUSED int idx_hex_decode_exact(uint8_t *out, size_t n, const char *s, size_t len)
    IDX_NONNULL(1, 3);

IDX_WARN_UNUSED int idx_addr_from_hex(idx_addr_t *out, const char *s) IDX_NONNULL(1, 2);
IDX_WARN_UNUSED int idx_hash_from_hex(idx_hash_t *out, const char *s) IDX_NONNULL(1, 2);

/* Formats as "0x" + lower-case hex; out must hold 43 (address) / 67 (hash). */
void idx_addr_to_hex(char out[43], const idx_addr_t *a) IDX_NONNULL(1, 2);
void idx_hash_to_hex(char out[67], const idx_hash_t *h) IDX_NONNULL(1, 2);

/* Parses a JSON-RPC quantity ("0x0", "0x1a"; at most 64 bits). Leading
 * zeros are tolerated because some providers send them. Returns 0,
 * IDX_ERR_HEX or IDX_ERR_NUMBER (overflow). */
IDX_WARN_UNUSED int idx_hex_quantity(uint64_t *out, const char *s, size_t len) IDX_NONNULL(1, 2);

/* Value of one hex digit, or -1. */
int idx_hex_digit(char c);

#endif
