/*
 * rpc_client_test.c: the JSON-RPC client (indexer/rpc.c) against a real
 * anvil node, directly and through the fault-injecting proxy
 * (tests/tools/rpc_proxy.js, started with --control).
 *
 *   rpc_client_test PROXY_URL ANVIL_URL DEAD_URL
 *
 * DEAD_URL points at a closed port. Driven by test_rpc.sh. The proxy's
 * faults are set between loop runs with a plain blocking libcurl request
 * to its /__control endpoint (only the test blocks, never the client).
 */
#include "common.h"

#include "log.h"
#include "rpc.h"

#include "../unit/check.h"

#include <curl/curl.h>
#include <stdlib.h>

#define MAXN 8

static uv_loop_t loop;
static uv_timer_t watchdog;
static bool watchdog_fired;
static const char *proxy_url, *anvil_url, *dead_url;

/* ---- the proxy's control endpoint (blocking, between loop runs) ---- */

static size_t collect(char *data, size_t size, size_t nmemb, void *ud) {
  size_t n = size * nmemb;
  char **acc = ud;
  size_t old = *acc ? strlen(*acc) : 0;
  char *p = realloc(*acc, old + n + 1);
  if (!p)
    return 0;
  memcpy(p + old, data, n);
  p[old + n] = '\0';
  *acc = p;
  return n;
}

/* POSTs body (or GETs when body is NULL) to proxy_url + path; returns the
 * answer parsed, or NULL. */
static json_t *proxy_call(const char *path, const char *body) {
  char url[512];
  snprintf(url, sizeof url, "%s%s", proxy_url, path);
  CURL *e = curl_easy_init();
  char *acc = NULL;
  long status = 0;
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &acc);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 5000L);
  if (body)
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
  CURLcode res = curl_easy_perform(e);
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(e);
  json_t *j = NULL;
  if (res == CURLE_OK && status == 200 && acc)
    j = json_loads(acc, 0, NULL);
  if (!j)
    fprintf(stderr, "proxy %s %s failed: curl %d, HTTP %ld, %s\n", path, body ? body : "", res,
            status, acc ? acc : "");
  free(acc);
  return j;
}

static void control(const char *json) {
  json_t *j = proxy_call("/__control", json);
  CHECK(j != NULL);
  json_decref(j);
}

/* A counter from /__stats: "requests", or "faults.http500". */
static long long proxy_stat(const char *name) {
  json_t *j = proxy_call("/__stats", NULL);
  if (!j)
    return -1;
  const char *dot = strchr(name, '.');
  json_t *v;
  if (dot) {
    char group[32];
    snprintf(group, sizeof group, "%.*s", (int)(dot - name), name);
    v = json_object_get(json_object_get(j, group), dot + 1);
  } else {
    v = json_object_get(j, name);
  }
  long long out = json_is_integer(v) ? json_integer_value(v) : -1;
  json_decref(j);
  return out;
}

/* ---- running the loop ---- */

static void on_watchdog(uv_timer_t *t) {
  (void)t;
  watchdog_fired = true;
}

/* Runs the loop until *flag is set, or for at most ms. */
static bool run_until(const bool *flag, uint64_t ms) {
  watchdog_fired = false;
  uv_timer_start(&watchdog, on_watchdog, ms, 0);
  while (!*flag && !watchdog_fired)
    uv_run(&loop, UV_RUN_ONCE);
  uv_timer_stop(&watchdog);
  return *flag;
}

/* Runs the loop for ms. */
static void run_for(uint64_t ms) {
  bool never = false;
  (void)run_until(&never, ms);
}

/* ---- batches ---- */

typedef struct outcome_s {
  bool done;
  int calls;
  int status;
  size_t n;
  json_t *result[MAXN];
  int err[MAXN];
  long code[MAXN];
  char message[MAXN][256];
  json_t *data[MAXN];
  uint64_t started_ns, done_ns;
  idx_rpc_t *close_me; /* closed from inside the callback */
} outcome_t;

static void on_closed(void *ud) { *(bool *)ud = true; }

