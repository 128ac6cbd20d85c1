/*
 * config.h: every setting of every command, from flags and environment.
 *
 * One static table describes each option (flag, environment variable,
 * type, default, which commands take it, help), pgbouncer-style: the
 * parser, `--help` and README's option list all come from it. Flags
 * override the environment; a bad value or an unknown flag is one clear
 * message and exit code 2.
 */
#ifndef IDX_CONFIG_H
#define IDX_CONFIG_H

#include "common.h"

#include "log.h"

/* Commands, as a bit mask saying who takes an option. */
enum {
  IDX_CMD_RUN = 1 << 0,
  IDX_CMD_SYNC = 1 << 1,
  IDX_CMD_STATUS = 1 << 2,
  IDX_CMD_MIGRATE = 1 << 3,
  IDX_CMD_LICENSE = 1 << 4,
  IDX_CMD_VERIFY = 1 << 5,
  IDX_CMD_ACCESS = 1 << 6,
  IDX_CMD_SERVE = 1 << 7,
  IDX_CMD_REDERIVE = 1 << 8,
  IDX_CMD_AUDIT = 1 << 9,
};

typedef enum idx_finality_e {
  IDX_FINALITY_LATEST,
  IDX_FINALITY_SAFE,
  IDX_FINALITY_FINALIZED,
} idx_finality_t;

#define IDX_CONFIG_MAX_RPC 8

typedef struct idx_config_s {
  const char *network;
  const char *rpc[IDX_CONFIG_MAX_RPC];
  size_t nrpc;
  const char *db;
  bool has_from;
  uint64_t from_block;
  bool has_to;
  bool to_head; /* sync --to head */
  uint64_t to_block;
  bool has_confirmations;
  uint64_t confirmations;
  bool has_finality;
  idx_finality_t finality;
  uint64_t max_retries; /* sync: consecutive failures of one cause before giving up */
  uint64_t poll_ms;
  uint64_t initial_range;
  uint64_t max_range;
  uint64_t max_inflight;      /* backfill ranges in flight at most (1: one at a time) */
  uint64_t max_held_bytes;    /* answers held for later ranges */
  const char *discover_start; /* on or off: find the deployment block of start_block-0 contracts */
  uint64_t rpc_timeout_ms;
  uint64_t rpc_max_response;
  const char *abi_dir;
  const char *schema_dir;
  /* HTTP API (run). */
  const char *http; /* "127.0.0.1:8080"; "off" disables */
  uint64_t http_max_conns;
  uint64_t http_timeout_ms;
  uint64_t ready_lag; /* /readyz: 503 while more than this many blocks behind */
  uint64_t db_pool;   /* API database connections */
  /* serve (replica.h). */
  uint64_t model_poll_ms;       /* model cursor poll interval */
  uint64_t ready_replay_age_ms; /* /readyz: 503 while replay is older (standby) */
  /* HTTP output caps (run; 0 = the default). */
  uint64_t http_max_output;  /* all clients' requests and answers */
  uint64_t http_conn_output; /* one connection's unread answers */
  /* The page (web.h) on the API's listener. */
  const char *http_ui;      /* "on" (default) or "off" */
  const char *explorer_url; /* the page's transaction links; NULL: none */
  /* license / verify / access. */
  const char *license_class; /* app|node|client, NULL = any */
  bool has_at_block;
  uint64_t at_block;
  bool json;
  const char *client_id;
  const char *message;
  const char *signature;
  const char *asset;      /* access: the vehicle contract (0x address) */
  const char *token_id;   /* access: decimal */
  const char *permission; /* access: permission index 0..127 */
  const char *signer;     /* access: the request's signer (0x address) */
  const char *at_time;    /* access: ISO-8601 UTC or Unix seconds */
  const char *grantor;    /* access: an account grant's grantor (0x address) */
  idx_log_level_t log_level;
  idx_log_format_t log_format;
  bool help;
  char *env_copy; /* owned: the split copy of DIMO_RPC */
  /* Positional arguments left after the options (borrowed from argv). */
  char **args;
  int nargs;
} idx_config_t;

/* Fills defaults, then the environment, then argv (argv[0] is the command
 * name). On a bad value writes the message to err and returns
 * IDX_ERR_CONFIG. */
IDX_WARN_UNUSED int idx_config_parse(idx_config_t *cfg, unsigned command, int argc, char **argv,
                                     char *err, size_t errlen) IDX_NONNULL(1, 4, 5);

/* Frees what idx_config_parse allocated (strings borrowed from argv and
 * the environment stay valid; the DIMO_RPC list does not). */
void idx_config_free(idx_config_t *cfg) IDX_NONNULL(1);

/* Prints the options a command takes, with their environment variables
 * and defaults. */
void idx_config_usage(unsigned command, const char *synopsis) IDX_NONNULL(2);

/* Confirmations in force: the flag, else the network file's, else 200 on
 * chain 137 (Polygon), else 0. */
uint64_t idx_config_confirmations(const idx_config_t *cfg, bool net_has, uint64_t net_value,
                                  uint64_t chain_id) IDX_NONNULL(1);

/* Finality in force: the flag, else the network file's, else latest. */
idx_finality_t idx_config_finality(const idx_config_t *cfg, bool net_has, idx_finality_t net_value)
    IDX_NONNULL(1);

const char *idx_finality_name(idx_finality_t f);

/* A whole decimal number (no sign, no blanks, no overflow) into *out;
 * false when s is not one. Options, environment variables. */
bool idx_parse_u64(const char *s, uint64_t *out) IDX_NONNULL(2);

/* "latest|safe|finalized". Returns 0 or IDX_ERR_CONFIG. */
IDX_WARN_UNUSED int idx_finality_parse(const char *s, idx_finality_t *out) IDX_NONNULL(1, 2);

#endif
