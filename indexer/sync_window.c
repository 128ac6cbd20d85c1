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
  /* How many are asked at once is k; answers waiting for their headers
   * or for the writer do not load the provider, so there are twice as
   * many slots (their bytes bounded by max_held_bytes). */
  size_t n = 2 * (size_t)k;
  s->slots = calloc(n, sizeof *s->slots);
  s->hdr_slots = calloc(n, sizeof *s->hdr_slots);
  if (!s->slots || !s->hdr_slots)
    return IDX_ERR_NOMEM;
  s->nslots = n;
  for (size_t i = 0; i < n; i++)
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
  p->nhdr = 0;
  p->span_counted = false;
  p->too_large = false;
  p->awaited = false;
  p->stale = false;
  p->state = SLOT_FREE;
}

void idx_sync__window_free(idx_sync_t *s) {
  for (size_t i = 0; i < s->nslots; i++) {
    if (s->slots[i].state == SLOT_READY || s->slots[i].state == SLOT_QUEUED)
      slot_drop(s, &s->slots[i]);
  }
  free(s->slots);
  free(s->hdr_slots);
  s->hdr_slots = NULL;
  s->slots = NULL;
  s->nslots = 0;
}

void idx_sync__window_reset(idx_sync_t *s) {
  for (size_t i = 0; i < s->nslots; i++) {
    sync_slot_t *p = &s->slots[i];
    if (p->state == SLOT_READY || p->state == SLOT_QUEUED) {
      slot_drop(s, p);
    } else if (p->state == SLOT_IN_FLIGHT) {
      p->stale = true;
      p->awaited = false;
    }
  }
}

bool idx_sync__window_in_flight(const idx_sync_t *s) {
  if (s->hdr_busy)
    return true;
  for (size_t i = 0; i < s->nslots; i++) {
    if (s->slots[i].state == SLOT_IN_FLIGHT)
      return true;
  }
  return false;
}

unsigned idx_sync__window_exchanges(const idx_sync_t *s) {
  unsigned n = s->hdr_busy ? 1 : 0;
  for (size_t i = 0; i < s->nslots; i++) {
    const sync_slot_t *p = &s->slots[i];
    n += p->state == SLOT_IN_FLIGHT && !p->hdr_out;
  }
  return n;
}

