/* logscan.c: one-pass reader of eth_getLogs answers (see logscan.h).
 *
 * Every function here either consumes exactly the shape it knows and
 * returns true, or returns false and leaves the decision to a caller
 * that declines or falls back to the JSON parser: none produces an error
 * message, because the JSON parser's messages are the ones users see. */
#include "common.h"

#include "hex.h"
#include "logscan.h"

#include <stdlib.h>
#include <string.h>

#define SCAN_MAX_DEPTH 32 /* brackets inside one delimited element */

typedef struct scan_s {
  const char *p, *end;
} scan_t;

static void skip_ws(scan_t *s) {
  while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
    s->p++;
}

/* Skips whitespace, then consumes c if it is next. */
static bool eat(scan_t *s, char c) {
  skip_ws(s);
  if (s->p < s->end && *s->p == c) {
    s->p++;
    return true;
  }
  return false;
}

/* A string's contents up to its closing quote, without checking them
 * (the caller decodes them as hex, which admits no quote, backslash,
 * control or non-ASCII byte). */
static bool raw_string(scan_t *s, const char **str, size_t *len) {
  if (s->p >= s->end || *s->p != '"')
    return false;
  const char *q = memchr(s->p + 1, '"', (size_t)(s->end - s->p - 1));
  if (!q)
    return false;
  *str = s->p + 1;
  *len = (size_t)(q - s->p - 1);
  s->p = q + 1;
  return true;
}

/* A plain string: no escape, no control character, nothing above 0x7e
 * (so it is valid UTF-8 and means its bytes, as jansson would read it). */
static bool plain_string(scan_t *s, const char **str, size_t *len) {
  const char *p0 = s->p;
  if (!raw_string(s, str, len))
    return false;
  for (size_t i = 0; i < *len; i++) {
    unsigned char c = (unsigned char)(*str)[i];
    if (c < 0x20 || c > 0x7e || c == '\\') {
      s->p = p0;
      return false;
    }
  }
  return true;
}

static bool literal(scan_t *s, const char *word) {
  size_t n = strlen(word);
  if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
    return false;
  s->p += n;
  return true;
}

/* A value ignored by its reader: a plain string, true, false or null. */
static bool plain_value(scan_t *s) {
  const char *str;
  size_t len;
  return plain_string(s, &str, &len) || literal(s, "true") || literal(s, "false") ||
         literal(s, "null");
}

/* ---- log sets ---- */

idx_logset_t *idx_logset_incref(idx_logset_t *set) {
  if (set)
    set->refs++;
  return set;
}

void idx_logset_decref(idx_logset_t *set) {
  if (!set || --set->refs > 0)
    return;
  free(set->logs);
  free(set->removed);
  free(set->data);
  free(set);
}

static idx_logset_t *set_new(void) {
  idx_logset_t *set = calloc(1, sizeof *set);
  if (!set)
    return NULL;
  set->refs = 1;
  set->data_cap = 256;
  set->data = malloc(set->data_cap); /* never NULL: logs with no data point here */
  if (!set->data) {
    free(set);
    return NULL;
  }
  return set;
}

/* Room for one more log. */
static idx_log_t *set_push(idx_logset_t *set) {
  if (set->n == set->cap) {
    size_t cap = set->cap ? 2 * set->cap : 64;
    idx_log_t *logs = realloc(set->logs, cap * sizeof *logs);
    if (!logs)
      return NULL;
    set->logs = logs;
    bool *removed = realloc(set->removed, cap * sizeof *removed);
    if (!removed)
      return NULL;
    set->removed = removed;
    set->cap = cap;
  }
  idx_log_t *l = &set->logs[set->n];
  memset(l, 0, sizeof *l);
  l->block_time = -1;
  set->removed[set->n] = false;
  return l;
}

/* Room for n more data bytes, at set->data + set->data_len. */
static bool set_data_room(idx_logset_t *set, size_t n) {
  if (set->data_cap - set->data_len >= n)
    return true;
  size_t cap = set->data_cap;
  while (cap - set->data_len < n) {
    if (cap > SIZE_MAX / 2)
      return false;
    cap *= 2;
  }
  uint8_t *d = realloc(set->data, cap);
  if (!d)
    return false;
  set->data = d;
  set->data_cap = cap;
  return true;
}

