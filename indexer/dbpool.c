/*
 * dbpool.c: asynchronous libpq connections on the libuv loop (see dbpool.h).
 *
 * Each connection is a small state machine:
 *
 *   DOWN --timer--> CONNECTING --PQconnectPoll OK--> IDLE <--> BUSY
 *     ^                  |                            |        |
 *     +--- failed -------+------------ lost ----------+--------+
 *
 * DOWN waits out the backoff (doubling from backoff_min_ms to
 * backoff_max_ms). CONNECTING follows PQconnectPoll, whose socket may
 * change between calls (another address, an SSL retry): the poll handle
 * is stopped before each call and re-made for the new descriptor after,
 * so libuv never watches a descriptor libpq closed. IDLE watches for
 * readability to notice a server that went away. BUSY has sent one
 * statement (PQsendQueryParams, flushed with PQflush while the socket
 * accepts) and collects its result; one timer per connection bounds
 * connecting and each query (statement_timeout plus a margin), after
 * which the connection is dropped and re-made.
 *
 * libpq's errors become ours here: a failed statement is IDX_ERR_DB with
 * its SQLSTATE and message; a connection problem (CONNECTION_BAD, or a
 * SQLSTATE that pgerr.h classifies as the session's end, the one rule
 * store.c applies too) is IDX_ERR_DB_CONN. An outage is logged once when
 * it starts and once when it ends.
 */
#include "common.h"

#include "dbpool.h"

#include "log.h"
#include "pgerr.h"

#include <libpq-fe.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
  QUERY_MARGIN_MS = 5000, /* client-side deadline beyond statement_timeout */
  SWEEP_MS = 100,         /* queue deadline checks */
};

typedef enum cstate_e {
  C_DOWN,
  C_CONNECTING,
  C_IDLE,
  C_BUSY,
} cstate_t;

typedef struct query_s {
  struct query_s *next;
  idx_dbpool_cb cb;
  void *ud;
  uint64_t queued_at; /* uv_now */
  int nparams;
  const char *sql;
  const char *params[IDX_DBPOOL_MAX_PARAMS];
  char data[]; /* sql and parameters, copied */
} query_t;

typedef struct pconn_s {
  idx_dbpool_t *pool;
  cstate_t state;
  PGconn *pg;
  uv_poll_t *poll; /* watching poll_fd; NULL when none */
  int poll_fd;
  int poll_events;
  uv_timer_t timer;
  unsigned failures;
  query_t *q;    /* the running query (BUSY) */
  PGresult *res; /* its first result */
  bool flushing;
} pconn_t;

struct idx_dbpool_s {
  uv_loop_t *loop;
  idx_dbpool_options_t opts;
  char *conninfo;
  char *app_name;
  char *pg_options;
  pconn_t *conns;
  size_t n;
  query_t *qhead, *qtail;
  size_t nqueued;
  uv_timer_t sweep;
  size_t up;
  bool failing; /* none up and the last attempt failed: refuse at once */
  bool outage_logged;
  bool closing;
  size_t handles; /* open libuv handles */
  void (*closed_cb)(void *ud);
  void *closed_ud;
  idx_dbpool_stats_t st;
};

static void on_poll(uv_poll_t *h, int status, int events);
static void next_query(pconn_t *c);
static void start_connect(pconn_t *c);

void idx_dbpool_options_default(idx_dbpool_options_t *o) {
  memset(o, 0, sizeof *o);
  o->size = 4;
  o->max_queue = 1024;
  o->statement_timeout_ms = 5000;
  o->queue_timeout_ms = 5000;
  o->connect_timeout_ms = 10000;
  o->backoff_min_ms = 100;
  o->backoff_max_ms = 5000;
  o->max_value = (size_t)64 << 20;
  o->application_name = "dimo-indexer-api";
}

/* ---- handles ------------------------------------------------------------ */

