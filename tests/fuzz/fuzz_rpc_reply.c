/* libFuzzer target for JSON-RPC reply handling: the client's answer
 * checks (idx_rpc_parse_answer) and then the strict readers of logs and
 * headers (ethjson) on every result, as the sync engine uses them; then
 * the differential check of the fast eth_getLogs path against them
 * (tests/unit/logscan_diff.h: a difference aborts).
 *
 * Input: byte 0 picks the batch size (1..8, low 3 bits) and which
 * requests are eth_getLogs (bit 3: all, else every other); the rest is
 * the HTTP body. */
#include "common.h"

#include "../unit/logscan_diff.h"
#include "arena.h"
#include "ethjson.h"
#include "rpc.h"

#include <stdio.h>

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t len);

static void read_result(json_t *result, idx_arena_t *arena) {
  char err[256];
  idx_block_t b;
  (void)idx_ethjson_block(result, &b, err, sizeof err);
  uint64_t q;
  (void)idx_ethjson_quantity(result, &q);
  if (!json_is_array(result))
    return;
  size_t i;
  json_t *item;
  json_array_foreach(result, i, item) {
    idx_log_t log;
    bool removed;
    (void)idx_ethjson_log(item, arena, &log, &removed, err, sizeof err);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t len) {
  if (len < 1)
    return 0;
  size_t n = 1 + (in[0] & 7u);
  char *body = malloc(len); /* exact size: ASan sees any overrun */
  if (!body)
    return 0;
  memcpy(body, in + 1, len - 1);
  idx_rpc_reply_t replies[8];
  char why[256];
  json_t *root = idx_rpc_parse_answer(body, len - 1, 100, n, replies, why, sizeof why);
  if (root) {
    idx_arena_t arena;
    idx_arena_init(&arena, 4096, 1 << 20);
    for (size_t i = 0; i < n; i++) {
      if (replies[i].result)
        read_result(replies[i].result, &arena);
      else if (replies[i].err != IDX_ERR_RPC)
        abort(); /* a parsed answer fills every reply */
    }
    idx_arena_free(&arena);
    json_decref(root);
  }
  bool want[8];
  for (size_t i = 0; i < 8; i++)
    want[i] = (in[0] & 8u) || i % 2 == 0;
  diff_stats_t st = {0};
  const char *bad = diff_body(body, len - 1, 100, n, want, &st);
  if (bad) {
    fprintf(stderr, "fast path differs: %s\n", bad);
    abort();
  }
  free(body);
  return 0;
}
