/*
 * rpc.h: an asynchronous JSON-RPC client on the libuv loop (libcurl's
 * multi interface, driven by uv_poll and uv_timer: no call ever blocks).
 *
 * The only module that links libcurl. A call is a *batch*: n requests sent
 * as one JSON array in one HTTP POST, answered through one callback.
 *
 * Transport faults are handled here and never reach the caller unless
 * retries run out: timeouts, connection failures, HTTP 5xx, HTTP 429
 * (waiting for Retry-After when given), truncated or malformed bodies,
 * replies with missing or wrong ids. Each is retried with exponential
 * backoff and full jitter, failing over between the configured URLs by
 * health (consecutive failures, cool-down). Answers larger than
 * max_response are never buffered past the cap: the batch fails with
 * IDX_ERR_TOO_LARGE and is not retried (the caller asks for less).
 *
 * JSON-RPC *error objects* in a well-formed reply are not transport
 * faults: they are handed to the caller per request (a provider's
 * "query returned more than 10000 results" is an answer to act on).
 *
 * Retries and health: attempt k of a batch waits a random time in
 * [0, min(backoff_max_ms, backoff_base_ms * 2^(k-1))] ("full jitter").
 * Each URL counts its consecutive failures f; after a failure it cools
 * down for min(cooldown_max_ms, cooldown_base_ms * 2^(f-1)) and a success
 * resets it. An exchange goes to a URL that is not cooling down (round
 * robin among those with no failures); a URL whose cool-down has ended
 * gets one exchange as a probe before others; when every URL is cooling
 * down, the one that recovers first is used anyway (the batch's own
 * backoff paces it). A URL that answered 429 or 503 with Retry-After
 * (seconds or HTTP-date, capped at 120 s) gets nothing before that time;
 * when every URL is so blocked, batches wait. Each fault is logged once
 * at warn level (the URL shown without userinfo, path or query), the
 * give-up at error level.
 *
 * The chain (options.chain_id): every URL's eth_chainId is asked before
 * its answers are used, and again after a transport fault on it (the node
 * that comes back may be another): an exchange to a URL not yet checked
 * carries eth_chainId in front of the batch's requests, and its answers
 * are used only when the chain is the expected one. A URL that serves
 * another chain is taken out of rotation for the client's life (an error
 * logged once, counted in wrong_chain) and its answer is never handed to
 * a caller: the batch goes to another URL; with every URL out, batches
 * fail with IDX_ERR_RPC_TRANSPORT. idx_rpc_check_chain asks every URL at
 * start, where a wrong one is a configuration error.
 *
 * Request ids are unique per client and increase monotonically; replies
 * are matched by id, in any order.
 *
 * Everything runs on the loop's thread: no function here is thread-safe,
 * and none blocks (DNS is libcurl's asynchronous resolver).
 */
#ifndef IDX_RPC_H
#define IDX_RPC_H

#include "common.h"

#include "logscan.h"

#include <jansson.h>
#include <uv.h>

typedef struct idx_rpc_s idx_rpc_t;

typedef struct idx_rpc_options_s {
  const char *const *urls; /* at least one; copied */
  size_t nurls;
  long timeout_ms;         /* per HTTP exchange; default 30000 */
  long connect_timeout_ms; /* default 5000 */
  size_t max_response;     /* bytes; default 256 MiB */
  unsigned max_attempts;   /* per batch before giving up; 0 = retry forever; default 10 */
  long backoff_base_ms;    /* default 200 */
  long backoff_max_ms;     /* default 30000 */
  unsigned max_in_flight;  /* concurrent HTTP exchanges; default 4 */
  long cooldown_base_ms;   /* a URL's cool-down after one failure; default 1000 */
  long cooldown_max_ms;    /* longest cool-down; default 60000 */
  uint64_t chain_id;       /* the chain every URL must serve; 0: not checked (default) */
} idx_rpc_options_t;

/* Fills o with the defaults above (urls left empty). */
void idx_rpc_options_default(idx_rpc_options_t *o) IDX_NONNULL(1);

/* Whether url is one the client can use: http:// or https:// with a host
 * (as idx_rpc_new requires). Returns 0; IDX_ERR_CONFIG with err saying
 * why, the URL shown without userinfo, path or query (they can hold API
 * keys); IDX_ERR_NOMEM. */
IDX_WARN_UNUSED int idx_rpc_url_check(const char *url, char *err, size_t errlen) IDX_NONNULL(1);

