/* Unit tests for u256.c: exact 256-bit conversions and arithmetic. */
#include "common.h"

#include "check.h"
#include "u256.h"

static const char *max_dec =
    "115792089237316195423570985008687907853269984665640564039457584007913129639935";

static void test_decimal(void) {
  char out[IDX_U256_DEC_MAX];
  idx_u256_t v;
  idx_u256_from_u64(&v, 0);
  CHECK_INT(idx_u256_to_dec(out, &v), 1);
  CHECK_STR(out, "0");
  idx_u256_from_u64(&v, UINT64_MAX);
  idx_u256_to_dec(out, &v);
  CHECK_STR(out, "18446744073709551615");

  /* 10^19 exactly: a chunk boundary of the conversion. */
  CHECK_INT(idx_u256_from_dec(&v, "10000000000000000000", 20), 0);
  idx_u256_to_dec(out, &v);
  CHECK_STR(out, "10000000000000000000");

  CHECK_INT(idx_u256_from_dec(&v, max_dec, strlen(max_dec)), 0);
  CHECK(v.w[0] == UINT64_MAX && v.w[3] == UINT64_MAX);
  CHECK_INT(idx_u256_to_dec(out, &v), 78);
  CHECK_STR(out, max_dec);

  /* 2^256 overflows; junk and empty input are refused. */
  CHECK_INT(
      idx_u256_from_dec(
          &v, "115792089237316195423570985008687907853269984665640564039457584007913129639936", 78),
      IDX_ERR_NUMBER);
  CHECK_INT(idx_u256_from_dec(&v, "", 0), IDX_ERR_NUMBER);
  CHECK_INT(idx_u256_from_dec(&v, "12a", 3), IDX_ERR_NUMBER);
  CHECK_INT(idx_u256_from_dec(&v, "-1", 2), IDX_ERR_NUMBER);

  /* 100,000 DIMO in wei. */
  CHECK_INT(idx_u256_from_dec(&v, "100000000000000000000000", 24), 0);
  idx_u256_to_dec(out, &v);
  CHECK_STR(out, "100000000000000000000000");
}

static void test_big_endian_and_signed(void) {
  uint8_t be[32] = {0};
  be[31] = 0x01;
  be[0] = 0x80;
  idx_u256_t v;
  idx_u256_from_be(&v, be);
  CHECK(v.w[3] == 0x8000000000000000ull && v.w[0] == 1);
  uint8_t back[32];
  idx_u256_to_be(back, &v);
  CHECK(memcmp(be, back, 32) == 0);

  char out[IDX_U256_DEC_MAX];
  memset(be, 0xff, 32); /* -1 as int256 */
  idx_u256_from_be(&v, be);
  idx_u256_to_dec_signed(out, &v, 256);
  CHECK_STR(out, "-1");
  idx_u256_to_dec_signed(out, &v, 8);
  CHECK_STR(out, "-1");
  memset(be, 0, 32);
  be[0] = 0x80; /* int256 minimum */
  idx_u256_from_be(&v, be);
  idx_u256_to_dec_signed(out, &v, 256);
  CHECK_STR(out, "-57896044618658097711785492504343953926634992332820282019728792003956564819968");
  memset(be, 0, 32);
  be[31] = 5;
  idx_u256_from_be(&v, be);
  idx_u256_to_dec_signed(out, &v, 256);
  CHECK_STR(out, "5");
}

static void test_arithmetic(void) {
  idx_u256_t a, b, r;
  idx_u256_from_u64(&a, UINT64_MAX);
  idx_u256_from_u64(&b, 1);
  CHECK(!idx_u256_add(&r, &a, &b));
  CHECK(r.w[0] == 0 && r.w[1] == 1);
  CHECK(!idx_u256_sub(&r, &r, &b));
  CHECK_INT(idx_u256_cmp(&r, &a), 0);
  idx_u256_from_u64(&a, 0);
  CHECK(idx_u256_sub(&r, &a, &b)); /* 0 - 1 underflows */
  CHECK(r.w[3] == UINT64_MAX);
  CHECK(idx_u256_add(&r, &r, &b)); /* max + 1 overflows to 0 */
  CHECK(idx_u256_is_zero(&r));
  idx_u256_from_u64(&a, 7);
  idx_u256_from_u64(&b, 9);
  CHECK_INT(idx_u256_cmp(&a, &b), -1);
  CHECK_INT(idx_u256_cmp(&b, &a), 1);
  CHECK(!idx_u256_mul_add_u64(&r, &a, 1000, 3));
  CHECK_INT(r.w[0], 7003);
  CHECK_INT(idx_u256_div_u64(&r, 1000), 3);
  CHECK_INT(r.w[0], 7);
}

static void test_hex_quantity(void) {
  idx_u256_t v;
  char out[IDX_U256_DEC_MAX];
  CHECK_INT(idx_u256_from_hex(&v, "0x152d02c7e14af6800000", 22), 0);
  idx_u256_to_dec(out, &v);
  CHECK_STR(out, "100000000000000000000000");
  CHECK_INT(idx_u256_from_hex(&v, "0x0", 3), 0);
  CHECK(idx_u256_is_zero(&v));
  CHECK_INT(idx_u256_from_hex(&v, "0x", 2), IDX_ERR_HEX);
  CHECK_INT(idx_u256_from_hex(&v, "0xg1", 4), IDX_ERR_HEX);
  char big[70] = "0x1";
  memset(big + 3, '0', 64);
  big[67] = '\0';
  CHECK_INT(idx_u256_from_hex(&v, big, 67), IDX_ERR_NUMBER); /* 2^256 */
}

int main(void) {
  test_decimal();
  test_big_endian_and_signed();
  test_arithmetic();
  test_hex_quantity();
  CHECK_DONE();
}
