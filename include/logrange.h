/*
 * logrange.h: the adaptive eth_getLogs block range.
 *
 * Providers cap eth_getLogs by block span or by result size and say so in
 * many dialects. idx_logrange_classify() reads a JSON-RPC error (code,
 * message, data) and tells whether it is such a limit and what range, if
 * any, the provider suggested. idx_logrange_t keeps the span that works:
 * it grows while answers are small, shrinks on a limit (to the suggested
 * or stated span when there is one), and never grows back past a span
 * that failed, for a while: between the largest span that worked and the
 * smallest that failed it bisects, and stops probing once the two are
 * within an eighth; after IDX_LOGRANGE_REGROW_MIN clean answers the limit
 * is forgotten and the span grows again (a limit met again right after
 * doubles that wait, up to IDX_LOGRANGE_REGROW_MAX), so one odd answer
 * ("up to a 1 block range") cannot cap the span for the rest of the run.
 * An answer of more than four times grow_below_logs logs halves the span,
 * which keeps a batch's memory and latency moderate on dense chains.
 */
#ifndef IDX_LOGRANGE_H
#define IDX_LOGRANGE_H

#include "common.h"

typedef struct idx_logrange_advice_s {
  bool is_limit;           /* the error is a provider's range/size limit */
  bool has_suggestion;     /* the provider named a range to use */
  uint64_t suggested_from; /* inclusive */
  uint64_t suggested_to;   /* inclusive */
  uint64_t stated_span;    /* "limited to a 1000 blocks range" -> 1000; 0 if none */
} idx_logrange_advice_t;

/* Classifies an error answer. data_text is the error's "data" member
 * serialized as JSON (or NULL). Never fails; unknown errors give
 * is_limit = false. */
void idx_logrange_classify(long code, const char *message, const char *data_text,
                           idx_logrange_advice_t *out) IDX_NONNULL(4);

typedef struct idx_logrange_s {
  uint64_t span;             /* blocks per request now */
  uint64_t min_span;         /* 1 */
  uint64_t max_span;         /* configured ceiling */
  uint64_t ceiling;          /* smallest span known to fail, minus one (UINT64_MAX: none) */
  uint64_t good;             /* largest span known to work (0: none yet) */
  uint64_t grow_below_logs;  /* grow after an answer with fewer logs than this */
  uint64_t grow_below_bytes; /* ... and fewer bytes than this (0: logs only) */
  uint64_t clean;            /* clean answers since the last limit */
  uint64_t regrow_after;     /* clean answers that lift the ceiling */
  bool regrown;              /* the ceiling was lifted and no limit met since */
} idx_logrange_t;

enum { IDX_LOGRANGE_REGROW_MIN = 16, IDX_LOGRANGE_REGROW_MAX = 1024 };

void idx_logrange_init(idx_logrange_t *r, uint64_t initial, uint64_t max_span) IDX_NONNULL(1);

/* After a good answer for a span of `span` blocks holding nlogs logs. */
void idx_logrange_success(idx_logrange_t *r, uint64_t span, uint64_t nlogs) IDX_NONNULL(1);

/* The same, with the answer's size as received: with grow_below_bytes
 * set, an answer counts as dense by its bytes too (bytes over
 * grow_below_bytes / grow_below_logs per log), so the span shrinks when
 * answers are large in bytes (memory: a parsed answer takes about four
 * times its size) and grows only while they are small. Before any limit,
 * a nearly empty answer (under grow_below_logs / 512 logs) grows the span
 * eight times rather than two. */
void idx_logrange_answer(idx_logrange_t *r, uint64_t span, uint64_t nlogs, uint64_t bytes)
    IDX_NONNULL(1);

/* After a limit error for a request of `span` blocks starting at from.
 * Returns the span to retry with (>= 1). */
uint64_t idx_logrange_limited(idx_logrange_t *r, uint64_t from, uint64_t span,
                              const idx_logrange_advice_t *advice) IDX_NONNULL(1, 4);

#endif
