/* logrange.c: provider limit dialects and the adaptive span (see logrange.h). */
#include "common.h"

#include "hex.h"
#include "logrange.h"

#include <ctype.h>
#include <string.h>

/* Case-insensitive substring search. */
static const char *find_ci(const char *hay, const char *needle) {
  size_t n = strlen(needle);
  for (; *hay; hay++) {
    if (strncasecmp(hay, needle, n) == 0)
      return hay;
  }
  return NULL;
}

/* Reads a number at p: "0x.." hex or decimal, with an optional K/k
 * multiplier ("2K block range"). Returns false if none. */
static bool read_number(const char *p, uint64_t *out, const char **end) {
  while (*p == ' ' || *p == '"' || *p == '[' || *p == ':' || *p == '=')
    p++;
  uint64_t v = 0;
  const char *s = p;
  if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
    p += 2;
    const char *digits = p;
    while (isxdigit((unsigned char)*p) && p - digits < 16) {
      v = (v << 4) | (uint64_t)idx_hex_digit(*p);
      p++;
    }
    if (p == digits)
      return false;
  } else {
    while (isdigit((unsigned char)*p) && p - s < 19) {
      v = v * 10 + (uint64_t)(*p - '0');
      p++;
    }
    if (p == s)
      return false;
    if (*p == 'k' || *p == 'K') {
      v *= 1000;
      p++;
    }
  }
  *out = v;
  if (end)
    *end = p;
  return true;
}

/* Looks for "[A, B]" after a marker and reads both ends. */
static bool read_pair(const char *text, const char *marker, uint64_t *a, uint64_t *b) {
  const char *p = text ? find_ci(text, marker) : NULL;
  if (!p)
    return false;
  p = strchr(p, '[');
  if (!p)
    return false;
  const char *end;
  if (!read_number(p + 1, a, &end))
    return false;
  while (*end == ' ' || *end == ',' || *end == '"')
    end++;
  return read_number(end, b, NULL) && *b >= *a;
}

/* Reads "from"/"to" members of a JSON data object given as text. */
static bool read_data_range(const char *data, uint64_t *a, uint64_t *b) {
  if (!data)
    return false;
  const char *f = strstr(data, "\"from\"");
  const char *t = strstr(data, "\"to\"");
  if (!f || !t)
    return false;
  return read_number(f + 6, a, NULL) && read_number(t + 4, b, NULL) && *b >= *a;
}

void idx_logrange_classify(long code, const char *message, const char *data_text,
                           idx_logrange_advice_t *out) {
  memset(out, 0, sizeof *out);
  const char *m = message ? message : "";
  static const char *const limit_phrases[] = {
      "query returned more than",
      "block range is too wide",
      "block range too large",
      "range too large",
      "range is too large",
      "log response size exceeded",
      "response is too big",
      "response size exceeded",
      "too many blocks",
      "exceed maximum block range",
      "block range limit",
      "limited to a",
      "limited to",
      "try with this block range",
      "query timeout exceeded",
      "logs matched by query exceeds",
  };
  for (size_t i = 0; i < IDX_ARRAY_LEN(limit_phrases) && !out->is_limit; i++)
    out->is_limit = find_ci(m, limit_phrases[i]) != NULL;
  if (code == -32005)
    out->is_limit = true;

  uint64_t a, b;
  if (read_pair(m, "block range", &a, &b) || read_pair(data_text, "block range", &a, &b) ||
      read_data_range(data_text, &a, &b)) {
    out->has_suggestion = true;
    out->suggested_from = a;
    out->suggested_to = b;
    out->is_limit = true;
  }
  /* "limited to a 1000 blocks range", "up to a 2K block range",
   * "exceed maximum block range: 5000". */
  static const char *const span_markers[] = {"limited to a ", "limited to ", "up to a ",
                                             "maximum block range"};
  for (size_t i = 0; i < IDX_ARRAY_LEN(span_markers) && !out->stated_span; i++) {
    const char *p = find_ci(m, span_markers[i]);
    uint64_t v;
    if (p && read_number(p + strlen(span_markers[i]), &v, NULL) && v > 0)
      out->stated_span = v;
  }
  if (out->stated_span)
    out->is_limit = true;
}

void idx_logrange_init(idx_logrange_t *r, uint64_t initial, uint64_t max_span) {
  r->max_span = max_span ? max_span : 1;
  r->min_span = 1;
  r->span = initial < 1 ? 1 : initial > r->max_span ? r->max_span : initial;
  r->ceiling = UINT64_MAX;
  r->good = 0;
  r->grow_below_logs = 5000;
  r->clean = 0;
  r->regrow_after = IDX_LOGRANGE_REGROW_MIN;
  r->regrown = false;
}