static bool closed_inside;

static void on_batch(void *ud, int status, const idx_rpc_reply_t *r, size_t n) {
  outcome_t *o = ud;
  o->calls++;
  o->done = true;
  o->status = status;
  o->n = n;
  o->done_ns = uv_hrtime();
  for (size_t i = 0; i < n && i < MAXN; i++) {
    o->result[i] = r[i].result ? json_incref(r[i].result) : NULL;
    o->err[i] = r[i].err;
    o->code[i] = r[i].code;
    snprintf(o->message[i], sizeof o->message[i], "%s", r[i].message ? r[i].message : "");
    o->data[i] = r[i].data ? json_incref(r[i].data) : NULL;
  }
  if (o->close_me) {
    idx_rpc_t *rpc = o->close_me;
    o->close_me = NULL;
    idx_rpc_close(rpc, on_closed, &closed_inside);
  }
}

static void outcome_clear(outcome_t *o) {
  for (size_t i = 0; i < MAXN; i++) {
    json_decref(o->result[i]);
    json_decref(o->data[i]);
  }
  memset(o, 0, sizeof *o);
}

static void fast_options(idx_rpc_options_t *o, const char *const *urls, size_t n) {
  idx_rpc_options_default(o);
  o->urls = urls;
  o->nurls = n;
  o->backoff_base_ms = 20;
  o->backoff_max_ms = 200;
  o->timeout_ms = 5000;
  o->connect_timeout_ms = 2000;
}

static idx_rpc_t *client(const idx_rpc_options_t *o) {
  idx_rpc_t *rpc = NULL;
  int rc = idx_rpc_new(&rpc, &loop, o);
  CHECK_INT(rc, 0);
  if (rc) {
    fprintf(stderr, "cannot create a client: %s\n", idx_strerror(rc));
    exit(1);
  }
  return rpc;
}

static idx_rpc_t *client_for(const char *url) {
  const char *urls[] = {url};
  idx_rpc_options_t o;
  fast_options(&o, urls, 1);
  return client(&o);
}

static void close_client(idx_rpc_t *rpc) {
  bool closed = false;
  idx_rpc_close(rpc, on_closed, &closed);
  CHECK(run_until(&closed, 5000));
}

static void submit(idx_rpc_t *rpc, const char *const *methods, json_t *const *params, size_t n,
                   outcome_t *o) {
  o->started_ns = uv_hrtime();
  CHECK_INT(idx_rpc_batch(rpc, methods, params, n, on_batch, o), 0);
}

/* Sends a batch and waits for its callback. */
static void call(idx_rpc_t *rpc, const char *const *methods, json_t *const *params, size_t n,
                 outcome_t *o, uint64_t wait_ms) {
  submit(rpc, methods, params, n, o);
  CHECK(run_until(&o->done, wait_ms));
  CHECK_INT(o->calls, 1);
}

static double elapsed_ms(const outcome_t *o) { return (double)(o->done_ns - o->started_ns) / 1e6; }

static const char *result_str(const outcome_t *o, size_t i) {
  return json_is_string(o->result[i]) ? json_string_value(o->result[i]) : NULL;
}

static uint64_t hex_u64(const char *s) { return s ? strtoull(s, NULL, 16) : UINT64_MAX; }

/* ---- tests ---- */

