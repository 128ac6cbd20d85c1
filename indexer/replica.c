/* replica.c: the model cursor poller and readiness of a read-only
 * database (see replica.h). */
#include "common.h"

#include "replica.h"
#include "store.h"

#include "dbpool.h"
#include "log.h"

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct idx_replica_s {
  uv_loop_t *loop;
  idx_replica_options_t opts;
  char *conninfo;
  char chain_id[24];
  idx_dbpool_t *pool;
  uv_timer_t timer;
  bool busy;    /* a poll is in flight */
  bool closing; /* idx_replica_close ran */
  int closing_parts;
  void (*closed_cb)(void *ud);
  void *closed_ud;
  idx_replica_status_t st;
  idx_schema_state_t logged_schema; /* last schema state logged (log once per change) */
  bool accepted;                    /* a reading not newer than ours was seen */
};

/* One statement, one JSON value: everything a poll needs. The migration
 * list comes first so that a database without our tables fails with
 * 42P01 (undefined table): no schema yet. pg_stat_wal_receiver shows a row
 * to any role while a WAL receiver runs (its details need
 * pg_read_all_stats, which this does not read). */
static const char poll_sql[] =
    "SELECT json_build_object("
    "'migrations', (SELECT coalesce(string_agg(lpad(version::text, 3, '0') || '_' || name, ','"
    " ORDER BY version), '') FROM schema_migrations),"
    "'model', (SELECT json_build_object('block', block_number, 'version', xmin::text)"
    " FROM model_cursor WHERE chain_id = $1::bigint),"
    "'cursor', (SELECT last_block FROM cursors WHERE chain_id = $1::bigint),"
    "'recovery', pg_is_in_recovery(),"
    "'replay_age', extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()),"
    "'caught_up', pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn()"
    " AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver))::text";

void idx_replica_options_default(idx_replica_options_t *o) {
  memset(o, 0, sizeof *o);
  o->poll_ms = 250;
  o->ready_lag = 10;
  o->replay_max_age_ms = 30000;
}

/* ---- pure parts --------------------------------------------------------- */

int idx_replica_expected(const char *schema_dir, char *out, size_t cap, char *err, size_t errlen) {
  DIR *d = opendir(schema_dir);
  if (!d) {
    idx_set_err(err, errlen, "cannot read the schema folder %s", schema_dir);
    return IDX_ERR_IO;
  }
  /* Index by number (000..999): the writer refuses gaps and duplicates. */
  static const size_t nmax = 1000;
  char **names = calloc(nmax, sizeof *names);
  if (!names) {
    closedir(d);
    return IDX_ERR_NOMEM;
  }
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    int v = idx_store_migration_version(e->d_name);
    if (v < 0 || names[v])
      continue;
    size_t l = strlen(e->d_name) - 4;
    names[v] = strndup(e->d_name, l);
  }
  closedir(d);
  int rc = 0;
  size_t o = 0;
  out[0] = '\0';
  for (size_t v = 0; v < nmax; v++) {
    if (!names[v])
      continue;
    int w = snprintf(out + o, cap - o, "%s%s", o ? "," : "", names[v]);
    if (w < 0 || (size_t)w >= cap - o) {
      idx_set_err(err, errlen, "too many migrations in %s", schema_dir);
      rc = IDX_ERR_CONFIG;
    } else {
      o += (size_t)w;
    }
    free(names[v]);
  }
  free(names);
  if (rc == 0 && o == 0) {
    idx_set_err(err, errlen, "no migration (NNN_name.sql) in %s", schema_dir);
    rc = IDX_ERR_CONFIG;
  }
  return rc;
}

/* True when the list a is a strict prefix of b, item by item. */
static bool strict_prefix(const char *a, const char *b) {
  size_t n = strlen(a);
  return strlen(b) > n && strncmp(a, b, n) == 0 && (n == 0 || b[n] == ',');
}

idx_schema_state_t idx_replica_schema_state(const char *applied, const char *expected) {
  if (!applied || !*applied)
    return IDX_SCHEMA_MISSING;
  if (strcmp(applied, expected) == 0)
    return IDX_SCHEMA_OK;
  if (strict_prefix(applied, expected))
    return IDX_SCHEMA_OLDER;
  if (strict_prefix(expected, applied))
    return IDX_SCHEMA_NEWER;
  return IDX_SCHEMA_OTHER;
}

/* A JSON integer >= 0 into *out; false when absent or null. */
static bool get_u64(json_t *v, uint64_t *out) {
  if (!json_is_integer(v) || json_integer_value(v) < 0)
    return false;
  *out = (uint64_t)json_integer_value(v);
  return true;
}

