/* main.c: the dimo-indexer executable; everything lives in the library. */
#include "common.h"

#include "cli.h"

int main(int argc, char **argv) { return idx_cli_main(argc, argv); }
