/*
 * dbpool.h: a few asynchronous PostgreSQL connections on the libuv loop,
 * for the HTTP API's reads.
 *
 * The sync engine's store (store.h) is blocking libpq run on a worker
 * thread; the API instead needs many short reads interleaved on the loop.
 * So this module is the loop's libpq user: connections are opened with
 * PQconnectStartParams/PQconnectPoll, queries sent with
 * PQsendQueryParams, and each socket is watched by a uv_poll handle, so
 * no call waits on the server. (One caveat from libpq itself: a host
 * *name* in the conninfo is resolved synchronously when a connection
 * starts; a numeric host, hostaddr= or a unix socket avoids that.)
 *
 * Every query is one statement run in its own implicit transaction, so it
 * sees exactly the transactions committed before it started: never half
 * of the sync engine's batch.
 *
 * Connections are read-only (default_transaction_read_only) and carry a
 * statement_timeout. A query waits in a FIFO queue while every connection
 * is busy; the queue is capped (beyond it, IDX_ERR_TOO_LARGE at once) and
 * a query that waited longer than queue_timeout_ms fails with
 * IDX_ERR_TIMEOUT. A lost connection is re-opened with exponential
 * backoff; while no connection is up and the last attempt failed, queries
 * fail at once with IDX_ERR_DB_CONN (the caller answers 503) instead of
 * waiting, and the pool keeps trying in the background.
 *
 * Everything runs on the loop's thread; nothing here is thread-safe.
 */
#ifndef IDX_DBPOOL_H
#define IDX_DBPOOL_H

#include "common.h"

#include <uv.h>

typedef struct idx_dbpool_s idx_dbpool_t;

typedef struct idx_dbpool_options_s {
  const char *conninfo;          /* libpq keywords or URI; copied */
  size_t size;                   /* connections; default 4 */
  size_t max_queue;              /* waiting queries; default 1024 */
  uint64_t statement_timeout_ms; /* server-side; default 5000 */
  uint64_t queue_timeout_ms;     /* longest wait for a connection; default 5000 */
  uint64_t connect_timeout_ms;   /* one connection attempt; default 10000 */
  uint64_t backoff_min_ms;       /* first reconnect delay; default 100 */
  uint64_t backoff_max_ms;       /* longest reconnect delay; default 5000 */
  size_t max_value;              /* largest answer accepted, bytes; default 64 MiB */
  const char *application_name;  /* default "dimo-indexer-api" */
} idx_dbpool_options_t;

/* Fills o with the defaults above (conninfo left NULL). */
void idx_dbpool_options_default(idx_dbpool_options_t *o) IDX_NONNULL(1);

/* The answer to one query: the first column of the first row. */
typedef struct idx_dbpool_result_s {
  /* 0; IDX_ERR_DB (the statement failed: sqlstate and message say why);
   * IDX_ERR_DB_CONN (the connection was lost, or none could be opened);
   * IDX_ERR_TIMEOUT (waited too long for a connection); IDX_ERR_TOO_LARGE
   * (the value is above max_value); IDX_ERR_CANCELLED (the pool closed). */
  int status;
  const char *value; /* text form, NUL-terminated; NULL for SQL NULL or no row */
  size_t len;
  const char *sqlstate; /* "" unless IDX_ERR_DB */
  const char *message;  /* the server's primary message, or a reason; "" on success */
} idx_dbpool_result_t;

/* Borrowed pointers in res are valid until the callback returns. The
 * callback may send further queries or close the pool. */
typedef void (*idx_dbpool_cb)(void *ud, const idx_dbpool_result_t *res);

/* Starts opening the connections. Returns 0, IDX_ERR_INVAL (no conninfo,
 * size 0), IDX_ERR_NOMEM. Connection failures are not errors here: they
 * are retried and reported through queries and idx_dbpool_stats. */
IDX_WARN_UNUSED int idx_dbpool_new(idx_dbpool_t **out, uv_loop_t *loop,
                                   const idx_dbpool_options_t *opts) IDX_NONNULL(1, 2, 3);

/* Fails every waiting and running query with IDX_ERR_CANCELLED (their
 * callbacks run before this returns), closes the connections, and frees
 * the pool once its handles are closed; closed_cb (may be NULL) runs then. */
void idx_dbpool_close(idx_dbpool_t *pool, void (*closed_cb)(void *ud), void *ud);

/* Most parameters a query takes. */
#define IDX_DBPOOL_MAX_PARAMS 8

/* Queues sql with nparams text parameters (NULL = SQL NULL; copied).
 * The callback runs exactly once, never before this returns. Returns 0,
 * or without calling cb: IDX_ERR_DB_CONN (no connection up and the last
 * attempt failed), IDX_ERR_TOO_LARGE (the queue is full), IDX_ERR_INVAL
 * (too many parameters), IDX_ERR_CANCELLED (closing), IDX_ERR_NOMEM. */
IDX_WARN_UNUSED int idx_dbpool_query(idx_dbpool_t *pool, const char *sql, size_t nparams,
                                     const char *const *params, idx_dbpool_cb cb, void *ud)
    IDX_NONNULL(1, 2, 5);

typedef struct idx_dbpool_stats_s {
  uint64_t size;
  uint64_t up;         /* connections open (idle or busy) */
  uint64_t busy;       /* running a query */
  uint64_t queued;     /* waiting for a connection */
  uint64_t queries;    /* completed with an answer (status 0) */
  uint64_t errors;     /* completed with any error */
  uint64_t rejected;   /* refused at once (queue full or database down) */
  uint64_t connects;   /* successful connections */
  uint64_t conn_fails; /* failed connection attempts */
  uint64_t lost;       /* open connections lost */
} idx_dbpool_stats_t;

void idx_dbpool_stats(const idx_dbpool_t *pool, idx_dbpool_stats_t *out) IDX_NONNULL(1, 2);

#endif
