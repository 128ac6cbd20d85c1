/* libFuzzer target for HTTP request handling: the real server (http.c on
 * libuv, libhttp-parser) on a loopback port, fed each input as the bytes a
 * client sends, then a half-close. The handler answers every request with
 * its method and path, so parsing, limits, pipelining, error answers and
 * the lingering close all run on arbitrary bytes. */
#include "common.h"

#include "http.h"
#include "loopback.h"

#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t len);

static uv_loop_t loop;
static idx_http_server_t *server;
static int port;

static void handler(void *ud, idx_http_req_t *req) {
  (void)ud;
  const idx_http_msg_t *m = idx_http_req_msg(req);
  char body[64];
  int n = snprintf(body, sizeof body, "{\"method\":\"%s\",\"path_len\":%zu}", m->method_name,
                   m->path_len);
  (void)idx_http_respond(req, 200, "application/json", body, (size_t)n, NULL);
}

static void start_once(void) {
  if (server)
    return;
  uv_loop_init(&loop);
  idx_http_options_t o;
  idx_http_options_default(&o);
  o.listen = "127.0.0.1:0";
  o.timeout_ms = 100;
  o.max_header_bytes = 2048;
  o.max_body_bytes = 1024;
  o.max_pipeline = 4;
  o.handler = handler;
  char err[256];
  if (idx_http_start(&server, &loop, &o, err, sizeof err) != 0) {
    fprintf(stderr, "fuzz_http: %s\n", err);
    abort();
  }
  port = idx_http_port(server);
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t len) {
  start_once();
  (void)fuzz_exchange(&loop, port, in, len, 200, NULL);
  return 0;
}
