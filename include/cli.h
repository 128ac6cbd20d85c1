/*
 * cli.h: the dimo-indexer command line: one table of subcommands, each a
 * function taking its own argv. Exit codes: 0 success, 1 runtime failure,
 * 2 bad usage or configuration.
 */
#ifndef IDX_CLI_H
#define IDX_CLI_H

#include "common.h"

enum { IDX_EXIT_OK = 0, IDX_EXIT_FAIL = 1, IDX_EXIT_USAGE = 2 };

/* Runs the command line; returns the process exit code. */
int idx_cli_main(int argc, char **argv);

/* `dimo-indexer abi ...`: ABI file tools. */
int idx_cmd_abi(int argc, char **argv);

#endif
