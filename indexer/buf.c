/* buf.c: capped growable buffers (see buf.h). */
#include "common.h"

#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void idx_buf_init(idx_buf_t *buf, size_t max) {
  buf->data = NULL;
  buf->len = 0;
  buf->cap = 0;
  buf->max = max;
}

void idx_buf_free(idx_buf_t *buf) {
  free(buf->data);
  buf->data = NULL;
  buf->len = 0;
  buf->cap = 0;
}

void idx_buf_reset(idx_buf_t *buf) {
  buf->len = 0;
  if (buf->data)
    buf->data[0] = '\0';
}

int idx_buf_reserve(idx_buf_t *buf, size_t n) {
  if (n > buf->max || buf->len > buf->max - n)
    return IDX_ERR_TOO_LARGE;
  size_t need = buf->len + n + 1;
  if (need <= buf->cap)
    return 0;
  size_t cap = buf->cap ? buf->cap : 256;
  while (cap < need)
    cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  char *p = realloc(buf->data, cap);
  if (!p)
    return IDX_ERR_NOMEM;
  buf->data = p;
  buf->cap = cap;
  return 0;
}

int idx_buf_add(idx_buf_t *buf, const void *data, size_t n) {
  int rc = idx_buf_reserve(buf, n);
  if (rc)
    return rc;
  if (n)
    memcpy(buf->data + buf->len, data, n);
  buf->len += n;
  buf->data[buf->len] = '\0';
  return 0;
}

int idx_buf_adds(idx_buf_t *buf, const char *s) { return idx_buf_add(buf, s, strlen(s)); }

int idx_buf_vaddf(idx_buf_t *buf, const char *fmt, va_list ap) {
  va_list copy;
  va_copy(copy, ap);
  char small[256];
  int n = vsnprintf(small, sizeof small, fmt, copy);
  va_end(copy);
  if (n < 0)
    return IDX_ERR_INVAL;
  if ((size_t)n < sizeof small)
    return idx_buf_add(buf, small, (size_t)n);
  int rc = idx_buf_reserve(buf, (size_t)n);
  if (rc)
    return rc;
  vsnprintf(buf->data + buf->len, (size_t)n + 1, fmt, ap);
  buf->len += (size_t)n;
  return 0;
}

int idx_buf_addf(idx_buf_t *buf, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = idx_buf_vaddf(buf, fmt, ap);
  va_end(ap);
  return rc;
}

int idx_buf_add_json_str(idx_buf_t *buf, const char *s, size_t n) {
  static const char hexd[] = "0123456789abcdef";
  int rc = idx_buf_add(buf, "\"", 1);
  size_t run = 0; /* start of the pending run of bytes that need no escape */
  for (size_t i = 0; rc == 0 && i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c != '"' && c != '\\')
      continue;
    rc = idx_buf_add(buf, s + run, i - run);
    run = i + 1;
    if (rc)
      break;
    char esc[7] = {'\\', 'u', '0', '0', hexd[c >> 4], hexd[c & 15], 0};
    if (c == '"' || c == '\\') {
      esc[1] = (char)c;
      rc = idx_buf_add(buf, esc, 2);
    } else {
      rc = idx_buf_add(buf, esc, 6);
    }
  }
  if (rc == 0)
    rc = idx_buf_add(buf, s + run, n - run);
  if (rc == 0)
    rc = idx_buf_add(buf, "\"", 1);
  return rc;
}

/* Whether none of 8 bytes is NUL or has its high bit set (plain ASCII
 * text): the classic "has zero byte" test on the word, or-ed with the
 * high bits. */
static bool ascii8(const uint8_t *s) {
  uint64_t w;
  memcpy(&w, s, 8);
  const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
  return (((w - ones) & ~w) | w) & highs ? false : true;
}

bool idx_utf8_valid(const uint8_t *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    /* Most text (JSON keys, names, hex) is ASCII: 8 bytes a step. */
    if (n - i >= 8 && ascii8(s + i)) {
      i += 8;
      continue;
    }
    uint8_t c = s[i];
    if (c == 0)
      return false;
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t extra;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      extra = 1;
      cp = c & 0x1Fu;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      cp = c & 0x0Fu;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      cp = c & 0x07u;
    } else {
      return false;
    }
    if (n - i <= extra)
      return false;
    for (size_t k = 1; k <= extra; k++) {
      if ((s[i + k] & 0xC0) != 0x80)
        return false;
      cp = (cp << 6) | (s[i + k] & 0x3Fu);
    }
    /* Reject overlong forms, surrogates and code points past U+10FFFF. */
    static const uint32_t min_cp[4] = {0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[extra] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
      return false;
    i += extra + 1;
  }
  return true;
}
