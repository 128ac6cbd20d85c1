/*
 * web.h: the page for people who audit (indexer/web/), embedded in the
 * binary, and the headers every page answer carries.
 *
 * The files of indexer/web/ are turned into a C table at build time
 * (indexer/web/embed.py, a meson custom_target), so an installed binary
 * serves the page with nothing beside it. The API module (api.c) asks this
 * one for a path and answers with what it returns; the page itself reads
 * the JSON API only.
 */
#ifndef IDX_WEB_H
#define IDX_WEB_H

#include "common.h"

#include "buf.h"

/* One embedded file. data is NUL-terminated (not counted in len). */
typedef struct idx_web_file_s {
  const char *path;         /* "/index.html" */
  const char *content_type; /* "text/html; charset=utf-8" */
  const unsigned char *data;
  size_t len;
} idx_web_file_t;

/* The generated table (web_assets.c). */
extern const idx_web_file_t idx_web_files[];
extern const size_t idx_web_nfiles;

/* The path the page's settings are served at (idx_web_config_json). */
#define IDX_WEB_CONFIG_PATH "/ui-config.json"

/* The embedded file served at the path (len bytes, not NUL-terminated;
 * "/" is "/index.html"); NULL when none. */
const idx_web_file_t *idx_web_find(const char *path, size_t len);

/* Extra headers of every page answer ("Name: value\r\n" lines): a strict
 * Content-Security-Policy (nothing but this origin: no inline script or
 * style, no frames, no form posts elsewhere), nosniff, no referrer. */
extern const char idx_web_headers[];

/* True when url may be the explorer's base URL: http:// or https://, then
 * 1..200 printable ASCII characters without space, quote, backslash, '<',
 * '>' or '`'. The page appends "tx/0x..." to it. */
IDX_WARN_UNUSED bool idx_web_explorer_url_ok(const char *url) IDX_NONNULL(1);

/* Appends the page's settings to b: {"explorer_url": "..." | null}.
 * Returns 0 or the buffer's error. */
IDX_WARN_UNUSED int idx_web_config_json(idx_buf_t *b, const char *explorer_url) IDX_NONNULL(1);

#endif
