/* sync_window.c: the in-flight window of ranges (see sync_engine.h).
 *
 * Below the reorg window the follower asks for up to k ranges ahead of
 * the one being written (k from the AIMD controller, fetchplan.h), holds
 * the answers that arrive, in whatever order, and hands them to the range
 * handler strictly in chain order: the database stays a prefix of the
 * chain, one batch is written at a time, the cursor protocol is the
 * store's. Held answers are bounded in bytes (--max-held-bytes, counted
 * as received): when full, nothing more is asked until the writer takes
 * one. */
#include "common.h"

#include "ethjson.h"
#include "log.h"
#include "sync_engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool live(const sync_slot_t *p) { return p->state != SLOT_FREE && !p->stale; }

int idx_sync__window_init(idx_sync_t *s) {
  unsigned k = s->opts.max_inflight ? s->opts.max_inflight : 1;
  s->slots = calloc(k, sizeof *s->slots);
  if (!s->slots)
    return IDX_ERR_NOMEM;
  s->nslots = k;
  for (size_t i = 0; i < k; i++)
    s->slots[i].s = s;
  idx_inflight_init(&s->aimd, k);
  return 0;
}

/* Frees a held answer (not one in flight). */
static void slot_drop(idx_sync_t *s, sync_slot_t *p) {
  idx_sync__release_replies(p->replies, p->n);
  memset(p->replies, 0, sizeof p->replies);
  s->held_bytes -= p->bytes;
  p->bytes = 0;
  p->n = 0;
  p->too_large = false;
  p->awaited = false;
  p->stale = false;
  p->state = SLOT_FREE;
}

void idx_sync__window_free(idx_sync_t *s) {
  for (size_t i = 0; i < s->nslots; i++) {
    if (s->slots[i].state == SLOT_READY)
      slot_drop(s, &s->slots[i]);
  }
  free(s->slots);
  s->slots = NULL;
  s->nslots = 0;
}

void idx_sync__window_reset(idx_sync_t *s) {
  for (size_t i = 0; i < s->nslots; i++) {
    sync_slot_t *p = &s->slots[i];
    if (p->state == SLOT_READY) {
      slot_drop(s, p);
    } else if (p->state == SLOT_IN_FLIGHT) {
      p->stale = true;
      p->awaited = false;
    }
  }
}

bool idx_sync__window_in_flight(const idx_sync_t *s) {
  for (size_t i = 0; i < s->nslots; i++) {
    if (s->slots[i].state == SLOT_IN_FLIGHT)
      return true;
  }
  return false;
}

unsigned idx_sync__window_count(const idx_sync_t *s, bool in_flight_only) {
  unsigned n = 0;
  for (size_t i = 0; i < s->nslots; i++) {
    const sync_slot_t *p = &s->slots[i];
    n += in_flight_only ? p->state == SLOT_IN_FLIGHT : live(p);
  }
  return n;
}

static void note_status(idx_sync_t *s) {
  s->st.inflight = idx_sync__window_count(s, true);
  s->st.inflight_allowed = idx_inflight_allowed(&s->aimd);
  s->st.held_bytes = s->held_bytes;
  if (s->st.inflight > s->st.peak_inflight)
    s->st.peak_inflight = s->st.inflight;
}

/* After an answer: congestion (a 429 or a failed exchange since the last
 * answer, anywhere in the client) halves the window, a clean answer
 * grows it. */
static void observe(idx_sync_t *s, const sync_slot_t *p, int status) {
  idx_rpc_stats_t rs;
  idx_rpc_stats(s->opts.rpc, &rs);
  bool congested = rs.rate_limited > s->seen_429 || rs.failures > s->seen_failures ||
                   status == IDX_ERR_RPC_TRANSPORT;
  s->seen_429 = rs.rate_limited;
  s->seen_failures = rs.failures;
  s->st.rate_limited = rs.rate_limited;
  if (congested) {
    if (idx_inflight_congested(&s->aimd, p->epoch, p->sent_in_flight))
      idx_log_debug("sync", "congestion (429s %llu): ranges in flight now at most %u",
                    (unsigned long long)rs.rate_limited, idx_inflight_allowed(&s->aimd));
  } else if (status == 0) {
    idx_inflight_clean(&s->aimd);
  }
}

/* What follows an answer: stop, hand the range over if fetch_range waits
 * for it, or keep the window full. */
static void slot_settled(idx_sync_t *s, sync_slot_t *p) {
  note_status(s);
  if (s->stopping && !s->job_busy) {
    idx_sync__finish(s, 0, "stopped");
    return;
  }
  if (p->awaited) {
    p->awaited = false;
    idx_sync__fetch_range(s);
    return;
  }
  idx_sync__window_fill(s);
}

/* The common start of both callbacks: false when the engine is going away
 * (nothing more to do with the answer). */
