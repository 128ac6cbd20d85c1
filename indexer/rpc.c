/* rpc.c: asynchronous JSON-RPC over libcurl multi on libuv (see rpc.h).
 *
 * libcurl's multi interface in its "socket" style: libcurl says which
 * sockets to watch (on_curl_socket -> one uv_poll_t per socket) and when
 * to wake it up (on_curl_timer -> one uv_timer_t); the loop reports
 * readiness back with curl_multi_socket_action(), and finished transfers
 * are collected with curl_multi_info_read() (collect_done).
 *
 * A batch is serialized once; each attempt at it is an exchange: an easy
 * handle (pooled, so its buffers and libcurl's connection cache are
 * reused) posting the body to one URL. Faults put the batch on its own
 * retry timer; user callbacks run only from loop callbacks or from
 * idx_rpc_close, never while libcurl is on the stack.
 *
 * Memory that backs a uv handle is freed only in its close callback; the
 * client itself is freed when the last of its handles has closed.
 */
#include "common.h"

#include "buf.h"
#include "ethjson.h"
#include "log.h"
#include "logscan.h"
#include "rpc.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define RPC_MAX_REQUEST ((size_t)64 << 20) /* a serialized batch */
#define RPC_RETRY_AFTER_CAP_MS 120000      /* longest Retry-After honoured */
#define RPC_ERROR_KEEP 160                 /* bytes of a non-200 body kept for the log */
#define RPC_ERROR_MAX ((size_t)64 << 10)   /* a longer non-200 body aborts the exchange */
#define RPC_KEEP_BODY ((size_t)4 << 20)    /* larger response buffers are freed after use */
#define RPC_RESTART_MS 100                 /* retry delay when an exchange cannot start */
#define RPC_CHECK_ATTEMPTS 3               /* idx_rpc_check_chain: tries per URL */

const double idx_rpc_latency_bounds_ms[11] = {5,   10,   25,   50,   100,  250,
                                              500, 1000, 2500, 5000, 10000};

/* An intrusive doubly-linked list (the head is a sentinel). */
typedef struct rpc_link_s {
  struct rpc_link_s *prev, *next;
} rpc_link_t;

#define RPC_CONTAINER(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

static void link_init(rpc_link_t *h) { h->prev = h->next = h; }
static bool link_empty(const rpc_link_t *h) { return h->next == h; }

static void link_insert(rpc_link_t *prev, rpc_link_t *n) {
  n->prev = prev;
  n->next = prev->next;
  prev->next->prev = n;
  prev->next = n;
}

static void link_remove(rpc_link_t *n) {
  n->prev->next = n->next;
  n->next->prev = n->prev;
  n->prev = n->next = n;
}

/* What a URL's node has said about its chain (options.chain_id set). A
 * URL is UNKNOWN until its first exchange and again after a transport
 * fault (a node that comes back may be another node); an exchange to an
 * UNKNOWN URL asks eth_chainId in front of the batch, and nothing it
 * answers is used unless the chain is the expected one. */
typedef enum rpc_chain_state_e {
  URL_CHAIN_UNKNOWN,
  URL_CHAIN_OK,
  URL_CHAIN_WRONG, /* out of rotation for the life of the client */
} rpc_chain_state_t;

typedef struct rpc_url_s {
  struct idx_rpc_s *owner;
  rpc_chain_state_t chain;
  uint64_t served_chain;  /* the chain id it answered last (0: none yet) */
  char *url;              /* as configured: may hold credentials */
  char *shown;            /* scheme://host[:port], "/..." when there was more */
  unsigned consecutive;   /* failures since the last success */
  uint64_t cool_until;    /* loop ms: avoided until then */
  uint64_t blocked_until; /* loop ms: Retry-After, not used before then */
  bool probing;           /* a probe exchange is in flight */
  uint64_t exchanges;
  uint64_t failures;
} rpc_url_t;

typedef enum rpc_batch_state_e {
  BATCH_QUEUED,  /* in rpc->ready */
  BATCH_RUNNING, /* an exchange is in flight */
  BATCH_WAITING, /* its retry timer runs */
} rpc_batch_state_t;

struct rpc_exchange_s;

typedef struct rpc_batch_s {
  rpc_link_t all;   /* rpc->batches */
  rpc_link_t ready; /* rpc->ready while queued */
  idx_rpc_t *rpc;
  rpc_batch_state_t state;
  idx_buf_t body; /* the serialized requests */
  size_t n;
  uint64_t probe_id; /* the id of an eth_chainId asked in front (first_id - 1) */
  uint64_t first_id; /* ids first_id .. first_id + n - 1 */
  unsigned attempts;
  unsigned max_attempts; /* 0: the client's */
  size_t pin;            /* the only URL it may go to, or SIZE_MAX */
  bool chain_probe;      /* idx_rpc_check_chain's own eth_chainId */
  bool *want_logs;       /* [n]: an eth_getLogs answer is decoded (NULL: none is) */
  idx_rpc_batch_cb cb;
  void *ud;
  struct rpc_exchange_s *ex; /* while running */
  bool has_timer;
  uv_timer_t timer; /* retry wait, initialized on the first fault */
} rpc_batch_t;

typedef struct rpc_exchange_s {
  idx_rpc_t *rpc;
  CURL *easy;
  rpc_batch_t *batch;
  size_t url;
  bool probe;
  bool verifying;  /* eth_chainId asked in front of the batch */
  idx_buf_t vbody; /* the body when verifying */
  bool got_status;
  long status;
  long retry_after_ms; /* -1: no Retry-After header */
  int write_err;       /* why the write callback stopped the transfer */
  uint64_t started_ns;
  idx_buf_t body; /* the response (at most max_response bytes) */
  size_t dropped; /* non-200 body bytes not kept */
  char errbuf[CURL_ERROR_SIZE];
} rpc_exchange_t;

typedef struct rpc_sock_s {
  rpc_link_t link; /* rpc->socks */
  idx_rpc_t *rpc;
  curl_socket_t fd;
  int events; /* UV_READABLE | UV_WRITABLE, as libcurl asked */
  uv_poll_t poll;
} rpc_sock_t;

struct idx_rpc_s {
  uv_loop_t *loop;
  idx_rpc_options_t opts; /* opts.urls is not kept */
  rpc_url_t *urls;
  size_t nurls;
  size_t rr; /* round-robin position */
  CURLM *multi;
  struct curl_slist *headers;
  uv_timer_t curl_timer; /* libcurl's timeout */
  uv_timer_t wake_timer; /* queued work waits for a URL or a restart */
  rpc_link_t batches;    /* every batch not yet finished */
  rpc_link_t ready;      /* queued batches, oldest first */
  rpc_link_t socks;      /* watched sockets */
  rpc_exchange_t **idle; /* pooled exchanges */
  size_t nidle;
  unsigned in_flight;
  uint64_t next_id;
  uint64_t rng;
  idx_rpc_stats_t stats;
  unsigned handles;    /* uv handles not yet closed */
  size_t answered_by;  /* the URL whose answer is being handed to a callback */
  size_t answer_bytes; /* the body size of that answer */
  /* idx_rpc_check_chain in progress. */
  idx_rpc_chain_cb check_cb;
  void *check_ud;
  size_t check_pending;
  bool closing;
  void (*closed_cb)(void *ud);
  void *closed_ud;
};

/* ---- process-wide libcurl set-up ---- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result = CURLE_FAILED_INIT;

static void curl_init_once(void) { curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT); }

/* ---- small helpers ---- */

