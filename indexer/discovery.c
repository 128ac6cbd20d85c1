/* discovery.c: the bisection for a contract's deployment block (see discovery.h). */
#include "common.h"

#include "discovery.h"

#include <ctype.h>
#include <string.h>

void idx_bisect_init(idx_bisect_t *b, uint64_t head) {
  b->lo = 0;
  b->hi = head;
  b->asked = 0;
}

bool idx_bisect_done(const idx_bisect_t *b) { return b->lo >= b->hi; }

uint64_t idx_bisect_next(const idx_bisect_t *b) { return b->lo + (b->hi - b->lo) / 2; }

void idx_bisect_answer(idx_bisect_t *b, uint64_t block, bool has_code) {
  b->asked++;
  if (block < b->lo || block > b->hi)
    return; /* not a question of this search */
  if (has_code)
    b->hi = block;
  else
    b->lo = block + 1;
}

/* Case-insensitive substring. */
static bool has_word(const char *s, const char *w) {
  size_t n = strlen(w);
  for (; *s; s++) {
    size_t i = 0;
    while (i < n && s[i] && tolower((unsigned char)s[i]) == w[i])
      i++;
    if (i == n)
      return true;
  }
  return false;
}

bool idx_discovery_no_state(long code, const char *message) {
  (void)code;
  static const char *const words[] = {
      "missing trie node", "header not found", "state is not available", "state not available",
      "historical state",  "pruned",           "unknown block",          "state histories",
      "not available",     "block not found",  "blockoutofrange",        "block height is",
  };
  if (!message)
    return false;
  for (size_t i = 0; i < IDX_ARRAY_LEN(words); i++) {
    if (has_word(message, words[i]))
      return true;
  }
  return false;
}
