/*
 * replica.h: what `dimo-indexer serve` knows of the database it reads and
 * never writes (a hot standby, or the primary through a read-only role).
 *
 * `run` learns that the model moved from the sync engine's commit
 * callback; `serve` has no engine, so this module polls, every poll_ms,
 * one cheap read-only statement (dbpool.h, one connection) that returns:
 * the applied migrations, the model cursor (its block and its row
 * version: every batch and every rollback rewrites that row, so two
 * reorgs that end at the same height still differ), the writer's log
 * cursor, and on a standby its replay state. When the model cursor's
 * version changes, on_change runs (serve empties the API's answer cache
 * there). The same reading decides readiness (idx_replica_judge):
 *
 *   - the schema must be exactly the migrations of schema_dir: fewer is
 *     "not ready" (a replica that has not replayed the writer's migration
 *     yet), different is an error the operator must fix, and so is more
 *     (a newer schema than this binary knows) at start; a schema that
 *     becomes newer while serving (the writer upgraded, replayed on every
 *     replica at once) is logged and served on, since taking every API
 *     server out of the balancer at once would be an outage;
 *   - the model cursor must exist and be at most ready_lag blocks behind
 *     the writer's log cursor (the head as recorded in the database: the
 *     writer keeps it within its confirmations of the chain head);
 *   - on a standby (pg_is_in_recovery()), the last replayed transaction
 *     must be at most replay_max_age_ms old, unless every WAL record
 *     received is replayed and the WAL receiver runs (an idle primary
 *     writes nothing, which is no lag).
 *
 * Everything runs on the loop's thread.
 */
#ifndef IDX_REPLICA_H
#define IDX_REPLICA_H

#include "common.h"

#include "buf.h"

#include <uv.h>

typedef struct idx_replica_s idx_replica_t;

/* The schema compared with the migrations in schema_dir. */
typedef enum idx_schema_state_e {
  IDX_SCHEMA_UNKNOWN, /* not read yet */
  IDX_SCHEMA_MISSING, /* no migration applied (no schema_migrations table) */
  IDX_SCHEMA_OLDER,   /* a strict prefix of ours: the migration is still to come */
  IDX_SCHEMA_OK,      /* exactly ours */
  IDX_SCHEMA_NEWER,   /* ours is a strict prefix of it: upgrade this binary */
  IDX_SCHEMA_OTHER,   /* they differ: another schema altogether */
} idx_schema_state_t;

/* Longest list of migrations kept ("001_core,002_...", comma-separated). */
#define IDX_REPLICA_MAX_MIGRATIONS 2048

/* One reading of the database. */
typedef struct idx_replica_reading_s {
  idx_schema_state_t schema;
  char applied[IDX_REPLICA_MAX_MIGRATIONS]; /* the database's list */
  bool has_model;
  uint64_t model_block;
  char model_version[24]; /* the model cursor row's xmin */
  bool has_cursor;
  uint64_t cursor; /* the writer's log cursor */
  bool in_recovery;
  bool has_replay_age;
  double replay_age_s; /* now - pg_last_xact_replay_timestamp() */
  bool caught_up;      /* all WAL received is replayed, and a WAL receiver runs */
} idx_replica_reading_t;

typedef struct idx_replica_options_s {
  uint64_t chain_id;
  const char *conninfo;        /* copied */
  const char *schema_dir;      /* read once by idx_replica_start */
  uint64_t poll_ms;            /* default 250 */
  uint64_t ready_lag;          /* blocks; default 10 */
  uint64_t replay_max_age_ms;  /* default 30000 */
  void (*on_change)(void *ud); /* the model cursor moved (or the schema changed); may be NULL */
  void *on_change_ud;
} idx_replica_options_t;

typedef struct idx_replica_status_s {
  bool read;                   /* a reading exists (the last poll may still have failed) */
  bool db_ok;                  /* the last poll succeeded */
  idx_replica_reading_t last;  /* the last successful reading */
  uint64_t polls, poll_errors; /* completed polls; failed ones */
  uint64_t changes;            /* model cursor moves seen (cache emptied) */
  char expected[IDX_REPLICA_MAX_MIGRATIONS]; /* this binary's migrations */
  bool ready;
  char not_ready[200]; /* why not, for /readyz ("" when ready) */
} idx_replica_status_t;

void idx_replica_options_default(idx_replica_options_t *o) IDX_NONNULL(1);

/* The migrations of schema_dir as "001_core,002_license_model,..." (the
 * files NNN_name.sql, by number). Returns 0, or IDX_ERR_IO/IDX_ERR_CONFIG
 * with a message in err (unreadable folder, none found, list too long). */
IDX_WARN_UNUSED int idx_replica_expected(const char *schema_dir, char *out, size_t cap, char *err,
                                         size_t errlen) IDX_NONNULL(1, 2, 4);

/* Compares the database's list of migrations with ours (both as above;
 * applied NULL: no schema_migrations table). */
idx_schema_state_t idx_replica_schema_state(const char *applied, const char *expected)
    IDX_NONNULL(2);

/* Parses the poll statement's JSON answer into r (schema left UNKNOWN).
 * Returns false on malformed text. */
IDX_WARN_UNUSED bool idx_replica_parse(const char *json, size_t len, idx_replica_reading_t *r)
    IDX_NONNULL(1, 3);

/* Readiness of a reading (see the top of this file): true, or false with
 * the reason in why. */
IDX_WARN_UNUSED bool idx_replica_judge(const idx_replica_reading_t *r, const char *expected,
                                       uint64_t ready_lag, uint64_t replay_max_age_ms, char *why,
                                       size_t whylen) IDX_NONNULL(1, 2, 5);

/* Reads schema_dir, opens the connection and starts polling (the first
 * poll at once). Returns 0, or an error with a message in err. */
IDX_WARN_UNUSED int idx_replica_start(idx_replica_t **out, uv_loop_t *loop,
                                      const idx_replica_options_t *opts, char *err, size_t errlen)
    IDX_NONNULL(1, 2, 3, 4);

void idx_replica_status(const idx_replica_t *r, idx_replica_status_t *out) IDX_NONNULL(1, 2);

/* Appends the replica's /metrics lines (Prometheus text format). */
IDX_WARN_UNUSED int idx_replica_metrics(const idx_replica_t *r, idx_buf_t *b) IDX_NONNULL(1, 2);

/* Stops polling, closes the connection, frees r; closed_cb (may be NULL)
 * runs once everything is closed. */
void idx_replica_close(idx_replica_t *r, void (*closed_cb)(void *ud), void *ud);

#endif
