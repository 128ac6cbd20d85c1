/* Unit tests for network.c and config.c: presets, the devnet-style file
 * format, every validation error, and flag/environment precedence. */
#include "common.h"

#include "check.h"
#include "config.h"
#include "hex.h"
#include "network.h"

#include <stdlib.h>
#include <unistd.h>

static char tmpdir[256];

static const char *write_file(const char *name, const char *text) {
  static char path[512];
  snprintf(path, sizeof path, "%s/%s", tmpdir, name);
  FILE *f = fopen(path, "w");
  CHECK(f != NULL);
  if (f) {
    fputs(text, f);
    fclose(f);
  }
  return path;
}

static void test_presets(void) {
  idx_network_t net;
  char err[1024] = "";
  int rc = idx_network_load(&net, "polygon", ABI_DIR, err, sizeof err);
  if (rc)
    fprintf(stderr, "%s\n", err);
  CHECK_INT(rc, 0);
  CHECK_INT(net.chain_id, 137);
  /* Polygon finalizes within seconds (milestones): follow its finalized tag. */
  CHECK(net.has_confirmations && net.confirmations == 0);
  CHECK(net.has_finality && net.finality == IDX_FINALITY_FINALIZED);
  CHECK_INT(net.ncontracts, 10);
  char hex[43];
  idx_addr_to_hex(hex, &net.contracts[0].address);
  CHECK_STR(hex, "0x9a9d2e717bb005b240094ba761ff074d392c7c85");
  CHECK_INT(net.contracts[0].role, IDX_ROLE_APP_LICENSE);
  CHECK_INT(net.contracts[0].license_class, IDX_CLASS_APP);
  /* The 2022 Stake contract licenses manufacturers, not nodes. */
  CHECK_INT(net.contracts[1].role, IDX_ROLE_MANUFACTURER_LICENSE);
  CHECK_INT(net.contracts[1].license_class, IDX_CLASS_MANUFACTURER);
  CHECK_STR(idx_role_name(net.contracts[1].role), "manufacturer_license");
  CHECK_STR(idx_class_name(net.contracts[1].license_class), "manufacturer");
  /* DIMO's current rule: no app is understaked (no bond on chain), the
   * seed's amount still gives the trust ratio. */
  CHECK(net.requirements_json != NULL);
  CHECK(strstr(net.requirements_json, "\"app\":{\"note\":") != NULL);
  CHECK(strstr(net.requirements_json,
               "\"stake\":\"10000000000000000000000\",\"understaked\":false}") != NULL);
  CHECK_INT(net.contracts[2].role, IDX_ROLE_DIMO_TOKEN);
  CHECK_INT(net.contracts[0].abi.nevents,
            21); /* with the role events (#25), Initialized, the proxy ones (#22) */
  idx_addr_t a;
  CHECK_INT(idx_addr_from_hex(&a, "0xAA32A9E74486DD136CCEDF17061FE4EFC95A621E"), 0);
  CHECK(idx_network_contract(&net, &a) == &net.contracts[1]);
  /* The opt-in contracts: the first SACD and the SACD proxy (every
   * generation of its events), the Template proxy, the DIMO vehicle NFT; no
   * license class. */
  CHECK_INT(net.contracts[3].role, IDX_ROLE_SACD);
  CHECK_INT(net.contracts[3].license_class, IDX_CLASS_NONE);
  idx_addr_to_hex(hex, &net.contracts[3].address);
  CHECK_STR(hex, "0xef919b3793deaae1637523d483e3434ae113004e");
  CHECK_INT(net.contracts[3].start_block, 61088431);
  CHECK_INT(net.contracts[3].abi.nevents, 6); /* + BeaconUpgraded (#22) */
  CHECK_INT(net.contracts[4].role, IDX_ROLE_SACD);
  idx_addr_to_hex(hex, &net.contracts[4].address);
  CHECK_STR(hex, "0x3c152b5d96769661008ff404224d6530fcac766d");
  CHECK_INT(net.contracts[4].start_block, 62754945);
  CHECK_INT(net.contracts[5].role, IDX_ROLE_SACD_TEMPLATE);
  CHECK_INT(net.contracts[5].license_class, IDX_CLASS_NONE);
  idx_addr_to_hex(hex, &net.contracts[5].address);
  CHECK_STR(hex, "0x666309adbec298bb332c722f0303ce883f895750");
  CHECK_INT(net.contracts[5].abi.nevents, 6);
  CHECK_INT(net.contracts[6].role, IDX_ROLE_VEHICLE);
  CHECK_INT(net.contracts[6].license_class, IDX_CLASS_NONE);
  idx_addr_to_hex(hex, &net.contracts[6].address);
  CHECK_STR(hex, "0xba5738a18d83d41847dffbdc6101d37c69c9b0cf");
  CHECK_INT(net.contracts[6].abi.nevents, 4); /* + Upgraded, BeaconUpgraded */
  /* Storage nodes (class node), the registry's assignments, connections. */
  CHECK_INT(net.contracts[7].role, IDX_ROLE_STORAGE_NODE);
  CHECK_INT(net.contracts[7].license_class, IDX_CLASS_NODE);
  CHECK_INT(net.contracts[7].abi.nevents, 5);
  CHECK_INT(net.contracts[8].role, IDX_ROLE_NODE_REGISTRY);
  CHECK_INT(net.contracts[8].license_class, IDX_CLASS_NONE);
  CHECK_INT(net.contracts[8].abi.nevents, 4);
  CHECK_INT(net.contracts[9].role, IDX_ROLE_CONNECTION);
  CHECK_INT(net.contracts[9].license_class, IDX_CLASS_CONNECTION);
  CHECK_INT(net.contracts[9].abi.nevents, 9);
  CHECK_STR(idx_role_name(net.contracts[8].role), "node_registry");
  /* #22: the quiet roles are asked for every log, the busy ones by topic. */
  CHECK(idx_role_fetches_all(IDX_ROLE_APP_LICENSE) && idx_role_fetches_all(IDX_ROLE_SACD) &&
        idx_role_fetches_all(IDX_ROLE_SACD_TEMPLATE) &&
        idx_role_fetches_all(IDX_ROLE_STORAGE_NODE) && idx_role_fetches_all(IDX_ROLE_CONNECTION) &&
        idx_role_fetches_all(IDX_ROLE_MANUFACTURER_LICENSE));
  CHECK(!idx_role_fetches_all(IDX_ROLE_DIMO_TOKEN) && !idx_role_fetches_all(IDX_ROLE_VEHICLE) &&
        !idx_role_fetches_all(IDX_ROLE_NODE_REGISTRY));
  {
    static const char up[] = "Upgraded(address)", bup[] = "BeaconUpgraded(address)";
    for (size_t i = 0; i < net.ncontracts; i++) {
      int seen = 0;
      for (size_t e = 0; e < net.contracts[i].abi.nevents; e++)
        seen += strcmp(net.contracts[i].abi.events[e].signature, up) == 0 ||
                strcmp(net.contracts[i].abi.events[e].signature, bup) == 0;
      CHECK_INT(seen, 2); /* each once, whether its file had it or not */
    }
  }
  CHECK_STR(idx_class_name(net.contracts[9].license_class), "connection");
  idx_network_free(&net);

  CHECK_INT(idx_network_load(&net, "amoy", ABI_DIR, err, sizeof err), 0);
  CHECK_INT(net.chain_id, 80002);
  idx_network_free(&net);

  CHECK_INT(idx_network_load(&net, "mars", ABI_DIR, err, sizeof err), IDX_ERR_CONFIG);
  CHECK(strstr(err, "mars") != NULL);
  CHECK_INT(idx_network_load(&net, "bad name!", ABI_DIR, err, sizeof err), IDX_ERR_CONFIG);
}