/* The three answers of a plain batch, in order, from url. */
static void check_basic(const char *url) {
  idx_rpc_t *rpc = client_for(url);
  const char *m[] = {"eth_chainId", "eth_blockNumber", "eth_getBlockByNumber"};
  json_t *p[] = {NULL, json_array(), json_pack("[sb]", "0x1", 0)};
  outcome_t o = {0};
  call(rpc, m, p, 3, &o, 5000);
  CHECK_INT(o.status, 0);
  CHECK_INT(o.n, 3);
  CHECK_STR(result_str(&o, 0), "0x89");
  CHECK(hex_u64(result_str(&o, 1)) >= 20);
  CHECK(json_is_object(o.result[2]));
  CHECK_STR(json_string_value(json_object_get(o.result[2], "number")), "0x1");
  CHECK_INT(o.err[0] | o.err[1] | o.err[2], 0);
  idx_rpc_stats_t st;
  idx_rpc_stats(rpc, &st);
  CHECK_INT(st.batches, 1);
  CHECK_INT(st.requests, 3);
  CHECK_INT(st.http_exchanges, 1);
  CHECK_INT(st.failures, 0);
  CHECK(st.bytes_received > 100);
  uint64_t sum = 0;
  for (size_t i = 0; i < IDX_ARRAY_LEN(st.latency_buckets); i++)
    sum += st.latency_buckets[i];
  CHECK_INT(sum, 1);
  json_decref(p[1]);
  json_decref(p[2]);
  outcome_clear(&o);
  close_client(rpc);
}

static void test_basic(void) {
  /* Mine 20 blocks so ranges and lags have room. */
  idx_rpc_t *rpc = client_for(anvil_url);
  const char *m[] = {"anvil_mine"};
  json_t *p[] = {json_pack("[ss]", "0x14", "0x1")};
  outcome_t o = {0};
  call(rpc, m, p, 1, &o, 5000);
  CHECK_INT(o.status, 0);
  json_decref(p[0]);
  outcome_clear(&o);
  close_client(rpc);

  check_basic(anvil_url);
  check_basic(proxy_url);
}

/* A JSON-RPC error object is one request's answer, not a fault. */
static void test_rpc_error(void) {
  idx_rpc_t *rpc = client_for(proxy_url);
  const char *m[] = {"no_such_method", "eth_chainId"};
  outcome_t o = {0};
  call(rpc, m, NULL, 2, &o, 5000);
  CHECK_INT(o.status, 0);
  CHECK_INT(o.err[0], IDX_ERR_RPC);
  CHECK(o.result[0] == NULL);
  CHECK_INT(o.code[0], -32601);
  CHECK(o.message[0][0] != '\0');
  CHECK_INT(o.err[1], 0);
  CHECK_STR(result_str(&o, 1), "0x89");
  idx_rpc_stats_t st;
  idx_rpc_stats(rpc, &st);
  CHECK_INT(st.rpc_errors, 1);
  CHECK_INT(st.failures, 0);
  outcome_clear(&o);
  close_client(rpc);
}

/* The proxy's lagging-node and range-limit modes, per request inside a
 * batch; its replies come back out of order (spliced), matched by id. */
