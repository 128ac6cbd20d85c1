/* Unit tests for discovery.c: the bisection finds the first block with
 * code in about log2(head) questions, at the edges too, and pruned-node
 * errors are told from others. */
#include "common.h"

#include "check.h"
#include "discovery.h"

static unsigned search(uint64_t head, uint64_t deployed, uint64_t *found) {
  idx_bisect_t b;
  idx_bisect_init(&b, head);
  while (!idx_bisect_done(&b)) {
    uint64_t q = idx_bisect_next(&b);
    idx_bisect_answer(&b, q, q >= deployed);
  }
  *found = b.hi;
  return b.asked;
}

static void test_bisect(void) {
  uint64_t found;
  unsigned asked = search(80000000, 65432101, &found);
  CHECK_INT(found, 65432101);
  CHECK(asked <= 27);
  search(80000000, 0, &found);
  CHECK_INT(found, 0);
  search(80000000, 80000000, &found);
  CHECK_INT(found, 80000000);
  search(1, 1, &found);
  CHECK_INT(found, 1);
  search(0, 0, &found);
  CHECK_INT(found, 0);
  for (uint64_t d = 0; d <= 64; d++) {
    search(64, d, &found);
    CHECK_INT(found, d);
  }
  /* An answer for another block changes nothing. */
  idx_bisect_t b;
  idx_bisect_init(&b, 100);
  idx_bisect_answer(&b, 500, true);
  CHECK_INT(b.lo, 0);
  CHECK_INT(b.hi, 100);
}

static void test_no_state(void) {
  CHECK(idx_discovery_no_state(-32000, "missing trie node 1a2b... (path )"));
  CHECK(idx_discovery_no_state(-32000, "header not found"));
  CHECK(idx_discovery_no_state(-32000, "State is not available for this block"));
  CHECK(idx_discovery_no_state(-32602, "historical state not available in path scheme yet"));
  CHECK(idx_discovery_no_state(-32602, "BlockOutOfRangeError: block height is 3045 but requested "
                                       "was 1522")); /* anvil keeping the last states only */
  CHECK(!idx_discovery_no_state(-32603, "internal error"));
  CHECK(!idx_discovery_no_state(-32000, NULL));
  CHECK(!idx_discovery_no_state(-32005, "rate limit exceeded"));
}

int main(void) {
  test_bisect();
  test_no_state();
  CHECK_DONE();
}