static void maybe_free(idx_dbpool_t *pool) {
  if (!pool->closing || pool->handles)
    return;
  void (*cb)(void *) = pool->closed_cb;
  void *ud = pool->closed_ud;
  free(pool->conns);
  free(pool->conninfo);
  free(pool->app_name);
  free(pool->pg_options);
  free(pool);
  if (cb)
    cb(ud);
}

static void on_poll_closed(uv_handle_t *h) {
  idx_dbpool_t *pool = h->data;
  free(h);
  pool->handles--;
  maybe_free(pool);
}

static void on_timer_closed(uv_handle_t *h) {
  idx_dbpool_t *pool = h->data;
  pool->handles--;
  maybe_free(pool);
}

/* Stops watching and lets the handle go (its descriptor may be closed
 * right after: the stop happens now). */
static void unwatch(pconn_t *c) {
  if (!c->poll)
    return;
  c->poll->data = c->pool;
  uv_close((uv_handle_t *)c->poll, on_poll_closed);
  c->poll = NULL;
  c->poll_events = 0;
}

/* Watches the connection's current socket for events. */
static int watch(pconn_t *c, int events) {
  int fd = PQsocket(c->pg);
  if (fd < 0)
    return -1;
  if (c->poll && c->poll_fd != fd)
    unwatch(c);
  if (!c->poll) {
    c->poll = malloc(sizeof *c->poll);
    if (!c->poll)
      return -1;
    if (uv_poll_init(c->pool->loop, c->poll, fd) != 0) {
      free(c->poll);
      c->poll = NULL;
      return -1;
    }
    c->pool->handles++;
    c->poll->data = c;
    c->poll_fd = fd;
    c->poll_events = 0;
  }
  if (c->poll_events != events) {
    if (uv_poll_start(c->poll, events, on_poll) != 0)
      return -1;
    c->poll_events = events;
  }
  return 0;
}

/* ---- results ------------------------------------------------------------ */

/* libpq's message without its trailing newline, into buf. */
static const char *pq_message(const char *msg, char *buf, size_t cap) {
  snprintf(buf, cap, "%s", msg && *msg ? msg : "unknown libpq error");
  size_t n = strlen(buf);
  while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
    buf[--n] = '\0';
  return buf;
}

static void deliver(idx_dbpool_t *pool, query_t *q, int status, const char *message) {
  idx_dbpool_result_t r = {.status = status, .sqlstate = "", .message = message ? message : ""};
  if (status)
    pool->st.errors++;
  q->cb(q->ud, &r);
  free(q);
}

/* Fails every waiting query with status. */
static void fail_queue(idx_dbpool_t *pool, int status, const char *message) {
  while (pool->qhead) {
    query_t *q = pool->qhead;
    pool->qhead = q->next;
    if (!pool->qhead)
      pool->qtail = NULL;
    pool->nqueued--;
    deliver(pool, q, status, message);
  }
}

/* ---- connection lifecycle ----------------------------------------------- */

static uint64_t backoff_ms(const idx_dbpool_t *pool, unsigned failures) {
  uint64_t ms = pool->opts.backoff_min_ms;
  for (unsigned i = 1; i < failures && ms < pool->opts.backoff_max_ms; i++)
    ms *= 2;
  return ms < pool->opts.backoff_max_ms ? ms : pool->opts.backoff_max_ms;
}

static void on_reconnect_timer(uv_timer_t *t) {
  pconn_t *c = t->data;
  if (!c->pool->closing && c->state == C_DOWN)
    start_connect(c);
}

static void drop(pconn_t *c) {
  unwatch(c);
  if (c->pg)
    PQfinish(c->pg);
  c->pg = NULL;
  c->flushing = false;
  if (c->res)
    PQclear(c->res);
  c->res = NULL;
}

static void schedule_reconnect(pconn_t *c) {
  c->state = C_DOWN;
  uv_timer_start(&c->timer, on_reconnect_timer, backoff_ms(c->pool, c->failures), 0);
}