static void expect_error(const char *json, const char *needle) {
  idx_network_t net;
  char err[1024] = "";
  const char *path = write_file("net.json", json);
  int rc = idx_network_load(&net, path, ABI_DIR, err, sizeof err);
  CHECK_INT(rc, IDX_ERR_CONFIG);
  if (!strstr(err, needle))
    fprintf(stderr, "error \"%s\" does not mention \"%s\"\n", err, needle);
  CHECK(strstr(err, needle) != NULL);
}

#define APP                                                                                        \
  "{\"role\":\"app_license\",\"address\":\"0x9a9d2e717bb005b240094ba761ff074d392c7c85\",\"abi\":"  \
  "\"DevLicenseDimo.json\""

static void test_file_format(void) {
  idx_network_t net;
  char err[1024] = "";
  const char *path = write_file(
      "devnet.json",
      "{\"name\":\"devnet\",\"chain_id\":137,\"confirmations\":0,\"x-deployer\":\"me\","
      "\"contracts\":[" APP ",\"start_block\":5,\"x-tx\":\"0x1\"},"
      "{\"role\":\"app_license\",\"class\":\"client\",\"address\":"
      "\"0x1111111111111111111111111111111111111111\",\"abi\":\"DevLicenseDimo.json\","
      "\"start_block\":3},"
      "{\"role\":\"dimo_token\",\"address\":\"0x2222222222222222222222222222222222222222\","
      "\"abi\":\"DimoToken.json\",\"start_block\":1}]}");
  int rc = idx_network_load(&net, path, ABI_DIR, err, sizeof err);
  if (rc)
    fprintf(stderr, "%s\n", err);
  CHECK_INT(rc, 0);
  CHECK(net.has_confirmations && net.confirmations == 0);
  CHECK(!net.has_finality);
  CHECK_INT(net.contracts[1].license_class, IDX_CLASS_CLIENT);
  CHECK_INT(idx_network_start_block(&net), 3); /* the token's 1 does not count */
  idx_network_free(&net);

  expect_error("[]", "JSON object");
  expect_error("{\"chain_id\":137,\"finality\":\"final\",\"contracts\":[" APP "}]}", "finality");
  expect_error("{\"chain_id\":137,\"contracts\":[" APP "}],\"colour\":1}", "colour");
  expect_error("{\"contracts\":[" APP "}]}", "chain_id");
  expect_error("{\"chain_id\":-1,\"contracts\":[" APP "}]}", "chain_id");
  expect_error("{\"chain_id\":137,\"contracts\":[]}", "contracts");
  expect_error("{\"chain_id\":137,\"contracts\":[" APP ",\"role\":\"oracle\"}]}", "");
  expect_error("{\"chain_id\":137,\"contracts\":[{\"role\":\"oracle\",\"address\":"
               "\"0x9a9d2e717bb005b240094ba761ff074d392c7c85\",\"abi\":\"DevLicenseDimo.json\"}]}",
               "unknown role");
  expect_error("{\"chain_id\":137,\"contracts\":[" APP ",\"adress\":\"x\"}]}", "adress");
  expect_error("{\"chain_id\":137,\"contracts\":[{\"role\":\"app_license\",\"address\":\"0x12\","
               "\"abi\":\"DevLicenseDimo.json\"}]}",
               "address");
  expect_error("{\"chain_id\":137,\"contracts\":[" APP ",\"class\":\"moon\"}]}", "class");
  expect_error("{\"chain_id\":137,\"contracts\":[{\"role\":\"app_license\",\"address\":"
               "\"0x9a9d2e717bb005b240094ba761ff074d392c7c85\",\"abi\":\"Nope.json\"}]}",
               "Nope.json");
  expect_error("{\"chain_id\":137,\"contracts\":[" APP ",\"start_block\":\"7\"}]}", "start_block");
  expect_error("{\"chain_id\":137,\"contracts\":[{\"role\":\"dimo_token\",\"address\":"
               "\"0x9a9d2e717bb005b240094ba761ff074d392c7c85\",\"abi\":\"DimoToken.json\"}]}",
               "license contract");
  expect_error("{\"chain_id\":137,\"contracts\":[" APP "}," APP "}]}", "twice");
  /* Storage nodes and connections have one class each; no other role is a
   * connection; the registry is no license. */
  expect_error("{\"chain_id\":137,\"contracts\":[" APP ",\"class\":\"connection\"}]}", "cannot");
  expect_error("{\"chain_id\":137,\"contracts\":[{\"role\":\"storage_node\",\"class\":\"app\","
               "\"address\":\"0xf76eeba34b19adb7eea9e4eea05243d7e5a30123\",\"abi\":"
               "\"StorageNode.json\"}]}",
               "cannot");
  expect_error("{\"chain_id\":137,\"contracts\":[{\"role\":\"node_registry\",\"class\":\"node\","
               "\"address\":\"0xfa8bec73cebb9d88ff88a2f75e7d7312f2fd39ec\",\"abi\":"
               "\"NodeRegistry.json\"}]}",
               "license roles only");
  expect_error("{\"chain_id\":137,", "line");
  /* The old role name: a clear error naming the new one. */
  expect_error("{\"chain_id\":137,\"contracts\":[{\"role\":\"node_license\",\"address\":"
               "\"0xaa32a9e74486dd136ccedf17061fe4efc95a621e\",\"abi\":"
               "\"ManufacturerLicenseStake.json\"}]}",
               "now \"manufacturer_license\"");
  /* A manufacturer is never a node, an app license never a manufacturer. */
  expect_error("{\"chain_id\":137,\"contracts\":[{\"role\":\"manufacturer_license\",\"class\":"
               "\"node\",\"address\":\"0xaa32a9e74486dd136ccedf17061fe4efc95a621e\",\"abi\":"
               "\"ManufacturerLicenseStake.json\"}]}",
               "cannot");
  expect_error("{\"chain_id\":137,\"contracts\":[" APP ",\"class\":\"manufacturer\"}]}", "cannot");
}

