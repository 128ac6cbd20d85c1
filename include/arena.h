/*
 * arena.h: a bump allocator for one batch's worth of parsed chain data.
 *
 * Logs point at their data, decoded JSON and names; an arena gives those
 * bytes stable addresses (it grows by chaining blocks, never by moving
 * them), frees them all at once, and keeps its blocks for the next batch.
 * A cap bounds the total, so one huge answer cannot exhaust memory.
 */
#ifndef IDX_ARENA_H
#define IDX_ARENA_H

#include "common.h"

typedef struct idx_arena_block_s idx_arena_block_t;

typedef struct idx_arena_s {
  idx_arena_block_t *head;  /* block being filled */
  idx_arena_block_t *spare; /* emptied blocks kept for reuse */
  size_t used_total;        /* bytes handed out since the last reset */
  size_t max_total;         /* cap on used_total */
  size_t block_size;        /* size of a normal block */
} idx_arena_t;

void idx_arena_init(idx_arena_t *a, size_t block_size, size_t max_total) IDX_NONNULL(1);

/* n bytes aligned to 8, or NULL when the cap is reached or memory is out. */
void *idx_arena_alloc(idx_arena_t *a, size_t n) IDX_NONNULL(1);

/* Copies n bytes (plus a NUL) and returns the copy, or NULL. */
char *idx_arena_dup(idx_arena_t *a, const void *s, size_t n) IDX_NONNULL(1);

/* Forgets every allocation; keeps the memory for reuse. */
void idx_arena_reset(idx_arena_t *a) IDX_NONNULL(1);

void idx_arena_free(idx_arena_t *a) IDX_NONNULL(1);

#endif