static void connect_failed(pconn_t *c, const char *why) {
  idx_dbpool_t *pool = c->pool;
  char msg[512];
  pq_message(why, msg, sizeof msg);
  pool->st.conn_fails++;
  drop(c);
  c->failures++;
  if (!pool->outage_logged) {
    idx_log_warn("dbpool", "cannot connect to the database: %s (retrying with backoff)", msg);
    pool->outage_logged = true;
  }
  schedule_reconnect(c);
  if (pool->up == 0) {
    pool->failing = true;
    fail_queue(pool, IDX_ERR_DB_CONN, "database unavailable");
  }
}

/* An open connection broke. The running query (if any) fails. */
static void lost(pconn_t *c, const char *why) {
  idx_dbpool_t *pool = c->pool;
  char msg[512];
  pq_message(why, msg, sizeof msg);
  query_t *q = c->q;
  c->q = NULL;
  uv_timer_stop(&c->timer);
  drop(c);
  pool->up--;
  pool->st.lost++;
  if (!pool->outage_logged) {
    idx_log_warn("dbpool", "database connection lost: %s (reconnecting)", msg);
    pool->outage_logged = true;
  }
  c->failures = 1;
  schedule_reconnect(c);
  if (q)
    deliver(pool, q, IDX_ERR_DB_CONN, "database connection lost");
}

static void on_connect_deadline(uv_timer_t *t) {
  pconn_t *c = t->data;
  if (c->state == C_CONNECTING)
    connect_failed(c, "connection attempt timed out");
}

static void on_query_deadline(uv_timer_t *t) {
  pconn_t *c = t->data;
  if (c->state == C_BUSY)
    lost(c, "query took longer than its deadline");
}

static void connected(pconn_t *c) {
  idx_dbpool_t *pool = c->pool;
  uv_timer_stop(&c->timer);
  if (PQsetnonblocking(c->pg, 1) != 0 || watch(c, UV_READABLE) != 0) {
    connect_failed(c, PQerrorMessage(c->pg));
    return;
  }
  c->state = C_IDLE;
  c->failures = 0;
  pool->up++;
  pool->failing = false;
  pool->st.connects++;
  if (pool->outage_logged) {
    idx_log_info("dbpool", "database connection restored");
    pool->outage_logged = false;
  }
  next_query(c);
}

static void connect_step(pconn_t *c) {
  /* The socket may be replaced inside PQconnectPoll: stop watching first. */
  if (c->poll) {
    uv_poll_stop(c->poll);
    c->poll_events = 0;
  }
  PostgresPollingStatusType st = PQconnectPoll(c->pg);
  switch (st) {
  case PGRES_POLLING_OK:
    connected(c);
    return;
  case PGRES_POLLING_READING:
  case PGRES_POLLING_WRITING:
    if (watch(c, st == PGRES_POLLING_READING ? UV_READABLE : UV_WRITABLE) != 0)
      connect_failed(c, "cannot watch the connection's socket");
    return;
  default:
    connect_failed(c, PQerrorMessage(c->pg));
    return;
  }
}

static void start_connect(pconn_t *c) {
  idx_dbpool_t *pool = c->pool;
  /* Defaults first; the conninfo (expanded from dbname) overrides them;
   * then what this pool needs (options merges the conninfo's own). */
  const char *const keys[] = {
      "fallback_application_name",
      "keepalives",
      "keepalives_idle",
      "keepalives_interval",
      "keepalives_count",
      "dbname",
      "options",
      "client_encoding",
      NULL,
  };
  const char *const values[] = {
      pool->app_name, "1", "30", "10", "3", pool->conninfo, pool->pg_options, "UTF8", NULL,
  };
  c->pg = PQconnectStartParams(keys, values, 1);
  if (!c->pg) {
    connect_failed(c, "out of memory");
    return;
  }
  if (PQstatus(c->pg) == CONNECTION_BAD) {
    connect_failed(c, PQerrorMessage(c->pg));
    return;
  }
  c->state = C_CONNECTING;
  uv_timer_start(&c->timer, on_connect_deadline, pool->opts.connect_timeout_ms, 0);
  /* As if PQconnectPoll had answered PGRES_POLLING_WRITING. */
  if (watch(c, UV_WRITABLE) != 0)
    connect_failed(c, "cannot watch the connection's socket");
}

