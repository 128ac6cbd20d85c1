/* libFuzzer target for the HTTP API's routing, query parsing and answer
 * cache: the real API (api.c over http.c) on a loopback port. Every
 * request runs path splitting and percent-decoding, route matching, the
 * method check, query parsing and each route's validation; a valid one
 * builds its answer-cache key and looks it up, then queries the database.
 *
 * Input: up to 8 lines, each one request: "METHOD TARGET" or just
 * "TARGET" (GET), optionally followed by a TAB and a body (sent with its
 * Content-Length). They are sent pipelined on one connection.
 *
 * With a database (DIMO_FUZZ_DB: a migrated, empty one; scripts/test.sh
 * makes it) the cache is also checked: each request is sent alone with
 * the cache emptied first (its fresh answer); then all pipelined (they
 * join each other's queries in flight) and all in turn with the cache
 * kept; every JSON answer below 500 must equal the fresh one (status and
 * body). Two requests whose keys collide fail this: the second gets the
 * first's answer. Without a database every query fails at once (503).
 * No request may get a 500. */
#include "common.h"

#include "buf.h"
#include "loopback.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t len);

enum { MAX_LINES = 8, ANSWER_MAX = 1 << 20 };

/* Appends one request built from a line to b. */
static int add_request(idx_buf_t *b, const char *line, size_t n) {
  const char *tab = memchr(line, '\t', n);
  size_t head = tab ? (size_t)(tab - line) : n;
  const char *body = tab ? tab + 1 : "";
  size_t body_len = tab ? n - head - 1 : 0;
  int rc = 0;
  if (!memchr(line, ' ', head))
    rc = idx_buf_adds(b, "GET ");
  if (rc == 0)
    rc = idx_buf_add(b, line, head);
  char hdr[128];
  int hn = snprintf(hdr, sizeof hdr,
                    " HTTP/1.1\r\nHost: fuzz\r\nContent-Type: application/json\r\n"
                    "Content-Length: %zu\r\n\r\n",
                    body_len);
  if (rc == 0)
    rc = idx_buf_add(b, hdr, (size_t)hn);
  if (rc == 0 && body_len)
    rc = idx_buf_add(b, body, body_len);
  return rc;
}

/* One answer: its status and body, and whether the oracle compares it
 * (a JSON answer below 500: not /metrics' text, not a database fault). */
typedef struct answer_s {
  int status;
  bool compare;
  const char *body;
  size_t body_len;
} answer_t;

/* Reads the answer at *p (up to end) and moves *p past it; head: the
 * request was HEAD (no body follows the headers). false: no whole answer. */
static bool next_answer(const char **p, const char *end, bool head, answer_t *a) {
  memset(a, 0, sizeof *a);
  const char *s = *p, *sep = NULL;
  if (end - s < 12 || memcmp(s, "HTTP/1.1 ", 9) != 0)
    return false;
  a->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
  for (const char *q = s; q + 4 <= end && !sep; q++)
    if (memcmp(q, "\r\n\r\n", 4) == 0)
      sep = q;
  if (!sep)
    return false;
  size_t clen = 0;
  bool json = false, has_len = false;
  for (const char *q = s; q < sep; q++) {
    if (*q != '\n')
      continue;
    if ((size_t)(sep - q) > 30 && memcmp(q + 1, "Content-Type: application/json", 30) == 0)
      json = true;
    if ((size_t)(sep - q) > 16 && memcmp(q + 1, "Content-Length: ", 16) == 0) {
      has_len = true;
      for (const char *d = q + 17; d < sep && *d >= '0' && *d <= '9'; d++)
        clen = clen * 10 + (size_t)(*d - '0');
    }
  }
  if (head)
    clen = 0;
  if (!has_len || (size_t)(end - (sep + 4)) < clen)
    return false;
  a->body = sep + 4;
  a->body_len = clen;
  a->compare = json && a->status < 500;
  *p = a->body + clen;
  return true;
}

