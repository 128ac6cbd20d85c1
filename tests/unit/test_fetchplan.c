/* Unit tests for fetchplan.c: range planning against the head and the
 * reorg window, and the AIMD concurrency with its ceiling. */
#include "common.h"

#include "check.h"
#include "fetchplan.h"

static void test_ranges(void) {
  bool near;
  /* Far below the head: the span. */
  CHECK_INT(idx_fetchplan_range_end(100, 1000, 1000000, 1000000, 128, 128, &near), 1099);
  CHECK(!near);
  /* Capped by the target. */
  CHECK_INT(idx_fetchplan_range_end(100, 1000, 500, 100000, 128, 128, &near), 500);
  CHECK(!near);
  /* Reaching into the window from below: stops at its edge. */
  CHECK_INT(idx_fetchplan_range_end(9000, 5000, 10000, 10000, 128, 128, &near), 9872);
  CHECK(!near);
  /* Inside the window: near the head, at most near_cap blocks. */
  CHECK_INT(idx_fetchplan_range_end(9873, 5000, 10000, 10000, 128, 16, &near), 9888);
  CHECK(near);
  CHECK_INT(idx_fetchplan_range_end(9990, 5000, 10000, 10000, 128, 128, &near), 10000);
  CHECK(near);
  /* A short chain: block 0 alone (the edge of the window), then the rest
   * near the head. */
  CHECK_INT(idx_fetchplan_range_end(0, 1000, 50, 50, 128, 128, &near), 0);
  CHECK_INT(idx_fetchplan_range_end(1, 1000, 50, 50, 128, 128, &near), 50);
  CHECK(near);
  /* No overflow at the top. */
  CHECK_INT(idx_fetchplan_range_end(UINT64_MAX - 1, 1000, UINT64_MAX, UINT64_MAX, 128, 128, &near),
            UINT64_MAX);
}

static void test_aimd(void) {
  idx_inflight_t w;
  idx_inflight_init(&w, 1);
  CHECK_INT(idx_inflight_allowed(&w), 1);
  for (int i = 0; i < 100; i++)
    idx_inflight_clean(&w);
  CHECK_INT(idx_inflight_allowed(&w), 1); /* 1: today's behaviour */

  idx_inflight_init(&w, 16);
  CHECK_INT(idx_inflight_allowed(&w), 2);
  for (int i = 0; i < 6; i++)
    idx_inflight_clean(&w);
  CHECK_INT(idx_inflight_allowed(&w), 8);
  idx_inflight_clean(&w);
  CHECK_INT(idx_inflight_allowed(&w), 9);
  /* A 429 with 9 in flight: halves, the ceiling is 8. */
  CHECK(idx_inflight_congested(&w, 0, 9));
  CHECK_INT(idx_inflight_allowed(&w), 4);
  CHECK_INT(w.ceiling, 8);
  /* Answers to requests sent before the decrease do not halve again. */
  CHECK(!idx_inflight_congested(&w, 0, 9));
  CHECK_INT(idx_inflight_allowed(&w), 4);
  /* Back to the ceiling quickly, then it holds. */
  for (int i = 0; i < 4; i++)
    idx_inflight_clean(&w);
  CHECK_INT(idx_inflight_allowed(&w), 8);
  for (int i = 0; i < IDX_INFLIGHT_REGROW_MIN - 6; i++)
    idx_inflight_clean(&w);
  CHECK_INT(idx_inflight_allowed(&w), 8);
  /* After regrow_after clean answers: a probe of one more. */
  for (int i = 0; i < 6; i++)
    idx_inflight_clean(&w);
  CHECK_INT(idx_inflight_allowed(&w), 9);
  CHECK(w.probing);
  /* The probe fails: the wait before the next doubles. */
  CHECK(idx_inflight_congested(&w, 1, 9));
  CHECK_INT(w.regrow_after, IDX_INFLIGHT_REGROW_MIN * 2);
  CHECK_INT(w.ceiling, 8);
  CHECK_INT(idx_inflight_allowed(&w), 4);
  /* Never below 1, never above max. */
  for (uint64_t e = 2; e < 12; e++)
    idx_inflight_congested(&w, e, 1);
  CHECK_INT(idx_inflight_allowed(&w), 1);
  CHECK_INT(w.ceiling, 1);
  idx_inflight_init(&w, 3);
  for (int i = 0; i < 50; i++)
    idx_inflight_clean(&w);
  CHECK_INT(idx_inflight_allowed(&w), 3);
}

int main(void) {
  test_ranges();
  test_aimd();
  CHECK_DONE();
}
