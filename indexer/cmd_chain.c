/* cmd_chain.c: `dimo-indexer run` and `dimo-indexer sync`: the sync engine
 * on a libuv loop, with signals for a clean stop. `run` also serves the
 * HTTP API (api.h) on the same loop: started after the engine, fed its
 * status and commits, closed when the engine is done. */
#include "common.h"

#include "api.h"
#include "cli.h"
#include "cmdutil.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "network.h"
#include "rpc.h"
#include "store.h"
#include "sync.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

typedef struct chain_run_s {
  idx_sync_t *sync;
  idx_rpc_t *rpc;
  idx_api_t *api;
  int status;
  char message[512];
  bool done;
  uv_signal_t sigint, sigterm;
} chain_run_t;

static void on_sync_done(void *ud, int status, const char *message) {
  chain_run_t *run = ud;
  run->done = true;
  run->status = status;
  snprintf(run->message, sizeof run->message, "%s", message ? message : "");
  uv_signal_stop(&run->sigint);
  uv_signal_stop(&run->sigterm);
  /* The API goes with the engine (its requests in flight get 503). */
  idx_api_close(run->api, NULL, NULL);
  run->api = NULL;
}

/* The API's view of the engine and the JSON-RPC client. */
static void api_status(void *ud, idx_api_status_t *out) {
  chain_run_t *run = ud;
  if (run->sync) {
    out->has_sync = true;
    idx_sync_status(run->sync, &out->sync);
  }
  if (run->rpc) {
    out->has_rpc = true;
    idx_rpc_stats(run->rpc, &out->rpc);
    size_t n = idx_rpc_url_count(run->rpc);
    for (size_t i = 0; i < n && out->nurls < IDX_ARRAY_LEN(out->urls); i++) {
      if (idx_rpc_url_stats(run->rpc, i, &out->urls[out->nurls]) == 0)
        out->nurls++;
    }
  }
}

static void on_commit(void *ud, const idx_sync_status_t *st, bool rollback) {
  chain_run_t *run = ud;
  if (run->api)
    idx_api_on_commit(run->api, st, rollback);
}

static int start_api(chain_run_t *run, uv_loop_t *loop, const idx_config_t *cfg,
                     const idx_network_t *net) {
  idx_api_options_t ao;
  idx_api_options_from_config(&ao, cfg, net->chain_id);
  ao.status_cb = api_status;
  ao.status_ud = run;
  char err[512];
  int rc = idx_api_start(&run->api, loop, &ao, err, sizeof err);
  if (rc) {
    run->status = rc == IDX_ERR_IO ? IDX_ERR_IO : IDX_ERR_CONFIG;
    snprintf(run->message, sizeof run->message, "%s", err);
  }
  return rc;
}

static void on_signal(uv_signal_t *h, int signum) {
  chain_run_t *run = h->data;
  idx_log_info("main", "%s: finishing the batch in flight, then stopping",
               signum == SIGINT ? "SIGINT" : "SIGTERM");
  if (run->sync)
    idx_sync_stop(run->sync);
}