/* ---- queries ------------------------------------------------------------ */

static void finish_query(pconn_t *c) {
  idx_dbpool_t *pool = c->pool;
  query_t *q = c->q;
  PGresult *res = c->res;
  c->q = NULL;
  c->res = NULL;
  uv_timer_stop(&c->timer);

  idx_dbpool_result_t r = {.status = 0, .sqlstate = "", .message = ""};
  char msg[512];
  ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
    if (st == PGRES_TUPLES_OK && PQntuples(res) > 0 && PQnfields(res) > 0 &&
        !PQgetisnull(res, 0, 0)) {
      r.value = PQgetvalue(res, 0, 0);
      r.len = (size_t)PQgetlength(res, 0, 0);
      if (r.len > pool->opts.max_value) {
        r.status = IDX_ERR_TOO_LARGE;
        r.value = NULL;
        r.len = 0;
        r.message = "database answer larger than its limit";
      }
    }
  } else {
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    r.status = idx_pgerr_code(state, false);
    r.sqlstate = state ? state : "";
    r.message = pq_message(primary ? primary : PQerrorMessage(c->pg), msg, sizeof msg);
  }
  bool broken = PQstatus(c->pg) == CONNECTION_BAD;
  if (broken) {
    if (r.status == 0 || r.status == IDX_ERR_DB)
      r.status = IDX_ERR_DB_CONN;
    lost(c, PQerrorMessage(c->pg));
  } else {
    c->state = C_IDLE;
  }
  if (r.status)
    pool->st.errors++;
  else
    pool->st.queries++;
  q->cb(q->ud, &r);
  free(q);
  if (res)
    PQclear(res);
  if (!pool->closing && c->state == C_IDLE)
    next_query(c);
}

/* Sends q on an idle connection. On a send failure q goes back to the
 * head of the queue (it never reached the server) and the connection is
 * dropped, so no callback runs from here. */
static void send_query(pconn_t *c, query_t *q) {
  idx_dbpool_t *pool = c->pool;
  c->state = C_BUSY;
  c->q = q;
  c->res = NULL;
  int f = -1;
  if (PQsendQueryParams(c->pg, q->sql, q->nparams, NULL, q->params, NULL, NULL, 0))
    f = PQflush(c->pg);
  if (f < 0 || watch(c, UV_READABLE | (f == 1 ? UV_WRITABLE : 0)) != 0) {
    c->q = NULL;
    q->next = pool->qhead;
    pool->qhead = q;
    if (!pool->qtail)
      pool->qtail = q;
    pool->nqueued++;
    lost(c, PQerrorMessage(c->pg));
    return;
  }
  c->flushing = f == 1;
  uint64_t deadline = pool->opts.statement_timeout_ms + QUERY_MARGIN_MS;
  uv_timer_start(&c->timer, on_query_deadline, deadline, 0);
}

static void next_query(pconn_t *c) {
  idx_dbpool_t *pool = c->pool;
  if (c->state != C_IDLE || !pool->qhead)
    return;
  query_t *q = pool->qhead;
  pool->qhead = q->next;
  if (!pool->qhead)
    pool->qtail = NULL;
  pool->nqueued--;
  q->next = NULL;
  send_query(c, q);
}

static void busy_step(pconn_t *c, int events) {
  if (c->flushing && (events & UV_WRITABLE)) {
    int f = PQflush(c->pg);
    if (f < 0) {
      lost(c, PQerrorMessage(c->pg));
      return;
    }
    c->flushing = f == 1;
  }
  if (events & UV_READABLE) {
    if (!PQconsumeInput(c->pg)) {
      lost(c, PQerrorMessage(c->pg));
      return;
    }
    while (!PQisBusy(c->pg)) {
      PGresult *r = PQgetResult(c->pg);
      if (!r) {
        finish_query(c);
        return;
      }
      if (!c->res)
        c->res = r;
      else
        PQclear(r);
    }
  }
  if (watch(c, UV_READABLE | (c->flushing ? UV_WRITABLE : 0)) != 0)
    lost(c, "cannot watch the connection's socket");
}