/* ---- one log ---- */

/* The members idx_ethjson_log reads, one bit each. */
enum {
  F_ADDRESS = 1 << 0,
  F_TOPICS = 1 << 1,
  F_DATA = 1 << 2,
  F_BLOCK_NUMBER = 1 << 3,
  F_BLOCK_HASH = 1 << 4,
  F_TX_HASH = 1 << 5,
  F_TX_INDEX = 1 << 6,
  F_LOG_INDEX = 1 << 7,
  F_REMOVED = 1 << 8,
  F_BLOCK_TIME = 1 << 9,
  F_REQUIRED = F_ADDRESS | F_TOPICS | F_DATA | F_BLOCK_NUMBER | F_BLOCK_HASH | F_TX_HASH |
               F_TX_INDEX | F_LOG_INDEX,
};

static const struct {
  const char *name;
  unsigned bit;
} log_keys[] = {
    {"address", F_ADDRESS},           {"topics", F_TOPICS},        {"data", F_DATA},
    {"blockNumber", F_BLOCK_NUMBER},  {"blockHash", F_BLOCK_HASH}, {"transactionHash", F_TX_HASH},
    {"transactionIndex", F_TX_INDEX}, {"logIndex", F_LOG_INDEX},   {"removed", F_REMOVED},
    {"blockTimestamp", F_BLOCK_TIME},
};

static unsigned log_key(const char *k, size_t n) {
  for (size_t i = 0; i < IDX_ARRAY_LEN(log_keys); i++) {
    if (strlen(log_keys[i].name) == n && memcmp(log_keys[i].name, k, n) == 0)
      return log_keys[i].bit;
  }
  return 0;
}

/* "0x" + 2n hex digits, exactly (idx_hex_decode_exact's rule). */
static bool hex_exact(scan_t *s, uint8_t *out, size_t n) {
  const char *str;
  size_t len;
  return raw_string(s, &str, &len) && idx_hex_decode_exact(out, n, str, len) == 0;
}

/* A quantity (idx_hex_quantity's rule) at most max. */
static bool quantity(scan_t *s, uint64_t *out, uint64_t max) {
  const char *str;
  size_t len;
  return raw_string(s, &str, &len) && idx_hex_quantity(out, str, len) == 0 && *out <= max;
}

static bool topics(scan_t *s, idx_log_t *l) {
  if (!eat(s, '['))
    return false;
  if (eat(s, ']'))
    return true;
  do {
    skip_ws(s);
    if (l->ntopics == 4 || !hex_exact(s, l->topics[l->ntopics].b, 32))
      return false;
    l->ntopics++;
  } while (eat(s, ','));
  return eat(s, ']');
}

/* "data": idx_ethjson_log's rule (even-length hex, at most max_data
 * bytes), decoded into the set. */
static bool data(scan_t *s, idx_logset_t *set, idx_log_t *l, size_t max_data) {
  const char *str;
  size_t len, got = 0;
  if (!raw_string(s, &str, &len) || len < 2 || (len - 2) / 2 > max_data)
    return false;
  size_t n = (len - 2) / 2;
  if (!set_data_room(set, n) || idx_hex_decode(set->data + set->data_len, n, &got, str, len) != 0)
    return false;
  l->data = NULL; /* pointed in set_finish: the buffer may still move */
  l->data_len = got;
  set->data_len += got;
  return true;
}

