/*
 * http.c: HTTP/1.1 server on libuv with libhttp-parser (see http.h).
 *
 * A connection's life:
 *
 *   accept -> READING: bytes go through http_parser; each complete request
 *             joins the connection's queue and is handed to the handler.
 *             The queue holds requests in arrival order until their
 *             answers are handed to libuv; answers leave from its head
 *             only, so pipelined answers keep their order.
 *   pause  -> when the queue holds max_pipeline requests (the parser is
 *             paused, the unparsed rest kept in `pending`) or more than
 *             max_output bytes wait in libuv's write queue: reading stops
 *             and resumes when answers drain.
 *   close  -> after "Connection: close", HTTP/1.0 without keep-alive, EOF,
 *             or an error answer: nothing more is parsed; once the last
 *             answer is written the socket is half-closed (shutdown) and
 *             lingers, discarding input, until the client closes or
 *             LINGER_MS pass. A read error or a failed write closes at once.
 *
 * One timer per connection: armed from the first byte of a request (the
 * request must be complete within timeout_ms: else 408), or while the
 * connection is idle (nothing being handled: closed after timeout_ms), or
 * while lingering. It is stopped while requests are with the handler and
 * nothing new is arriving.
 *
 * Memory and the loop under clients that do not read (see http.h): every
 * request's bytes count in srv->held until freed (a shared body once; a
 * declared body from its headers' end, before it arrives); respond()
 * refuses an answer that would take it past max_total_output
 * (refuse_output: the worst connection is closed, the request gets 503),
 * and the parser a body that would (hold_body: likewise, then 503 and
 * close).
 * dispatch() holds a connection's next request while its unread answers
 * pass max_output or HANDLER_MAX requests are with the handler; flush()
 * and dispatch() share a per-turn budget (TURN_BYTES, reset in on_check),
 * deferring the rest to the next turn (srv->deferred; an idle handle
 * keeps poll from blocking meanwhile).
 *
 * Requests outlive their connection when the handler still holds them:
 * closing a connection "orphans" them (req->conn = NULL) and the answer,
 * when it comes, just frees them. The server frees itself only when its
 * handles are closed and no orphan is left.
 */
#include "common.h"

#include "http.h"

#include "buf.h"
#include "log.h"

#include <http_parser.h>

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

enum {
  READ_BUF = 64 * 1024,      /* one read; shared by every connection */
  WBATCH_MAX = 16,           /* answers per uv_write */
  LINGER_MS = 2000,          /* lingering close */
  REJECT_ALLOWANCE = 256,    /* connections being answered 503 at once */
  FREE_REQS_MAX = 256,       /* requests kept for reuse */
  KEEP_BUF_BYTES = 8192,     /* buffers larger than this are freed on reuse */
  MAX_ANSWER = 64 << 20,     /* largest answer the handler may give */
  SNDBUF_BYTES = 128 * 1024, /* per connection, in the kernel */
  TURN_BYTES = 2 << 20,      /* answers built per loop turn for pipelining clients */
  HANDLER_MAX = 8,           /* requests of one connection with the handler at once */
  SMALL_ANSWER = 16384,      /* always fits on a connection with nothing waiting */
  ANSWER_HEAD = 256,         /* status line and our headers, about */
  HDR_NAME_MAX = 16,         /* header names we look at are shorter */
  HDR_VALUE_MAX = 32,
};

typedef struct conn_s conn_t;

struct idx_http_req_s {
  idx_http_server_t *srv;
  conn_t *conn; /* NULL once orphaned */
  idx_http_req_t *next;
  bool dispatched;  /* handed to the handler (or answered by the server) */
  bool answered;    /* out holds the whole answer */
  bool keep_alive;  /* the client keeps the connection */
  bool http10;      /* an HTTP/1.0 request */
  bool close_after; /* close the connection after this answer */
  size_t held;      /* bytes counted in srv->held (and conn->held while queued) */
  idx_http_msg_t msg;
  char method_name[16];
  idx_buf_t url;
  idx_buf_t body;
  idx_buf_t out;           /* status line, headers and (unless shared) the body */
  idx_http_body_t *shared; /* the body, when shared with other answers */
};

/* An answer body several requests (and the API's cache) send without a
 * copy each: a cached page sent to many clients is in memory once. */
struct idx_http_body_s {
  size_t refs; /* holders: requests and the caller's own */
  size_t reqs; /* requests holding it: its bytes count once in srv->held */
  size_t len;
  char data[];
};

struct conn_s {
  uv_tcp_t tcp;
  uv_timer_t timer;
  uv_shutdown_t shutdown;
  uv_write_t reject_write;
  uv_write_t continue_write;
  idx_http_server_t *srv;
  conn_t *prev, *next;
  http_parser parser;
  idx_http_req_t *cur;         /* being received */
  idx_http_req_t *head, *tail; /* received, answer not yet handed to libuv */
  size_t queued;
  size_t held; /* bytes of those requests and their answers */
  char hdr_name[HDR_NAME_MAX + 1];
  size_t hdr_name_len;
  bool hdr_name_long;
  bool in_value;
  bool want_expect;
  char expect[HDR_VALUE_MAX + 1];
  size_t expect_len;
  int fail_status; /* set by a parser callback that refused the request */
  const char *fail_reason;
  idx_buf_t pending; /* input not parsed yet (parser paused) */
  bool paused;
  bool dispatching; /* inside dispatch(): a nested call returns at once */
  bool deferred;    /* in srv->deferred: dispatch goes on next loop turn */
  uint64_t turn;    /* srv->turn of its last dispatch */
  conn_t *defer_next;
  bool reading;
  bool no_more; /* parse nothing more from this connection */
  bool in_input;
  bool lingering;
  bool closing;
  bool rejected;
  bool continue_busy;
  unsigned writes;  /* uv_write requests in flight */
  int handles_open; /* tcp and timer, until their close callbacks */
};

typedef struct wbatch_s {
  uv_write_t w;
  conn_t *conn;
  size_t n;
  idx_http_req_t *reqs[WBATCH_MAX];
  uv_buf_t bufs[2 * WBATCH_MAX]; /* headers and a shared body per answer */
  size_t nbufs;
} wbatch_t;

struct idx_http_server_s {
  uv_loop_t *loop;
  uv_tcp_t listener;
  idx_http_options_t opts;
  conn_t *conns; /* open, not closing */
  size_t nconns; /* served connections (rejected ones excluded) */
  size_t nrejecting;
  size_t nalive; /* conn_t allocated, closing ones included */
  size_t orphans;
  size_t held;       /* bytes every request holds (target, body, answer) until freed */
  size_t turn_bytes; /* answer bytes handed to libuv since the last check phase */
  uint64_t turn;     /* check phases so far */
  conn_t *deferred;  /* connections whose dispatch waits for the next turn */
  conn_t *checking;  /* those being given their turn now (on_check) */
  uv_check_t check;  /* each turn, after I/O: a new budget, deferred dispatches */
  uv_idle_t idle;    /* active while some dispatch is deferred: poll does not block */
  int aux_open;      /* check and idle, until their close callbacks */
  uint64_t refusal_logged_ms;
  bool closing;
  bool listener_open;
  int port;
  void (*closed_cb)(void *ud);
  void *closed_ud;
  idx_http_req_t *free_reqs;
  size_t nfree;
  time_t date_sec;
  char date[40];
  idx_http_stats_t st;
  char readbuf[READ_BUF];
};

