/* Unit tests for logscan.c and rpc.c's fast path: both parsers over
 * recorded answers (anvil, the bench's replay server), the rpc_reply
 * fuzz seeds, hand-made edge cases and every single-byte mutation of the
 * recorded answers (logscan_diff.h says what must hold). */
#include "common.h"

#include "check.h"
#include "logscan_diff.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DATA_DIR ABI_DIR "/../tests/unit/data"
#define SEEDS_DIR ABI_DIR "/../tests/fuzz/seeds-rpc_reply"

static diff_stats_t st;

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  char *buf = NULL;
  size_t cap = 0, n = 0;
  for (;;) {
    if (n == cap) {
      cap = cap ? 2 * cap : 4096;
      char *nb = realloc(buf, cap);
      if (!nb) {
        free(buf);
        fclose(f);
        return NULL;
      }
      buf = nb;
    }
    size_t got = fread(buf + n, 1, cap - n, f);
    if (got == 0)
      break;
    n += got;
  }
  fclose(f);
  *len = n;
  return buf;
}

/* Runs the differential check; a failure prints the body. */
static void diff(const char *body, size_t len, uint64_t first_id, size_t n, const bool *want,
                 const char *what) {
  const char *bad = diff_body(body, len, first_id, n, want, &st);
  CHECK(bad == NULL);
  if (bad)
    fprintf(stderr, "  %s: %s in %.*s\n", what, bad, (int)(len > 400 ? 400 : len), body);
}

static const bool all_true[DIFF_MAX_N] = {true, true, true, true, true, true, true, true,
                                          true, true, true, true, true, true, true, true};

/* ndecoded: how many replies the fast path must decode. */
static void diff_s(const char *body, size_t n, unsigned long ndecoded) {
  unsigned long before = st.decoded_replies;
  diff(body, strlen(body), 1, n, all_true, "case");
  CHECK_INT(st.decoded_replies - before, ndecoded);
  if (st.decoded_replies - before != ndecoded)
    fprintf(stderr, "  in %s\n", body);
}

typedef struct recorded_s {
  const char *file;
  uint64_t first_id;
  size_t n;
  bool want[4];
  size_t stride; /* mutate every stride-th byte */
} recorded_t;

static const recorded_t recorded[] = {
    {"anvil_getlogs.json", 7, 1, {true}, 1},
    {"anvil_batch.json", 100, 4, {true, false, true, false}, 5},
    {"replay_batch.json", 100, 3, {true, false, true}, 41},
};

/* Every single-byte change at a position: these bytes, a deletion, a
 * doubling. */
static const unsigned char mutants[] = {'"', '\\', '{', ']', ',',  ':', ' ',
                                        '0', 'X',  'g', 0,   0x80, 'n', '-'};

static void mutate(const char *body, size_t len, const recorded_t *r) {
  char *m = malloc(len + 1);
  if (!m)
    return;
  for (size_t pos = 0; pos < len; pos += r->stride) {
    for (size_t k = 0; k < sizeof mutants; k++) {
      if ((unsigned char)body[pos] == mutants[k])
        continue;
      memcpy(m, body, len);
      m[pos] = (char)mutants[k];
      diff(m, len, r->first_id, r->n, r->want, "mutant");
    }
    /* deleted */
    memcpy(m, body, pos);
    memcpy(m + pos, body + pos + 1, len - pos - 1);
    diff(m, len - 1, r->first_id, r->n, r->want, "deletion");
    /* doubled */
    memcpy(m, body, pos + 1);
    memcpy(m + pos + 1, body + pos, len - pos);
    diff(m, len + 1, r->first_id, r->n, r->want, "doubling");
  }
  free(m);
}

