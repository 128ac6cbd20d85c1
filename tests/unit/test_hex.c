/* Unit tests for hex.c: strict 0x-hex parsing and formatting. */
#include "common.h"

#include "check.h"
#include "hex.h"

static void test_encode_decode(void) {
  uint8_t bytes[4] = {0x00, 0xab, 0xCD, 0xff};
  char out[11];
  CHECK_INT(idx_hex_encode(out, sizeof out, bytes, 4), 0);
  CHECK_STR(out, "0x00abcdff");
  CHECK_INT(idx_hex_encode(out, 10, bytes, 4), IDX_ERR_TOO_LARGE);

  uint8_t back[4];
  size_t n = 99;
  CHECK_INT(idx_hex_decode(back, sizeof back, &n, "0x00ABcdff", 10), 0);
  CHECK_INT(n, 4);
  CHECK(memcmp(back, bytes, 4) == 0);
  CHECK_INT(idx_hex_decode(back, sizeof back, &n, "0x", 2), 0);
  CHECK_INT(n, 0);
  CHECK_INT(idx_hex_decode(back, sizeof back, &n, "00ab", 4), IDX_ERR_HEX);  /* no prefix */
  CHECK_INT(idx_hex_decode(back, sizeof back, &n, "0x0ab", 5), IDX_ERR_HEX); /* odd */
  CHECK_INT(idx_hex_decode(back, sizeof back, &n, "0x0g", 4), IDX_ERR_HEX);  /* bad digit */
  CHECK_INT(idx_hex_decode(back, 1, &n, "0x0011", 6), IDX_ERR_TOO_LARGE);    /* too long */
}

static void test_addresses_and_hashes(void) {
  idx_addr_t a;
  CHECK_INT(idx_addr_from_hex(&a, "0x9A9D2E717bB005B240094ba761Ff074d392C7C85"), 0);
  char hex[67];
  idx_addr_to_hex(hex, &a);
  CHECK_STR(hex, "0x9a9d2e717bb005b240094ba761ff074d392c7c85");
  CHECK_INT(idx_addr_from_hex(&a, "0x9a9d2e717bb005b240094ba761ff074d392c7c"), IDX_ERR_HEX);
  CHECK_INT(idx_addr_from_hex(&a, "0x9a9d2e717bb005b240094ba761ff074d392c7c8500"), IDX_ERR_HEX);
  idx_hash_t h;
  CHECK_INT(
      idx_hash_from_hex(&h, "0x7533f62ec6601bf9c87f8d96bf756b4b495e2a0e26ec9284e4927926ed6b3afd"),
      0);
  idx_hash_to_hex(hex, &h);
  CHECK_STR(hex, "0x7533f62ec6601bf9c87f8d96bf756b4b495e2a0e26ec9284e4927926ed6b3afd");
}

static void test_quantity(void) {
  uint64_t v = 1;
  CHECK_INT(idx_hex_quantity(&v, "0x0", 3), 0);
  CHECK_INT(v, 0);
  CHECK_INT(idx_hex_quantity(&v, "0x1a", 4), 0);
  CHECK_INT(v, 26);
  CHECK_INT(idx_hex_quantity(&v, "0x0001a", 7), 0); /* tolerated leading zeros */
  CHECK_INT(v, 26);
  CHECK_INT(idx_hex_quantity(&v, "0xffffffffffffffff", 18), 0);
  CHECK(v == UINT64_MAX);
  CHECK_INT(idx_hex_quantity(&v, "0x10000000000000000", 19), IDX_ERR_NUMBER);
  CHECK_INT(idx_hex_quantity(&v, "0x", 2), IDX_ERR_HEX);
  CHECK_INT(idx_hex_quantity(&v, "12", 2), IDX_ERR_HEX);
  CHECK_INT(idx_hex_quantity(&v, "0x1z", 4), IDX_ERR_HEX);
}

/* The table against the rule, for every byte, in every position of a
 * decode (the two digits of a step are looked up apart). */
static void test_every_byte(void) {
  for (int c = 0; c < 256; c++) {
    int want = c >= '0' && c <= '9'   ? c - '0'
               : c >= 'a' && c <= 'f' ? c - 'a' + 10
               : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                      : -1;
    CHECK_INT(idx_hex_digit((char)c), want);
    for (size_t pos = 2; pos < 8; pos++) {
      char s[8] = {'0', 'x', '1', '2', 'a', 'B', 'c', 'D'};
      s[pos] = (char)c;
      uint8_t out[3];
      size_t n = 0;
      int rc = idx_hex_decode(out, sizeof out, &n, s, sizeof s);
      CHECK_INT(rc, want < 0 ? IDX_ERR_HEX : 0);
      if (want >= 0)
        CHECK_INT(out[(pos - 2) / 2] >> ((pos & 1) ? 0 : 4) & 15, want);
      uint64_t q = 0;
      CHECK_INT(idx_hex_quantity(&q, s, sizeof s), want < 0 ? IDX_ERR_HEX : 0);
    }
  }
}

int main(void) {
  test_every_byte();
  test_encode_decode();
  test_addresses_and_hashes();
  test_quantity();
  CHECK_DONE();
}
