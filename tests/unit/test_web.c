/* Unit tests for web.c: the embedded page's table, look-up, headers and
 * the explorer URL check. */
#include "common.h"

#include "check.h"
#include "web.h"

static void test_find(void) {
  const idx_web_file_t *f = idx_web_find("/", 1);
  CHECK(f != NULL);
  if (f) {
    CHECK_STR(f->path, "/index.html");
    CHECK_STR(f->content_type, "text/html; charset=utf-8");
    CHECK(f->len > 100 && f->data[f->len] == '\0');
    CHECK(strstr((const char *)f->data, "<script src=\"app.js\" defer></script>") != NULL);
    /* No inline script or style: the CSP would refuse them. */
    CHECK(strstr((const char *)f->data, "<script>") == NULL);
    CHECK(strstr((const char *)f->data, " style=") == NULL);
  }
  f = idx_web_find("/app.js", 7);
  CHECK(f && strcmp(f->content_type, "text/javascript; charset=utf-8") == 0);
  f = idx_web_find("/app.css", 8);
  CHECK(f && strcmp(f->content_type, "text/css; charset=utf-8") == 0);
  /* The page never writes chain data as markup. */
  CHECK(f && strstr((const char *)idx_web_find("/app.js", 7)->data, "innerHTML") == NULL);
  CHECK(idx_web_find("/app.js", 6) == NULL); /* "/app.j" */
  CHECK(idx_web_find("/app.jsx", 8) == NULL);
  CHECK(idx_web_find("/index.html/", 12) == NULL);
  CHECK(idx_web_find("", 0) == NULL);
  CHECK(idx_web_find("/../index.html", 14) == NULL);
  for (size_t i = 0; i < idx_web_nfiles; i++)
    CHECK(idx_web_find(idx_web_files[i].path, strlen(idx_web_files[i].path)) == &idx_web_files[i]);
}

static void test_headers(void) {
  CHECK(strstr(idx_web_headers, "Content-Security-Policy: default-src 'self';") != NULL);
  CHECK(strstr(idx_web_headers, "connect-src 'self'") != NULL);
  CHECK(strstr(idx_web_headers, "frame-ancestors 'none'") != NULL);
  CHECK(strstr(idx_web_headers, "base-uri 'none'") != NULL);
  CHECK(strstr(idx_web_headers, "unsafe") == NULL);
  CHECK(strstr(idx_web_headers, "X-Content-Type-Options: nosniff\r\n") != NULL);
  CHECK(strstr(idx_web_headers, "Referrer-Policy: no-referrer\r\n") != NULL);
  size_t n = strlen(idx_web_headers);
  CHECK(n > 2 && idx_web_headers[n - 2] == '\r' && idx_web_headers[n - 1] == '\n');
}

static void test_explorer(void) {
  CHECK(idx_web_explorer_url_ok("https://polygonscan.com"));
  CHECK(idx_web_explorer_url_ok("http://127.0.0.1:4000/explorer/"));
  CHECK(!idx_web_explorer_url_ok("https://"));
  CHECK(!idx_web_explorer_url_ok("javascript:alert(1)"));
  CHECK(!idx_web_explorer_url_ok("ftp://x.example"));
  CHECK(!idx_web_explorer_url_ok("https://x.example/\"><script>"));
  CHECK(!idx_web_explorer_url_ok("https://x.example/a b"));
  CHECK(!idx_web_explorer_url_ok("https://x.example/\xc3\xa9"));
  char longer[260];
  memset(longer, 'a', sizeof longer - 1);
  longer[sizeof longer - 1] = '\0';
  memcpy(longer, "https://", 8);
  CHECK(!idx_web_explorer_url_ok(longer));

  idx_buf_t b;
  idx_buf_init(&b, 1024);
  CHECK_INT(idx_web_config_json(&b, "https://polygonscan.com"), 0);
  CHECK_STR(b.data, "{\"explorer_url\":\"https://polygonscan.com\"}");
  idx_buf_reset(&b);
  CHECK_INT(idx_web_config_json(&b, NULL), 0);
  CHECK_STR(b.data, "{\"explorer_url\":null}");
  idx_buf_free(&b);
}

int main(void) {
  test_find();
  test_headers();
  test_explorer();
  CHECK_DONE();
}