static void test_recorded(void) {
  for (size_t i = 0; i < IDX_ARRAY_LEN(recorded); i++) {
    const recorded_t *r = &recorded[i];
    char path[512];
    snprintf(path, sizeof path, "%s/%s", DATA_DIR, r->file);
    size_t len = 0;
    char *body = slurp(path, &len);
    CHECK(body != NULL);
    if (!body)
      continue;
    /* As recorded: accepted by the scan, every eth_getLogs decoded. */
    unsigned long fast = st.fast, decoded = st.decoded_replies;
    diff(body, len, r->first_id, r->n, r->want, r->file);
    CHECK_INT(st.fast, fast + 1);
    size_t nwant = 0;
    for (size_t k = 0; k < r->n; k++)
      nwant += r->want[k];
    CHECK_INT(st.decoded_replies, decoded + nwant);
    /* Every request asked decoded (headers included: they are left to
     * jansson), and none. */
    diff(body, len, r->first_id, r->n, all_true, r->file);
    diff(body, len, r->first_id, r->n, NULL, r->file);
    /* Other ids: refused by both. */
    diff(body, len, r->first_id + 1, r->n, r->want, r->file);
    mutate(body, len, r);
    free(body);
  }
}

static void test_seeds(void) {
  DIR *d = opendir(SEEDS_DIR);
  CHECK(d != NULL);
  if (!d)
    return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", SEEDS_DIR, e->d_name);
    size_t len = 0;
    char *in = slurp(path, &len);
    if (!in || len < 1) {
      free(in);
      continue;
    }
    /* The fuzz target's input: byte 0 picks the batch size. */
    diff(in + 1, len - 1, 100, 1 + ((unsigned char)in[0] & 7u), all_true, e->d_name);
    free(in);
  }
  closedir(d);
}

#define H32 "\"0x00000000000000000000000000000000000000000000000000000000000000aa\""
#define A20 "\"0x00000000000000000000000000000000000000bb\""
#define LOG_BODY(extra)                                                                            \
  "{\"address\":" A20 ",\"topics\":[" H32 "],\"data\":\"0x0102\",\"blockNumber\":\"0x10\","        \
  "\"blockHash\":" H32 ",\"transactionHash\":" H32 ",\"transactionIndex\":\"0x1\","                \
  "\"logIndex\":\"0x2\"" extra "}"
#define REPLY(logs) "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[" logs "]}"

