/*
 * api.c: the HTTP API's routes (see api.h).
 *
 * A request goes: route match on the decoded path segments (the route
 * table, routes[] below) -> method check (405 with Allow) -> query
 * parameters (unknown or repeated ones are 400) -> input validation (400
 * with a reason; query.h normalizes) -> cache (cache.h: a hit, or joining
 * a running query for the same key) -> one statement of query.h through
 * the pool -> JSON answer. Every error is {"error":"reason"}. /metrics is
 * rendered by metrics.h from each module's counters.
 *
 * Cache keys are the route letter and the normalized inputs; a database
 * answer is cached only under the generation its query started in (cache.h),
 * so an answer read before a commit can never be served after it.
 */
#include "common.h"

#include "api.h"

#include "buf.h"
#include "cache.h"
#include "dbpool.h"
#include "hex.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "query.h"
#include "sig.h"
#include "web.h"

#include <jansson.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
  MAX_SEGS = 8,
  MAX_WAITERS = 4096, /* requests sharing one query */
  MAX_QUERY_PARAMS = 16,
  LIMIT_MAX = 1000, /* page size */
  EVENTS_TTL_MS = 10000,
  METRICS_MAX = 4 << 20,
  ANSWER_MAX = 64 << 20,
};

/* A route is its row in routes[] (below). The first two rows are not
 * matched by path: the page, and everything that matched nothing. */
typedef size_t route_t;
enum { R_OTHER = 0, R_PAGE = 1 };

typedef struct segs_s segs_t;

typedef void (*route_fn)(idx_api_t *api, idx_http_req_t *req, route_t route, const segs_t *segs);

/* How long a cacheable answer stays true. */
typedef enum fresh_e {
  FRESH_NONE,   /* not cached */
  FRESH_COMMIT, /* until the next commit (and at most max_age_ms) */
  FRESH_WALL,   /* also judged at the wall clock: lapses at a signer's expiry or allowed_until */
} fresh_t;

enum { M_GET = 1, M_POST = 2 }; /* M_GET takes HEAD too */

typedef struct route_def_s {
  unsigned methods;
  const char *pattern;
  const char *name; /* in metrics and logs */
  route_fn handler;
  bool cacheable;
  fresh_t fresh;
  const char *content_type; /* of a 200 answer; NULL: application/json */
} route_def_t;

#define NROUTES 21
static const route_def_t routes[NROUTES];

typedef struct call_s call_t;

typedef enum ans_e {
  ANS_DOC,    /* a JSON document; NULL: 404 */
  ANS_VERIFY, /* dimo_verify_license, composed with the signer (and dimo_access) */
  ANS_ACCESS, /* dimo_access; NULL: nothing indexed (404) */
  ANS_READY,  /* SELECT 1 */
  ANS_EVENTS, /* stored events per name, for /metrics */
} ans_t;

struct idx_api_s {
  uv_loop_t *loop;
  idx_api_options_t opts;
  char *conninfo;
  char chain_id[24];
  idx_http_server_t *http;
  idx_dbpool_t *pool;
  idx_sig_t *sig;
  idx_cache_t cache; /* answers, generations and running queries (cache.h) */
  size_t jobs;       /* signature recoveries on the thread pool */
  unsigned depth;    /* inside a callback: do not free yet */
  bool closing;
  int closing_parts; /* server and pool still closing */
  void (*closed_cb)(void *ud);
  void *closed_ud;
  idx_buf_t scratch; /* decoded path and query of the request being routed */

  /* Metrics (rendered by metrics.h). */
  idx_route_stats_t route_stats[NROUTES];
  idx_metrics_hist_t batches;
  char *events_json;  /* {"Issued": 12, ...} as last read */
  uint64_t events_at; /* uv_now() of that read; 0 = never */
};

/* A request waiting for the database, with the requests for the same
 * key (same generation) that arrived meanwhile and share its answer. */
struct call_s {
  idx_api_t *api;
  idx_http_req_t *req;
  idx_http_req_t **waiters;
  size_t nwaiters, waiters_cap;
  idx_flight_t flight; /* in api->cache's in-flight table while running */
  route_t route;
  ans_t kind;
  uint64_t generation;
  bool cacheable;
  bool with_access; /* ANS_VERIFY: the answer also holds dimo_access */
  bool wall_clock;  /* the answer is judged at now(): allowed answers lapse */
  char notfound[200];
  char signer[43];
  size_t key_len;
  char key[]; /* cache key */
};

/* A signature being recovered on the thread pool. */
typedef struct recover_job_s {
  uv_work_t work;
  idx_api_t *api;
  idx_http_req_t *req;
  route_t route;
  char client[43];
  idx_sig_rsv_t rsv;
  idx_hash_t digest; /* of the message: the job holds no copy of it */
  int rc;
  char err[160];
  idx_addr_t signer;
  bool with_access;
  idx_access_query_t access;
} recover_job_t;

/* ---- small helpers ------------------------------------------------------ */

void idx_api_options_default(idx_api_options_t *o) {
  memset(o, 0, sizeof *o);
  o->max_conns = 1024;
  o->http_ui = true;
  o->timeout_ms = 10000;
  o->db_pool = 4;
  o->ready_lag = 10;
  o->cache_entries = 65536;
  o->max_age_ms = 2000;
}

void idx_api_options_from_config(idx_api_options_t *o, const idx_config_t *cfg, uint64_t chain_id) {
  idx_api_options_default(o);
  o->chain_id = chain_id;
  o->conninfo = cfg->db;
  o->listen = cfg->http;
  o->max_conns = (size_t)cfg->http_max_conns;
  o->timeout_ms = cfg->http_timeout_ms;
  o->max_output = (size_t)cfg->http_max_output;
  o->conn_output = (size_t)cfg->http_conn_output;
  o->db_pool = (size_t)cfg->db_pool;
  o->ready_lag = cfg->ready_lag;
  o->http_ui = !cfg->http_ui || strcmp(cfg->http_ui, "off") != 0;
  o->explorer_url = cfg->explorer_url;
}

/* ---- answers ------------------------------------------------------------ */

static void record(idx_api_t *api, idx_http_req_t *req, route_t route, int status) {
  uint64_t ns = uv_hrtime() - idx_http_req_msg(req)->received_ns;
  idx_metrics_route_record(&api->route_stats[route], status, (double)ns / 1e9);
}

static void reply(idx_api_t *api, idx_http_req_t *req, route_t route, int status,
                  const char *content_type, const char *body, size_t len, const char *extra) {
  record(api, req, route, status);
  (void)idx_http_respond(req, status, content_type, body, len, extra);
}

static void reply_json(idx_api_t *api, idx_http_req_t *req, route_t route, int status,
                       const char *body, size_t len) {
  reply(api, req, route, status, "application/json", body, len,
        status == 503 ? "Retry-After: 1\r\n" : NULL);
}

/* A JSON answer whose body is shared (cached, or sent to several requests). */
static void reply_shared(idx_api_t *api, idx_http_req_t *req, route_t route, int status,
                         idx_http_body_t *body) {
  record(api, req, route, status);
  (void)idx_http_respond_shared(
      req, status,
      routes[route].content_type && status == 200 ? routes[route].content_type : "application/json",
      body, status == 503 ? "Retry-After: 1\r\n" : NULL);
}

/* {"error":"msg"}. Messages quote what the client sent: they are kept
 * valid UTF-8 (a character cut at the end is dropped). */
static int error_body(idx_buf_t *b, const char *msg) {
  size_t n = strlen(msg);
  while (n && !idx_utf8_valid((const uint8_t *)msg, n))
    n--;
  int rc = idx_buf_adds(b, "{\"error\":");
  if (rc == 0)
    rc = idx_buf_add_json_str(b, msg, n);
  if (rc == 0)
    rc = idx_buf_adds(b, "}");
  return rc;
}

static void reply_error(idx_api_t *api, idx_http_req_t *req, route_t route, int status,
                        const char *fmt, ...) IDX_PRINTF(5, 6);

static void reply_error(idx_api_t *api, idx_http_req_t *req, route_t route, int status,
                        const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  idx_buf_t b;
  idx_buf_init(&b, sizeof msg * 7);
  if (error_body(&b, msg) == 0)
    reply_json(api, req, route, status, b.data, b.len);
  else
    reply_json(api, req, route, status, "{\"error\":\"error\"}", 17);
  idx_buf_free(&b);
}

/* ---- path and query ----------------------------------------------------- */

/* Percent-decodes n bytes of s into out (at least n bytes of room);
 * plus_space turns '+' into ' ' (query values). Returns the decoded
 * length, or -1 for a malformed escape. */
static long pct_decode(char *out, const char *s, size_t n, bool plus_space) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    if (ch == '%') {
      int hi = i + 2 < n ? idx_hex_digit(s[i + 1]) : -1;
      int lo = i + 2 < n ? idx_hex_digit(s[i + 2]) : -1;
      if (hi < 0 || lo < 0)
        return -1;
      out[o++] = (char)((hi << 4) | lo);
      i += 2;
      continue;
    }
    out[o++] = plus_space && ch == '+' ? ' ' : ch;
  }
  return (long)o;
}

typedef struct segs_s {
  size_t n;
  const char *s[MAX_SEGS];
  size_t len[MAX_SEGS];
} segs_t;

typedef struct qparam_s {
  const char *name;
  const char *value; /* decoded, NUL-terminated; NULL when absent */
  size_t len;
} qparam_t;

/* Decoded text must be UTF-8 without NUL to reach SQL or JSON. */
static bool text_ok(const char *s, size_t n) { return idx_utf8_valid((const uint8_t *)s, n); }

/* Splits and decodes the path into segs (in api->scratch). Returns NULL or
 * an error message. */
static const char *split_path(idx_api_t *api, const idx_http_msg_t *m, segs_t *segs) {
  segs->n = 0;
  const char *p = m->path + 1, *end = m->path + m->path_len;
  if (p > end)
    return NULL;
  while (p <= end) {
    const char *slash = memchr(p, '/', (size_t)(end - p));
    const char *stop = slash ? slash : end;
    if (segs->n == MAX_SEGS)
      return "";
    char *out = api->scratch.data + api->scratch.len;
    long dn = pct_decode(out, p, (size_t)(stop - p), false);
    if (dn < 0)
      return "malformed percent-encoding in the path";
    if (!text_ok(out, (size_t)dn))
      return "the path is not valid UTF-8 (or holds a NUL byte)";
    out[dn] = '\0';
    segs->s[segs->n] = out;
    segs->len[segs->n] = (size_t)dn;
    segs->n++;
    api->scratch.len += (size_t)dn + 1;
    if (!slash)
      break;
    p = slash + 1;
  }
  return NULL;
}

