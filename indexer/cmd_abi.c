/* cmd_abi.c: `dimo-indexer abi topics FILE`. */
#include "common.h"

#include "abi.h"
#include "cli.h"
#include "hex.h"

#include <stdio.h>
#include <string.h>

static void abi_usage(FILE *out) {
  fprintf(out, "usage: dimo-indexer abi topics FILE...\n"
               "  Prints topic0<TAB>signature for every event of each ABI JSON file.\n");
}

static bool is_help(const char *arg) {
  return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

int idx_cmd_abi(int argc, char **argv) {
  /* `abi --help` and `abi topics --help` (a file is never named --help). */
  if ((argc >= 2 && is_help(argv[1])) || (argc >= 3 && is_help(argv[2]))) {
    abi_usage(stdout);
    return IDX_EXIT_OK;
  }
  if (argc < 3 || strcmp(argv[1], "topics") != 0) {
    abi_usage(stderr);
    return IDX_EXIT_USAGE;
  }
  int status = IDX_EXIT_OK;
  for (int f = 2; f < argc; f++) {
    idx_abi_t abi;
    idx_abi_init(&abi);
    char err[512];
    int rc = idx_abi_load_file(&abi, argv[f], err, sizeof err);
    if (rc) {
      fprintf(stderr, "dimo-indexer: %s\n", err);
      status = IDX_EXIT_USAGE;
    }
    for (size_t i = 0; i < abi.nevents; i++) {
      char hex[67];
      idx_hash_to_hex(hex, &abi.events[i].topic0);
      printf("%s\t%s\n", hex, abi.events[i].signature);
    }
    idx_abi_free(&abi);
  }
  return status;
}
