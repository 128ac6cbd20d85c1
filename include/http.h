/*
 * http.h: a small HTTP/1.1 server on the libuv loop.
 *
 * Requests are parsed by libhttp-parser (the request line, headers,
 * chunked bodies: nothing is parsed by hand here); the server knows no
 * routes. Each complete request goes to one handler callback, which
 * answers it now or later (after a database query) with idx_http_respond.
 *
 * Keep-alive and pipelining: a connection carries any number of requests;
 * a client may send the next ones before the first is answered. Answers
 * are written in the order the requests came, whatever order the handler
 * answers them in. At most max_pipeline requests per connection wait for
 * their answer; past that the server stops reading from that connection
 * until answers go out (and likewise while the waiting requests and their
 * answers hold more than max_output bytes, or more than max_output bytes
 * wait to be sent to a slow reader): a connection's memory stays bounded.
 * While more than max_output bytes of a connection's answers wait for the
 * client to read them, its next request is not handed to the handler, nor
 * while 8 of its requests are with the handler.
 *
 * Memory across clients: every request's target, body and answer count
 * towards max_total_output until freed; a body from its headers' end, by
 * its declared length, before its bytes come (a chunked one as it comes).
 * An answer that would take the total above it is not built: the
 * connection holding the most is closed (its memory is freed in the same
 * loop turn) and the request is answered 503 instead (or dropped, when
 * its connection was the one closed). A body that would take it above is
 * not admitted: the connection holding the most is closed likewise
 * (unless it is the body's own), and if the body still does not fit, its
 * request is answered 503 and its connection closed. A small answer
 * (16 KiB) on a connection with nothing waiting always fits, so a health
 * check is not refused for what slow readers hold; so does a request of
 * up to 16 KiB on a connection with nothing waiting. A
 * connection that neither reads nor has a request with the handler is
 * closed after timeout_ms. Answers above 16 KiB are handed to the sockets
 * at most 2 MiB per loop turn (all connections together); the rest waits
 * for the next turn, so one turn stays short however many clients ask.
 *
 * Limits, each with its own answer and then a close:
 *   - request line + headers above max_header_bytes, counted as sent
 *     (every byte up to the blank line: separators and line ends too;
 *     the parser's own count, whose limit is process-wide): 431;
 *   - a body above max_body_bytes (declared or chunked): 413;
 *   - a malformed request: 400 (the parser's reason in the JSON); a
 *     request line without a version (HTTP/0.9) too;
 *   - an HTTP major version other than 1: 505;
 *   - a request not received whole within timeout_ms of its first byte:
 *     408; a connection idle (nothing asked, nothing to answer) for
 *     timeout_ms is closed silently;
 *   - more than max_conns connections: the new one is accepted, answered
 *     503 and closed (beyond a further allowance it is closed at once).
 * Error answers are JSON: {"error":"reason"}. After an error answer the
 * server half-closes the socket and discards what the client still sends
 * for a short while before closing ("lingering close"), so the client
 * reads the answer instead of a reset.
 *
 * Everything runs on the loop's thread; nothing here blocks.
 */
#ifndef IDX_HTTP_H
#define IDX_HTTP_H

#include "common.h"

#include <uv.h>

typedef struct idx_http_server_s idx_http_server_t;

/* One request, owned by the server. The handler must answer every request
 * exactly once (idx_http_respond); until then the request stays valid,
 * even after its connection has gone (the answer is then dropped). */
typedef struct idx_http_req_s idx_http_req_t;

typedef enum idx_http_method_e {
  IDX_HTTP_GET,
  IDX_HTTP_HEAD,
  IDX_HTTP_POST,
  IDX_HTTP_OTHER,
} idx_http_method_t;

/* What the handler sees of a request; every pointer is borrowed from the
 * request and valid until it is answered. Strings are NUL-terminated. */
typedef struct idx_http_msg_s {
  idx_http_method_t method;
  const char *method_name; /* "GET", "DELETE", ... */
  const char *path;        /* raw, still percent-encoded; starts with '/' */
  size_t path_len;
  const char *query; /* raw text after '?', "" when absent */
  size_t query_len;
  const char *body; /* "" when none */
  size_t body_len;
  uint64_t received_ns; /* uv_hrtime() when the request was complete */
} idx_http_msg_t;

typedef void (*idx_http_handler_cb)(void *ud, idx_http_req_t *req);

