/*
 * buf.h: a growable byte buffer with a maximum size fixed at init.
 *
 * Every buffer fed from outside (RPC bodies, HTTP requests, SQL batches)
 * is one of these, so a hostile or broken peer can never make the process
 * grow without bound: an append past the maximum fails with
 * IDX_ERR_TOO_LARGE and leaves the buffer as it was. The data is always
 * NUL-terminated (the terminator is not counted in len).
 */
#ifndef IDX_BUF_H
#define IDX_BUF_H

#include "common.h"

#include <stdarg.h>

typedef struct idx_buf_s {
  char *data; /* owned; NULL until the first append */
  size_t len; /* bytes in use, terminator excluded */
  size_t cap; /* bytes allocated */
  size_t max; /* largest len allowed */
} idx_buf_t;

/* Prepares an empty buffer that may hold at most max bytes. */
void idx_buf_init(idx_buf_t *buf, size_t max) IDX_NONNULL(1);

/* Releases the memory; the buffer is empty (and reusable) afterwards. */
void idx_buf_free(idx_buf_t *buf) IDX_NONNULL(1);

/* Empties the buffer but keeps its memory for reuse. */
void idx_buf_reset(idx_buf_t *buf) IDX_NONNULL(1);

/* Appends n bytes. Returns 0, IDX_ERR_TOO_LARGE or IDX_ERR_NOMEM. */
IDX_WARN_UNUSED int idx_buf_add(idx_buf_t *buf, const void *data, size_t n) IDX_NONNULL(1);

/* Appends a NUL-terminated string. */
IDX_WARN_UNUSED int idx_buf_adds(idx_buf_t *buf, const char *s) IDX_NONNULL(1, 2);

/* Appends printf-formatted text. */
IDX_WARN_UNUSED int idx_buf_addf(idx_buf_t *buf, const char *fmt, ...) IDX_NONNULL(1, 2)
    IDX_PRINTF(2, 3);
IDX_WARN_UNUSED int idx_buf_vaddf(idx_buf_t *buf, const char *fmt, va_list ap) IDX_NONNULL(1, 2)
    IDX_PRINTF(2, 0);

/* Makes room for n more bytes without adding them (for in-place writers). */
IDX_WARN_UNUSED int idx_buf_reserve(idx_buf_t *buf, size_t n) IDX_NONNULL(1);

/* Appends s as a JSON string literal (quotes included, escapes applied).
 * s must be valid UTF-8 without NUL; see idx_utf8_valid(). */
IDX_WARN_UNUSED int idx_buf_add_json_str(idx_buf_t *buf, const char *s, size_t n) IDX_NONNULL(1);

/* True when the n bytes are well-formed UTF-8 containing no NUL byte. */
bool idx_utf8_valid(const uint8_t *s, size_t n);

#endif
