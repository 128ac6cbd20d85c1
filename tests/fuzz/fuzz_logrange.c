/* libFuzzer target for the provider error parser (logrange.c): the
 * dialects in which providers say an eth_getLogs range or answer is too
 * large, and what the adaptive span then does with the advice.
 *
 * Input: 4 bytes of error code (little-endian, signed), 2 bytes seeding
 * the span (initial and ceiling), then the error message, a NUL, and the
 * error's data as JSON text (absent without the NUL). Both texts are
 * copied into exactly-sized heap blocks so ASan sees any overrun.
 *
 * Checked on every input: a suggestion is a non-empty range; the span
 * retried after a limit is at least 1 and smaller than the span that
 * failed; after any mix of limits and clean answers the span stays in
 * 1..max_span. */
#include "common.h"

#include "logrange.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t len);

static void check(bool ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "fuzz_logrange: %s\n", what);
    abort();
  }
}

static void check_span(const idx_logrange_t *r) {
  check(r->span >= 1 && r->span <= r->max_span, "span outside 1..max_span");
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t len) {
  if (len < 6)
    return 0;
  int32_t code32;
  uint32_t u =
      (uint32_t)in[0] | (uint32_t)in[1] << 8 | (uint32_t)in[2] << 16 | (uint32_t)in[3] << 24;
  memcpy(&code32, &u, sizeof code32);
  uint64_t initial = 1 + (uint64_t)in[4] * 97, max_span = 1 + (uint64_t)in[5] * 1009;
  in += 6;
  len -= 6;
  const uint8_t *nul = memchr(in, '\0', len);
  size_t mlen = nul ? (size_t)(nul - in) : len;
  char *message = malloc(mlen + 1);
  char *data = nul ? malloc(len - mlen) : NULL;
  if (!message || (nul && !data)) {
    free(message);
    free(data);
    return 0;
  }
  memcpy(message, in, mlen);
  message[mlen] = '\0';
  if (data) {
    /* The data part up to its own NUL (or the end). */
    memcpy(data, nul + 1, len - mlen - 1);
    data[len - mlen - 1] = '\0';
  }

  idx_logrange_advice_t adv;
  idx_logrange_classify((long)code32, message, data, &adv);
  if (adv.has_suggestion) {
    check(adv.is_limit, "a suggestion that is not a limit");
    check(adv.suggested_to >= adv.suggested_from, "an empty suggested range");
  }
  if (adv.stated_span)
    check(adv.is_limit, "a stated span that is not a limit");

  /* The span's life around this error: grow, fail with this advice at a
   * few starting blocks, grow back. */
  idx_logrange_t r;
  idx_logrange_init(&r, initial, max_span);
  check_span(&r);
  for (int round = 0; round < 4; round++) {
    for (int i = 0; i < 3; i++) {
      idx_logrange_success(&r, r.span, (uint64_t)i * 10);
      check_span(&r);
    }
    uint64_t from = round == 0 && adv.has_suggestion ? adv.suggested_from : 1000u * (uint64_t)round;
    uint64_t span = r.span;
    uint64_t next = idx_logrange_limited(&r, from, span, &adv);
    check(next >= 1, "a retry span of 0");
    check(span == 1 || next < span, "a retry span not below the span that failed");
    check(next == r.span, "the retry span is not the span kept");
    check_span(&r);
    /* A dense answer shrinks the span; it stays valid. */
    idx_logrange_success(&r, r.span, 25000u * (uint64_t)(round + 1));
    check_span(&r);
  }
  free(message);
  free(data);
  return 0;
}
