/* Unit tests for modelcheck.c: declared reads against a loaded network
 * (the Polygon preset's real ABI files). */
#include "common.h"

#include "check.h"
#include "modelcheck.h"
#include "network.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static idx_network_t net;

static int one(const char *role, const char *event, const char *names, char *err, size_t errlen) {
  err[0] = '\0';
  return idx_modelcheck_one(&net, "licenses", role, event, names, false, err, errlen);
}

static void test_matches(void) {
  char err[512];
  CHECK_INT(one("app_license", "Issued(uint256,address,address)", "tokenId,owner,clientId", err,
                sizeof err),
            0);
  CHECK_STR(err, "");
  /* ERC-20 and ERC-721 Transfer share a signature; the role tells which. */
  CHECK_INT(
      one("dimo_token", "Transfer(address,address,uint256)", "from,to,value", err, sizeof err), 0);
  CHECK_INT(one("vehicle", "Transfer(address,address,uint256)", "from,to,tokenId", err, sizeof err),
            0);
  /* A role with no contract in the network: nothing to check. */
  CHECK_INT(one("no_such_role", "Nothing(uint256)", "x", err, sizeof err), 0);
}

static void test_mismatches(void) {
  char err[512];
  CHECK_INT(one("app_license", "LicenseAliasSet(uint256,string)", "tokenId,alias", err, sizeof err),
            IDX_ERR_CONFIG);
  CHECK(strstr(err, "LicenseAliasSet(uint256,string)") != NULL);
  CHECK(strstr(err, "'alias'") != NULL);
  CHECK(strstr(err, "'licenseAlias'") != NULL);
  CHECK(strstr(err, "DevLicenseDimo.json") != NULL);

  CHECK_INT(
      one("dimo_token", "Transfer(address,address,uint256)", "from,to,tokenId", err, sizeof err),
      IDX_ERR_CONFIG);
  CHECK(strstr(err, "'value'") != NULL);

  /* Order matters: two uint256 swapped keep the signature. */
  CHECK_INT(one("app_license", "AssetFreezeUpdate(uint256,uint256,bool)", "amount,tokenId,frozen",
                err, sizeof err),
            IDX_ERR_CONFIG);
  CHECK(strstr(err, "argument 1") != NULL);

  /* Too few and too many names. */
  CHECK_INT(one("app_license", "AssetForfeit(uint256,uint256)", "tokenId", err, sizeof err),
            IDX_ERR_CONFIG);
  CHECK(strstr(err, "extra 'amount'") != NULL);
  CHECK_INT(
      one("app_license", "AssetForfeit(uint256,uint256)", "tokenId,amount,more", err, sizeof err),
      IDX_ERR_CONFIG);
  CHECK(strstr(err, "'more'") != NULL);

  /* An event no ABI of the role has (renamed or retyped). */
  CHECK_INT(one("app_license", "Issued(uint256,address)", "tokenId,owner", err, sizeof err),
            IDX_ERR_CONFIG);
  CHECK(strstr(err, "no ABI of that role has it") != NULL);
  CHECK(strstr(err, "app_license") != NULL);
}

/* A generation only some contracts of a role emit (model_reads.optional):
 * absent from every ABI of the role is fine; present with other names is
 * still refused. */
static void test_optional(void) {
  char err[512] = "";
  /* The Polygon preset's app license (the proxy) never had Deposit. */
  CHECK_INT(idx_modelcheck_one(&net, "licenses_2024", "app_license",
                               "Deposit(uint256,address,uint256)", "tokenId,user,amount", true, err,
                               sizeof err),
            0);
  CHECK_INT(idx_modelcheck_one(&net, "licenses_2024", "app_license",
                               "Deposit(uint256,address,uint256)", "tokenId,user,amount", false,
                               err, sizeof err),
            IDX_ERR_CONFIG);

  /* A network that lists the 2024 contract beside the proxy. */
  char path[] = "/tmp/test_modelcheck_XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  if (fd < 0)
    return;
  FILE *f = fdopen(fd, "w");
  fputs("{\"name\": \"t\", \"chain_id\": 137, \"contracts\": ["
        "{\"role\": \"app_license\", \"address\": \"0x9a9d2e717bb005b240094ba761ff074d392c7c85\","
        " \"abi\": \"DevLicenseDimo.json\"},"
        "{\"role\": \"app_license\", \"address\": \"0xc194631194671a44a9ef1c59df290ef0f3e76ea1\","
        " \"abi\": \"DevLicenseDimo2024.json\"}]}",
        f);
  fclose(f);
  idx_network_t two;
  int rc = idx_network_load(&two, path, ABI_DIR, err, sizeof err);
  remove(path);
  CHECK_INT(rc, 0);
  if (rc)
    return;
  CHECK_INT(idx_modelcheck_one(&two, "licenses_2024", "app_license",
                               "Deposit(uint256,address,uint256)", "tokenId,user,amount", true, err,
                               sizeof err),
            0);
  CHECK_INT(idx_modelcheck_one(&two, "licenses_2024", "app_license",
                               "Deposit(uint256,address,uint256)", "tokenId,owner,amount", true,
                               err, sizeof err),
            IDX_ERR_CONFIG);
  CHECK(strstr(err, "DevLicenseDimo2024.json") != NULL);
  /* The indexed Update* of 2024 carry today's argument names. */
  CHECK_INT(idx_modelcheck_one(&two, "licenses", "app_license", "UpdateLicenseCost(uint256)",
                               "licenseCost", false, err, sizeof err),
            0);
  idx_network_free(&two);
}

int main(void) {
  char err[1024] = "";
  int rc = idx_network_load(&net, "polygon", ABI_DIR, err, sizeof err);
  if (rc)
    fprintf(stderr, "%s\n", err);
  CHECK_INT(rc, 0);
  if (rc == 0) {
    test_matches();
    test_mismatches();
    test_optional();
    idx_network_free(&net);
  }
  CHECK_DONE();
}
