/* libFuzzer target for the HTTP API's routing and query parsing: the real
 * API (api.c over http.c) on a loopback port, its database unreachable,
 * so every request runs path splitting and percent-decoding, route
 * matching, the method check, query parsing and each route's validation,
 * and a valid one builds its answer-cache key and looks it up before the
 * query is refused (503). /healthz, /readyz and /metrics answer too.
 *
 * Input: up to 8 lines, each one request on the same connection
 * (pipelined): "METHOD TARGET" or just "TARGET" (GET), optionally
 * followed by a TAB and a body (sent with its Content-Length). */
#include "common.h"

#include "buf.h"
#include "loopback.h"

#include <stdio.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t len);

enum { MAX_LINES = 8 };

/* Appends one request built from a line to b. */
static int add_request(idx_buf_t *b, const char *line, size_t n) {
  const char *tab = memchr(line, '\t', n);
  size_t head = tab ? (size_t)(tab - line) : n;
  const char *body = tab ? tab + 1 : "";
  size_t body_len = tab ? n - head - 1 : 0;
  int rc = 0;
  if (!memchr(line, ' ', head))
    rc = idx_buf_adds(b, "GET ");
  if (rc == 0)
    rc = idx_buf_add(b, line, head);
  char hdr[128];
  int hn = snprintf(hdr, sizeof hdr,
                    " HTTP/1.1\r\nHost: fuzz\r\nContent-Type: application/json\r\n"
                    "Content-Length: %zu\r\n\r\n",
                    body_len);
  if (rc == 0)
    rc = idx_buf_add(b, hdr, (size_t)hn);
  if (rc == 0 && body_len)
    rc = idx_buf_add(b, body, body_len);
  return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t len) {
  uv_loop_t *loop;
  int port = fuzz_api_once(&loop);
  idx_buf_t b;
  idx_buf_init(&b, 1 << 16);
  const char *p = (const char *)in, *end = p + len;
  int rc = 0;
  for (int i = 0; i < MAX_LINES && p < end && rc == 0; i++) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *stop = nl ? nl : end;
    if (stop > p)
      rc = add_request(&b, p, (size_t)(stop - p));
    p = nl ? nl + 1 : end;
  }
  if (rc == 0 && b.len)
    (void)fuzz_exchange(loop, port, b.data, b.len, 300);
  idx_buf_free(&b);
  return 0;
}
