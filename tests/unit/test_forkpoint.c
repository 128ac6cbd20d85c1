/* Unit tests for forkpoint.c: the fork search below the header window,
 * page by page, with its finality bound and its floor. */
#include "common.h"

#include "check.h"
#include "forkpoint.h"

#include <string.h>

/* A stored page of blocks numbers[0..n) (highest first), each with a hash
 * derived from its number and fork (0 or 1). */
static void page(idx_block_t *out, const uint64_t *numbers, size_t n, int fork) {
  for (size_t i = 0; i < n; i++) {
    memset(&out[i], 0, sizeof out[i]);
    out[i].number = numbers[i];
    memcpy(out[i].hash.b, &numbers[i], sizeof numbers[i]);
    out[i].hash.b[31] = (uint8_t)fork;
  }
}

/* The node's chain: blocks up to `fork_at` as stored (fork 0), above it
 * fork 1; blocks above `head` absent. */
static void node_answers(const idx_block_t *stored, size_t n, uint64_t fork_at, uint64_t head,
                         bool *on_chain, idx_hash_t *hash) {
  for (size_t i = 0; i < n; i++) {
    on_chain[i] = stored[i].number <= head;
    hash[i] = stored[i].hash;
    if (stored[i].number > fork_at)
      hash[i].b[31] = 1;
  }
}

static void test_found_in_first_page(void) {
  idx_forkpoint_t fp;
  idx_forkpoint_init(&fp, 1000);
  uint64_t nums[] = {990, 950, 900, 800};
  idx_block_t st[4];
  bool on[4];
  idx_hash_t h[4];
  page(st, nums, 4, 0);
  node_answers(st, 4, 920, 5000, on, h);
  size_t at = 99;
  CHECK_INT(idx_forkpoint_page(&fp, st, 4, on, h, 4, false, 0, &at), IDX_FORKPOINT_FOUND);
  CHECK_INT(at, 2); /* 900: the highest stored block at or below the fork */
  CHECK_INT(fp.pages, 1);
  CHECK_INT(fp.blocks, 3);
}

static void test_pages_then_found(void) {
  idx_forkpoint_t fp;
  idx_forkpoint_init(&fp, 1000);
  idx_block_t st[3];
  bool on[3];
  idx_hash_t h[3];
  size_t at = 0;
  uint64_t p1[] = {999, 998, 997};
  page(st, p1, 3, 0);
  node_answers(st, 3, 500, 5000, on, h);
  CHECK_INT(idx_forkpoint_page(&fp, st, 3, on, h, 3, false, 0, &at), IDX_FORKPOINT_MORE);
  CHECK_INT(fp.below, 997);
  uint64_t p2[] = {600, 501, 500};
  page(st, p2, 3, 0);
  node_answers(st, 3, 500, 5000, on, h);
  CHECK_INT(idx_forkpoint_page(&fp, st, 3, on, h, 3, false, 0, &at), IDX_FORKPOINT_FOUND);
  CHECK_INT(at, 2);
  CHECK_INT(fp.pages, 2);
  CHECK_INT(fp.blocks, 6);
}

static void test_absent_blocks_are_off_chain(void) {
  /* A chain shorter than the stored blocks: above its head, no match. */
  idx_forkpoint_t fp;
  idx_forkpoint_init(&fp, 1000);
  uint64_t nums[] = {900, 800, 700};
  idx_block_t st[3];
  bool on[3];
  idx_hash_t h[3];
  page(st, nums, 3, 0);
  node_answers(st, 3, 5000, 750, on, h); /* same hashes, but 900 and 800 absent */
  size_t at = 0;
  CHECK_INT(idx_forkpoint_page(&fp, st, 3, on, h, 8, false, 0, &at), IDX_FORKPOINT_FOUND);
  CHECK_INT(at, 2);
}