static bool member(scan_t *s, unsigned bit, idx_logset_t *set, idx_log_t *l, size_t max_data) {
  uint64_t q = 0;
  bool ok;
  skip_ws(s);
  switch (bit) {
  case F_ADDRESS:
    return hex_exact(s, l->address.b, 20);
  case F_BLOCK_HASH:
    return hex_exact(s, l->block_hash.b, 32);
  case F_TX_HASH:
    return hex_exact(s, l->tx_hash.b, 32);
  case F_BLOCK_NUMBER:
    return quantity(s, &l->block_number, UINT64_MAX);
  case F_TX_INDEX:
    ok = quantity(s, &q, UINT32_MAX);
    l->tx_index = (uint32_t)q;
    return ok;
  case F_LOG_INDEX:
    ok = quantity(s, &q, UINT32_MAX);
    l->log_index = (uint32_t)q;
    return ok;
  case F_BLOCK_TIME:
    if (literal(s, "null"))
      return true;
    ok = quantity(s, &q, (uint64_t)INT64_MAX);
    l->block_time = (int64_t)q;
    return ok;
  case F_REMOVED:
    if (literal(s, "true"))
      set->removed[set->n] = true;
    else if (!literal(s, "false"))
      return false;
    return true;
  case F_TOPICS:
    return topics(s, l);
  case F_DATA:
    return data(s, set, l, max_data);
  default:
    return plain_value(s);
  }
}

static bool one_log(scan_t *s, idx_logset_t *set, size_t max_data) {
  idx_log_t *l = set_push(set);
  if (!l || !eat(s, '{'))
    return false;
  unsigned seen = 0;
  do {
    const char *k;
    size_t klen;
    skip_ws(s);
    if (!plain_string(s, &k, &klen) || !eat(s, ':'))
      return false;
    unsigned bit = log_key(k, klen);
    if (bit & seen)
      return false; /* jansson keeps the last one: not our shape */
    seen |= bit;
    if (!member(s, bit, set, l, max_data))
      return false;
  } while (eat(s, ','));
  if (!eat(s, '}') || (seen & F_REQUIRED) != F_REQUIRED)
    return false;
  set->n++;
  return true;
}

/* Points every log at its data (back to back, in order). */
static void set_finish(idx_logset_t *set) {
  size_t off = 0;
  for (size_t i = 0; i < set->n; i++) {
    set->logs[i].data = set->data + off;
    off += set->logs[i].data_len;
  }
}

/* A JSON array of logs at s->p. */
static idx_logset_t *logs_array(scan_t *s, size_t max_data) {
  if (!eat(s, '['))
    return NULL;
  idx_logset_t *set = set_new();
  if (!set)
    return NULL;
  if (!eat(s, ']')) {
    do {
      if (!one_log(s, set, max_data)) {
        idx_logset_decref(set);
        return NULL;
      }
    } while (eat(s, ','));
    if (!eat(s, ']')) {
      idx_logset_decref(set);
      return NULL;
    }
  }
  set_finish(set);
  return set;
}

idx_logset_t *idx_logscan_logs(const char *str, size_t len, size_t max_data) {
  scan_t s = {str, str + len};
  idx_logset_t *set = logs_array(&s, max_data);
  skip_ws(&s);
  if (set && s.p != s.end) {
    idx_logset_decref(set);
    return NULL;
  }
  return set;
}

/* ---- replies ---- */

/* A plain integer id (no sign, fraction, exponent or leading zero, at
 * most 18 digits: always a jansson integer). */
static bool plain_id(scan_t *s, uint64_t *out) {
  const char *p = s->p;
  size_t n = 0;
  while (p + n < s->end && p[n] >= '0' && p[n] <= '9')
    n++;
  if (n == 0 || n > 18 || (n > 1 && p[0] == '0'))
    return false;
  if (p + n < s->end && (p[n] == '.' || p[n] == 'e' || p[n] == 'E'))
    return false;
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++)
    v = v * 10 + (uint64_t)(p[i] - '0');
  *out = v;
  s->p += n;
  return true;
}

enum { R_JSONRPC = 1, R_ID = 2, R_RESULT = 4, R_ERROR = 8 };

/* A reply of the fast shape at s->p; on false, the element is for the
 * JSON parser (a set made is freed). */