static const char continue_100[] = "HTTP/1.1 100 Continue\r\n\r\n";
static const char reject_503[] = "HTTP/1.1 503 Service Unavailable\r\n"
                                 "Content-Type: application/json\r\n"
                                 "Content-Length: 38\r\n"
                                 "Connection: close\r\n"
                                 "Retry-After: 1\r\n"
                                 "\r\n"
                                 "{\"error\":\"too many open connections\"}";

static void conn_close(conn_t *c);
static void flush(conn_t *c);
static void update_reading(conn_t *c);
static void process_input(conn_t *c, const char *data, size_t len);
static void arm_timer(conn_t *c);
static size_t with_handler(const conn_t *c);
static void on_idle(uv_idle_t *h);
static void on_check(uv_check_t *h);
static void defer(conn_t *c);
static void dispatch(conn_t *c);
static void maybe_free_server(idx_http_server_t *srv);

/* ---- small helpers ---------------------------------------------------- */

const char *idx_http_reason(int status) {
  switch (status) {
  case 100:
    return "Continue";
  case 200:
    return "OK";
  case 204:
    return "No Content";
  case 400:
    return "Bad Request";
  case 404:
    return "Not Found";
  case 405:
    return "Method Not Allowed";
  case 408:
    return "Request Timeout";
  case 413:
    return "Content Too Large";
  case 414:
    return "URI Too Long";
  case 415:
    return "Unsupported Media Type";
  case 422:
    return "Unprocessable Content";
  case 429:
    return "Too Many Requests";
  case 431:
    return "Request Header Fields Too Large";
  case 500:
    return "Internal Server Error";
  case 501:
    return "Not Implemented";
  case 502:
    return "Bad Gateway";
  case 503:
    return "Service Unavailable";
  case 504:
    return "Gateway Timeout";
  case 505:
    return "HTTP Version Not Supported";
  default:
    return "";
  }
}

void idx_http_options_default(idx_http_options_t *o) {
  memset(o, 0, sizeof *o);
  o->max_conns = 1024;
  o->timeout_ms = 10000;
  o->max_header_bytes = 16 * 1024;
  o->max_body_bytes = 64 * 1024;
  o->max_pipeline = 32;
  o->max_output = 1 << 20;
  o->max_total_output = 64 << 20;
}

/* "Tue, 25 Nov 2025 09:00:00 GMT", recomputed once a second. */
static const char *http_date(idx_http_server_t *srv) {
  time_t now = time(NULL);
  if (now != srv->date_sec || !srv->date[0]) {
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    gmtime_r(&now, &tm);
    snprintf(srv->date, sizeof srv->date, "%s, %02d %s %04d %02d:%02d:%02d GMT",
             days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900,
             tm.tm_hour, tm.tm_min, tm.tm_sec);
    srv->date_sec = now;
  }
  return srv->date;
}

/* ---- requests --------------------------------------------------------- */

static idx_http_req_t *req_new(idx_http_server_t *srv, conn_t *c) {
  idx_http_req_t *r = srv->free_reqs;
  if (r) {
    srv->free_reqs = r->next;
    srv->nfree--;
  } else {
    r = calloc(1, sizeof *r);
    if (!r)
      return NULL;
    idx_buf_init(&r->url, srv->opts.max_header_bytes);
    idx_buf_init(&r->body, srv->opts.max_body_bytes);
    idx_buf_init(&r->out, MAX_ANSWER);
  }
  r->srv = srv;
  r->conn = c;
  r->next = NULL;
  r->dispatched = r->answered = r->keep_alive = r->http10 = r->close_after = false;
  r->held = 0;
  memset(&r->msg, 0, sizeof r->msg);
  r->method_name[0] = '\0';
  return r;
}

static void reset_buf(idx_buf_t *b) {
  if (b->cap > KEEP_BUF_BYTES)
    idx_buf_free(b);
  else
    idx_buf_reset(b);
}

static void req_free(idx_http_req_t *r) {
  if (!r)
    return;
  idx_http_server_t *srv = r->srv;
  srv->held -= r->held;
  r->held = 0;
  if (r->shared) {
    if (--r->shared->reqs == 0)
      srv->held -= r->shared->len;
    idx_http_body_release(r->shared);
    r->shared = NULL;
  }
  if (srv->nfree < FREE_REQS_MAX && !srv->closing) {
    reset_buf(&r->url);
    reset_buf(&r->body);
    reset_buf(&r->out);
    r->next = srv->free_reqs;
    srv->free_reqs = r;
    srv->nfree++;
    return;
  }
  idx_buf_free(&r->url);
  idx_buf_free(&r->body);
  idx_buf_free(&r->out);
  free(r);
}

const idx_http_msg_t *idx_http_req_msg(const idx_http_req_t *req) { return &req->msg; }

idx_http_body_t *idx_http_body_new(const char *data, size_t len) {
  if (len > MAX_ANSWER)
    return NULL;
  idx_http_body_t *b = malloc(sizeof *b + len + 1);
  if (!b)
    return NULL;
  b->refs = 1;
  b->reqs = 0;
  b->len = len;
  if (len)
    memcpy(b->data, data, len);
  b->data[len] = '\0';
  return b;
}

idx_http_body_t *idx_http_body_ref(idx_http_body_t *b) {
  b->refs++;
  return b;
}

void idx_http_body_release(idx_http_body_t *b) {
  if (b && --b->refs == 0)
    free(b);
}

const char *idx_http_body_data(const idx_http_body_t *b) { return b->data; }

size_t idx_http_body_len(const idx_http_body_t *b) { return b->len; }

/* Writes status line and headers into r->out, then the body (body NULL:
 * headers only, the body goes from r->shared). */
static int build_answer(idx_http_req_t *r, int status, const char *content_type, const char *body,
                        size_t body_len, const char *extra) {
  idx_buf_t *o = &r->out;
  idx_buf_reset(o);
  const char *conn_hdr = "";
  if (r->close_after)
    conn_hdr = "Connection: close\r\n";
  else if (r->http10)
    conn_hdr = "Connection: keep-alive\r\n";
  int rc = idx_buf_addf(o,
                        "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Type: %s\r\n"
                        "Content-Length: %zu\r\nCache-Control: no-store\r\n%s%s\r\n",
                        status, idx_http_reason(status), http_date(r->srv), content_type, body_len,
                        conn_hdr, extra ? extra : "");
  if (rc == 0 && body && body_len && r->msg.method != IDX_HTTP_HEAD)
    rc = idx_buf_add(o, body, body_len);
  return rc;
}

