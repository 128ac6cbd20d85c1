/* fetchplan.c: range planning and AIMD concurrency (see fetchplan.h). */
#include "common.h"

#include "fetchplan.h"

uint64_t idx_fetchplan_range_end(uint64_t from, uint64_t span, uint64_t target, uint64_t head,
                                 uint64_t window, uint64_t near_cap, bool *near_head) {
  if (span == 0)
    span = 1;
  uint64_t to = from + span - 1 < from ? UINT64_MAX : from + span - 1;
  if (to > target)
    to = target;
  /* A range reaching into the window from below stops where it begins,
   * so that the blocks below it go in one range and only the last
   * `window` blocks pay for headers. */
  uint64_t below_window = head > window ? head - window : 0;
  if (from <= below_window && to > below_window)
    to = below_window;
  *near_head = to + window > head;
  if (*near_head && near_cap && to - from + 1 > near_cap)
    to = from + near_cap - 1;
  return to;
}

void idx_inflight_init(idx_inflight_t *w, unsigned max) {
  w->max = max ? max : 1;
  w->k = w->max < 2 ? w->max : 2;
  w->ceiling = 0;
  w->clean = 0;
  w->regrow_after = IDX_INFLIGHT_REGROW_MIN;
  w->epoch = 0;
  w->probing = false;
}

unsigned idx_inflight_allowed(const idx_inflight_t *w) {
  unsigned a = w->k < 1 ? 1 : (unsigned)w->k;
  return a > w->max ? w->max : a;
}

void idx_inflight_clean(idx_inflight_t *w) {
  w->clean++;
  if (w->ceiling == 0 || w->k + 1 <= w->ceiling) {
    /* No limit met yet, or below the level that worked: one more per
     * answer (doubles per round trip). */
    w->k += 1;
  } else if (w->k < w->ceiling) {
    w->k = w->ceiling;
  } else if (w->clean >= w->regrow_after) {
    /* Long clean at the ceiling: probe one more. */
    w->ceiling++;
    w->k = w->ceiling;
    w->clean = 0;
    w->probing = true;
  }
  if (w->k > w->max)
    w->k = w->max;
  if (w->probing && w->clean >= w->regrow_after / 2)
    w->probing = false; /* the probe held */
}

bool idx_inflight_congested(idx_inflight_t *w, uint64_t sent_epoch, unsigned in_flight) {
  if (sent_epoch != w->epoch)
    return false;
  w->epoch++;
  if (w->probing || w->ceiling) {
    /* A probe (or the level that worked) met the limit again: wait
     * longer before the next probe. */
    w->regrow_after = w->regrow_after * 2 > IDX_INFLIGHT_REGROW_MAX ? IDX_INFLIGHT_REGROW_MAX
                                                                    : w->regrow_after * 2;
  }
  w->probing = false;
  unsigned level = in_flight > 1 ? in_flight - 1 : 1;
  if (w->ceiling == 0 || level < w->ceiling)
    w->ceiling = level;
  w->k = w->k / 2 < 1 ? 1 : w->k / 2;
  w->clean = 0;
  return true;
}