/* Parses the query into the params the route accepts. Writes an error
 * message into why and returns false on an unknown, repeated or
 * malformed parameter. */
static bool parse_query(idx_api_t *api, const idx_http_msg_t *m, qparam_t *params, size_t np,
                        char *why, size_t whylen) {
  const char *p = m->query, *end = m->query + m->query_len;
  size_t count = 0;
  while (p < end) {
    const char *amp = memchr(p, '&', (size_t)(end - p));
    const char *stop = amp ? amp : end;
    if (stop > p) {
      if (++count > MAX_QUERY_PARAMS) {
        snprintf(why, whylen, "too many query parameters");
        return false;
      }
      const char *eq = memchr(p, '=', (size_t)(stop - p));
      const char *nend = eq ? eq : stop;
      char *name = api->scratch.data + api->scratch.len;
      long nn = pct_decode(name, p, (size_t)(nend - p), true);
      if (nn < 0) {
        snprintf(why, whylen, "malformed percent-encoding in the query");
        return false;
      }
      name[nn] = '\0';
      api->scratch.len += (size_t)nn + 1;
      char *val = api->scratch.data + api->scratch.len;
      long vn = eq ? pct_decode(val, eq + 1, (size_t)(stop - eq - 1), true) : 0;
      if (vn < 0) {
        snprintf(why, whylen, "malformed percent-encoding in the query");
        return false;
      }
      val[vn] = '\0';
      api->scratch.len += (size_t)vn + 1;
      qparam_t *hit = NULL;
      for (size_t i = 0; i < np && !hit; i++)
        if ((size_t)nn == strlen(params[i].name) && memcmp(name, params[i].name, (size_t)nn) == 0)
          hit = &params[i];
      if (!hit) {
        if (text_ok(name, (size_t)nn) && nn < 64)
          snprintf(why, whylen, "unknown query parameter \"%s\"", name);
        else
          snprintf(why, whylen, "unknown query parameter");
        return false;
      }
      if (hit->value) {
        snprintf(why, whylen, "query parameter \"%s\" given twice", hit->name);
        return false;
      }
      if (!text_ok(val, (size_t)vn)) {
        snprintf(why, whylen, "query parameter \"%s\" is not valid UTF-8", hit->name);
        return false;
      }
      hit->value = val;
      hit->len = (size_t)vn;
    }
    if (!amp)
      break;
    p = amp + 1;
  }
  return true;
}

/* ---- input validation --------------------------------------------------- */

/* A page cursor as the SQL functions make it: prefix, then the dot-separated
 * fields (lower-case hex of hex_len digits, or 1..max decimal digits; a
 * hex field has max 0). Checked here so that a malformed one is a 400
 * without a database round trip (and no error in the server's log). */
typedef struct cursor_field_s {
  size_t hex_len;
  size_t max_digits;
} cursor_field_t;

static bool cursor_ok(const char *s, size_t n, const char *prefix, const cursor_field_t *f,
                      size_t nf) {
  size_t pl = strlen(prefix);
  if (n < pl || memcmp(s, prefix, pl) != 0)
    return false;
  size_t i = pl;
  for (size_t k = 0; k < nf; k++) {
    if (i >= n || s[i] != '.')
      return false;
    i++;
    size_t start = i;
    while (i < n && s[i] != '.')
      i++;
    size_t len = i - start;
    if (f[k].hex_len) {
      if (len != f[k].hex_len)
        return false;
      for (size_t j = start; j < i; j++)
        if (!((s[j] >= '0' && s[j] <= '9') || (s[j] >= 'a' && s[j] <= 'f')))
          return false;
    } else if (len > f[k].max_digits || !idx_query_is_digits(s + start, len)) {
      return false;
    }
  }
  return i == n;
}

/* /v1/licenses: "l1.<contract: 40 hex>.<token id>" (schema/003). */
static bool licenses_cursor_ok(const char *s, size_t n) {
  static const cursor_field_t f[] = {{40, 0}, {0, 78}};
  return cursor_ok(s, n, "l1", f, IDX_ARRAY_LEN(f));
}

/* /v1/slashes: "s1.<block>.<log index>" (schema/003). */
static bool slashes_cursor_ok(const char *s, size_t n) {
  static const cursor_field_t f[] = {{0, 18}, {0, 9}};
  return cursor_ok(s, n, "s1", f, IDX_ARRAY_LEN(f));
}

enum { AT_TEXT_MAX = 24, LIMIT_TEXT_MAX = 8 };

/* An optional at_block query parameter as a statement parameter: *param
 * NULL when absent, else `at` with the number. false: not a block number. */
static bool at_block_param(const qparam_t *q, char at[AT_TEXT_MAX], const char **param) {
  uint64_t block;
  *param = NULL;
  if (!q->value)
    return true;
  if (!idx_query_block(q->value, q->len, &block))
    return false;
  snprintf(at, AT_TEXT_MAX, "%llu", (unsigned long long)block);
  *param = at;
  return true;
}

/* An optional limit query parameter (100 when absent) as text. false:
 * outside 1..LIMIT_MAX, answered with a 400. */
static bool limit_param(idx_api_t *api, idx_http_req_t *req, route_t route, const qparam_t *q,
                        char limit[LIMIT_TEXT_MAX]) {
  uint64_t lim = 100;
  if (q->value && (!idx_query_block(q->value, q->len, &lim) || lim < 1 || lim > LIMIT_MAX)) {
    reply_error(api, req, route, 400, "limit must be 1..%d", LIMIT_MAX);
    return false;
  }
  snprintf(limit, LIMIT_TEXT_MAX, "%llu", (unsigned long long)lim);
  return true;
}

/* A page cursor (after=) its route's checker refused: 400. */
static void reply_bad_cursor(idx_api_t *api, idx_http_req_t *req, route_t route) {
  reply_error(api, req, route, 400,
              "malformed page cursor (after= takes the \"next\" of the previous page)");
}

/* An optional contract= (0x address, lower-cased into contract): false
 * after answering 400. *out is NULL when absent. */
static bool contract_param(idx_api_t *api, idx_http_req_t *req, route_t route, const qparam_t *q,
                           char contract[43], const char **out) {
  *out = NULL;
  if (!q->value)
    return true;
  if (!idx_query_address(q->value, q->len, contract)) {
    reply_error(api, req, route, 400, "contract must be a 0x address");
    return false;
  }
  *out = contract;
  return true;
}

static bool block_log_cursor_ok(const char *s, size_t n, const char *prefix);

/* after= (a block/log cursor of the route's tag; empty: the first page)
 * and limit=: false after answering 400. *after is NULL for the first page. */
static bool block_page_params(idx_api_t *api, idx_http_req_t *req, route_t route,
                              const qparam_t *q_after, const qparam_t *q_limit, const char *tag,
                              const char **after, char limit[LIMIT_TEXT_MAX]) {
  *after = q_after->value && q_after->len ? q_after->value : NULL;
  if (*after && !block_log_cursor_ok(q_after->value, q_after->len, tag)) {
    reply_bad_cursor(api, req, route);
    return false;
  }
  return limit_param(api, req, route, q_limit, limit);
}

/* ---- database calls ----------------------------------------------------- */

static call_t *call_new(idx_api_t *api, idx_http_req_t *req, route_t route, ans_t kind,
                        const char *key, size_t key_len) {
  call_t *c = calloc(1, sizeof *c + key_len + 1);
  if (!c)
    return NULL;
  c->api = api;
  c->req = req;
  c->route = route;
  c->kind = kind;
  c->generation = api->cache.generation;
  c->cacheable = key_len > 0 && api->cache.max > 0 && routes[route].cacheable;
  c->key_len = key_len;
  if (key_len)
    memcpy(c->key, key, key_len);
  return c;
}

/* Joins req to a running query for the same key read under the current
 * generation (so it cannot predate a commit this request follows). */
static bool join_inflight(idx_api_t *api, idx_http_req_t *req, const char *key, size_t len) {
  idx_flight_t *f = idx_flight_find(&api->cache, key, len);
  if (!f)
    return false;
  call_t *c = (call_t *)(void *)((char *)f - offsetof(call_t, flight));
  if (c->nwaiters == c->waiters_cap) {
    if (c->waiters_cap >= MAX_WAITERS)
      return false;
    size_t cap = c->waiters_cap ? c->waiters_cap * 2 : 8;
    idx_http_req_t **w = realloc(c->waiters, cap * sizeof *w);
    if (!w)
      return false;
    c->waiters = w;
    c->waiters_cap = cap;
  }
  c->waiters[c->nwaiters++] = req;
  idx_flight_joined(&api->cache);
  return true;
}

static void call_free(idx_api_t *api, call_t *c) {
  idx_flight_remove(&api->cache, &c->flight);
  free(c->waiters);
  free(c);
}

/* Answers the call's request and every request waiting on it. */
static void call_reply(idx_api_t *api, call_t *c, int status, const char *body, size_t len) {
  reply_json(api, c->req, c->route, status, body, len);
  for (size_t i = 0; i < c->nwaiters; i++)
    reply_json(api, c->waiters[i], c->route, status, body, len);
  c->nwaiters = 0;
}

/* Answers the call's request and its waiters with one shared body, which
 * the cache keeps too (for ttl_ms, when the answer may be cached). */
static void store_answer(idx_api_t *api, call_t *c, int status, idx_http_body_t *body,
                         uint64_t ttl_ms);

static void call_answer(idx_api_t *api, call_t *c, int status, const char *text, size_t len,
                        uint64_t ttl_ms) {
  idx_http_body_t *body = idx_http_body_new(text, len);
  if (!body) {
    call_reply(api, c, 500, "{\"error\":\"out of memory\"}", 26);
    return;
  }
  store_answer(api, c, status, body, ttl_ms);
  reply_shared(api, c->req, c->route, status, body);
  for (size_t i = 0; i < c->nwaiters; i++)
    reply_shared(api, c->waiters[i], c->route, status, body);
  c->nwaiters = 0;
  idx_http_body_release(body);
}