/* The server's own error answers: {"error":"..."} (reason is ASCII). */
static void answer_error(idx_http_req_t *r, int status, const char *reason) {
  idx_buf_t j;
  idx_buf_init(&j, 256);
  int rc = idx_buf_adds(&j, "{\"error\":");
  if (rc == 0)
    rc = idx_buf_add_json_str(&j, reason, strlen(reason));
  if (rc == 0)
    rc = idx_buf_adds(&j, "}");
  const char *body = rc == 0 ? j.data : "{\"error\":\"request refused\"}";
  if (build_answer(r, status, "application/json", body, strlen(body),
                   status == 503 ? "Retry-After: 1\r\n" : NULL) != 0)
    idx_buf_reset(&r->out);
  idx_buf_free(&j);
  r->answered = true;
}

/* ---- connection queue and writing --------------------------------------- */

/* Recounts what a queued request holds (target, body, answer), in its
 * connection's count and the server's. */
static void account(conn_t *c, idx_http_req_t *r) {
  size_t now = r->url.len + r->body.len + r->out.len;
  c->held = c->held - r->held + now;
  c->srv->held = c->srv->held - r->held + now;
  r->held = now;
}

static void queue_push(conn_t *c, idx_http_req_t *r) {
  r->next = NULL;
  c->held += r->held;
  if (c->tail)
    c->tail->next = r;
  else
    c->head = r;
  c->tail = r;
  c->queued++;
  account(c, r);
}

static idx_http_req_t *queue_pop(conn_t *c) {
  idx_http_req_t *r = c->head;
  if (!r)
    return NULL;
  c->head = r->next;
  if (!c->head)
    c->tail = NULL;
  c->queued--;
  c->held -= r->held; /* still in srv->held until freed */
  r->next = NULL;
  return r;
}

static void on_closed(uv_handle_t *h) {
  conn_t *c = h->data;
  if (--c->handles_open > 0)
    return;
  idx_http_server_t *srv = c->srv;
  idx_buf_free(&c->pending);
  free(c);
  srv->nalive--;
  maybe_free_server(srv);
}

static void on_shutdown(uv_shutdown_t *sr, int status) {
  (void)sr;
  (void)status; /* lingering goes on until EOF or the timer either way */
}

/* Everything is written and nothing more will be parsed: half-close, then
 * discard input until the client closes or LINGER_MS pass. */
static void start_linger(conn_t *c) {
  if (c->lingering || c->closing)
    return;
  c->lingering = true;
  c->paused = false;
  idx_buf_free(&c->pending);
  if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
    conn_close(c);
    return;
  }
  arm_timer(c);
  update_reading(c);
}

static bool conn_done(const conn_t *c) {
  return c->no_more && !c->cur && c->queued == 0 && c->writes == 0;
}

static void on_write(uv_write_t *w, int status) {
  wbatch_t *b = w->data;
  conn_t *c = b->conn;
  for (size_t i = 0; i < b->n; i++)
    req_free(b->reqs[i]);
  free(b);
  c->writes--;
  if (c->closing)
    return;
  if (status < 0) {
    idx_log_debug("http", "write failed: %s", uv_strerror(status));
    conn_close(c);
    return;
  }
  if (conn_done(c)) {
    start_linger(c);
    return;
  }
  if (!c->in_input)
    update_reading(c);
}

/* Hands every answered request at the head of the queue to libuv. */
static size_t answer_bytes(const idx_http_req_t *r) {
  return r->out.len + (r->shared ? r->shared->len : 0);
}

/* Whether the answer at the head must wait for the next loop turn: a
 * large one once this turn has handed TURN_BYTES to libuv (a write to a
 * socket with room copies it into the kernel at once; a thousand fresh
 * connections would otherwise take seconds of one turn). Small answers
 * (a health check) always go. */
static bool over_turn(const conn_t *c) {
  return answer_bytes(c->head) > SMALL_ANSWER && c->srv->turn_bytes >= TURN_BYTES;
}

static void flush(conn_t *c) {
  while (!c->closing && c->head && c->head->answered) {
    if (over_turn(c)) {
      defer(c);
      break;
    }
    wbatch_t *b = malloc(sizeof *b);
    if (!b) {
      conn_close(c);
      return;
    }
    b->conn = c;
    b->n = 0;
    b->nbufs = 0;
    b->w.data = b;
    while (b->n < WBATCH_MAX && c->head && c->head->answered && (b->n == 0 || !over_turn(c))) {
      idx_http_req_t *r = queue_pop(c);
      c->srv->turn_bytes += answer_bytes(r);
      b->reqs[b->n] = r;
      b->bufs[b->nbufs++] =
          uv_buf_init(r->out.data ? r->out.data : (char *)"", (unsigned)r->out.len);
      if (r->shared)
        b->bufs[b->nbufs++] = uv_buf_init(r->shared->data, (unsigned)r->shared->len);
      b->n++;
      if (r->close_after) {
        c->no_more = true;
        /* Nothing after a closing answer is ever written. */
        while (c->head) {
          idx_http_req_t *rest = queue_pop(c);
          if (rest->dispatched && !rest->answered) {
            rest->conn = NULL;
            c->srv->orphans++;
          } else {
            req_free(rest);
          }
        }
        break;
      }
    }
    int rc = uv_write(&b->w, (uv_stream_t *)&c->tcp, b->bufs, (unsigned)b->nbufs, on_write);
    if (rc < 0) {
      for (size_t i = 0; i < b->n; i++)
        req_free(b->reqs[i]);
      free(b);
      idx_log_debug("http", "write failed: %s", uv_strerror(rc));
      conn_close(c);
      return;
    }
    c->writes++;
  }
  if (!c->closing)
    arm_timer(c);
}

/* Answer bytes a connection has not taken yet: answers queued behind an
 * unanswered one, and what libuv has not written. */
static size_t answers_waiting(const conn_t *c) {
  size_t n = uv_stream_get_write_queue_size((const uv_stream_t *)&c->tcp);
  for (const idx_http_req_t *r = c->head; r; r = r->next)
    if (r->answered)
      n += r->out.len + (r->shared ? r->shared->len : 0);
  return n;
}

/* Everything a connection makes the server hold. */
static size_t conn_pending(const conn_t *c) {
  return c->held + uv_stream_get_write_queue_size((const uv_stream_t *)&c->tcp);
}

/* The open connection holding the most (more than a small answer), or
 * NULL: closing it frees the most memory. */
static conn_t *worst_conn(idx_http_server_t *srv) {
  conn_t *worst = NULL;
  size_t most = SMALL_ANSWER;
  for (conn_t *c = srv->conns; c; c = c->next) {
    size_t p = conn_pending(c);
    if (p > most) {
      most = p;
      worst = c;
    }
  }
  return worst;
}

