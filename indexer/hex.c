/* hex.c: 0x-hex parsing and formatting (see hex.h). */
#include "common.h"

#include "hex.h"

#include <string.h>

static const char hex_lower[] = "0123456789abcdef";

/* The value of every byte as a hex digit, -1 when it is none: one load
 * per digit in the decoders, which run over every byte of every log
 * (hashes, topics, data) the follower receives. */
#define H_ -1
static const int8_t hex_value[256] = {
    H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, /* 0x00 */
    H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, /* 0x10 */
    H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, /* 0x20 */
    0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  H_, H_, H_, H_, H_, H_, /* 0x30 */
    H_, 10, 11, 12, 13, 14, 15, H_, H_, H_, H_, H_, H_, H_, H_, H_, /* 0x40 */
    H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, /* 0x50 */
    H_, 10, 11, 12, 13, 14, 15, H_, H_, H_, H_, H_, H_, H_, H_, H_, /* 0x60 */
    H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, /* 0x70 */
    H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, /* 0x80 */
    H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, /* 0x90 */
    H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, /* 0xa0 */
    H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, /* 0xb0 */
    H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, /* 0xc0 */
    H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, /* 0xd0 */
    H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, /* 0xe0 */
    H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, H_, /* 0xf0 */
};
#undef H_

int idx_hex_digit(char c) { return hex_value[(unsigned char)c]; }

/* Decodes 2n hex digits at s into n bytes; false on a non-digit (out is
 * then partly written). Two digits per step; the digits' values are OR-ed
 * into one sign test at the end rather than branched on per byte. */
static bool decode_digits(uint8_t *out, const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  int bad = 0;
  for (size_t i = 0; i < n; i++) {
    int hi = hex_value[u[2 * i]];
    int lo = hex_value[u[2 * i + 1]];
    bad |= hi | lo;
    out[i] = (uint8_t)(((unsigned)hi << 4) | ((unsigned)lo & 15u));
  }
  return bad >= 0;
}

static bool has_prefix(const char *s, size_t len) {
  return len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
}

/* Writes "0x" + hex + NUL; the caller has checked that it fits. */
static void encode_into(char *out, const uint8_t *bytes, size_t n) {
  out[0] = '0';
  out[1] = 'x';
  for (size_t i = 0; i < n; i++) {
    out[2 + 2 * i] = hex_lower[bytes[i] >> 4];
    out[3 + 2 * i] = hex_lower[bytes[i] & 15];
  }
  out[2 + 2 * n] = '\0';
}

int idx_hex_encode(char *out, size_t cap, const uint8_t *bytes, size_t n) {
  if (n > (SIZE_MAX - 3) / 2 || cap < 2 * n + 3)
    return IDX_ERR_TOO_LARGE;
  encode_into(out, bytes, n);
  return 0;
}

int idx_hex_decode(uint8_t *out, size_t cap, size_t *outlen, const char *s, size_t len) {
  if (!has_prefix(s, len) || (len & 1u))
    return IDX_ERR_HEX;
  size_t n = (len - 2) / 2;
  if (n > cap)
    return IDX_ERR_TOO_LARGE;
  if (!decode_digits(out, s + 2, n))
    return IDX_ERR_HEX;
  *outlen = n;
  return 0;
}

int idx_hex_decode_exact(uint8_t *out, size_t n, const char *s, size_t len) {
  size_t got = 0;
  if (len != 2 + 2 * n)
    return IDX_ERR_HEX;
  int rc = idx_hex_decode(out, n, &got, s, len);
  return rc ? rc : got == n ? 0 : IDX_ERR_HEX;
}

int idx_addr_from_hex(idx_addr_t *out, const char *s) {
  return idx_hex_decode_exact(out->b, sizeof out->b, s, strlen(s));
}

int idx_hash_from_hex(idx_hash_t *out, const char *s) {
  return idx_hex_decode_exact(out->b, sizeof out->b, s, strlen(s));
}

void idx_addr_to_hex(char out[43], const idx_addr_t *a) { encode_into(out, a->b, sizeof a->b); }

void idx_hash_to_hex(char out[67], const idx_hash_t *h) { encode_into(out, h->b, sizeof h->b); }

int idx_hex_quantity(uint64_t *out, const char *s, size_t len) {
  if (!has_prefix(s, len) || len == 2)
    return IDX_ERR_HEX;
  uint64_t v = 0;
  for (size_t i = 2; i < len; i++) {
    int d = hex_value[(unsigned char)s[i]];
    if (d < 0)
      return IDX_ERR_HEX;
    if (v >> 60)
      return IDX_ERR_NUMBER;
    v = (v << 4) | (uint64_t)d;
  }
  *out = v;
  return 0;
}