static void note_status(idx_sync_t *s) {
  s->st.inflight = idx_sync__window_exchanges(s);
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

/* A provider's range limit in a range's answer, seen as it arrives (not
 * when the writer gets to it, K ranges later): the span shrinks, and this
 * range and those planned as wide are asked again at once, narrower.
 * Returns whether it was one (the slot is then dropped). */
static bool limited_on_arrival(idx_sync_t *s, sync_slot_t *p) {
  for (size_t i = 0; i < p->nrange; i++) {
    const idx_rpc_reply_t *r = &p->replies[i];
    if (p->kinds[i] == REQ_HEADER || !r->err)
      continue;
    idx_logrange_advice_t advice;
    idx_sync__classify_error(r, &advice);
    uint64_t span = p->to - p->from + 1;
    if (!advice.is_limit || span == 1)
      return false; /* the range handler judges it */
    uint64_t next = idx_logrange_limited(&s->range, p->from, span, &advice);
    s->st.range_limits++;
    idx_log_warn("sync", "provider limit on blocks %llu..%llu (%s); range %llu -> %llu blocks",
                 (unsigned long long)p->from, (unsigned long long)p->to,
                 r->message ? r->message : "limit", (unsigned long long)span,
                 (unsigned long long)next);
    bool awaited = p->awaited;
    slot_drop(s, p);
    /* The range the writer waits for may go with the wider ones (it is
     * often the one whose headers rode in this batch): then it is asked
     * again, narrower, as this one would be, or nothing would ask it. */
    awaited |= idx_sync__window_drop_wider(s, next);
    p->awaited = awaited; /* fetch_range asks it again, narrower */
    return true;
  }
  return false;
}

/* A clean answer's span is told to the logrange at once (not when the
 * writer gets to it), so that the span grows a round trip sooner. */
static void count_span(idx_sync_t *s, sync_slot_t *p) {
  size_t nlogs = 0;
  p->span_counted = false;
  for (size_t i = 0; i < p->nrange; i++) {
    if (p->kinds[i] == REQ_HEADER)
      continue;
    const idx_rpc_reply_t *r = &p->replies[i];
    if (!r->logs && !json_is_array(r->result))
      return; /* an error: the range handler judges it */
    nlogs += r->logs ? r->logs->n : json_array_size(r->result);
  }
  idx_logrange_answer(&s->range, p->to - p->from + 1, nlogs, p->bytes);
  p->span_counted = true;
}

static bool pump_headers(idx_sync_t *s);

/* Ranges whose headers wait (SLOT_QUEUED) ride in the next range's batch
 * (window_fill). When none went, they go in a batch of their own, but
 * only with room under the allowance (or nothing out): otherwise an
 * answer is due, and the range sent then carries them. */
static void headers_fallback(idx_sync_t *s) {
  if (s->phase == PHASE_DONE || s->stopping || s->hdr_busy)
    return;
  bool queued = false;
  for (size_t i = 0; i < s->nslots && !queued; i++)
    queued = s->slots[i].state == SLOT_QUEUED;
  if (!queued)
    return;
  unsigned out = idx_sync__window_exchanges(s);
  if (out == 0 || out < idx_inflight_allowed(&s->aimd))
    pump_headers(s);
  note_status(s);
}

static void slot_settled_inner(idx_sync_t *s, sync_slot_t *p);

/* What follows an answer: stop, hand the range over if fetch_range waits
 * for it, or keep the window full; then headers still waiting go. */
static void slot_settled(idx_sync_t *s, sync_slot_t *p) {
  slot_settled_inner(s, p);
  headers_fallback(s);
}

static void slot_settled_inner(idx_sync_t *s, sync_slot_t *p) {
  note_status(s);
  if (s->stopping && !s->job_busy) {
    idx_sync__finish(s, 0, "stopped");
    return;
  }
  if (s->fetch_waits && s->phase == PHASE_FETCH) {
    s->fetch_waits = false;
    idx_sync__fetch_range(s);
    return;
  }
  s->fetch_waits = false;
  if (p && p->awaited) {
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

/* The range's logs are in: notes the headers of its blocks with logs (but
 * its ends, which came with it) for a header batch, so that the range
 * handler need not ask them one range at a time. Returns how many. */
static size_t plan_log_headers(sync_slot_t *p) {
  uint64_t nums[TIME_BATCH_MAX];
  size_t k = 0;
  for (size_t i = 0; i < p->nrange && k < TIME_BATCH_MAX; i++) {
    if (p->kinds[i] == REQ_HEADER)
      continue;
    const idx_logset_t *set = p->replies[i].logs;
    for (size_t j = 0; set && j < set->n && k < TIME_BATCH_MAX; j++) {
      uint64_t bn = set->logs[j].block_number;
      if (bn > p->from && bn < p->to)
        nums[k++] = bn; /* others: the range handler judges them */
    }
    if (!json_is_array(p->replies[i].result))
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
  if (k)
    qsort(nums, k, sizeof *nums, cmp_u64);
  size_t m = 0;
  for (size_t i = 0; i < k; i++) {
    if (m == 0 || nums[i] != nums[m - 1])
      nums[m++] = nums[i];
  }
  for (size_t i = 0; i < m; i++) {
    p->numbers[p->nrange + i] = nums[i];
    p->kinds[p->nrange + i] = REQ_LOG_HEADER;
  }
  p->nhdr = m;
  return m;
}

static void on_header_batch(void *ud, int status, const idx_rpc_reply_t *r, size_t n);

/* Marks the ranges of a header batch that could not be asked as held
 * without their headers (the range handler asks them). */
static void headers_skipped(idx_sync_t *s, sync_slot_t **slots, size_t n) {
  (void)s;
  for (size_t i = 0; i < n; i++) {
    slots[i]->state = SLOT_READY;
    slots[i]->hdr_out = false;
  }
}

/* Takes the queued ranges' headers, lowest range first, while they fit in
 * TIME_BATCH_MAX requests and `max` ranges: their requests go to methods
 * and params, the ranges to taken (now in flight). Returns how many
 * requests; *ntaken says how many ranges. */
static size_t take_queued_headers(idx_sync_t *s, const char **methods, json_t **params,
                                  sync_slot_t **taken, size_t max, size_t *ntaken) {
  size_t k = 0;
  *ntaken = 0;
  while (*ntaken < max) {
    sync_slot_t *low = NULL;
    for (size_t i = 0; i < s->nslots; i++) {
      sync_slot_t *q = &s->slots[i];
      if (q->state == SLOT_QUEUED && (!low || q->from < low->from))
        low = q;
    }
    if (!low || k + low->nhdr > TIME_BATCH_MAX)
      break;
    for (size_t i = 0; i < low->nhdr; i++) {
      char tag[24];
      snprintf(tag, sizeof tag, "0x%llx", (unsigned long long)low->numbers[low->nrange + i]);
      methods[k] = "eth_getBlockByNumber";
      params[k++] = json_pack("[s,b]", tag, 0);
    }
    low->state = SLOT_IN_FLIGHT;
    low->hdr_out = true;
    taken[(*ntaken)++] = low;
  }
  return k;
}

/* Sends one batch with the headers of the queued ranges, lowest first, up
 * to TIME_BATCH_MAX headers. Returns whether it went out. */
static bool pump_headers(idx_sync_t *s) {
  if (s->hdr_busy || s->stopping)
    return false;
  const char *methods[TIME_BATCH_MAX];
  json_t *params[TIME_BATCH_MAX];
  size_t k = take_queued_headers(s, methods, params, s->hdr_slots, s->nslots, &s->nhdr_slots);
  if (!s->nhdr_slots)
    return false;
  int rc = idx_rpc_batch(s->opts.rpc, methods, params, k, on_header_batch, s);
  for (size_t i = 0; i < k; i++)
    json_decref(params[i]);
  if (rc) {
    headers_skipped(s, s->hdr_slots, s->nhdr_slots);
    s->nhdr_slots = 0;
    return false;
  }
  s->hdr_busy = true;
  return true;
}

/* The headers asked for the ranges `slots` (in that order) are in: r[0..n)
 * when ok. Those found join each range's replies; stale ranges are
 * dropped. Returns the awaited range among them, if any. */
static sync_slot_t *headers_in(idx_sync_t *s, sync_slot_t **slots, size_t nslots, bool ok,
                               const idx_rpc_reply_t *r, size_t n) {
  size_t want = 0;
  for (size_t j = 0; j < nslots; j++)
    want += slots[j]->nhdr;
  int status = ok && n == want ? 0 : IDX_ERR_RPC_REPLY;
  size_t off = 0;
  sync_slot_t *awaited = NULL;
  for (size_t j = 0; j < nslots; j++) {
    sync_slot_t *p = slots[j];
    if (p->stale) {
      bool aw = p->awaited;
      slot_drop(s, p);
      p->awaited = aw;
    } else if (status == 0 && n == want) {
      /* Headers found join the range's replies; those a node has not
       * (yet) are left to the range handler, which asks again. */
      for (size_t i = 0; i < p->nhdr; i++) {
        const idx_rpc_reply_t *h = &r[off + i];
        if (h->err || !h->result || json_is_null(h->result))
          continue;
        idx_rpc_reply_t *d = &p->replies[p->n];
        memset(d, 0, sizeof *d);
        d->result = json_incref(h->result);
        p->kinds[p->n] = REQ_LOG_HEADER;
        p->numbers[p->n] = p->numbers[p->nrange + i];
        p->n++;
      }
    }
    off += p->nhdr;
    if (p->awaited)
      awaited = p;
  }
  return awaited;
}

static void on_header_batch(void *ud, int status, const idx_rpc_reply_t *r, size_t n) {
  idx_sync_t *s = ud;
  s->hdr_busy = false;
  size_t nslots = s->nhdr_slots;
  s->nhdr_slots = 0;
  headers_skipped(s, s->hdr_slots, nslots); /* held from here on: slot_drop frees them */
  if (!slot_answer_wanted(s, status))
    return;
  if (nslots)
    observe(s, s->hdr_slots[0], status);
  sync_slot_t *awaited = headers_in(s, s->hdr_slots, nslots, status == 0, r, n);
  /* The bytes are the first range's still held to hold (a rough share):
   * one dropped meanwhile (stale) is free, and bytes counted on it would
   * never be taken back. */
  for (size_t i = 0; status == 0 && i < nslots; i++) {
    if (s->hdr_slots[i]->state == SLOT_FREE)
      continue;
    size_t b = idx_rpc_answer_bytes(s->opts.rpc);
    s->hdr_slots[i]->bytes += b;
    s->held_bytes += b;
    break;
  }
  slot_settled(s, awaited);
}

static void on_slot(void *ud, int status, const idx_rpc_reply_t *r, size_t n) {
  sync_slot_t *p = ud;
  idx_sync_t *s = p->s;
  bool stale = p->stale;
  p->state = SLOT_FREE;
  p->stale = false;
  /* The ranges whose headers rode with it: held from here on, with the
   * headers that came (without them if the exchange failed: the range
   * handler asks them). */
  sync_slot_t *carried[SLOT_CARRY_MAX];
  size_t ncarried = p->ncarried;
  memcpy(carried, p->carried, ncarried * sizeof *carried);
  p->ncarried = 0;
  headers_skipped(s, carried, ncarried);
  if (!slot_answer_wanted(s, status))
    return;
  observe(s, p, status);
  bool whole = status == 0 && n == p->nsent;
  sync_slot_t *carried_awaited =
      headers_in(s, carried, ncarried, whole, whole ? r + p->n : NULL, whole ? n - p->n : 0);
  /* Kept: a whole answer, or "too large" (the range handler shrinks the
   * range). Any other failure is dropped: the range is fetched again the
   * usual way, with the usual retries. */
  bool ok = !stale && whole;
  n = p->n;
  for (size_t i = 0; ok && i < n; i++) {
    p->replies[i] = r[i];
    json_incref(p->replies[i].result);
    json_incref(p->replies[i].data);
    idx_logset_incref(p->replies[i].logs);
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
      idx_sync__window_note_answer(s, p->bytes);
      if (limited_on_arrival(s, p)) {
        /* A carried range still awaited, or this one (awaited when the
         * limit dropped the awaited range). */
        slot_settled(s, carried_awaited && carried_awaited->awaited ? carried_awaited : p);
        return;
      }
      count_span(s, p);
      if (!s->stopping && plan_log_headers(p)) {
        /* Its headers ride in the next range's batch (slot_settled). */
        p->state = SLOT_QUEUED;
        slot_settled(s, carried_awaited); /* p is settled when its headers are in */
        return;
      }
    }
  } else {
    bool awaited = p->awaited;
    slot_drop(s, p);
    p->awaited = awaited;
  }
  slot_settled(s, carried_awaited ? carried_awaited : p);
}

void idx_sync__window_note_answer(idx_sync_t *s, size_t bytes) {
  /* Answers in flight will take about what recent ones took: the larger
   * at once, a smaller one an eighth of the way down. */
  s->answer_est = bytes >= s->answer_est ? bytes : s->answer_est - s->answer_est / 8 + bytes / 8;
}

/* A free slot, or NULL. */
static sync_slot_t *free_slot(idx_sync_t *s) {
  for (size_t i = 0; i < s->nslots; i++) {
    if (s->slots[i].state == SLOT_FREE)
      return &s->slots[i];
  }
  return NULL;
}

/* Adds to a range's batch the headers of the ranges waiting for theirs
 * (lowest first, up to TIME_BATCH_MAX headers). Returns how many requests. */
static size_t carry_headers(idx_sync_t *s, sync_slot_t *carrier, const char **methods,
                            json_t **params) {
  return take_queued_headers(s, methods, params, carrier->carried, SLOT_CARRY_MAX,
                             &carrier->ncarried);
}

/* Sends the range [from, to], with the headers waiting; false when it
 * cannot be sent now. */
static bool send_slot(idx_sync_t *s, sync_slot_t *p, uint64_t from, uint64_t to) {
  const char *methods[SLOT_REQUESTS + TIME_BATCH_MAX];
  json_t *params[SLOT_REQUESTS + TIME_BATCH_MAX];
  p->n = idx_sync__range_requests(s, from, to, false, methods, params, p->kinds, p->numbers);
  p->from = from;
  p->to = to;
  p->epoch = s->aimd.epoch;
  p->sent_in_flight = idx_sync__window_exchanges(s) + 1;
  p->nsent = p->n + carry_headers(s, p, methods + p->n, params + p->n);
  int rc = idx_rpc_batch_logs(s->opts.rpc, methods, params, p->nsent, on_slot, p);
  for (size_t i = 0; i < p->nsent; i++)
    json_decref(params[i]);
  if (rc) {
    p->n = 0;                                    /* not sent: the range is fetched the usual way */
    headers_skipped(s, p->carried, p->ncarried); /* and those headers by the handler */
    p->ncarried = 0;
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
  if (s->phase != PHASE_FETCH && s->phase != PHASE_LOG_HEADERS && s->phase != PHASE_ADMIN_TXS &&
      s->phase != PHASE_WRITE)
    return;
  if (s->phase == PHASE_FETCH && s->rpc_busy)
    return;
  uint64_t pos = s->fetch_to + 1;
  /* Exchanges count, abandoned ranges still in flight included (the
   * provider still serves them); held answers do not. */
  unsigned out = idx_sync__window_exchanges(s);
  unsigned allowed = idx_inflight_allowed(&s->aimd);
  /* A span wider than the widest known to work is a probe: one range at
   * a time tries it, the others keep to what works, so a limit met costs
   * one range, not the whole window. */
  const idx_logrange_t *r = &s->range;
  bool limited = r->good && (r->ceiling != UINT64_MAX || r->regrown);
  bool probing = false;
  for (size_t i = 0; limited && i < s->nslots; i++) {
    const sync_slot_t *p = &s->slots[i];
    probing |= live(p) && p->to - p->from + 1 > r->good;
  }
  /* From the range in hand up: over the ranges held or out, into the
   * gaps between them (a range dropped after a limit) and past them. */
  /* Bytes: those held, and those the ranges out will bring (as recent
   * answers did): on a dense chain fewer ranges go out at once. One range
   * always may when none is out or held (one ahead of the one in hand,
   * as the engine did before the window). */
  unsigned ranges_out = 0, held = 0;
  for (size_t i = 0; i < s->nslots; i++) {
    const sync_slot_t *q = &s->slots[i];
    ranges_out += q->state == SLOT_IN_FLIGHT && !q->hdr_out;
    held += live(q) && (q->state != SLOT_IN_FLIGHT || q->hdr_out);
  }
  /* Until an answer has told their size (answer_est 0), one at a time:
   * the first ranges of a dense chain can be a hundred times the cap. */
  while (out < allowed && pos != 0 && pos <= s->target &&
         ((s->answer_est > 0 &&
           s->held_bytes + (uint64_t)(ranges_out + 1) * s->answer_est <= s->opts.max_held_bytes) ||
          (ranges_out == 0 && held == 0))) {
    const sync_slot_t *at = NULL, *next = NULL;
    for (size_t i = 0; i < s->nslots; i++) {
      const sync_slot_t *q = &s->slots[i];
      if (!live(q) || q->to < pos)
        continue;
      if (q->from <= pos)
        at = q;
      else if (!next || q->from < next->from)
        next = q;
    }
    if (at) {
      pos = at->to + 1;
      continue;
    }
    bool near_head;
    uint64_t span = s->range.span;
    if (probing && span > r->good)
      span = r->good;
    uint64_t to = idx_fetchplan_range_end(pos, span, s->target, s->head, REORG_WINDOW, s->near_cap,
                                          &near_head);
    if (near_head)
      break;
    if (next && to >= next->from)
      to = next->from - 1;
    probing |= limited && to - pos + 1 > r->good;
    sync_slot_t *p = free_slot(s);
    if (!p || !send_slot(s, p, pos, to))
      break;
    out++;
    ranges_out++;
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
      if (p->state == SLOT_IN_FLIGHT)
        p->stale = true;
      else
        slot_drop(s, p);
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

bool idx_sync__window_drop_wider(idx_sync_t *s, uint64_t span) {
  bool awaited = false;
  for (size_t i = 0; i < s->nslots; i++) {
    sync_slot_t *p = &s->slots[i];
    if (!live(p) || p->to - p->from + 1 <= span)
      continue;
    awaited |= p->awaited;
    if (p->state == SLOT_IN_FLIGHT) {
      p->stale = true;
      p->awaited = false;
    } else {
      slot_drop(s, p);
    }
  }
  return awaited;
}

void idx_sync__window_use(idx_sync_t *s, sync_slot_t *p) {
  s->range_counted = p->span_counted;
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
  s->own_answer_bytes = p->bytes;
  p->bytes = 0;
  p->n = 0;
  p->too_large = false;
  p->state = SLOT_FREE;
  idx_sync__window_fill(s);
  idx_sync__on_range(s, too_large ? NULL : held, too_large ? 0 : n);
  idx_sync__release_replies(held, n);
}