/* Whether an answer of about need bytes may be built: every request's
 * bytes together stay within max_total_output, except that a small answer
 * always fits on a connection that has nothing waiting (a monitor's
 * /healthz is never refused for what other clients hold; such answers
 * add at most max_conns * SMALL_ANSWER). */
static bool output_fits(const conn_t *c, size_t need) {
  const idx_http_server_t *srv = c->srv;
  if (srv->held + need <= srv->opts.max_total_output)
    return true;
  return need <= SMALL_ANSWER && answers_waiting(c) == 0;
}

/* Closes worst, the connection holding the most, at the output cap: its
 * memory is freed at once (requests the handler holds are orphaned and
 * freed when answered). what names what reached the cap, in the log line
 * (at most one a second). */
static void shed(conn_t *worst, const char *what) {
  idx_http_server_t *srv = worst->srv;
  size_t holds = conn_pending(worst);
  srv->st.output_closed++;
  uint64_t now = uv_now(srv->loop);
  if (now - srv->refusal_logged_ms >= 1000 || !srv->refusal_logged_ms) {
    srv->refusal_logged_ms = now;
    idx_log_warn("http",
                 "%s held for slow clients reached %zu bytes (--http-max-output): closing "
                 "the connection holding the most (%zu bytes); %llu closed, %llu refused so far",
                 what, srv->held, holds, (unsigned long long)srv->st.output_closed,
                 (unsigned long long)srv->st.output_refused);
  }
  conn_close(worst);
}

/* Over the server's output cap (redis's client-output-buffer-limit is the
 * model): the connection holding the most is closed, its memory freed by
 * libuv's close callbacks in this loop turn, and the request at hand is
 * answered 503 (or dropped, when its own connection was the worst). The
 * server's memory never grows past the cap in between, and the loop never
 * waits on a client. Returns true when req is gone with its connection. */
static bool refuse_output(idx_http_req_t *req, size_t need) {
  conn_t *c = req->conn;
  idx_http_server_t *srv = c->srv;
  srv->st.output_refused++;
  conn_t *worst = worst_conn(srv);
  if (worst) {
    shed(worst, "answers");
    if (worst == c) {
      /* The close orphaned req (it was with the handler): drop it. */
      srv->orphans--;
      req_free(req);
      return true;
    }
  }
  idx_log_debug("http", "answer of about %zu bytes refused: output cap reached", need);
  return false;
}

/* Answers req with body (copied) or shared (referenced): see http.h. */
static int respond(idx_http_req_t *req, int status, const char *content_type, const char *body,
                   size_t body_len, idx_http_body_t *shared, const char *extra_headers) {
  conn_t *c = req->conn;
  if (!c) {
    idx_http_server_t *srv = req->srv;
    srv->orphans--;
    req_free(req);
    maybe_free_server(srv);
    return 0;
  }
  idx_http_server_t *srv = c->srv;
  if (shared)
    body_len = shared->len;
  bool head_only = req->msg.method == IDX_HTTP_HEAD;
  if (head_only)
    shared = NULL;
  /* A shared body already held for another request costs nothing more. */
  size_t adds = head_only || (shared && shared->reqs) ? 0 : body_len;
  size_t need = adds + ANSWER_HEAD + (extra_headers ? strlen(extra_headers) : 0);
  if (!output_fits(c, need)) {
    if (refuse_output(req, need))
      return 0;
    answer_error(req, 503, "server busy: too many answers wait for slow clients; retry");
  } else {
    int rc = build_answer(req, status, content_type,
                          shared ? NULL
                          : body ? body
                                 : "",
                          body_len, extra_headers);
    if (rc) {
      /* The request stays queued unanswered: closing orphans and frees it. */
      idx_log_warn("http", "cannot build a %zu-byte answer: %s", body_len, idx_strerror(rc));
      req->answered = false;
      req->dispatched = false;
      conn_close(c);
      return rc;
    }
    if (shared) {
      req->shared = idx_http_body_ref(shared);
      if (shared->reqs++ == 0)
        srv->held += shared->len;
    }
    req->answered = true;
  }
  /* The handler is done with the request: its target and body go now,
   * not when a slow reader takes the answer. */
  reset_buf(&req->url);
  reset_buf(&req->body);
  memset(&req->msg, 0, sizeof req->msg);
  account(c, req);
  flush(c);
  if (!c->closing && !c->in_input && !c->dispatching)
    update_reading(c);
  return 0;
}

int idx_http_respond(idx_http_req_t *req, int status, const char *content_type, const char *body,
                     size_t body_len, const char *extra_headers) {
  return respond(req, status, content_type, body, body_len, NULL, extra_headers);
}

int idx_http_respond_shared(idx_http_req_t *req, int status, const char *content_type,
                            idx_http_body_t *body, const char *extra_headers) {
  return respond(req, status, content_type, NULL, 0, body, extra_headers);
}

/* Refuses what is being received (or the connection as a whole): the
 * answer goes after those of earlier requests, then the connection closes. */
static void fail_conn(conn_t *c, int status, const char *reason) {
  req_free(c->cur);
  c->cur = NULL;
  c->no_more = true;
  c->paused = false;
  idx_buf_free(&c->pending);
  idx_http_req_t *r = req_new(c->srv, c);
  if (!r) {
    conn_close(c);
    return;
  }
  r->dispatched = true;
  r->close_after = true;
  answer_error(r, status, reason);
  queue_push(c, r);
  flush(c);
}

/* ---- timer -------------------------------------------------------------- */

static void on_timer(uv_timer_t *t) {
  conn_t *c = t->data;
  if (c->closing)
    return;
  if (c->lingering || c->rejected) {
    conn_close(c);
    return;
  }
  if (c->cur) {
    c->srv->st.timeouts++;
    idx_log_debug("http", "request not received within %llu ms",
                  (unsigned long long)c->srv->opts.timeout_ms);
    fail_conn(c, 408, "request not received in time");
    return;
  }
  if (!with_handler(c)) {
    c->srv->st.idle_closed++;
    conn_close(c);
  }
}

/* How many requests of the connection wait for the handler's answer. */
static size_t with_handler(const conn_t *c) {
  size_t n = 0;
  for (const idx_http_req_t *r = c->head; r; r = r->next)
    if (r->dispatched && !r->answered)
      n++;
  return n;
}

/* Arms the timer for the connection's state (see the file comment). */
static void arm_timer(conn_t *c) {
  if (c->closing)
    return;
  uint64_t timeout = c->srv->opts.timeout_ms;
  uint64_t ms;
  if (c->lingering || c->rejected) {
    ms = LINGER_MS < timeout ? LINGER_MS : timeout;
  } else if (c->cur) {
    return; /* armed at the request's first byte; keeps its deadline */
  } else if (!with_handler(c)) {
    /* Idle, or a slow reader: what was written (or requests waiting
     * for it to read) and nothing with the handler. */
    ms = timeout;
  } else {
    uv_timer_stop(&c->timer);
    return;
  }
  uv_timer_start(&c->timer, on_timer, ms, 0);
}