bool idx_replica_parse(const char *json, size_t len, idx_replica_reading_t *r) {
  memset(r, 0, sizeof *r);
  json_t *root = json_loadb(json, len, 0, NULL);
  bool ok = json_is_object(root);
  if (ok) {
    json_t *m = json_object_get(root, "migrations");
    const char *s = json_string_value(m);
    ok = s && strlen(s) < sizeof r->applied;
    if (ok)
      snprintf(r->applied, sizeof r->applied, "%s", s);
  }
  if (ok) {
    json_t *model = json_object_get(root, "model");
    if (json_is_object(model)) {
      const char *ver = json_string_value(json_object_get(model, "version"));
      r->has_model = get_u64(json_object_get(model, "block"), &r->model_block);
      ok = r->has_model && ver && strlen(ver) < sizeof r->model_version;
      if (ok)
        snprintf(r->model_version, sizeof r->model_version, "%s", ver);
    } else {
      ok = json_is_null(model);
    }
  }
  if (ok) {
    r->has_cursor = get_u64(json_object_get(root, "cursor"), &r->cursor);
    r->in_recovery = json_is_true(json_object_get(root, "recovery"));
    r->caught_up = json_is_true(json_object_get(root, "caught_up"));
    json_t *age = json_object_get(root, "replay_age");
    r->has_replay_age = json_is_number(age);
    r->replay_age_s = r->has_replay_age ? json_number_value(age) : 0;
  }
  json_decref(root);
  return ok;
}

/* The last item of a comma-separated list (the newest migration). */
static const char *last_item(const char *list) {
  const char *c = strrchr(list, ',');
  return c ? c + 1 : list;
}

bool idx_replica_judge(const idx_replica_reading_t *r, const char *expected, uint64_t ready_lag,
                       uint64_t replay_max_age_ms, char *why, size_t whylen) {
  why[0] = '\0';
  switch (r->schema) {
  case IDX_SCHEMA_UNKNOWN:
    snprintf(why, whylen, "the database was not read yet");
    return false;
  case IDX_SCHEMA_MISSING:
    snprintf(why, whylen, "no schema yet: the writer has not migrated this database");
    return false;
  case IDX_SCHEMA_OLDER:
    snprintf(why, whylen,
             "schema at migration %s, this binary expects %s: waiting for the writer's "
             "migration (or its replay)",
             last_item(r->applied), last_item(expected));
    return false;
  case IDX_SCHEMA_NEWER:
    snprintf(why, whylen, "schema at migration %s, newer than this binary's %s: upgrade serve",
             last_item(r->applied), last_item(expected));
    return false;
  case IDX_SCHEMA_OTHER:
    snprintf(why, whylen,
             "the schema's migrations differ from this binary's (database %.60s..., "
             "binary %.60s...)",
             r->applied, expected);
    return false;
  case IDX_SCHEMA_OK:
    break;
  }
  if (!r->has_model || !r->has_cursor) {
    snprintf(why, whylen, "nothing indexed yet");
    return false;
  }
  uint64_t lag = r->cursor > r->model_block ? r->cursor - r->model_block : 0;
  if (lag > ready_lag) {
    snprintf(why, whylen, "the model is %llu blocks behind the writer's cursor %llu (limit %llu)",
             (unsigned long long)lag, (unsigned long long)r->cursor, (unsigned long long)ready_lag);
    return false;
  }
  if (r->in_recovery && !r->caught_up &&
      (!r->has_replay_age || r->replay_age_s * 1000.0 > (double)replay_max_age_ms)) {
    if (r->has_replay_age)
      snprintf(why, whylen,
               "replay lag: the last replayed transaction is %.1f s old (limit %.1f s) and WAL is "
               "not caught up with the primary",
               r->replay_age_s, (double)replay_max_age_ms / 1000.0);
    else
      snprintf(why, whylen, "replay lag: nothing replayed yet and WAL is not caught up");
    return false;
  }
  return true;
}

/* ---- the poller ----------------------------------------------------------- */

static void judge(idx_replica_t *r) {
  if (!r->st.db_ok) {
    r->st.ready = false;
    snprintf(r->st.not_ready, sizeof r->st.not_ready, "database unavailable");
    return;
  }
  /* A schema that becomes newer while we serve is the writer's upgrade,
   * replayed on every replica at once: going unready everywhere would be
   * an outage, so we keep serving (the operator restarts each server on
   * the new binary; an old one refuses to start on it). */
  idx_replica_reading_t rd = r->st.last;
  if (rd.schema == IDX_SCHEMA_NEWER && r->accepted)
    rd.schema = IDX_SCHEMA_OK;
  r->st.ready = idx_replica_judge(&rd, r->st.expected, r->opts.ready_lag, r->opts.replay_max_age_ms,
                                  r->st.not_ready, sizeof r->st.not_ready);
}

