/*
 * log.h: one printf-checked logger for the whole process.
 *
 * Lines go to stderr, either as text a person reads
 * ("2026-11-25T09:00:00.123Z INFO  sync: indexed 100 blocks") or, with
 * IDX_LOG_JSON, as one JSON object per line for log shippers. The level
 * threshold and format are process-wide and set once at start-up.
 */
#ifndef IDX_LOG_H
#define IDX_LOG_H

#include "common.h"

typedef enum idx_log_level_e {
  IDX_LOG_DEBUG = 0,
  IDX_LOG_INFO = 1,
  IDX_LOG_WARN = 2,
  IDX_LOG_ERROR = 3,
} idx_log_level_t;

typedef enum idx_log_format_e {
  IDX_LOG_TEXT = 0,
  IDX_LOG_JSON = 1,
} idx_log_format_t;

/* Sets the lowest level written and the line format. */
void idx_log_setup(idx_log_level_t min_level, idx_log_format_t format);

/* Parses "debug|info|warn|error" / "text|json". Returns 0 or IDX_ERR_CONFIG. */
IDX_WARN_UNUSED int idx_log_parse_level(const char *s, idx_log_level_t *out) IDX_NONNULL(1, 2);
IDX_WARN_UNUSED int idx_log_parse_format(const char *s, idx_log_format_t *out) IDX_NONNULL(1, 2);

/* True when a line of this level would be written (skip costly formatting). */
bool idx_log_enabled(idx_log_level_t level);

/* Copies in[0..n) to out (NUL-terminated, at most cap - 1 bytes, cut at a
 * whole escape) with control bytes escaped as text lines write them:
 * \n, \r, \t, a backslash doubled, and \xHH for other C0 bytes, DEL and
 * UTF-8-encoded C1 controls. Returns the length written. */
size_t idx_log_escape_text(char *out, size_t cap, const char *in, size_t n) IDX_NONNULL(1, 3);

/* Writes one line; component names the module ("rpc", "store", ...). */
void idx_log_generic(idx_log_level_t level, const char *component, const char *fmt, ...)
    IDX_PRINTF(3, 4) IDX_NONNULL(2, 3);

#define idx_log_debug(comp, ...) idx_log_generic(IDX_LOG_DEBUG, comp, __VA_ARGS__)
#define idx_log_info(comp, ...) idx_log_generic(IDX_LOG_INFO, comp, __VA_ARGS__)
#define idx_log_warn(comp, ...) idx_log_generic(IDX_LOG_WARN, comp, __VA_ARGS__)
#define idx_log_error(comp, ...) idx_log_generic(IDX_LOG_ERROR, comp, __VA_ARGS__)

#endif
