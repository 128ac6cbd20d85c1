/* Unit tests for arena.c (stable addresses, cap, reuse) and ethjson.c
 * (strict reading of logs and headers as real nodes send them). */
#include "common.h"

#include "arena.h"
#include "check.h"
#include "ethjson.h"
#include "hex.h"

static void test_arena(void) {
  idx_arena_t a;
  idx_arena_init(&a, 4096, 20000);
  char *first = idx_arena_dup(&a, "hello", 5);
  CHECK_STR(first, "hello");
  /* Many allocations: earlier pointers stay valid (no moving). */
  for (int i = 0; i < 100; i++)
    CHECK(idx_arena_alloc(&a, 100) != NULL);
  CHECK_STR(first, "hello");
  CHECK(((uintptr_t)idx_arena_alloc(&a, 3) & 7u) == 0);
  CHECK(idx_arena_alloc(&a, 20000) == NULL); /* past the cap */
  idx_arena_reset(&a);
  CHECK_INT(a.used_total, 0);
  CHECK(idx_arena_alloc(&a, 10000) != NULL); /* an oversized block */
  CHECK(idx_arena_alloc(&a, 9000) != NULL);
  CHECK(idx_arena_alloc(&a, 2000) == NULL);
  idx_arena_reset(&a);
  idx_arena_free(&a);
}

static json_t *parse(const char *text) {
  json_error_t e;
  json_t *j = json_loads(text, 0, &e);
  CHECK(j != NULL);
  return j;
}

static const char *good_log =
    "{\"address\":\"0x9A9d2e717bb005b240094ba761ff074d392c7c85\","
    "\"topics\":[\"0x1cd3a07c960f34280cc48968d5b5315035ebdde3a1e371aa539bf0a415743a3b\","
    "\"0x000000000000000000000000000000000000000000000000000000000000000c\","
    "\"0x0000000000000000000000001111111111111111111111111111111111111111\"],"
    "\"data\":\"0x00000000000000000000000000000000000000000000021e19e0c9bab2400000\","
    "\"blockNumber\":\"0x64\",\"blockHash\":"
    "\"0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
    "\"blockTimestamp\":\"0x677484a0\","
    "\"transactionHash\":\"0xbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\","
    "\"transactionIndex\":\"0x2\",\"logIndex\":\"0x5\",\"removed\":false}";

static void test_log(void) {
  idx_arena_t a;
  idx_arena_init(&a, 4096, 1 << 20);
  char err[256];
  idx_log_t log;
  bool removed = true;
  json_t *j = parse(good_log);
  CHECK_INT(idx_ethjson_log(j, &a, &log, &removed, err, sizeof err), 0);
  CHECK(!removed);
  CHECK_INT(log.block_number, 100);
  CHECK_INT(log.block_time, 0x677484a0);
  CHECK_INT(log.tx_index, 2);
  CHECK_INT(log.log_index, 5);
  CHECK_INT(log.ntopics, 3);
  CHECK_INT(log.data_len, 32);
  CHECK_INT(log.data[31], 0x00);
  CHECK_INT(log.data[22], 0x02);
  char hex[43];
  idx_addr_to_hex(hex, &log.address);
  CHECK_STR(hex, "0x9a9d2e717bb005b240094ba761ff074d392c7c85");
  json_decref(j);

  /* No blockTimestamp: -1, for the engine to fill from headers. */
  j = parse(good_log);
  json_object_del(j, "blockTimestamp");
  CHECK_INT(idx_ethjson_log(j, &a, &log, &removed, err, sizeof err), 0);
  CHECK_INT(log.block_time, -1);
  json_decref(j);

  /* Each defect is refused and named. */
  static const struct {
    const char *key, *value, *needle;
  } bad[] = {
      {"blockNumber", "\"64\"", "blockNumber"},
      {"blockHash", "\"0xaa\"", "blockHash"},
      {"address", "null", "address"},
      {"topics", "[\"0x12\"]", "topics[0]"},
      {"topics", "[]", NULL},
      {"data", "\"0x123\"", "data"},
      {"data", "7", "data"},
      {"logIndex", "\"0x100000000\"", "logIndex"},
      {"removed", "\"no\"", "removed"},
      {"blockTimestamp", "\"soon\"", "blockTimestamp"},
  };
  for (size_t i = 0; i < IDX_ARRAY_LEN(bad); i++) {
    j = parse(good_log);
    json_object_set_new(j, bad[i].key, json_loads(bad[i].value, JSON_DECODE_ANY, NULL));
    int rc = idx_ethjson_log(j, &a, &log, &removed, err, sizeof err);
    if (bad[i].needle) {
      CHECK_INT(rc, IDX_ERR_RPC_REPLY);
      if (!strstr(err, bad[i].needle))
        fprintf(stderr, "case %zu: \"%s\" lacks \"%s\"\n", i, err, bad[i].needle);
      CHECK(strstr(err, bad[i].needle) != NULL);
    } else {
      CHECK_INT(rc, 0); /* an anonymous log (no topics) is valid JSON-RPC */
    }
    json_decref(j);
  }
  j = parse("[1]");
  CHECK_INT(idx_ethjson_log(j, &a, &log, &removed, err, sizeof err), IDX_ERR_RPC_REPLY);
  json_decref(j);
  idx_arena_free(&a);
}

static void test_block(void) {
  char err[256];
  idx_block_t b;
  json_t *j = parse("{\"number\":\"0x1b4\",\"hash\":"
                    "\"0x0101010101010101010101010101010101010101010101010101010101010101\","
                    "\"parentHash\":"
                    "\"0x0202020202020202020202020202020202020202020202020202020202020202\","
                    "\"timestamp\":\"0x5\",\"transactions\":[]}");
  CHECK_INT(idx_ethjson_block(j, &b, err, sizeof err), 0);
  CHECK_INT(b.number, 436);
  CHECK_INT(b.time, 5);
  CHECK_INT(b.parent_hash.b[0], 2);
  json_object_del(j, "parentHash");
  CHECK_INT(idx_ethjson_block(j, &b, err, sizeof err), IDX_ERR_RPC_REPLY);
  CHECK(strstr(err, "parentHash") != NULL);
  json_decref(j);
  CHECK_INT(idx_ethjson_block(NULL, &b, err, sizeof err), IDX_ERR_RPC_REPLY);
  CHECK(strstr(err, "null") != NULL);
}

int main(void) {
  test_arena();
  test_log();
  test_block();
  CHECK_DONE();
}
