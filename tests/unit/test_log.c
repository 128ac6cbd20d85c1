/* Unit tests for log.c: text lines cannot be forged or drive a terminal
 * through a message that carries a provider's text. */
#include "common.h"

#include "check.h"
#include "log.h"

static void test_escape(void) {
  char out[128];
  static const char forged[] = "limit\n2026-01-01T00:00:00.000Z INFO  sync: \x1b[2Jok\r\tz\\";
  size_t n = idx_log_escape_text(out, sizeof out, forged, sizeof forged - 1);
  CHECK_STR(out, "limit\\n2026-01-01T00:00:00.000Z INFO  sync: \\x1b[2Jok\\r\\tz\\\\");
  CHECK_INT(n, strlen(out));
  CHECK(strchr(out, '\n') == NULL && strchr(out, 0x1b) == NULL);
  /* DEL, a NUL inside, and a UTF-8-encoded C1 control (U+009B, CSI);
   * other UTF-8 passes. */
  static const char c1[] = "a\x7f"
                           "b\0c\xc2\x9b"
                           "d\xc3\xa9";
  idx_log_escape_text(out, sizeof out, c1, sizeof c1 - 1);
  CHECK_STR(out, "a\\x7fb\\x00c\\x9bd\xc3\xa9");
  /* Cut at a whole escape, always terminated. */
  char small[6];
  n = idx_log_escape_text(small, sizeof small, "ab\n\n", 4);
  CHECK_STR(small, "ab\\n");
  CHECK_INT(n, 4);
}

int main(void) {
  test_escape();
  CHECK_DONE();
}