static void log_schema(idx_replica_t *r) {
  idx_schema_state_t s = r->st.last.schema;
  if (s == r->logged_schema)
    return;
  r->logged_schema = s;
  if (s == IDX_SCHEMA_OK)
    idx_log_info("serve", "schema matches this binary (%s)", last_item(r->st.expected));
  else if (s == IDX_SCHEMA_NEWER && r->accepted)
    idx_log_warn("serve",
                 "schema now at migration %s, newer than this binary's %s: still serving; "
                 "restart on the new binary",
                 last_item(r->st.last.applied), last_item(r->st.expected));
  else if (s == IDX_SCHEMA_NEWER || s == IDX_SCHEMA_OTHER)
    idx_log_error("serve", "%s", r->st.not_ready);
  else
    idx_log_warn("serve", "%s", r->st.not_ready);
}

static void on_poll(void *ud, const idx_dbpool_result_t *res) {
  idx_replica_t *r = ud;
  r->busy = false;
  if (r->closing)
    return;
  idx_replica_reading_t rd;
  bool ok = false;
  if (res->status == 0 && res->value) {
    ok = idx_replica_parse(res->value, res->len, &rd);
    if (ok)
      rd.schema = idx_replica_schema_state(rd.applied, r->st.expected);
    else
      idx_log_warn("serve", "malformed poll answer: %.200s", res->value);
  } else if (res->status == IDX_ERR_DB && strcmp(res->sqlstate, "42P01") == 0) {
    /* No schema_migrations (or model tables): nothing migrated yet. */
    memset(&rd, 0, sizeof rd);
    rd.schema = IDX_SCHEMA_MISSING;
    ok = true;
  } else if (r->st.db_ok || r->st.polls == 0) {
    idx_log_warn("serve", "polling the model cursor: %s", res->message);
  }
  r->st.polls++;
  if (!ok) {
    r->st.poll_errors++;
    r->st.db_ok = false;
    judge(r);
    return;
  }
  bool changed = !r->st.read || rd.schema != r->st.last.schema ||
                 rd.has_model != r->st.last.has_model || rd.model_block != r->st.last.model_block ||
                 strcmp(rd.model_version, r->st.last.model_version) != 0;
  r->st.last = rd;
  r->st.read = true;
  r->st.db_ok = true;
  if (rd.schema == IDX_SCHEMA_MISSING || rd.schema == IDX_SCHEMA_OLDER ||
      rd.schema == IDX_SCHEMA_OK)
    r->accepted = true;
  judge(r);
  log_schema(r);
  if (changed) {
    r->st.changes++;
    if (r->opts.on_change)
      r->opts.on_change(r->opts.on_change_ud);
  }
}

static void poll_now(uv_timer_t *t) {
  idx_replica_t *r = t->data;
  if (r->busy || r->closing)
    return;
  const char *params[1] = {r->chain_id};
  if (idx_dbpool_query(r->pool, poll_sql, 1, params, on_poll, r) == 0) {
    r->busy = true;
    return;
  }
  /* Refused at once (the database is down): counted as a failed poll. */
  r->st.polls++;
  r->st.poll_errors++;
  r->st.db_ok = false;
  judge(r);
}

int idx_replica_start(idx_replica_t **out, uv_loop_t *loop, const idx_replica_options_t *opts,
                      char *err, size_t errlen) {
  *out = NULL;
  if (!opts->conninfo || !opts->schema_dir || opts->poll_ms == 0) {
    idx_set_err(err, errlen, "replica: conninfo, schema_dir and poll_ms are required");
    return IDX_ERR_INVAL;
  }
  idx_replica_t *r = calloc(1, sizeof *r);
  if (!r)
    return IDX_ERR_NOMEM;
  int rc =
      idx_replica_expected(opts->schema_dir, r->st.expected, sizeof r->st.expected, err, errlen);
  if (rc) {
    free(r);
    return rc;
  }
  r->loop = loop;
  r->opts = *opts;
  r->conninfo = strdup(opts->conninfo);
  r->opts.conninfo = r->conninfo;
  r->opts.schema_dir = NULL; /* read above; not kept */
  snprintf(r->chain_id, sizeof r->chain_id, "%llu", (unsigned long long)opts->chain_id);
  snprintf(r->st.not_ready, sizeof r->st.not_ready, "the database was not read yet");
  idx_dbpool_options_t po;
  idx_dbpool_options_default(&po);
  po.conninfo = r->conninfo;
  po.size = 1;
  po.max_queue = 4;
  po.application_name = "dimo-indexer-serve-poll";
  po.backoff_max_ms = 1000; /* a restarted database is noticed within a second */
  if (!r->conninfo || (rc = idx_dbpool_new(&r->pool, loop, &po)) != 0) {
    free(r->conninfo);
    free(r);
    idx_set_err(err, errlen, "replica: cannot start the database connection");
    return rc ? rc : IDX_ERR_NOMEM;
  }
  uv_timer_init(loop, &r->timer);
  r->timer.data = r;
  uv_timer_start(&r->timer, poll_now, 0, opts->poll_ms);
  *out = r;
  return 0;
}