static void call_error(idx_api_t *api, call_t *c, int status, const char *fmt, ...)
    IDX_PRINTF(4, 5);

static void call_error(idx_api_t *api, call_t *c, int status, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  idx_buf_t b;
  idx_buf_init(&b, sizeof msg * 7);
  if (error_body(&b, msg) == 0)
    call_reply(api, c, status, b.data, b.len);
  else
    call_reply(api, c, status, "{\"error\":\"error\"}", 17);
  idx_buf_free(&b);
}

static void reply_db_failure(idx_api_t *api, call_t *c, int status, const char *sqlstate,
                             const char *message) {
  switch (status) {
  case IDX_ERR_DB:
    if (strcmp(sqlstate, "22023") == 0) {
      /* The SQL functions raise 22023 for bad arguments, meant for the caller. */
      call_error(api, c, 400, "%s", message);
    } else if (strncmp(sqlstate, "22", 2) == 0) {
      /* Another data exception (a value out of a type's range): the
       * server's text names its types, not what the caller sent. */
      idx_log_debug("api", "%s: %s (SQLSTATE %s)", routes[c->route].name, message, sqlstate);
      call_error(api, c, 400, "an input value is out of range");
    } else if (strcmp(sqlstate, "57014") == 0) {
      call_error(api, c, 503, "database query timed out");
    } else if (strncmp(sqlstate, "42", 2) == 0 || strcmp(sqlstate, "3F000") == 0) {
      idx_log_warn("api", "%s: %s (SQLSTATE %s)", routes[c->route].name, message, sqlstate);
      call_error(api, c, 503, "database schema not ready");
    } else {
      idx_log_warn("api", "%s: %s (SQLSTATE %s)", routes[c->route].name, message, sqlstate);
      call_error(api, c, 500, "database error");
    }
    return;
  case IDX_ERR_DB_CONN:
    call_error(api, c, 503, "database unavailable");
    return;
  case IDX_ERR_TIMEOUT:
    call_error(api, c, 503, "database busy: no connection free in time");
    return;
  case IDX_ERR_CANCELLED:
    call_error(api, c, 503, "shutting down");
    return;
  default:
    call_error(api, c, 500, "%s", idx_strerror(status));
    return;
  }
}

static void store_answer(idx_api_t *api, call_t *c, int status, idx_http_body_t *body,
                         uint64_t ttl_ms) {
  if (!c->cacheable || api->closing)
    return;
  if (ttl_ms > api->opts.max_age_ms)
    ttl_ms = api->opts.max_age_ms;
  if (ttl_ms == 0)
    return;
  idx_cache_put(&api->cache, c->generation, c->key, c->key_len, status, body,
                uv_now(api->loop) + ttl_ms);
}

/* Milliseconds from now (wall clock) until an ISO-8601 UTC time; 0 when it
 * has passed or is unreadable. */
static uint64_t ms_until(const char *iso) {
  int64_t t;
  if (!iso || !idx_query_iso_time(iso, &t))
    return 0;
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  int64_t now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
  return t * 1000 > now_ms ? (uint64_t)(t * 1000 - now_ms) : 0;
}

/* How long a valid verify answer may be cached: until its signer's
 * expiry (the answer depends on the wall clock). 0: do not cache. */
static uint64_t verify_ttl(json_t *license, const char *signer) {
  json_t *signers = json_object_get(license, "signers");
  size_t i;
  json_t *s;
  json_array_foreach(signers, i, s) {
    const char *addr = json_string_value(json_object_get(s, "address"));
    if (addr && strcmp(addr, signer) == 0)
      return ms_until(json_string_value(json_object_get(s, "expires_at")));
  }
  return 0;
}

/* How long an access answer may be cached: one judged at the wall clock
 * that allows lapses at its allowed_until; any other stays true until the
 * next commit. */
static uint64_t access_ttl(const idx_api_t *api, json_t *ans, bool wall_clock) {
  if (!wall_clock || !json_is_true(json_object_get(ans, "allowed")))
    return api->opts.max_age_ms;
  return ms_until(json_string_value(json_object_get(ans, "allowed_until")));
}

/* The verify answer, with the access answer when the request named a
 * vehicle and a permission. */
static void answer_verify(idx_api_t *api, call_t *c, const char *value, size_t len) {
  json_t *out = NULL;
  int rc = idx_query_verify_answer(value, len, c->signer, c->with_access, &out);
  if (rc == IDX_ERR_INVAL) {
    call_error(api, c, 404, "nothing is indexed yet");
    return;
  }
  if (rc) {
    call_error(api, c, 500, rc == IDX_ERR_NOMEM ? "out of memory" : "malformed database answer");
    return;
  }
  char *text = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
  if (!text) {
    json_decref(out);
    call_error(api, c, 500, "out of memory");
    return;
  }
  json_t *valid = json_object_get(out, "valid");
  json_t *access = json_object_get(out, "access");
  uint64_t ttl = json_is_true(valid) ? verify_ttl(json_object_get(out, "license"), c->signer)
                                     : api->opts.max_age_ms;
  if (access) {
    uint64_t at = access_ttl(api, access, c->wall_clock);
    ttl = at < ttl ? at : ttl;
  }
  call_answer(api, c, 200, text, strlen(text), ttl);
  free(text);
  json_decref(out);
}

static void answer_access(idx_api_t *api, call_t *c, const char *value, size_t len) {
  uint64_t ttl = api->opts.max_age_ms;
  if (c->wall_clock) {
    json_t *in = json_loadb(value, len, 0, NULL);
    if (!json_is_object(in)) {
      json_decref(in);
      call_error(api, c, 500, "malformed database answer");
      return;
    }
    ttl = access_ttl(api, in, true);
    json_decref(in);
  }
  call_answer(api, c, 200, value, len, ttl);
}

static void answer_ready(idx_api_t *api, call_t *c, const idx_dbpool_result_t *res);
static void maybe_free_api(idx_api_t *api);
static void answer_metrics(idx_api_t *api, idx_http_req_t *req, route_t route);

static void on_db(void *ud, const idx_dbpool_result_t *res) {
  call_t *c = ud;
  idx_api_t *api = c->api;
  api->depth++;
  idx_flight_remove(&api->cache, &c->flight); /* answered: later requests start their own */
  switch (c->kind) {
  case ANS_READY:
    answer_ready(api, c, res);
    break;
  case ANS_EVENTS:
    if (res->status == 0 && res->value) {
      free(api->events_json);
      api->events_json = strdup(res->value);
      api->events_at = uv_now(api->loop);
    }
    answer_metrics(api, c->req, c->route);
    break;
  case ANS_DOC:
    if (res->status) {
      reply_db_failure(api, c, res->status, res->sqlstate, res->message);
    } else if (!res->value) {
      call_answer(api, c, 404, c->notfound, strlen(c->notfound), api->opts.max_age_ms);
    } else {
      call_answer(api, c, 200, res->value, res->len, api->opts.max_age_ms);
    }
    break;
  case ANS_VERIFY:
  case ANS_ACCESS:
    if (res->status)
      reply_db_failure(api, c, res->status, res->sqlstate, res->message);
    else if (!res->value && c->kind == ANS_ACCESS)
      call_reply(api, c, 404, c->notfound, strlen(c->notfound));
    else if (!res->value)
      call_error(api, c, 500, "empty database answer");
    else if (c->kind == ANS_ACCESS)
      answer_access(api, c, res->value, res->len);
    else
      answer_verify(api, c, res->value, res->len);
    break;
  }
  call_free(api, c);
  api->depth--;
  if (api->closing)
    maybe_free_api(api);
}

/* Sends one query for a request; answers it at once when the pool refuses. */
static void run_call(idx_api_t *api, call_t *c, const char *sql, size_t nparams,
                     const char *const *params) {
  int rc = idx_dbpool_query(api->pool, sql, nparams, params, on_db, c);
  if (rc == 0) {
    if (c->cacheable) {
      idx_flight_add(&api->cache, &c->flight, c->key, c->key_len);
    }
    return;
  }
  if (c->kind == ANS_READY) {
    idx_dbpool_result_t r = {.status = rc, .sqlstate = "", .message = idx_strerror(rc)};
    answer_ready(api, c, &r);
  } else if (c->kind == ANS_EVENTS) {
    answer_metrics(api, c->req, c->route);
  } else if (rc == IDX_ERR_TOO_LARGE) {
    call_error(api, c, 503, "database busy: too many requests waiting");
  } else {
    reply_db_failure(api, c, rc, "", idx_strerror(rc));
  }
  call_free(api, c);
}

/* Looks the key up in the cache; answers and returns true on a hit. */
static bool from_cache(idx_api_t *api, idx_http_req_t *req, route_t route, const char *key,
                       size_t len) {
  const idx_centry_t *e = idx_cache_get(&api->cache, key, len, uv_now(api->loop));
  if (!e)
    return false;
  reply_shared(api, req, route, e->status, e->body);
  return true;
}

/* Builds the cache key: the route letter, then each part as "<length>:"
 * and its bytes, or "-" when absent. Every part says where it ends, so no
 * value (whatever bytes an alias holds) can make two different requests
 * share a key. Returns 0 when the key would not fit (not cached). */
static size_t make_key(char *key, size_t cap, char route, const char *const *parts, size_t n) {
  size_t o = 0;
  if (cap < 2)
    return 0;
  key[o++] = route;
  for (size_t i = 0; i < n; i++) {
    if (!parts[i]) {
      if (o + 1 >= cap)
        return 0;
      key[o++] = '-';
      continue;
    }
    size_t l = strlen(parts[i]);
    int w = snprintf(key + o, cap - o, "%zu:", l);
    if (w < 0 || (size_t)w >= cap - o || o + (size_t)w + l >= cap)
      return 0; /* too long to cache */
    o += (size_t)w;
    memcpy(key + o, parts[i], l);
    o += l;
  }
  return o;
}

/* The common path of the GET routes: answers from the cache or joins a
 * running query for the same key (NULL), else returns a new call whose
 * 404 body says notfound (NULL too when out of memory: answered). */