static void test_cases(void) {
  /* The shape, and what it tolerates. */
  diff_s(REPLY(LOG_BODY("")), 1, 1);
  diff_s(REPLY(""), 1, 1);
  diff_s(" \r\n\t" REPLY(LOG_BODY("")) " \n", 1, 1);
  diff_s("[" REPLY(LOG_BODY(",\"removed\":true")) "]", 1, 1);
  diff_s(REPLY(LOG_BODY(",\"blockTimestamp\":null,\"removed\":false")), 1, 1);
  diff_s(REPLY(LOG_BODY(",\"blockTimestamp\":\"0x00006b1604bc\"")), 1, 1);
  diff_s(REPLY(LOG_BODY(",\"extra\":\"x y\",\"more\":null,\"flag\":true")), 1, 1);
  diff_s(REPLY(LOG_BODY(",\"extra\":1")), 1, 0);           /* a number: jansson reads it */
  diff_s(REPLY(LOG_BODY(",\"extra\":{\"a\":[1]}")), 1, 0); /* nested: jansson reads it */
  diff_s("{\"id\":1,\"error\":null,\"result\":[" LOG_BODY("") "," LOG_BODY("") "]}", 1, 1);
  diff_s("{\"result\":[],\"id\":1}", 1, 1);
  /* Hex as idx_ethjson_log reads it: upper case, 0X, leading zeros. */
  diff_s(REPLY("{\"address\":\"0X00000000000000000000000000000000000000BB\",\"topics\":[],"
               "\"data\":\"0XABcd\",\"blockNumber\":\"0x0000010\",\"blockHash\":" H32
               ",\"transactionHash\":" H32 ",\"transactionIndex\":\"0xffffffff\","
               "\"logIndex\":\"0x0\"}"),
         1, 1);
  /* Declined, and the ordinary path judges: out of range, odd data, five
   * topics, escapes, duplicate keys, wrong types. */
  diff_s(REPLY(LOG_BODY(",\"blockTimestamp\":\"0x8000000000000000\"")), 1, 0);
  diff_s(REPLY(LOG_BODY(",\"removed\":null")), 1, 0);
  diff_s(REPLY(LOG_BODY(",\"removed\":\"false\"")), 1, 0);
  diff_s(REPLY("{\"address\":" A20 ",\"topics\":[" H32 "," H32 "," H32 "," H32 "," H32
               "],\"data\":\"0x\",\"blockNumber\":\"0x1\",\"blockHash\":" H32
               ",\"transactionHash\":" H32 ",\"transactionIndex\":\"0x1\","
               "\"logIndex\":\"0x100000000\"}"),
         1, 0);
  diff_s(REPLY("{\"address\":" A20 ",\"topics\":[],\"data\":\"0x012\",\"blockNumber\":\"0x1\","
               "\"blockHash\":" H32 ",\"transactionHash\":" H32 ",\"transactionIndex\":\"0x1\","
               "\"logIndex\":\"0x1\"}"),
         1, 0);
  diff_s(REPLY("{\"address\":" A20 ",\"topics\":[],\"data\":\"0x\\u0030\\u0031\","
               "\"blockNumber\":\"0x1\",\"blockHash\":" H32 ",\"transactionHash\":" H32
               ",\"transactionIndex\":\"0x1\",\"logIndex\":\"0x1\"}"),
         1, 0);
  diff_s(REPLY(LOG_BODY(",\"block\\u004eumber\":\"0x11\"")), 1, 0);
  diff_s(REPLY(LOG_BODY(",\"blockNumber\":\"0x11\"")), 1, 0);
  diff_s(REPLY(LOG_BODY(",\"extra\":\"caf\xc3\xa9\"")), 1, 0);
  diff_s(REPLY(LOG_BODY(",\"extra\":\"bad \xc3\"")), 1, 0);
  diff_s(REPLY("{\"address\":" A20 "}"), 1, 0); /* fields missing */
  diff_s(REPLY("1"), 1, 0);
  /* Envelopes: ids, errors, counts, junk. */
  diff_s("{\"jsonrpc\":\"2.0\",\"id\":1.0,\"result\":[]}", 1, 0);
  diff_s("{\"jsonrpc\":\"2.0\",\"id\":01,\"result\":[]}", 1, 0);
  diff_s("{\"jsonrpc\":\"2.0\",\"id\":-1,\"result\":[]}", 1, 0);
  diff_s("{\"jsonrpc\":\"2.0\",\"id\":99999999999999999999,\"result\":[]}", 1, 0);
  diff_s("{\"jsonrpc\":\"2.0\",\"id\":1,\"id\":1,\"result\":[]}", 1, 0);
  diff_s("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[],\"result\":[]}", 1, 0);
  diff_s("{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32005,\"message\":\"limit\"}}", 1,
         false);
  diff_s("{\"error\":{\"code\":-32600,\"message\":\"batch refused\"}}", 3, 0);
  diff_s("[" REPLY("") "," REPLY("") "]", 2, 0); /* two replies to id 1 */
  diff_s("[{\"id\":2,\"result\":[]}," REPLY("") "]", 2, 2);
  diff_s("[{\"id\":2,\"result\":{\"number\":\"0x1\"}}," REPLY("") "]", 2, 1);
  diff_s("[{\"id\":1,\"result\":{\"a\":1}}," REPLY("") "]", 2, 0);
  diff_s("[" REPLY("") "]", 2, 0);
  diff_s("[" REPLY("") "," REPLY("") "," REPLY("") "]", 2, 0);
  diff_s("[" REPLY("") ",]", 1, 0);
  diff_s("[" REPLY("") "] x", 1, 0);
  diff_s(REPLY("") REPLY(""), 1, 0);
  diff_s("\xef\xbb\xbf" REPLY(""), 1, 0);
  diff_s("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
         "]]]]]]]]]]]]",
         1, 0);
  diff_s("[{\"id\":2,\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
         "]]]]]]]]]]]],"
         "\"result\":1}," REPLY("") "]",
         2, 0);
  diff_s("{\"id\":1,\"result\":[],\"s\":\"a\\\"]}\"}", 1, 0);
  diff_s("[{\"id\":2,\"result\":\"a\\\"]}\"}," REPLY("") "]", 2, 1);
  diff_s("[{\"id\":2,\"result\":\"\\", 2, 0);
  diff_s("", 1, 0);
  diff_s("[]", 1, 0);
  /* A request not asked decoded keeps its JSON result. */
  static const bool second[2] = {false, true};
  diff("[" REPLY("") ",{\"id\":2,\"result\":[]}]",
       strlen("[" REPLY("") ",{\"id\":2,\"result\":[]}]"), 1, 2, second, "want");
}

