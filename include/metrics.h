/*
 * metrics.h: Prometheus text rendering of every module's counters.
 *
 * Each module keeps and exposes its own counters (sync.h's status, rpc.h's
 * stats, http.h's, dbpool.h's, cache.h's, the API's per-route stats); this
 * module only turns them into /metrics lines, so the API (api.h) depends on
 * none of them for that. To add a line: keep the counter in its module,
 * render it with idx_metrics_u64 (or a histogram) from the renderer of
 * that module's struct below, or from the API's metrics_cb.
 */
#ifndef IDX_METRICS_H
#define IDX_METRICS_H

#include "common.h"

#include "buf.h"
#include "cache.h"
#include "config.h"
#include "dbpool.h"
#include "http.h"
#include "rpc.h"
#include "sync.h"

/* What /metrics and /readyz know of the rest of the process (filled by
 * the API's status callback, api.h). */
typedef struct idx_api_status_s {
  bool has_sync; /* false: no sync engine (readiness is then the database only) */
  idx_sync_status_t sync;
  bool has_rpc;
  idx_rpc_stats_t rpc;
  size_t nurls;
  idx_rpc_url_stats_t urls[IDX_CONFIG_MAX_RPC];
  /* `serve` (replica.h): not empty, why /readyz answers 503 (its block
   * fields come from sync all the same); metrics_cb (may be NULL) appends
   * more /metrics lines. */
  char not_ready[200];
  int (*metrics_cb)(void *ud, struct idx_buf_s *b);
  void *metrics_ud;
} idx_api_status_t;

/* "# HELP" and "# TYPE" lines. */
IDX_WARN_UNUSED int idx_metrics_head(idx_buf_t *b, const char *name, const char *type,
                                     const char *help) IDX_NONNULL(1, 2, 3, 4);
/* The head and one unlabelled sample. */
IDX_WARN_UNUSED int idx_metrics_u64(idx_buf_t *b, const char *name, const char *type,
                                    const char *help, uint64_t v) IDX_NONNULL(1, 2, 3, 4);
/* A label value with \, " and newline escaped. */
IDX_WARN_UNUSED int idx_metrics_label(idx_buf_t *b, const char *s) IDX_NONNULL(1, 2);

/* A histogram of durations in seconds over fixed bounds (+Inf implied). */
#define IDX_METRICS_NBOUNDS 13
typedef struct idx_metrics_hist_s {
  const double *bounds; /* IDX_METRICS_NBOUNDS upper bounds */
  uint64_t buckets[IDX_METRICS_NBOUNDS + 1];
  double sum;
  uint64_t count;
} idx_metrics_hist_t;
extern const double idx_metrics_request_bounds[IDX_METRICS_NBOUNDS]; /* 0.5 ms .. 5 s */
extern const double idx_metrics_batch_bounds[IDX_METRICS_NBOUNDS];   /* 1 ms .. 10 s */
void idx_metrics_observe(idx_metrics_hist_t *h, double secs) IDX_NONNULL(1);

/* An API route's answers by status code and their durations. */
#define IDX_METRICS_NCODES 11 /* 200 400 404 405 408 413 415 431 500 503, other */
typedef struct idx_route_stats_s {
  const char *name; /* the route label */
  uint64_t codes[IDX_METRICS_NCODES];
  idx_metrics_hist_t dur;
} idx_route_stats_t;
void idx_metrics_route_init(idx_route_stats_t *r, const char *name) IDX_NONNULL(1, 2);
void idx_metrics_route_record(idx_route_stats_t *r, int status, double secs) IDX_NONNULL(1);

/* The renderers, one per module's counters. */
IDX_WARN_UNUSED int idx_metrics_build(idx_buf_t *b, const char *chain_id) IDX_NONNULL(1, 2);
IDX_WARN_UNUSED int idx_metrics_sync(idx_buf_t *b, const idx_sync_status_t *s) IDX_NONNULL(1, 2);
IDX_WARN_UNUSED int idx_metrics_batches(idx_buf_t *b, const idx_metrics_hist_t *h)
    IDX_NONNULL(1, 2);
/* events_json: {"events": {"Issued": 12, ...}, "unknown": [[contract, role,
 * topic0, n], ...]} (idx_query_events_sql; NULL: none read yet). */
IDX_WARN_UNUSED int idx_metrics_events(idx_buf_t *b, const char *events_json) IDX_NONNULL(1);
IDX_WARN_UNUSED int idx_metrics_rpc(idx_buf_t *b, const idx_rpc_stats_t *r,
                                    const idx_rpc_url_stats_t *urls, size_t nurls)
    IDX_NONNULL(1, 2);
IDX_WARN_UNUSED int idx_metrics_routes(idx_buf_t *b, const idx_route_stats_t *r, size_t n)
    IDX_NONNULL(1, 2);
IDX_WARN_UNUSED int idx_metrics_http(idx_buf_t *b, const idx_http_stats_t *hs) IDX_NONNULL(1, 2);
IDX_WARN_UNUSED int idx_metrics_cache(idx_buf_t *b, const idx_cache_t *c) IDX_NONNULL(1, 2);
IDX_WARN_UNUSED int idx_metrics_pool(idx_buf_t *b, const idx_dbpool_stats_t *ps) IDX_NONNULL(1, 2);

#endif
