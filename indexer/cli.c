/* cli.c: subcommand dispatch, --help and --version (see cli.h). */
#include "common.h"

#include "cli.h"

#include <stdio.h>
#include <string.h>

typedef struct cli_command_s {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
} cli_command_t;

static const cli_command_t commands[] = {
    {"run", idx_cmd_run, "follow the chain into PostgreSQL until stopped (backfill, then live)"},
    {"serve", idx_cmd_serve,
     "the HTTP API alone, on a database it never writes (hot standby or read-only role)"},
    {"sync", idx_cmd_sync, "backfill up to --to N|head, then exit"},
    {"status", idx_cmd_status, "cursor, head, lag and stored events per kind"},
    {"migrate", idx_cmd_migrate, "apply the SQL migrations in schema/"},
    {"rederive", idx_cmd_rederive, "rebuild the derived model from the stored logs alone"},
    {"license", idx_cmd_license,
     "a license's state and history (KEY: token id, 0x address or alias)"},
    {"audit", idx_cmd_audit, "who did each admin action under which role; roles; the books"},
    {"verify", idx_cmd_verify, "check a signed request: is this app and signer licensed now?"},
    {"access", idx_cmd_access,
     "may this app read this permission of this vehicle (license, signer, opt-in)?"},
    {"abi", idx_cmd_abi, "ABI tools: `abi topics FILE` prints topic0<TAB>signature per event"},
};

static void usage(FILE *out) {
  fprintf(out, "usage: dimo-indexer [--help] [--version] COMMAND [ARGS]\n"
               "\n"
               "Follows the DIMO license contracts on Polygon PoS and keeps their\n"
               "history of licenses, stakes and slashes in PostgreSQL.\n"
               "\n"
               "commands:\n");
  for (size_t i = 0; i < IDX_ARRAY_LEN(commands); i++)
    fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf(out, "\n`dimo-indexer COMMAND --help` describes each command.\n");
}

int idx_cli_main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return IDX_EXIT_USAGE;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
    usage(stdout);
    return IDX_EXIT_OK;
  }
  if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
    printf("dimo-indexer %s\n", IDX_VERSION);
    return IDX_EXIT_OK;
  }
  for (size_t i = 0; i < IDX_ARRAY_LEN(commands); i++) {
    if (strcmp(cmd, commands[i].name) == 0)
      return commands[i].run(argc - 1, argv + 1);
  }
  fprintf(stderr, "dimo-indexer: unknown command '%s' (see --help)\n", cmd);
  return IDX_EXIT_USAGE;
}