static void idle_read(pconn_t *c) {
  if (!PQconsumeInput(c->pg) || PQstatus(c->pg) == CONNECTION_BAD) {
    lost(c, PQerrorMessage(c->pg));
    return;
  }
  PGnotify *n;
  while ((n = PQnotifies(c->pg)) != NULL)
    PQfreemem(n);
}

static void on_poll(uv_poll_t *h, int status, int events) {
  pconn_t *c = h->data;
  if (status < 0)
    events = UV_READABLE | UV_WRITABLE; /* let libpq find out what is wrong */
  switch (c->state) {
  case C_CONNECTING:
    connect_step(c);
    break;
  case C_IDLE:
    if (events & UV_READABLE)
      idle_read(c);
    break;
  case C_BUSY:
    busy_step(c, events);
    break;
  case C_DOWN:
    break;
  }
}

static void on_sweep(uv_timer_t *t) {
  idx_dbpool_t *pool = t->data;
  uint64_t now = uv_now(pool->loop);
  while (pool->qhead && now - pool->qhead->queued_at >= pool->opts.queue_timeout_ms) {
    query_t *q = pool->qhead;
    pool->qhead = q->next;
    if (!pool->qhead)
      pool->qtail = NULL;
    pool->nqueued--;
    deliver(pool, q, IDX_ERR_TIMEOUT, "no database connection free in time");
    if (pool->closing)
      return;
  }
}

int idx_dbpool_query(idx_dbpool_t *pool, const char *sql, size_t nparams, const char *const *params,
                     idx_dbpool_cb cb, void *ud) {
  if (pool->closing)
    return IDX_ERR_CANCELLED;
  if (nparams > IDX_DBPOOL_MAX_PARAMS || (nparams && !params))
    return IDX_ERR_INVAL;
  if (pool->up == 0 && pool->failing) {
    pool->st.rejected++;
    return IDX_ERR_DB_CONN;
  }
  if (pool->nqueued >= pool->opts.max_queue) {
    pool->st.rejected++;
    return IDX_ERR_TOO_LARGE;
  }
  size_t need = strlen(sql) + 1;
  for (size_t i = 0; i < nparams; i++)
    need += params[i] ? strlen(params[i]) + 1 : 0;
  query_t *q = malloc(sizeof *q + need);
  if (!q)
    return IDX_ERR_NOMEM;
  q->next = NULL;
  q->cb = cb;
  q->ud = ud;
  q->queued_at = uv_now(pool->loop);
  q->nparams = (int)nparams;
  char *p = q->data;
  size_t len = strlen(sql) + 1;
  memcpy(p, sql, len);
  q->sql = p;
  p += len;
  for (size_t i = 0; i < nparams; i++) {
    if (!params[i]) {
      q->params[i] = NULL;
      continue;
    }
    len = strlen(params[i]) + 1;
    memcpy(p, params[i], len);
    q->params[i] = p;
    p += len;
  }
  if (pool->qtail)
    pool->qtail->next = q;
  else
    pool->qhead = q;
  pool->qtail = q;
  pool->nqueued++;
  for (size_t i = 0; i < pool->n && pool->qhead; i++)
    next_query(&pool->conns[i]);
  return 0;
}

/* ---- pool --------------------------------------------------------------- */

