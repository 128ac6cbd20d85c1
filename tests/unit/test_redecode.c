/* Unit tests for redecode.c's pure part: which kinds of raw logs the loaded
 * ABIs now decode (the Polygon preset: the manufacturer license's
 * AccessControl events, unknown to its ABI before #25's correction). */
#include "common.h"

#include "check.h"
#include "hex.h"
#include "network.h"
#include "redecode.h"

#include <stdlib.h>
#include <string.h>

static idx_store_unknown_shape_t shape(const char *addr, const char *topic0, uint8_t ntopics) {
  idx_store_unknown_shape_t s;
  memset(&s, 0, sizeof s);
  CHECK_INT(idx_addr_from_hex(&s.address, addr), 0);
  if (topic0) {
    CHECK_INT(idx_hash_from_hex(&s.topic0, topic0), 0);
    s.has_topic0 = true;
  }
  s.ntopics = ntopics;
  s.count = 1;
  return s;
}

static const char *MFR = "0xaa32a9e74486dd136ccedf17061fe4efc95a621e";
static const char *APP = "0x9a9d2e717bb005b240094ba761ff074d392c7c85";
static const char *ROLE_GRANTED =
    "0x2f8788117e7eff1d82e926ec794901d17c78024a50270940304540a733656f0d";
static const char *ROLE_ADMIN_CHANGED =
    "0xbd79b86ffe0ab8e8776151514217cd7cacd52c909f66475c3af44e129f0b00ff";
static const char *INITIALIZED = /* Initialized(uint8): no ABI of ours has it */
    "0x7f26b83ff96e1f2b6a682f133852f6798a09c465da95921460cefb3847402498";
static const char *UPGRADED = "0xbc7cd75a20ee27fd9adebab32041f755214dbc6bffa90cc0225b39da2e5c2d3b";

static void test_known(void) {
  idx_network_t net;
  char err[1024] = "";
  int rc = idx_network_load(&net, "polygon", ABI_DIR, err, sizeof err);
  if (rc)
    fprintf(stderr, "%s\n", err);
  CHECK_INT(rc, 0);
  if (rc)
    return;
  idx_store_unknown_shape_t s = shape(MFR, ROLE_GRANTED, 4);
  CHECK(idx_redecode_known(&net, &s)); /* the manufacturer's roles: known now */
  s = shape(MFR, ROLE_ADMIN_CHANGED, 4);
  CHECK(idx_redecode_known(&net, &s));
  s = shape(MFR, ROLE_GRANTED, 3); /* the same topic0 with another topic count */
  CHECK(!idx_redecode_known(&net, &s));
  s = shape(MFR, INITIALIZED, 1);
  CHECK(!idx_redecode_known(&net, &s));
  s = shape(MFR, UPGRADED, 2); /* every contract decodes Upgraded (network.c) */
  CHECK(idx_redecode_known(&net, &s));
  s = shape(APP, ROLE_GRANTED, 4);
  CHECK(idx_redecode_known(&net, &s));
  s = shape("0x1111111111111111111111111111111111111111", ROLE_GRANTED, 4); /* no such contract */
  CHECK(!idx_redecode_known(&net, &s));
  s = shape(MFR, NULL, 0); /* an anonymous log */
  CHECK(!idx_redecode_known(&net, &s));
  idx_network_free(&net);
}

/* DIMO_REDECODE_ROUND / _PAGE: the defaults when unset or empty, the
 * value when in range, a clear error otherwise. */
static void test_sizes(void) {
  size_t round = 0, page = 0;
  char err[256] = "";
  unsetenv("DIMO_REDECODE_ROUND");
  unsetenv("DIMO_REDECODE_PAGE");
  CHECK_INT(idx_redecode_sizes(&round, &page, err, sizeof err), 0);
  CHECK_INT((long long)round, IDX_REDECODE_ROUND);
  CHECK_INT((long long)page, IDX_REDECODE_PAGE);
  setenv("DIMO_REDECODE_ROUND", "1", 1);
  setenv("DIMO_REDECODE_PAGE", "", 1);
  CHECK_INT(idx_redecode_sizes(&round, &page, err, sizeof err), 0);
  CHECK_INT((long long)round, 1);
  CHECK_INT((long long)page, IDX_REDECODE_PAGE);
  setenv("DIMO_REDECODE_PAGE", "7", 1);
  CHECK_INT(idx_redecode_sizes(&round, &page, err, sizeof err), 0);
  CHECK_INT((long long)page, 7);
  static const char *const bad[] = {"0", "-1", "20001", "12x", "x", "99999999999999999999999"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    setenv("DIMO_REDECODE_ROUND", bad[i], 1);
    err[0] = '\0';
    CHECK_INT(idx_redecode_sizes(&round, &page, err, sizeof err), IDX_ERR_INVAL);
    CHECK(strstr(err, "DIMO_REDECODE_ROUND") != NULL);
  }
  setenv("DIMO_REDECODE_ROUND", "5", 1);
  setenv("DIMO_REDECODE_PAGE", "100001", 1);
  CHECK_INT(idx_redecode_sizes(&round, &page, err, sizeof err), IDX_ERR_INVAL);
  CHECK(strstr(err, "DIMO_REDECODE_PAGE") != NULL);
  unsetenv("DIMO_REDECODE_ROUND");
  unsetenv("DIMO_REDECODE_PAGE");
}

int main(void) {
  test_known();
  test_sizes();
  CHECK_DONE();
}