static void test_modes(void) {
  idx_rpc_t *direct = client_for(anvil_url);
  const char *bn[] = {"eth_blockNumber"};
  outcome_t o = {0};
  call(direct, bn, NULL, 1, &o, 5000);
  uint64_t head = hex_u64(result_str(&o, 0));
  outcome_clear(&o);
  close_client(direct);

  idx_rpc_t *rpc = client_for(proxy_url);
  control("{\"clear\":true,\"lag_head\":3,\"max_range\":10,\"max_range_error\":\"-32005\"}");
  const char *m[] = {"eth_getLogs", "eth_blockNumber", "eth_getLogs", "eth_chainId"};
  json_t *p[] = {json_pack("[{ssss}]", "fromBlock", "0x1", "toBlock", "0x14"), NULL,
                 json_pack("[{ssss}]", "fromBlock", "0x1", "toBlock", "0x2"), NULL};
  call(rpc, m, p, 4, &o, 5000);
  CHECK_INT(o.status, 0);
  CHECK_INT(o.err[0], IDX_ERR_RPC);
  CHECK_INT(o.code[0], -32005);
  CHECK(strstr(o.message[0], "[0x1, 0xa]") != NULL);
  CHECK_STR(json_string_value(json_object_get(o.data[0], "from")), "0x1");
  CHECK_STR(json_string_value(json_object_get(o.data[0], "to")), "0xa");
  CHECK_INT(hex_u64(result_str(&o, 1)), head - 3);
  CHECK(json_is_array(o.result[2]));
  CHECK_STR(result_str(&o, 3), "0x89");
  outcome_clear(&o);

  static const struct {
    const char *family;
    long code;
    const char *text;
  } families[] = {
      {"range_too_wide", -32000, "block range is too wide"},
      {"too_large", -32000, "block range too large"},
      {"log_size", -32602, "Log response size exceeded."},
      {"too_big", -32008, "response is too big"},
      {"limited", -32000, "eth_getLogs is limited to a 10 blocks range"},
      {"suggest", -32602, "try with this block range [0x1, 0xa]"},
  };
  for (size_t i = 0; i < IDX_ARRAY_LEN(families); i++) {
    char body[128];
    snprintf(body, sizeof body, "{\"max_range_error\":\"%s\"}", families[i].family);
    control(body);
    call(rpc, m, p, 1, &o, 5000);
    CHECK_INT(o.err[0], IDX_ERR_RPC);
    CHECK_INT(o.code[0], families[i].code);
    CHECK(strstr(o.message[0], families[i].text) != NULL);
    outcome_clear(&o);
  }

  control("{\"clear\":true,\"header_not_found\":1,\"drop_logs\":1}");
  const char *m2[] = {"eth_getBlockByNumber", "eth_getLogs"};
  json_t *p2[] = {json_pack("[sb]", "0x1", 0), p[0]};
  call(rpc, m2, p2, 2, &o, 5000);
  CHECK_INT(o.status, 0);
  CHECK_INT(o.err[0], IDX_ERR_RPC);
  CHECK_INT(o.code[0], -32000);
  CHECK_STR(o.message[0], "header not found");
  CHECK(json_is_array(o.result[1]) && json_array_size(o.result[1]) == 0);
  outcome_clear(&o);
  control("{\"clear\":true}");
  json_decref(p[0]);
  json_decref(p[2]);
  json_decref(p2[0]);
  close_client(rpc);
}

/* Each transport fault, injected into the first `count` exchanges: the
 * batch still succeeds and the stats show the retries. */
static void check_fault(const char *settings, const char *kind, int count, long timeout_ms) {
  const char *urls[] = {proxy_url};
  idx_rpc_options_t opts;
  fast_options(&opts, urls, 1);
  opts.timeout_ms = timeout_ms;
  idx_rpc_t *rpc = client(&opts);
  long long before = proxy_stat(kind);
  char body[256];
  snprintf(body, sizeof body, "{\"clear\":true,%s,\"fault_budget\":%d}", settings, count);
  control(body);
  const char *m[] = {"eth_chainId", "eth_blockNumber", "eth_getBlockByNumber"};
  json_t *p[] = {NULL, NULL, json_pack("[sb]", "latest", 0)};
  outcome_t o = {0};
  call(rpc, m, p, 3, &o, 20000);
  CHECK_INT(o.status, 0);
  CHECK_STR(result_str(&o, 0), "0x89");
  CHECK(json_is_object(o.result[2]));
  idx_rpc_stats_t st;
  idx_rpc_stats(rpc, &st);
  if (st.failures != (uint64_t)count || st.http_exchanges != (uint64_t)count + 1)
    fprintf(stderr, "fault %s: %" PRIu64 " failures, %" PRIu64 " exchanges\n", kind, st.failures,
            st.http_exchanges);
  CHECK_INT(st.failures, count);
  CHECK_INT(st.http_exchanges, count + 1);
  CHECK_INT(st.batches, 1);
  CHECK_INT(proxy_stat(kind) - before, count);
  json_decref(p[2]);
  outcome_clear(&o);
  close_client(rpc);
}

