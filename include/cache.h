/*
 * cache.h: the API's answer cache, with in-flight coalescing.
 *
 * Whole answers (status and a shared body) keyed by bytes the caller
 * builds from the route and its normalized inputs; bounded in entries
 * (oldest evicted first), in bytes (64 MiB, none above 1 MiB) and in age.
 *
 * Generations: idx_cache_invalidate (the sync engine committed) empties
 * the cache and bumps the generation. An answer is stored only under the
 * generation its query started in, and a request joins only a running
 * query of the current generation, so an answer read before a commit is
 * never served after it.
 *
 * In-flight coalescing: a running query registers an idx_flight_t
 * (embedded in the caller's own record) under its key; a request for the
 * same key finds it and waits for the same answer instead of sending its
 * own query. Single-threaded: everything runs on the API's loop.
 */
#ifndef IDX_CACHE_H
#define IDX_CACHE_H

#include "common.h"

#include "http.h"

enum {
  IDX_CACHE_MAX_BYTES = 64 << 20, /* all cached answers together */
  IDX_CACHE_MAX_ENTRY = 1 << 20,  /* larger answers are not cached */
  IDX_FLIGHT_BUCKETS = 1024,
};

typedef struct idx_centry_s {
  struct idx_centry_s *chain;         /* same bucket */
  struct idx_centry_s *older, *newer; /* insertion order */
  uint64_t hash;
  uint64_t expires; /* the caller's clock, ms */
  int status;
  idx_http_body_t *body; /* shared with the answers being sent */
  size_t key_len;
  char key[];
} idx_centry_t;

/* A running query, embedded in the caller's record (key owned there). */
typedef struct idx_flight_s {
  struct idx_flight_s *next; /* same bucket */
  uint64_t hash;
  uint64_t generation;
  const char *key;
  size_t key_len;
  bool listed;
} idx_flight_t;

/* The counters /metrics shows (metrics.h). */
typedef struct idx_cache_stats_s {
  uint64_t hits, misses, invalidations, coalesced;
  size_t entries, bytes;
} idx_cache_stats_t;

typedef struct idx_cache_s {
  idx_centry_t **buckets;
  size_t nbuckets; /* a power of two */
  size_t n, max;   /* max 0: caching disabled (coalescing too) */
  size_t bytes;    /* keys and bodies held */
  idx_centry_t *oldest, *newest;
  uint64_t generation;
  idx_flight_t *flights[IDX_FLIGHT_BUCKETS];
  idx_cache_stats_t stats;
} idx_cache_t;

/* FNV-1a of n bytes. */
uint64_t idx_cache_hash(const char *p, size_t n);

/* max entries (0 disables). Returns 0 or IDX_ERR_NOMEM. */
IDX_WARN_UNUSED int idx_cache_init(idx_cache_t *c, size_t max) IDX_NONNULL(1);
void idx_cache_free(idx_cache_t *c) IDX_NONNULL(1);

/* The live entry for key at time now (ms), or NULL; counts a hit. */
const idx_centry_t *idx_cache_get(idx_cache_t *c, const char *key, size_t len, uint64_t now)
    IDX_NONNULL(1);

/* Keeps the answer until expires when generation is still current (else
 * does nothing); replaces an entry with the same key. */
void idx_cache_put(idx_cache_t *c, uint64_t generation, const char *key, size_t len, int status,
                   idx_http_body_t *body, uint64_t expires) IDX_NONNULL(1, 3, 6);

/* A commit: empties the cache, bumps the generation. */
void idx_cache_invalidate(idx_cache_t *c) IDX_NONNULL(1);

/* Registers f (key set by the caller, generation and hash set here) as
 * running; counts a miss. */
void idx_flight_add(idx_cache_t *c, idx_flight_t *f, const char *key, size_t len)
    IDX_NONNULL(1, 2, 3);
/* Unregisters f (no-op when not listed). */
void idx_flight_remove(idx_cache_t *c, idx_flight_t *f) IDX_NONNULL(1, 2);
/* The running query for key under the current generation, or NULL. The
 * caller counts the join with idx_flight_joined once it holds the waiter. */
idx_flight_t *idx_flight_find(idx_cache_t *c, const char *key, size_t len) IDX_NONNULL(1);
void idx_flight_joined(idx_cache_t *c) IDX_NONNULL(1);

#endif