/* `requirements`: per class, amounts in wei as exact decimal strings. */
static void test_requirements(void) {
  idx_network_t net;
  char err[1024] = "";
  const char *path = write_file(
      "req.json",
      "{\"chain_id\":137,\"requirements\":{\"app\":{\"stake\":\"0\",\"understaked\":true,"
      "\"x-why\":1},\"node\":{\"stake\":"
      "\"115792089237316195423570985008687907853269984665640564039457584007913129639935\","
      "\"per_user\":\"7\",\"note\":\"n\"},\"x-tool\":{}},\"contracts\":[" APP "}]}");
  int rc = idx_network_load(&net, path, ABI_DIR, err, sizeof err);
  if (rc)
    fprintf(stderr, "%s\n", err);
  CHECK_INT(rc, 0);
  CHECK_STR(
      net.requirements_json,
      "{\"app\":{\"stake\":\"0\",\"understaked\":true},\"node\":{\"note\":\"n\",\"per_user\":\"7\","
      "\"stake\":"
      "\"115792089237316195423570985008687907853269984665640564039457584007913129639935\"}}");
  idx_network_free(&net);
  /* None given: NULL (the database's defaults apply). */
  path = write_file("noreq.json", "{\"chain_id\":137,\"contracts\":[" APP "}]}");
  CHECK_INT(idx_network_load(&net, path, ABI_DIR, err, sizeof err), 0);
  CHECK(net.requirements_json == NULL);
  idx_network_free(&net);

#define REQ(body) "{\"chain_id\":137,\"requirements\":" body ",\"contracts\":[" APP "}]}"
  expect_error(REQ("[]"), "must be an object");
  expect_error(REQ("{\"connection\":{\"stake\":\"1\"}}"), "unknown class \"connection\"");
  expect_error(REQ("{\"nodes\":{\"stake\":\"1\"}}"), "unknown class \"nodes\"");
  expect_error(REQ("{\"app\":1}"), "requirements.app must be an object");
  expect_error(REQ("{\"app\":{}}"), "\"stake\" is required");
  expect_error(REQ("{\"app\":{\"stake\":10000}}"), "decimal string");
  expect_error(REQ("{\"app\":{\"stake\":\"1e22\"}}"), "decimal string");
  expect_error(REQ("{\"app\":{\"stake\":\"-1\"}}"), "decimal string");
  expect_error(REQ("{\"app\":{\"stake\":\"010\"}}"), "decimal string");
  expect_error(REQ("{\"app\":{\"stake\":\"\"}}"), "decimal string");
  expect_error(
      REQ("{\"app\":{\"stake\":"
          "\"115792089237316195423570985008687907853269984665640564039457584007913129639936\"}}"),
      "decimal string");
  expect_error(REQ("{\"app\":{\"stake\":\"1\",\"per_user\":\"1\"}}"), "only nodes");
  expect_error(REQ("{\"node\":{\"stake\":\"1\",\"per_user\":2}}"), "per_user");
  expect_error(REQ("{\"app\":{\"stake\":\"1\",\"understaked\":\"yes\"}}"), "true or false");
  expect_error(REQ("{\"app\":{\"stake\":\"1\",\"note\":5}}"), "note");
  expect_error(REQ("{\"app\":{\"stake\":\"1\",\"enforce\":true}}"), "unknown key \"enforce\"");
#undef REQ
}

