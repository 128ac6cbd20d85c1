/* Unit tests for cache.c (the answer cache, generations, the in-flight
 * table), metrics.c (histograms, per-route counts, the text of a table of
 * counters) and query.c's verify answer. */
#include "common.h"

#include "cache.h"
#include "metrics.h"
#include "query.h"
#include "check.h"

#include <stdlib.h>

static idx_http_body_t *body(const char *s) { return idx_http_body_new(s, strlen(s)); }

static void test_cache(void) {
  idx_cache_t c;
  CHECK_INT(idx_cache_init(&c, 2), 0);
  idx_http_body_t *b1 = body("one"), *b2 = body("two"), *b3 = body("three");
  idx_cache_put(&c, c.generation, "a", 1, 200, b1, 100);
  const idx_centry_t *e = idx_cache_get(&c, "a", 1, 50);
  CHECK(e && e->status == 200 && e->body == b1);
  CHECK(!idx_cache_get(&c, "a", 1, 100)); /* expired at 100: dropped */
  CHECK_INT(c.n, 0);
  /* Two entries at most: the oldest goes. */
  idx_cache_put(&c, c.generation, "a", 1, 200, b1, 1000);
  idx_cache_put(&c, c.generation, "b", 1, 404, b2, 1000);
  idx_cache_put(&c, c.generation, "c", 1, 200, b3, 1000);
  CHECK(!idx_cache_get(&c, "a", 1, 0));
  CHECK(idx_cache_get(&c, "b", 1, 0) && idx_cache_get(&c, "c", 1, 0));
  CHECK_INT(c.n, 2);
  /* A key's prefix is another key. */
  CHECK(!idx_cache_get(&c, "bb", 2, 0));
  /* An answer read under an older generation is not kept. */
  uint64_t old = c.generation;
  idx_cache_invalidate(&c);
  CHECK_INT(c.n, 0);
  CHECK_INT(c.stats.invalidations, 1);
  idx_cache_put(&c, old, "a", 1, 200, b1, 1000);
  CHECK(!idx_cache_get(&c, "a", 1, 0));
  idx_cache_invalidate(&c); /* empty: not counted */
  CHECK_INT(c.stats.invalidations, 1);
  CHECK_INT(c.stats.hits, 3);
  /* Larger than one entry may be: not cached. */
  char *big = malloc(IDX_CACHE_MAX_ENTRY + 1);
  CHECK(big != NULL);
  if (big) {
    memset(big, 'x', IDX_CACHE_MAX_ENTRY + 1);
    idx_http_body_t *bb = idx_http_body_new(big, IDX_CACHE_MAX_ENTRY);
    idx_cache_put(&c, c.generation, "k", 1, 200, bb, 1000);
    CHECK(!idx_cache_get(&c, "k", 1, 0));
    idx_http_body_release(bb);
    free(big);
  }
  idx_cache_free(&c);
  idx_http_body_release(b1);
  idx_http_body_release(b2);
  idx_http_body_release(b3);

  /* Disabled: nothing kept. */
  CHECK_INT(idx_cache_init(&c, 0), 0);
  b1 = body("one");
  idx_cache_put(&c, c.generation, "a", 1, 200, b1, 1000);
  CHECK(!idx_cache_get(&c, "a", 1, 0));
  idx_cache_free(&c);
  idx_http_body_release(b1);
}

static void test_flights(void) {
  idx_cache_t c;
  CHECK_INT(idx_cache_init(&c, 8), 0);
  idx_flight_t f = {0}, g = {0};
  idx_flight_add(&c, &f, "key", 3);
  idx_flight_add(&c, &g, "other", 5);
  CHECK(idx_flight_find(&c, "key", 3) == &f);
  CHECK(idx_flight_find(&c, "other", 5) == &g);
  CHECK(!idx_flight_find(&c, "ke", 2));
  CHECK_INT(c.stats.misses, 2);
  /* After a commit a running query is not joined: it may predate it. */
  idx_cache_invalidate(&c);
  CHECK(!idx_flight_find(&c, "key", 3));
  idx_flight_remove(&c, &f);
  idx_flight_remove(&c, &f); /* twice: no-op */
  CHECK(!f.listed);
  idx_flight_remove(&c, &g);
  idx_flight_joined(&c);
  CHECK_INT(c.stats.coalesced, 1);
  idx_cache_free(&c);
}

