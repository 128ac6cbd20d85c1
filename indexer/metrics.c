/*
 * metrics.c: Prometheus text of every module's counters (see metrics.h).
 */
#include "common.h"

#include "metrics.h"

#include <jansson.h>

#include <stddef.h>
#include <string.h>

const double idx_metrics_request_bounds[IDX_METRICS_NBOUNDS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
const double idx_metrics_batch_bounds[IDX_METRICS_NBOUNDS] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

static const int codes[IDX_METRICS_NCODES - 1] = {200, 400, 404, 405, 408, 413, 415, 431, 500, 503};

#define TRY(x)                                                                                     \
  do {                                                                                             \
    int rc_ = (x);                                                                                 \
    if (rc_)                                                                                       \
      return rc_;                                                                                  \
  } while (0)

/* Unlabelled uint64_t counters of one module's stats struct. */
typedef struct counter_s {
  const char *name, *type, *help;
  size_t offset;
} counter_t;

static const counter_t rpc_counters[] = {
    {"dimo_rpc_batches_total", "counter", "JSON-RPC batches completed.",
     offsetof(idx_rpc_stats_t, batches)},
    {"dimo_rpc_requests_total", "counter", "JSON-RPC requests in completed batches.",
     offsetof(idx_rpc_stats_t, requests)},
    {"dimo_rpc_http_exchanges_total", "counter",
     "HTTP exchanges with JSON-RPC endpoints, retries included.",
     offsetof(idx_rpc_stats_t, http_exchanges)},
    {"dimo_rpc_failures_total", "counter",
     "Failed JSON-RPC exchanges (transport faults, too-large answers).",
     offsetof(idx_rpc_stats_t, failures)},
    {"dimo_rpc_rate_limited_total", "counter", "HTTP 429 answers.",
     offsetof(idx_rpc_stats_t, rate_limited)},
    {"dimo_rpc_errors_total", "counter", "JSON-RPC error objects received.",
     offsetof(idx_rpc_stats_t, rpc_errors)},
    {"dimo_rpc_received_bytes_total", "counter", "JSON-RPC answer bytes received.",
     offsetof(idx_rpc_stats_t, bytes_received)},
};

static const counter_t http_counters[] = {
    {"dimo_http_connections_open", "gauge", "Open HTTP connections.",
     offsetof(idx_http_stats_t, connections_open)},
    {"dimo_http_connections_total", "counter", "HTTP connections accepted.",
     offsetof(idx_http_stats_t, connections_total)},
    {"dimo_http_connections_rejected_total", "counter",
     "Connections refused over --http-max-conns.",
     offsetof(idx_http_stats_t, connections_rejected)},
};

static const counter_t http_counters2[] = {
    {"dimo_http_idle_closed_total", "counter", "Idle connections closed.",
     offsetof(idx_http_stats_t, idle_closed)},
    {"dimo_http_output_bytes", "gauge", "Bytes of requests and answers held for HTTP clients.",
     offsetof(idx_http_stats_t, output_bytes)},
    {"dimo_http_output_refused_total", "counter",
     "Answers or request bodies refused (503) because --http-max-output was reached.",
     offsetof(idx_http_stats_t, output_refused)},
    {"dimo_http_output_closed_total", "counter",
     "Connections closed for holding the most output at --http-max-output.",
     offsetof(idx_http_stats_t, output_closed)},
};

static const counter_t pool_counters[] = {
    {"dimo_db_pool_size", "gauge", "API database connections configured.",
     offsetof(idx_dbpool_stats_t, size)},
    {"dimo_db_pool_up", "gauge", "API database connections open.",
     offsetof(idx_dbpool_stats_t, up)},
    {"dimo_db_pool_busy", "gauge", "API database connections running a query.",
     offsetof(idx_dbpool_stats_t, busy)},
    {"dimo_db_pool_queued", "gauge", "Queries waiting for a connection.",
     offsetof(idx_dbpool_stats_t, queued)},
    {"dimo_db_pool_queries_total", "counter", "API queries answered.",
     offsetof(idx_dbpool_stats_t, queries)},
    {"dimo_db_pool_errors_total", "counter", "API queries failed.",
     offsetof(idx_dbpool_stats_t, errors)},
    {"dimo_db_pool_rejected_total", "counter", "API queries refused (database down or queue full).",
     offsetof(idx_dbpool_stats_t, rejected)},
    {"dimo_db_pool_connect_failures_total", "counter", "Failed API database connection attempts.",
     offsetof(idx_dbpool_stats_t, conn_fails)},
    {"dimo_db_pool_lost_total", "counter", "API database connections lost.",
     offsetof(idx_dbpool_stats_t, lost)},
};

static int counters(idx_buf_t *b, const counter_t *c, size_t n, const void *stats) {
  for (size_t i = 0; i < n; i++) {
    uint64_t v;
    memcpy(&v, (const char *)stats + c[i].offset, sizeof v);
    TRY(idx_metrics_u64(b, c[i].name, c[i].type, c[i].help, v));
  }
  return 0;
}

int idx_metrics_head(idx_buf_t *b, const char *name, const char *type, const char *help) {
  return idx_buf_addf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

int idx_metrics_u64(idx_buf_t *b, const char *name, const char *type, const char *help,
                    uint64_t v) {
  int rc = idx_metrics_head(b, name, type, help);
  return rc ? rc : idx_buf_addf(b, "%s %llu\n", name, (unsigned long long)v);
}

int idx_metrics_label(idx_buf_t *b, const char *s) {
  int rc = 0;
  for (; *s && rc == 0; s++) {
    if (*s == '\\' || *s == '"')
      rc = idx_buf_addf(b, "\\%c", *s);
    else if (*s == '\n')
      rc = idx_buf_adds(b, "\\n");
    else
      rc = idx_buf_add(b, s, 1);
  }
  return rc;
}

void idx_metrics_observe(idx_metrics_hist_t *h, double secs) {
  size_t i = 0;
  while (i < IDX_METRICS_NBOUNDS && secs > h->bounds[i])
    i++;
  h->buckets[i]++;
  h->sum += secs;
  h->count++;
}

void idx_metrics_route_init(idx_route_stats_t *r, const char *name) {
  memset(r, 0, sizeof *r);
  r->name = name;
  r->dur.bounds = idx_metrics_request_bounds;
}

void idx_metrics_route_record(idx_route_stats_t *r, int status, double secs) {
  size_t k = 0;
  while (k < IDX_ARRAY_LEN(codes) && codes[k] != status)
    k++;
  r->codes[k]++; /* the last counts any other code */
  idx_metrics_observe(&r->dur, secs);
}

int idx_metrics_build(idx_buf_t *b, const char *chain_id) {
  TRY(idx_metrics_head(b, "dimo_build_info", "gauge", "Version and chain of this process."));
  return idx_buf_addf(b, "dimo_build_info{version=\"%s\",chain_id=\"%s\"} 1\n", IDX_VERSION,
                      chain_id);
}

int idx_metrics_sync(idx_buf_t *b, const idx_sync_status_t *s) {
  uint64_t lag = s->target > s->cursor ? s->target - s->cursor : 0;
  uint64_t head_lag = s->head > s->cursor ? s->head - s->cursor : 0;
  /* An index above the node's head (a lagging node, or a chain that
   * became shorter: the follower compares and rolls back), which the lags
   * above cannot show (gauges kept non-negative for existing alerts). */
  uint64_t ahead = s->head && s->cursor > s->head ? s->cursor - s->head : 0;
  TRY(idx_metrics_u64(b, "dimo_chain_head_block", "gauge", "Chain head seen last.", s->head));
  TRY(idx_metrics_u64(b, "dimo_sync_standby", "gauge",
                      "1 while another instance holds the writer lock and this one waits.",
                      s->standby ? 1 : 0));
  TRY(idx_metrics_u64(b, "dimo_sync_target_block", "gauge",
                      "Highest block the engine may index now (head minus confirmations, or the "
                      "safe/finalized tag).",
                      s->target));
  TRY(idx_metrics_u64(b, "dimo_indexed_block", "gauge", "Last indexed block (the cursor).",
                      s->cursor));
  if (s->has_first_block)
    TRY(idx_metrics_u64(b, "dimo_first_block", "gauge",
                        "First block of the indexed history (nothing below it is indexed).",
                        s->first_block));
  TRY(idx_metrics_u64(b, "dimo_index_lag_blocks", "gauge", "Target block minus indexed block.",
                      lag));
  TRY(idx_metrics_u64(b, "dimo_head_lag_blocks", "gauge", "Chain head minus indexed block.",
                      head_lag));
  TRY(idx_metrics_u64(b, "dimo_index_ahead_blocks", "gauge",
                      "Indexed block minus chain head, when the index is above the node's head.",
                      ahead));
  TRY(idx_metrics_u64(b, "dimo_sync_batches_total", "counter", "Batches written by this process.",
                      s->batches));
  TRY(idx_metrics_u64(b, "dimo_sync_logs_written_total", "counter", "Logs stored by this process.",
                      s->logs));
  TRY(idx_metrics_u64(b, "dimo_sync_unknown_logs_total", "counter",
                      "Logs no ABI knows, stored raw by this process (unknown_logs; #22).",
                      s->unknown_logs));
  TRY(idx_metrics_u64(b, "dimo_sync_inconsistencies_total", "counter",
                      "Inconsistent node answers retried.", s->inconsistencies));
  TRY(idx_metrics_u64(b, "dimo_sync_range_limits_total", "counter",
                      "Provider eth_getLogs range or size limits met.", s->range_limits));
  TRY(idx_metrics_u64(b, "dimo_sync_log_range_blocks", "gauge", "Current eth_getLogs block span.",
                      s->range));
  TRY(idx_metrics_u64(b, "dimo_reorgs_total", "counter", "Reorgs rolled back.", s->reorgs));
  if (s->has_finalized)
    TRY(idx_metrics_u64(b, "dimo_finalized_block", "gauge",
                        "The chain's finalized block as nodes named it (never goes down).",
                        s->finalized));
  TRY(idx_metrics_u64(
      b, "dimo_sync_provider_faults_total", "counter",
      "Answers that contradicted a finalized block, a header or an ABI (asked again "
      "elsewhere).",
      s->provider_faults));
  TRY(idx_metrics_u64(b, "dimo_sync_reorgs_refused_total", "counter",
                      "Fork searches not rolled back: below the finalized block or not confirmed.",
                      s->reorgs_refused));
  TRY(idx_metrics_u64(b, "dimo_sync_log_headers_total", "counter",
                      "Headers fetched to check the block hash of logs.", s->log_headers));
  TRY(idx_buf_addf(b,
                   "# HELP dimo_sync_failing Failures in a row, per cause (not ready from %d).\n"
                   "# TYPE dimo_sync_failing gauge\n"
                   "dimo_sync_failing{cause=\"rpc\"} %u\ndimo_sync_failing{cause=\"answers\"} %u\n",
                   IDX_SYNC_FAILING_NOT_READY, s->rpc_failing, s->answers_failing));
  TRY(idx_metrics_u64(b, "dimo_rpc_wrong_chain_endpoints", "gauge",
                      "JSON-RPC endpoints out of rotation: they serve another chain.",
                      s->wrong_chain_urls));
  TRY(idx_metrics_u64(b, "dimo_sync_ranges_in_flight", "gauge",
                      "Backfill ranges in flight now (the window, below the reorg window).",
                      s->inflight));
  TRY(idx_metrics_u64(b, "dimo_sync_ranges_allowed", "gauge",
                      "Backfill ranges allowed in flight now (AIMD, at most --max-inflight).",
                      s->inflight_allowed));
  TRY(idx_metrics_u64(
      b, "dimo_sync_held_bytes", "gauge",
      "Bytes of answers held for ranges not yet written (at most --max-held-bytes).",
      s->held_bytes));
  TRY(idx_metrics_u64(b, "dimo_sync_halted", "gauge",
                      "1 when the follower stopped on a fatal error (the API still answers).",
                      s->halted ? 1 : 0));
  TRY(idx_metrics_u64(b, "dimo_reorg_last_depth_blocks", "gauge", "Depth of the last reorg.",
                      s->last_reorg_depth));
  TRY(idx_metrics_u64(b, "dimo_reorg_max_depth_blocks", "gauge", "Deepest reorg seen.",
                      s->max_reorg_depth));
  TRY(idx_metrics_head(b, "dimo_db_last_batch_seconds", "gauge",
                       "Database time of the last batch written."));
  TRY(idx_buf_addf(b, "dimo_db_last_batch_seconds %.6f\n", s->last_batch_ms / 1000.0));
  return 0;
}

int idx_metrics_batches(idx_buf_t *b, const idx_metrics_hist_t *h) {
  TRY(idx_metrics_head(b, "dimo_db_batch_duration_seconds", "histogram",
                       "Database time of each batch written (one transaction)."));
  uint64_t cum = 0;
  for (size_t i = 0; i < (IDX_METRICS_NBOUNDS + 1); i++) {
    cum += h->buckets[i];
    if (i < (IDX_METRICS_NBOUNDS + 1) - 1)
      TRY(idx_buf_addf(b, "dimo_db_batch_duration_seconds_bucket{le=\"%g\"} %llu\n", h->bounds[i],
                       (unsigned long long)cum));
    else
      TRY(idx_buf_addf(b, "dimo_db_batch_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
                       (unsigned long long)cum));
  }
  TRY(idx_buf_addf(b, "dimo_db_batch_duration_seconds_sum %.6f\n", h->sum));
  TRY(idx_buf_addf(b, "dimo_db_batch_duration_seconds_count %llu\n", (unsigned long long)h->count));

  return 0;
}

int idx_metrics_events(idx_buf_t *b, const char *events_json) {
  int rc =
      idx_metrics_head(b, "dimo_stored_events", "gauge",
                       "Logs stored in the database per event name (read at most every 10 s).");
  if (rc)
    return rc;
  json_t *all = events_json ? json_loads(events_json, 0, NULL) : NULL;
  json_t *ev = json_object_get(all, "events");
  if (json_is_object(ev)) {
    const char *name;
    json_t *v;
    json_object_foreach(ev, name, v) {
      if (!json_is_integer(v))
        continue;
      rc = idx_buf_adds(b, "dimo_stored_events{event=\"");
      if (!rc)
        rc = idx_metrics_label(b, name);
      if (!rc)
        rc = idx_buf_addf(b, "\"} %lld\n", (long long)json_integer_value(v));
      if (rc)
        break;
    }
  }
  /* #22: logs no ABI knows, per contract and topic0 (stored raw). */
  json_t *unknown = json_object_get(all, "unknown");
  if (!rc)
    rc = idx_metrics_head(b, "dimo_unknown_events", "gauge",
                          "Logs stored raw because no ABI knows them, per contract and topic0 "
                          "(read at most every 10 s; they follow reorgs).");
  size_t i;
  json_t *row;
  json_array_foreach(unknown, i, row) {
    if (rc)
      break;
    const char *contract = json_string_value(json_array_get(row, 0));
    const char *role = json_string_value(json_array_get(row, 1));
    const char *topic0 = json_string_value(json_array_get(row, 2));
    json_t *n = json_array_get(row, 3);
    if (!contract || !json_is_integer(n))
      continue;
    rc = idx_buf_adds(b, "dimo_unknown_events{contract=\"");
    if (!rc)
      rc = idx_metrics_label(b, contract);
    if (!rc)
      rc = idx_buf_adds(b, "\",role=\"");
    if (!rc)
      rc = idx_metrics_label(b, role ? role : "");
    if (!rc)
      rc = idx_buf_adds(b, "\",topic0=\"");
    if (!rc)
      rc = idx_metrics_label(b, topic0 ? topic0 : "none");
    if (!rc)
      rc = idx_buf_addf(b, "\"} %lld\n", (long long)json_integer_value(n));
  }
  json_decref(all);
  return rc;
}

int idx_metrics_rpc(idx_buf_t *b, const idx_rpc_stats_t *r, const idx_rpc_url_stats_t *urls,
                    size_t nurls) {
  TRY(counters(b, rpc_counters, IDX_ARRAY_LEN(rpc_counters), r));
  TRY(idx_metrics_head(b, "dimo_rpc_latency_seconds", "histogram",
                       "Latency of successful JSON-RPC exchanges (no _sum: not measured)."));
  uint64_t cum = 0;
  for (size_t i = 0; i < IDX_ARRAY_LEN(r->latency_buckets); i++) {
    cum += r->latency_buckets[i]; /* per-bucket counts made cumulative */
    if (i < IDX_ARRAY_LEN(idx_rpc_latency_bounds_ms))
      TRY(idx_buf_addf(b, "dimo_rpc_latency_seconds_bucket{le=\"%g\"} %llu\n",
                       idx_rpc_latency_bounds_ms[i] / 1000.0, (unsigned long long)cum));
    else
      TRY(idx_buf_addf(b, "dimo_rpc_latency_seconds_bucket{le=\"+Inf\"} %llu\n",
                       (unsigned long long)cum));
  }
  TRY(idx_buf_addf(b, "dimo_rpc_latency_seconds_count %llu\n", (unsigned long long)cum));
  static const char *const url_metrics[][3] = {
      {"dimo_rpc_endpoint_exchanges_total", "counter", "HTTP exchanges per endpoint."},
      {"dimo_rpc_endpoint_failures_total", "counter", "Failed exchanges per endpoint."},
      {"dimo_rpc_endpoint_consecutive_failures", "gauge",
       "Failures since the endpoint's last success."},
      {"dimo_rpc_endpoint_cooldown_seconds", "gauge", "Cool-down left before reuse."},
  };
  for (size_t k = 0; k < IDX_ARRAY_LEN(url_metrics) && nurls; k++) {
    TRY(idx_metrics_head(b, url_metrics[k][0], url_metrics[k][1], url_metrics[k][2]));
    for (size_t i = 0; i < nurls; i++) {
      const idx_rpc_url_stats_t *u = &urls[i];
      TRY(idx_buf_addf(b, "%s{url=\"", url_metrics[k][0]));
      TRY(idx_metrics_label(b, u->url ? u->url : ""));
      if (k == 0)
        TRY(idx_buf_addf(b, "\"} %llu\n", (unsigned long long)u->exchanges));
      else if (k == 1)
        TRY(idx_buf_addf(b, "\"} %llu\n", (unsigned long long)u->failures));
      else if (k == 2)
        TRY(idx_buf_addf(b, "\"} %u\n", u->consecutive));
      else
        TRY(idx_buf_addf(b, "\"} %.3f\n", (double)u->cooldown_ms / 1000.0));
    }
  }
  return 0;
}

int idx_metrics_routes(idx_buf_t *b, const idx_route_stats_t *rs, size_t n) {
  TRY(idx_metrics_head(b, "dimo_http_requests_total", "counter",
                       "HTTP API answers by route and code."));
  for (size_t r = 0; r < n; r++) {
    for (size_t k = 0; k < IDX_METRICS_NCODES; k++) {
      if (!rs[r].codes[k])
        continue;
      if (k < IDX_METRICS_NCODES - 1)
        TRY(idx_buf_addf(b, "dimo_http_requests_total{route=\"%s\",code=\"%d\"} %llu\n", rs[r].name,
                         codes[k], (unsigned long long)rs[r].codes[k]));
      else
        TRY(idx_buf_addf(b, "dimo_http_requests_total{route=\"%s\",code=\"other\"} %llu\n",
                         rs[r].name, (unsigned long long)rs[r].codes[k]));
    }
  }
  TRY(idx_metrics_head(b, "dimo_http_request_duration_seconds", "histogram",
                       "Time from a request's arrival to its answer, by route."));
  for (size_t r = 0; r < n; r++) {
    if (!rs[r].dur.count)
      continue;
    uint64_t cum = 0;
    for (size_t i = 0; i < (IDX_METRICS_NBOUNDS + 1); i++) {
      cum += rs[r].dur.buckets[i];
      if (i < (IDX_METRICS_NBOUNDS + 1) - 1)
        TRY(idx_buf_addf(b,
                         "dimo_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                         rs[r].name, rs[r].dur.bounds[i], (unsigned long long)cum));
      else
        TRY(idx_buf_addf(b,
                         "dimo_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} "
                         "%llu\n",
                         rs[r].name, (unsigned long long)cum));
    }
    TRY(idx_buf_addf(b, "dimo_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", rs[r].name,
                     rs[r].dur.sum));
    TRY(idx_buf_addf(b, "dimo_http_request_duration_seconds_count{route=\"%s\"} %llu\n", rs[r].name,
                     (unsigned long long)rs[r].dur.count));
  }
  return 0;
}

int idx_metrics_http(idx_buf_t *b, const idx_http_stats_t *hs) {
  TRY(counters(b, http_counters, IDX_ARRAY_LEN(http_counters), hs));
  TRY(idx_metrics_head(b, "dimo_http_refused_total", "counter",
                       "Requests refused before routing, by reason."));
  TRY(idx_buf_addf(b, "dimo_http_refused_total{reason=\"timeout\"} %llu\n",
                   (unsigned long long)hs->timeouts));
  TRY(idx_buf_addf(b, "dimo_http_refused_total{reason=\"malformed\"} %llu\n",
                   (unsigned long long)hs->bad_requests));
  TRY(idx_buf_addf(b, "dimo_http_refused_total{reason=\"too_large\"} %llu\n",
                   (unsigned long long)hs->too_large));
  TRY(counters(b, http_counters2, IDX_ARRAY_LEN(http_counters2), hs));
  return 0;
}

int idx_metrics_cache(idx_buf_t *b, const idx_cache_t *c) {
  TRY(idx_metrics_u64(b, "dimo_api_cache_hits_total", "counter", "Answers served from the cache.",
                      c->stats.hits));
  TRY(idx_metrics_u64(b, "dimo_api_cache_misses_total", "counter",
                      "Cacheable answers read from the database.", c->stats.misses));
  TRY(idx_metrics_u64(b, "dimo_api_cache_entries", "gauge", "Answers in the cache.", c->n));
  TRY(idx_metrics_u64(b, "dimo_api_coalesced_total", "counter",
                      "Requests answered by a query already running for the same key.",
                      c->stats.coalesced));
  TRY(idx_metrics_u64(b, "dimo_api_cache_invalidations_total", "counter",
                      "Cache flushes on a batch commit or rollback.", c->stats.invalidations));
  return 0;
}

int idx_metrics_pool(idx_buf_t *b, const idx_dbpool_stats_t *ps) {
  TRY(counters(b, pool_counters, IDX_ARRAY_LEN(pool_counters), ps));
  return 0;
}
