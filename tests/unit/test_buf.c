/* Unit tests for buf.c: the cap, formatting, JSON strings, UTF-8 checks. */
#include "common.h"

#include "buf.h"
#include "check.h"

static void test_cap(void) {
  idx_buf_t b;
  idx_buf_init(&b, 10);
  CHECK_INT(idx_buf_adds(&b, "hello"), 0);
  CHECK_INT(idx_buf_adds(&b, "world"), 0);
  CHECK_INT(b.len, 10);
  CHECK_INT(idx_buf_adds(&b, "!"), IDX_ERR_TOO_LARGE);
  CHECK_STR(b.data, "helloworld"); /* a refused append changes nothing */
  idx_buf_reset(&b);
  CHECK_INT(b.len, 0);
  CHECK_INT(idx_buf_addf(&b, "%d-%s", 42, "x"), 0);
  CHECK_STR(b.data, "42-x");
  CHECK_INT(idx_buf_addf(&b, "%s", "0123456789"), IDX_ERR_TOO_LARGE);
  idx_buf_free(&b);

  idx_buf_init(&b, 100000);
  char big[1000];
  memset(big, 'z', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  CHECK_INT(idx_buf_addf(&b, "<%s>", big), 0); /* longer than the small stack buffer */
  CHECK_INT(b.len, 1001);
  idx_buf_free(&b);
}

static void test_json_and_utf8(void) {
  idx_buf_t b;
  idx_buf_init(&b, 1000);
  CHECK_INT(idx_buf_add_json_str(&b, "a\"b\\c\n\x01", 7), 0);
  CHECK_STR(b.data, "\"a\\\"b\\\\c\\u000a\\u0001\"");
  idx_buf_free(&b);

  CHECK(idx_utf8_valid((const uint8_t *)"plain", 5));
  CHECK(idx_utf8_valid((const uint8_t *)"caf\xc3\xa9", 5));
  CHECK(idx_utf8_valid((const uint8_t *)"\xf0\x9f\x9a\x97", 4));
  CHECK(!idx_utf8_valid((const uint8_t *)"a\0b", 3));         /* NUL */
  CHECK(!idx_utf8_valid((const uint8_t *)"\xc3", 1));         /* truncated */
  CHECK(!idx_utf8_valid((const uint8_t *)"\xc0\xaf", 2));     /* overlong */
  CHECK(!idx_utf8_valid((const uint8_t *)"\xed\xa0\x80", 3)); /* surrogate */
  CHECK(!idx_utf8_valid((const uint8_t *)"\xff", 1));
}

/* The 8-byte ASCII steps: a NUL or a non-ASCII byte at every position of
 * a longer text is still seen, and a sequence split across a step. */
static void test_utf8_words(void) {
  uint8_t t[24];
  for (size_t pos = 0; pos < sizeof t; pos++) {
    memset(t, 'a', sizeof t);
    t[pos] = 0;
    CHECK(!idx_utf8_valid(t, sizeof t));
    t[pos] = 0x80; /* a lone continuation byte */
    CHECK(!idx_utf8_valid(t, sizeof t));
    t[pos] = 0x7f;
    CHECK(idx_utf8_valid(t, sizeof t));
    if (pos + 1 < sizeof t) {
      t[pos] = 0xc3;
      t[pos + 1] = 0xa9;
      CHECK(idx_utf8_valid(t, sizeof t));
      t[pos + 1] = 'a'; /* truncated sequence */
      CHECK(!idx_utf8_valid(t, sizeof t));
    }
  }
}

int main(void) {
  test_utf8_words();
  test_cap();
  test_json_and_utf8();
  CHECK_DONE();
}
