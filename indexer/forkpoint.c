/* forkpoint.c: the fork search below the header window (see forkpoint.h). */
#include "common.h"

#include "forkpoint.h"

#include <string.h>

void idx_forkpoint_init(idx_forkpoint_t *fp, uint64_t below) {
  memset(fp, 0, sizeof *fp);
  fp->below = below;
}

idx_forkpoint_step_t idx_forkpoint_page(idx_forkpoint_t *fp, const idx_block_t *stored, size_t n,
                                        const bool *on_chain, const idx_hash_t *node_hash,
                                        size_t cap, bool has_finalized, uint64_t finalized,
                                        size_t *at) {
  *at = 0;
  if (n > cap || (n > 0 && (!stored || !on_chain || !node_hash)))
    return IDX_FORKPOINT_BAD;
  /* Checked first: a page out of order would skip blocks. */
  uint64_t above = fp->below;
  for (size_t i = 0; i < n; i++) {
    if (stored[i].number >= above)
      return IDX_FORKPOINT_BAD;
    above = stored[i].number;
  }
  fp->pages++;
  for (size_t i = 0; i < n; i++) {
    fp->blocks++;
    if (on_chain[i] && memcmp(node_hash[i].b, stored[i].hash.b, 32) == 0) {
      *at = i;
      return IDX_FORKPOINT_FOUND;
    }
    /* Going down, the first final block decides: it matches (above) or
     * the node contradicts what can never change. */
    if (has_finalized && stored[i].number <= finalized) {
      *at = i;
      return IDX_FORKPOINT_FINAL;
    }
  }
  if (n > 0) {
    fp->below = stored[n - 1].number;
    fp->seen = true;
    fp->lowest = stored[n - 1].number;
  }
  return n == cap && fp->below > 0 ? IDX_FORKPOINT_MORE : IDX_FORKPOINT_NONE;
}

uint64_t idx_forkpoint_floor(const idx_forkpoint_t *fp, uint64_t first) {
  uint64_t low = fp->seen && fp->lowest < first ? fp->lowest : first;
  return low > 0 ? low - 1 : 0;
}