static bool fast_reply(scan_t *s, size_t max_data, idx_logscan_elem_t *e) {
  unsigned seen = 0;
  if (!eat(s, '{'))
    return false;
  do {
    const char *k;
    size_t klen;
    skip_ws(s);
    if (!plain_string(s, &k, &klen) || !eat(s, ':'))
      return false;
    unsigned bit = klen == 7 && memcmp(k, "jsonrpc", 7) == 0  ? R_JSONRPC
                   : klen == 2 && memcmp(k, "id", 2) == 0     ? R_ID
                   : klen == 6 && memcmp(k, "result", 6) == 0 ? R_RESULT
                   : klen == 5 && memcmp(k, "error", 5) == 0  ? R_ERROR
                                                              : 0;
    if (bit & seen)
      return false;
    seen |= bit;
    skip_ws(s);
    bool ok;
    switch (bit) {
    case R_ID:
      ok = plain_id(s, &e->id);
      break;
    case R_RESULT:
      e->logs = logs_array(s, max_data);
      ok = e->logs != NULL;
      break;
    case R_ERROR:
      ok = literal(s, "null");
      break;
    default: /* "jsonrpc" and others: the reply's reader ignores them */
      ok = plain_value(s);
      break;
    }
    if (!ok)
      return false;
  } while (eat(s, ','));
  return eat(s, '}') && (seen & (R_ID | R_RESULT)) == (R_ID | R_RESULT);
}

/* Delimits the bracketed value at s->p (an object or array), without
 * judging it: strings are skipped by their escapes, brackets counted. */
static bool delimit(scan_t *s) {
  unsigned depth = 0;
  do {
    if (s->p >= s->end)
      return false;
    char c = *s->p++;
    if (c == '"') {
      for (;;) {
        if (s->p >= s->end)
          return false;
        char d = *s->p++;
        if (d == '"')
          break;
        if (d == '\\') {
          if (s->p >= s->end)
            return false;
          s->p++;
        }
      }
    } else if (c == '{' || c == '[') {
      if (++depth > SCAN_MAX_DEPTH)
        return false;
    } else if (c == '}' || c == ']') {
      if (depth == 0)
        return false;
      depth--;
    }
  } while (depth > 0);
  return true;
}

/* One element: fast, or delimited for the JSON parser. */
static bool element(scan_t *s, const char *body, size_t max_data, idx_logscan_elem_t *e) {
  skip_ws(s);
  memset(e, 0, sizeof *e);
  const char *start = s->p;
  if (start >= s->end || *start != '{')
    return false; /* not a reply object: the JSON parser says so */
  e->off = (size_t)(start - body);
  if (fast_reply(s, max_data, e)) {
    e->fast = true;
  } else {
    idx_logset_decref(e->logs);
    e->logs = NULL;
    s->p = start;
    if (!delimit(s))
      return false;
  }
  e->len = (size_t)(s->p - start);
  return true;
}

static void release(idx_logscan_elem_t *elems, size_t n) {
  for (size_t i = 0; i < n; i++) {
    idx_logset_decref(elems[i].logs);
    elems[i].logs = NULL;
    elems[i].fast = false;
  }
}

idx_logscan_t idx_logscan_answer(const char *body, size_t len, size_t max_data,
                                 idx_logscan_elem_t *elems, size_t max, size_t *nelems) {
  scan_t s = {body, body + len};
  size_t n = 0;
  idx_logscan_t kind = IDX_LOGSCAN_DECLINE;
  *nelems = 0;
  skip_ws(&s);
  if (s.p < s.end && *s.p == '{' && max >= 1) {
    if (!element(&s, body, max_data, &elems[0]))
      return IDX_LOGSCAN_DECLINE;
    n = 1;
    kind = IDX_LOGSCAN_OBJECT;
  } else if (eat(&s, '[')) {
    kind = IDX_LOGSCAN_ARRAY;
    if (!eat(&s, ']')) {
      do {
        if (n == max || !element(&s, body, max_data, &elems[n])) {
          release(elems, n);
          return IDX_LOGSCAN_DECLINE;
        }
        n++;
      } while (eat(&s, ','));
      if (!eat(&s, ']'))
        kind = IDX_LOGSCAN_DECLINE;
    }
  }
  skip_ws(&s);
  if (kind == IDX_LOGSCAN_DECLINE || s.p != s.end) {
    release(elems, n);
    return IDX_LOGSCAN_DECLINE;
  }
  *nelems = n;
  return kind;
}