/* One answer of a batch. On success result is set (borrowed: valid until
 * the callback returns; json_incref to keep it) and err is 0; a JSON
 * null result is json_null(), never a NULL pointer. On a JSON-RPC error
 * object, result is NULL, err is IDX_ERR_RPC, code/message/data are the
 * node's (message is "" when absent, code 0 when not a number; data may
 * be NULL). A single error object answering the whole batch (a provider
 * refusing it) is given to every request.
 *
 * In a batch sent with idx_rpc_batch_logs, an eth_getLogs answer of the
 * strict shape logscan.h knows comes decoded: logs is set (borrowed like
 * result: idx_logset_incref to keep it), result is NULL and err 0. Any
 * other answer to it (an error, a log jansson reads but logscan does not)
 * comes as above, with logs NULL. */
typedef struct idx_rpc_reply_s {
  json_t *result;
  int err;
  long code;
  const char *message;
  json_t *data;
  idx_logset_t *logs;
} idx_rpc_reply_t;

/* status 0: replies[0..n) answer the requests in order. status < 0: the
 * batch failed (IDX_ERR_TOO_LARGE, IDX_ERR_RPC_TRANSPORT after the last
 * attempt, IDX_ERR_CANCELLED on close); replies is NULL. */
typedef void (*idx_rpc_batch_cb)(void *ud, int status, const idx_rpc_reply_t *replies, size_t n);

/* Creates a client on loop. Returns 0, IDX_ERR_INVAL (no URL, a URL that
 * is not http(s), a non-positive time or size), IDX_ERR_NOMEM. */
IDX_WARN_UNUSED int idx_rpc_new(idx_rpc_t **out, uv_loop_t *loop, const idx_rpc_options_t *opts)
    IDX_NONNULL(1, 2, 3);

/* Cancels pending batches (their callbacks run with IDX_ERR_CANCELLED,
 * before this returns), closes every handle, and frees the client;
 * closed_cb (may be NULL) runs from the loop when the last handle is
 * closed. May be called from a batch callback. Afterwards only
 * idx_rpc_batch (which fails with IDX_ERR_CANCELLED) and idx_rpc_stats
 * may be called, and only until closed_cb runs. */
void idx_rpc_close(idx_rpc_t *rpc, void (*closed_cb)(void *ud), void *ud);

/* Sends n requests (methods[i] with params[i], a JSON array or NULL for
 * []) as one batch. params are borrowed (the client serializes them
 * before returning); params itself may be NULL (all []). The callback
 * runs exactly once, never before this returns; batches beyond
 * max_in_flight wait in FIFO order (retries go first). Returns 0, or an
 * error without calling cb: IDX_ERR_INVAL (n == 0, a method that is not
 * non-empty UTF-8, params that are not arrays), IDX_ERR_TOO_LARGE (more
 * than 64 MiB serialized), IDX_ERR_NOMEM, IDX_ERR_CANCELLED (closed). */
IDX_WARN_UNUSED int idx_rpc_batch(idx_rpc_t *rpc, const char *const *methods, json_t *const *params,
                                  size_t n, idx_rpc_batch_cb cb, void *ud) IDX_NONNULL(1, 2, 5);

/* The same, with the eth_getLogs answers decoded where they can be (see
 * idx_rpc_reply_t): the follower's batches, whose logs are most of the
 * bytes it reads. */
IDX_WARN_UNUSED int idx_rpc_batch_logs(idx_rpc_t *rpc, const char *const *methods,
                                       json_t *const *params, size_t n, idx_rpc_batch_cb cb,
                                       void *ud) IDX_NONNULL(1, 2, 5);

/* status 0: every URL that answered serves options.chain_id, and one did.
 * IDX_ERR_CONFIG: a URL serves another chain (message names it, without
 * credentials). IDX_ERR_RPC_TRANSPORT: no URL answered (a few tries each).
 * IDX_ERR_CANCELLED: the client was closed. */
typedef void (*idx_rpc_chain_cb)(void *ud, int status, const char *message);

/* Asks every URL not already out of rotation for its eth_chainId (a few
 * attempts each); cb runs once all have answered or given up, never before
 * this returns. Returns 0, IDX_ERR_INVAL (no chain_id option, or a check
 * already running), IDX_ERR_CONFIG (every URL is already out: cb is not
 * called), IDX_ERR_NOMEM, IDX_ERR_CANCELLED. */
IDX_WARN_UNUSED int idx_rpc_check_chain(idx_rpc_t *rpc, idx_rpc_chain_cb cb, void *ud)
    IDX_NONNULL(1, 2);

/* Inside a batch callback with status 0: the index of the URL that
 * answered it. */
size_t idx_rpc_answered_by(const idx_rpc_t *rpc) IDX_NONNULL(1);

/* Inside a batch callback with status 0: the size in bytes of the HTTP
 * body that answered it (what a caller holding the answer accounts for). */