static uint64_t rng_next(idx_rpc_t *rpc) {
  uint64_t x = rpc->rng; /* xorshift64* */
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  rpc->rng = x;
  return x * 0x2545F4914F6CDD1DULL;
}

static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }

/* base * 2^(k-1), capped at max (k >= 1; both positive). */
static uint64_t exp_delay(long base, long max, unsigned k) {
  unsigned shift = k > 1 ? k - 1 : 0;
  if (shift > 32 || (uint64_t)base > (uint64_t)max >> shift)
    return (uint64_t)max;
  return (uint64_t)base << shift;
}

static char *dup_str(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = malloc(n);
  if (p)
    memcpy(p, s, n);
  return p;
}

/* Checks an http(s) URL and makes the form safe to log: scheme, host and
 * port only (userinfo, path and query can hold API keys). */
static int url_shown(const char *url, char **out) {
  CURLU *u = curl_url();
  if (!u)
    return IDX_ERR_NOMEM;
  int rc = IDX_ERR_INVAL;
  char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *query = NULL;
  if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
    goto out;
  if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0)
    goto out;
  (void)curl_url_get(u, CURLUPART_PORT, &port, 0);
  (void)curl_url_get(u, CURLUPART_PATH, &path, 0);
  (void)curl_url_get(u, CURLUPART_QUERY, &query, 0);
  bool more = query || (path && strcmp(path, "/") != 0);
  idx_buf_t b;
  idx_buf_init(&b, 1024);
  rc = idx_buf_addf(&b, "%s://%s%s%s%s", scheme, host, port ? ":" : "", port ? port : "",
                    more ? "/..." : "");
  if (rc) {
    idx_buf_free(&b);
    goto out;
  }
  *out = b.data;
out:
  curl_free(scheme);
  curl_free(host);
  curl_free(port);
  curl_free(path);
  curl_free(query);
  curl_url_cleanup(u);
  return rc;
}

/* What of a URL curl cannot parse may be shown: what looks like its
 * scheme and host, never what could be userinfo (before an '@'), a path
 * or a query (API keys live there); "..." marks what was left out. */
static void unparsed_shown(const char *url, char *out, size_t len) {
  const char *sep = strstr(url, "://");
  const char *auth = sep ? sep + 3 : url;
  size_t alen = strcspn(auth, "/?#");
  const char *host = auth;
  for (const char *q = auth; q < auth + alen; q++)
    if (*q == '@')
      host = q + 1;
  size_t hlen = (size_t)(auth + alen - host);
  bool cut = host != auth || auth[alen] != '\0';
  snprintf(out, len, "%.*s%s%.*s%s", sep ? (int)(auth - url) : 0, url, host != auth ? "...@" : "",
           hlen > 100 ? 100 : (int)hlen, host, cut || hlen > 100 ? "..." : "");
}

int idx_rpc_url_check(const char *url, char *err, size_t errlen) {
  char *shown = NULL;
  int rc = url_shown(url, &shown);
  free(shown);
  if (rc != IDX_ERR_INVAL)
    return rc;
  /* Say why: what curl found, or a scheme this client does not speak. */
  CURLU *u = curl_url();
  if (!u)
    return IDX_ERR_NOMEM;
  char text[160];
  unparsed_shown(url, text, sizeof text);
  char *scheme = NULL, *host = NULL, *port = NULL;
  CURLUcode uc = curl_url_set(u, CURLUPART_URL, url, 0);
  if (uc != CURLUE_OK) {
    idx_set_err(err, errlen, "\"%s\" is not a URL (%s); an http:// or https:// URL is expected",
                text, curl_url_strerror(uc));
  } else if ((uc = curl_url_get(u, CURLUPART_SCHEME, &scheme, 0)) != CURLUE_OK ||
             (uc = curl_url_get(u, CURLUPART_HOST, &host, 0)) != CURLUE_OK) {
    idx_set_err(err, errlen,
                "\"%s\": no scheme or host (%s); an http:// or https:// URL is expected", text,
                curl_url_strerror(uc));
  } else {
    (void)curl_url_get(u, CURLUPART_PORT, &port, 0);
    idx_set_err(err, errlen,
                "\"%s://%s%s%s\": scheme \"%s\"; an http:// or https:// URL is expected", scheme,
                host, port ? ":" : "", port ? port : "", scheme);
  }
  curl_free(scheme);
  curl_free(host);
  curl_free(port);
  curl_url_cleanup(u);
  return IDX_ERR_CONFIG;
}

/* ---- handle bookkeeping ---- */

static void rpc_free(idx_rpc_t *rpc) {
  for (size_t i = 0; i < rpc->nurls; i++) {
    free(rpc->urls[i].url);
    free(rpc->urls[i].shown);
  }
  free(rpc->urls); /* rpc->nurls entries, zeroed until filled */
  free(rpc->idle);
  free(rpc);
}

/* A handle of the client finished closing. */
static void handle_released(idx_rpc_t *rpc) {
  rpc->handles--;
  if (rpc->closing && rpc->handles == 0) {
    void (*cb)(void *) = rpc->closed_cb;
    void *ud = rpc->closed_ud;
    rpc_free(rpc);
    if (cb)
      cb(ud);
  }
}

static void on_timer_closed(uv_handle_t *h) { handle_released(h->data); }

static void on_sock_closed(uv_handle_t *h) {
  rpc_sock_t *sk = h->data;
  idx_rpc_t *rpc = sk->rpc;
  free(sk);
  handle_released(rpc);
}

static void sock_close(rpc_sock_t *sk) {
  link_remove(&sk->link);
  uv_poll_stop(&sk->poll);
  uv_close((uv_handle_t *)&sk->poll, on_sock_closed);
}

/* ---- exchanges ---- */

static void exchange_destroy(rpc_exchange_t *ex) {
  if (ex->easy)
    curl_easy_cleanup(ex->easy);
  idx_buf_free(&ex->body);
  idx_buf_free(&ex->vbody);
  free(ex);
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *ud);
static size_t on_header(char *data, size_t size, size_t nmemb, void *ud);

/* Takes a pooled exchange or makes one; NULL when out of memory. */
static rpc_exchange_t *exchange_get(idx_rpc_t *rpc) {
  if (rpc->nidle)
    return rpc->idle[--rpc->nidle];
  rpc_exchange_t *ex = calloc(1, sizeof *ex);
  if (!ex)
    return NULL;
  ex->rpc = rpc;
  idx_buf_init(&ex->body, rpc->opts.max_response);
  idx_buf_init(&ex->vbody, RPC_MAX_REQUEST + 128);
  ex->easy = curl_easy_init();
  if (!ex->easy) {
    free(ex);
    return NULL;
  }
  CURL *e = ex->easy;
  curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)ex);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, rpc->headers);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, ex);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, ex);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, ex->errbuf);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, rpc->opts.timeout_ms);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, rpc->opts.connect_timeout_ms);
  curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)rpc->opts.max_response);
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_USERAGENT, "dimo-indexer/" IDX_VERSION);
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
#if LIBCURL_VERSION_NUM >= 0x075700
  /* Ending a transfer while its threaded DNS lookup runs (a timeout, a
   * cancel) would otherwise join the resolver thread: block the loop. */
  curl_easy_setopt(e, CURLOPT_QUICK_EXIT, 1L);
#endif
  return ex;
}

