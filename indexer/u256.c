/* u256.c: exact 256-bit arithmetic (see u256.h). */
#include "common.h"

#include "hex.h"
#include "u256.h"

#include <string.h>

__extension__ typedef unsigned __int128 u128_t;

void idx_u256_from_u64(idx_u256_t *out, uint64_t v) {
  memset(out, 0, sizeof *out);
  out->w[0] = v;
}

void idx_u256_from_be(idx_u256_t *out, const uint8_t be[32]) {
  for (size_t limb = 0; limb < 4; limb++) {
    uint64_t w = 0;
    const uint8_t *p = be + 32 - 8 * (limb + 1);
    for (size_t i = 0; i < 8; i++)
      w = (w << 8) | p[i];
    out->w[limb] = w;
  }
}

void idx_u256_to_be(uint8_t be[32], const idx_u256_t *v) {
  for (size_t limb = 0; limb < 4; limb++) {
    uint64_t w = v->w[limb];
    uint8_t *p = be + 32 - 8 * (limb + 1);
    for (size_t i = 8; i-- > 0;) {
      p[i] = (uint8_t)w;
      w >>= 8;
    }
  }
}

bool idx_u256_is_zero(const idx_u256_t *v) { return !(v->w[0] | v->w[1] | v->w[2] | v->w[3]); }

int idx_u256_cmp(const idx_u256_t *a, const idx_u256_t *b) {
  for (size_t i = 4; i-- > 0;) {
    if (a->w[i] != b->w[i])
      return a->w[i] < b->w[i] ? -1 : 1;
  }
  return 0;
}

bool idx_u256_add(idx_u256_t *out, const idx_u256_t *a, const idx_u256_t *b) {
  uint64_t carry = 0;
  for (size_t i = 0; i < 4; i++) {
    u128_t s = (u128_t)a->w[i] + b->w[i] + carry;
    out->w[i] = (uint64_t)s;
    carry = (uint64_t)(s >> 64);
  }
  return carry != 0;
}

bool idx_u256_sub(idx_u256_t *out, const idx_u256_t *a, const idx_u256_t *b) {
  uint64_t borrow = 0;
  for (size_t i = 0; i < 4; i++) {
    uint64_t ai = a->w[i], bi = b->w[i];
    uint64_t d = ai - bi - borrow;
    borrow = (ai < bi || (ai == bi && borrow)) ? 1 : 0;
    out->w[i] = d;
  }
  return borrow != 0;
}

bool idx_u256_mul_add_u64(idx_u256_t *out, const idx_u256_t *a, uint64_t m, uint64_t add) {
  uint64_t carry = add;
  for (size_t i = 0; i < 4; i++) {
    u128_t p = (u128_t)a->w[i] * m + carry;
    out->w[i] = (uint64_t)p;
    carry = (uint64_t)(p >> 64);
  }
  return carry != 0;
}

uint64_t idx_u256_div_u64(idx_u256_t *v, uint64_t d) {
  u128_t rem = 0;
  for (size_t i = 4; i-- > 0;) {
    u128_t cur = (rem << 64) | v->w[i];
    v->w[i] = (uint64_t)(cur / d);
    rem = cur % d;
  }
  return (uint64_t)rem;
}

size_t idx_u256_to_dec(char *out, const idx_u256_t *v) {
  /* Peel 19 decimal digits at a time: 10^19 is the largest power of ten
   * that fits in 64 bits. */
  static const uint64_t chunk = 10000000000000000000ull;
  char tmp[IDX_U256_DEC_MAX];
  size_t n = 0;
  idx_u256_t x = *v;
  do {
    uint64_t r = idx_u256_div_u64(&x, chunk);
    bool last = idx_u256_is_zero(&x);
    for (int k = 0; k < 19 && (!last || r); k++) {
      tmp[n++] = (char)('0' + r % 10);
      r /= 10;
    }
  } while (!idx_u256_is_zero(&x));
  if (n == 0)
    tmp[n++] = '0';
  for (size_t i = 0; i < n; i++)
    out[i] = tmp[n - 1 - i];
  out[n] = '\0';
  return n;
}

size_t idx_u256_to_dec_signed(char *out, const idx_u256_t *v, unsigned bits) {
  unsigned top = bits - 1;
  bool negative = (v->w[top / 64] >> (top % 64)) & 1u;
  if (!negative)
    return idx_u256_to_dec(out, v);
  /* Magnitude = two's complement negation within 256 bits; the value was
   * sign-extended to 256 bits by the ABI, so this is exact. */
  idx_u256_t mag, zero;
  idx_u256_from_u64(&zero, 0);
  (void)idx_u256_sub(&mag, &zero, v);
  out[0] = '-';
  return 1 + idx_u256_to_dec(out + 1, &mag);
}

int idx_u256_from_dec(idx_u256_t *out, const char *s, size_t len) {
  if (len == 0 || len > 78)
    return IDX_ERR_NUMBER;
  idx_u256_t v;
  idx_u256_from_u64(&v, 0);
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9')
      return IDX_ERR_NUMBER;
    if (idx_u256_mul_add_u64(&v, &v, 10, (uint64_t)(s[i] - '0')))
      return IDX_ERR_NUMBER;
  }
  *out = v;
  return 0;
}

int idx_u256_from_hex(idx_u256_t *out, const char *s, size_t len) {
  if (len < 3 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
    return IDX_ERR_HEX;
  size_t i = 2;
  while (i < len - 1 && s[i] == '0')
    i++;
  if (len - i > 64)
    return IDX_ERR_NUMBER;
  idx_u256_t v;
  idx_u256_from_u64(&v, 0);
  for (; i < len; i++) {
    int d = idx_hex_digit(s[i]);
    if (d < 0)
      return IDX_ERR_HEX;
    (void)idx_u256_mul_add_u64(&v, &v, 16, (uint64_t)d);
  }
  *out = v;
  return 0;
}
