/* redecode.c: logs kept raw that the loaded ABIs now decode (see
 * include/redecode.h). The store reads and writes (libpq stays there);
 * this module decides which kinds of raw logs are now known, decodes them
 * with abi.c exactly as the follower does (sync.c, decode_log), and cuts
 * the work into rounds. */
#include "common.h"

#include "abi.h"
#include "arena.h"
#include "buf.h"
#include "config.h"
#include "log.h"
#include "redecode.h"

#include <stdlib.h>
#include <string.h>
#include <uv.h>

typedef struct redecode_s {
  idx_store_t *store;
  const idx_network_t *net;
  uint64_t chain_id;
  const idx_contract_t *contract; /* of the kind being read */
  idx_log_t *logs;                /* the round: decoded logs, `round` at most */
  size_t nlogs;
  size_t round;       /* most logs per round (IDX_REDECODE_ROUND, or DIMO_REDECODE_ROUND) */
  size_t page;        /* raw logs per query (IDX_REDECODE_PAGE, or DIMO_REDECODE_PAGE) */
  size_t round_bytes; /* data and arguments held by the round */
  idx_arena_t arena;  /* their data and decoded arguments */
  idx_buf_t json;     /* one log's arguments, reused */
  int64_t after_block, after_log;
  idx_redecode_stats_t st;
  char *err;
  size_t errlen;
} redecode_t;

/* Writes the round in hand (one transaction), then forgets it. */
static int flush(redecode_t *r) {
  if (r->nlogs == 0)
    return 0;
  int rc = idx_store_redecode_write(r->store, r->chain_id, r->logs, r->nlogs, r->st.parts,
                                    sizeof r->st.parts, r->err, r->errlen);
  if (rc)
    return rc;
  r->st.decoded += r->nlogs;
  r->st.rounds++;
  idx_log_debug("redecode",
                "round %llu: %zu log(s) moved to logs (%zu bytes); parts re-derived: %s",
                (unsigned long long)r->st.rounds, r->nlogs, r->round_bytes,
                r->st.parts[0] ? r->st.parts : "none");
  r->nlogs = 0;
  r->round_bytes = 0;
  idx_arena_reset(&r->arena);
  return 0;
}

/* One raw log of the kind in hand: decoded into the round, or kept raw. */
static int on_raw(void *ud, const idx_log_t *raw) {
  redecode_t *r = ud;
  r->after_block = (int64_t)raw->block_number;
  r->after_log = (int64_t)raw->log_index;
  idx_abi_decoded_t d;
  int rc =
      idx_abi_decode(&r->contract->abi, raw->topics, raw->ntopics, raw->data, raw->data_len, &d);
  if (rc || !d.event) {
    r->st.kept++;
    return 0;
  }
  /* Arguments that do not encode (past the JSON buffer's bound, or out of
   * memory) keep the log raw, as a decode failure does: one such log must
   * not stop every start; the next start tries it again. */
  idx_buf_reset(&r->json);
  if (idx_abi_decoded_to_json(&d, &r->json) != 0) {
    r->st.kept++;
    return 0;
  }
  idx_log_t *l = &r->logs[r->nlogs];
  *l = *raw;
  l->data = (const uint8_t *)idx_arena_dup(&r->arena, raw->data, raw->data_len);
  l->args_json = idx_arena_dup(&r->arena, r->json.data, r->json.len);
  if (!l->data || !l->args_json) {
    idx_set_err(r->err, r->errlen, "redecode: out of memory");
    return IDX_ERR_NOMEM;
  }
  l->event = d.event->signature;
  l->event_name = d.event->name;
  l->role = idx_role_name(r->contract->role);
  r->round_bytes += raw->data_len + r->json.len + sizeof *l;
  if (++r->nlogs == r->round || r->round_bytes >= IDX_REDECODE_ROUND_BYTES)
    return flush(r);
  return 0;
}

/* Every raw log of one kind, page by page. */
static int one_kind(redecode_t *r, const idx_store_unknown_shape_t *sh) {
  r->after_block = -1;
  r->after_log = -1;
  for (;;) {
    size_t n = 0;
    int rc = idx_store_unknown_page(r->store, r->chain_id, sh, r->after_block, r->after_log,
                                    r->page, on_raw, r, &n, r->err, r->errlen);
    if (rc)
      return rc;
    if (n < r->page)
      return 0;
  }
}