size_t idx_rpc_answer_bytes(const idx_rpc_t *rpc) IDX_NONNULL(1);

/* Raises the cap on concurrent HTTP exchanges to n (a smaller n changes
 * nothing): the sync engine keeps up to --max-inflight ranges in flight
 * beside its other requests. Returns 0 or IDX_ERR_NOMEM. */
IDX_WARN_UNUSED int idx_rpc_raise_max_in_flight(idx_rpc_t *rpc, unsigned n) IDX_NONNULL(1);

/* The caller found an answer of URL `url` faulty (it contradicts what the
 * caller knows): counts it as a failure of that URL, which cools down, so
 * that the next exchanges go to other URLs first. */
void idx_rpc_blame(idx_rpc_t *rpc, size_t url, const char *why) IDX_NONNULL(1, 3);

/* Counters for status and /metrics. */
typedef struct idx_rpc_stats_s {
  uint64_t batches;        /* batches completed successfully */
  uint64_t requests;       /* JSON-RPC requests inside them */
  uint64_t http_exchanges; /* HTTP POSTs, retries included */
  uint64_t failures;       /* failed exchanges (any transport fault, too-large answers) */
  uint64_t rate_limited;   /* HTTP 429 answers */
  uint64_t rpc_errors;     /* JSON-RPC error objects handed to callers */
  uint64_t bytes_received; /* response body bytes (after content decoding) */
  uint64_t wrong_chain;    /* URLs found serving another chain (out of rotation) */
  uint64_t blamed;         /* answers the caller found faulty (idx_rpc_blame) */
  /* Latency histogram of successful exchanges: bucket i counts those
   * under latency_bounds_ms[i] and not under latency_bounds_ms[i - 1]
   * (not cumulative); the last bucket is +Inf. */
  uint64_t latency_buckets[12];
} idx_rpc_stats_t;

extern const double idx_rpc_latency_bounds_ms[11];

void idx_rpc_stats(const idx_rpc_t *rpc, idx_rpc_stats_t *out) IDX_NONNULL(1, 2);

/* Health of one configured URL, for status pages and tests. */
typedef struct idx_rpc_url_stats_s {
  const char *url;         /* safe to show: no userinfo, path or query; borrowed */
  uint64_t exchanges;      /* HTTP exchanges started with this URL */
  uint64_t failures;       /* of which failed */
  unsigned consecutive;    /* failures since the last success */
  uint64_t cooldown_ms;    /* cool-down left now (0: healthy or recovered) */
  uint64_t retry_after_ms; /* Retry-After wait left now */
  uint64_t served_chain;   /* chain id it answered last (0: not asked yet) */
  bool wrong_chain;        /* serves another chain: never used */
} idx_rpc_url_stats_t;

/* The number of configured URLs. */
size_t idx_rpc_url_count(const idx_rpc_t *rpc) IDX_NONNULL(1);

/* Fills out for URL i (in configuration order). Returns 0 or IDX_ERR_INVAL. */
IDX_WARN_UNUSED int idx_rpc_url_stats(const idx_rpc_t *rpc, size_t i, idx_rpc_url_stats_t *out)
    IDX_NONNULL(1, 3);

/* Parses and checks the HTTP body answering a batch of n requests with
 * ids first_id .. first_id + n - 1 (the client's own reply checks, exposed
 * for tests and fuzzing). Fills replies[0..n) and returns the parsed root,
 * which the replies borrow from (json_decref it when done), or NULL with
 * the reason in why. */
json_t *idx_rpc_parse_answer(const char *body, size_t len, uint64_t first_id, size_t n,
                             idx_rpc_reply_t *replies, char *why, size_t whylen)
    IDX_NONNULL(1, 5, 6);

/* The same, where want_logs[i] (NULL: none) marks request i as an
 * eth_getLogs whose answer is decoded when it has logscan's shape. The
 * body is scanned once by logscan; when it declines (or an element it
 * hands back is one the ordinary path refuses) idx_rpc_parse_answer runs
 * on the whole body, so that a refusal and its reason are always the
 * ordinary path's. *fast (may be NULL) says whether the scan was used.
 * Replies with logs hold a reference each: idx_rpc_replies_release them
 * (then json_decref the root). */
json_t *idx_rpc_parse_answer_logs(const char *body, size_t len, uint64_t first_id, size_t n,
                                  const bool *want_logs, idx_rpc_reply_t *replies, bool *fast,
                                  char *why, size_t whylen) IDX_NONNULL(1, 6, 8);

/* Drops the log sets that replies[0..n) hold. */
void idx_rpc_replies_release(idx_rpc_reply_t *replies, size_t n);

#endif
