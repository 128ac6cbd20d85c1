/* libFuzzer target for HTTP request handling: the real server (http.c on
 * libuv, libhttp-parser) on a loopback port, fed each input as the bytes a
 * client sends, then a half-close. The handler answers every request with
 * its method and path, so parsing, limits, pipelining, error answers and
 * the lingering close all run on arbitrary bytes.
 *
 * The fuzzing client is a non-blocking socket in the same thread; the loop
 * runs until the server has closed the connection (or 200 ms pass). */
#include "common.h"

#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return 0;
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  fcntl(fd, F_SETFL, O_NONBLOCK);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0 && errno != EINPROGRESS) {
    close(fd);
    return 0;
  }
  size_t sent = 0;
  bool shut = false, closed = false;
  uint64_t deadline = uv_hrtime() + 200000000ull;
  char sink[4096];
  while (!closed && uv_hrtime() < deadline) {
    uv_run(&loop, UV_RUN_NOWAIT);
    if (sent < len) {
      ssize_t w = send(fd, in + sent, len - sent, MSG_NOSIGNAL);
      if (w > 0)
        sent += (size_t)w;
      else if (w < 0 && errno != EAGAIN && errno != ENOTCONN)
        sent = len; /* the server closed on us: fine */
    } else if (!shut) {
      shutdown(fd, SHUT_WR);
      shut = true;
    }
    ssize_t r = recv(fd, sink, sizeof sink, 0);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != ENOTCONN))
      closed = true;
  }
  close(fd);
  /* Let the server notice the close and free the connection. */
  for (int i = 0; i < 20; i++)
    uv_run(&loop, UV_RUN_NOWAIT);
  return 0;
}
