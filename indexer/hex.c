/* hex.c: 0x-hex parsing and formatting (see hex.h). */
#include "common.h"

#include "hex.h"

#include <string.h>

static const char hex_lower[] = "0123456789abcdef";

int idx_hex_digit(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
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
  for (size_t i = 0; i < n; i++) {
    int hi = idx_hex_digit(s[2 + 2 * i]);
    int lo = idx_hex_digit(s[3 + 2 * i]);
    if (hi < 0 || lo < 0)
      return IDX_ERR_HEX;
    out[i] = (uint8_t)((hi << 4) | lo);
  }
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
    int d = idx_hex_digit(s[i]);
    if (d < 0)
      return IDX_ERR_HEX;
    if (v >> 60)
      return IDX_ERR_NUMBER;
    v = (v << 4) | (uint64_t)d;
  }
  *out = v;
  return 0;
}
