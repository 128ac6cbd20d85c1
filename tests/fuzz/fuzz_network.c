/* libFuzzer target for the network-file loader (network.c) and, through
 * it, the ABI file parser (abi.c): idx_network_load on a file written from
 * the input, as `--network PATH` reads it.
 *
 * Input: the network file; after a NUL byte (a JSON file holds none), an
 * ABI file written beside it as "x.json", which the network file may name
 * ("abi": "x.json"); the shipped ABI files (abi/) resolve too. An input
 * whose "abi" values hold a '/' is skipped: those paths reach files
 * outside the two folders (the operator's to choose, not the fuzzer's).
 *
 * Checked on success: at least one contract, one of them a license, each
 * with events and a distinct address that idx_network_contract finds, and
 * a start block no later than any indexed contract's. */
#include "common.h"

#include "network.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef ABI_DIR
#error "ABI_DIR must name the abi/ folder"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t len);

static char dir[64], net_path[96], abi_path[96];

static void check(bool ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "fuzz_network: %s\n", what);
    abort();
  }
}

static void cleanup(void) {
  unlink(net_path);
  unlink(abi_path);
  rmdir(dir);
}

static void setup_once(void) {
  if (dir[0])
    return;
  snprintf(dir, sizeof dir, "/tmp/dimo-fuzz-network-XXXXXX");
  check(mkdtemp(dir) != NULL, "mkdtemp failed");
  snprintf(net_path, sizeof net_path, "%s/net.json", dir);
  snprintf(abi_path, sizeof abi_path, "%s/x.json", dir);
  atexit(cleanup);
}

static bool write_file(const char *path, const uint8_t *p, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f)
    return false;
  bool ok = fwrite(p, 1, n, f) == n;
  return fclose(f) == 0 && ok;
}

/* True when every contracts[].abi string stays in the two folders. */
static bool abi_paths_local(const uint8_t *p, size_t n) {
  json_t *root = json_loadb((const char *)p, n, 0, NULL);
  if (!root)
    return true; /* the loader refuses it too */
  bool ok = true;
  json_t *contracts = json_object_get(root, "contracts");
  size_t i;
  json_t *c;
  json_array_foreach(contracts, i, c) {
    const char *abi = json_string_value(json_object_get(c, "abi"));
    if (abi && strchr(abi, '/'))
      ok = false;
  }
  json_decref(root);
  return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t len) {
  setup_once();
  const uint8_t *nul = memchr(in, '\0', len);
  size_t nlen = nul ? (size_t)(nul - in) : len;
  if (!abi_paths_local(in, nlen))
    return 0;
  unlink(abi_path);
  if (!write_file(net_path, in, nlen) || (nul && !write_file(abi_path, nul + 1, len - nlen - 1)))
    return 0;

  idx_network_t net;
  char err[512] = "";
  int rc = idx_network_load(&net, net_path, ABI_DIR, err, sizeof err);
  if (rc) {
    check(rc == IDX_ERR_CONFIG || rc == IDX_ERR_NOMEM, "an unexpected error code");
    check(rc == IDX_ERR_NOMEM || err[0] != '\0', "a failure without a message");
    return 0;
  }
  check(net.ncontracts >= 1 && net.chain_id > 0 && net.name && net.path, "an incomplete network");
  bool license = false;
  uint64_t start = idx_network_start_block(&net);
  for (size_t i = 0; i < net.ncontracts; i++) {
    const idx_contract_t *c = &net.contracts[i];
    license |= c->license_class != IDX_CLASS_NONE;
    check(c->abi.nevents > 0, "a contract without events");
    check(idx_network_contract(&net, &c->address) == c, "an address listed twice");
    check(c->role == IDX_ROLE_DIMO_TOKEN || start <= c->start_block, "a late start block");
    check(idx_role_name(c->role)[0] != '?', "an unknown role");
  }
  check(license, "no license contract");
  idx_network_free(&net);
  return 0;
}
