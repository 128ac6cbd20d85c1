/*
 * cache.c: the answer cache and the in-flight table (see cache.h).
 */
#include "common.h"

#include "cache.h"

#include <stdlib.h>
#include <string.h>

uint64_t idx_cache_hash(const char *p, size_t n) {
  uint64_t h = 0xcbf29ce484222325u; /* FNV-1a */
  for (size_t i = 0; i < n; i++) {
    h ^= (uint8_t)p[i];
    h *= 0x100000001b3u;
  }
  return h;
}

int idx_cache_init(idx_cache_t *c, size_t max) {
  memset(c, 0, sizeof *c);
  c->max = max;
  if (max == 0)
    return 0;
  size_t nb = 64;
  while (nb < max && nb < ((size_t)1 << 24))
    nb <<= 1;
  c->buckets = calloc(nb, sizeof *c->buckets);
  if (!c->buckets)
    return IDX_ERR_NOMEM;
  c->nbuckets = nb;
  return 0;
}

static void unlink_entry(idx_cache_t *c, idx_centry_t *e) {
  idx_centry_t **pp = &c->buckets[e->hash & (c->nbuckets - 1)];
  while (*pp && *pp != e)
    pp = &(*pp)->chain;
  if (*pp)
    *pp = e->chain;
  if (e->older)
    e->older->newer = e->newer;
  else
    c->oldest = e->newer;
  if (e->newer)
    e->newer->older = e->older;
  else
    c->newest = e->older;
  c->n--;
  c->bytes -= e->key_len + idx_http_body_len(e->body);
  idx_http_body_release(e->body);
  free(e);
}

static void clear(idx_cache_t *c) {
  while (c->oldest)
    unlink_entry(c, c->oldest);
}

void idx_cache_free(idx_cache_t *c) {
  if (c->buckets)
    clear(c);
  free(c->buckets);
  c->buckets = NULL;
}

static idx_centry_t *lookup(idx_cache_t *c, const char *key, size_t len, uint64_t now) {
  if (!c->max)
    return NULL;
  uint64_t h = idx_cache_hash(key, len);
  for (idx_centry_t *e = c->buckets[h & (c->nbuckets - 1)]; e; e = e->chain) {
    if (e->hash == h && e->key_len == len && memcmp(e->key, key, len) == 0) {
      if (e->expires <= now) {
        unlink_entry(c, e);
        return NULL;
      }
      return e;
    }
  }
  return NULL;
}

const idx_centry_t *idx_cache_get(idx_cache_t *c, const char *key, size_t len, uint64_t now) {
  idx_centry_t *e = lookup(c, key, len, now);
  if (e)
    c->stats.hits++;
  return e;
}

void idx_cache_put(idx_cache_t *c, uint64_t generation, const char *key, size_t len, int status,
                   idx_http_body_t *body, uint64_t expires) {
  size_t body_len = idx_http_body_len(body);
  if (!c->max || generation != c->generation || len + body_len > IDX_CACHE_MAX_ENTRY)
    return;
  idx_centry_t *old = lookup(c, key, len, 0);
  if (old)
    unlink_entry(c, old);
  while ((c->n >= c->max || c->bytes + len + body_len > IDX_CACHE_MAX_BYTES) && c->oldest)
    unlink_entry(c, c->oldest);
  idx_centry_t *e = malloc(sizeof *e + len);
  if (!e)
    return;
  e->hash = idx_cache_hash(key, len);
  e->expires = expires;
  e->status = status;
  e->body = idx_http_body_ref(body);
  e->key_len = len;
  memcpy(e->key, key, len);
  size_t b = e->hash & (c->nbuckets - 1);
  e->chain = c->buckets[b];
  c->buckets[b] = e;
  e->newer = NULL;
  e->older = c->newest;
  if (c->newest)
    c->newest->newer = e;
  else
    c->oldest = e;
  c->newest = e;
  c->n++;
  c->bytes += len + body_len;
}

void idx_cache_invalidate(idx_cache_t *c) {
  c->generation++;
  if (c->n)
    c->stats.invalidations++;
  clear(c);
}

void idx_flight_add(idx_cache_t *c, idx_flight_t *f, const char *key, size_t len) {
  f->key = key;
  f->key_len = len;
  f->hash = idx_cache_hash(key, len);
  f->generation = c->generation;
  idx_flight_t **b = &c->flights[f->hash & (IDX_FLIGHT_BUCKETS - 1)];
  f->next = *b;
  *b = f;
  f->listed = true;
  c->stats.misses++;
}

void idx_flight_remove(idx_cache_t *c, idx_flight_t *f) {
  if (!f->listed)
    return;
  idx_flight_t **pp = &c->flights[f->hash & (IDX_FLIGHT_BUCKETS - 1)];
  while (*pp && *pp != f)
    pp = &(*pp)->next;
  if (*pp)
    *pp = f->next;
  f->listed = false;
}

idx_flight_t *idx_flight_find(idx_cache_t *c, const char *key, size_t len) {
  uint64_t h = idx_cache_hash(key, len);
  for (idx_flight_t *f = c->flights[h & (IDX_FLIGHT_BUCKETS - 1)]; f; f = f->next) {
    if (f->hash == h && f->key_len == len && memcmp(f->key, key, len) == 0 &&
        f->generation == c->generation)
      return f;
  }
  return NULL;
}

void idx_flight_joined(idx_cache_t *c) { c->stats.coalesced++; }