/* run and sync: the follower (sync.h) on one loop, with the API for run. */
static int follow_chain(const idx_cmd_ctx_t *ctx, bool is_run) {
  const idx_config_t *cfg = ctx->cfg;
  const idx_network_t *net = ctx->net;
  const char *name = ctx->name;
  uv_loop_t loop;
  uv_loop_init(&loop);
  idx_rpc_options_t ro;
  idx_cmd_rpc_options(cfg, &ro, is_run ? 0 : 10);
  ro.chain_id = net->chain_id;
  idx_rpc_t *rpc = NULL;
  int rc = idx_rpc_new(&rpc, &loop, &ro);
  if (rc) {
    fprintf(stderr, "dimo-indexer: cannot start the JSON-RPC client: %s\n", idx_strerror(rc));
    uv_loop_close(&loop);
    return IDX_EXIT_USAGE;
  }

  if (is_run && strcmp(cfg->http, "off") != 0 &&
      (cfg->http_max_conns == 0 || cfg->http_timeout_ms == 0 || cfg->db_pool == 0 ||
       cfg->db_pool > 100)) {
    fprintf(stderr,
            "dimo-indexer %s: --http-max-conns and --http-timeout must be at least 1, "
            "--db-pool 1..100\n",
            name);
    idx_rpc_close(rpc, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return IDX_EXIT_USAGE;
  }

  chain_run_t run;
  memset(&run, 0, sizeof run);
  run.rpc = rpc;
  uv_signal_init(&loop, &run.sigint);
  uv_signal_init(&loop, &run.sigterm);
  run.sigint.data = run.sigterm.data = &run;
  uv_signal_start(&run.sigint, on_signal, SIGINT);
  uv_signal_start(&run.sigterm, on_signal, SIGTERM);

  idx_sync_options_t so;
  memset(&so, 0, sizeof so);
  so.net = net;
  so.rpc = rpc;
  so.conninfo = cfg->db;
  so.schema_dir = cfg->schema_dir;
  so.has_from = cfg->has_from;
  so.from_block = cfg->from_block;
  so.confirmations =
      idx_config_confirmations(cfg, net->has_confirmations, net->confirmations, net->chain_id);
  so.finality = idx_config_finality(cfg, net->has_finality, net->finality);

  so.follow = is_run;
  so.stop_at_head = !is_run && (!cfg->has_to || cfg->to_head);
  so.stop_block = cfg->to_block;
  so.poll_ms = cfg->poll_ms;
  so.initial_range = cfg->initial_range;
  so.max_range = cfg->max_range;
  so.max_inflight = (unsigned)cfg->max_inflight;
  so.max_held_bytes = cfg->max_held_bytes;
  so.discover_start = strcmp(cfg->discover_start, "on") == 0;
  so.max_db_attempts = is_run ? 0 : (unsigned)(cfg->max_retries ? cfg->max_retries : 1);
  so.progress = true;
  so.on_commit = on_commit;
  so.on_commit_ud = &run;
  idx_log_info("main",
               "%s: network %s (chain %llu, %zu contracts), %zu RPC endpoint(s), "
               "%llu confirmations, finality %s",
               name, net->name, (unsigned long long)net->chain_id, net->ncontracts, cfg->nrpc,
               (unsigned long long)so.confirmations, idx_finality_name(so.finality));
  rc = idx_sync_start(&run.sync, &loop, &so, on_sync_done, &run);
  if (rc) {
    fprintf(stderr, "dimo-indexer: cannot start: %s\n", idx_strerror(rc));
    run.done = true;
    run.status = rc;
    snprintf(run.message, sizeof run.message, "%s", idx_strerror(rc));
  } else {
    if (is_run && strcmp(cfg->http, "off") != 0 && start_api(&run, &loop, cfg, net) != 0) {
      /* Keep the failure: on_sync_done will record a clean stop. */
      int status = run.status;
      char message[sizeof run.message];
      memcpy(message, run.message, sizeof message);
      idx_sync_stop(run.sync);
      uv_run(&loop, UV_RUN_DEFAULT);
      run.status = status;
      memcpy(run.message, message, sizeof message);
    } else {
      uv_run(&loop, UV_RUN_DEFAULT);
    }
  }

  /* Tear down in order: engine, client, signals; then drain the loop. */
  idx_api_close(run.api, NULL, NULL); /* only if the engine never finished */
  run.api = NULL;
  idx_sync_free(run.sync);
  run.sync = NULL;
  run.rpc = NULL;
  idx_rpc_close(rpc, NULL, NULL);
  uv_close((uv_handle_t *)&run.sigint, NULL);
  uv_close((uv_handle_t *)&run.sigterm, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0)
    idx_log_warn("main", "event loop closed with handles still open");

  if (run.status == 0)
    return IDX_EXIT_OK;
  fprintf(stderr, "dimo-indexer %s: %s\n", name, run.message);
  return run.status == IDX_ERR_CONFIG ? IDX_EXIT_USAGE : IDX_EXIT_FAIL;
}

int idx_cmd_run(const idx_cmd_ctx_t *ctx) { return follow_chain(ctx, true); }

int idx_cmd_sync(const idx_cmd_ctx_t *ctx) { return follow_chain(ctx, false); }