/* ---- request bodies under the server's cap ----------------------------- */

/* Whether n more bytes of the request being received fit: every request's
 * bytes together stay within max_total_output, except that a request of
 * up to SMALL_ANSWER on a connection with nothing else waiting always
 * fits (a verify from a well-behaved client, as a health check's answer;
 * such requests add at most max_conns * SMALL_ANSWER). */
static bool body_fits(const conn_t *c, size_t n) {
  const idx_http_server_t *srv = c->srv;
  if (srv->held + n <= srv->opts.max_total_output)
    return true;
  return c->cur->held + n <= SMALL_ANSWER && c->queued == 0 && answers_waiting(c) == 0;
}

/* Admits n more bytes of the current request's body (all of a declared
 * one at once), counting them in srv->held before they arrive, so that
 * bodies on their way never add up past the cap. When they do not fit,
 * the connection holding the most is closed, as for an answer (unless it
 * is this one: its parser is running), and they are admitted if they fit
 * then. Returns false when they do not: the request is refused (503) and
 * its connection closed after its earlier answers. */
static bool hold_body(conn_t *c, size_t n) {
  idx_http_server_t *srv = c->srv;
  if (!body_fits(c, n)) {
    conn_t *worst = worst_conn(srv);
    if (worst && worst != c)
      shed(worst, "request bodies and answers");
    if (!body_fits(c, n)) {
      srv->st.output_refused++;
      idx_log_debug("http", "a request body of %zu bytes refused: output cap reached", n);
      return false;
    }
  }
  c->cur->held += n;
  srv->held += n;
  return true;
}

/* ---- parser callbacks --------------------------------------------------- */

static conn_t *conn_of(http_parser *p) { return p->data; }

static int refuse(conn_t *c, int status, const char *reason) {
  c->fail_status = status;
  c->fail_reason = reason;
  return -1;
}

static int on_message_begin(http_parser *p) {
  conn_t *c = conn_of(p);
  c->cur = req_new(c->srv, c);
  if (!c->cur)
    return refuse(c, 500, "out of memory");
  c->hdr_name_len = 0;
  c->hdr_name_long = false;
  c->in_value = false;
  c->want_expect = false;
  c->expect_len = 0;
  /* The request must arrive whole within the timeout from now. */
  uv_timer_start(&c->timer, on_timer, c->srv->opts.timeout_ms, 0);
  return 0;
}

static int on_url(http_parser *p, const char *at, size_t n) {
  conn_t *c = conn_of(p);
  if (idx_buf_add(&c->cur->url, at, n))
    return refuse(c, 414, "request target too long");
  /* Counted from its first byte (see hold_body). */
  c->cur->held += n;
  c->srv->held += n;
  return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t n) {
  conn_t *c = conn_of(p);
  if (c->in_value) {
    c->in_value = false;
    c->hdr_name_len = 0;
    c->hdr_name_long = false;
  }
  if (c->hdr_name_len + n > HDR_NAME_MAX) {
    c->hdr_name_long = true;
  } else {
    memcpy(c->hdr_name + c->hdr_name_len, at, n);
    c->hdr_name_len += n;
  }
  return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t n) {
  conn_t *c = conn_of(p);
  if (!c->in_value) {
    c->in_value = true;
    c->hdr_name[c->hdr_name_len] = '\0';
    c->want_expect = !c->hdr_name_long && strcasecmp(c->hdr_name, "expect") == 0;
    if (c->want_expect)
      c->expect_len = 0;
  }
  if (c->want_expect && c->expect_len + n <= HDR_VALUE_MAX) {
    memcpy(c->expect + c->expect_len, at, n);
    c->expect_len += n;
  }
  return 0;
}

static void on_continue_written(uv_write_t *w, int status) {
  conn_t *c = w->data;
  (void)status; /* a failed write shows up on the next read or write */
  c->continue_busy = false;
}

static int on_headers_complete(http_parser *p) {
  conn_t *c = conn_of(p);
  idx_http_req_t *r = c->cur;
  if ((p->flags & F_CONTENTLENGTH) && p->content_length > c->srv->opts.max_body_bytes)
    return refuse(c, 413, "request body too large");
  const char *name = http_method_str((enum http_method)p->method);
  snprintf(r->method_name, sizeof r->method_name, "%s", name);
  switch (p->method) {
  case HTTP_GET:
    r->msg.method = IDX_HTTP_GET;
    break;
  case HTTP_HEAD:
    r->msg.method = IDX_HTTP_HEAD;
    break;
  case HTTP_POST:
    r->msg.method = IDX_HTTP_POST;
    break;
  default:
    r->msg.method = IDX_HTTP_OTHER;
    break;
  }
  /* "GET /" alone is HTTP/0.9 to the parser; a major version other than 1
   * is a protocol this server does not speak (1.x above 1.1 is 1.1). */
  if (p->http_major == 0 && p->http_minor == 9)
    return refuse(c, 400, "request line without an HTTP version (HTTP/1.1 expected)");
  if (p->http_major != 1)
    return refuse(c, 505, "HTTP version not supported (HTTP/1.1 expected)");
  r->http10 = p->http_major == 1 && p->http_minor == 0;
  /* A declared body is held whole before the request is handled: it is
   * admitted (and counted, before its bytes come) only when it fits. */
  if ((p->flags & F_CONTENTLENGTH) && p->content_length > 0 &&
      !hold_body(c, (size_t)p->content_length))
    return refuse(c, 503, "server busy: too many requests and answers held; retry");
  /* "Expect: 100-continue": say go on, unless earlier answers are still
   * owed (an interim answer must not overtake them; the client then
   * sends the body after its own short wait). */
  c->expect[c->expect_len] = '\0';
  if (c->expect_len && strcasecmp(c->expect, "100-continue") == 0 && c->queued == 0 &&
      c->writes == 0 && !c->continue_busy && !r->http10) {
    uv_buf_t b = uv_buf_init((char *)continue_100, (unsigned)(sizeof continue_100 - 1));
    c->continue_write.data = c;
    if (uv_write(&c->continue_write, (uv_stream_t *)&c->tcp, &b, 1, on_continue_written) == 0)
      c->continue_busy = true;
  }
  return 0;
}

static int on_body(http_parser *p, const char *at, size_t n) {
  conn_t *c = conn_of(p);
  /* A chunked body's size is known only as it comes: each piece is
   * admitted on its own (a declared one was at its headers' end). */
  if (!(p->flags & F_CONTENTLENGTH) && c->cur->body.len + n <= c->srv->opts.max_body_bytes &&
      !hold_body(c, n))
    return refuse(c, 503, "server busy: too many requests and answers held; retry");
  if (idx_buf_add(&c->cur->body, at, n))
    return refuse(c, 413, "request body too large");
  return 0;
}

