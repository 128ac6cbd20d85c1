/*
 * cmdutil.h: helpers the short-lived commands share: one database question
 * on a private loop, JSON-RPC options from the configuration, and the
 * printing of answers (documents' strings, signer lines).
 */
#ifndef IDX_CMDUTIL_H
#define IDX_CMDUTIL_H

#include "common.h"

#include "config.h"
#include "rpc.h"

#include <jansson.h>

/* JSON-RPC client options from cfg (--rpc, --rpc-timeout,
 * --rpc-max-response); max_attempts 0 retries forever. */
void idx_cmd_rpc_options(const idx_config_t *cfg, idx_rpc_options_t *ro, unsigned max_attempts);

/* The answer of one database query run by a short-lived command. */
typedef struct idx_cmd_answer_s {
  bool done;
  int status; /* 0, or the dbpool.h error */
  char sqlstate[6];
  char message[512];
  char *value; /* malloc'd (free it), NULL for SQL NULL */
} idx_cmd_answer_t;

/* Runs one query (the first column of its first row) to completion on a
 * private loop through a one-connection pool (dbpool.h): for commands
 * that ask the database one question. */
void idx_cmd_db_query(const char *conninfo, const char *app_name, const char *sql, size_t n,
                      const char *const *params, idx_cmd_answer_t *q) IDX_NONNULL(1, 2, 3, 6);

/* obj[key] when it is a string, else `none` (absent, null or another type). */
const char *idx_cmd_str_or(const json_t *obj, const char *key, const char *none);

/* Prints one signer line of a license: "ADDRESS  valid|expired|disabled",
 * then " enabled T, expires T" when enabled (enabled_at may be NULL). */
void idx_cmd_put_signer(const char *address, bool valid, const char *enabled_at,
                        const char *expires_at) IDX_NONNULL(1, 4);

#endif
