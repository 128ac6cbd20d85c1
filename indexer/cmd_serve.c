/* cmd_serve.c: `dimo-indexer serve`: the HTTP API alone, on a database it
 * never writes (a hot standby, or the primary through a read-only role).
 * No writer lock, no JSON-RPC, no migration: the API (api.h) reads
 * through its read-only pool, and the replica poller (replica.h) tells it
 * when the model moved (the answer cache is emptied) and whether the
 * database is ready (schema, model lag, replay lag). */
#include "common.h"

#include "api.h"
#include "cli.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "network.h"
#include "replica.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

typedef struct serve_s {
  idx_api_t *api;
  idx_replica_t *replica;
  bool checked; /* the first reading's schema was judged */
  int status;
  char message[512];
  uv_signal_t sigint, sigterm;
} serve_t;

static void serve_stop(serve_t *sv) {
  uv_signal_stop(&sv->sigint);
  uv_signal_stop(&sv->sigterm);
  idx_api_close(sv->api, NULL, NULL);
  sv->api = NULL;
  idx_replica_close(sv->replica, NULL, NULL);
  sv->replica = NULL;
}

static void on_signal(uv_signal_t *h, int signum) {
  serve_t *sv = h->data;
  idx_log_info("main", "%s: stopping", signum == SIGINT ? "SIGINT" : "SIGTERM");
  serve_stop(sv);
}

/* The model moved (or the schema changed): answers cached before are
 * stale. A schema newer than this binary's at start is a refusal: this
 * binary cannot know what its answers mean. */
static void on_change(void *ud) {
  serve_t *sv = ud;
  idx_replica_status_t st;
  idx_replica_status(sv->replica, &st);
  if (!sv->checked && st.read) {
    sv->checked = true;
    if (st.last.schema == IDX_SCHEMA_NEWER || st.last.schema == IDX_SCHEMA_OTHER) {
      sv->status = IDX_ERR_CONFIG;
      snprintf(sv->message, sizeof sv->message, "%s", st.not_ready);
      serve_stop(sv);
      return;
    }
  }
  if (sv->api) {
    /* rollback true: forget cached answers, time no batch (serve writes none). */
    idx_sync_status_t none;
    memset(&none, 0, sizeof none);
    idx_api_on_commit(sv->api, &none, true);
  }
}

static int replica_metrics(void *ud, struct idx_buf_s *b) {
  serve_t *sv = ud;
  return sv->replica ? idx_replica_metrics(sv->replica, b) : 0;
}

/* The API's view: blocks as replayed (the writer's cursor as the head and
 * target, the model as indexed) and the poller's verdict. */
static void api_status(void *ud, idx_api_status_t *out) {
  serve_t *sv = ud;
  if (!sv->replica) {
    snprintf(out->not_ready, sizeof out->not_ready, "shutting down");
    return;
  }
  idx_replica_status_t st;
  idx_replica_status(sv->replica, &st);
  const idx_replica_reading_t *l = &st.last;
  out->sync.head = out->sync.target = l->cursor;
  out->sync.has_cursor = out->sync.has_model = l->has_model;
  out->sync.cursor = out->sync.model_block = l->model_block;
  if (!st.ready)
    snprintf(out->not_ready, sizeof out->not_ready, "%s", st.not_ready);
  out->metrics_cb = replica_metrics;
  out->metrics_ud = sv;
}

int idx_cmd_serve(const idx_cmd_ctx_t *ctx) {
  const idx_config_t *cfg = ctx->cfg;
  const idx_network_t *net = ctx->net;
  if (strcmp(cfg->http, "off") == 0 || cfg->http_max_conns == 0 || cfg->http_timeout_ms == 0 ||
      cfg->db_pool == 0 || cfg->db_pool > 100 || cfg->model_poll_ms == 0 ||
      cfg->model_poll_ms > 60000) {
    fprintf(stderr, "dimo-indexer serve: --http must be IP:PORT, --http-max-conns and "
                    "--http-timeout at least 1, --db-pool 1..100, --model-poll 1..60000\n");
    return IDX_EXIT_USAGE;
  }

  uv_loop_t loop;
  uv_loop_init(&loop);
  serve_t sv;
  memset(&sv, 0, sizeof sv);
  uv_signal_init(&loop, &sv.sigint);
  uv_signal_init(&loop, &sv.sigterm);
  sv.sigint.data = sv.sigterm.data = &sv;
  uv_signal_start(&sv.sigint, on_signal, SIGINT);
  uv_signal_start(&sv.sigterm, on_signal, SIGTERM);

  char err[512];
  idx_replica_options_t ro;
  idx_replica_options_default(&ro);
  ro.chain_id = net->chain_id;
  ro.conninfo = cfg->db;
  ro.schema_dir = cfg->schema_dir;
  ro.poll_ms = cfg->model_poll_ms;
  ro.ready_lag = cfg->ready_lag;
  ro.replay_max_age_ms = cfg->ready_replay_age_ms;
  ro.on_change = on_change;
  ro.on_change_ud = &sv;
  int rc = idx_replica_start(&sv.replica, &loop, &ro, err, sizeof err);
  if (rc == 0) {
    idx_api_options_t ao;
    idx_api_options_from_config(&ao, cfg, net->chain_id);
    ao.status_cb = api_status;
    ao.status_ud = &sv;
    rc = idx_api_start(&sv.api, &loop, &ao, err, sizeof err);
  }
  if (rc) {
    sv.status = rc == IDX_ERR_IO ? IDX_ERR_IO : IDX_ERR_CONFIG;
    snprintf(sv.message, sizeof sv.message, "%s", err);
    serve_stop(&sv);
  } else {
    idx_log_info(
        "main", "serve: network %s (chain %llu), read-only; model cursor polled every %llu ms",
        net->name, (unsigned long long)net->chain_id, (unsigned long long)cfg->model_poll_ms);
  }
  uv_run(&loop, UV_RUN_DEFAULT);

  uv_close((uv_handle_t *)&sv.sigint, NULL);
  uv_close((uv_handle_t *)&sv.sigterm, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0)
    idx_log_warn("main", "event loop closed with handles still open");
  if (sv.status == 0)
    return IDX_EXIT_OK;
  fprintf(stderr, "dimo-indexer serve: %s\n", sv.message);
  return sv.status == IDX_ERR_CONFIG ? IDX_EXIT_USAGE : IDX_EXIT_FAIL;
}