/* A NUL inside the body, and data at the cap (1 MiB) and past it. */
static void test_sizes(void) {
  const char nul[] = "{\"id\":1,\"result\":[]}\0";
  diff(nul, sizeof nul - 1, 1, 1, all_true, "trailing NUL");
  size_t cap = IDX_ETHJSON_MAX_LOG_DATA;
  for (size_t extra = 0; extra <= 1; extra++) {
    size_t hex = 2 * (cap + extra);
    const char *head = "{\"id\":1,\"result\":[{\"address\":" A20 ",\"topics\":[],\"data\":\"0x";
    const char *tail = "\",\"blockNumber\":\"0x1\",\"blockHash\":" H32 ",\"transactionHash\":" H32
                       ",\"transactionIndex\":\"0x1\",\"logIndex\":\"0x1\"}]}";
    size_t len = strlen(head) + hex + strlen(tail);
    char *b = malloc(len + 1);
    if (!b)
      return;
    memcpy(b, head, strlen(head));
    memset(b + strlen(head), 'a', hex);
    memcpy(b + strlen(head) + hex, tail, strlen(tail) + 1);
    unsigned long fast = st.decoded_replies;
    diff(b, len, 1, 1, all_true, "data size");
    CHECK_INT(st.decoded_replies, fast + (extra ? 0 : 1));
    free(b);
  }
}

/* The scanner alone: a lone result. */
static void test_logs_alone(void) {
  const char *ok = "[" LOG_BODY(",\"removed\":true") "," LOG_BODY("") "]";
  idx_logset_t *set = idx_logscan_logs(ok, strlen(ok), 16);
  CHECK(set != NULL);
  if (set) {
    CHECK_INT(set->n, 2);
    CHECK_INT(set->logs[0].block_number, 16);
    CHECK_INT(set->logs[0].tx_index, 1);
    CHECK_INT(set->logs[0].log_index, 2);
    CHECK_INT(set->logs[0].block_time, -1);
    CHECK_INT(set->logs[0].ntopics, 1);
    CHECK_INT(set->logs[0].topics[0].b[31], 0xaa);
    CHECK_INT(set->logs[0].address.b[19], 0xbb);
    CHECK_INT(set->logs[1].data_len, 2);
    CHECK_INT(set->logs[1].data[1], 2);
    CHECK(set->removed[0] && !set->removed[1]);
    CHECK(idx_logset_incref(set) == set);
    idx_logset_decref(set);
    idx_logset_decref(set);
  }
  CHECK(idx_logscan_logs(ok, strlen(ok), 1) == NULL); /* data over the cap */
  CHECK(idx_logscan_logs(ok, strlen(ok) - 1, 16) == NULL);
  idx_logset_decref(NULL);
}

int main(void) {
  test_logs_alone();
  test_cases();
  test_sizes();
  test_seeds();
  test_recorded();
  fprintf(stderr, "bodies %lu: refused %lu, scanned %lu; decoded %lu replies holding %lu logs\n",
          st.bodies, st.refused, st.fast, st.decoded_replies, st.decoded_logs);
  CHECK_DONE();
}
