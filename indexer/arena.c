/* arena.c: chained-block bump allocator (see arena.h). */
#include "common.h"

#include "arena.h"

#include <stdlib.h>
#include <string.h>

struct idx_arena_block_s {
  idx_arena_block_t *next;
  size_t size; /* usable bytes in mem */
  size_t used;
  _Alignas(8) unsigned char mem[];
};

void idx_arena_init(idx_arena_t *a, size_t block_size, size_t max_total) {
  memset(a, 0, sizeof *a);
  a->block_size = block_size < 4096 ? 4096 : block_size;
  a->max_total = max_total;
}

static void free_chain(idx_arena_block_t *b) {
  while (b) {
    idx_arena_block_t *next = b->next;
    free(b);
    b = next;
  }
}

void *idx_arena_alloc(idx_arena_t *a, size_t n) {
  size_t need = (n + 7u) & ~(size_t)7u;
  if (need < n || need > a->max_total - a->used_total || a->used_total > a->max_total)
    return NULL;
  idx_arena_block_t *b = a->head;
  if (!b || b->size - b->used < need) {
    if (a->spare && a->spare->size >= need) {
      b = a->spare;
      a->spare = b->next;
    } else {
      size_t size = need > a->block_size ? need : a->block_size;
      b = malloc(sizeof *b + size);
      if (!b)
        return NULL;
      b->size = size;
    }
    b->used = 0;
    b->next = a->head;
    a->head = b;
  }
  void *p = b->mem + b->used;
  b->used += need;
  a->used_total += need;
  return p;
}

char *idx_arena_dup(idx_arena_t *a, const void *s, size_t n) {
  char *p = idx_arena_alloc(a, n + 1);
  if (!p)
    return NULL;
  if (n)
    memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

void idx_arena_reset(idx_arena_t *a) {
  /* Keep normal-sized blocks for reuse; oversized ones go back to malloc. */
  idx_arena_block_t *b = a->head;
  while (b) {
    idx_arena_block_t *next = b->next;
    if (b->size == a->block_size) {
      b->next = a->spare;
      a->spare = b;
    } else {
      free(b);
    }
    b = next;
  }
  a->head = NULL;
  a->used_total = 0;
}

void idx_arena_free(idx_arena_t *a) {
  free_chain(a->head);
  free_chain(a->spare);
  a->head = a->spare = NULL;
  a->used_total = 0;
}