/* Splits the target into path and query (http_parser_parse_url) and
 * NUL-terminates both in place: what follows each is '?', '#' or the end
 * of the buffer (which is always terminated). */
static bool split_target(idx_http_req_t *r) {
  struct http_parser_url u;
  http_parser_url_init(&u);
  char *url = r->url.data;
  if (!url || http_parser_parse_url(url, r->url.len, 0, &u) != 0)
    return false;
  r->msg.path = "/";
  r->msg.path_len = 1;
  r->msg.query = "";
  r->msg.query_len = 0;
  if (u.field_set & (1u << UF_QUERY)) {
    r->msg.query = url + u.field_data[UF_QUERY].off;
    r->msg.query_len = u.field_data[UF_QUERY].len;
    url[u.field_data[UF_QUERY].off + u.field_data[UF_QUERY].len] = '\0';
  }
  if (u.field_set & (1u << UF_PATH)) {
    size_t off = u.field_data[UF_PATH].off, len = u.field_data[UF_PATH].len;
    if (url[off] != '/')
      return false;
    url[off + len] = '\0';
    r->msg.path = url + off;
    r->msg.path_len = len;
  }
  return true;
}

static int on_message_complete(http_parser *p) {
  conn_t *c = conn_of(p);
  idx_http_req_t *r = c->cur;
  c->cur = NULL;
  r->keep_alive = http_should_keep_alive(p) != 0;
  r->msg.method_name = r->method_name;
  r->msg.body = r->body.data ? r->body.data : "";
  r->msg.body_len = r->body.len;
  r->msg.received_ns = uv_hrtime();
  if (!r->keep_alive || p->upgrade) {
    r->close_after = true;
    c->no_more = true;
  }
  queue_push(c, r);
  if (!split_target(r)) {
    r->dispatched = true;
    answer_error(r, 400, "malformed request target");
    account(c, r);
    c->srv->st.bad_requests++;
  } else {
    c->srv->st.requests++;
  }
  if (c->no_more || c->queued >= c->srv->opts.max_pipeline || c->held > c->srv->opts.max_output)
    http_parser_pause(p, 1);
  return 0;
}

static const http_parser_settings parser_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* ---- input -------------------------------------------------------------- */

/* Puts off a connection's dispatching to the next loop turn: beyond one
 * request per connection and turn, requests pipelined behind others get
 * at most TURN_BYTES of answers built per turn (shared by all
 * connections), so one turn of the loop stays short however many clients
 * pipeline at once. */
static void defer(conn_t *c) {
  idx_http_server_t *srv = c->srv;
  if (c->deferred)
    return;
  c->deferred = true;
  c->defer_next = srv->deferred;
  srv->deferred = c;
  if (!uv_is_active((uv_handle_t *)&srv->idle))
    uv_idle_start(&srv->idle, on_idle);
}

static bool unlink_from(conn_t **pp, conn_t *c) {
  while (*pp && *pp != c)
    pp = &(*pp)->defer_next;
  if (!*pp)
    return false;
  *pp = c->defer_next;
  return true;
}

/* Takes a closing connection off whichever list holds it. */
static void undefer(conn_t *c) {
  if (!c->deferred)
    return;
  if (!unlink_from(&c->srv->deferred, c))
    (void)unlink_from(&c->srv->checking, c);
  c->deferred = false;
  c->defer_next = NULL;
}

static void on_idle(uv_idle_t *h) { (void)h; /* only keeps poll from blocking */ }

/* After each turn's I/O: a new budget, and the deferred connections get
 * their turn (oldest deferred last: they re-defer in order). */
static void on_check(uv_check_t *h) {
  idx_http_server_t *srv = h->data;
  srv->turn_bytes = 0;
  srv->turn++;
  srv->checking = srv->deferred;
  srv->deferred = NULL;
  conn_t *c;
  while ((c = srv->checking) != NULL) {
    srv->checking = c->defer_next;
    c->deferred = false;
    c->defer_next = NULL;
    if (!c->closing)
      dispatch(c); /* and flush */
    if (!c->closing)
      update_reading(c);
  }
  if (!srv->deferred)
    uv_idle_stop(&srv->idle);
}

static idx_http_req_t *first_undispatched(const conn_t *c) {
  idx_http_req_t *r = c->head;
  while (r && r->dispatched)
    r = r->next;
  return r;
}

/* Hands the queued requests not yet dispatched to the handler, in order,
 * then writes what is answered. While more than max_output bytes of
 * answers wait for the client to read them, the next request waits too
 * (it is resumed when a write completes): a client that does not read
 * gets no more answers built. At most HANDLER_MAX requests of a
 * connection are with the handler at once: answers that come later (from
 * the database) are not known in size when their requests are handed
 * over. The handler may answer (and so free) a
 * request at once, or close the connection: rescan from the head. */
static void dispatch(conn_t *c) {
  idx_http_server_t *srv = c->srv;
  if (c->dispatching || c->closing)
    return;
  c->dispatching = true;
  for (;;) {
    if (c->closing)
      return;
    idx_http_req_t *r = first_undispatched(c);
    if (!r)
      break;
    size_t waiting = answers_waiting(c);
    if (waiting > srv->opts.max_output || with_handler(c) >= HANDLER_MAX)
      break;
    /* The first request of a turn on a connection with nothing waiting
     * (a client that reads, a health check) goes at once; any other
     * waits for the next turn once this turn's budget is spent. */
    if ((waiting || c->turn == srv->turn) && srv->turn_bytes >= TURN_BYTES) {
      defer(c);
      break;
    }
    c->turn = srv->turn;
    r->dispatched = true;
    srv->opts.handler(srv->opts.ud, r);
  }
  c->dispatching = false;
  flush(c);
}

/* Parses len bytes, dispatches the complete requests, answers a refused
 * one. Never resumes reading itself (see after_input). */
static void process_input(conn_t *c, const char *data, size_t len) {
  idx_http_server_t *srv = c->srv;
  c->in_input = true;
  size_t n = http_parser_execute(&c->parser, &parser_settings, data, len);
  enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
  if (c->fail_status) {
    if (c->fail_status == 413 || c->fail_status == 414 || c->fail_status == 431)
      srv->st.too_large++;
    else if (c->fail_status == 400 || c->fail_status == 505)
      srv->st.bad_requests++;
    dispatch(c);
    if (!c->closing)
      fail_conn(c, c->fail_status, c->fail_reason);
  } else if (e == HPE_PAUSED) {
    /* Paused at a message end: the pipeline is full, or nothing more is
     * to be parsed. Keep the rest for later in the first case only. */
    if (!c->no_more && n < len && idx_buf_add(&c->pending, data + n, len - n) != 0) {
      c->in_input = false;
      conn_close(c);
      return;
    }
    c->paused = !c->no_more;
    dispatch(c);
  } else if (e != HPE_OK) {
    dispatch(c);
    if (!c->closing) {
      if (e == HPE_HEADER_OVERFLOW) {
        srv->st.too_large++;
        fail_conn(c, 431, "request line and headers too large");
      } else {
        char reason[160];
        srv->st.bad_requests++;
        snprintf(reason, sizeof reason, "malformed HTTP request: %s", http_errno_description(e));
        fail_conn(c, 400, reason);
      }
    }
  } else {
    if (c->parser.upgrade)
      c->no_more = true; /* the request is answered, the protocol switch is not */
    dispatch(c);
  }
  c->in_input = false;
}