static call_t *cached_call(idx_api_t *api, idx_http_req_t *req, route_t route, ans_t kind,
                           char letter, const char *const *params, size_t nparams,
                           const char *notfound) {
  char key[1024];
  size_t klen = make_key(key, sizeof key, letter, params + 1, nparams - 1);
  if (klen && (from_cache(api, req, route, key, klen) || join_inflight(api, req, key, klen)))
    return NULL;
  call_t *c = call_new(api, req, route, kind, key, klen);
  if (!c) {
    reply_error(api, req, route, 500, "out of memory");
    return NULL;
  }
  /* notfound is the 404 body, kept with the call. */
  idx_buf_t b;
  idx_buf_init(&b, sizeof c->notfound - 1);
  int rc = idx_buf_adds(&b, "{\"error\":");
  if (rc == 0)
    rc = idx_buf_add_json_str(&b, notfound, strlen(notfound));
  if (rc == 0)
    rc = idx_buf_adds(&b, "}");
  snprintf(c->notfound, sizeof c->notfound, "%s", rc == 0 ? b.data : "{\"error\":\"not found\"}");
  idx_buf_free(&b);
  return c;
}

static void cached_query(idx_api_t *api, idx_http_req_t *req, route_t route, char letter,
                         const char *sql, const char *const *params, size_t nparams,
                         const char *notfound) {
  call_t *c = cached_call(api, req, route, ANS_DOC, letter, params, nparams, notfound);
  if (c)
    run_call(api, c, sql, nparams, params);
}

/* ---- routes ------------------------------------------------------------- */

/* A node or connection key: a decimal token id below 2^256, else a
 * label (nodes) or name (connections) of 1 to max bytes without control
 * characters. The SQL function decides what it names. */
static bool check_name_key(const char *s, size_t n, size_t max, const char *what, char *out,
                           char *why, size_t whylen) {
  if (n == 0) {
    snprintf(why, whylen, "empty %s key", what);
    return false;
  }
  bool digits = idx_query_is_digits(s, n);
  if (digits && (n > 78 || !idx_query_below_2_256(s, n))) {
    snprintf(why, whylen, "token id above 2^256 - 1");
    return false;
  }
  if (!digits && n > max) {
    snprintf(why, whylen, "a %s key is a decimal token id or a %s of at most %zu bytes", what,
             strcmp(what, "node") == 0 ? "label" : "name", max);
    return false;
  }
  for (size_t i = 0; i < n; i++) {
    if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
      snprintf(why, whylen, "control character in the %s key", what);
      return false;
    }
  }
  memcpy(out, s, n);
  out[n] = '\0';
  return true;
}

/* One row per license-class route: which class, its cache letter, the SQL
 * function answering it (shared with `license --class`). */
typedef struct class_route_s {
  const char *cls;
  char letter;
} class_route_t;

static const class_route_t class_routes[] = {
    {"app", 'A'}, {"manufacturer", 'M'}, {"node", 'N'}, {"connection", 'C'}};

static void route_license(idx_api_t *api, idx_http_req_t *req, route_t route, const segs_t *segs,
                          const class_route_t *cr) {
  char key[IDX_QUERY_KEY_MAX + 1], why[200];
  bool ok = cr->letter == 'N' ? check_name_key(segs->s[2], segs->len[2], IDX_QUERY_KEY_MAX, "node",
                                               key, why, sizeof why)
            : cr->letter == 'C' ? check_name_key(segs->s[2], segs->len[2], IDX_QUERY_ALIAS_MAX,
                                                 "connection", key, why, sizeof why)
                                : idx_query_license_key(segs->s[2], segs->len[2], cr->letter == 'A',
                                                        key, why, sizeof why);
  if (!ok) {
    reply_error(api, req, route, 400, "%s", why);
    return;
  }
  qparam_t q[] = {{"at_block", NULL, 0}};
  if (!parse_query(api, idx_http_req_msg(req), q, IDX_ARRAY_LEN(q), why, sizeof why)) {
    reply_error(api, req, route, 400, "%s", why);
    return;
  }
  char at[AT_TEXT_MAX];
  const char *at_param;
  if (!at_block_param(&q[0], at, &at_param)) {
    reply_error(api, req, route, 400, "at_block must be a block number");
    return;
  }
  const char *params[] = {api->chain_id, key, at_param};
  char nf[160];
  snprintf(nf, sizeof nf, "no %s license matches \"%s\"", cr->cls, key);
  cached_query(api, req, route, cr->letter, idx_query_lookup_sql(cr->cls), params,
               IDX_ARRAY_LEN(params), nf);
}

static void route_app(idx_api_t *api, idx_http_req_t *req, route_t route, const segs_t *segs) {
  route_license(api, req, route, segs, &class_routes[0]);
}

static void route_manufacturer(idx_api_t *api, idx_http_req_t *req, route_t route,
                               const segs_t *segs) {
  route_license(api, req, route, segs, &class_routes[1]);
}

static void route_node(idx_api_t *api, idx_http_req_t *req, route_t route, const segs_t *segs) {
  route_license(api, req, route, segs, &class_routes[2]);
}

static void route_connection(idx_api_t *api, idx_http_req_t *req, route_t route,
                             const segs_t *segs) {
  route_license(api, req, route, segs, &class_routes[3]);
}

static void route_signer(idx_api_t *api, idx_http_req_t *req, route_t route, const segs_t *segs) {
  char key[IDX_QUERY_KEY_MAX + 1], why[200], signer[43];
  if (!idx_query_license_key(segs->s[2], segs->len[2], true, key, why, sizeof why)) {
    reply_error(api, req, route, 400, "%s", why);
    return;
  }
  if (!idx_query_address(segs->s[4], segs->len[4], signer)) {
    reply_error(api, req, route, 400, "the signer must be a 0x address (40 hex digits)");
    return;
  }
  qparam_t q[] = {{"at_block", NULL, 0}};
  if (!parse_query(api, idx_http_req_msg(req), q, IDX_ARRAY_LEN(q), why, sizeof why)) {
    reply_error(api, req, route, 400, "%s", why);
    return;
  }
  char at[AT_TEXT_MAX], bytea[45];
  const char *at_param;
  if (!at_block_param(&q[0], at, &at_param)) {
    reply_error(api, req, route, 400, "at_block must be a block number");
    return;
  }
  snprintf(bytea, sizeof bytea, "\\x%s", signer + 2);
  const char *params[] = {api->chain_id, key, bytea, at_param};
  char nf[160];
  snprintf(nf, sizeof nf, "no app license matches \"%s\"", key);
  cached_query(api, req, route, 'G', idx_query_signer_sql, params, IDX_ARRAY_LEN(params), nf);
}

static void route_licenses(idx_api_t *api, idx_http_req_t *req, route_t route, const segs_t *segs) {
  (void)segs;
  char why[200];
  qparam_t q[] = {{"class", NULL, 0}, {"status", NULL, 0}, {"owner", NULL, 0},
                  {"limit", NULL, 0}, {"after", NULL, 0},  {"at_block", NULL, 0}};
  if (!parse_query(api, idx_http_req_msg(req), q, IDX_ARRAY_LEN(q), why, sizeof why)) {
    reply_error(api, req, route, 400, "%s", why);
    return;
  }
  if (q[5].value) {
    reply_error(api, req, route, 400,
                "at_block is not supported by /v1/licenses (it lists the current state)");
    return;
  }
  const char *cls = q[0].value, *status = q[1].value;
  if (cls && strcmp(cls, "app") != 0 && strcmp(cls, "manufacturer") != 0 &&
      strcmp(cls, "client") != 0) {
    reply_error(api, req, route, 400,
                "class must be app, client or manufacturer (nodes: /v1/nodes/{id}, connections: "
                "/v1/connections/{id})");
    return;
  }
  if (status && strcmp(status, "active") != 0 && strcmp(status, "suspended") != 0 &&
      strcmp(status, "understaked") != 0 && strcmp(status, "revoked") != 0) {
    reply_error(api, req, route, 400, "status must be active, suspended, understaked or revoked");
    return;
  }
  char owner[43], owner_bytea[45], limit[LIMIT_TEXT_MAX];
  if (q[2].value) {
    if (!idx_query_address(q[2].value, q[2].len, owner)) {
      reply_error(api, req, route, 400, "owner must be a 0x address (40 hex digits)");
      return;
    }
    snprintf(owner_bytea, sizeof owner_bytea, "\\x%s", owner + 2);
  }
  if (!limit_param(api, req, route, &q[3], limit))
    return;
  if (q[4].value && q[4].len && !licenses_cursor_ok(q[4].value, q[4].len)) {
    reply_bad_cursor(api, req, route);
    return;
  }
  const char *params[] = {api->chain_id, cls,
                          status,        q[2].value ? owner_bytea : NULL,
                          limit,         q[4].value && q[4].len ? q[4].value : NULL};
  cached_query(api, req, route, 'L', idx_query_licenses_sql, params, IDX_ARRAY_LEN(params),
               "no such page");
}

static void route_slashes(idx_api_t *api, idx_http_req_t *req, route_t route, const segs_t *segs) {
  (void)segs;
  char why[200], key[IDX_QUERY_KEY_MAX + 1], limit[LIMIT_TEXT_MAX], at[AT_TEXT_MAX];
  qparam_t q[] = {
      {"license", NULL, 0}, {"after", NULL, 0}, {"limit", NULL, 0}, {"at_block", NULL, 0}};
  if (!parse_query(api, idx_http_req_msg(req), q, IDX_ARRAY_LEN(q), why, sizeof why)) {
    reply_error(api, req, route, 400, "%s", why);
    return;
  }
  if (q[0].value && !idx_query_license_key(q[0].value, q[0].len, true, key, why, sizeof why)) {
    reply_error(api, req, route, 400, "license: %s", why);
    return;
  }
  if (q[1].value && q[1].len && !slashes_cursor_ok(q[1].value, q[1].len)) {
    reply_bad_cursor(api, req, route);
    return;
  }
  const char *at_param;
  if (!limit_param(api, req, route, &q[2], limit))
    return;
  if (!at_block_param(&q[3], at, &at_param)) {
    reply_error(api, req, route, 400, "at_block must be a block number");
    return;
  }
  const char *params[] = {api->chain_id, q[0].value ? key : NULL,
                          q[1].value && q[1].len ? q[1].value : NULL, limit, at_param};
  char nf[160];
  snprintf(nf, sizeof nf, "no license matches \"%s\"", q[0].value ? key : "");
  cached_query(api, req, route, 'S', idx_query_slashes_sql, params, IDX_ARRAY_LEN(params), nf);
}

