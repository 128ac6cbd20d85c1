/* Unit tests for modelcheck.c: declared reads against a loaded network
 * (the Polygon preset's real ABI files). */
#include "common.h"

#include "check.h"
#include "modelcheck.h"
#include "network.h"

#include <stdio.h>
#include <string.h>

static idx_network_t net;

static int one(const char *role, const char *event, const char *names, char *err, size_t errlen) {
  err[0] = '\0';
  return idx_modelcheck_one(&net, "licenses", role, event, names, err, errlen);
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

int main(void) {
  char err[1024] = "";
  int rc = idx_network_load(&net, "polygon", ABI_DIR, err, sizeof err);
  if (rc)
    fprintf(stderr, "%s\n", err);
  CHECK_INT(rc, 0);
  if (rc == 0) {
    test_matches();
    test_mismatches();
    idx_network_free(&net);
  }
  CHECK_DONE();
}