/* Returns an exchange to the pool (it is not in the multi handle). */
static void exchange_put(idx_rpc_t *rpc, rpc_exchange_t *ex) {
  ex->batch = NULL;
  if (ex->body.cap > RPC_KEEP_BODY)
    idx_buf_free(&ex->body);
  else
    idx_buf_reset(&ex->body);
  if (ex->vbody.cap > RPC_KEEP_BODY)
    idx_buf_free(&ex->vbody);
  else
    idx_buf_reset(&ex->vbody);
  if (rpc->nidle < rpc->opts.max_in_flight)
    rpc->idle[rpc->nidle++] = ex;
  else
    exchange_destroy(ex);
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *ud) {
  rpc_exchange_t *ex = ud;
  size_t n = size * nmemb;
  ex->rpc->stats.bytes_received += n;
  if (!ex->got_status) {
    curl_easy_getinfo(ex->easy, CURLINFO_RESPONSE_CODE, &ex->status);
    ex->got_status = true;
    curl_off_t len = -1; /* announced length: allocate once */
    if (ex->status == 200 &&
        curl_easy_getinfo(ex->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len) == CURLE_OK &&
        len > 0 && (uint64_t)len <= ex->body.max) {
      int rc = idx_buf_reserve(&ex->body, (size_t)len);
      if (rc) {
        ex->write_err = rc;
        return 0;
      }
    }
  }
  if (ex->status != 200) {
    /* An error page: keep its start for the log, drop the rest. */
    size_t keep = ex->body.len < RPC_ERROR_KEEP ? min_u64(n, RPC_ERROR_KEEP - ex->body.len) : 0;
    if (keep && idx_buf_add(&ex->body, data, keep) != 0)
      keep = 0;
    ex->dropped += n - keep;
    return ex->dropped > RPC_ERROR_MAX ? 0 : n;
  }
  int rc = idx_buf_add(&ex->body, data, n);
  if (rc) {
    ex->write_err = rc;
    return 0;
  }
  return n;
}

/* Reads Retry-After: delta-seconds or an HTTP-date; -1 if unusable. */
static long parse_retry_after(const char *v, size_t n) {
  char s[64];
  while (n && (*v == ' ' || *v == '\t')) {
    v++;
    n--;
  }
  while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' ' || v[n - 1] == '\t'))
    n--;
  if (n == 0 || n >= sizeof s)
    return -1;
  memcpy(s, v, n);
  s[n] = '\0';
  long ms;
  if (strspn(s, "0123456789") == n) {
    ms = n > 6 ? RPC_RETRY_AFTER_CAP_MS : strtol(s, NULL, 10) * 1000;
  } else {
    time_t when = curl_getdate(s, NULL);
    if (when == (time_t)-1)
      return -1;
    time_t now = time(NULL);
    ms = when <= now                                  ? 0
         : when - now > RPC_RETRY_AFTER_CAP_MS / 1000 ? RPC_RETRY_AFTER_CAP_MS
                                                      : (long)(when - now) * 1000;
  }
  return ms > RPC_RETRY_AFTER_CAP_MS ? RPC_RETRY_AFTER_CAP_MS : ms;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud) {
  rpc_exchange_t *ex = ud;
  size_t n = size * nmemb;
  static const char name[] = "retry-after:";
  if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
    ex->retry_after_ms = -1; /* a new response (after 100 Continue, say) */
  } else if (n > sizeof name - 1 && strncasecmp(data, name, sizeof name - 1) == 0) {
    ex->retry_after_ms = parse_retry_after(data + sizeof name - 1, n - (sizeof name - 1));
  }
  return n;
}

/* ---- URL choice ---- */

/* The earliest loop time at which some URL may be used (now if one may). */
static uint64_t first_unblocked(const idx_rpc_t *rpc, uint64_t now) {
  uint64_t at = UINT64_MAX;
  for (size_t i = 0; i < rpc->nurls; i++) {
    if (rpc->urls[i].chain != URL_CHAIN_WRONG)
      at = min_u64(at, rpc->urls[i].blocked_until);
  }
  return at < now ? now : at;
}

/* Picks the URL for the next exchange; false if every URL is blocked by
 * Retry-After. Rank: a recovered URL due for its probe, then URLs with no
 * failures (round robin), then cooling URLs by recovery time. */
static bool pick_url(idx_rpc_t *rpc, uint64_t now, size_t *out, bool *probe) {
  size_t best = SIZE_MAX;
  int best_rank = 3;
  for (size_t k = 0; k < rpc->nurls; k++) {
    size_t i = (rpc->rr + k) % rpc->nurls;
    const rpc_url_t *u = &rpc->urls[i];
    if (u->blocked_until > now || u->chain == URL_CHAIN_WRONG)
      continue;
    int rank = u->consecutive == 0 ? 1 : u->cool_until <= now && !u->probing ? 0 : 2;
    if (rank < best_rank ||
        (rank == 2 && best_rank == 2 && u->cool_until < rpc->urls[best].cool_until)) {
      best = i;
      best_rank = rank;
    }
  }
  if (best == SIZE_MAX)
    return false;
  *out = best;
  *probe = best_rank == 0;
  rpc->rr = (best + 1) % rpc->nurls;
  return true;
}

/* ---- batches ---- */

static void on_batch_timer_closed(uv_handle_t *h) {
  rpc_batch_t *b = h->data;
  idx_rpc_t *rpc = b->rpc;
  free(b);
  handle_released(rpc);
}

static void batch_free(rpc_batch_t *b) {
  idx_buf_free(&b->body);
  free(b->want_logs);
  if (b->has_timer)
    uv_close((uv_handle_t *)&b->timer, on_batch_timer_closed);
  else
    free(b);
}

/* Detaches a batch, runs its callback, frees it. */
static void batch_finish(rpc_batch_t *b, int status, const idx_rpc_reply_t *replies) {
  link_remove(&b->all);
  b->cb(b->ud, status, replies, status == 0 ? b->n : 0);
  batch_free(b);
}

static void dispatch(idx_rpc_t *rpc);

static void fail_queued(idx_rpc_t *rpc);
static bool any_right_chain(const idx_rpc_t *rpc);

static void on_wake(uv_timer_t *t) {
  idx_rpc_t *rpc = t->data;
  if (rpc->opts.chain_id && !any_right_chain(rpc))
    fail_queued(rpc);
  dispatch(rpc);
}

static void on_retry(uv_timer_t *t) {
  rpc_batch_t *b = t->data;
  b->state = BATCH_QUEUED;
  link_insert(&b->rpc->ready, &b->ready); /* retries go first */
  dispatch(b->rpc);
}

static void wake_later(idx_rpc_t *rpc, uint64_t delay_ms) {
  if (!uv_is_active((uv_handle_t *)&rpc->wake_timer) ||
      uv_timer_get_due_in(&rpc->wake_timer) > delay_ms)
    uv_timer_start(&rpc->wake_timer, on_wake, delay_ms, 0);
}

/* True while some URL may serve the chain (not every one answered another). */
static bool any_right_chain(const idx_rpc_t *rpc) {
  for (size_t i = 0; i < rpc->nurls; i++) {
    if (rpc->urls[i].chain != URL_CHAIN_WRONG)
      return true;
  }
  return false;
}

/* Fails every queued batch (from a timer: never inside idx_rpc_batch) once
 * no URL serves the expected chain. */
static void fail_queued(idx_rpc_t *rpc) {
  while (!rpc->closing && !link_empty(&rpc->ready)) {
    rpc_batch_t *b = RPC_CONTAINER(rpc->ready.next, rpc_batch_t, ready);
    link_remove(&b->ready);
    idx_log_error("rpc", "no JSON-RPC endpoint serves chain %" PRIu64 ": a batch of %zu failed",
                  rpc->opts.chain_id, b->n);
    batch_finish(b, IDX_ERR_RPC_TRANSPORT, NULL);
  }
}

/* The body of an exchange that asks eth_chainId in front of the batch:
 * "[{...eth_chainId...}," followed by the batch's body after its "[". */