/* ---- #22: logs no ABI knows, implementation histories ------------------ */

/* "u1.<block>.<log index>" / "g1.<block>.<log index>"
 * (schema/functions/unknown.sql). */
static bool block_log_cursor_ok(const char *s, size_t n, const char *prefix) {
  static const cursor_field_t f[] = {{0, 18}, {0, 9}};
  return cursor_ok(s, n, prefix, f, IDX_ARRAY_LEN(f));
}

/* A 0x + 64 hex digits topic, lower-cased into out (67 bytes). */
static bool topic_param(const char *s, size_t n, char *out) {
  if (n != 66 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') || !idx_query_is_hex(s + 2, 64))
    return false;
  for (size_t i = 0; i < n; i++)
    out[i] = (char)(s[i] >= 'A' && s[i] <= 'F' ? s[i] - 'A' + 'a' : s[i]);
  out[1] = 'x';
  out[n] = '\0';
  return true;
}

/* GET /v1/unknown-events?contract=0x..&topic0=0x..&after=CURSOR&limit=N:
 * the logs of watched contracts no ABI knows, oldest first, with their
 * counts per (contract, topic0). */
static void route_unknown_events(idx_api_t *api, idx_http_req_t *req, route_t route,
                                 const segs_t *segs) {
  (void)segs;
  char why[200], contract[43], topic0[67], limit[LIMIT_TEXT_MAX];
  qparam_t q[] = {
      {"contract", NULL, 0}, {"topic0", NULL, 0}, {"after", NULL, 0}, {"limit", NULL, 0}};
  if (!parse_query(api, idx_http_req_msg(req), q, IDX_ARRAY_LEN(q), why, sizeof why)) {
    reply_error(api, req, route, 400, "%s", why);
    return;
  }
  const char *by_contract, *after;
  if (!contract_param(api, req, route, &q[0], contract, &by_contract))
    return;
  if (q[1].value && !topic_param(q[1].value, q[1].len, topic0)) {
    reply_error(api, req, route, 400, "topic0 must be 0x and 64 hex digits");
    return;
  }
  if (!block_page_params(api, req, route, &q[2], &q[3], "u1", &after, limit))
    return;
  const char *params[] = {api->chain_id, by_contract, q[1].value ? topic0 : NULL, after, limit};
  cached_query(api, req, route, 'U', idx_query_unknown_events_sql, params, IDX_ARRAY_LEN(params),
               "nothing indexed yet");
}

/* GET /v1/upgrades?contract=0x..&after=CURSOR&limit=N: every Upgraded and
 * BeaconUpgraded of the watched contracts, oldest first. */
static void route_upgrades(idx_api_t *api, idx_http_req_t *req, route_t route, const segs_t *segs) {
  (void)segs;
  char why[200], contract[43], limit[LIMIT_TEXT_MAX];
  qparam_t q[] = {{"contract", NULL, 0}, {"after", NULL, 0}, {"limit", NULL, 0}};
  if (!parse_query(api, idx_http_req_msg(req), q, IDX_ARRAY_LEN(q), why, sizeof why)) {
    reply_error(api, req, route, 400, "%s", why);
    return;
  }
  const char *by_contract, *after;
  if (!contract_param(api, req, route, &q[0], contract, &by_contract) ||
      !block_page_params(api, req, route, &q[1], &q[2], "g1", &after, limit))
    return;
  const char *params[] = {api->chain_id, by_contract, after, limit};
  cached_query(api, req, route, 'P', idx_query_upgrades_sql, params, IDX_ARRAY_LEN(params),
               "nothing indexed yet");
}

/* ---- #25: the admin-actions ledger -------------------------------------- */

/* /v1/admin-actions: "a1.<block>.<log index>" (schema/functions/accountability.sql). */
static bool admin_cursor_ok(const char *s, size_t n) {
  static const cursor_field_t f[] = {{0, 18}, {0, 9}};
  return cursor_ok(s, n, "a1", f, IDX_ARRAY_LEN(f));
}

/* GET /v1/admin-actions?license=0x..&action=..&executor=0x..&from_block=N
 * &to_block=N&limit=N&after=CURSOR&format=json|csv: newest first, one SQL
 * function per format (the CSV is the page's rows as text). */
static void route_admin_actions(idx_api_t *api, idx_http_req_t *req, route_t route,
                                const segs_t *segs) {
  (void)segs;
  char why[200], lic[43], exec[43], limit[LIMIT_TEXT_MAX], from[AT_TEXT_MAX], to[AT_TEXT_MAX];
  qparam_t q[] = {{"license", NULL, 0},    {"action", NULL, 0},   {"executor", NULL, 0},
                  {"from_block", NULL, 0}, {"to_block", NULL, 0}, {"limit", NULL, 0},
                  {"after", NULL, 0},      {"format", NULL, 0}};
  route_t r = route;
  if (!parse_query(api, idx_http_req_msg(req), q, IDX_ARRAY_LEN(q), why, sizeof why)) {
    reply_error(api, req, r, 400, "%s", why);
    return;
  }
  if (q[7].value && strcmp(q[7].value, "csv") == 0)
    r = route + 1; /* the csv row follows */
  else if (q[7].value && strcmp(q[7].value, "json") != 0) {
    reply_error(api, req, r, 400, "format must be json or csv");
    return;
  }
  if (q[0].value && !idx_query_address(q[0].value, q[0].len, lic)) {
    reply_error(api, req, r, 400, "license must be a contract address");
    return;
  }
  if (q[1].value && (q[1].len == 0 || q[1].len > 32)) {
    reply_error(api, req, r, 400, "unknown action");
    return;
  }
  if (q[2].value && !idx_query_address(q[2].value, q[2].len, exec)) {
    reply_error(api, req, r, 400, "executor must be an address");
    return;
  }
  const char *from_p, *to_p;
  if (!at_block_param(&q[3], from, &from_p) || !at_block_param(&q[4], to, &to_p)) {
    reply_error(api, req, r, 400, "from_block and to_block must be block numbers");
    return;
  }
  if (!limit_param(api, req, r, &q[5], limit))
    return;
  if (q[6].value && q[6].len && !admin_cursor_ok(q[6].value, q[6].len)) {
    reply_bad_cursor(api, req, r);
    return;
  }
  const char *params[] = {api->chain_id, q[0].value ? lic : NULL,
                          q[1].value,    q[2].value ? exec : NULL,
                          from_p,        to_p,
                          limit,         q[6].value && q[6].len ? q[6].value : NULL};
  cached_query(api, req, r, r != route ? 'c' : 'a',
               r != route ? idx_query_admin_actions_csv_sql : idx_query_admin_actions_sql, params,
               IDX_ARRAY_LEN(params), "{\"error\":\"nothing indexed\"}");
}

/* ---- #25: the books of the license contracts ---------------------------- */

/* GET /v1/books[?at_block=N] and /v1/books/{contract}[?at_block=N]: DIMO
 * held, staked, stray, every adminWithdraw and each forfeit's transfer
 * check (dimo_books; amounts are exact decimal strings of wei). */
static void books(idx_api_t *api, idx_http_req_t *req, route_t route, const char *contract,
                  size_t contract_len) {
  char why[200], c[43], at[AT_TEXT_MAX];
  if (contract && !idx_query_address(contract, contract_len, c)) {
    reply_error(api, req, route, 400, "a license contract is a 0x address (40 hex digits)");
    return;
  }
  qparam_t q[] = {{"at_block", NULL, 0}};
  if (!parse_query(api, idx_http_req_msg(req), q, IDX_ARRAY_LEN(q), why, sizeof why)) {
    reply_error(api, req, route, 400, "%s", why);
    return;
  }
  const char *at_param;
  if (!at_block_param(&q[0], at, &at_param)) {
    reply_error(api, req, route, 400, "at_block must be a block number");
    return;
  }
  const char *params[] = {api->chain_id, contract ? c : NULL, at_param};
  char nf[160];
  if (contract)
    snprintf(nf, sizeof nf, "no license contract at %s (or nothing indexed yet)", c);
  else
    snprintf(nf, sizeof nf, "nothing indexed yet");
  cached_query(api, req, route, 'B', idx_query_books_sql, params, IDX_ARRAY_LEN(params), nf);
}

static void route_books(idx_api_t *api, idx_http_req_t *req, route_t route, const segs_t *segs) {
  (void)segs;
  books(api, req, route, NULL, 0);
}

static void route_books_one(idx_api_t *api, idx_http_req_t *req, route_t route,
                            const segs_t *segs) {
  books(api, req, route, segs->s[2], segs->len[2]);
}

static void route_access(idx_api_t *api, idx_http_req_t *req, route_t route, const segs_t *segs) {
  (void)segs;
  char why[200];
  qparam_t q[] = {{"client_id", NULL, 0},  {"asset", NULL, 0},  {"token_id", NULL, 0},
                  {"permission", NULL, 0}, {"signer", NULL, 0}, {"at_block", NULL, 0},
                  {"at_time", NULL, 0},    {"grantor", NULL, 0}};
  if (!parse_query(api, idx_http_req_msg(req), q, IDX_ARRAY_LEN(q), why, sizeof why)) {
    reply_error(api, req, route, 400, "%s", why);
    return;
  }
  idx_access_query_t aq;
  bool ok =
      q[7].value && !q[1].value && !q[2].value
          ? idx_query_access_parse_account(&aq, q[0].value, q[7].value, q[3].value, q[4].value,
                                           q[5].value, q[6].value, why, sizeof why)
          : idx_query_access_parse(&aq, q[0].value, q[1].value, q[2].value, q[3].value, q[4].value,
                                   q[5].value, q[6].value, why, sizeof why);
  if (!ok || (q[7].value && !aq.grantor[0])) {
    if (ok)
      snprintf(why, sizeof why, "grantor replaces asset and token_id: give one or the other");
    reply_error(api, req, route, 400, "%s", why);
    return;
  }
  const char *params[IDX_QUERY_ACCESS_NPARAMS];
  idx_query_access_params(&aq, api->chain_id, params);
  call_t *c = cached_call(api, req, route, ANS_ACCESS, 'X', params, IDX_ARRAY_LEN(params),
                          "nothing is indexed yet");
  if (!c)
    return;
  c->wall_clock = routes[route].fresh == FRESH_WALL && !aq.at_block[0] && !aq.at_time[0];
  run_call(api, c, idx_query_access_sql, IDX_ARRAY_LEN(params), params);
}

/* With the signer known: the cache, else dimo_verify_license (and, when
 * the request names a vehicle and a permission, dimo_access in the same
 * statement: one snapshot). */
static void verify_lookup(idx_api_t *api, idx_http_req_t *req, route_t route, const char *client,
                          const idx_addr_t *signer, idx_access_query_t *access) {
  char signer_hex[43], key[512], client_bytea[45], signer_bytea[45];
  idx_addr_to_hex(signer_hex, signer);
  snprintf(client_bytea, sizeof client_bytea, "\\x%s", client + 2);
  snprintf(signer_bytea, sizeof signer_bytea, "\\x%s", signer_hex + 2);
  /* idx_query_verify_sql: $4, the block, NULL (now). */
  const char *params[IDX_QUERY_ACCESS_NPARAMS] = {api->chain_id, client_bytea, signer_bytea, NULL};
  size_t nparams = 4;
  if (access) {
    snprintf(access->signer, sizeof access->signer, "%s", signer_bytea);
    idx_query_access_params(access, api->chain_id, params);
    nparams = IDX_ARRAY_LEN(params);
  }
  size_t klen = make_key(key, sizeof key, access ? 'W' : 'V', params + 1, nparams - 1);
  if (klen && (from_cache(api, req, route, key, klen) || join_inflight(api, req, key, klen)))
    return;
  call_t *c = call_new(api, req, route, ANS_VERIFY, key, klen);
  if (!c) {
    reply_error(api, req, route, 500, "out of memory");
    return;
  }
  memcpy(c->signer, signer_hex, sizeof c->signer);
  c->with_access = access != NULL;
  c->wall_clock = routes[route].fresh == FRESH_WALL;
  run_call(api, c, access ? idx_query_verify_access_sql : idx_query_verify_sql, nparams, params);
}

/* On a thread-pool thread: touches only the job and the (read-only)
 * secp256k1 context. */
static void recover_work(uv_work_t *w) {
  recover_job_t *job = w->data;
  job->rc = idx_sig_recover(job->api->sig, &job->signer, &job->digest, &job->rsv, job->err,
                            sizeof job->err);
}

static void recover_done(uv_work_t *w, int status) {
  recover_job_t *job = w->data;
  idx_api_t *api = job->api;
  api->depth++;
  if (status != 0 || api->closing)
    reply_error(api, job->req, job->route, 503, "shutting down");
  else if (job->rc)
    reply_error(api, job->req, job->route, 400, "%s", job->err);
  else
    verify_lookup(api, job->req, job->route, job->client, &job->signer,
                  job->with_access ? &job->access : NULL);
  free(job);
  api->jobs--;
  api->depth--;
  if (api->closing)
    maybe_free_api(api);
}

/* What is wrong with a JSON text, in our words: jansson's own messages
 * name its flags (JSON_ALLOW_NUL) and quote the input back. */
static const char *json_problem(const json_error_t *e) {
  switch (json_error_code(e)) {
  case json_error_out_of_memory:
    return "out of memory";
  case json_error_stack_overflow:
    return "nested too deeply";
  case json_error_invalid_utf8:
    return "not valid UTF-8";
  case json_error_premature_end_of_input:
    return "it ends too early";
  case json_error_end_of_input_expected:
    return "text after the JSON value";
  case json_error_null_character:
  case json_error_null_byte_in_key:
    return "a NUL character (\\u0000) in a string";
  case json_error_duplicate_key:
    return "a duplicate member (a name given twice)";
  case json_error_numeric_overflow:
    return "a number out of range";
  default:
    return "invalid syntax";
  }
}

static const char *const verify_members[] = {"client_id", "message",  "message_hex", "signature",
                                             "asset",     "token_id", "permission"};

/* A member naming part of the access question: a string, or a JSON
 * integer (token_id, permission) rendered as text into buf; NULL when
 * absent, "" when of another type (refused by the parser). */
static const char *access_member(json_t *body, const char *name, char *buf, size_t len) {
  json_t *v = json_object_get(body, name);
  if (!v)
    return NULL;
  if (json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v))
    return json_string_value(v);
  if (json_is_integer(v) && json_integer_value(v) >= 0)
    snprintf(buf, len, "%lld", (long long)json_integer_value(v));
  else
    buf[0] = '\0';
  return buf;
}

