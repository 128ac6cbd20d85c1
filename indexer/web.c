/* web.c: the embedded page's look-up and headers (see web.h). */
#include "common.h"

#include "web.h"

#include <string.h>

const char idx_web_headers[] =
    "Content-Security-Policy: default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self'; connect-src 'self'; font-src 'none'; object-src 'none'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "Referrer-Policy: no-referrer\r\n"
    "X-Frame-Options: DENY\r\n"
    "Cross-Origin-Opener-Policy: same-origin\r\n"
    "Cross-Origin-Resource-Policy: same-origin\r\n"
    "Permissions-Policy: camera=(), microphone=(), geolocation=()\r\n";

const idx_web_file_t *idx_web_find(const char *path, size_t len) {
  if (len == 1 && path[0] == '/') {
    path = "/index.html";
    len = strlen(path);
  }
  for (size_t i = 0; i < idx_web_nfiles; i++) {
    const idx_web_file_t *f = &idx_web_files[i];
    if (strlen(f->path) == len && memcmp(f->path, path, len) == 0)
      return f;
  }
  return NULL;
}

bool idx_web_explorer_url_ok(const char *url) {
  size_t skip;
  if (strncmp(url, "https://", 8) == 0)
    skip = 8;
  else if (strncmp(url, "http://", 7) == 0)
    skip = 7;
  else
    return false;
  size_t n = strlen(url + skip);
  if (n == 0 || n > 200)
    return false;
  for (const char *p = url + skip; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (c <= ' ' || c >= 0x7f || strchr("\"'\\<>`", c))
      return false;
  }
  return true;
}

int idx_web_config_json(idx_buf_t *b, const char *explorer_url) {
  int rc = idx_buf_adds(b, "{\"explorer_url\":");
  if (rc == 0)
    rc = explorer_url ? idx_buf_add_json_str(b, explorer_url, strlen(explorer_url))
                      : idx_buf_adds(b, "null");
  if (rc == 0)
    rc = idx_buf_adds(b, "}");
  return rc;
}