/* A limit is a fact about a provider at one time (a load balancer may send
 * the next request to a node with other limits; one odd answer may state a
 * one-block limit): after regrow_after clean answers at the ceiling it is
 * forgotten and the span grows again. A limit met again right after a
 * regrow doubles the wait (up to IDX_LOGRANGE_REGROW_MAX answers), so a
 * real limit costs one failed request per that many good ones. */
static void count_clean(idx_logrange_t *r) {
  if (r->ceiling == UINT64_MAX)
    return;
  if (++r->clean < r->regrow_after)
    return;
  r->ceiling = UINT64_MAX;
  r->clean = 0;
  r->regrown = true;
}

void idx_logrange_success(idx_logrange_t *r, uint64_t span, uint64_t nlogs) {
  idx_logrange_answer(r, span, nlogs, 0);
}

void idx_logrange_answer(idx_logrange_t *r, uint64_t span, uint64_t nlogs, uint64_t bytes) {
  /* An answer's bytes count as logs of grow_below_bytes / grow_below_logs
   * bytes each: large logs (long data) make a range dense too, and what
   * an answer costs in memory is its size, parsed. */
  uint64_t raw = nlogs, eq = 0;
  if (r->grow_below_bytes && r->grow_below_logs) {
    uint64_t per = r->grow_below_bytes / r->grow_below_logs;
    eq = per ? bytes / per : 0;
    if (eq > nlogs)
      nlogs = eq;
  }
  /* Nearly empty: a few logs, and a small answer (its headers). */
  bool nearly_empty = raw * 512 < r->grow_below_logs && eq * 8 < r->grow_below_logs;
  /* Very dense answers cost memory and latency: ask next time for the
   * span that would have held about 2 * grow_below_logs logs at this
   * density (one step, not a halving per range: the first range of a dense
   * chain can hold a hundred times that). */
  if (nlogs > 4 * r->grow_below_logs && span > 1 && span <= r->span) {
    uint64_t want = 2 * r->grow_below_logs;
    uint64_t next = span / (nlogs / want + (nlogs % want != 0));
    r->span = next < r->min_span ? r->min_span : next ? next : 1;
    return;
  }
  if (span < r->span || nlogs >= r->grow_below_logs)
    return; /* a short final range, or a dense one, says nothing new */
  count_clean(r);
  if (span > r->good)
    r->good = span;
  uint64_t next;
  if (r->ceiling == UINT64_MAX && !r->regrown && nearly_empty)
    /* Nearly empty before any limit was met (the start of a sparse
     * chain): eight times, so the span reaches the provider's cap in a
     * few round trips rather than a dozen. */
    next = r->span > UINT64_MAX / 8 ? UINT64_MAX : r->span * 8;
  else if (r->ceiling == UINT64_MAX)
    next = r->span > UINT64_MAX / 2 ? UINT64_MAX : r->span * 2;
  else if (r->ceiling <= r->good || r->ceiling - r->good <= r->good / 8)
    next = r->good; /* close enough to the limit: stop probing */
  else
    next = r->good + (r->ceiling - r->good + 1) / 2;
  if (next > r->max_span)
    next = r->max_span;
  if (next > r->ceiling)
    next = r->ceiling;
  if (next > r->span)
    r->span = next;
}

uint64_t idx_logrange_limited(idx_logrange_t *r, uint64_t from, uint64_t span,
                              const idx_logrange_advice_t *advice) {
  uint64_t next = r->good && r->good < span ? r->good : span / 2;
  bool named = false;
  if (advice->has_suggestion && advice->suggested_from == from && advice->suggested_to >= from &&
      advice->suggested_to - from + 1 < span) {
    next = advice->suggested_to - from + 1;
    named = true;
  } else if (advice->stated_span && advice->stated_span < span) {
    next = advice->stated_span;
    named = true;
  }
  if (next < r->min_span)
    next = r->min_span;
  r->clean = 0;
  if (r->regrown) {
    r->regrown = false;
    r->regrow_after = r->regrow_after * 2 > IDX_LOGRANGE_REGROW_MAX ? IDX_LOGRANGE_REGROW_MAX
                                                                    : r->regrow_after * 2;
  }
  if (span > 1 && span - 1 < r->ceiling)
    r->ceiling = span - 1;
  if (r->good > r->ceiling)
    r->good = r->ceiling; /* what worked before may not now (denser blocks) */
  /* A span the provider named is the one that works: stop probing above it. */
  if (named && next < r->ceiling)
    r->ceiling = next;
  if (next > r->ceiling)
    next = r->ceiling;
  r->span = next;
  return next;
}
