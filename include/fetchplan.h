/*
 * fetchplan.h: where the follower's next ranges go, and how many of them
 * may be in flight at once. Pure arithmetic, unit-tested without a network.
 *
 * Ranges: a range starts where the last one planned ended, spans the
 * adaptive eth_getLogs span (logrange.h), never passes the target, and
 * stops at the edge of the reorg window from below, so that only the last
 * `window` blocks (near the head, where every header is fetched and
 * chained) pay for headers.
 *
 * Concurrency (AIMD, with memory): `k` ranges may be in flight. It starts
 * at 2 and grows by one per clean answer up to --max-inflight; a
 * congestion signal (an HTTP 429, a timeout or another transport fault)
 * halves it, and the number in flight when it came, minus one,
 * becomes a ceiling that k climbs back to quickly but does not pass until
 * `regrow_after` clean answers have come back (a probe of one more); a
 * probe that meets congestion again doubles that wait. So a provider that
 * allows 8 requests at once sees a few 429s at the start, then about 8 in
 * flight, and a probe now and then. One congestion is counted per round
 * trip: answers to requests sent before the last decrease do not halve
 * again.
 */
#ifndef IDX_FETCHPLAN_H
#define IDX_FETCHPLAN_H

#include "common.h"

/* The last block of the range that starts at `from` (from <= target):
 * at most span blocks, at most target, ending below the window when it
 * starts below it; near the head (within `window` of it) at most near_cap
 * blocks. *near_head says whether the range is near the head. */
uint64_t idx_fetchplan_range_end(uint64_t from, uint64_t span, uint64_t target, uint64_t head,
                                 uint64_t window, uint64_t near_cap, bool *near_head)
    IDX_NONNULL(7);

typedef struct idx_inflight_s {
  unsigned max;          /* --max-inflight (>= 1) */
  double k;              /* ranges allowed in flight now */
  unsigned ceiling;      /* don't pass without probing (0: none known) */
  uint64_t clean;        /* clean answers since the last congestion or probe */
  uint64_t regrow_after; /* clean answers before a probe past the ceiling */
  uint64_t epoch;        /* congestions counted (decreases) */
  bool probing;          /* k is above the ceiling that was met last */
} idx_inflight_t;

/* A probe that meets a 429 costs its Retry-After (often a second, a dozen
 * round trips of the whole window), and wins one more request in flight:
 * worth it only after hundreds of answers. */
enum { IDX_INFLIGHT_REGROW_MIN = 512, IDX_INFLIGHT_REGROW_MAX = 65536 };

void idx_inflight_init(idx_inflight_t *w, unsigned max) IDX_NONNULL(1);

/* Ranges that may be in flight now (1..max). */
unsigned idx_inflight_allowed(const idx_inflight_t *w) IDX_NONNULL(1);

/* A clean answer came back. */
void idx_inflight_clean(idx_inflight_t *w) IDX_NONNULL(1);

/* Congestion met by an answer to a request sent in epoch `sent_epoch`,
 * with `in_flight` ranges in flight when it was sent. Returns whether it
 * counted (false: already halved for this round trip). */
bool idx_inflight_congested(idx_inflight_t *w, uint64_t sent_epoch, unsigned in_flight)
    IDX_NONNULL(1);

#endif