static void test_faults(void) {
  check_fault("\"http429_noretry\":1", "faults.http429_noretry", 2, 5000);
  check_fault("\"http500\":1", "faults.http500", 2, 5000);
  check_fault("\"http502\":1", "faults.http502", 2, 5000);
  check_fault("\"http503\":1", "faults.http503", 2, 5000);
  check_fault("\"reset\":1", "faults.reset", 2, 5000);
  check_fault("\"truncate\":1,\"truncate_mode\":\"length\"", "faults.truncate", 2, 5000);
  check_fault("\"truncate\":1,\"truncate_mode\":\"chunked\"", "faults.truncate", 2, 5000);
  check_fault("\"truncate\":1,\"truncate_mode\":\"close\"", "faults.truncate", 2, 5000);
  check_fault("\"malformed\":1", "faults.malformed", 4, 5000);
  check_fault("\"wrong_id\":1", "faults.wrong_id", 3, 5000);
  check_fault("\"timeout\":1", "faults.timeout", 2, 400);

  /* 100% for a while, then 0%: the batch outlives the outage. */
  idx_rpc_t *rpc = client_for(proxy_url);
  control("{\"clear\":true,\"http502\":1,\"fault_for_ms\":300}");
  const char *m[] = {"eth_chainId"};
  outcome_t o = {0};
  call(rpc, m, NULL, 1, &o, 10000);
  CHECK_INT(o.status, 0);
  CHECK(elapsed_ms(&o) >= 250);
  idx_rpc_stats_t st;
  idx_rpc_stats(rpc, &st);
  CHECK(st.failures >= 2);
  CHECK_INT(st.http_exchanges, st.failures + 1);
  outcome_clear(&o);
  control("{\"clear\":true}");
  close_client(rpc);
}

/* 429 with Retry-After: the retry waits at least that long. */
static void check_retry_after(const char *settings, double min_ms) {
  idx_rpc_t *rpc = client_for(proxy_url);
  char body[256];
  snprintf(body, sizeof body, "{\"clear\":true,\"http429\":1,\"fault_budget\":1,%s}", settings);
  control(body);
  const char *m[] = {"eth_chainId"};
  outcome_t o = {0};
  call(rpc, m, NULL, 1, &o, 10000);
  CHECK_INT(o.status, 0);
  double ms = elapsed_ms(&o);
  fprintf(stderr, "429 %s: answered after %.0f ms\n", settings, ms);
  CHECK(ms >= min_ms);
  CHECK(ms < min_ms + 2500);
  idx_rpc_stats_t st;
  idx_rpc_stats(rpc, &st);
  CHECK_INT(st.rate_limited, 1);
  CHECK_INT(st.http_exchanges, 2);
  outcome_clear(&o);
  close_client(rpc);
}

static void test_retry_after(void) {
  check_retry_after("\"retry_after\":1", 1000);
  check_retry_after("\"retry_after\":2,\"retry_after_date\":true", 1000);

  /* Another URL serves while the rate-limited one waits. */
  const char *urls[] = {proxy_url, anvil_url};
  idx_rpc_options_t opts;
  fast_options(&opts, urls, 2);
  idx_rpc_t *rpc = client(&opts);
  control("{\"clear\":true,\"http429\":1,\"fault_budget\":1,\"retry_after\":5}");
  const char *m[] = {"eth_chainId"};
  outcome_t o = {0};
  call(rpc, m, NULL, 1, &o, 5000);
  CHECK_INT(o.status, 0);
  CHECK(elapsed_ms(&o) < 1000);
  idx_rpc_url_stats_t u0, u1;
  CHECK_INT(idx_rpc_url_stats(rpc, 0, &u0), 0);
  CHECK_INT(idx_rpc_url_stats(rpc, 1, &u1), 0);
  CHECK_INT(u0.exchanges, 1);
  CHECK(u0.retry_after_ms > 3000);
  CHECK_INT(u1.exchanges, 1);
  outcome_clear(&o);
  close_client(rpc);
}

/* An answer past max_response fails the batch, is not retried, and is
 * never buffered whole. */