static void test_metrics(void) {
  idx_route_stats_t r;
  idx_metrics_route_init(&r, "/v1/x");
  idx_metrics_route_record(&r, 200, 0.0001);
  idx_metrics_route_record(&r, 418, 10); /* another code; above every bound */
  idx_buf_t b;
  idx_buf_init(&b, 1 << 16);
  CHECK_INT(idx_metrics_routes(&b, &r, 1), 0);
  CHECK_INT(idx_buf_add(&b, "", 1), 0);
  CHECK(strstr(b.data, "dimo_http_requests_total{route=\"/v1/x\",code=\"200\"} 1\n") != NULL);
  CHECK(strstr(b.data, "dimo_http_requests_total{route=\"/v1/x\",code=\"other\"} 1\n") != NULL);
  CHECK(strstr(b.data, "_bucket{route=\"/v1/x\",le=\"0.0005\"} 1\n") != NULL);
  CHECK(strstr(b.data, "_bucket{route=\"/v1/x\",le=\"+Inf\"} 2\n") != NULL);
  CHECK(strstr(b.data, "dimo_http_request_duration_seconds_count{route=\"/v1/x\"} 2\n") != NULL);
  idx_buf_reset(&b);
  idx_dbpool_stats_t ps = {.size = 4, .up = 3, .lost = 7};
  CHECK_INT(idx_metrics_pool(&b, &ps), 0);
  CHECK_INT(idx_buf_add(&b, "", 1), 0);
  CHECK(strstr(b.data, "# TYPE dimo_db_pool_size gauge\ndimo_db_pool_size 4\n") != NULL);
  CHECK(strstr(b.data, "\ndimo_db_pool_up 3\n") != NULL);
  CHECK(strstr(b.data, "\ndimo_db_pool_lost_total 7\n") != NULL);
  idx_buf_reset(&b);
  CHECK_INT(idx_metrics_label(&b, "a\"b\\c\nd"), 0);
  CHECK_INT(idx_buf_add(&b, "", 1), 0);
  CHECK_STR(b.data, "a\\\"b\\\\c\\nd");
  idx_buf_free(&b);
}

static void test_verify_answer(void) {
  const char *signer = "0x1111111111111111111111111111111111111111";
  json_t *v = NULL;
  const char *in = "{\"reason\": \"ok\", \"valid\": true, \"license\": {\"token_id\": \"1\"}}";
  CHECK_INT(idx_query_verify_answer(in, strlen(in), signer, false, &v), 0);
  char *text = v ? json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
  CHECK_STR(text ? text : "",
            "{\"valid\":true,\"signer\":\"0x1111111111111111111111111111111111111111\","
            "\"reason\":\"ok\",\"license\":{\"token_id\":\"1\"}}");
  free(text);
  json_decref(v);
  const char *with = "{\"access\": {\"allowed\": false}, \"verify\": {\"reason\": "
                     "\"unknown_client_id\", \"valid\": false, \"license\": null}}";
  CHECK_INT(idx_query_verify_answer(with, strlen(with), signer, true, &v), 0);
  text = v ? json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
  CHECK_STR(text ? text : "",
            "{\"valid\":false,\"signer\":\"0x1111111111111111111111111111111111111111\","
            "\"reason\":\"unknown_client_id\",\"license\":null,\"access\":{\"allowed\":false}}");
  free(text);
  json_decref(v);
  const char *none = "{\"access\": null, \"verify\": {\"valid\": false}}";
  CHECK_INT(idx_query_verify_answer(none, strlen(none), signer, true, &v), IDX_ERR_INVAL);
  CHECK(v == NULL);
  CHECK_INT(idx_query_verify_answer("[1]", 3, signer, false, &v), IDX_ERR_JSON);
  CHECK_INT(idx_query_verify_answer("{", 1, signer, false, &v), IDX_ERR_JSON);
}

int main(void) {
  test_cache();
  test_flights();
  test_metrics();
  test_verify_answer();
  CHECK_DONE();
}