static bool slot_answer_wanted(idx_sync_t *s, int status) {
  if (s->finish_deferred) {
    idx_sync__finish(s, 0, "stopped");
    return false;
  }
  if (s->phase == PHASE_DONE)
    return false;
  if (status == IDX_ERR_CANCELLED) {
    /* The client closed under us: stop (after the write in flight). */
    s->stopping = true;
    if (!s->job_busy)
      idx_sync__finish(s, IDX_ERR_CANCELLED, "JSON-RPC client closed under the sync engine");
    return false;
  }
  return true;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static void on_slot_headers(void *ud, int status, const idx_rpc_reply_t *r, size_t n);

/* The range's logs are in: asks the headers of its blocks with logs
 * (but its ends, which came with it) in a second batch, so that the
 * range handler need not ask them one range at a time. Returns whether
 * the batch went out. */
static bool ask_log_headers(idx_sync_t *s, sync_slot_t *p) {
  uint64_t nums[TIME_BATCH_MAX];
  size_t k = 0;
  for (size_t i = 0; i < p->nrange && k < TIME_BATCH_MAX; i++) {
    if (p->kinds[i] == REQ_HEADER || !json_is_array(p->replies[i].result))
      continue;
    size_t idx;
    json_t *item;
    json_array_foreach(p->replies[i].result, idx, item) {
      uint64_t bn;
      if (k == TIME_BATCH_MAX)
        break;
      if (idx_ethjson_quantity(json_object_get(item, "blockNumber"), &bn) || bn <= p->from ||
          bn >= p->to)
        continue; /* the range handler judges it */
      nums[k++] = bn;
    }
  }
  if (k == 0)
    return false;
  qsort(nums, k, sizeof *nums, cmp_u64);
  size_t m = 0;
  for (size_t i = 0; i < k; i++) {
    if (m == 0 || nums[i] != nums[m - 1])
      nums[m++] = nums[i];
  }
  const char *methods[TIME_BATCH_MAX];
  json_t *params[TIME_BATCH_MAX];
  for (size_t i = 0; i < m; i++) {
    char tag[24];
    snprintf(tag, sizeof tag, "0x%llx", (unsigned long long)nums[i]);
    methods[i] = "eth_getBlockByNumber";
    params[i] = json_pack("[s,b]", tag, 0);
    p->numbers[p->nrange + i] = nums[i];
    p->kinds[p->nrange + i] = REQ_LOG_HEADER;
  }
  int rc = idx_rpc_batch(s->opts.rpc, methods, params, m, on_slot_headers, p);
  for (size_t i = 0; i < m; i++)
    json_decref(params[i]);
  if (rc)
    return false;
  p->headers_asked = true;
  p->state = SLOT_IN_FLIGHT;
  return true;
}

static void on_slot_headers(void *ud, int status, const idx_rpc_reply_t *r, size_t n) {
  sync_slot_t *p = ud;
  idx_sync_t *s = p->s;
  p->state = SLOT_READY; /* held: slot_drop frees it */
  p->headers_asked = false;
  if (!slot_answer_wanted(s, status))
    return;
  if (p->stale) {
    bool awaited = p->awaited;
    slot_drop(s, p);
    p->awaited = awaited;
    slot_settled(s, p);
    return;
  }
  observe(s, p, status);
  /* Headers found join the range's replies; those a node has not (yet),
   * and a failed batch, are left to the range handler, which asks again. */
  for (size_t i = 0; status == 0 && i < n; i++) {
    if (r[i].err || !r[i].result || json_is_null(r[i].result))
      continue;
    idx_rpc_reply_t *d = &p->replies[p->n];
    memset(d, 0, sizeof *d);
    d->result = json_incref(r[i].result);
    p->kinds[p->n] = REQ_LOG_HEADER;
    p->numbers[p->n] = p->numbers[p->nrange + i];
    p->n++;
  }
  if (status == 0) {
    size_t b = idx_rpc_answer_bytes(s->opts.rpc);
    p->bytes += b;
    s->held_bytes += b;
  }
  slot_settled(s, p);
}

static void on_slot(void *ud, int status, const idx_rpc_reply_t *r, size_t n) {
  sync_slot_t *p = ud;
  idx_sync_t *s = p->s;
  bool stale = p->stale;
  p->state = SLOT_FREE;
  p->stale = false;
  if (!slot_answer_wanted(s, status))
    return;
  observe(s, p, status);
  /* Kept: a whole answer, or "too large" (the range handler shrinks the
   * range). Any other failure is dropped: the range is fetched again the
   * usual way, with the usual retries. */
  bool ok = !stale && status == 0 && n == p->n;
  for (size_t i = 0; ok && i < n; i++) {
    p->replies[i] = r[i];
    json_incref(p->replies[i].result);
    json_incref(p->replies[i].data);
    p->replies[i].message = r[i].message ? strdup(r[i].message) : NULL;
    ok = !r[i].message || p->replies[i].message;
  }
  p->too_large = !stale && status == IDX_ERR_TOO_LARGE;
  p->state = SLOT_READY; /* slot_drop frees what was copied */
  p->bytes = 0;
  p->nrange = p->n;
  if (ok || p->too_large) {
    if (status == 0) {
      p->url = idx_rpc_answered_by(s->opts.rpc);
      p->bytes = idx_rpc_answer_bytes(s->opts.rpc);
      s->held_bytes += p->bytes;
      if (!s->stopping && ask_log_headers(s, p))
        return; /* settled when the headers are in */
    }
  } else {
    bool awaited = p->awaited;
    slot_drop(s, p);
    p->awaited = awaited;
  }
  slot_settled(s, p);
}

/* A free slot, or NULL. */
static sync_slot_t *free_slot(idx_sync_t *s) {
  for (size_t i = 0; i < s->nslots; i++) {
    if (s->slots[i].state == SLOT_FREE)
      return &s->slots[i];
  }
  return NULL;
}

/* Sends the range [from, to]; false when it cannot be sent now. */
static bool send_slot(idx_sync_t *s, sync_slot_t *p, uint64_t from, uint64_t to) {
  const char *methods[SLOT_REQUESTS];
  json_t *params[SLOT_REQUESTS];
  p->n = idx_sync__range_requests(s, from, to, false, methods, params, p->kinds, p->numbers);
  p->from = from;
  p->to = to;
  p->epoch = s->aimd.epoch;
  p->sent_in_flight = idx_sync__window_count(s, true) + 1;
  int rc = idx_rpc_batch(s->opts.rpc, methods, params, p->n, on_slot, p);
  for (size_t i = 0; i < p->n; i++)
    json_decref(params[i]);
  if (rc) {
    p->n = 0; /* not sent: the range is fetched the usual way */
    return false;
  }
  p->state = SLOT_IN_FLIGHT;
  p->stale = false;
  p->awaited = false;
  return true;
}

void idx_sync__window_fill(idx_sync_t *s) {
  /* Only while a range is in hand (its end is where planning starts);
   * a range the engine itself asked for goes alone, so that a window of
   * 1 is exactly one range ahead of the one being written. */
  if (s->stopping || s->near_head || !s->slots)
    return;
  if (s->phase != PHASE_FETCH && s->phase != PHASE_LOG_HEADERS && s->phase != PHASE_WRITE)
    return;
  if (s->phase == PHASE_FETCH && s->rpc_busy)
    return;
  uint64_t pos = s->fetch_to + 1;
  unsigned nlive = 0;
  for (size_t i = 0; i < s->nslots; i++) {
    const sync_slot_t *p = &s->slots[i];
    if (!live(p))
      continue;
    nlive++;
    if (p->to + 1 > pos)
      pos = p->to + 1;
  }
  unsigned allowed = idx_inflight_allowed(&s->aimd);
  while (nlive < allowed && s->held_bytes < s->opts.max_held_bytes && pos != 0 &&
         pos <= s->target) {
    bool near_head;
    uint64_t to = idx_sync__range_end(s, pos, &near_head);
    if (near_head)
      break;
    sync_slot_t *p = free_slot(s);
    if (!p || !send_slot(s, p, pos, to))
      break;
    nlive++;
    pos = to + 1;
  }
  note_status(s);
}

sync_slot_t *idx_sync__window_take(idx_sync_t *s, uint64_t from, uint64_t *to, bool near_head) {
  sync_slot_t *hit = NULL, *next = NULL;
  for (size_t i = 0; i < s->nslots; i++) {
    sync_slot_t *p = &s->slots[i];
    if (!live(p))
      continue;
    if (p->from < from) {
      /* Below the cursor (a range asked again, a rollback): useless. */
      if (p->state == SLOT_READY)
        slot_drop(s, p);
      else
        p->stale = true;
      continue;
    }
    if (p->from == from)
      hit = p;
    else if (!next || p->from < next->from)
      next = p;
  }
  if (hit) {
    /* Used when it is still the range we would ask for now (a head that
     * went back may make it a near-head range or put it above the
     * target): otherwise the whole plan is abandoned. */
    if (hit->to <= *to && !near_head)
      return hit;
    idx_sync__window_reset(s);
    return NULL;
  }
  if (next && next->from <= *to)
    *to = next->from - 1;
  return NULL;
}

void idx_sync__window_use(idx_sync_t *s, sync_slot_t *p) {
  s->nreq = p->n;
  memcpy(s->req_kinds, p->kinds, p->n * sizeof *p->kinds);
  memcpy(s->req_numbers, p->numbers, p->n * sizeof *p->numbers);
  s->st.prefetched++;
  s->answer_url = p->url;
  /* Taken out of the slot first: handling it refills the window. */
  idx_rpc_reply_t held[SLOT_REPLIES];
  size_t n = p->n;
  bool too_large = p->too_large;
  memcpy(held, p->replies, n * sizeof *held);
  memset(p->replies, 0, sizeof p->replies);
  s->held_bytes -= p->bytes;
  p->bytes = 0;
  p->n = 0;
  p->too_large = false;
  p->state = SLOT_FREE;
  idx_sync__window_fill(s);
  idx_sync__on_range(s, too_large ? NULL : held, too_large ? 0 : n);
  idx_sync__release_replies(held, n);
}