/* The conninfo's own "options" followed by ours. */
static char *merged_options(const char *conninfo, const idx_dbpool_options_t *o) {
  char *perr = NULL;
  PQconninfoOption *parsed = PQconninfoParse(conninfo, &perr);
  if (!parsed) {
    if (perr) {
      char msg[512];
      idx_log_error("dbpool", "bad conninfo: %s", pq_message(perr, msg, sizeof msg));
      PQfreemem(perr);
    }
    return NULL;
  }
  const char *theirs = "";
  for (PQconninfoOption *opt = parsed; opt->keyword; opt++) {
    if (strcmp(opt->keyword, "options") == 0 && opt->val)
      theirs = opt->val;
  }
  char ours[160];
  snprintf(ours, sizeof ours, "-c statement_timeout=%llu -c default_transaction_read_only=on",
           (unsigned long long)o->statement_timeout_ms);
  size_t need = strlen(theirs) + strlen(ours) + 2;
  char *out = malloc(need);
  if (out)
    snprintf(out, need, "%s%s%s", theirs, *theirs ? " " : "", ours);
  PQconninfoFree(parsed);
  return out;
}

int idx_dbpool_new(idx_dbpool_t **out, uv_loop_t *loop, const idx_dbpool_options_t *opts) {
  *out = NULL;
  if (!opts->conninfo || opts->size == 0 || opts->size > 1000)
    return IDX_ERR_INVAL;
  idx_dbpool_t *pool = calloc(1, sizeof *pool);
  if (!pool)
    return IDX_ERR_NOMEM;
  pool->loop = loop;
  pool->opts = *opts;
  if (pool->opts.backoff_min_ms == 0)
    pool->opts.backoff_min_ms = 1;
  if (pool->opts.backoff_max_ms < pool->opts.backoff_min_ms)
    pool->opts.backoff_max_ms = pool->opts.backoff_min_ms;
  pool->n = opts->size;
  pool->conninfo = strdup(opts->conninfo);
  pool->app_name = strdup(opts->application_name ? opts->application_name : "dimo-indexer-api");
  pool->conns = calloc(pool->n, sizeof *pool->conns);
  if (!pool->conninfo || !pool->app_name || !pool->conns) {
    free(pool->conninfo);
    free(pool->app_name);
    free(pool->conns);
    free(pool);
    return IDX_ERR_NOMEM;
  }
  pool->pg_options = merged_options(pool->conninfo, opts);
  if (!pool->pg_options) {
    free(pool->conninfo);
    free(pool->app_name);
    free(pool->conns);
    free(pool);
    return IDX_ERR_INVAL;
  }
  pool->opts.conninfo = pool->conninfo;
  pool->st.size = pool->n;
  uv_timer_init(loop, &pool->sweep);
  pool->sweep.data = pool;
  pool->handles++;
  uv_timer_start(&pool->sweep, on_sweep, SWEEP_MS, SWEEP_MS);
  for (size_t i = 0; i < pool->n; i++) {
    pconn_t *c = &pool->conns[i];
    c->pool = pool;
    c->state = C_DOWN;
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    pool->handles++;
  }
  for (size_t i = 0; i < pool->n; i++)
    start_connect(&pool->conns[i]);
  *out = pool;
  return 0;
}

void idx_dbpool_close(idx_dbpool_t *pool, void (*closed_cb)(void *ud), void *ud) {
  if (!pool || pool->closing)
    return;
  pool->closing = true;
  pool->closed_cb = closed_cb;
  pool->closed_ud = ud;
  fail_queue(pool, IDX_ERR_CANCELLED, "shutting down");
  for (size_t i = 0; i < pool->n; i++) {
    pconn_t *c = &pool->conns[i];
    query_t *q = c->q;
    c->q = NULL;
    drop(c);
    c->state = C_DOWN;
    if (q)
      deliver(pool, q, IDX_ERR_CANCELLED, "shutting down");
  }
  for (size_t i = 0; i < pool->n; i++) {
    pool->conns[i].timer.data = pool;
    uv_close((uv_handle_t *)&pool->conns[i].timer, on_timer_closed);
  }
  uv_close((uv_handle_t *)&pool->sweep, on_timer_closed);
}

void idx_dbpool_stats(const idx_dbpool_t *pool, idx_dbpool_stats_t *out) {
  *out = pool->st;
  out->up = pool->up;
  out->queued = pool->nqueued;
  uint64_t busy = 0;
  for (size_t i = 0; i < pool->n; i++)
    busy += pool->conns[i].state == C_BUSY;
  out->busy = busy;
}