static void route_verify(idx_api_t *api, idx_http_req_t *req, route_t route, const segs_t *segs) {
  (void)segs;
  const idx_http_msg_t *m = idx_http_req_msg(req);
  char why[200];
  qparam_t q[1] = {{"-", NULL, 0}};
  if (!parse_query(api, m, q, 0, why, sizeof why)) {
    reply_error(api, req, route, 400, "%s", why);
    return;
  }
  json_error_t jerr;
  json_t *body = json_loadb(m->body, m->body_len, JSON_REJECT_DUPLICATES, &jerr);
  if (!body) {
    reply_error(api, req, route, 400, "body is not valid JSON: %s (line %d, column %d)",
                json_problem(&jerr), jerr.line, jerr.column);
    return;
  }
  if (!json_is_object(body)) {
    json_decref(body);
    reply_error(api, req, route, 400, "body must be a JSON object {client_id, message, signature}");
    return;
  }
  const char *name;
  json_t *v;
  json_object_foreach(body, name, v) {
    bool known = false;
    for (size_t i = 0; i < IDX_ARRAY_LEN(verify_members); i++)
      known = known || strcmp(name, verify_members[i]) == 0;
    if (!known) {
      reply_error(api, req, route, 400, "unknown member \"%.64s\"", name);
      json_decref(body);
      return;
    }
  }
  json_t *cid = json_object_get(body, "client_id");
  json_t *msg = json_object_get(body, "message");
  json_t *msg_hex = json_object_get(body, "message_hex");
  json_t *sig = json_object_get(body, "signature");
  char client[43];
  const char *fail = NULL;
  if (!cid)
    fail = "client_id is required";
  else if (!json_is_string(cid) ||
           !idx_query_address(json_string_value(cid), json_string_length(cid), client))
    fail = "client_id must be a 0x address (40 hex digits)";
  else if (!msg && !msg_hex)
    fail = "message (or message_hex) is required";
  else if (msg && msg_hex)
    fail = "give message or message_hex, not both";
  else if (msg && !json_is_string(msg))
    fail = "message must be a string (the text that was signed)";
  else if (msg_hex && !json_is_string(msg_hex))
    fail = "message_hex must be a 0x hex string (the bytes that were signed)";
  else if (!sig)
    fail = "signature is required";
  else if (!json_is_string(sig))
    fail = "signature must be a 0x hex string";
  if (fail) {
    json_decref(body);
    reply_error(api, req, route, 400, "%s", fail);
    return;
  }
  /* The access question, when the request names a vehicle. */
  char abuf[24], tbuf[24], pbuf[24];
  const char *asset = access_member(body, "asset", abuf, sizeof abuf);
  const char *token = access_member(body, "token_id", tbuf, sizeof tbuf);
  const char *perm = access_member(body, "permission", pbuf, sizeof pbuf);
  idx_access_query_t aq;
  bool with_access = asset || token || perm;
  if (with_access && (!asset || !token || !perm)) {
    json_decref(body);
    reply_error(api, req, route, 400,
                "asset, token_id and permission go together (the access question)");
    return;
  }
  if (with_access &&
      !idx_query_access_parse(&aq, client, asset, token, perm, NULL, NULL, NULL, why, sizeof why)) {
    json_decref(body);
    reply_error(api, req, route, 400, "%s", why);
    return;
  }
  /* The signature's form is checked here; the curve work goes to the
   * thread pool so the loop keeps serving meanwhile. */
  recover_job_t *job = calloc(1, sizeof *job);
  if (!job) {
    json_decref(body);
    reply_error(api, req, route, 500, "out of memory");
    return;
  }
  char serr[160];
  if (idx_sig_parse(&job->rsv, json_string_value(sig), json_string_length(sig), serr,
                    sizeof serr) != 0) {
    free(job);
    json_decref(body);
    reply_error(api, req, route, 400, "%s", serr);
    return;
  }
  /* The message is hashed here, and only its digest goes with the job: a
   * copy held while the job waits for a thread would be counted nowhere
   * (the request's body is, under --http-max-output). Hashing at most
   * 64 KiB costs less than parsing the JSON that carried it. */
  if (msg) {
    idx_sig_personal_hash(&job->digest, json_string_value(msg), json_string_length(msg));
  } else {
    const char *h = json_string_value(msg_hex);
    size_t hl = json_string_length(msg_hex);
    size_t n = 0;
    uint8_t *bytes = malloc(hl / 2 + 1);
    if (!bytes) {
      free(job);
      json_decref(body);
      reply_error(api, req, route, 500, "out of memory");
      return;
    }
    if (idx_hex_decode(bytes, hl / 2 + 1, &n, h, hl) != 0) {
      free(bytes);
      free(job);
      json_decref(body);
      reply_error(api, req, route, 400, "message_hex must be 0x and an even number of hex digits");
      return;
    }
    idx_sig_personal_hash(&job->digest, bytes, n);
    free(bytes);
  }
  json_decref(body);
  job->api = api;
  job->req = req;
  job->route = route;
  memcpy(job->client, client, sizeof job->client);
  job->with_access = with_access;
  if (with_access)
    job->access = aq;
  job->work.data = job;
  if (uv_queue_work(api->loop, &job->work, recover_work, recover_done) != 0) {
    recover_work(&job->work); /* no thread pool: do it here */
    api->jobs++;
    recover_done(&job->work, 0);
    return;
  }
  api->jobs++;
}

/* ---- health, readiness -------------------------------------------------- */

static void status_now(idx_api_t *api, idx_api_status_t *st) {
  memset(st, 0, sizeof *st);
  if (api->opts.status_cb)
    api->opts.status_cb(api->opts.status_ud, st);
}