static void test_config(void) {
  idx_config_t cfg;
  char err[512];
  char a0[] = "run", a1[] = "--rpc", a2[] = "http://127.0.0.1:1", a3[] = "--rpc=http://127.0.0.1:2",
       a4[] = "--confirmations", a5[] = "0", a6[] = "--finality", a7[] = "safe";
  char *argv[] = {a0, a1, a2, a3, a4, a5, a6, a7};
  setenv("DIMO_RPC", "http://env:1,http://env:2,http://env:3", 1);
  setenv("DATABASE_URL", "dbname=x", 1);
  CHECK_INT(idx_config_parse(&cfg, IDX_CMD_RUN, 8, argv, err, sizeof err), 0);
  CHECK_INT(cfg.nrpc, 2); /* flags replace the environment's list */
  CHECK_STR(cfg.rpc[1], "http://127.0.0.1:2");
  CHECK_STR(cfg.db, "dbname=x");
  CHECK(cfg.has_confirmations && cfg.confirmations == 0);
  CHECK_INT(cfg.finality, IDX_FINALITY_SAFE);
  CHECK_INT(idx_config_finality(&cfg, true, IDX_FINALITY_FINALIZED), IDX_FINALITY_SAFE);
  CHECK_INT(idx_config_confirmations(&cfg, true, 9, 137), 0);

  char *argv2[] = {a0};
  idx_config_free(&cfg);
  CHECK_INT(idx_config_parse(&cfg, IDX_CMD_RUN, 1, argv2, err, sizeof err), 0);
  CHECK_INT(cfg.nrpc, 3);
  CHECK_STR(cfg.rpc[2], "http://env:3");
  CHECK_INT(idx_config_confirmations(&cfg, false, 0, 137), 200);
  CHECK_INT(idx_config_confirmations(&cfg, true, 12, 137), 12);
  CHECK_INT(idx_config_confirmations(&cfg, false, 0, 80002), 0);
  CHECK_INT(idx_config_finality(&cfg, true, IDX_FINALITY_FINALIZED), IDX_FINALITY_FINALIZED);
  CHECK_INT(idx_config_finality(&cfg, false, IDX_FINALITY_FINALIZED), IDX_FINALITY_LATEST);
  unsetenv("DIMO_RPC");

  char b1[] = "--confirmations", b2[] = "-3";
  char *bad1[] = {a0, b1, b2};
  idx_config_free(&cfg);
  CHECK_INT(idx_config_parse(&cfg, IDX_CMD_RUN, 3, bad1, err, sizeof err), IDX_ERR_CONFIG);
  CHECK(strstr(err, "--confirmations") != NULL);
  char c1[] = "--colour";
  char *bad2[] = {a0, c1};
  idx_config_free(&cfg);
  CHECK_INT(idx_config_parse(&cfg, IDX_CMD_RUN, 2, bad2, err, sizeof err), IDX_ERR_CONFIG);
  CHECK(strstr(err, "--colour") != NULL);
  char d1[] = "--to";
  char *bad3[] = {a0, d1}; /* --to is a sync option, and needs a value */
  idx_config_free(&cfg);
  CHECK_INT(idx_config_parse(&cfg, IDX_CMD_RUN, 2, bad3, err, sizeof err), IDX_ERR_CONFIG);
  idx_config_free(&cfg);
  CHECK_INT(idx_config_parse(&cfg, IDX_CMD_SYNC, 2, bad3, err, sizeof err), IDX_ERR_CONFIG);
  CHECK(strstr(err, "needs a value") != NULL);
  char s0[] = "sync", e1[] = "--to", e2[] = "head", f1[] = "extra";
  char *ok2[] = {s0, e1, e2, f1};
  idx_config_free(&cfg);
  CHECK_INT(idx_config_parse(&cfg, IDX_CMD_SYNC, 4, ok2, err, sizeof err), 0);
  CHECK(cfg.has_to && cfg.to_head);
  CHECK_INT(cfg.nargs, 1);
  CHECK_STR(cfg.args[0], "extra");
  char g1[] = "--finality", g2[] = "soon";
  char *bad4[] = {a0, g1, g2};
  idx_config_free(&cfg);
  CHECK_INT(idx_config_parse(&cfg, IDX_CMD_RUN, 3, bad4, err, sizeof err), IDX_ERR_CONFIG);
  setenv("DIMO_LOG_LEVEL", "loud", 1);
  idx_config_free(&cfg);
  CHECK_INT(idx_config_parse(&cfg, IDX_CMD_RUN, 1, argv2, err, sizeof err), IDX_ERR_CONFIG);
  CHECK(strstr(err, "DIMO_LOG_LEVEL") != NULL);
  unsetenv("DIMO_LOG_LEVEL");
  idx_config_free(&cfg);
}

int main(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/idx-test-network-XXXXXX");
  if (!mkdtemp(tmpdir)) {
    perror("mkdtemp");
    return 1;
  }
  test_presets();
  test_file_format();
  test_requirements();
  test_config();
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  if (system(cmd) != 0)
    fprintf(stderr, "could not remove %s\n", tmpdir);
  CHECK_DONE();
}
