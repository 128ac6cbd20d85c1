/*
 * cli.h: the dimo-indexer command line. One table (cli.c) lists every
 * subcommand with its synopsis, the options it takes, its argument counts
 * and what it needs before it runs (a network file, a database, a JSON-RPC
 * endpoint, a schema this build understands). cli.c parses the options,
 * answers --help, checks the arguments, sets up logging, loads the network
 * and checks those needs once, for every command; each command's run
 * function then does its own job only.
 *
 * Exit codes: 0 success, 1 runtime failure, 2 bad usage or configuration
 * (some commands add their own, documented in their synopsis).
 */
#ifndef IDX_CLI_H
#define IDX_CLI_H

#include "common.h"

#include "config.h"
#include "network.h"

enum { IDX_EXIT_OK = 0, IDX_EXIT_FAIL = 1, IDX_EXIT_USAGE = 2 };

/* What a command needs, checked by cli.c before its run function. */
enum {
  IDX_NEEDS_NETWORK = 1u << 0, /* the network file, loaded into ctx->net */
  IDX_NEEDS_DB = 1u << 1,      /* --db (or DATABASE_URL) given */
  IDX_NEEDS_RPC = 1u << 2,     /* at least one --rpc (or DIMO_RPC) */
  /* A reading command: refuse a database a newer dimo-indexer migrated
   * (commands that migrate refuse it when they migrate). */
  IDX_NEEDS_KNOWN_SCHEMA = 1u << 3,
};

/* What a command's run function receives: options parsed, arguments
 * counted, logging set up, needs checked. */
typedef struct idx_cmd_ctx_s {
  const char *name;         /* the command's name, for messages */
  const idx_config_t *cfg;  /* its options and positional arguments */
  const idx_network_t *net; /* loaded when it needs a network, else NULL */
} idx_cmd_ctx_t;

/* Runs the command line; returns the process exit code. */
int idx_cli_main(int argc, char **argv);

/* The commands' run functions (one per command in cli.c's table). */
int idx_cmd_run(const idx_cmd_ctx_t *ctx);
int idx_cmd_sync(const idx_cmd_ctx_t *ctx);
int idx_cmd_migrate(const idx_cmd_ctx_t *ctx);
int idx_cmd_status(const idx_cmd_ctx_t *ctx);
int idx_cmd_verify(const idx_cmd_ctx_t *ctx);
int idx_cmd_license(const idx_cmd_ctx_t *ctx);
int idx_cmd_audit(const idx_cmd_ctx_t *ctx);
int idx_cmd_access(const idx_cmd_ctx_t *ctx);
int idx_cmd_rederive(const idx_cmd_ctx_t *ctx);
int idx_cmd_serve(const idx_cmd_ctx_t *ctx);

/* `abi` parses its own words (`abi topics FILE...`): no options, no needs. */
int idx_cmd_abi(int argc, char **argv);

#endif