static void test_none_and_floor(void) {
  idx_forkpoint_t fp;
  idx_forkpoint_init(&fp, 1000);
  uint64_t nums[] = {900, 40};
  idx_block_t st[2];
  bool on[2];
  idx_hash_t h[2];
  page(st, nums, 2, 0);
  node_answers(st, 2, 10, 5000, on, h); /* forked below every stored block */
  size_t at = 0;
  /* A short page is the last: none is on the chain. */
  CHECK_INT(idx_forkpoint_page(&fp, st, 2, on, h, 8, false, 0, &at), IDX_FORKPOINT_NONE);
  CHECK(fp.seen);
  CHECK_INT(fp.lowest, 40);
  CHECK_INT(idx_forkpoint_floor(&fp, 30), 29);  /* the history's first block */
  CHECK_INT(idx_forkpoint_floor(&fp, 100), 39); /* a history that began lower */
  CHECK_INT(idx_forkpoint_floor(&fp, 0), 0);    /* genesis stays */
  /* Nothing stored below the window at all. */
  idx_forkpoint_init(&fp, 1000);
  CHECK_INT(idx_forkpoint_page(&fp, NULL, 0, NULL, NULL, 8, false, 0, &at), IDX_FORKPOINT_NONE);
  CHECK(!fp.seen);
  CHECK_INT(idx_forkpoint_floor(&fp, 30), 29);
  /* A full page ending at block 0: nothing below it to read. */
  idx_forkpoint_init(&fp, 10);
  uint64_t low[] = {1, 0};
  page(st, low, 2, 0);
  node_answers(st, 2, 0, 5000, on, h);
  on[1] = false; /* even genesis differs */
  CHECK_INT(idx_forkpoint_page(&fp, st, 2, on, h, 2, false, 0, &at), IDX_FORKPOINT_NONE);
}

static void test_final(void) {
  /* Going down, a stored final block the node contradicts ends it. */
  idx_forkpoint_t fp;
  idx_forkpoint_init(&fp, 1000);
  uint64_t nums[] = {990, 900, 800};
  idx_block_t st[3];
  bool on[3];
  idx_hash_t h[3];
  page(st, nums, 3, 0);
  node_answers(st, 3, 700, 5000, on, h);
  size_t at = 0;
  CHECK_INT(idx_forkpoint_page(&fp, st, 3, on, h, 3, true, 950, &at), IDX_FORKPOINT_FINAL);
  CHECK_INT(at, 1);
  /* A final block that matches is the fork point, not a fault. */
  idx_forkpoint_init(&fp, 1000);
  node_answers(st, 3, 900, 5000, on, h);
  CHECK_INT(idx_forkpoint_page(&fp, st, 3, on, h, 3, true, 950, &at), IDX_FORKPOINT_FOUND);
  CHECK_INT(at, 1);
  /* Above the finalized block the search goes on. */
  idx_forkpoint_init(&fp, 1000);
  node_answers(st, 3, 100, 5000, on, h);
  CHECK_INT(idx_forkpoint_page(&fp, st, 3, on, h, 3, true, 500, &at), IDX_FORKPOINT_MORE);
}

static void test_bad_pages(void) {
  idx_forkpoint_t fp;
  idx_block_t st[3];
  bool on[3] = {false, false, false};
  idx_hash_t h[3];
  memset(h, 0, sizeof h);
  size_t at = 0;
  uint64_t up[] = {10, 20, 5};
  page(st, up, 3, 0);
  idx_forkpoint_init(&fp, 1000);
  CHECK_INT(idx_forkpoint_page(&fp, st, 3, on, h, 3, false, 0, &at), IDX_FORKPOINT_BAD);
  uint64_t dup[] = {20, 20, 5};
  page(st, dup, 3, 0);
  CHECK_INT(idx_forkpoint_page(&fp, st, 3, on, h, 3, false, 0, &at), IDX_FORKPOINT_BAD);
  uint64_t above[] = {1000, 20, 5}; /* not below the page's bound */
  page(st, above, 3, 0);
  CHECK_INT(idx_forkpoint_page(&fp, st, 3, on, h, 3, false, 0, &at), IDX_FORKPOINT_BAD);
  uint64_t ok[] = {30, 20, 5};
  page(st, ok, 3, 0);
  CHECK_INT(idx_forkpoint_page(&fp, st, 3, on, h, 2, false, 0, &at), IDX_FORKPOINT_BAD); /* > cap */
  CHECK_INT(fp.pages, 0); /* nothing counted */
}

int main(void) {
  test_found_in_first_page();
  test_pages_then_found();
  test_absent_blocks_are_off_chain();
  test_none_and_floor();
  test_final();
  test_bad_pages();
  CHECK_DONE();
}
