/* libFuzzer target for the signature request: POST /v1/verify through the
 * real API (as fuzz_api), each input being the request's JSON body. It
 * runs the body's parser and member checks, the access question's
 * validation (asset, token_id, permission), the signature parser
 * (sig.c), and, for a well-formed signature, public-key recovery on the
 * thread pool and the answer-cache key of the signer, before the
 * database answers (DIMO_FUZZ_DB, as fuzz_api) or, without one, refuses
 * the query (503). No input may get a 500. */
#include "common.h"

#include "buf.h"
#include "loopback.h"

#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t len) {
  uv_loop_t *loop;
  int port = fuzz_api_once(&loop);
  idx_buf_t b;
  idx_buf_init(&b, 1 << 16);
  char hdr[160];
  int hn = snprintf(hdr, sizeof hdr,
                    "POST /v1/verify HTTP/1.1\r\nHost: fuzz\r\nContent-Type: application/json\r\n"
                    "Content-Length: %zu\r\n\r\n",
                    len);
  idx_buf_t answer;
  idx_buf_init(&answer, 1 << 20);
  if (idx_buf_add(&b, hdr, (size_t)hn) == 0 && idx_buf_add(&b, in, len) == 0) {
    (void)fuzz_exchange(loop, port, b.data, b.len, 1000, &answer);
    fuzz_no_internal_error(&answer, (const char *)in, len);
  }
  idx_buf_free(&answer);
  idx_buf_free(&b);
  return 0;
}
