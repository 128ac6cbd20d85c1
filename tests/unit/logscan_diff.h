/*
 * logscan_diff.h: the differential check of rpc.c's two parsers, shared by
 * tests/unit/test_logscan.c and the rpc_reply fuzz target.
 *
 * One body is read both ways: the ordinary path (idx_rpc_parse_answer,
 * then idx_ethjson_log on every item of every result, as the follower
 * does) and the fast path (idx_rpc_parse_answer_logs). What must hold:
 * - the ordinary path refuses => the fast path refuses too, and its scan
 *   was not used (logscan never accepts bytes jansson refuses);
 * - the ordinary path accepts => the fast path accepts, every reply has
 *   the same error, code, message and data; a reply the fast path decoded
 *   is one whose every item idx_ethjson_log reads without error, into the
 *   same logs (fields, data bytes, removed flag); any other reply has an
 *   equal JSON result.
 * Returns a description of the first difference, or NULL.
 */
#ifndef IDX_TEST_LOGSCAN_DIFF_H
#define IDX_TEST_LOGSCAN_DIFF_H

#include "common.h"

#include "arena.h"
#include "ethjson.h"
#include "rpc.h"

#include <stdlib.h>
#include <string.h>

enum { DIFF_MAX_N = 16 };

typedef struct diff_stats_s {
  unsigned long bodies, refused, fast, decoded_replies, decoded_logs;
} diff_stats_t;

static bool diff_same_log(const idx_log_t *a, const idx_log_t *b) {
  return a->block_number == b->block_number && memcmp(&a->block_hash, &b->block_hash, 32) == 0 &&
         a->block_time == b->block_time && memcmp(&a->tx_hash, &b->tx_hash, 32) == 0 &&
         a->tx_index == b->tx_index && a->log_index == b->log_index &&
         memcmp(&a->address, &b->address, 20) == 0 && a->ntopics == b->ntopics &&
         memcmp(a->topics, b->topics, a->ntopics * sizeof a->topics[0]) == 0 &&
         a->data_len == b->data_len &&
         (a->data_len == 0 || memcmp(a->data, b->data, a->data_len) == 0) && !a->event &&
         !b->event && !a->args_json && !b->args_json && !a->role && !b->role;
}

/* The fast reply r (logs set) against the ordinary path's JSON result. */
static const char *diff_logs(const idx_rpc_reply_t *r, json_t *result) {
  if (!json_is_array(result))
    return "decoded, but the ordinary result is not an array";
  if (json_array_size(result) != r->logs->n)
    return "decoded a different number of logs";
  idx_arena_t arena;
  idx_arena_init(&arena, 4096, (size_t)64 << 20);
  const char *bad = NULL;
  for (size_t i = 0; i < r->logs->n && !bad; i++) {
    idx_log_t a, b;
    bool ra = false, rb = false;
    char err[160];
    if (idx_ethjson_log(json_array_get(result, i), &arena, &a, &ra, err, sizeof err) != 0)
      bad = "decoded a log the ordinary path refuses";
    else if (idx_ethjson_log_copy(r->logs, i, &arena, &b, &rb, err, sizeof err) != 0)
      bad = "cannot copy a decoded log";
    else if (!diff_same_log(&a, &b) || ra != rb)
      bad = "decoded a different log";
  }
  idx_arena_free(&arena);
  return bad;
}

static const char *diff_body(const char *body, size_t len, uint64_t first_id, size_t n,
                             const bool *want, diff_stats_t *st) {
  idx_rpc_reply_t a[DIFF_MAX_N], b[DIFF_MAX_N];
  char why_a[256], why_b[256];
  bool fast = true;
  if (n > DIFF_MAX_N)
    return "batch too large for the test";
  st->bodies++;
  json_t *ra = idx_rpc_parse_answer(body, len, first_id, n, a, why_a, sizeof why_a);
  json_t *rb =
      idx_rpc_parse_answer_logs(body, len, first_id, n, want, b, &fast, why_b, sizeof why_b);
  const char *bad = NULL;
  if (!ra) {
    st->refused++;
    if (rb)
      bad = "the fast path accepts what the ordinary path refuses";
    else if (fast)
      bad = "the scan was used on a refused body";
    else if (strcmp(why_a, why_b) != 0)
      bad = "a refusal's reason differs";
  } else if (!rb) {
    bad = "the fast path refuses what the ordinary path accepts";
  } else {
    st->fast += fast;
    for (size_t i = 0; i < n && !bad; i++) {
      if (a[i].err != b[i].err || a[i].code != b[i].code)
        bad = "error or code differs";
      else if ((a[i].message == NULL) != (b[i].message == NULL) ||
               (a[i].message && strcmp(a[i].message, b[i].message) != 0))
        bad = "message differs";
      else if ((a[i].data == NULL) != (b[i].data == NULL) ||
               (a[i].data && !json_equal(a[i].data, b[i].data)))
        bad = "data differs";
      else if (a[i].logs)
        bad = "the ordinary path decoded logs";
      else if (b[i].logs) {
        if (!want || !want[i])
          bad = "decoded a reply not asked decoded";
        else if (b[i].result)
          bad = "a decoded reply has a result too";
        else
          bad = diff_logs(&b[i], a[i].result);
        st->decoded_replies++;
        st->decoded_logs += b[i].logs->n;
      } else if ((a[i].result == NULL) != (b[i].result == NULL) ||
                 (a[i].result && !json_equal(a[i].result, b[i].result)))
        bad = "result differs";
    }
  }
  if (rb)
    idx_rpc_replies_release(b, n);
  json_decref(ra);
  json_decref(rb);
  return bad;
}

#endif