static void check_oversize(bool announce) {
  const char *urls[] = {proxy_url};
  idx_rpc_options_t opts;
  fast_options(&opts, urls, 1);
  opts.max_response = (size_t)1 << 20;
  idx_rpc_t *rpc = client(&opts);
  long long sent = proxy_stat("bytes_out");
  char body[256];
  snprintf(body, sizeof body,
           "{\"clear\":true,\"oversize\":1,\"fault_budget\":1,\"oversize_bytes\":314572800,"
           "\"oversize_length\":%s}",
           announce ? "true" : "false");
  control(body);
  const char *m[] = {"eth_getLogs"};
  json_t *p[] = {json_pack("[{ssss}]", "fromBlock", "0x0", "toBlock", "latest")};
  outcome_t o = {0};
  call(rpc, m, p, 1, &o, 10000);
  CHECK_INT(o.status, IDX_ERR_TOO_LARGE);
  CHECK_INT(o.n, 0);
  idx_rpc_stats_t st;
  idx_rpc_stats(rpc, &st);
  CHECK_INT(st.http_exchanges, 1);
  CHECK(st.bytes_received <= ((uint64_t)1 << 20) + (256 << 10));
  if (announce)
    CHECK_INT(st.bytes_received, 0);
  run_for(100); /* let the proxy notice the closed connection */
  long long streamed = proxy_stat("bytes_out") - sent;
  fprintf(stderr, "oversize (Content-Length %s): client got %" PRIu64 " bytes, proxy sent %lld\n",
          announce ? "announced" : "not announced", st.bytes_received, streamed);
  CHECK(streamed < 64LL << 20);
  outcome_clear(&o);

  /* The client goes on working. */
  const char *m2[] = {"eth_chainId"};
  call(rpc, m2, NULL, 1, &o, 5000);
  CHECK_INT(o.status, 0);
  outcome_clear(&o);
  json_decref(p[0]);
  close_client(rpc);
}

static void test_oversize(void) {
  check_oversize(false);
  check_oversize(true);
}

/* First URL dead, second good: success, and later batches avoid the dead
 * one while it cools down. */
static void test_failover(void) {
  const char *urls[] = {dead_url, proxy_url};
  idx_rpc_options_t opts;
  fast_options(&opts, urls, 2);
  opts.cooldown_base_ms = 10000;
  idx_rpc_t *rpc = client(&opts);
  const char *m[] = {"eth_chainId"};
  outcome_t o = {0};
  call(rpc, m, NULL, 1, &o, 5000);
  CHECK_INT(o.status, 0);
  outcome_clear(&o);
  idx_rpc_url_stats_t u0, u1;
  CHECK_INT(idx_rpc_url_stats(rpc, 0, &u0), 0);
  CHECK_INT(idx_rpc_url_stats(rpc, 1, &u1), 0);
  CHECK_INT(u0.exchanges, 1);
  CHECK_INT(u0.consecutive, 1);
  CHECK(u0.cooldown_ms > 5000);
  CHECK_INT(u1.consecutive, 0);
  for (int i = 0; i < 5; i++) {
    call(rpc, m, NULL, 1, &o, 5000);
    CHECK_INT(o.status, 0);
    outcome_clear(&o);
  }
  CHECK_INT(idx_rpc_url_stats(rpc, 0, &u0), 0);
  CHECK_INT(idx_rpc_url_stats(rpc, 1, &u1), 0);
  CHECK_INT(u0.exchanges, 1);
  CHECK_INT(u1.exchanges, 6);
  CHECK_INT(idx_rpc_url_stats(rpc, 2, &u1), IDX_ERR_INVAL);
  idx_rpc_stats_t st;
  idx_rpc_stats(rpc, &st);
  CHECK_INT(st.failures, 1);
  CHECK_INT(st.batches, 6);
  close_client(rpc);
}

/* Retries run out: IDX_ERR_RPC_TRANSPORT. */
static void test_give_up(void) {
  const char *urls[] = {dead_url};
  idx_rpc_options_t opts;
  fast_options(&opts, urls, 1);
  opts.max_attempts = 3;
  opts.cooldown_base_ms = 10;
  idx_rpc_t *rpc = client(&opts);
  const char *m[] = {"eth_chainId"};
  outcome_t o = {0};
  call(rpc, m, NULL, 1, &o, 5000);
  CHECK_INT(o.status, IDX_ERR_RPC_TRANSPORT);
  idx_rpc_stats_t st;
  idx_rpc_stats(rpc, &st);
  CHECK_INT(st.http_exchanges, 3);
  CHECK_INT(st.failures, 3);
  CHECK_INT(st.batches, 0);
  outcome_clear(&o);
  close_client(rpc);
}