static void answer_ready(idx_api_t *api, call_t *c, const idx_dbpool_result_t *res) {
  idx_api_status_t st;
  status_now(api, &st);
  const idx_sync_status_t *s = &st.sync;
  /* Answers come from the derived model, which a backfill derives a
   * little after it stores the logs: ready is judged by the lower. */
  uint64_t indexed = s->has_model && s->model_block < s->cursor ? s->model_block : s->cursor;
  uint64_t lag = s->target > indexed ? s->target - indexed : 0;
  /* An index above the node's head (a lagging node, or a chain that became
   * shorter, which the follower compares and rolls back): a negative lag,
   * the blocks the index is ahead of the head, judged against the same
   * limit. */
  uint64_t ahead = s->has_cursor && s->head > 0 && s->cursor > s->head ? s->cursor - s->head : 0;
  char problem[200] = "";
  if (res->status)
    snprintf(problem, sizeof problem, "database unavailable");
  else if (st.not_ready[0])
    snprintf(problem, sizeof problem, "%s", st.not_ready);
  else if (st.has_sync && s->standby)
    snprintf(problem, sizeof problem, "standby: another instance writes the index");
  else if (st.has_sync && idx_sync_problem(s))
    snprintf(problem, sizeof problem, "%s", idx_sync_problem(s));
  else if (st.has_sync && s->target == 0)
    snprintf(problem, sizeof problem, "the chain head is not known yet");
  else if (st.has_sync && (!s->has_cursor || !s->has_model))
    snprintf(problem, sizeof problem, "nothing indexed yet");
  else if (st.has_sync && lag > api->opts.ready_lag)
    snprintf(problem, sizeof problem, "the index is %llu blocks behind its target (limit %llu)",
             (unsigned long long)lag, (unsigned long long)api->opts.ready_lag);
  else if (st.has_sync && ahead > api->opts.ready_lag)
    snprintf(problem, sizeof problem,
             "the index is %llu blocks above the node's head (limit %llu): a lagging node, or a "
             "shorter chain",
             (unsigned long long)ahead, (unsigned long long)api->opts.ready_lag);
  idx_buf_t b;
  idx_buf_init(&b, 1024);
  int rc = idx_buf_adds(&b, "{");
  if (rc == 0 && problem[0])
    rc = idx_buf_adds(&b, "\"error\":");
  if (rc == 0 && problem[0])
    rc = idx_buf_add_json_str(&b, problem, strlen(problem));
  if (rc == 0 && problem[0])
    rc = idx_buf_adds(&b, ",");
  if (rc == 0)
    rc = idx_buf_addf(&b,
                      "\"ready\":%s,\"database\":\"%s\",\"head_block\":%llu,\"target_block\":%llu,",
                      problem[0] ? "false" : "true", res->status ? "unavailable" : "ok",
                      (unsigned long long)s->head, (unsigned long long)s->target);
  if (rc == 0 && s->has_cursor)
    rc = idx_buf_addf(&b, "\"indexed_block\":%llu,", (unsigned long long)s->cursor);
  else if (rc == 0)
    rc = idx_buf_adds(&b, "\"indexed_block\":null,");
  if (rc == 0 && s->has_first_block) /* 020: the history is complete from there */
    rc = idx_buf_addf(&b, "\"first_block\":%llu,", (unsigned long long)s->first_block);
  else if (rc == 0)
    rc = idx_buf_adds(&b, "\"first_block\":null,");
  if (rc == 0 && s->has_finalized)
    rc = idx_buf_addf(&b, "\"finalized_block\":%llu,", (unsigned long long)s->finalized);
  else if (rc == 0)
    rc = idx_buf_adds(&b, "\"finalized_block\":null,");
  if (rc == 0 && ahead)
    rc = idx_buf_addf(&b, "\"lag\":-%llu,", (unsigned long long)ahead);
  else if (rc == 0)
    rc = idx_buf_addf(&b, "\"lag\":%llu,", (unsigned long long)lag);
  if (rc == 0)
    rc = idx_buf_addf(&b, "\"ready_lag\":%llu}", (unsigned long long)api->opts.ready_lag);
  if (rc)
    reply_error(api, c->req, c->route, 500, "out of memory");
  else
    reply_json(api, c->req, c->route, problem[0] ? 503 : 200, b.data, b.len);
  idx_buf_free(&b);
}

/* ---- metrics ------------------------------------------------------------ */

static int render_metrics(idx_api_t *api, idx_buf_t *b) {
  idx_api_status_t st;
  status_now(api, &st);
  idx_http_stats_t hs;
  idx_http_stats(api->http, &hs);
  idx_dbpool_stats_t ps;
  idx_dbpool_stats(api->pool, &ps);
  int rc = idx_metrics_build(b, api->chain_id);
  if (rc == 0 && st.has_sync)
    rc = idx_metrics_sync(b, &st.sync);
  if (rc == 0 && st.metrics_cb)
    rc = st.metrics_cb(st.metrics_ud, b);
  if (rc == 0)
    rc = idx_metrics_batches(b, &api->batches);
  if (rc == 0)
    rc = idx_metrics_events(b, api->events_json);
  if (rc == 0 && st.has_rpc)
    rc = idx_metrics_rpc(b, &st.rpc, st.urls, st.nurls);
  if (rc == 0)
    rc = idx_metrics_routes(b, api->route_stats, NROUTES);
  if (rc == 0)
    rc = idx_metrics_http(b, &hs);
  if (rc == 0)
    rc = idx_metrics_cache(b, &api->cache);
  if (rc == 0)
    rc = idx_metrics_pool(b, &ps);
  return rc;
}

static void answer_metrics(idx_api_t *api, idx_http_req_t *req, route_t route) {
  idx_buf_t b;
  idx_buf_init(&b, METRICS_MAX);
  int rc = render_metrics(api, &b);
  if (rc)
    reply_error(api, req, route, 500, "cannot render metrics: %s", idx_strerror(rc));
  else
    reply(api, req, route, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len, NULL);
  idx_buf_free(&b);
}

static void route_metrics(idx_api_t *api, idx_http_req_t *req, route_t route, const segs_t *segs) {
  (void)segs;
  uint64_t now = uv_now(api->loop);
  if (api->events_at && now - api->events_at < EVENTS_TTL_MS) {
    answer_metrics(api, req, route);
    return;
  }
  call_t *c = call_new(api, req, route, ANS_EVENTS, NULL, 0);
  if (!c) {
    answer_metrics(api, req, route);
    return;
  }
  const char *params[] = {api->chain_id};
  run_call(api, c, idx_query_events_sql, 1, params);
}

/* GET /v1/overview?at_block=&license=: schema/008's dimo_overview. */
static void route_overview(idx_api_t *api, idx_http_req_t *req, route_t route, const segs_t *segs) {
  (void)segs;
  char why[200], key[IDX_QUERY_KEY_MAX + 1], at[AT_TEXT_MAX];
  qparam_t q[] = {{"at_block", NULL, 0}, {"license", NULL, 0}};
  if (!parse_query(api, idx_http_req_msg(req), q, IDX_ARRAY_LEN(q), why, sizeof why)) {
    reply_error(api, req, route, 400, "%s", why);
    return;
  }
  const char *at_param;
  if (!at_block_param(&q[0], at, &at_param)) {
    reply_error(api, req, route, 400, "at_block must be a block number");
    return;
  }
  if (q[1].value && !idx_query_license_key(q[1].value, q[1].len, true, key, why, sizeof why)) {
    reply_error(api, req, route, 400, "license: %s", why);
    return;
  }
  const char *params[] = {api->chain_id, at_param, q[1].value ? key : NULL};
  char nf[160];
  snprintf(nf, sizeof nf, "no license matches \"%s\"", q[1].value ? key : "");
  cached_query(api, req, route, 'O', idx_query_overview_sql, params, IDX_ARRAY_LEN(params), nf);
}

/* The page (web.h): an embedded file, or its settings. Returns false when
 * the path is none of them (the caller answers 404). */
static bool route_page(idx_api_t *api, idx_http_req_t *req) {
  const idx_http_msg_t *m = idx_http_req_msg(req);
  bool settings = m->path_len == strlen(IDX_WEB_CONFIG_PATH) &&
                  memcmp(m->path, IDX_WEB_CONFIG_PATH, m->path_len) == 0;
  const idx_web_file_t *f = settings ? NULL : idx_web_find(m->path, m->path_len);
  if (!f && !settings)
    return false;
  if (m->method != IDX_HTTP_GET && m->method != IDX_HTTP_HEAD) {
    record(api, req, R_PAGE, 405);
    (void)idx_http_respond(req, 405, "application/json",
                           "{\"error\":\"method not allowed here (use GET)\"}", 45,
                           "Allow: GET, HEAD\r\n");
    return true;
  }
  if (f) {
    reply(api, req, R_PAGE, 200, f->content_type, (const char *)f->data, f->len, idx_web_headers);
    return true;
  }
  idx_buf_t b;
  idx_buf_init(&b, 1024);
  if (idx_web_config_json(&b, api->opts.explorer_url) == 0)
    reply(api, req, R_PAGE, 200, "application/json", b.data, b.len, idx_web_headers);
  else
    reply_error(api, req, R_PAGE, 500, "out of memory");
  idx_buf_free(&b);
  return true;
}

/* ---- dispatch ----------------------------------------------------------- */

static void route_healthz(idx_api_t *api, idx_http_req_t *req, route_t route, const segs_t *segs) {
  (void)segs;
  char why[200];
  qparam_t none[1] = {{"-", NULL, 0}};
  if (!parse_query(api, idx_http_req_msg(req), none, 0, why, sizeof why))
    reply_error(api, req, route, 400, "%s", why);
  else
    reply_json(api, req, route, 200, "{\"status\":\"ok\"}", 15);
}

static void route_readyz(idx_api_t *api, idx_http_req_t *req, route_t route, const segs_t *segs) {
  (void)segs;
  call_t *c = call_new(api, req, route, ANS_READY, NULL, 0);
  if (!c) {
    reply_error(api, req, route, 500, "out of memory");
    return;
  }
  run_call(api, c, idx_query_ready_sql, 0, NULL);
}

/* ---- the route table ---------------------------------------------------- */

/* Matching (in order), the methods (405 with Allow otherwise), the name
 * in metrics, whether answers are cached and for how long. A pattern is
 * path segments, "*" standing for any non-empty one; NULL: not matched by
 * path. Adding an endpoint is one row here and one handler. */
