/*
 * logscan.h: a one-pass reader of JSON-RPC answers holding eth_getLogs
 * results, without a JSON tree.
 *
 * The follower's CPU went mostly to building jansson trees of eth_getLogs
 * answers (a hash table per log object, a malloc per string) only to read
 * ten fields of each. This scanner reads the bytes once and decodes the
 * hex straight into idx_log_t values.
 *
 * It knows one strict shape and declines everything else, so that the
 * caller's JSON parser (rpc.c) handles it exactly as before: every error
 * message, limit and hostile-input behaviour stays that parser's. Inside
 * the shape it is as strict as jansson: it never accepts bytes jansson
 * would refuse, and what it decodes equals what idx_ethjson_log reads
 * from jansson's tree of the same bytes (tests/unit/test_logscan.c runs
 * both over recorded, fuzzed and mutated answers).
 *
 * The shape: an answer is a JSON array of reply objects (or one reply
 * object). A reply object whose members are "jsonrpc" (a plain string),
 * "id" (a plain integer), "result" (an array of log objects) and at most
 * "error": null, each once, is decoded (a "fast" reply). Any other
 * element is only delimited, and its bytes are handed back to the caller
 * for its JSON parser. A log object has the members idx_ethjson_log reads
 * (each once, each of the right type and hex shape) and, besides, only
 * plain strings, true, false or null. A plain string has no escape, no
 * control character and no byte above 0x7e.
 *
 * Nothing here knows JSON-RPC ids or methods beyond syntax: rpc.c decides
 * which replies it wants decoded. Nothing here allocates per value: a
 * log set grows two arrays geometrically.
 */
#ifndef IDX_LOGSCAN_H
#define IDX_LOGSCAN_H

#include "common.h"

#include "chain.h"

/* The decoded logs of one eth_getLogs result, reference-counted (the
 * follower holds answers for a while). logs[i].data points into the set;
 * removed[i] is the log's "removed" flag. */
typedef struct idx_logset_s {
  size_t refs;
  size_t n;
  idx_log_t *logs;
  bool *removed;
  uint8_t *data; /* every log's data, back to back */
  size_t cap, data_len, data_cap;
} idx_logset_t;

/* Takes one more reference (set may be NULL); returns set. */
idx_logset_t *idx_logset_incref(idx_logset_t *set);

/* Drops a reference; the last one frees the set (set may be NULL). */
void idx_logset_decref(idx_logset_t *set);

/* One element of an answer, as the scanner saw it. */
typedef struct idx_logscan_elem_s {
  size_t off, len;    /* its bytes in the body */
  bool fast;          /* decoded: id and logs are set */
  uint64_t id;        /* fast only */
  idx_logset_t *logs; /* fast only: one reference, the caller's */
} idx_logscan_elem_t;

/* What idx_logscan_answer found. */
typedef enum idx_logscan_e {
  IDX_LOGSCAN_ARRAY,   /* a JSON array of elems */
  IDX_LOGSCAN_OBJECT,  /* one reply object (elems[0]) */
  IDX_LOGSCAN_DECLINE, /* not the shape: parse it the ordinary way */
} idx_logscan_t;

/* Scans body[0..len) as an answer of at most max elements: fills
 * elems[0..*nelems). A fast element is one whose result decoded; the
 * others are delimited only (their bytes may still be invalid JSON: the
 * caller's parser judges them). Declines on anything else: another top
 * level, more than max elements, bytes outside the elements that are not
 * JSON's ("[", ",", "]" and whitespace), nesting deeper than 32, a log's
 * data over max_data bytes, out of memory. On a decline no element holds
 * a log set. */
IDX_WARN_UNUSED idx_logscan_t idx_logscan_answer(const char *body, size_t len, size_t max_data,
                                                 idx_logscan_elem_t *elems, size_t max,
                                                 size_t *nelems) IDX_NONNULL(1, 4, 6);

/* Scans s[0..len) as one eth_getLogs result (a JSON array of logs, with
 * nothing around it). Returns a new set, or NULL when declined. */
idx_logset_t *idx_logscan_logs(const char *s, size_t len, size_t max_data) IDX_NONNULL(1);

#endif
