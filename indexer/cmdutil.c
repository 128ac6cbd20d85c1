/* cmdutil.c: helpers the short-lived commands share (see cmdutil.h). */
#include "common.h"

#include "cmdutil.h"
#include "dbpool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

void idx_cmd_rpc_options(const idx_config_t *cfg, idx_rpc_options_t *ro, unsigned max_attempts) {
  idx_rpc_options_default(ro);
  ro->urls = cfg->rpc;
  ro->nurls = cfg->nrpc;
  ro->timeout_ms = (long)cfg->rpc_timeout_ms;
  ro->max_response = (size_t)cfg->rpc_max_response;
  ro->max_attempts = max_attempts;
}

static void on_answer(void *ud, const idx_dbpool_result_t *res) {
  idx_cmd_answer_t *q = ud;
  q->done = true;
  q->status = res->status;
  snprintf(q->sqlstate, sizeof q->sqlstate, "%s", res->sqlstate);
  snprintf(q->message, sizeof q->message, "%s", res->message);
  if (res->status == 0 && res->value)
    q->value = strdup(res->value);
}

static void on_pool_closed(void *ud) { (void)ud; }

void idx_cmd_db_query(const char *conninfo, const char *app_name, const char *sql, size_t n,
                      const char *const *params, idx_cmd_answer_t *q) {
  memset(q, 0, sizeof *q);
  uv_loop_t loop;
  uv_loop_init(&loop);
  idx_dbpool_options_t po;
  idx_dbpool_options_default(&po);
  po.conninfo = conninfo;
  po.size = 1;
  po.application_name = app_name;
  idx_dbpool_t *pool = NULL;
  int rc = idx_dbpool_new(&pool, &loop, &po);
  if (rc == 0)
    rc = idx_dbpool_query(pool, sql, n, params, on_answer, q);
  if (rc) {
    q->done = true;
    q->status = rc;
    snprintf(q->message, sizeof q->message, "%s",
             rc == IDX_ERR_INVAL     ? "bad --db conninfo"
             : rc == IDX_ERR_DB_CONN ? "database unavailable"
                                     : idx_strerror(rc));
  }
  while (!q->done && uv_run(&loop, UV_RUN_ONCE))
    ;
  if (!q->done) {
    q->done = true;
    q->status = IDX_ERR_DB_CONN;
    snprintf(q->message, sizeof q->message, "no answer from the database");
  }
  idx_dbpool_close(pool, on_pool_closed, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
}

const char *idx_cmd_str_or(const json_t *obj, const char *key, const char *none) {
  const char *s = json_string_value(json_object_get(obj, key));
  return s ? s : none;
}

void idx_cmd_put_signer(const char *address, bool valid, const char *enabled_at,
                        const char *expires_at) {
  printf("%s  %-8s", address, valid ? "valid" : enabled_at ? "expired" : "disabled");
  if (enabled_at)
    printf(" enabled %s, expires %s", enabled_at, expires_at);
  printf("\n");
}
