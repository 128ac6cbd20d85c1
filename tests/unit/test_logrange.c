/* Unit tests for logrange.c: every provider dialect the sync engine must
 * recognise, suggested ranges, and the adaptive span's memory. */
#include "common.h"

#include "check.h"
#include "logrange.h"

static idx_logrange_advice_t classify(long code, const char *msg, const char *data) {
  idx_logrange_advice_t a;
  idx_logrange_classify(code, msg, data, &a);
  return a;
}

static void test_dialects(void) {
  idx_logrange_advice_t a;
  a = classify(-32005, "query returned more than 10000 results", NULL);
  CHECK(a.is_limit && !a.has_suggestion);
  a = classify(-32005, "query returned more than 10000 results",
               "{\"from\":\"0x10\",\"to\":\"0x20\",\"limit\":10000}");
  CHECK(a.is_limit && a.has_suggestion);
  CHECK_INT(a.suggested_from, 16);
  CHECK_INT(a.suggested_to, 32);
  a = classify(-32000,
               "query returned more than 10000 results. Try with this block range "
               "[0x1a2b, 0x1a40].",
               NULL);
  CHECK(a.is_limit && a.has_suggestion);
  CHECK_INT(a.suggested_from, 0x1a2b);
  CHECK_INT(a.suggested_to, 0x1a40);
  a = classify(-32602, "try with this block range [0x64, 0xc7]", NULL);
  CHECK(a.is_limit && a.has_suggestion && a.suggested_from == 100 && a.suggested_to == 199);
  a = classify(-32000, "block range is too wide", NULL);
  CHECK(a.is_limit && !a.has_suggestion && a.stated_span == 0);
  a = classify(-32600, "block range too large", NULL);
  CHECK(a.is_limit);
  a = classify(-32602,
               "Log response size exceeded. You can make eth_getLogs requests with up to "
               "a 2K block range and no limit on the response size, or you can request "
               "any block range with a cap of 10K logs in the response.",
               NULL);
  CHECK(a.is_limit);
  CHECK_INT(a.stated_span, 2000);
  a = classify(-32000, "response is too big", NULL);
  CHECK(a.is_limit);
  a = classify(-32000, "eth_getLogs is limited to a 1000 blocks range", NULL);
  CHECK(a.is_limit);
  CHECK_INT(a.stated_span, 1000);
  a = classify(-32000, "exceed maximum block range: 5000", NULL);
  CHECK(a.is_limit);
  CHECK_INT(a.stated_span, 5000);
  /* Not limits: they must not shrink the range. */
  a = classify(-32601, "the method eth_foo does not exist/is not available", NULL);
  CHECK(!a.is_limit);
  a = classify(-32000, "header not found", NULL);
  CHECK(!a.is_limit);
  a = classify(-32000, NULL, NULL);
  CHECK(!a.is_limit);
}

static void test_adaptive(void) {
  idx_logrange_t r;
  idx_logrange_init(&r, 1000, 8000);
  CHECK_INT(r.span, 1000);
  idx_logrange_success(&r, 1000, 10);
  CHECK_INT(r.span, 2000);
  idx_logrange_success(&r, 2000, 10);
  idx_logrange_success(&r, 4000, 10);
  CHECK_INT(r.span, 8000); /* capped by max */
  idx_logrange_success(&r, 8000, 10);
  CHECK_INT(r.span, 8000);
  /* Many logs: no growth. */
  idx_logrange_init(&r, 1000, 100000);
  idx_logrange_success(&r, 1000, 6000);
  CHECK_INT(r.span, 1000);
  /* Very dense: the span that holds about 10,000 logs at that density. */
  idx_logrange_success(&r, 1000, 30000);
  CHECK_INT(r.span, 333);
  idx_logrange_success(&r, 333, 99324); /* 10 times too many: a tenth */
  CHECK_INT(r.span, 33);
  idx_logrange_success(&r, 33, 21000); /* just over 20,000: a third (ceil 21000/10000) */
  CHECK_INT(r.span, 11);
  idx_logrange_init(&r, 1000, 100000);
  /* A short tail range says nothing. */
  idx_logrange_success(&r, 10, 1);
  CHECK_INT(r.span, 1000);

  /* A bare limit halves and remembers the failing span. */
  idx_logrange_advice_t none = {0};
  none.is_limit = true;
  CHECK_INT(idx_logrange_limited(&r, 100, 1000, &none), 500);
  idx_logrange_success(&r, 500, 1);
  CHECK_INT(r.span, 750); /* bisects between what worked and what failed */
  idx_logrange_success(&r, 750, 1);
  CHECK_INT(r.span, 875);
  CHECK_INT(idx_logrange_limited(&r, 100, 875, &none), 750); /* back to the last good */
  idx_logrange_success(&r, 750, 1);
  CHECK_INT(r.span, 812);
  idx_logrange_success(&r, 812, 1);
  CHECK_INT(r.span, 812); /* within an eighth of the limit: stays */
  idx_logrange_success(&r, 812, 1);
  CHECK_INT(r.span, 812);
  CHECK_INT(idx_logrange_limited(&r, 100, 812, &none), 406); /* denser blocks: halve */

  /* A stated span is used as is, and growth stops there. */
  idx_logrange_advice_t stated = none;
  stated.stated_span = 300;
  CHECK_INT(idx_logrange_limited(&r, 100, 406, &stated), 300);
  idx_logrange_success(&r, 300, 1);
  CHECK_INT(r.span, 300);
  /* A suggestion for our start is used as is. */
  idx_logrange_advice_t sug = none;
  sug.has_suggestion = true;
  sug.suggested_from = 100;
  sug.suggested_to = 149;
  CHECK_INT(idx_logrange_limited(&r, 100, 300, &sug), 50);
  /* A suggestion for another start is ignored (halving instead). */
  sug.suggested_from = 7;
  CHECK_INT(idx_logrange_limited(&r, 100, 50, &sug), 25);
  /* Never below one block. */
  CHECK_INT(idx_logrange_limited(&r, 100, 1, &none), 1);
}