/* max_in_flight caps concurrent exchanges; connections are kept alive. */
static void test_in_flight(void) {
  const char *urls[] = {proxy_url};
  idx_rpc_options_t opts;
  fast_options(&opts, urls, 1);
  opts.max_in_flight = 2;
  idx_rpc_t *rpc = client(&opts);
  control("{\"clear\":true,\"clear_stats\":true,\"delay_ms\":30}");
  const char *m[] = {"eth_chainId"};
  outcome_t o[10];
  memset(o, 0, sizeof o);
  for (int i = 0; i < 10; i++)
    submit(rpc, m, NULL, 1, &o[i]);
  for (int i = 0; i < 10; i++) {
    CHECK(run_until(&o[i].done, 5000));
    CHECK_INT(o[i].status, 0);
    outcome_clear(&o[i]);
  }
  CHECK_INT(proxy_stat("in_flight_max"), 2);
  long long conns = proxy_stat("rpc_connections");
  control("{\"clear\":true}");
  for (int i = 0; i < 20; i++) {
    call(rpc, m, NULL, 1, &o[0], 5000);
    outcome_clear(&o[0]);
  }
  CHECK(conns <= 2);
  CHECK_INT(proxy_stat("rpc_connections"), conns);
  CHECK_INT(proxy_stat("requests"), 30);
  close_client(rpc);
}

/* idx_rpc_close cancels queued, running and waiting batches. */
static void test_close(void) {
  /* Running (held by the proxy) and queued behind max_in_flight. */
  const char *urls[] = {proxy_url};
  idx_rpc_options_t opts;
  fast_options(&opts, urls, 1);
  opts.max_in_flight = 1;
  idx_rpc_t *rpc = client(&opts);
  control("{\"clear\":true,\"timeout\":1}");
  const char *m[] = {"eth_chainId"};
  outcome_t o[3];
  memset(o, 0, sizeof o);
  for (int i = 0; i < 3; i++)
    submit(rpc, m, NULL, 1, &o[i]);
  run_for(200);
  CHECK(!o[0].done);
  bool closed = false;
  idx_rpc_close(rpc, on_closed, &closed);
  for (int i = 0; i < 3; i++) {
    CHECK_INT(o[i].calls, 1);
    CHECK_INT(o[i].status, IDX_ERR_CANCELLED);
    outcome_clear(&o[i]);
  }
  CHECK(!closed); /* closed_cb runs from the loop */
  CHECK(run_until(&closed, 5000));
  control("{\"clear\":true}");

  /* Waiting for a retry (Retry-After holds it for 5 s). */
  control("{\"clear\":true,\"http429\":1,\"retry_after\":5}");
  rpc = client_for(proxy_url);
  submit(rpc, m, NULL, 1, &o[0]);
  run_for(200);
  idx_rpc_stats_t st;
  idx_rpc_stats(rpc, &st);
  CHECK_INT(st.failures, 1);
  CHECK(!o[0].done);
  closed = false;
  idx_rpc_close(rpc, on_closed, &closed);
  CHECK_INT(o[0].status, IDX_ERR_CANCELLED);
  CHECK_INT(idx_rpc_batch(rpc, m, NULL, 1, on_batch, &o[1]), IDX_ERR_CANCELLED);
  CHECK(run_until(&closed, 5000));
  CHECK_INT(o[1].calls, 0);
  outcome_clear(&o[0]);
  outcome_clear(&o[1]);
  control("{\"clear\":true}");

  /* Closed from inside a batch callback. */
  rpc = client_for(proxy_url);
  o[0].close_me = rpc;
  submit(rpc, m, NULL, 1, &o[0]);
  const char *dm[] = {"eth_blockNumber"};
  submit(rpc, dm, NULL, 1, &o[1]);
  closed_inside = false;
  CHECK(run_until(&closed_inside, 5000));
  CHECK_INT(o[0].status, 0);
  CHECK_INT(o[1].calls, 1);
  CHECK(o[1].status == 0 || o[1].status == IDX_ERR_CANCELLED);
  outcome_clear(&o[0]);
  outcome_clear(&o[1]);
}

