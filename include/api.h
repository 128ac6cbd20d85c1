/*
 * api.h: the node-operator HTTP API: routes, validation, JSON answers.
 *
 * Runs on the daemon's libuv loop beside the sync engine: an HTTP server
 * (http.h) hands it requests; it validates them, reads the database
 * through a pool of asynchronous connections (dbpool.h) by sending the
 * statements of query.h (each one statement, so every answer reflects
 * whole committed batches), and checks signed requests (sig.h). The routes
 * are one table in api.c; the cache is cache.h, /metrics metrics.h.
 *
 *   GET  /v1/apps/{tokenId|clientId|alias}           license document
 *   GET  /v1/apps/{id}/signers/{address}             {valid, enabled_at, expires_at, ...}
 *   GET  /v1/nodes/{tokenId|owner}                   license document
 *   GET  /v1/manufacturers/{tokenId|owner}           license document
 *   GET  /v1/connections/{tokenId|name}              license document
 *   GET  /v1/admin-actions?license=&action=&executor=&from_block=&to_block=&limit=&after=&format=
 *   GET  /v1/licenses?class=&status=&owner=&limit=&after=
 *   GET  /v1/slashes?license=&after=&limit=
 *   GET  /v1/access?client_id=&asset=&token_id=&permission=&signer=&at_time=
 *        (grantor= instead of asset= and token_id=: an account grant)
 *                                                    {allowed, reasons, license, grant, ...}
 *   POST /v1/verify  {client_id, message | message_hex, signature
 *                     [, asset, token_id, permission]}
 *   GET  /v1/overview?at_block=&license=               counts, stake, slash totals, months
 *   GET  /healthz, /readyz, /metrics
 *   GET  /, /app.js, ...                             the page (web.h), unless http_ui is off
 *   (the reads take ?at_block=N)
 *
 * Answers of the license routes and /v1/verify are cached, keyed by route
 * and normalized inputs, for at most max_age_ms (at most cache_entries
 * answers and 64 MiB, oldest evicted first; none above 1 MiB); idx_api_on_commit (the
 * sync engine committed or rolled back) empties the cache, and an answer
 * read before such a commit is never cached after it. A valid /v1/verify
 * answer (which depends on the wall clock) is kept no later than its
 * signer's expiry, an allowed /v1/access answer no later than its
 * allowed_until.
 */
#ifndef IDX_API_H
#define IDX_API_H

#include "common.h"

#include "config.h"

#include <uv.h>

typedef struct idx_api_s idx_api_t;

/* What /metrics and /readyz know of the rest of the process: defined in
 * metrics.h, which the status callback's owner includes. */
typedef struct idx_api_status_s idx_api_status_t;
typedef struct idx_sync_status_s idx_sync_status_t; /* sync.h */

/* Fills out (zeroed by the caller) with the current status. */
typedef void (*idx_api_status_cb)(void *ud, idx_api_status_t *out);

typedef struct idx_api_options_s {
  uint64_t chain_id;
  const char *conninfo;        /* copied */
  const char *listen;          /* "IP:PORT" */
  size_t max_conns;            /* default 1024 */
  uint64_t timeout_ms;         /* HTTP request timeout; default 10000 */
  size_t max_output;           /* all HTTP clients' requests and answers; default 64 MiB */
  size_t conn_output;          /* one connection's unread answers; default 1 MiB */
  size_t db_pool;              /* database connections; default 4 */
  uint64_t ready_lag;          /* /readyz: most blocks behind the target; default 10 */
  size_t cache_entries;        /* 0 disables the cache; default 65536 */
  uint64_t max_age_ms;         /* longest an answer is cached; default 2000 */
  bool http_ui;                /* serve the page (web.h) at /; default true */
  const char *explorer_url;    /* the page links tx hashes here; NULL: none (borrowed) */
  idx_api_status_cb status_cb; /* may be NULL */
  void *status_ud;
} idx_api_options_t;

/* Fills o with the defaults above. */
void idx_api_options_default(idx_api_options_t *o) IDX_NONNULL(1);

/* Fills o with the defaults, then the API options of cfg (run's and
 * serve's --http, --http-*, --db-pool, --ready-lag): one place for both
 * commands. The callbacks are the caller's to set. */
void idx_api_options_from_config(idx_api_options_t *o, const idx_config_t *cfg, uint64_t chain_id)
    IDX_NONNULL(1, 2);

/* Starts the database pool and the HTTP server. Returns 0, or an error
 * with a message in err: IDX_ERR_CONFIG (bad listen address), IDX_ERR_IO
 * (cannot listen), IDX_ERR_INVAL, IDX_ERR_NOMEM. */
IDX_WARN_UNUSED int idx_api_start(idx_api_t **out, uv_loop_t *loop, const idx_api_options_t *opts,
                                  char *err, size_t errlen) IDX_NONNULL(1, 2, 3, 4);

/* The HTTP port bound. */
int idx_api_port(const idx_api_t *api) IDX_NONNULL(1);

/* The sync engine committed a batch (rollback false) or a rollback
 * (true): forget cached answers; st gives the batch's database time. */
void idx_api_on_commit(idx_api_t *api, const idx_sync_status_t *st, bool rollback)
    IDX_NONNULL(1, 2);

/* Stops serving: closes the server and the pool (requests in flight are
 * answered 503), then frees the API; closed_cb (may be NULL) runs once
 * everything is closed. */
void idx_api_close(idx_api_t *api, void (*closed_cb)(void *ud), void *ud);

#endif