/* Fails when an answer differs from the request's fresh one. */
static void same_answer(const idx_buf_t *req, size_t n, size_t i, const answer_t *f,
                        const answer_t *s, const char *how) {
  if (!f->compare || !s->compare)
    return;
  if (f->status == s->status && f->body_len == s->body_len &&
      memcmp(f->body, s->body, f->body_len) == 0)
    return;
  fprintf(stderr, "fuzz_api: request %zu answered differently %s:\n", i, how);
  for (size_t k = 0; k < n; k++) {
    const char *cr = memchr(req[k].data, '\r', req[k].len); /* the request line */
    fprintf(stderr, "  request %zu: %.*s\n", k, (int)(cr - req[k].data), req[k].data);
  }
  fprintf(stderr, "  alone: %d %.*s\n  %s: %d %.*s\n", f->status, (int)f->body_len, f->body, how,
          s->status, (int)s->body_len, s->body);
  abort();
}

/* The cache oracle (with a database): answers pipelined from an empty
 * cache, and sent in turn with the cache kept, equal the fresh ones. */
static void cache_oracle(uv_loop_t *loop, int port, const idx_buf_t *all, const idx_buf_t *req,
                         const bool *head, size_t n) {
  idx_buf_t fresh[MAX_LINES], piped, seq;
  answer_t f[MAX_LINES];
  for (size_t i = 0; i < n; i++) {
    idx_buf_init(&fresh[i], ANSWER_MAX);
    fuzz_api_forget();
    (void)fuzz_exchange(loop, port, req[i].data, req[i].len, 1000, &fresh[i]);
    fuzz_no_internal_error(&fresh[i], req[i].data, req[i].len);
    const char *p = fresh[i].data;
    if (!p || !next_answer(&p, p + fresh[i].len, head[i], &f[i]))
      memset(&f[i], 0, sizeof f[i]);
  }
  /* Pipelined: the requests join each other's queries (and the cache).
   * Compared only when every request got exactly one answer. */
  idx_buf_init(&piped, (size_t)ANSWER_MAX * MAX_LINES);
  fuzz_api_forget();
  (void)fuzz_exchange(loop, port, all->data, all->len, 1000, &piped);
  answer_t pa[MAX_LINES];
  const char *p = piped.data, *end = piped.data + piped.len;
  size_t got = 0;
  while (p && got < n && next_answer(&p, end, head[got], &pa[got]))
    got++;
  if (got == n && p == end)
    for (size_t i = 0; i < n; i++)
      same_answer(req, n, i, &f[i], &pa[i], "pipelined after the ones before it");
  /* In turn, the cache kept. */
  fuzz_api_forget();
  idx_buf_init(&seq, ANSWER_MAX);
  for (size_t i = 0; i < n; i++) {
    idx_buf_reset(&seq);
    (void)fuzz_exchange(loop, port, req[i].data, req[i].len, 1000, &seq);
    answer_t sa;
    const char *q = seq.data;
    if (q && next_answer(&q, q + seq.len, head[i], &sa))
      same_answer(req, n, i, &f[i], &sa, "after the ones before it (cached)");
  }
  idx_buf_free(&seq);
  idx_buf_free(&piped);
  for (size_t i = 0; i < n; i++)
    idx_buf_free(&fresh[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t len) {
  uv_loop_t *loop;
  int port = fuzz_api_once(&loop);
  idx_buf_t all, req[MAX_LINES];
  bool head[MAX_LINES];
  idx_buf_init(&all, 1 << 16);
  size_t n = 0;
  const char *p = (const char *)in, *end = p + len;
  int rc = 0;
  while (n < MAX_LINES && p < end && rc == 0) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *stop = nl ? nl : end;
    if (stop > p) {
      head[n] = (size_t)(stop - p) >= 5 && memcmp(p, "HEAD ", 5) == 0;
      idx_buf_init(&req[n], 1 << 16);
      rc = add_request(&req[n], p, (size_t)(stop - p));
      if (rc == 0)
        rc = idx_buf_add(&all, req[n].data, req[n].len);
      n++;
    }
    p = nl ? nl + 1 : end;
  }
  if (rc == 0 && all.len) {
    if (fuzz_api_has_db())
      cache_oracle(loop, port, &all, req, head, n);
    else {
      idx_buf_t answer;
      idx_buf_init(&answer, (size_t)ANSWER_MAX * MAX_LINES);
      (void)fuzz_exchange(loop, port, all.data, all.len, 1000, &answer);
      fuzz_no_internal_error(&answer, all.data, all.len);
      idx_buf_free(&answer);
    }
  }
  for (size_t i = 0; i < n; i++)
    idx_buf_free(&req[i]);
  idx_buf_free(&all);
  return 0;
}