static int verifying_body(rpc_exchange_t *ex, const rpc_batch_t *b) {
  idx_buf_reset(&ex->vbody);
  int rc = idx_buf_addf(&ex->vbody,
                        "[{\"jsonrpc\":\"2.0\",\"id\":%" PRIu64
                        ",\"method\":\"eth_chainId\",\"params\":[]},",
                        b->probe_id);
  if (rc == 0)
    rc = idx_buf_add(&ex->vbody, b->body.data + 1, b->body.len - 1);
  return rc;
}

/* The first queued batch that may start now, and its URL; NULL if none
 * (pinned batches wait for their URL, others for any URL). */
static rpc_batch_t *next_startable(idx_rpc_t *rpc, uint64_t now, size_t *ui, bool *probe) {
  int have_url = -1; /* pick_url asked at most once (it moves the round robin) */
  for (rpc_link_t *l = rpc->ready.next; l != &rpc->ready; l = l->next) {
    rpc_batch_t *b = RPC_CONTAINER(l, rpc_batch_t, ready);
    if (b->pin != SIZE_MAX) {
      if (rpc->urls[b->pin].blocked_until > now)
        continue;
      *ui = b->pin;
      *probe = false;
      return b;
    }
    if (have_url < 0)
      have_url = pick_url(rpc, now, ui, probe);
    if (have_url)
      return b;
  }
  return NULL;
}