typedef struct idx_http_options_s {
  const char *listen;      /* "IP:PORT", IPv4 or "[IPv6]:PORT"; port 0 = any free port */
  size_t max_conns;        /* default 1024 */
  uint64_t timeout_ms;     /* default 10000 */
  size_t max_header_bytes; /* default 16 KiB */
  size_t max_body_bytes;   /* default 64 KiB */
  size_t max_pipeline;     /* default 32 */
  size_t max_output;       /* per connection; default 1 MiB */
  size_t max_total_output; /* all connections together; default 64 MiB */
  idx_http_handler_cb handler;
  void *ud;
} idx_http_options_t;

/* Fills o with the defaults above (listen and handler left empty). */
void idx_http_options_default(idx_http_options_t *o) IDX_NONNULL(1);

/* Binds, listens and starts serving on loop. Returns 0; IDX_ERR_CONFIG (a
 * listen address that is not IP:PORT; err says why); IDX_ERR_IO (cannot
 * bind or listen, e.g. the port is taken: err has the system's reason);
 * IDX_ERR_INVAL (no handler, a zero limit); IDX_ERR_NOMEM. On failure
 * *out is NULL and nothing is left open. */
IDX_WARN_UNUSED int idx_http_start(idx_http_server_t **out, uv_loop_t *loop,
                                   const idx_http_options_t *opts, char *err, size_t errlen)
    IDX_NONNULL(1, 2, 3);

/* The port actually bound (useful with port 0). */
int idx_http_port(const idx_http_server_t *srv) IDX_NONNULL(1);

/* Stops listening and closes every connection; requests still with the
 * handler stay valid until answered. The server frees itself once its
 * handles are closed and every request is answered; closed_cb (may be
 * NULL) runs then, from the loop. */
void idx_http_close(idx_http_server_t *srv, void (*closed_cb)(void *ud), void *ud);

/* The request as parsed. */
const idx_http_msg_t *idx_http_req_msg(const idx_http_req_t *req) IDX_NONNULL(1);

/* Answers a request: status, Content-Type, body (copied). extra_headers
 * (may be NULL) are complete "Name: value\r\n" lines. A HEAD request gets
 * the headers only. After this call req is gone. Returns 0, or
 * IDX_ERR_NOMEM (the connection is then closed; req is gone as well). */
int idx_http_respond(idx_http_req_t *req, int status, const char *content_type, const char *body,
                     size_t body_len, const char *extra_headers) IDX_NONNULL(1, 3);

/* An immutable answer body shared by several answers (and the caller, e.g.
 * a cache): each answer references it instead of copying it, so a page
 * sent to many clients is in memory once. _new copies data (NULL when out
 * of memory or above 64 MiB) and returns it with one reference, the
 * caller's; _ref adds one; _release drops one (NULL is ignored) and frees
 * the body with the last. */
typedef struct idx_http_body_s idx_http_body_t;
idx_http_body_t *idx_http_body_new(const char *data, size_t len);
idx_http_body_t *idx_http_body_ref(idx_http_body_t *b) IDX_NONNULL(1);
void idx_http_body_release(idx_http_body_t *b);
/* The bytes (NUL-terminated) and their length. */
const char *idx_http_body_data(const idx_http_body_t *b) IDX_NONNULL(1);
size_t idx_http_body_len(const idx_http_body_t *b) IDX_NONNULL(1);

/* As idx_http_respond, with a shared body: the answer holds a reference
 * until it is written (the caller keeps its own). */
int idx_http_respond_shared(idx_http_req_t *req, int status, const char *content_type,
                            idx_http_body_t *body, const char *extra_headers) IDX_NONNULL(1, 3, 4);

/* The reason phrase of a status code ("Not Found"), "" when unknown. */
const char *idx_http_reason(int status);

typedef struct idx_http_stats_s {
  uint64_t connections_open;
  uint64_t connections_total;    /* accepted, rejected ones included */
  uint64_t connections_rejected; /* over max_conns */
  uint64_t requests;             /* complete requests handed to the handler */
  uint64_t timeouts;             /* requests not received in time (408) */
  uint64_t idle_closed;          /* idle connections closed */
  uint64_t bad_requests;         /* malformed (400) */
  uint64_t too_large;            /* headers (431) or body (413) over the limit */
  uint64_t accept_errors;        /* accept() failures (e.g. out of descriptors) */
  uint64_t output_bytes;         /* held now: targets, bodies, answers (gauge) */
  uint64_t output_refused;       /* answers or bodies refused: max_total_output reached (503) */
  uint64_t output_closed;        /* connections closed holding the most output */
} idx_http_stats_t;

void idx_http_stats(const idx_http_server_t *srv, idx_http_stats_t *out) IDX_NONNULL(1, 2);

#endif