void idx_replica_status(const idx_replica_t *r, idx_replica_status_t *out) { *out = r->st; }

int idx_replica_metrics(const idx_replica_t *r, idx_buf_t *b) {
  const idx_replica_reading_t *l = &r->st.last;
  uint64_t lag = l->cursor > l->model_block ? l->cursor - l->model_block : 0;
  return idx_buf_addf(
      b,
      "# HELP dimo_serve_ready 1 while /readyz answers 200.\n"
      "# TYPE dimo_serve_ready gauge\ndimo_serve_ready %d\n"
      "# HELP dimo_serve_schema_ok 1 while the schema is exactly this binary's migrations.\n"
      "# TYPE dimo_serve_schema_ok gauge\ndimo_serve_schema_ok %d\n"
      "# HELP dimo_model_block The block the database's model describes (as replayed).\n"
      "# TYPE dimo_model_block gauge\ndimo_model_block %llu\n"
      "# HELP dimo_writer_cursor_block The writer's log cursor (as replayed).\n"
      "# TYPE dimo_writer_cursor_block gauge\ndimo_writer_cursor_block %llu\n"
      "# HELP dimo_model_lag_blocks Writer's cursor minus model block.\n"
      "# TYPE dimo_model_lag_blocks gauge\ndimo_model_lag_blocks %llu\n"
      "# HELP dimo_replica_in_recovery 1 on a hot standby.\n"
      "# TYPE dimo_replica_in_recovery gauge\ndimo_replica_in_recovery %d\n"
      "# HELP dimo_replica_replay_age_seconds Age of the last replayed transaction (standby).\n"
      "# TYPE dimo_replica_replay_age_seconds gauge\ndimo_replica_replay_age_seconds %.3f\n"
      "# HELP dimo_replica_caught_up 1 while every WAL record received is replayed.\n"
      "# TYPE dimo_replica_caught_up gauge\ndimo_replica_caught_up %d\n"
      "# HELP dimo_serve_polls_total Model cursor polls.\n"
      "# TYPE dimo_serve_polls_total counter\ndimo_serve_polls_total %llu\n"
      "# HELP dimo_serve_poll_errors_total Failed model cursor polls.\n"
      "# TYPE dimo_serve_poll_errors_total counter\ndimo_serve_poll_errors_total %llu\n"
      "# HELP dimo_serve_model_changes_total Model cursor moves seen (answer cache emptied).\n"
      "# TYPE dimo_serve_model_changes_total counter\ndimo_serve_model_changes_total %llu\n",
      r->st.ready ? 1 : 0, l->schema == IDX_SCHEMA_OK ? 1 : 0, (unsigned long long)l->model_block,
      (unsigned long long)l->cursor, (unsigned long long)lag, l->in_recovery ? 1 : 0,
      l->replay_age_s, l->caught_up ? 1 : 0, (unsigned long long)r->st.polls,
      (unsigned long long)r->st.poll_errors, (unsigned long long)r->st.changes);
}

static void part_closed(idx_replica_t *r) {
  if (--r->closing_parts > 0)
    return;
  void (*cb)(void *) = r->closed_cb;
  void *ud = r->closed_ud;
  free(r->conninfo);
  free(r);
  if (cb)
    cb(ud);
}

static void timer_closed(uv_handle_t *h) { part_closed(h->data); }

static void pool_closed(void *ud) { part_closed(ud); }

void idx_replica_close(idx_replica_t *r, void (*closed_cb)(void *ud), void *ud) {
  if (!r || r->closing)
    return;
  r->closing = true;
  r->closed_cb = closed_cb;
  r->closed_ud = ud;
  r->closing_parts = 2;
  uv_timer_stop(&r->timer);
  uv_close((uv_handle_t *)&r->timer, timer_closed);
  idx_dbpool_close(r->pool, pool_closed, r);
}