/* Wrong arguments fail without calling back. */
static void test_invalid(void) {
  idx_rpc_options_t opts;
  idx_rpc_t *rpc = NULL;
  fast_options(&opts, NULL, 0);
  CHECK_INT(idx_rpc_new(&rpc, &loop, &opts), IDX_ERR_INVAL);
  const char *ftp[] = {"ftp://127.0.0.1/"};
  fast_options(&opts, ftp, 1);
  CHECK_INT(idx_rpc_new(&rpc, &loop, &opts), IDX_ERR_INVAL);
  const char *junk[] = {"not a url"};
  fast_options(&opts, junk, 1);
  CHECK_INT(idx_rpc_new(&rpc, &loop, &opts), IDX_ERR_INVAL);
  const char *ok[] = {proxy_url};
  fast_options(&opts, ok, 1);
  opts.max_in_flight = 0;
  CHECK_INT(idx_rpc_new(&rpc, &loop, &opts), IDX_ERR_INVAL);
  CHECK(rpc == NULL);

  const char *secret[] = {"https://user:hunter2@rpc.example.com:8443/v2/KEY?token=x"};
  fast_options(&opts, secret, 1);
  rpc = client(&opts);
  idx_rpc_url_stats_t us;
  CHECK_INT(idx_rpc_url_count(rpc), 1);
  CHECK_INT(idx_rpc_url_stats(rpc, 0, &us), 0);
  CHECK_STR(us.url, "https://rpc.example.com:8443/...");
  outcome_t o = {0};
  const char *m[] = {"eth_chainId"};
  json_t *obj = json_object();
  json_t *p[] = {obj};
  CHECK_INT(idx_rpc_batch(rpc, m, NULL, 0, on_batch, &o), IDX_ERR_INVAL);
  CHECK_INT(idx_rpc_batch(rpc, m, p, 1, on_batch, &o), IDX_ERR_INVAL);
  const char *bad[] = {"eth_\xff"};
  CHECK_INT(idx_rpc_batch(rpc, bad, NULL, 1, on_batch, &o), IDX_ERR_INVAL);
  const char *empty[] = {""};
  CHECK_INT(idx_rpc_batch(rpc, empty, NULL, 1, on_batch, &o), IDX_ERR_INVAL);
  json_decref(obj);
  close_client(rpc);
  CHECK_INT(o.calls, 0);
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s PROXY_URL ANVIL_URL DEAD_URL\n", argv[0]);
    return 2;
  }
  proxy_url = argv[1];
  anvil_url = argv[2];
  dead_url = argv[3];
  idx_log_setup(IDX_LOG_INFO, IDX_LOG_TEXT);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CHECK_INT(uv_loop_init(&loop), 0);
  uv_timer_init(&loop, &watchdog);

  static const struct {
    const char *name;
    void (*fn)(void);
  } tests[] = {
      {"invalid", test_invalid},     {"basic", test_basic},       {"rpc_error", test_rpc_error},
      {"modes", test_modes},         {"faults", test_faults},     {"retry_after", test_retry_after},
      {"oversize", test_oversize},   {"failover", test_failover}, {"give_up", test_give_up},
      {"in_flight", test_in_flight}, {"close", test_close},
  };
  for (size_t i = 0; i < IDX_ARRAY_LEN(tests); i++) {
    int before = check_failures;
    uint64_t t0 = uv_hrtime();
    tests[i].fn();
    fprintf(stderr, "== %-12s %s (%.0f ms)\n", tests[i].name,
            check_failures == before ? "ok" : "FAILED", (double)(uv_hrtime() - t0) / 1e6);
  }

  uv_close((uv_handle_t *)&watchdog, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_INT(uv_loop_close(&loop), 0);
  curl_global_cleanup();
  CHECK_DONE();
}