/* A stated limit is forgotten after clean answers (issue 24.7): a single
 * "up to a 1 block range" does not cap the span for the whole run; a limit
 * met again right after doubles the wait before the next try. */
static void test_regrow(void) {
  idx_logrange_t r;
  idx_logrange_init(&r, 1000, 10000);
  idx_logrange_advice_t one = {0};
  one.is_limit = true;
  one.stated_span = 1;
  CHECK_INT(idx_logrange_limited(&r, 100, 1000, &one), 1);
  for (int i = 0; i < IDX_LOGRANGE_REGROW_MIN - 1; i++)
    idx_logrange_success(&r, 1, 0);
  CHECK_INT(r.span, 1);
  idx_logrange_success(&r, 1, 0); /* the sixteenth clean answer lifts the ceiling */
  unsigned steps = 0;
  while (r.span < 10000 && steps < 30) {
    idx_logrange_success(&r, r.span, 0);
    steps++;
  }
  CHECK_INT(r.span, 10000);
  CHECK(steps <= 15);
  /* The limit is real: met again, the next try waits twice as long. */
  idx_logrange_advice_t stated = one;
  stated.stated_span = 2000;
  CHECK_INT(idx_logrange_limited(&r, 100, 10000, &stated), 2000);
  CHECK_INT(r.regrow_after, 2 * IDX_LOGRANGE_REGROW_MIN);
  for (int i = 0; i < 2 * IDX_LOGRANGE_REGROW_MIN - 1; i++)
    idx_logrange_success(&r, 2000, 0);
  CHECK_INT(r.span, 2000);
  idx_logrange_success(&r, 2000, 0); /* the thirty-second */
  CHECK_INT(r.span, 4000);
}

/* The answer's size counts (#16 item 3: a dense backfill's memory), and a
 * nearly empty start grows the span eight times a step. */
static void test_answer_bytes(void) {
  idx_logrange_t r;
  idx_logrange_init(&r, 100, 100000);
  idx_logrange_answer(&r, 100, 0, 100); /* empty, no limit met yet */
  CHECK_INT(r.span, 800);
  r.grow_below_bytes = 512 * 1024; /* 104 bytes a log */
  /* 7 MB in 2,000 logs counts as 67,307: the span for about 10,000 */
  idx_logrange_answer(&r, 800, 2000, 7000000);
  CHECK_INT(r.span, 114);
  idx_logrange_answer(&r, 114, 100, 1000000); /* 1 MB: no growth */
  CHECK_INT(r.span, 114);
  idx_logrange_answer(&r, 114, 10, 1000); /* small, not nearly empty: doubles */
  CHECK_INT(r.span, 228);
  /* bytes unset: logs only, as idx_logrange_success */
  r.grow_below_bytes = 0;
  idx_logrange_answer(&r, 228, 10, 100000000);
  CHECK_INT(r.span, 456);
}

int main(void) {
  test_dialects();
  test_answer_bytes();
  test_adaptive();
  test_regrow();
  CHECK_DONE();
}
