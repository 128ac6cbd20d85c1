/*
 * discovery.h: where a contract's code appeared, by bisection.
 *
 * For a contract whose network file gives start_block 0 (or none), the
 * follower finds the first block whose state has its code, asking
 * eth_getCode(address, block) at the middle of what is left (about 27
 * calls for 80 million blocks), and starts the backfill there instead of
 * at block 0. Code, once deployed, stays (DIMO's contracts are proxies
 * that are never destroyed), so "has code at block b" is monotone in b.
 * This is the pure search; the follower asks the questions (sync.c).
 */
#ifndef IDX_DISCOVERY_H
#define IDX_DISCOVERY_H

#include "common.h"

typedef struct idx_bisect_s {
  uint64_t lo, hi; /* the answer is in [lo, hi]; code is known at hi */
  unsigned asked;  /* questions answered */
} idx_bisect_t;

/* Starts a search below `head`, where the code is known to be. */
void idx_bisect_init(idx_bisect_t *b, uint64_t head) IDX_NONNULL(1);

/* Whether the block is found (then it is b->hi). */
bool idx_bisect_done(const idx_bisect_t *b) IDX_NONNULL(1);

/* The block to ask about next (not done). */
uint64_t idx_bisect_next(const idx_bisect_t *b) IDX_NONNULL(1);

/* The answer for block `block` (idx_bisect_next's): has code or not. */
void idx_bisect_answer(idx_bisect_t *b, uint64_t block, bool has_code) IDX_NONNULL(1);

/* Whether an eth_getCode error says the node has no state for that block
 * (a pruned node: "missing trie node", "header not found", "state is not
 * available", ...), rather than something to retry. */
bool idx_discovery_no_state(long code, const char *message);

#endif