/* Parses what was kept while paused, as far as the pipeline allows. */
static void resume_pending(conn_t *c) {
  c->paused = false;
  http_parser_pause(&c->parser, 0);
  idx_buf_t held = c->pending;
  idx_buf_init(&c->pending, READ_BUF);
  if (held.len)
    process_input(c, held.data, held.len);
  idx_buf_free(&held);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)suggested;
  conn_t *c = h->data;
  /* Reads are consumed before the next one: one buffer serves all. */
  *buf = uv_buf_init(c->srv->readbuf, READ_BUF);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);

static bool has_room(const conn_t *c) {
  const idx_http_options_t *o = &c->srv->opts;
  return c->queued < o->max_pipeline && c->held <= o->max_output &&
         uv_stream_get_write_queue_size((const uv_stream_t *)&c->tcp) <= o->max_output;
}

/* Dispatches what waited for room, resumes paused parsing when there is
 * room, then starts or stops reading to match the connection's state. */
static void update_reading(conn_t *c) {
  if (!c->closing && !c->lingering && first_undispatched(c))
    dispatch(c);
  while (!c->closing && c->paused && !c->no_more && has_room(c)) {
    resume_pending(c);
    if (!c->closing && conn_done(c)) {
      start_linger(c);
      return;
    }
  }
  if (c->closing)
    return;
  bool want = c->lingering || (!c->no_more && !c->paused && has_room(c));
  if (want && !c->reading) {
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
      conn_close(c);
      return;
    }
    c->reading = true;
  } else if (!want && c->reading) {
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = false;
  }
}

static void after_input(conn_t *c) {
  if (c->closing)
    return;
  if (conn_done(c))
    start_linger(c);
  else
    update_reading(c);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  conn_t *c = stream->data;
  if (c->closing)
    return;
  if (nread > 0) {
    if (c->lingering || c->no_more)
      return; /* discarded */
    process_input(c, buf->base, (size_t)nread);
    after_input(c);
    return;
  }
  if (nread == 0)
    return;
  if (nread == UV_EOF && !c->lingering && !c->cur && (c->queued || c->writes)) {
    /* The client half-closed after asking: answer, then close. */
    c->no_more = true;
    c->paused = false;
    update_reading(c);
    return;
  }
  conn_close(c);
}

/* ---- connections -------------------------------------------------------- */

static void conn_unlink(conn_t *c) {
  idx_http_server_t *srv = c->srv;
  if (c->prev)
    c->prev->next = c->next;
  else if (srv->conns == c)
    srv->conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  c->prev = c->next = NULL;
}

static void conn_close(conn_t *c) {
  if (c->closing)
    return;
  idx_http_server_t *srv = c->srv;
  c->closing = true;
  conn_unlink(c);
  undefer(c);
  if (c->rejected)
    srv->nrejecting--;
  else
    srv->nconns--;
  req_free(c->cur);
  c->cur = NULL;
  while (c->head) {
    idx_http_req_t *r = queue_pop(c);
    if (r->dispatched && !r->answered) {
      r->conn = NULL; /* the handler still holds it */
      srv->orphans++;
    } else {
      req_free(r);
    }
  }
  idx_buf_free(&c->pending);
  uv_close((uv_handle_t *)&c->tcp, on_closed);
  uv_close((uv_handle_t *)&c->timer, on_closed);
}

static void on_reject_written(uv_write_t *w, int status) {
  conn_t *c = w->data;
  if (c->closing)
    return;
  if (status < 0) {
    conn_close(c);
    return;
  }
  start_linger(c);
}

static void on_connection(uv_stream_t *listener, int status) {
  idx_http_server_t *srv = listener->data;
  if (status < 0) {
    if (srv->st.accept_errors++ % 1000 == 0)
      idx_log_warn("http", "accept failed: %s (%llu so far)", uv_strerror(status),
                   (unsigned long long)srv->st.accept_errors);
    return;
  }
  conn_t *c = calloc(1, sizeof *c);
  if (!c) {
    srv->st.accept_errors++;
    return;
  }
  c->srv = srv;
  uv_tcp_init(srv->loop, &c->tcp);
  uv_timer_init(srv->loop, &c->timer);
  c->tcp.data = c->timer.data = c;
  c->handles_open = 2;
  srv->nalive++;
  idx_buf_init(&c->pending, READ_BUF);
  if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
    srv->st.accept_errors++;
    c->closing = true;
    uv_close((uv_handle_t *)&c->tcp, on_closed);
    uv_close((uv_handle_t *)&c->timer, on_closed);
    return;
  }
  srv->st.connections_total++;
  c->next = srv->conns;
  if (srv->conns)
    srv->conns->prev = c;
  srv->conns = c;
  if (srv->nconns >= srv->opts.max_conns) {
    srv->st.connections_rejected++;
    c->rejected = true;
    c->no_more = true;
    srv->nrejecting++;
    if (srv->nrejecting > REJECT_ALLOWANCE) {
      conn_close(c);
      return;
    }
    uv_buf_t b = uv_buf_init((char *)reject_503, (unsigned)(sizeof reject_503 - 1));
    c->reject_write.data = c;
    if (uv_write(&c->reject_write, (uv_stream_t *)&c->tcp, &b, 1, on_reject_written) != 0) {
      conn_close(c);
      return;
    }
    arm_timer(c);
    return;
  }
  srv->nconns++;
  uv_tcp_nodelay(&c->tcp, 1);
  /* The kernel's send buffer grows to 4 MiB on its own (tcp_wmem): a
   * client that does not read would make the server copy that much into
   * it per connection, outside every cap here. */
  int sndbuf = SNDBUF_BYTES;
  (void)uv_send_buffer_size((uv_handle_t *)&c->tcp, &sndbuf);
  http_parser_init(&c->parser, HTTP_REQUEST);
  c->parser.data = c;
  arm_timer(c);
  update_reading(c);
}

/* ---- server ------------------------------------------------------------- */

static void maybe_free_server(idx_http_server_t *srv) {
  if (!srv->closing || srv->listener_open || srv->aux_open || srv->nalive || srv->orphans)
    return;
  while (srv->free_reqs) {
    idx_http_req_t *r = srv->free_reqs;
    srv->free_reqs = r->next;
    idx_buf_free(&r->url);
    idx_buf_free(&r->body);
    idx_buf_free(&r->out);
    free(r);
  }
  void (*cb)(void *) = srv->closed_cb;
  void *ud = srv->closed_ud;
  free(srv);
  if (cb)
    cb(ud);
}