static const route_def_t routes[NROUTES] = {
    [R_OTHER] = {0, NULL, "other", NULL, false, FRESH_NONE, NULL},
    [R_PAGE] = {M_GET, NULL, "/ (page)", NULL, false, FRESH_NONE, NULL},
    {M_GET, "healthz", "/healthz", route_healthz, false, FRESH_NONE, NULL},
    {M_GET, "readyz", "/readyz", route_readyz, false, FRESH_NONE, NULL},
    {M_GET, "metrics", "/metrics", route_metrics, false, FRESH_NONE, NULL},
    {M_GET, "v1/apps/*", "/v1/apps/{id}", route_app, true, FRESH_COMMIT, NULL},
    {M_GET, "v1/apps/*/signers/*", "/v1/apps/{id}/signers/{address}", route_signer, true,
     FRESH_COMMIT, NULL},
    {M_GET, "v1/nodes/*", "/v1/nodes/{id}", route_node, true, FRESH_COMMIT, NULL},
    {M_GET, "v1/manufacturers/*", "/v1/manufacturers/{id}", route_manufacturer, true, FRESH_COMMIT,
     NULL},
    {M_GET, "v1/connections/*", "/v1/connections/{id}", route_connection, true, FRESH_COMMIT, NULL},
    {M_GET, "v1/licenses", "/v1/licenses", route_licenses, true, FRESH_COMMIT, NULL},
    {M_GET, "v1/slashes", "/v1/slashes", route_slashes, true, FRESH_COMMIT, NULL},
    {M_POST, "v1/verify", "/v1/verify", route_verify, true, FRESH_WALL, NULL},
    {M_GET, "v1/access", "/v1/access", route_access, true, FRESH_WALL, NULL},
    {M_GET, "v1/overview", "/v1/overview", route_overview, true, FRESH_COMMIT, NULL},
    {M_GET, "v1/admin-actions", "/v1/admin-actions", route_admin_actions, true, FRESH_COMMIT,
     NULL}, /* #25 */
    /* ?format=csv of the row above (its handler picks this row): counted apart */
    {M_GET, NULL, "/v1/admin-actions (csv)", NULL, true, FRESH_COMMIT, "text/csv; charset=utf-8"},
    {M_GET, "v1/unknown-events", "/v1/unknown-events", route_unknown_events, true, FRESH_COMMIT,
     NULL},                                                                           /* #22 */
    {M_GET, "v1/upgrades", "/v1/upgrades", route_upgrades, true, FRESH_COMMIT, NULL}, /* #22 */
    {M_GET, "v1/books", "/v1/books", route_books, true, FRESH_COMMIT, NULL},          /* #25 */
    {M_GET, "v1/books/*", "/v1/books/{contract}", route_books_one, true, FRESH_COMMIT, NULL},
};

static bool pattern_match(const char *pat, const segs_t *s) {
  size_t i = 0;
  while (*pat) {
    const char *end = strchr(pat, '/');
    size_t n = end ? (size_t)(end - pat) : strlen(pat);
    if (i >= s->n)
      return false;
    if (n == 1 && pat[0] == '*' ? s->len[i] == 0 : (s->len[i] != n || memcmp(s->s[i], pat, n) != 0))
      return false;
    i++;
    pat += n + (end ? 1 : 0);
  }
  return i == s->n;
}

static route_t match(const segs_t *s) {
  for (route_t r = 0; r < NROUTES; r++)
    if (routes[r].pattern && pattern_match(routes[r].pattern, s))
      return r;
  return R_OTHER;
}

/* 405: the methods the route takes, in an Allow header. */
static void reply_405(idx_api_t *api, idx_http_req_t *req, route_t route) {
  const idx_http_msg_t *m = idx_http_req_msg(req);
  bool post = routes[route].methods & M_POST;
  record(api, req, route, 405);
  char body[160];
  snprintf(body, sizeof body, "{\"error\":\"method %s not allowed here (use %s)\"}", m->method_name,
           post ? "POST" : "GET");
  (void)idx_http_respond(req, 405, "application/json", body, strlen(body),
                         post ? "Allow: POST\r\n" : "Allow: GET, HEAD\r\n");
}

static bool method_ok(const route_def_t *r, int method) {
  return ((r->methods & M_GET) && (method == IDX_HTTP_GET || method == IDX_HTTP_HEAD)) ||
         ((r->methods & M_POST) && method == IDX_HTTP_POST);
}

static void on_request(void *ud, idx_http_req_t *req) {
  idx_api_t *api = ud;
  const idx_http_msg_t *m = idx_http_req_msg(req);
  if (api->closing) {
    reply_error(api, req, R_OTHER, 503, "shutting down");
    return;
  }
  idx_buf_reset(&api->scratch);
  if (idx_buf_reserve(&api->scratch,
                      m->path_len + m->query_len + 2 * (MAX_SEGS + MAX_QUERY_PARAMS) + 16)) {
    reply_error(api, req, R_OTHER, 500, "out of memory");
    return;
  }
  segs_t segs;
  const char *perr = split_path(api, m, &segs);
  if (perr) {
    if (*perr)
      reply_error(api, req, R_OTHER, 400, "%s", perr);
    else
      reply_error(api, req, R_OTHER, 404, "no such endpoint");
    return;
  }
  route_t route = match(&segs);
  if (route == R_OTHER && api->opts.http_ui && route_page(api, req))
    return;
  if (route == R_OTHER) {
    reply_error(api, req, R_OTHER, 404, "no such endpoint: %s", m->path);
    return;
  }
  if (!method_ok(&routes[route], m->method)) {
    reply_405(api, req, route);
    return;
  }
  routes[route].handler(api, req, route, &segs);
}

/* ---- lifecycle ---------------------------------------------------------- */

int idx_api_start(idx_api_t **out, uv_loop_t *loop, const idx_api_options_t *opts, char *err,
                  size_t errlen) {
  *out = NULL;
  if (!opts->conninfo || !opts->listen || opts->db_pool == 0) {
    idx_set_err(err, errlen, "HTTP API: no database, listen address or pool");
    return IDX_ERR_INVAL;
  }
  idx_api_t *api = calloc(1, sizeof *api);
  if (!api)
    return IDX_ERR_NOMEM;
  api->loop = loop;
  api->opts = *opts;
  api->conninfo = strdup(opts->conninfo);
  api->opts.conninfo = api->conninfo;
  api->opts.listen = NULL;
  snprintf(api->chain_id, sizeof api->chain_id, "%llu", (unsigned long long)opts->chain_id);
  idx_buf_init(&api->scratch, 1 << 20);
  for (route_t r = 0; r < NROUTES; r++)
    idx_metrics_route_init(&api->route_stats[r], routes[r].name);
  api->batches.bounds = idx_metrics_batch_bounds;
  int rc = api->conninfo ? idx_cache_init(&api->cache, opts->cache_entries) : IDX_ERR_NOMEM;
  if (rc == 0)
    rc = idx_sig_new(&api->sig);
  if (rc) {
    idx_set_err(err, errlen, "HTTP API: %s", idx_strerror(rc));
    idx_cache_free(&api->cache);
    free(api->conninfo);
    free(api);
    return rc;
  }
  idx_dbpool_options_t po;
  idx_dbpool_options_default(&po);
  po.conninfo = api->conninfo;
  po.size = opts->db_pool;
  rc = idx_dbpool_new(&api->pool, loop, &po);
  if (rc) {
    idx_set_err(err, errlen, "HTTP API: cannot set up the database pool: %s", idx_strerror(rc));
    idx_sig_free(api->sig);
    idx_cache_free(&api->cache);
    free(api->conninfo);
    free(api);
    return rc;
  }
  idx_http_options_t ho;
  idx_http_options_default(&ho);
  ho.listen = opts->listen;
  ho.max_conns = opts->max_conns ? opts->max_conns : ho.max_conns;
  ho.timeout_ms = opts->timeout_ms ? opts->timeout_ms : ho.timeout_ms;
  ho.max_total_output = opts->max_output ? opts->max_output : ho.max_total_output;
  ho.max_output = opts->conn_output ? opts->conn_output : ho.max_output;
  ho.handler = on_request;
  ho.ud = api;
  rc = idx_http_start(&api->http, loop, &ho, err, errlen);
  if (rc) {
    /* The pool closes asynchronously; the API memory goes with it. */
    api->closing = true;
    api->closing_parts = 1;
    idx_dbpool_close(api->pool, NULL, NULL);
    api->pool = NULL;
    idx_sig_free(api->sig);
    idx_cache_free(&api->cache);
    idx_buf_free(&api->scratch);
    free(api->conninfo);
    free(api);
    return rc;
  }
  idx_log_info("api", "HTTP API listening on %s (port %d), %zu database connection(s)",
               opts->listen, idx_http_port(api->http), opts->db_pool);
  *out = api;
  return 0;
}

int idx_api_port(const idx_api_t *api) { return idx_http_port(api->http); }

void idx_api_on_commit(idx_api_t *api, const idx_sync_status_t *st, bool rollback) {
  idx_cache_invalidate(&api->cache);
  if (rollback)
    return;
  idx_metrics_observe(&api->batches, st->last_batch_ms / 1000.0);
}

static void maybe_free_api(idx_api_t *api) {
  if (api->closing_parts > 0 || api->jobs > 0 || api->depth > 0)
    return;
  void (*cb)(void *) = api->closed_cb;
  void *cud = api->closed_ud;
  idx_sig_free(api->sig);
  idx_cache_free(&api->cache);
  idx_buf_free(&api->scratch);
  free(api->events_json);
  free(api->conninfo);
  free(api);
  if (cb)
    cb(cud);
}

static void part_closed(void *ud) {
  idx_api_t *api = ud;
  api->closing_parts--;
  maybe_free_api(api);
}

void idx_api_close(idx_api_t *api, void (*closed_cb)(void *ud), void *ud) {
  if (!api || api->closing)
    return;
  api->closing = true;
  api->closed_cb = closed_cb;
  api->closed_ud = ud;
  api->closing_parts = 2;
  /* The server first: connections close, requests held by queries are
   * orphaned; closing the pool then answers (and so frees) them. */
  idx_http_close(api->http, part_closed, api);
  idx_dbpool_close(api->pool, part_closed, api);
}