/* Starts exchanges for queued batches while the in-flight cap allows. */
static void dispatch(idx_rpc_t *rpc) {
  if (!rpc->closing && rpc->opts.chain_id && !link_empty(&rpc->ready) && !any_right_chain(rpc)) {
    wake_later(rpc, 0); /* fails them from the timer */
    return;
  }
  while (!rpc->closing && rpc->in_flight < rpc->opts.max_in_flight && !link_empty(&rpc->ready)) {
    uint64_t now = uv_now(rpc->loop);
    size_t ui;
    bool probe;
    rpc_batch_t *b = next_startable(rpc, now, &ui, &probe);
    if (!b) {
      wake_later(rpc, first_unblocked(rpc, now) - now);
      return;
    }
    rpc_exchange_t *ex = exchange_get(rpc);
    if (!ex) {
      idx_log_warn("rpc", "out of memory starting an exchange, retry in %dms", RPC_RESTART_MS);
      wake_later(rpc, RPC_RESTART_MS);
      return;
    }
    rpc_url_t *u = &rpc->urls[ui];
    ex->batch = b;
    ex->url = ui;
    ex->probe = probe;
    ex->verifying = rpc->opts.chain_id && u->chain != URL_CHAIN_OK && !b->chain_probe;
    ex->got_status = false;
    ex->status = 0;
    ex->retry_after_ms = -1;
    ex->write_err = 0;
    ex->dropped = 0;
    ex->errbuf[0] = '\0';
    const idx_buf_t *body = &b->body;
    if (ex->verifying) {
      if (verifying_body(ex, b) != 0) {
        idx_log_warn("rpc", "out of memory starting an exchange, retry in %dms", RPC_RESTART_MS);
        exchange_put(rpc, ex);
        wake_later(rpc, RPC_RESTART_MS);
        return;
      }
      body = &ex->vbody;
    }
    curl_easy_setopt(ex->easy, CURLOPT_URL, u->url);
    curl_easy_setopt(ex->easy, CURLOPT_POSTFIELDS, body->data);
    curl_easy_setopt(ex->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
    CURLMcode mc = curl_multi_add_handle(rpc->multi, ex->easy);
    if (mc != CURLM_OK) {
      idx_log_warn("rpc", "cannot start an exchange (%s), retry in %dms", curl_multi_strerror(mc),
                   RPC_RESTART_MS);
      exchange_put(rpc, ex);
      wake_later(rpc, RPC_RESTART_MS);
      return;
    }
    ex->started_ns = uv_hrtime();
    link_remove(&b->ready);
    b->state = BATCH_RUNNING;
    b->ex = ex;
    b->attempts++;
    u->probing = u->probing || probe;
    u->exchanges++;
    rpc->in_flight++;
    rpc->stats.http_exchanges++;
  }
}

/* An exchange failed with a transport fault: mark the URL, then retry the
 * batch after its backoff, or give up. */
static void exchange_fault(idx_rpc_t *rpc, rpc_batch_t *b, rpc_url_t *u, const char *reason,
                           long retry_after_ms) {
  uv_update_time(rpc->loop);
  uint64_t now = uv_now(rpc->loop);
  rpc->stats.failures++;
  u->failures++;
  if (u->consecutive < UINT_MAX)
    u->consecutive++;
  u->cool_until =
      now + exp_delay(rpc->opts.cooldown_base_ms, rpc->opts.cooldown_max_ms, u->consecutive);
  if (retry_after_ms >= 0 && now + (uint64_t)retry_after_ms > u->blocked_until)
    u->blocked_until = now + (uint64_t)retry_after_ms;
  /* The node that answers after this may be another one (a restart, a
   * load balancer's other backend, a DNS change): ask its chain again. */
  if (u->chain == URL_CHAIN_OK)
    u->chain = URL_CHAIN_UNKNOWN;

  unsigned max = b->max_attempts ? b->max_attempts : rpc->opts.max_attempts;
  if (max && b->attempts >= max) {
    idx_log_error("rpc", "%s %s (attempt %u/%u): giving up on a batch of %zu requests", u->shown,
                  reason, b->attempts, max, b->n);
    batch_finish(b, IDX_ERR_RPC_TRANSPORT, NULL);
    return;
  }
  uint64_t cap = exp_delay(rpc->opts.backoff_base_ms, rpc->opts.backoff_max_ms, b->attempts);
  uint64_t delay = rng_next(rpc) % (cap + 1);
  uint64_t open = first_unblocked(rpc, now) - now;
  bool held = open > delay;
  if (held)
    delay = open;
  char attempt[32];
  if (max)
    snprintf(attempt, sizeof attempt, "%u/%u", b->attempts, max);
  else
    snprintf(attempt, sizeof attempt, "%u", b->attempts);
  idx_log_warn("rpc", "%s %s (attempt %s), retry in %.2fs%s", u->shown, reason, attempt,
               (double)delay / 1000.0, held ? " (Retry-After)" : "");
  if (!b->has_timer) {
    uv_timer_init(rpc->loop, &b->timer);
    b->timer.data = b;
    b->has_timer = true;
    rpc->handles++;
  }
  b->state = BATCH_WAITING;
  uv_timer_start(&b->timer, on_retry, delay, 0);
}

static void reply_error(idx_rpc_reply_t *r, json_t *err) {
  json_t *code = json_object_get(err, "code");
  json_t *msg = json_object_get(err, "message");
  r->result = NULL;
  r->err = IDX_ERR_RPC;
  r->code = 0;
  if (json_is_integer(code)) {
    r->code = (long)json_integer_value(code);
  } else if (json_is_real(code)) {
    /* Only in-range values convert: a float past LONG's range is UB. */
    double d = json_real_value(code);
    if (d > -2147483648.0 && d < 2147483648.0)
      r->code = (long)d;
  }
  r->message = json_is_string(msg) ? json_string_value(msg) : "";
  r->data = json_object_get(err, "data");
}

/* Fills the reply for one element of the answer; false (with why) if it
 * is not a reply to a request of this batch, or a second one. */
static bool reply_take(uint64_t first_id, size_t n, json_t *el, idx_rpc_reply_t *replies, char *why,
                       size_t whylen) {
  if (!json_is_object(el)) {
    snprintf(why, whylen, "a reply that is not an object");
    return false;
  }
  json_t *id = json_object_get(el, "id");
  if (!json_is_integer(id)) {
    snprintf(why, whylen, "a reply without a numeric id");
    return false;
  }
  json_int_t v = json_integer_value(id);
  if (v < 0 || (uint64_t)v < first_id || (uint64_t)v - first_id >= n) {
    snprintf(why, whylen, "a reply to unknown id %lld", (long long)v);
    return false;
  }
  idx_rpc_reply_t *r = &replies[(uint64_t)v - first_id];
  if (r->result || r->err || r->logs) {
    snprintf(why, whylen, "two replies to id %lld", (long long)v);
    return false;
  }
  json_t *err = json_object_get(el, "error");
  if (err && !json_is_null(err)) {
    if (!json_is_object(err)) {
      snprintf(why, whylen, "an error that is not an object (id %lld)", (long long)v);
      return false;
    }
    reply_error(r, err);
    return true;
  }
  json_t *result = json_object_get(el, "result");
  if (!result) {
    snprintf(why, whylen, "a reply with neither result nor error (id %lld)", (long long)v);
    return false;
  }
  r->result = result;
  return true;
}

json_t *idx_rpc_parse_answer(const char *body, size_t len, uint64_t first_id, size_t n,
                             idx_rpc_reply_t *replies, char *why, size_t whylen) {
  memset(replies, 0, n * sizeof *replies);
  json_error_t jerr;
  json_t *root = json_loadb(body, len, 0, &jerr);
  if (!root) {
    snprintf(why, whylen, "malformed JSON (%s at byte %d)", jerr.text, jerr.position);
    return NULL;
  }
  bool ok = true;
  if (json_is_object(root)) {
    json_t *err = json_object_get(root, "error");
    if (json_is_object(err)) {
      for (size_t i = 0; i < n; i++)
        reply_error(&replies[i], err); /* the batch as a whole was refused */
    } else if (n == 1) {
      ok = reply_take(first_id, n, root, replies, why, whylen);
    } else {
      snprintf(why, whylen, "an object instead of an array of %zu replies", n);
      ok = false;
    }
  } else if (json_array_size(root) != n) {
    snprintf(why, whylen, "%zu replies to %zu requests", json_array_size(root), n);
    ok = false;
  } else {
    for (size_t i = 0; ok && i < n; i++)
      ok = reply_take(first_id, n, json_array_get(root, i), replies, why, whylen);
  }
  if (!ok) {
    json_decref(root);
    return NULL;
  }
  return root;
}

void idx_rpc_replies_release(idx_rpc_reply_t *replies, size_t n) {
  for (size_t i = 0; i < n; i++) {
    idx_logset_decref(replies[i].logs);
    replies[i].logs = NULL;
  }
}

/* The fast path of idx_rpc_parse_answer_logs: NULL (replies emptied) when
 * logscan declines or any element is not what the ordinary path would
 * accept, which then runs and speaks. Elements that are not decoded are
 * parsed alone by jansson and read by reply_take, as in the whole. The
 * returned root is an array holding those elements. */
static json_t *parse_fast(const char *body, size_t len, uint64_t first_id, size_t n,
                          const bool *want_logs, idx_rpc_reply_t *replies) {
  char why[8]; /* unused: a refusal here is said by the ordinary path */
  idx_logscan_elem_t one, *el = n == 1 ? &one : malloc(n * sizeof *el);
  json_t *holder = el ? json_array() : NULL;
  size_t ne = 0;
  idx_logscan_t kind = holder ? idx_logscan_answer(body, len, IDX_ETHJSON_MAX_LOG_DATA, el, n, &ne)
                              : IDX_LOGSCAN_DECLINE;
  bool ok = kind != IDX_LOGSCAN_DECLINE && ne == n;
  memset(replies, 0, n * sizeof *replies);
  for (size_t i = 0; i < ne; i++) {
    idx_logscan_elem_t *e = &el[i];
    uint64_t k = e->id - first_id;
    if (ok && e->fast && e->id >= first_id && k < n && want_logs[k] && !replies[k].result &&
        !replies[k].err && !replies[k].logs) {
      replies[k].logs = e->logs; /* the reply's reference now */
      e->logs = NULL;
      continue;
    }
    idx_logset_decref(e->logs);
    e->logs = NULL;
    if (!ok)
      continue;
    json_t *obj = json_loadb(body + e->off, e->len, 0, NULL);
    ok = obj && json_array_append_new(holder, obj) == 0; /* the holder owns it */
    /* A lone object with an error object is the whole batch refused. */
    ok = ok && !(kind == IDX_LOGSCAN_OBJECT && json_is_object(json_object_get(obj, "error"))) &&
         reply_take(first_id, n, obj, replies, why, sizeof why);
  }
  if (el != &one)
    free(el);
  if (!ok) {
    idx_rpc_replies_release(replies, n);
    memset(replies, 0, n * sizeof *replies);
    json_decref(holder);
    return NULL;
  }
  return holder;
}

json_t *idx_rpc_parse_answer_logs(const char *body, size_t len, uint64_t first_id, size_t n,
                                  const bool *want_logs, idx_rpc_reply_t *replies, bool *fast,
                                  char *why, size_t whylen) {
  json_t *root = want_logs ? parse_fast(body, len, first_id, n, want_logs, replies) : NULL;
  if (fast)
    *fast = root != NULL;
  return root ? root : idx_rpc_parse_answer(body, len, first_id, n, replies, why, whylen);
}

/* Reads a URL's eth_chainId answer. Returns 0 (the expected chain: the
 * URL may be used), 1 (another chain: out of rotation, logged and
 * counted) or -1 (no usable answer, why says so). */
static int url_chain_answer(idx_rpc_t *rpc, rpc_url_t *u, const idx_rpc_reply_t *r, char *why,
                            size_t whylen) {
  uint64_t id = 0;
  if (r->err || !r->result || idx_ethjson_quantity(r->result, &id) != 0) {
    snprintf(why, whylen, "eth_chainId not answered%s%s", r->err ? ": " : "",
             r->err && r->message ? r->message : "");
    return -1;
  }
  u->served_chain = id;
  if (id == rpc->opts.chain_id) {
    if (u->chain != URL_CHAIN_OK)
      idx_log_debug("rpc", "%s serves chain %" PRIu64, u->shown, id);
    u->chain = URL_CHAIN_OK;
    return 0;
  }
  if (u->chain != URL_CHAIN_WRONG) {
    rpc->stats.wrong_chain++;
    idx_log_error("rpc", "%s serves chain %" PRIu64 ", not %" PRIu64 ": taken out of rotation",
                  u->shown, id, rpc->opts.chain_id);
  }
  u->chain = URL_CHAIN_WRONG;
  return 1;
}

/* Copies a short, printable excerpt of an error page. */
static void excerpt(const idx_buf_t *body, char *out, size_t outlen) {
  size_t j = 0;
  for (size_t i = 0; i < body->len && j + 1 < outlen; i++) {
    unsigned char c = (unsigned char)body->data[i];
    out[j++] = c >= 0x20 && c < 0x7f ? (char)c : ' ';
  }
  while (j && out[j - 1] == ' ')
    j--;
  out[j] = '\0';
}

static void exchange_done(idx_rpc_t *rpc, CURL *easy, CURLcode res) {
  char *priv = NULL;
  curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
  rpc_exchange_t *ex = (rpc_exchange_t *)(void *)priv;
  curl_multi_remove_handle(rpc->multi, easy);
  rpc->in_flight--;
  rpc_batch_t *b = ex->batch;
  b->ex = NULL;
  rpc_url_t *u = &rpc->urls[ex->url];
  if (ex->probe)
    u->probing = false;
  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  uint64_t elapsed_ns = uv_hrtime() - ex->started_ns;

  char why[320];
  long retry_after = -1;
  if (status != 0 && status != 200) {
    char page[RPC_ERROR_KEEP + 1];
    excerpt(&ex->body, page, sizeof page);
    if (status == 429)
      rpc->stats.rate_limited++;
    retry_after = ex->retry_after_ms;
    snprintf(why, sizeof why, "HTTP %ld%s%s", status, page[0] ? ": " : "", page);
    if (retry_after >= 0) {
      size_t used = strlen(why);
      snprintf(why + used, sizeof why - used, " (Retry-After %.1fs)", (double)retry_after / 1000.0);
    }
  } else if (ex->write_err == IDX_ERR_TOO_LARGE || res == CURLE_FILESIZE_EXCEEDED) {
    rpc->stats.failures++;
    u->consecutive = 0; /* the node answered */
    u->cool_until = 0;
    idx_log_warn("rpc",
                 "%s answer larger than max_response (%zu bytes): a batch of %zu requests "
                 "failed (not retried)",
                 u->shown, rpc->opts.max_response, b->n);
    exchange_put(rpc, ex);
    batch_finish(b, IDX_ERR_TOO_LARGE, NULL);
    return;
  } else if (res != CURLE_OK) {
    snprintf(why, sizeof why, "%s", ex->errbuf[0] ? ex->errbuf : curl_easy_strerror(res));
  } else if (status != 200) {
    snprintf(why, sizeof why, "no HTTP status");
  } else {
    /* A verifying exchange has one reply more, in front: eth_chainId's. */
    size_t nr = b->n + (ex->verifying ? 1 : 0);
    idx_rpc_reply_t *replies = calloc(nr, sizeof *replies);
    if (!replies) {
      snprintf(why, sizeof why, "out of memory for %zu replies", nr);
    } else {
      /* eth_getLogs answers asked decoded: the verifying eth_chainId in
       * front is not one. */
      bool *want = b->want_logs;
      if (want && ex->verifying) {
        want = calloc(nr, sizeof *want);
        if (want)
          memcpy(want + 1, b->want_logs, b->n * sizeof *want);
      }
      json_t *root = idx_rpc_parse_answer_logs(ex->body.data ? ex->body.data : "", ex->body.len,
                                               ex->verifying ? b->probe_id : b->first_id, nr, want,
                                               replies, NULL, why, sizeof why);
      if (want != b->want_logs)
        free(want);
      int chain =
          root && ex->verifying ? url_chain_answer(rpc, u, &replies[0], why, sizeof why) : 0;
      if (chain) {
        idx_rpc_replies_release(replies, nr);
        json_decref(root);
        root = NULL;
      }
      if (chain > 0) {
        /* Nothing from a node of another chain is used: the batch goes to
         * another URL, and this attempt does not count. */
        free(replies);
        u->failures++;
        exchange_put(rpc, ex);
        b->attempts--;
        b->state = BATCH_QUEUED;
        link_insert(&rpc->ready, &b->ready);
        return;
      }
      if (root) {
        idx_rpc_reply_t *mine = replies + (ex->verifying ? 1 : 0);
        size_t body_len = ex->body.len; /* exchange_put empties the body */
        exchange_put(rpc, ex);
        u->consecutive = 0;
        u->cool_until = 0;
        double ms = (double)elapsed_ns / 1e6;
        size_t k = 0;
        while (k < IDX_ARRAY_LEN(idx_rpc_latency_bounds_ms) && ms >= idx_rpc_latency_bounds_ms[k])
          k++;
        rpc->stats.latency_buckets[k]++;
        rpc->stats.batches++;
        rpc->stats.requests += b->n;
        for (size_t i = 0; i < b->n; i++)
          rpc->stats.rpc_errors += mine[i].err != 0;
        rpc->answered_by = (size_t)(u - rpc->urls);
        rpc->answer_bytes = body_len;
        batch_finish(b, 0, mine);
        idx_rpc_replies_release(replies, nr);
        json_decref(root);
        free(replies);
        return;
      }
      free(replies);
    }
  }
  exchange_put(rpc, ex);
  exchange_fault(rpc, b, u, why, retry_after);
}

/* Hands every finished transfer to exchange_done, then starts more. */
static void collect_done(idx_rpc_t *rpc) {
  CURLMsg *m;
  int left;
  while (!rpc->closing && (m = curl_multi_info_read(rpc->multi, &left)) != NULL) {
    if (m->msg != CURLMSG_DONE)
      continue;
    CURL *easy = m->easy_handle;
    CURLcode res = m->data.result;
    exchange_done(rpc, easy, res);
  }
  dispatch(rpc);
}

/* ---- libcurl <-> libuv ---- */

static void on_poll(uv_poll_t *h, int status, int events) {
  rpc_sock_t *sk = h->data;
  idx_rpc_t *rpc = sk->rpc;
  int flags = 0;
  if (status < 0) {
    /* libuv stopped the handle on the error: watch again, and let libcurl
     * read and write so that it finds the socket's own error (a reset,
     * say) and ends the transfer, or carries on if there is none. */
    uv_poll_start(&sk->poll, sk->events, on_poll);
    flags = CURL_CSELECT_ERR | CURL_CSELECT_IN | CURL_CSELECT_OUT;
  }
  if (events & UV_READABLE)
    flags |= CURL_CSELECT_IN;
  if (events & UV_WRITABLE)
    flags |= CURL_CSELECT_OUT;
  int running;
  curl_multi_socket_action(rpc->multi, sk->fd, flags, &running);
  collect_done(rpc);
}

static void on_curl_timeout(uv_timer_t *t) {
  idx_rpc_t *rpc = t->data;
  int running;
  curl_multi_socket_action(rpc->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  collect_done(rpc);
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *ud) {
  (void)multi;
  idx_rpc_t *rpc = ud;
  if (timeout_ms < 0)
    uv_timer_stop(&rpc->curl_timer);
  else
    uv_timer_start(&rpc->curl_timer, on_curl_timeout, (uint64_t)timeout_ms, 0);
  return 0;
}

static int on_curl_socket(CURL *easy, curl_socket_t s, int what, void *ud, void *sockp) {
  (void)easy;
  idx_rpc_t *rpc = ud;
  rpc_sock_t *sk = sockp;
  if (what == CURL_POLL_REMOVE) {
    if (sk) {
      curl_multi_assign(rpc->multi, s, NULL);
      sock_close(sk);
    }
    return 0;
  }
  if (!sk) {
    sk = calloc(1, sizeof *sk);
    if (!sk)
      return -1;
    int rc = uv_poll_init_socket(rpc->loop, &sk->poll, s);
    if (rc) {
      idx_log_warn("rpc", "cannot watch socket %d: %s", (int)s, uv_strerror(rc));
      free(sk);
      return -1;
    }
    sk->rpc = rpc;
    sk->fd = s;
    sk->poll.data = sk;
    rpc->handles++;
    link_insert(&rpc->socks, &sk->link);
    curl_multi_assign(rpc->multi, s, sk);
  }
  int events = 0;
  if (what & CURL_POLL_IN)
    events |= UV_READABLE;
  if (what & CURL_POLL_OUT)
    events |= UV_WRITABLE;
  sk->events = events;
  uv_poll_start(&sk->poll, events, on_poll);
  return 0;
}

/* ---- public functions ---- */

void idx_rpc_options_default(idx_rpc_options_t *o) {
  o->urls = NULL;
  o->nurls = 0;
  o->timeout_ms = 30000;
  o->connect_timeout_ms = 5000;
  o->max_response = (size_t)256 << 20;
  o->max_attempts = 10;
  o->backoff_base_ms = 200;
  o->backoff_max_ms = 30000;
  o->max_in_flight = 4;
  o->cooldown_base_ms = 1000;
  o->cooldown_max_ms = 60000;
  o->chain_id = 0;
}

int idx_rpc_new(idx_rpc_t **out, uv_loop_t *loop, const idx_rpc_options_t *opts) {
  *out = NULL;
  if (!opts->urls || opts->nurls == 0 || opts->timeout_ms <= 0 || opts->connect_timeout_ms <= 0 ||
      opts->max_response == 0 || opts->backoff_base_ms <= 0 ||
      opts->backoff_max_ms < opts->backoff_base_ms || opts->max_in_flight == 0 ||
      opts->cooldown_base_ms <= 0 || opts->cooldown_max_ms < opts->cooldown_base_ms)
    return IDX_ERR_INVAL;
  for (size_t i = 0; i < opts->nurls; i++) {
    if (!opts->urls[i] || !opts->urls[i][0])
      return IDX_ERR_INVAL;
  }
  pthread_once(&curl_once, curl_init_once);
  if (curl_init_result != CURLE_OK) {
    idx_log_error("rpc", "libcurl initialization failed: %s", curl_easy_strerror(curl_init_result));
    return IDX_ERR_NOMEM;
  }

  idx_rpc_t *rpc = calloc(1, sizeof *rpc);
  if (!rpc)
    return IDX_ERR_NOMEM;
  rpc->loop = loop;
  rpc->opts = *opts;
  rpc->opts.urls = NULL;
  link_init(&rpc->batches);
  link_init(&rpc->ready);
  link_init(&rpc->socks);
  rpc->next_id = 1;
  rpc->rng = (uv_hrtime() ^ (uint64_t)(uintptr_t)rpc) | 1;
  int rc = IDX_ERR_NOMEM;
  rpc->urls = calloc(opts->nurls, sizeof *rpc->urls);
  rpc->idle = calloc(opts->max_in_flight, sizeof *rpc->idle);
  if (!rpc->urls || !rpc->idle)
    goto fail; /* rpc->nurls is still 0 */
  rpc->nurls = opts->nurls;
  for (size_t i = 0; i < opts->nurls; i++) {
    rc = url_shown(opts->urls[i], &rpc->urls[i].shown);
    if (rc)
      goto fail;
    rc = IDX_ERR_NOMEM;
    rpc->urls[i].owner = rpc;
    rpc->urls[i].url = dup_str(opts->urls[i]);
    if (!rpc->urls[i].url)
      goto fail;
  }
  struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
  struct curl_slist *h2 = h ? curl_slist_append(h, "Expect:") : NULL; /* no 100-continue wait */
  if (!h2) {
    curl_slist_free_all(h);
    goto fail;
  }
  rpc->headers = h2;
  rpc->multi = curl_multi_init();
  if (!rpc->multi) {
    curl_slist_free_all(rpc->headers);
    goto fail;
  }
  curl_multi_setopt(rpc->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
  curl_multi_setopt(rpc->multi, CURLMOPT_SOCKETDATA, rpc);
  curl_multi_setopt(rpc->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
  curl_multi_setopt(rpc->multi, CURLMOPT_TIMERDATA, rpc);
  uv_timer_init(loop, &rpc->curl_timer);
  uv_timer_init(loop, &rpc->wake_timer);
  rpc->curl_timer.data = rpc;
  rpc->wake_timer.data = rpc;
  rpc->handles = 2;
  *out = rpc;
  return 0;
fail:
  rpc_free(rpc);
  return rc;
}

/* Appends jansson's output to an idx_buf_t. */
typedef struct dump_ctx_s {
  idx_buf_t *buf;
  int rc;
} dump_ctx_t;

static int dump_cb(const char *data, size_t size, void *ud) {
  dump_ctx_t *c = ud;
  c->rc = idx_buf_add(c->buf, data, size);
  return c->rc ? -1 : 0;
}

static int serialize(idx_buf_t *body, uint64_t first_id, const char *const *methods,
                     json_t *const *params, size_t n) {
  int rc = idx_buf_add(body, "[", 1);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    rc = idx_buf_addf(body, "%s{\"jsonrpc\":\"2.0\",\"id\":%" PRIu64 ",\"method\":", i ? "," : "",
                      first_id + i);
    if (rc == 0)
      rc = idx_buf_add_json_str(body, methods[i], strlen(methods[i]));
    if (rc == 0)
      rc = idx_buf_adds(body, ",\"params\":");
    json_t *p = params ? params[i] : NULL;
    if (rc == 0 && !p) {
      rc = idx_buf_adds(body, "[]");
    } else if (rc == 0) {
      dump_ctx_t c = {body, 0};
      if (json_dump_callback(p, dump_cb, &c, JSON_COMPACT) != 0)
        rc = c.rc ? c.rc : IDX_ERR_INVAL;
    }
    if (rc == 0)
      rc = idx_buf_add(body, "}", 1);
  }
  if (rc == 0)
    rc = idx_buf_add(body, "]", 1);
  return rc;
}

/* Makes and queues a batch (not dispatched). */
static int batch_new(idx_rpc_t *rpc, const char *const *methods, json_t *const *params, size_t n,
                     bool decode_logs, idx_rpc_batch_cb cb, void *ud, rpc_batch_t **out) {
  if (n == 0)
    return IDX_ERR_INVAL;
  for (size_t i = 0; i < n; i++) {
    const char *m = methods[i];
    if (!m || !m[0] || !idx_utf8_valid((const uint8_t *)m, strlen(m)))
      return IDX_ERR_INVAL;
    if (params && params[i] && !json_is_array(params[i]))
      return IDX_ERR_INVAL;
  }
  rpc_batch_t *b = calloc(1, sizeof *b);
  if (!b)
    return IDX_ERR_NOMEM;
  b->rpc = rpc;
  b->n = n;
  if (decode_logs) {
    b->want_logs = calloc(n, sizeof *b->want_logs);
    if (!b->want_logs) {
      free(b);
      return IDX_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++)
      b->want_logs[i] = strcmp(methods[i], "eth_getLogs") == 0;
  }
  b->cb = cb;
  b->ud = ud;
  b->pin = SIZE_MAX;
  b->probe_id = rpc->next_id;
  b->first_id = rpc->next_id + 1;
  idx_buf_init(&b->body, RPC_MAX_REQUEST);
  int rc = serialize(&b->body, b->first_id, methods, params, n);
  if (rc) {
    idx_buf_free(&b->body);
    free(b->want_logs);
    free(b);
    return rc;
  }
  rpc->next_id += n + 1;
  b->state = BATCH_QUEUED;
  link_insert(rpc->batches.prev, &b->all);
  link_insert(rpc->ready.prev, &b->ready);
  *out = b;
  return 0;
}

static int batch_send(idx_rpc_t *rpc, const char *const *methods, json_t *const *params, size_t n,
                      bool decode_logs, idx_rpc_batch_cb cb, void *ud) {
  if (rpc->closing)
    return IDX_ERR_CANCELLED;
  if (rpc->opts.chain_id && !any_right_chain(rpc))
    return IDX_ERR_RPC_TRANSPORT; /* every URL serves another chain */
  rpc_batch_t *b;
  int rc = batch_new(rpc, methods, params, n, decode_logs, cb, ud, &b);
  if (rc)
    return rc;
  dispatch(rpc);
  return 0;
}

int idx_rpc_batch(idx_rpc_t *rpc, const char *const *methods, json_t *const *params, size_t n,
                  idx_rpc_batch_cb cb, void *ud) {
  return batch_send(rpc, methods, params, n, false, cb, ud);
}

int idx_rpc_batch_logs(idx_rpc_t *rpc, const char *const *methods, json_t *const *params, size_t n,
                       idx_rpc_batch_cb cb, void *ud) {
  return batch_send(rpc, methods, params, n, true, cb, ud);
}

/* ---- the chain check ---- */

static void check_report(idx_rpc_t *rpc) {
  idx_rpc_chain_cb cb = rpc->check_cb;
  void *ud = rpc->check_ud;
  rpc->check_cb = NULL;
  char msg[256];
  int status = IDX_ERR_RPC_TRANSPORT;
  snprintf(msg, sizeof msg, "no JSON-RPC endpoint answered eth_chainId");
  for (size_t i = 0; i < rpc->nurls && status; i++) {
    if (rpc->urls[i].chain == URL_CHAIN_OK)
      status = 0;
  }
  for (size_t i = 0; i < rpc->nurls; i++) {
    const rpc_url_t *u = &rpc->urls[i];
    if (u->chain == URL_CHAIN_WRONG) {
      status = IDX_ERR_CONFIG;
      snprintf(msg, sizeof msg,
               "the RPC endpoint %s serves chain %" PRIu64 ", the network file says %" PRIu64,
               u->shown, u->served_chain, rpc->opts.chain_id);
      break;
    }
  }
  if (rpc->closing) {
    status = IDX_ERR_CANCELLED;
    snprintf(msg, sizeof msg, "JSON-RPC client closed");
  }
  cb(ud, status, status ? msg : "");
}

static void on_check_probe(void *ud, int status, const idx_rpc_reply_t *replies, size_t n) {
  rpc_url_t *u = ud;
  idx_rpc_t *rpc = u->owner;
  char why[200];
  if (status == 0 && n == 1 && url_chain_answer(rpc, u, &replies[0], why, sizeof why) < 0)
    idx_log_warn("rpc", "%s: %s", u->shown, why);
  if (--rpc->check_pending == 0)
    check_report(rpc);
}

int idx_rpc_check_chain(idx_rpc_t *rpc, idx_rpc_chain_cb cb, void *ud) {
  if (rpc->closing)
    return IDX_ERR_CANCELLED;
  if (!rpc->opts.chain_id || rpc->check_cb)
    return IDX_ERR_INVAL;
  if (!any_right_chain(rpc))
    return IDX_ERR_CONFIG;
  const char *m[1] = {"eth_chainId"};
  size_t made = 0;
  for (size_t i = 0; i < rpc->nurls; i++) {
    if (rpc->urls[i].chain == URL_CHAIN_WRONG)
      continue;
    rpc_batch_t *b;
    int rc = batch_new(rpc, m, NULL, 1, false, on_check_probe, &rpc->urls[i], &b);
    if (rc) {
      if (made == 0)
        return rc;
      break; /* the probes made still report */
    }
    b->pin = i;
    b->chain_probe = true;
    b->max_attempts = RPC_CHECK_ATTEMPTS;
    made++;
  }
  rpc->check_cb = cb;
  rpc->check_ud = ud;
  rpc->check_pending = made;
  dispatch(rpc);
  return 0;
}

size_t idx_rpc_answered_by(const idx_rpc_t *rpc) { return rpc->answered_by; }

size_t idx_rpc_answer_bytes(const idx_rpc_t *rpc) { return rpc->answer_bytes; }

int idx_rpc_raise_max_in_flight(idx_rpc_t *rpc, unsigned n) {
  if (n <= rpc->opts.max_in_flight)
    return 0;
  rpc_exchange_t **idle = realloc(rpc->idle, n * sizeof *idle);
  if (!idle)
    return IDX_ERR_NOMEM;
  rpc->idle = idle;
  rpc->opts.max_in_flight = n;
  dispatch(rpc);
  return 0;
}

void idx_rpc_blame(idx_rpc_t *rpc, size_t url, const char *why) {
  if (url >= rpc->nurls)
    return;
  rpc_url_t *u = &rpc->urls[url];
  uint64_t now = uv_now(rpc->loop);
  rpc->stats.blamed++;
  u->failures++;
  if (u->consecutive < UINT_MAX)
    u->consecutive++;
  u->cool_until =
      now + exp_delay(rpc->opts.cooldown_base_ms, rpc->opts.cooldown_max_ms, u->consecutive);
  idx_log_warn("rpc", "%s gave a faulty answer (%s): other endpoints first", u->shown, why);
}

void idx_rpc_close(idx_rpc_t *rpc, void (*closed_cb)(void *ud), void *ud) {
  if (!rpc || rpc->closing)
    return;
  rpc->closing = true;
  rpc->closed_cb = closed_cb;
  rpc->closed_ud = ud;
  uv_timer_stop(&rpc->wake_timer);
  while (!link_empty(&rpc->batches)) {
    rpc_batch_t *b = RPC_CONTAINER(rpc->batches.next, rpc_batch_t, all);
    if (b->state == BATCH_RUNNING) {
      rpc_exchange_t *ex = b->ex;
      curl_multi_remove_handle(rpc->multi, ex->easy);
      rpc->in_flight--;
      b->ex = NULL;
      exchange_put(rpc, ex);
    } else if (b->state == BATCH_WAITING) {
      uv_timer_stop(&b->timer);
    } else {
      link_remove(&b->ready);
    }
    batch_finish(b, IDX_ERR_CANCELLED, NULL);
  }
  /* Stop watching sockets before libcurl closes them. */
  while (!link_empty(&rpc->socks))
    sock_close(RPC_CONTAINER(rpc->socks.next, rpc_sock_t, link));
  curl_multi_setopt(rpc->multi, CURLMOPT_SOCKETFUNCTION, NULL);
  curl_multi_setopt(rpc->multi, CURLMOPT_TIMERFUNCTION, NULL);
  curl_multi_cleanup(rpc->multi);
  rpc->multi = NULL;
  for (size_t i = 0; i < rpc->nidle; i++)
    exchange_destroy(rpc->idle[i]);
  rpc->nidle = 0;
  curl_slist_free_all(rpc->headers);
  rpc->headers = NULL;
  uv_close((uv_handle_t *)&rpc->curl_timer, on_timer_closed);
  uv_close((uv_handle_t *)&rpc->wake_timer, on_timer_closed);
}

void idx_rpc_stats(const idx_rpc_t *rpc, idx_rpc_stats_t *out) { *out = rpc->stats; }

size_t idx_rpc_url_count(const idx_rpc_t *rpc) { return rpc->nurls; }

int idx_rpc_url_stats(const idx_rpc_t *rpc, size_t i, idx_rpc_url_stats_t *out) {
  if (i >= rpc->nurls)
    return IDX_ERR_INVAL;
  const rpc_url_t *u = &rpc->urls[i];
  uint64_t now = uv_now(rpc->loop);
  out->url = u->shown;
  out->exchanges = u->exchanges;
  out->failures = u->failures;
  out->consecutive = u->consecutive;
  out->cooldown_ms = u->consecutive && u->cool_until > now ? u->cool_until - now : 0;
  out->served_chain = u->served_chain;
  out->wrong_chain = u->chain == URL_CHAIN_WRONG;
  out->retry_after_ms = u->blocked_until > now ? u->blocked_until - now : 0;
  return 0;
}