static void on_aux_closed(uv_handle_t *h) {
  idx_http_server_t *srv = h->data;
  srv->aux_open--;
  maybe_free_server(srv);
}

static void on_listener_closed(uv_handle_t *h) {
  idx_http_server_t *srv = h->data;
  srv->listener_open = false;
  maybe_free_server(srv);
}

/* "IP:PORT" or "[IPv6]:PORT" into addr. */
static int parse_listen(const char *s, struct sockaddr_storage *addr, char *err, size_t errlen) {
  const char *colon = strrchr(s, ':');
  if (!colon || colon == s) {
    idx_set_err(err, errlen, "listen address \"%s\" is not IP:PORT", s);
    return IDX_ERR_CONFIG;
  }
  char host[64];
  size_t hlen = (size_t)(colon - s);
  const char *h = s;
  if (s[0] == '[') {
    if (hlen < 2 || s[hlen - 1] != ']') {
      idx_set_err(err, errlen, "listen address \"%s\": IPv6 goes in brackets, [::1]:PORT", s);
      return IDX_ERR_CONFIG;
    }
    h = s + 1;
    hlen -= 2;
  }
  if (hlen == 0 || hlen >= sizeof host) {
    idx_set_err(err, errlen, "listen address \"%s\" is not IP:PORT", s);
    return IDX_ERR_CONFIG;
  }
  memcpy(host, h, hlen);
  host[hlen] = '\0';
  const char *p = colon + 1;
  unsigned long port = 0;
  if (!*p || strlen(p) > 5) {
    idx_set_err(err, errlen, "listen address \"%s\": bad port", s);
    return IDX_ERR_CONFIG;
  }
  for (; *p; p++) {
    if (*p < '0' || *p > '9') {
      idx_set_err(err, errlen, "listen address \"%s\": bad port", s);
      return IDX_ERR_CONFIG;
    }
    port = port * 10 + (unsigned long)(*p - '0');
  }
  if (port > 65535) {
    idx_set_err(err, errlen, "listen address \"%s\": port above 65535", s);
    return IDX_ERR_CONFIG;
  }
  memset(addr, 0, sizeof *addr);
  if (s[0] == '[') {
    if (uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)addr) != 0) {
      idx_set_err(err, errlen, "listen address \"%s\": \"%s\" is not an IPv6 address", s, host);
      return IDX_ERR_CONFIG;
    }
  } else if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)addr) != 0) {
    idx_set_err(err, errlen, "listen address \"%s\": \"%s\" is not an IPv4 address", s, host);
    return IDX_ERR_CONFIG;
  }
  return 0;
}

/* Raises the soft descriptor limit so that max_conns connections fit. */
static void raise_fd_limit(size_t max_conns) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return;
  rlim_t need = (rlim_t)max_conns + REJECT_ALLOWANCE + 128;
  if (rl.rlim_cur >= need)
    return;
  rlim_t want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ? need : rl.rlim_max;
  rlim_t had = rl.rlim_cur;
  rl.rlim_cur = want;
  if (want > had && setrlimit(RLIMIT_NOFILE, &rl) == 0)
    had = want;
  if (had < need)
    idx_log_warn("http",
                 "open-file limit %llu is low for %zu connections; beyond it new "
                 "connections are refused",
                 (unsigned long long)had, max_conns);
}

int idx_http_start(idx_http_server_t **out, uv_loop_t *loop, const idx_http_options_t *opts,
                   char *err, size_t errlen) {
  *out = NULL;
  if (!opts->handler || !opts->listen || opts->max_conns == 0 || opts->timeout_ms == 0 ||
      opts->max_header_bytes == 0 || opts->max_pipeline == 0 || opts->max_output == 0 ||
      opts->max_total_output == 0) {
    idx_set_err(err, errlen, "HTTP server: missing handler, address or limit");
    return IDX_ERR_INVAL;
  }
  /* The header cap is the parser's own count: every byte of the request
   * line and headers (separators, line ends and skipped whitespace too;
   * a chunked body's trailers likewise), over 431 (HPE_HEADER_OVERFLOW).
   * It is process-wide: the last server started sets it (the daemon runs
   * one). */
  http_parser_set_max_header_size(
      opts->max_header_bytes > UINT32_MAX ? UINT32_MAX : (uint32_t)opts->max_header_bytes);
  struct sockaddr_storage addr;
  int rc = parse_listen(opts->listen, &addr, err, errlen);
  if (rc)
    return rc;
  idx_http_server_t *srv = calloc(1, sizeof *srv);
  if (!srv)
    return IDX_ERR_NOMEM;
  srv->loop = loop;
  srv->opts = *opts;
  srv->listener.data = srv;
  uv_tcp_init(loop, &srv->listener);
  srv->listener_open = true;
  /* A client that closes early must not kill the process on write. */
  signal(SIGPIPE, SIG_IGN);
  int uvrc = uv_tcp_bind(&srv->listener, (const struct sockaddr *)&addr, 0);
  if (uvrc == 0)
    uvrc = uv_listen((uv_stream_t *)&srv->listener, 511, on_connection);
  if (uvrc != 0) {
    idx_set_err(err, errlen, "cannot listen on %s: %s", opts->listen, uv_strerror(uvrc));
    srv->closing = true;
    uv_close((uv_handle_t *)&srv->listener, on_listener_closed);
    return IDX_ERR_IO;
  }
  struct sockaddr_storage bound;
  int blen = (int)sizeof bound;
  if (uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&bound, &blen) == 0) {
    if (bound.ss_family == AF_INET6)
      srv->port = ntohs(((struct sockaddr_in6 *)&bound)->sin6_port);
    else
      srv->port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
  }
  raise_fd_limit(opts->max_conns);
  uv_check_init(loop, &srv->check);
  uv_idle_init(loop, &srv->idle);
  srv->check.data = srv->idle.data = srv;
  srv->aux_open = 2;
  uv_check_start(&srv->check, on_check);
  uv_unref((uv_handle_t *)&srv->check);
  *out = srv;
  return 0;
}

int idx_http_port(const idx_http_server_t *srv) { return srv->port; }

void idx_http_close(idx_http_server_t *srv, void (*closed_cb)(void *ud), void *ud) {
  if (!srv || srv->closing)
    return;
  srv->closing = true;
  srv->closed_cb = closed_cb;
  srv->closed_ud = ud;
  uv_close((uv_handle_t *)&srv->listener, on_listener_closed);
  while (srv->conns)
    conn_close(srv->conns);
  uv_close((uv_handle_t *)&srv->check, on_aux_closed);
  uv_close((uv_handle_t *)&srv->idle, on_aux_closed);
}

void idx_http_stats(const idx_http_server_t *srv, idx_http_stats_t *out) {
  *out = srv->st;
  out->connections_open = srv->nconns;
  out->output_bytes = srv->held;
}