/* A size from the environment (tests: several rounds and pages on a small
 * chain), or the default when unset; anything but 1..max is refused. */
static int env_size(const char *name, size_t def, size_t max, size_t *out, char *err,
                    size_t errlen) {
  const char *v = getenv(name);
  *out = def;
  if (!v || !*v)
    return 0;
  uint64_t x = 0;
  if (!idx_parse_u64(v, &x) || x < 1 || x > max) {
    idx_set_err(err, errlen, "redecode: %s=%s: expected a whole number from 1 to %zu", name, v,
                max);
    return IDX_ERR_INVAL;
  }
  *out = (size_t)x;
  return 0;
}

int idx_redecode_sizes(size_t *round, size_t *page, char *err, size_t errlen) {
  int rc =
      env_size("DIMO_REDECODE_ROUND", IDX_REDECODE_ROUND, IDX_REDECODE_ROUND, round, err, errlen);
  return rc ? rc : env_size("DIMO_REDECODE_PAGE", IDX_REDECODE_PAGE, 100000, page, err, errlen);
}

bool idx_redecode_known(const idx_network_t *net, const idx_store_unknown_shape_t *shape) {
  const idx_contract_t *c = idx_network_contract(net, &shape->address);
  return c && shape->has_topic0 && idx_abi_find(&c->abi, &shape->topic0, shape->ntopics, NULL);
}

int idx_redecode_run(idx_store_t *store, const idx_network_t *net, idx_redecode_stats_t *st,
                     char *err, size_t errlen) {
  if (st)
    memset(st, 0, sizeof *st);
  uint64_t t0 = uv_hrtime();
  idx_store_unknown_shape_t *shapes = calloc(IDX_REDECODE_MAX_SHAPES, sizeof *shapes);
  if (!shapes) {
    idx_set_err(err, errlen, "redecode: out of memory");
    return IDX_ERR_NOMEM;
  }
  size_t nshapes = 0;
  bool more = false;
  int rc = idx_store_unknown_shapes(store, net->chain_id, shapes, IDX_REDECODE_MAX_SHAPES, &nshapes,
                                    &more, err, errlen);
  if (rc) {
    free(shapes);
    return rc;
  }
  if (more)
    idx_log_warn("redecode",
                 "more than %d kinds of unknown logs: the rest waits for the next start",
                 IDX_REDECODE_MAX_SHAPES);
  /* The kinds the loaded ABIs know now (topic0 and topic count, as the
   * follower matches them); nothing else is read. */
  size_t known = 0;
  for (size_t i = 0; i < nshapes; i++) {
    if (idx_redecode_known(net, &shapes[i]))
      shapes[known++] = shapes[i];
  }
  if (known == 0) {
    free(shapes);
    return 0;
  }
  redecode_t r;
  memset(&r, 0, sizeof r);
  r.store = store;
  r.net = net;
  r.chain_id = net->chain_id;
  r.err = err;
  r.errlen = errlen;
  if ((rc = idx_redecode_sizes(&r.round, &r.page, err, errlen)) != 0) {
    free(shapes);
    return rc;
  }
  r.logs = calloc(r.round, sizeof *r.logs);
  idx_arena_init(&r.arena, 1u << 20, (size_t)1 << 30);
  idx_buf_init(&r.json, 1u << 24);
  if (!r.logs) {
    idx_set_err(err, errlen, "redecode: out of memory");
    rc = IDX_ERR_NOMEM;
  }
  for (size_t i = 0; i < known && !rc; i++) {
    r.contract = idx_network_contract(net, &shapes[i].address);
    rc = one_kind(&r, &shapes[i]);
  }
  if (!rc)
    rc = flush(&r);
  if (!rc && (r.st.decoded || r.st.kept))
    idx_log_generic(
        r.st.decoded ? IDX_LOG_INFO : IDX_LOG_DEBUG, "redecode",
        "unknown logs now known: %llu decoded and moved to logs in %llu round(s), %llu kept "
        "raw (bytes of another generation); model parts re-derived: %s (%.0f ms)",
        (unsigned long long)r.st.decoded, (unsigned long long)r.st.rounds,
        (unsigned long long)r.st.kept, r.st.parts[0] ? r.st.parts : "none",
        (double)(uv_hrtime() - t0) / 1e6);
  if (st)
    *st = r.st;
  free(r.logs);
  idx_arena_free(&r.arena);
  idx_buf_free(&r.json);
  free(shapes);
  return rc;
}
