/*
 * forkpoint.h: where a reorg deeper than the header window forks. Pure
 * decisions on bytes already fetched, unit-tested without a network.
 *
 * The follower keeps headers for the last REORG_WINDOW blocks. When none
 * of them is still canonical the stored logs tell the rest: each keeps its
 * block's hash. The engine reads the distinct (block, hash) of stored logs
 * below the window a page at a time, going down
 * (idx_store_log_blocks_below), asks the node for the headers of a page's
 * blocks in one JSON-RPC batch, and hands both to idx_forkpoint_page:
 *   - the highest stored block whose hash the node confirms is the fork
 *     point (a hash commits to every block below it: all of them are
 *     canonical, stored or not);
 *   - a stored block at or below the finalized block that the node
 *     contradicts ends the search: a provider fault, never a rollback;
 *   - a full page without either: the next page, below it;
 *   - the last page without either: nothing stored is on the node's
 *     chain, and the history is re-indexed from its first block
 *     (idx_forkpoint_floor).
 * Memory is one page; the work is one page per IDX_FORKPOINT_PAGE stored
 * blocks between the window and the fork point (with a finalized block
 * named, never below it).
 */
#ifndef IDX_FORKPOINT_H
#define IDX_FORKPOINT_H

#include "common.h"

#include "chain.h"

/* Stored blocks (and headers asked) per page: one JSON-RPC batch. */
enum { IDX_FORKPOINT_PAGE = 128 };

typedef struct idx_forkpoint_s {
  uint64_t below;  /* the next page: stored blocks below this one */
  bool seen;       /* a stored block was seen (lowest is set) */
  uint64_t lowest; /* the lowest stored block seen */
  uint64_t pages;  /* pages checked */
  uint64_t blocks; /* stored blocks checked */
} idx_forkpoint_t;

typedef enum idx_forkpoint_step_e {
  IDX_FORKPOINT_FOUND, /* stored[*at] is canonical: the fork point */
  IDX_FORKPOINT_MORE,  /* none in this page: read the page below fp->below */
  IDX_FORKPOINT_NONE,  /* no stored block is canonical: keep idx_forkpoint_floor() */
  IDX_FORKPOINT_FINAL, /* stored[*at] is final and the node contradicts it */
  IDX_FORKPOINT_BAD,   /* the page is not strictly descending below fp->below */
} idx_forkpoint_step_t;

/* A search whose first page lies below block `below` (the lowest stored
 * header of the window that the node contradicted). */
void idx_forkpoint_init(idx_forkpoint_t *fp, uint64_t below) IDX_NONNULL(1);

/* One page: stored[0..n) as idx_store_log_blocks_below gave it (number
 * and hash, highest first; n < cap means it was the last), and for each
 * the node's answer: on_chain[i] false when the node has no block there,
 * else node_hash[i] its hash. Final blocks: number <= finalized when
 * has_finalized. *at receives the index FOUND and FINAL name. */
IDX_WARN_UNUSED idx_forkpoint_step_t idx_forkpoint_page(idx_forkpoint_t *fp,
                                                        const idx_block_t *stored, size_t n,
                                                        const bool *on_chain,
                                                        const idx_hash_t *node_hash, size_t cap,
                                                        bool has_finalized, uint64_t finalized,
                                                        size_t *at) IDX_NONNULL(1, 9);

/* The block to keep when no stored block is canonical: the one below
 * the history's first block `first` and below every stored block seen (a
 * history that began lower than the configuration now says); block 0
 * (genesis, which no reorg replaces) when that is 0. */
uint64_t idx_forkpoint_floor(const idx_forkpoint_t *fp, uint64_t first) IDX_NONNULL(1);

#endif
