/*
 * cli.h: the dimo-indexer command line: one table of subcommands, each a
 * function taking its own argv. Exit codes: 0 success, 1 runtime failure,
 * 2 bad usage or configuration.
 */
#ifndef IDX_CLI_H
#define IDX_CLI_H

#include "common.h"

#include "config.h"
#include "network.h"
#include "rpc.h"

enum { IDX_EXIT_OK = 0, IDX_EXIT_FAIL = 1, IDX_EXIT_USAGE = 2 };

/* Runs the command line; returns the process exit code. */
int idx_cli_main(int argc, char **argv);

/* Subcommands: each takes its own argv (argv[0] is the command name). */
int idx_cmd_abi(int argc, char **argv);
int idx_cmd_run(int argc, char **argv);
int idx_cmd_sync(int argc, char **argv);
int idx_cmd_migrate(int argc, char **argv);
int idx_cmd_status(int argc, char **argv);
int idx_cmd_verify(int argc, char **argv);
int idx_cmd_license(int argc, char **argv);
int idx_cmd_audit(int argc, char **argv); /* #25: cmd_audit.c */
int idx_cmd_access(int argc, char **argv);
int idx_cmd_rederive(int argc, char **argv);
int idx_cmd_serve(int argc, char **argv);

/* JSON-RPC client options from cfg (--rpc, --rpc-timeout,
 * --rpc-max-response); max_attempts 0 retries forever. */
void idx_cmd_rpc_options(const idx_config_t *cfg, idx_rpc_options_t *ro, unsigned max_attempts);

/* Loads cfg's network (into net) and checks that --db (and, when
 * need_rpc, --rpc) are given. Prints the problem and returns
 * IDX_EXIT_USAGE, or IDX_EXIT_OK with net loaded (free it). */
int idx_cmd_chain_setup(const idx_config_t *cfg, idx_network_t *net, bool need_rpc);

/* Prints one signer line of a license: "ADDRESS  valid|expired|disabled",
 * then " enabled T, expires T" when enabled (enabled_at may be NULL). */
void idx_cmd_put_signer(const char *address, bool valid, const char *enabled_at,
                        const char *expires_at) IDX_NONNULL(1, 4);

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

#endif
