/* Unit tests for coverage.c's planning: the rounds below complete_from,
 * top down, and the lowest block a quiet contract can have logged at. */
#include "common.h"

#include "check.h"
#include "coverage.h"

#include <string.h>

static void test_rounds(void) {
  uint64_t from = 0, to = 0;
  /* Nothing below the contracts' start: no round. */
  CHECK(!idx_coverage_round(100, 100, 10, &from, &to));
  CHECK(!idx_coverage_round(50, 100, 10, &from, &to));
  CHECK(!idx_coverage_round(0, 0, 10, &from, &to));
  /* The span below complete_from. */
  CHECK(idx_coverage_round(1000, 0, 10, &from, &to));
  CHECK_INT(from, 990);
  CHECK_INT(to, 999);
  /* Never below low; the last round is what is left. */
  CHECK(idx_coverage_round(105, 100, 10, &from, &to));
  CHECK_INT(from, 100);
  CHECK_INT(to, 104);
  CHECK(idx_coverage_round(110, 100, 10, &from, &to));
  CHECK_INT(from, 100);
  CHECK_INT(to, 109);
  CHECK(idx_coverage_round(111, 100, 10, &from, &to));
  CHECK_INT(from, 101);
  /* A span of 0 is one block; block 0 is a block. */
  CHECK(idx_coverage_round(1, 0, 0, &from, &to));
  CHECK_INT(from, 0);
  CHECK_INT(to, 0);
  /* Rounds walk down to low and cover every block once. */
  uint64_t cf = 1000, blocks = 0, rounds = 0;
  while (idx_coverage_round(cf, 3, 7, &from, &to)) {
    CHECK_INT(to, cf - 1);
    CHECK(from >= 3 && to - from + 1 <= 7);
    blocks += to - from + 1;
    rounds++;
    cf = from;
  }
  CHECK_INT(cf, 3);
  CHECK_INT(blocks, 997);
  CHECK_INT(rounds, 143);
}

static void test_low(void) {
  idx_contract_t c[4];
  memset(c, 0, sizeof c);
  c[0].role = IDX_ROLE_DIMO_TOKEN; /* busy: not asked unfiltered */
  c[0].start_block = 1;
  c[1].role = IDX_ROLE_APP_LICENSE;
  c[1].start_block = 500;
  c[2].role = IDX_ROLE_SACD;
  c[2].start_block = 0; /* its recorded deployment block, if any */
  memset(c[2].address.b, 0x22, 20);
  c[3].role = IDX_ROLE_VEHICLE;
  c[3].start_block = 2;
  idx_network_t net;
  memset(&net, 0, sizeof net);
  net.contracts = c;
  net.ncontracts = 4;
  /* Without a recorded start, a contract starting at 0 may have logged
   * anywhere. */
  CHECK_INT(idx_coverage_low(&net, NULL, 0), 0);
  idx_store_start_t s[2];
  memset(s, 0, sizeof s);
  memset(s[0].address.b, 0x11, 20);
  s[0].block = 7;
  memset(s[1].address.b, 0x22, 20);
  s[1].block = 300;
  CHECK_INT(idx_coverage_low(&net, s, 2), 300);
  s[1].block = 900;
  CHECK_INT(idx_coverage_low(&net, s, 2), 500);
  /* No quiet contract: nothing to ask. */
  net.ncontracts = 1;
  CHECK_INT(idx_coverage_low(&net, s, 2), UINT64_MAX);
}

int main(void) {
  test_rounds();
  test_low();
  CHECK_DONE();
}
