/* loopback.c: the fuzz targets' loopback client and API (see loopback.h). */
#include "common.h"

#include "loopback.h"

#include "api.h"
#include "log.h"
#include "metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

size_t fuzz_exchange(uv_loop_t *loop, int port, const void *bytes, size_t len, uint64_t deadline_ms,
                     idx_buf_t *answer) {
  const uint8_t *in = bytes;
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
  static int show = -1; /* FUZZ_SHOW_ANSWERS=1: the answers go to stderr */
  if (show < 0)
    show = getenv("FUZZ_SHOW_ANSWERS") != NULL;
  size_t sent = 0, got = 0;
  bool shut = false, closed = false;
  uint64_t deadline = uv_hrtime() + deadline_ms * 1000000u;
  char sink[4096];
  while (!closed && uv_hrtime() < deadline) {
    uv_run(loop, UV_RUN_NOWAIT);
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
    if (r > 0) {
      got += (size_t)r;
      if (show)
        fwrite(sink, 1, (size_t)r, stderr);
      if (answer && idx_buf_add(answer, sink, (size_t)r) != 0)
        answer = NULL; /* over its cap: the rest is dropped */
    } else if (r == 0 || (r < 0 && errno != EAGAIN && errno != ENOTCONN))
      closed = true;
  }
  close(fd);
  /* Let the server notice the close and free the connection. */
  for (int i = 0; i < 20; i++)
    uv_run(loop, UV_RUN_NOWAIT);
  return got;
}

/* Walks the answers response by response (status line, headers, then
 * Content-Length bytes of body), so that a body echoing the request (an
 * error message quoting it) is never taken for a status line. Stops at the
 * first thing that is not a response start (a HEAD answer has no body). */
void fuzz_no_internal_error(const idx_buf_t *b, const char *what, size_t what_len) {
  static const char status[] = "HTTP/1.1 ";
  static const char clen_name[] = "\r\ncontent-length:";
  if (!b->data)
    return;
  size_t i = 0;
  while (i + sizeof status - 1 + 3 <= b->len &&
         memcmp(b->data + i, status, sizeof status - 1) == 0) {
    if (memcmp(b->data + i + sizeof status - 1, "500", 3) == 0) {
      fprintf(stderr, "fuzz: an internal error (500) for:\n%.*s\nanswer:\n%.*s\n", (int)what_len,
              what, (int)b->len, b->data);
      abort();
    }
    const char *start = (const char *)b->data + i;
    const char *end = memmem(start, b->len - i, "\r\n\r\n", 4);
    if (!end)
      return;
    size_t body = 0;
    for (const char *h = start; h + sizeof clen_name - 1 < end; h++) {
      if (strncasecmp(h, clen_name, sizeof clen_name - 1) == 0) {
        body = (size_t)strtoul(h + sizeof clen_name - 1, NULL, 10);
        break;
      }
    }
    i = (size_t)(end - (const char *)b->data) + 4 + body;
  }
}

static uv_loop_t api_loop;
static idx_api_t *api;
static const char *api_db;

/* Some status for /metrics and /readyz to render. */
static void status(void *ud, idx_api_status_t *out) {
  (void)ud;
  out->has_sync = true;
  out->sync.head = 1000;
  out->sync.target = 990;
  out->sync.has_cursor = true;
  out->sync.cursor = 950;
}

int fuzz_api_once(uv_loop_t **loop) {
  *loop = &api_loop;
  if (api)
    return idx_api_port(api);
  /* Logs off (each input would write some), unless FUZZ_LOG is set. */
  if (!getenv("FUZZ_LOG"))
    idx_log_setup((idx_log_level_t)(IDX_LOG_ERROR + 1), IDX_LOG_TEXT);
  uv_loop_init(&api_loop);
  idx_api_options_t o;
  idx_api_options_default(&o);
  o.chain_id = 137;
  /* Without a database: a Unix socket directory that does not exist;
   * connecting fails at once, so queries are refused at once (503). */
  api_db = getenv("DIMO_FUZZ_DB");
  if (api_db && !*api_db)
    api_db = NULL;
  o.conninfo = api_db ? api_db : "host=/nonexistent/dimo-fuzz port=1 dbname=none connect_timeout=1";
  o.listen = "127.0.0.1:0";
  o.timeout_ms = 200;
  o.db_pool = 1;
  o.cache_entries = 64;
  o.status_cb = status;
  char err[256];
  if (idx_api_start(&api, &api_loop, &o, err, sizeof err) != 0) {
    fprintf(stderr, "fuzz: cannot start the API: %s\n", err);
    abort();
  }
  return idx_api_port(api);
}

bool fuzz_api_has_db(void) { return api_db != NULL; }

void fuzz_api_forget(void) {
  idx_sync_status_t st;
  memset(&st, 0, sizeof st);
  idx_api_on_commit(api, &st, true);
}
