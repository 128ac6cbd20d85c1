/* sync.c: the sync engine's state machine (see sync.h). */
#include "common.h"

#include "abi.h"
#include "arena.h"
#include "buf.h"
#include "chain.h"
#include "ethjson.h"
#include "hex.h"
#include "keccak.h"
#include "log.h"
#include "logrange.h"
#include "modelcheck.h"
#include "store.h"
#include "sync.h"
#include "txfetch.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
  /* Headers kept (and fully checked) below the head: deeper than any
   * reorg Polygon has had since its fork-choice changes. */
  REORG_WINDOW = 128,
  /* Arena cap for one batch's log data and decoded JSON. */
  BATCH_MEMORY_MAX = 512 << 20,
  /* Most blocks whose timestamps are fetched in one JSON-RPC batch. */
  TIME_BATCH_MAX = 200,
  /* Re-asks for headers of blocks with logs that a node did not have yet. */
  HEADER_TRIES = 8,
  /* Most requests in one batch (near-head ranges carry a header each). */
  MAX_REQUESTS = REORG_WINDOW + 8,
  /* Stale license documents built per transaction while idle (about
   * 0.5 ms each). */
  DOCS_PER_JOB = 500,
};

/* Causes of retries, each with its own count and backoff (an unrelated
 * success resets none of them). */
typedef enum fail_cause_e {
  CAUSE_RPC,    /* JSON-RPC transport: every endpoint failed a batch */
  CAUSE_ANSWER, /* answers rejected: inconsistent, contradicting, undecodable */
  CAUSE_COUNT,
} fail_cause_t;

typedef enum job_kind_e {
  JOB_OPEN,     /* open, migrate, read cursor */
  JOB_WRITE,    /* write the batch */
  JOB_BLOCKS,   /* load stored headers for the fork search */
  JOB_ROLLBACK, /* roll back above keep */
  JOB_DOCS,     /* build stale license documents */
} job_kind_t;

typedef struct store_job_s {
  job_kind_t kind;
  bool reconnect_first;
  int rc;
  char err[512];
  double ms;
  /* JOB_OPEN results */
  bool found;
  bool found_finalized;
  uint64_t finalized; /* JOB_OPEN: stored; JOB_WRITE: to store (0: nothing new) */
  uint64_t last_block;
  idx_hash_t last_hash;
  int migrations;
  /* JOB_BLOCKS */
  uint64_t from, to;
  idx_block_t blocks[REORG_WINDOW + 1];
  size_t nblocks;
  /* JOB_ROLLBACK */
  uint64_t keep_block;
  idx_hash_t keep_hash;
  /* JOB_DOCS */
  unsigned docs_built;
} store_job_t;

typedef enum req_kind_e {
  REQ_LOGS_MAIN,
  REQ_LOGS_TOKEN,
  REQ_LOGS_TOKEN_IN, /* #25: DIMO into a license contract (its books) */
  REQ_HEADER,
} req_kind_t;

/* The next range's JSON-RPC batch, sent while the current batch is
 * written (backfill ranges only: below the reorg window nothing depends on
 * the write's outcome but the expected parent hash, which the range
 * handler checks when the answer is used). The answer is held, not
 * decoded: decoding fills the one batch being assembled, which the write
 * still uses. */
typedef struct prefetch_s {
  bool in_flight; /* sent, not answered */
  bool ready;     /* answered and held */
  bool awaited;   /* fetch_range wants it: use it (or refetch) on arrival */
  bool too_large; /* the answer exceeded --rpc-max-response */
  size_t url;     /* the endpoint that answered */
  uint64_t from, to;
  req_kind_t kinds[MAX_REQUESTS];
  uint64_t numbers[MAX_REQUESTS];
  size_t n;
  idx_rpc_reply_t replies[MAX_REQUESTS]; /* references and copies: prefetch_drop frees */
} prefetch_t;

struct idx_sync_s {
  uv_loop_t *loop;
  idx_sync_options_t opts;
  idx_sync_done_cb done_cb;
  void *done_ud;

  idx_store_t *store;
  uv_timer_t timer;
  uv_work_t work;
  store_job_t job;
  bool job_busy;
  bool rpc_busy;
  unsigned db_failures;
  unsigned fails[CAUSE_COUNT]; /* consecutive failures per cause */
  bool chain_checked;          /* every endpoint's chain id asked once */
  size_t answer_url;           /* the endpoint whose answer is being handled */
  int halt_status;             /* run: the fatal error that halted the follower */
  bool stop_requested;         /* idx_sync_stop was called */
  bool need_lock;              /* the writer lock must be (re)taken before writing */
  bool standby;                /* another instance writes; we wait for its lock */
  bool stopping;
  bool finished;
  /* finish() waits for a prefetch in flight (its callback needs us). */
  bool finish_deferred;
  int deferred_status;
  char deferred_message[640];
  void (*after_timer)(idx_sync_t *s);

  /* Chain position. */
  bool has_cursor;
  uint64_t cursor;
  idx_hash_t cursor_hash;
  uint64_t head;
  uint64_t target;
  bool stop_fixed;
  uint64_t stop_block;

  /* The range in flight. */
  idx_logrange_t range;
  uint64_t fetch_from, fetch_to;
  bool near_head;
  bool range_in_flight; /* between fetch_range and the batch's hand-off */
  uint64_t near_cap;    /* near-head span: halves on inconsistent answers */
  req_kind_t req_kinds[MAX_REQUESTS];
  uint64_t req_numbers[MAX_REQUESTS];
  size_t nreq;
  prefetch_t pre;

  /* Filters (built once): addresses and topic0s of every contract. */
  json_t *main_addresses;
  json_t *main_topics;
  json_t *token_address;
  json_t *token_topics;
  json_t *token_topics_in; /* #25: Transfer to a license contract */
  idx_txfetch_t txf;       /* #25: senders of admin transactions */

  /* The batch being assembled. */
  idx_arena_t arena;
  idx_buf_t args_json; /* a log's decoded arguments, before they go to the arena */
  idx_log_t *logs;
  size_t nlogs, logs_cap;
  idx_block_t *blocks;
  size_t nblocks, blocks_cap;
  uint64_t unknown;
  idx_batch_t batch;
  uint64_t time_next; /* timestamp fetch: next index into logs to look at */

  /* Bloom checks near the head: the 3 bloom bits of each watched address
   * and topic, and per header of the range its logsBloom and how many of
   * our logs came back for it. */
  uint16_t (*main_addr_bits)[3];
  size_t n_main_addr;
  uint16_t (*main_topic_bits)[3];
  size_t n_main_topic;
  uint8_t blooms[MAX_REQUESTS][256];
  bool has_bloom[MAX_REQUESTS];
  uint32_t main_seen[MAX_REQUESTS];
  uint64_t suspect_block;
  unsigned suspect_count;

  /* Fork search: two answers must agree before a rollback. */
  uint64_t reorg_from_cursor;
  unsigned fork_pass; /* answers received for this search */
  uint64_t fork_keep;
  idx_hash_t fork_keep_hash;

  /* Finality: the highest finalized block a node named (s->st has it). */
  uint64_t finalized_stored; /* what the database holds */
  bool finality_warned;      /* a node without the tag was reported */

  /* Headers of the blocks with logs, checked against the logs' hashes. */
  uint64_t hdr_numbers[TIME_BATCH_MAX];
  size_t hdr_n;
  size_t hdr_log_from; /* first log the header batch in flight covers */
  unsigned hdr_tries;  /* re-asks for headers not found, this window */

  /* Deriving the model on a second connection: backfill batches are
   * written without it (defer_model), and one derivation covers every
   * batch written since the last, while the next batch is written. Near
   * the head, once the model has caught up, batches derive it in their own
   * transaction again. */
  idx_store_t *dstore;
  uv_work_t dwork;
  bool derive_busy;
  bool derive_reconnect;
  unsigned derive_failures;
  int derive_rc;
  char derive_err[512];
  uint64_t derive_goal;     /* the committed block the model must reach */
  uint64_t derive_job_goal; /* the goal of the derivation in flight (its thread reads it) */
  uint64_t derive_result;   /* the model cursor the last derivation left */
  /* (The model block itself is st.has_model / st.model_block.) */
  bool rollback_waiting;    /* a rollback waits for the derivation in flight */
  bool finish_waits_derive; /* `sync` ends once the model has caught up */

  /* Stale license documents (backfill batches defer them): built while
   * idle, for at most a poll interval at a time, and before `sync` ends. */
  bool docs_stale;
  bool finish_after_docs;
  uint64_t docs_started_ns;
  uint64_t docs_drained; /* built since the last time none were left */

  /* Progress. */
  uint64_t progress_start_block;
  uint64_t progress_start_logs;
  uint64_t progress_last_ns;
  uint64_t progress_first_ns;

  idx_sync_status_t st;
};

static void poll_head(idx_sync_t *s);
static void fetch_range(idx_sync_t *s);
static void start_reorg(idx_sync_t *s);
static void queue_job(idx_sync_t *s);
static void after_target(idx_sync_t *s);

/* ---- small helpers ---------------------------------------------------- */

static json_t *quantity(uint64_t v) {
  char q[24];
  snprintf(q, sizeof q, "0x%llx", (unsigned long long)v);
  return json_string(q);
}

static uint64_t now_ns(void) { return uv_hrtime(); }

/* Work whose callback needs the engine: a prefetch, a derivation, a
 * store job. */
static bool in_flight(const idx_sync_t *s) {
  return s->pre.in_flight || s->derive_busy || s->job_busy;
}

/* `run` does not end on a fatal error of the follower (a privilege lost, a
 * constraint broken): the API keeps answering what is stored, and says
 * the follower stopped (not ready) until the process is stopped. Returns
 * whether the error was taken that way. */
static bool halt(idx_sync_t *s, int status, const char *message) {
  if (!s->opts.follow || s->stop_requested || status == 0 || status == IDX_ERR_CONFIG ||
      status == IDX_ERR_CANCELLED)
    return false;
  if (!s->st.halted) {
    s->st.halted = true;
    s->halt_status = status;
    snprintf(s->st.halt_reason, sizeof s->st.halt_reason, "%s", message);
    idx_log_error("sync", "the follower stopped: %s (the API keeps answering, not ready)", message);
    uv_timer_stop(&s->timer);
  }
  s->stopping = true; /* nothing new starts; callbacks in flight end here */
  return true;
}

static void finish(idx_sync_t *s, int status, const char *message) {
  if (s->finished)
    return;
  if (s->st.halted || halt(s, status, message)) {
    if (!s->stop_requested || in_flight(s) || s->rpc_busy)
      return; /* idx_sync_stop (or the last callback after it) ends it */
    status = s->halt_status;
    message = s->st.halt_reason;
  } else if (in_flight(s) || s->finish_deferred) {
    /* Finish when the last callback has run, doing nothing else meanwhile
     * (the first reason is the one reported). */
    if (!s->finish_deferred) {
      s->finish_deferred = true;
      s->deferred_status = status;
      snprintf(s->deferred_message, sizeof s->deferred_message, "%s", message);
    }
    s->stopping = true;
    if (in_flight(s))
      return;
    status = s->deferred_status;
    message = s->deferred_message;
  }
  s->finished = true;
  uv_timer_stop(&s->timer);
  if (status)
    idx_log_error("sync", "%s", message);
  s->done_cb(s->done_ud, status, message);
}

static void on_timer(uv_timer_t *t) {
  idx_sync_t *s = t->data;
  void (*next)(idx_sync_t *) = s->after_timer;
  s->after_timer = NULL;
  if (s->stopping) {
    finish(s, 0, "stopped");
    return;
  }
  if (next)
    next(s);
}

static void later(idx_sync_t *s, uint64_t ms, void (*next)(idx_sync_t *)) {
  s->after_timer = next;
  uv_timer_start(&s->timer, on_timer, ms, 0);
}

/* Exponential backoff with full jitter, for retryable trouble. */
static uint64_t backoff_ms(unsigned failures) {
  uint64_t cap = 200ull << (failures < 8 ? failures : 8);
  if (cap > 30000)
    cap = 30000;
  return 100 + (uint64_t)rand() % cap;
}

static int hex_block_tag(char *out, size_t cap, uint64_t v) {
  int n = snprintf(out, cap, "0x%llx", (unsigned long long)v);
  return n > 0 && (size_t)n < cap ? 0 : IDX_ERR_INVAL;
}

/* ---- store jobs on the thread pool ------------------------------------ */

static void job_run(uv_work_t *w) {
  idx_sync_t *s = w->data;
  store_job_t *j = &s->job;
  uint64_t t0 = now_ns();
  j->err[0] = '\0';
  if (j->kind == JOB_OPEN && !s->store) {
    j->rc = idx_store_open(&s->store, s->opts.conninfo, j->err, sizeof j->err);
    if (j->rc)
      return;
  } else if (j->reconnect_first) {
    j->rc = idx_store_reconnect(s->store, j->err, sizeof j->err);
    if (j->rc)
      return;
    s->need_lock = true; /* a new session does not hold the old one's lock */
  }
  if (s->need_lock && j->kind != JOB_BLOCKS) {
    bool got = false;
    j->rc = idx_store_writer_lock(s->store, s->opts.net->chain_id, &got, j->err, sizeof j->err);
    if (j->rc)
      return;
    if (!got) {
      j->rc = IDX_ERR_STANDBY;
      return;
    }
    s->need_lock = false;
  }
  switch (j->kind) {
  case JOB_OPEN:
    j->rc = idx_store_migrate(s->store, s->opts.schema_dir, &j->migrations, j->err, sizeof j->err);
    if (j->rc == 0)
      j->rc = idx_store_register_contracts(s->store, s->opts.net->chain_id, s->opts.net, j->err,
                                           sizeof j->err);
    if (j->rc == 0) /* before anything is written: the model must understand the ABIs */
      j->rc = idx_modelcheck_run(s->store, s->opts.net, j->err, sizeof j->err);
    if (j->rc == 0)
      j->rc = idx_store_cursor(s->store, s->opts.net->chain_id, &j->found, &j->last_block,
                               &j->last_hash, j->err, sizeof j->err);
    if (j->rc == 0)
      j->rc = idx_store_finalized(s->store, s->opts.net->chain_id, &j->found_finalized,
                                  &j->finalized, j->err, sizeof j->err);
    break;
  case JOB_WRITE:
    /* The finalized block first: a chain fact, right even if the batch
     * fails and is written again. */
    if (j->finalized)
      j->rc = idx_store_set_finalized(s->store, s->opts.net->chain_id, j->finalized, j->err,
                                      sizeof j->err);
    if (j->rc == 0)
      j->rc = idx_store_write_batch(s->store, &s->batch, j->err, sizeof j->err);
    /* (Deferred batches: the derivation prunes, below what it derived.) */
    if (j->rc == 0 && !s->batch.defer_model && s->batch.to_block > REORG_WINDOW * 2 &&
        s->st.batches % 64 == 0)
      j->rc = idx_store_prune_blocks(s->store, s->opts.net->chain_id,
                                     s->batch.to_block - REORG_WINDOW * 2, j->err, sizeof j->err);
    break;
  case JOB_BLOCKS:
    j->rc = idx_store_blocks(s->store, s->opts.net->chain_id, j->from, j->to, j->blocks,
                             IDX_ARRAY_LEN(j->blocks), &j->nblocks, j->err, sizeof j->err);
    break;
  case JOB_ROLLBACK:
    j->rc = idx_store_rollback(s->store, s->opts.net->chain_id, j->keep_block, &j->keep_hash,
                               j->err, sizeof j->err);
    break;
  case JOB_DOCS:
    j->rc = idx_store_refresh_stale_docs(s->store, s->opts.net->chain_id, DOCS_PER_JOB,
                                         &j->docs_built, j->err, sizeof j->err);
    break;
  }
  j->ms = (double)(now_ns() - t0) / 1e6;
}

static void on_job_done(idx_sync_t *s);

static void job_after(uv_work_t *w, int status) {
  idx_sync_t *s = w->data;
  s->job_busy = false;
  if (s->finish_deferred) {
    finish(s, 0, "stopped");
    return;
  }
  if (status == UV_ECANCELED) {
    finish(s, 0, "stopped");
    return;
  }
  on_job_done(s);
}

static void queue_job(idx_sync_t *s) {
  s->job_busy = true;
  s->work.data = s;
  int rc = uv_queue_work(s->loop, &s->work, job_run, job_after);
  if (rc) {
    s->job_busy = false;
    finish(s, IDX_ERR_INVAL, "cannot queue database work");
  }
}

static void retry_job(idx_sync_t *s) {
  s->job.reconnect_first = true;
  queue_job(s);
}

/* ---- deriving the model on the second connection ------------------------ */

/* The model describes every committed block (nothing to wait for). */
static bool model_current(const idx_sync_t *s) {
  return !s->has_cursor || (s->st.has_model && s->st.model_block >= s->cursor && !s->derive_busy);
}

static void derive_run(uv_work_t *w) {
  idx_sync_t *s = w->data;
  char *err = s->derive_err;
  size_t errlen = sizeof s->derive_err;
  err[0] = '\0';
  if (s->derive_failures) {
    unsigned ms = 100u << (s->derive_failures < 5 ? s->derive_failures : 5);
    uv_sleep(ms < 2000 ? ms : 2000); /* back off (this is a pool thread) */
  }
  int rc = 0;
  if (!s->dstore)
    rc = idx_store_open(&s->dstore, s->opts.conninfo, err, errlen);
  else if (s->derive_reconnect)
    rc = idx_store_reconnect(s->dstore, err, errlen);
  if (rc == 0)
    rc = idx_store_derive(s->dstore, s->opts.net->chain_id, s->derive_job_goal, &s->derive_result,
                          err, errlen);
  s->derive_rc = rc;
}

static void derive_after(uv_work_t *w, int status);

/* Starts a derivation when one is due and nothing excludes it (a rollback
 * waiting or running). Returns whether one is in flight. */
static bool derive_kick(idx_sync_t *s) {
  if (s->derive_busy)
    return true;
  if (s->stopping || !s->has_cursor || s->rollback_waiting ||
      (s->job_busy && s->job.kind == JOB_ROLLBACK) ||
      (s->st.has_model && s->st.model_block >= s->derive_goal))
    return false;
  s->derive_busy = true;
  s->derive_job_goal = s->derive_goal;
  s->dwork.data = s;
  if (uv_queue_work(s->loop, &s->dwork, derive_run, derive_after)) {
    s->derive_busy = false;
    finish(s, IDX_ERR_INVAL, "cannot queue database work");
    return false;
  }
  return true;
}

static void derive_after(uv_work_t *w, int status) {
  idx_sync_t *s = w->data;
  s->derive_busy = false;
  if (s->finish_deferred || status == UV_ECANCELED) {
    finish(s, 0, "stopped");
    return;
  }
  if (s->derive_rc == 0) {
    bool moved = !s->st.has_model || s->derive_result > s->st.model_block;
    s->derive_failures = 0;
    s->derive_reconnect = false;
    s->st.has_model = true;
    s->st.model_block = s->derive_result;
    if (moved) {
      s->docs_stale = true; /* it may have deferred documents */
      if (s->opts.on_commit)
        s->opts.on_commit(s->opts.on_commit_ud, &s->st, false);
    }
  } else {
    /* Retried with backoff on a fresh connection (a second instance that
     * took over may have derived the same blocks: the model cursor makes
     * that a no-op); given up like the store's other failures. */
    s->derive_failures++;
    s->derive_reconnect = true;
    idx_log_warn("sync", "deriving the model failed (%s); retry %u", s->derive_err,
                 s->derive_failures);
    unsigned max = s->opts.max_db_attempts ? s->opts.max_db_attempts : UINT32_MAX;
    if (s->derive_failures >= max) {
      char msg[640];
      snprintf(msg, sizeof msg, "database error (deriving the model): %s", s->derive_err);
      finish(s, s->derive_rc, msg);
      return;
    }
  }
  if (s->stopping) {
    if (!in_flight(s) && !s->rpc_busy)
      finish(s, 0, "stopped");
    return;
  }
  if (s->rollback_waiting) {
    s->rollback_waiting = false;
    queue_job(s); /* the rollback job prepared by the fork search */
    return;
  }
  if (derive_kick(s))
    return;
  if (s->finish_waits_derive) {
    s->finish_waits_derive = false;
    after_target(s);
  }
}

/* ---- JSON-RPC plumbing ------------------------------------------------ */

typedef void (*reply_fn)(idx_sync_t *s, const idx_rpc_reply_t *r, size_t n);

typedef struct rpc_ctx_s {
  idx_sync_t *s;
  reply_fn fn;
} rpc_ctx_t;

static void rpc_retry_poll(idx_sync_t *s) { poll_head(s); }

/* Counts a failure of one cause. `sync` gives up after max_db_attempts in
 * a row (JSON-RPC transport after at most 3: the client already retried
 * each batch); `run` never does. Returns true when it gave up. */
static bool count_failure(idx_sync_t *s, fail_cause_t c, const char *what) {
  s->fails[c]++;
  unsigned max = s->opts.follow ? 0 : s->opts.max_db_attempts;
  if (c == CAUSE_RPC && max > 3)
    max = 3;
  if (!max || s->fails[c] < max)
    return false;
  char msg[640];
  snprintf(msg, sizeof msg, "%s %u times in a row (last: %s); giving up",
           c == CAUSE_RPC ? "the JSON-RPC endpoints failed"
                          : "the provider answered inconsistently",
           s->fails[c], what);
  finish(s, c == CAUSE_RPC ? IDX_ERR_RPC_TRANSPORT : IDX_ERR_RPC_REPLY, msg);
  return true;
}

/* Retries after a failure of cause c: backoff by that cause's count. */
static void retry_later(idx_sync_t *s, fail_cause_t c, const char *what,
                        void (*next)(idx_sync_t *)) {
  if (count_failure(s, c, what))
    return;
  later(s, backoff_ms(s->fails[c]), next);
}

static void on_rpc(void *ud, int status, const idx_rpc_reply_t *replies, size_t n) {
  rpc_ctx_t *ctx = ud;
  idx_sync_t *s = ctx->s;
  reply_fn fn = ctx->fn;
  free(ctx);
  s->rpc_busy = false;
  if (s->finished)
    return;
  if (s->stopping) {
    finish(s, 0, "stopped");
    return;
  }
  if (status == IDX_ERR_CANCELLED) {
    finish(s, IDX_ERR_CANCELLED, "JSON-RPC client closed under the sync engine");
    return;
  }
  if (status == IDX_ERR_TOO_LARGE && fn != NULL) {
    fn(s, NULL, 0); /* the range handler shrinks */
    return;
  }
  if (status) {
    idx_log_warn("sync", "JSON-RPC failed (%s); retrying", idx_strerror(status));
    retry_later(s, CAUSE_RPC, idx_strerror(status), rpc_retry_poll);
    return;
  }
  s->fails[CAUSE_RPC] = 0;
  s->answer_url = idx_rpc_answered_by(s->opts.rpc);
  fn(s, replies, n);
}

static void send_batch(idx_sync_t *s, const char *const *methods, json_t *const *params, size_t n,
                       reply_fn fn) {
  rpc_ctx_t *ctx = malloc(sizeof *ctx);
  if (!ctx) {
    finish(s, IDX_ERR_NOMEM, "out of memory");
    return;
  }
  ctx->s = s;
  ctx->fn = fn;
  s->rpc_busy = true;
  int rc = idx_rpc_batch(s->opts.rpc, methods, params, n, on_rpc, ctx);
  for (size_t i = 0; i < n; i++)
    json_decref(params[i]);
  if (rc) {
    free(ctx);
    s->rpc_busy = false;
    idx_log_warn("sync", "cannot send JSON-RPC batch (%s); retrying", idx_strerror(rc));
    retry_later(s, CAUSE_RPC, idx_strerror(rc), rpc_retry_poll);
  }
}

/* A retryable oddity of the node: log it, back off, start over from the head.
 * Near the head, where every header of a range is asked for, a node that
 * keeps failing some of them gets smaller ranges, so progress does not
 * depend on one large batch coming back whole. */
static void inconsistent(idx_sync_t *s, const char *what) {
  if (s->range_in_flight && s->near_head && s->fetch_to > s->fetch_from) {
    uint64_t span = s->fetch_to - s->fetch_from + 1;
    s->near_cap = span / 2 > 0 ? span / 2 : 1;
  }
  s->range_in_flight = false;
  s->st.inconsistencies++;
  idx_log_warn("sync", "inconsistent node answer (%s); retrying", what);
  retry_later(s, CAUSE_ANSWER, what, poll_head);
}

/* An answer that contradicts what is known for sure (a finalized block, a
 * block's own header): the endpoint that gave it is blamed (others are
 * asked first), and the answer is asked for again. */
static void provider_fault(idx_sync_t *s, const char *what) {
  s->st.provider_faults++;
  idx_rpc_blame(s->opts.rpc, s->answer_url, what);
  inconsistent(s, what);
}

/* Progress (a batch written, the tip confirmed): answers are sound again. */
static void answers_sound(idx_sync_t *s) { s->fails[CAUSE_ANSWER] = 0; }

/* ---- finality --------------------------------------------------------- */

/* A finalized block a node named (or the database held): it only moves up. */
static void note_finalized(idx_sync_t *s, uint64_t number) {
  if (s->st.has_finalized && number <= s->st.finalized)
    return;
  s->st.has_finalized = true;
  s->st.finalized = number;
}

/* Whether stored block `number` is final: never rolled back. */
static bool is_final(const idx_sync_t *s, uint64_t number) {
  return s->st.has_finalized && number <= s->st.finalized;
}

/* ---- start-up: store, then chain id ------------------------------------ */

static void check_chain_id(idx_sync_t *s);

/* Every endpoint's chain was asked (rpc.c keeps asking each again after
 * it recovers from a fault, and takes a wrong one out of rotation). */
static void on_chain_checked(void *ud, int status, const char *message) {
  idx_sync_t *s = ud;
  s->rpc_busy = false;
  if (s->finished)
    return;
  if (s->stopping) {
    finish(s, 0, "stopped");
    return;
  }
  if (status == IDX_ERR_CONFIG || status == IDX_ERR_CANCELLED) {
    finish(s, status, message);
    return;
  }
  if (status) {
    idx_log_warn("sync", "%s; retrying", message);
    retry_later(s, CAUSE_RPC, message, check_chain_id);
    return;
  }
  s->fails[CAUSE_RPC] = 0;
  s->chain_checked = true;
  poll_head(s);
}

static void check_chain_id(idx_sync_t *s) {
  if (s->chain_checked) {
    poll_head(s);
    return;
  }
  s->rpc_busy = true;
  int rc = idx_rpc_check_chain(s->opts.rpc, on_chain_checked, s);
  if (rc) {
    s->rpc_busy = false;
    if (rc == IDX_ERR_CONFIG)
      finish(s, rc, "every RPC endpoint serves another chain");
    else if (rc == IDX_ERR_INVAL || rc == IDX_ERR_CANCELLED)
      finish(s, rc, "the JSON-RPC client cannot check the chain id");
    else
      retry_later(s, CAUSE_RPC, idx_strerror(rc), check_chain_id);
  }
}

/* ---- head ------------------------------------------------------------- */

static uint64_t next_block(const idx_sync_t *s) {
  if (s->has_cursor)
    return s->cursor + 1;
  return s->opts.has_from ? s->opts.from_block : idx_network_start_block(s->opts.net);
}

static void on_tip_check(idx_sync_t *s, const idx_rpc_reply_t *r, size_t n) {
  idx_block_t b;
  char err[160];
  if (n != 1 || r[0].err || json_is_null(r[0].result)) {
    later(s, s->opts.poll_ms, poll_head);
    return;
  }
  if (idx_ethjson_block(r[0].result, &b, err, sizeof err) || b.number != s->cursor) {
    inconsistent(s, "tip header");
    return;
  }
  if (memcmp(b.hash.b, s->cursor_hash.b, 32) != 0) {
    if (is_final(s, s->cursor)) {
      provider_fault(s, "the stored tip is final, the node answers another hash for it");
      return;
    }
    start_reorg(s);
    return;
  }
  answers_sound(s);
  later(s, s->opts.poll_ms, poll_head);
}

static void build_docs(idx_sync_t *s) {
  memset(&s->job, 0, sizeof s->job);
  s->job.kind = JOB_DOCS;
  queue_job(s);
}

/* Caught up: build stale documents for up to a poll interval, check that
 * the stored tip is still canonical, then wait. */
static void idle(idx_sync_t *s) {
  if (s->docs_stale && model_current(s)) {
    if (!s->docs_started_ns)
      s->docs_started_ns = now_ns();
    if (now_ns() - s->docs_started_ns < s->opts.poll_ms * 1000000ull) {
      build_docs(s);
      return;
    }
  }
  s->docs_started_ns = 0;
  if (!s->has_cursor) {
    later(s, s->opts.poll_ms, poll_head);
    return;
  }
  char tag[24];
  (void)hex_block_tag(tag, sizeof tag, s->cursor);
  const char *m[1] = {"eth_getBlockByNumber"};
  json_t *p[1] = {json_pack("[s,b]", tag, 0)};
  send_batch(s, m, p, 1, on_tip_check);
}

static void after_target(idx_sync_t *s) {
  uint64_t next = next_block(s);
  if (!s->opts.follow) {
    if (!s->stop_fixed) {
      s->stop_block = s->opts.stop_at_head ? s->target : s->opts.stop_block;
      s->stop_fixed = true;
    }
    if (s->target > s->stop_block)
      s->target = s->stop_block;
    if (next > s->stop_block) {
      if (!model_current(s)) {
        s->finish_waits_derive = true;
        if (!derive_kick(s))
          s->finish_waits_derive = false; /* cannot happen: nothing due */
        else
          return;
      }
      if (s->docs_stale) {
        s->finish_after_docs = true;
        build_docs(s);
        return;
      }
      idx_log_info("sync",
                   "reached block %llu (%llu batches, %llu of them fetched while the one before "
                   "was written)",
                   (unsigned long long)s->stop_block, (unsigned long long)s->st.batches,
                   (unsigned long long)s->st.prefetched);
      finish(s, 0, "done");
      return;
    }
  }
  if (next > s->target) {
    if (!s->opts.follow && s->target < s->stop_block) {
      later(s, s->opts.poll_ms, poll_head); /* wait for the chain to get there */
      return;
    }
    idle(s);
    return;
  }
  fetch_range(s);
}

/* A block tag's answer ("finalized", "safe"): false when the node has none. */
static bool tag_block(const idx_rpc_reply_t *r, idx_block_t *b) {
  char err[160];
  return !r->err && r->result && !json_is_null(r->result) &&
         idx_ethjson_block(r->result, b, err, sizeof err) == 0;
}

static void on_head(idx_sync_t *s, const idx_rpc_reply_t *r, size_t n) {
  uint64_t head = 0;
  if (n < 1 || r[0].err || idx_ethjson_quantity(r[0].result, &head)) {
    inconsistent(s, "eth_blockNumber");
    return;
  }
  if (head < s->head && s->head - head > REORG_WINDOW)
    idx_log_warn("sync", "head went back from %llu to %llu (a lagging node?)",
                 (unsigned long long)s->head, (unsigned long long)head);
  /* The node's finalized block (and safe block, when that is followed). */
  idx_block_t fin, safe;
  bool has_fin = n >= 2 && tag_block(&r[1], &fin);
  bool has_safe = n >= 3 && tag_block(&r[2], &safe);
  /* Above the head it says nothing sound (one node behind a balancer
   * answered one, another the other): not taken. */
  has_fin = has_fin && fin.number <= head;
  has_safe = has_safe && safe.number <= head;
  s->head = head;
  uint64_t conf = s->opts.confirmations;
  s->target = head > conf ? head - conf : 0;
  if (has_fin) {
    if (s->st.has_finalized && fin.number + REORG_WINDOW < s->st.finalized)
      idx_log_debug("sync", "the node's finalized block %llu is behind %llu (a lagging node?)",
                    (unsigned long long)fin.number, (unsigned long long)s->st.finalized);
    note_finalized(s, fin.number);
  } else if (s->opts.finality == IDX_FINALITY_FINALIZED && !s->finality_warned) {
    s->finality_warned = true;
    idx_log_warn("sync",
                 "the node does not name its finalized block: following the head minus "
                 "%llu confirmations",
                 (unsigned long long)conf);
  }
  /* A followed tag bounds the target when the node knows it. */
  if (s->opts.finality == IDX_FINALITY_FINALIZED && has_fin && fin.number < s->target)
    s->target = fin.number;
  if (s->opts.finality == IDX_FINALITY_SAFE && has_safe && safe.number < s->target)
    s->target = safe.number;
  s->st.head = s->head;
  s->st.target = s->target;
  after_target(s);
}

static void poll_head(idx_sync_t *s) {
  s->range_in_flight = false;
  if (s->stopping) {
    finish(s, 0, "stopped");
    return;
  }
  /* The finalized block is always asked: it says what can never be rolled
   * back, and answers can say whether they are final. */
  const char *m[3] = {"eth_blockNumber", "eth_getBlockByNumber", "eth_getBlockByNumber"};
  json_t *p[3] = {json_array(), json_pack("[s,b]", "finalized", 0), NULL};
  size_t n = 2;
  if (s->opts.finality == IDX_FINALITY_SAFE) {
    p[2] = json_pack("[s,b]", "safe", 0);
    n = 3;
  }
  send_batch(s, m, p, n, on_head);
}

/* ---- fetching a range ------------------------------------------------- */

static json_t *logs_filter(const idx_sync_t *s, bool token, uint64_t from, uint64_t to) {
  json_t *f = json_object();
  json_object_set_new(f, "fromBlock", quantity(from));
  json_object_set_new(f, "toBlock", quantity(to));
  json_object_set(f, "address", token ? s->token_address : s->main_addresses);
  json_object_set(f, "topics", token ? s->token_topics : s->main_topics);
  return json_pack("[o]", f);
}

/* #25: the DIMO token's transfers *into* a license contract (stake
 * deposits and stray tokens), for the contract's books. */
static json_t *logs_filter_in(const idx_sync_t *s, uint64_t from, uint64_t to) {
  json_t *f = json_pack("{s:o,s:o,s:O,s:O}", "fromBlock", quantity(from), "toBlock", quantity(to),
                        "address", s->token_address, "topics", s->token_topics_in);
  return json_pack("[o]", f);
}

/* #25: a transfer between two license contracts matches both token
 * filters; the outflow filter's answer keeps it. */
static bool token_from_license(const idx_sync_t *s, const idx_log_t *log) {
  if (log->ntopics != 3)
    return false;
  idx_addr_t from;
  memcpy(from.b, log->topics[1].b + 12, 20);
  const idx_contract_t *c = idx_network_contract(s->opts.net, &from);
  return c && c->license_class != IDX_CLASS_NONE;
}

static void on_range(idx_sync_t *s, const idx_rpc_reply_t *r, size_t n);

/* The range that starts at `from`: its last block and whether it is near
 * the head. */
static uint64_t range_end(const idx_sync_t *s, uint64_t from, bool *near_head) {
  uint64_t span = s->range.span;
  uint64_t to = from + span - 1 < from ? UINT64_MAX : from + span - 1;
  if (to > s->target)
    to = s->target;
  /* Near the head, every header is fetched and checked, in ranges of at
   * most near_cap blocks. A range reaching into that window from below
   * stops where it begins, so that the blocks below it go in one range
   * and only the last REORG_WINDOW blocks pay for headers. */
  uint64_t below_window = s->head > REORG_WINDOW ? s->head - REORG_WINDOW : 0;
  if (from <= below_window && to > below_window)
    to = below_window;
  *near_head = to + REORG_WINDOW > s->head;
  if (*near_head && to - from + 1 > s->near_cap)
    to = from + s->near_cap - 1;
  return to;
}

/* The JSON-RPC batch of a range: its logs, and the headers of its ends
 * (of every block near the head). Returns the number of requests. */
static size_t range_requests(const idx_sync_t *s, uint64_t from, uint64_t to, bool near_head,
                             const char **methods, json_t **params, req_kind_t *kinds,
                             uint64_t *numbers) {
  size_t k = 0;
  methods[k] = "eth_getLogs";
  params[k] = logs_filter(s, false, from, to);
  kinds[k++] = REQ_LOGS_MAIN;
  if (s->token_address) {
    methods[k] = "eth_getLogs";
    params[k] = logs_filter(s, true, from, to);
    kinds[k++] = REQ_LOGS_TOKEN;
    methods[k] = "eth_getLogs";
    params[k] = logs_filter_in(s, from, to);
    kinds[k++] = REQ_LOGS_TOKEN_IN;
  }
  for (uint64_t b = from; b <= to; b++) {
    if (!near_head && b != from && b != to)
      continue;
    char tag[24];
    (void)hex_block_tag(tag, sizeof tag, b);
    methods[k] = "eth_getBlockByNumber";
    params[k] = json_pack("[s,b]", tag, 0);
    numbers[k] = b;
    kinds[k++] = REQ_HEADER;
    if (b == UINT64_MAX)
      break;
  }
  return k;
}

static void release_replies(idx_rpc_reply_t *r, size_t n) {
  for (size_t i = 0; i < n; i++) {
    json_decref(r[i].result);
    json_decref(r[i].data);
    free((char *)r[i].message);
  }
}

static void prefetch_drop(prefetch_t *p) {
  release_replies(p->replies, p->n);
  memset(p->replies, 0, sizeof p->replies);
  p->ready = false;
  p->too_large = false;
  p->n = 0;
}

static void on_prefetch(void *ud, int status, const idx_rpc_reply_t *r, size_t n) {
  idx_sync_t *s = ud;
  prefetch_t *p = &s->pre;
  p->in_flight = false;
  if (s->finish_deferred) {
    finish(s, 0, "stopped");
    return;
  }
  if (s->finished)
    return;
  if (status == IDX_ERR_CANCELLED) {
    /* The client closed under us: stop (after the write in flight). */
    s->stopping = true;
    if (!s->job_busy)
      finish(s, IDX_ERR_CANCELLED, "JSON-RPC client closed under the sync engine");
    return;
  }
  /* Kept: a whole answer, or "too large" (the range handler shrinks the
   * range). Any other failure is dropped: the range is fetched again the
   * usual way, with the usual retries. */
  bool ok = status == 0 && n == p->n;
  for (size_t i = 0; ok && i < n; i++) {
    p->replies[i] = r[i];
    json_incref(p->replies[i].result);
    json_incref(p->replies[i].data);
    p->replies[i].message = r[i].message ? strdup(r[i].message) : NULL;
    ok = !r[i].message || p->replies[i].message;
  }
  p->too_large = status == IDX_ERR_TOO_LARGE;
  p->ready = ok || p->too_large;
  if (status == 0)
    p->url = idx_rpc_answered_by(s->opts.rpc);
  if (!p->ready)
    prefetch_drop(p);
  if (s->stopping && !s->job_busy) {
    finish(s, 0, "stopped");
    return;
  }
  if (p->awaited) {
    p->awaited = false;
    fetch_range(s);
  }
}

/* While the batch just handed to the store is written: send the next
 * range's batch, when that range is a backfill range. */
static void prefetch(idx_sync_t *s, uint64_t from) {
  prefetch_t *p = &s->pre;
  if (p->in_flight || p->ready || s->stopping || from == 0 || from > s->target)
    return;
  bool near_head;
  uint64_t to = range_end(s, from, &near_head);
  if (near_head)
    return;
  const char *methods[MAX_REQUESTS];
  json_t *params[MAX_REQUESTS];
  p->n = range_requests(s, from, to, false, methods, params, p->kinds, p->numbers);
  p->from = from;
  p->to = to;
  int rc = idx_rpc_batch(s->opts.rpc, methods, params, p->n, on_prefetch, s);
  for (size_t i = 0; i < p->n; i++)
    json_decref(params[i]);
  if (rc)
    p->n = 0; /* not sent: the range is fetched the usual way */
  else
    p->in_flight = true;
}

/* Hands the held prefetched answer to the range handler. */
static void use_prefetch(idx_sync_t *s) {
  prefetch_t *p = &s->pre;
  s->range_in_flight = true;
  s->near_head = false;
  s->fetch_from = p->from;
  s->fetch_to = p->to;
  s->nreq = p->n;
  memcpy(s->req_kinds, p->kinds, p->n * sizeof *p->kinds);
  memcpy(s->req_numbers, p->numbers, p->n * sizeof *p->numbers);
  s->st.prefetched++;
  s->answer_url = p->url;
  /* Taken out of the slot first: handling it may prefetch the next. */
  idx_rpc_reply_t held[MAX_REQUESTS];
  size_t n = p->n;
  bool too_large = p->too_large;
  memcpy(held, p->replies, n * sizeof *held);
  memset(p->replies, 0, sizeof p->replies);
  p->n = 0;
  p->ready = p->too_large = false;
  on_range(s, too_large ? NULL : held, too_large ? 0 : n);
  release_replies(held, n);
}

static void fetch_range(idx_sync_t *s) {
  prefetch_t *p = &s->pre;
  if (p->in_flight) {
    /* Wait for it: on arrival it is used, or dropped and the range asked
     * for again. */
    p->awaited = true;
    s->range_in_flight = true;
    return;
  }
  uint64_t from = next_block(s);
  bool near_head;
  uint64_t to = range_end(s, from, &near_head);
  if (p->ready) {
    /* Used when it is still the range we would ask for now (a reorg or a
     * moved cursor starts elsewhere; a head that went back may make it a
     * near-head range or put it above the target). */
    if (p->from == from && p->to <= to && !near_head) {
      use_prefetch(s);
      return;
    }
    prefetch_drop(p);
  }
  s->near_head = near_head;
  s->range_in_flight = true;
  s->fetch_from = from;
  s->fetch_to = to;
  const char *methods[MAX_REQUESTS];
  json_t *params[MAX_REQUESTS];
  s->nreq = range_requests(s, from, to, near_head, methods, params, s->req_kinds, s->req_numbers);
  send_batch(s, methods, params, s->nreq, on_range);
}

static void range_limited(idx_sync_t *s, const idx_logrange_advice_t *advice, const char *why) {
  uint64_t span = s->fetch_to - s->fetch_from + 1;
  uint64_t next = idx_logrange_limited(&s->range, s->fetch_from, span, advice);
  s->st.range_limits++;
  idx_log_warn("sync", "provider limit on blocks %llu..%llu (%s); range %llu -> %llu blocks",
               (unsigned long long)s->fetch_from, (unsigned long long)s->fetch_to, why,
               (unsigned long long)span, (unsigned long long)next);
  if (span == 1) {
    /* Cannot shrink further: treat as a transient fault of the node. */
    inconsistent(s, "limit on a single block");
    return;
  }
  fetch_range(s);
}

static idx_block_t *header_of(idx_sync_t *s, uint64_t number) {
  for (size_t i = 0; i < s->nblocks; i++) {
    if (s->blocks[i].number == number)
      return &s->blocks[i];
  }
  return NULL;
}

/* The three bloom bit positions of a value (Ethereum's logsBloom: bits
 * from the first three 16-bit pairs of keccak256, modulo 2048). */
static void bloom_bits(uint16_t out[3], const void *data, size_t n) {
  idx_hash_t h;
  idx_keccak256(&h, data, n);
  for (size_t i = 0; i < 3; i++)
    out[i] = (uint16_t)(((h.b[2 * i] << 8) | h.b[2 * i + 1]) & 2047);
}

static bool bloom_has(const uint8_t bloom[256], const uint16_t bits[3]) {
  for (size_t i = 0; i < 3; i++) {
    if (!(bloom[255 - bits[i] / 8] & (1u << (bits[i] % 8))))
      return false;
  }
  return true;
}

static bool bloom_any(const uint8_t bloom[256], uint16_t (*bits)[3], size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (bloom_has(bloom, bits[i]))
      return true;
  }
  return false;
}

/* Index of a near-head header in s->blocks, or SIZE_MAX. */
static size_t block_index(const idx_sync_t *s, uint64_t number) {
  for (size_t i = 0; i < s->nblocks; i++) {
    if (s->blocks[i].number == number)
      return i;
  }
  return SIZE_MAX;
}

/* Counts a suspicion against a block: true (ask again) unless the same
 * block was suspect three times in a row, which is taken as genuine. */
static bool suspect(idx_sync_t *s, uint64_t number, const char *why) {
  /* Five answers in a row: with a node dropping a twentieth of its
   * answers, three in a row for the same block happened in tests. */
  if (s->suspect_block == number && s->suspect_count >= 5) {
    idx_log_debug("sync", "block %llu: %s, five times: taken as genuine",
                  (unsigned long long)number, why);
    return false;
  }
  s->suspect_count = s->suspect_block == number ? s->suspect_count + 1 : 1;
  s->suspect_block = number;
  return true;
}

/* A node that answers eth_getLogs before it has indexed a block it already
 * reports (a lagging or load-balanced node) returns too few logs. Near the
 * head every header is at hand: when a block's logsBloom says our
 * contracts may have logged there but none came back, the answer is
 * suspect and is asked again (a bloom can match by chance, hence
 * suspect()). */
/* Bits set in a 2048-bit logsBloom. */
static unsigned bloom_popcount(const uint8_t bloom[256]) {
  unsigned n = 0;
  for (size_t i = 0; i < 256; i++)
    for (uint8_t b = bloom[i]; b; b &= (uint8_t)(b - 1))
      n++;
  return n;
}

/* Only a sparse bloom says anything: a busy Polygon block sets most of its
 * bits (hundreds of logs), and three given bits are then set by chance
 * for almost any address, so every such block would look suspect. Above a
 * tenth of the bits set the block is not judged by its bloom (the token
 * transfer check below and the hash checks still apply). */
enum { BLOOM_INFORMATIVE_MAX_BITS = 2048 / 10 };

static bool logs_missing(idx_sync_t *s) {
  for (size_t i = 0; i < s->nblocks && i < MAX_REQUESTS; i++) {
    if (!s->has_bloom[i] || s->main_seen[i])
      continue;
    const uint8_t *bloom = s->blooms[i];
    if (bloom_popcount(bloom) > BLOOM_INFORMATIVE_MAX_BITS)
      continue;
    if (bloom_any(bloom, s->main_addr_bits, s->n_main_addr) &&
        bloom_any(bloom, s->main_topic_bits, s->n_main_topic) &&
        suspect(s, s->blocks[i].number, "bloom matches but no logs came back"))
      return true;
  }
  return false;
}

/* Stake leaving a license contract is always a DIMO token Transfer out of
 * it in the same transaction: a withdraw, slash or unstake whose transfer
 * did not come back means the token's eth_getLogs answer was incomplete. */
static bool moves_stake_out(const idx_log_t *l) {
  static const struct {
    const char *role, *event;
  } outs[] = {
      {"app_license", "StakeWithdraw"},
      {"app_license", "AssetForfeit"},
      {"manufacturer_license", "UnstakeTokens"},
      {"manufacturer_license", "EmergencyWithdrawal"},
  };
  for (size_t i = 0; l->role && i < IDX_ARRAY_LEN(outs); i++) {
    if (strcmp(l->role, outs[i].role) == 0 && strcmp(l->event_name, outs[i].event) == 0)
      return true;
  }
  return false;
}

/* Logs are sorted. */
static bool transfers_missing(idx_sync_t *s) {
  if (!s->token_address)
    return false;
  size_t block_start = 0;
  for (size_t i = 0; i < s->nlogs; i++) {
    const idx_log_t *l = &s->logs[i];
    if (i && l->block_number != s->logs[i - 1].block_number)
      block_start = i;
    if (!moves_stake_out(l))
      continue;
    bool found = false;
    /* Same transaction, so same block: look only there. */
    for (size_t k = block_start;
         k < s->nlogs && !found && s->logs[k].block_number == l->block_number; k++) {
      const idx_log_t *t = &s->logs[k];
      found = t->block_number == l->block_number && memcmp(t->tx_hash.b, l->tx_hash.b, 32) == 0 &&
              t->role && strcmp(t->role, "dimo_token") == 0 && t->ntopics == 3 &&
              memcmp(t->topics[1].b + 12, l->address.b, 20) == 0;
    }
    if (!found && suspect(s, l->block_number, "a stake movement without its token transfer"))
      return true;
  }
  return false;
}

static int push_log(idx_sync_t *s, const idx_log_t *log) {
  if (s->nlogs == s->logs_cap) {
    size_t cap = s->logs_cap ? s->logs_cap * 2 : 1024;
    idx_log_t *p = realloc(s->logs, cap * sizeof *p);
    if (!p)
      return IDX_ERR_NOMEM;
    s->logs = p;
    s->logs_cap = cap;
  }
  s->logs[s->nlogs++] = *log;
  return 0;
}

static int push_block(idx_sync_t *s, const idx_block_t *b) {
  if (s->nblocks == s->blocks_cap) {
    size_t cap = s->blocks_cap ? s->blocks_cap * 2 : 256;
    idx_block_t *p = realloc(s->blocks, cap * sizeof *p);
    if (!p)
      return IDX_ERR_NOMEM;
    s->blocks = p;
    s->blocks_cap = cap;
  }
  s->blocks[s->nblocks++] = *b;
  return 0;
}

static int cmp_log(const void *a, const void *b) {
  const idx_log_t *x = a, *y = b;
  if (x->block_number != y->block_number)
    return x->block_number < y->block_number ? -1 : 1;
  return x->log_index < y->log_index ? -1 : x->log_index > y->log_index ? 1 : 0;
}

typedef enum decoded_e {
  DECODED,      /* stored */
  DECODED_SKIP, /* no event of ours (counted as unknown) */
  DECODED_BAD,  /* an event of ours whose bytes do not decode */
} decoded_t;

/* Decodes one raw log against its contract's ABI. A log under a topic0
 * and topic count the ABI knows whose bytes do not decode is not skipped:
 * the contract cannot have emitted it, so the answer is corrupt
 * (DECODED_BAD, a provider fault asked again); nothing is lost. A topic
 * count no event has (IDX_ERR_ABI_TOPICS) is an event generation the ABI
 * lacks: skipped and counted. */
static decoded_t decode_log(idx_sync_t *s, idx_log_t *log, char *why, size_t whylen) {
  const idx_contract_t *c = idx_network_contract(s->opts.net, &log->address);
  if (!c)
    return DECODED_SKIP;
  idx_abi_decoded_t d;
  int rc = idx_abi_decode(&c->abi, log->topics, log->ntopics, log->data, log->data_len, &d);
  if (rc || !d.event) {
    char tx[67];
    idx_hash_to_hex(tx, &log->tx_hash);
    if (rc && rc != IDX_ERR_ABI_TOPICS) {
      snprintf(why, whylen, "log %u of tx %s in block %llu does not decode under its event: %s",
               log->log_index, tx, (unsigned long long)log->block_number, idx_strerror(rc));
      return DECODED_BAD;
    }
    if (rc)
      idx_log_warn("sync", "skipping log %u of tx %s in block %llu: %s", log->log_index, tx,
                   (unsigned long long)log->block_number, idx_strerror(rc));
    return DECODED_SKIP;
  }
  idx_buf_reset(&s->args_json); /* one buffer for every log: no allocation per log */
  rc = idx_abi_decoded_to_json(&d, &s->args_json);
  if (rc == 0) {
    log->args_json = idx_arena_dup(&s->arena, s->args_json.data, s->args_json.len);
    log->event = d.event->signature;
    log->event_name = d.event->name;
    log->role = idx_role_name(c->role);
  }
  if (rc == 0 && log->args_json)
    return DECODED;
  snprintf(why, whylen, "out of batch memory decoding a log");
  return DECODED_BAD;
}

static void write_batch(idx_sync_t *s);
static void fetch_log_headers(idx_sync_t *s);
static void plan_admin_txs(idx_sync_t *s);
static void fetch_admin_txs(idx_sync_t *s);
static void send_log_headers(idx_sync_t *s);

static void reset_batch(idx_sync_t *s) {
  idx_arena_reset(&s->arena);
  s->nlogs = 0;
  s->nblocks = 0;
  s->unknown = 0;
}

static void on_range(idx_sync_t *s, const idx_rpc_reply_t *r, size_t n) {
  if (!r) {
    idx_logrange_advice_t none = {0};
    none.is_limit = true;
    range_limited(s, &none, "answer larger than --rpc-max-response");
    return;
  }
  if (n != s->nreq) {
    inconsistent(s, "reply count");
    return;
  }
  reset_batch(s);
  char err[256];

  /* Headers first: they decide reorg and consistency. */
  for (size_t i = 0; i < n; i++) {
    if (s->req_kinds[i] != REQ_HEADER)
      continue;
    idx_block_t b;
    if (r[i].err || json_is_null(r[i].result)) {
      inconsistent(s, "header not found");
      return;
    }
    if (idx_ethjson_block(r[i].result, &b, err, sizeof err) || b.number != s->req_numbers[i]) {
      inconsistent(s, "malformed header");
      return;
    }
    size_t slot = s->nblocks;
    if (slot < MAX_REQUESTS) {
      json_t *bloom = json_object_get(r[i].result, "logsBloom");
      const char *hex = json_string_value(bloom);
      s->has_bloom[slot] =
          s->near_head && hex &&
          idx_hex_decode_exact(s->blooms[slot], 256, hex, json_string_length(bloom)) == 0;
      s->main_seen[slot] = 0;
    }
    if (push_block(s, &b)) {
      finish(s, IDX_ERR_NOMEM, "out of memory");
      return;
    }
  }
  idx_block_t *first = header_of(s, s->fetch_from);
  idx_block_t *last = header_of(s, s->fetch_to);
  if (!first || !last) {
    inconsistent(s, "range headers missing");
    return;
  }
  if (s->has_cursor && s->cursor + 1 == s->fetch_from &&
      memcmp(first->parent_hash.b, s->cursor_hash.b, 32) != 0) {
    if (is_final(s, s->cursor)) {
      provider_fault(s, "a header's parent contradicts the stored final tip");
      return;
    }
    start_reorg(s);
    return;
  }
  if (s->near_head) {
    for (size_t i = 1; i < s->nblocks; i++) {
      if (memcmp(s->blocks[i].parent_hash.b, s->blocks[i - 1].hash.b, 32) != 0) {
        inconsistent(s, "headers of the range do not chain");
        return;
      }
    }
  }

  /* Then the logs. */
  for (size_t i = 0; i < n; i++) {
    if (s->req_kinds[i] == REQ_HEADER)
      continue;
    if (r[i].err) {
      idx_logrange_advice_t advice;
      char *data = r[i].data ? json_dumps(r[i].data, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
      idx_logrange_classify(r[i].code, r[i].message, data, &advice);
      free(data);
      if (advice.is_limit) {
        range_limited(s, &advice, r[i].message ? r[i].message : "limit");
        return;
      }
      char what[200];
      snprintf(what, sizeof what, "eth_getLogs error %ld: %s", r[i].code,
               r[i].message ? r[i].message : "");
      inconsistent(s, what);
      return;
    }
    json_t *arr = r[i].result;
    if (!json_is_array(arr)) {
      inconsistent(s, "eth_getLogs result is not an array");
      return;
    }
    size_t idx;
    json_t *item;
    json_array_foreach(arr, idx, item) {
      idx_log_t log;
      bool removed = false;
      int rc = idx_ethjson_log(item, &s->arena, &log, &removed, err, sizeof err);
      if (rc == IDX_ERR_TOO_LARGE) {
        idx_logrange_advice_t none = {0};
        none.is_limit = true;
        range_limited(s, &none, "batch memory cap");
        return;
      }
      if (rc) {
        inconsistent(s, err);
        return;
      }
      if (removed || log.block_number < s->fetch_from || log.block_number > s->fetch_to) {
        inconsistent(s, removed ? "removed log" : "log outside the range");
        return;
      }
      idx_block_t *h = header_of(s, log.block_number);
      if (h && memcmp(h->hash.b, log.block_hash.b, 32) != 0) {
        provider_fault(s, "a log's block hash differs from its block's header");
        return;
      }
      if (h && log.block_time < 0)
        log.block_time = h->time;
      if (s->req_kinds[i] == REQ_LOGS_TOKEN_IN && token_from_license(s, &log))
        continue; /* #25: already in the outflow answer */
      size_t slot = block_index(s, log.block_number);
      if (slot < MAX_REQUESTS && s->req_kinds[i] == REQ_LOGS_MAIN)
        s->main_seen[slot]++;
      decoded_t dec = decode_log(s, &log, err, sizeof err);
      if (dec == DECODED_BAD) {
        provider_fault(s, err);
        return;
      }
      if (dec == DECODED_SKIP) {
        s->unknown++;
        continue;
      }
      if (push_log(s, &log)) {
        finish(s, IDX_ERR_NOMEM, "out of memory");
        return;
      }
    }
  }
  if (s->near_head && logs_missing(s)) {
    char what[96];
    snprintf(what, sizeof what, "no logs for block %llu although its bloom matches",
             (unsigned long long)s->suspect_block);
    inconsistent(s, what);
    return;
  }
  qsort(s->logs, s->nlogs, sizeof *s->logs, cmp_log);
  if (transfers_missing(s)) {
    char what[96];
    snprintf(what, sizeof what, "a stake movement in block %llu lacks its token transfer",
             (unsigned long long)s->suspect_block);
    inconsistent(s, what);
    return;
  }
  for (size_t i = 1; i < s->nlogs; i++) {
    if (s->logs[i].block_number == s->logs[i - 1].block_number &&
        s->logs[i].log_index == s->logs[i - 1].log_index) {
      inconsistent(s, "duplicate log index");
      return;
    }
  }
  idx_logrange_success(&s->range, s->fetch_to - s->fetch_from + 1, s->nlogs);
  s->time_next = 0;
  fetch_log_headers(s);
}

/* Every stored log's block hash is checked against its block's header:
 * near the head every header is in the range's batch, in backfill only its
 * first and last, so the headers of the other blocks that have logs are
 * fetched here (batched; DIMO's logs are sparse). A log whose hash differs
 * is a provider fault: nothing of the range is stored. The headers also
 * give timestamps to nodes whose logs lack blockTimestamp. */
static void on_log_headers(idx_sync_t *s, const idx_rpc_reply_t *r, size_t n) {
  char err[160];
  if (!r) {
    inconsistent(s, "header answer too large");
    return;
  }
  if (n != s->hdr_n) {
    inconsistent(s, "header reply count");
    return;
  }
  /* Headers a lagging node does not have yet ("header not found", null)
   * are asked for again, alone, a few times: one missing header among
   * two hundred does not throw the range away. */
  idx_block_t hb[TIME_BATCH_MAX];
  size_t m = 0, nmissing = 0;
  for (size_t j = 0; j < n; j++) {
    if (r[j].err || json_is_null(r[j].result)) {
      s->hdr_numbers[nmissing++] = s->hdr_numbers[j]; /* ascending, j >= nmissing */
      continue;
    }
    if (idx_ethjson_block(r[j].result, &hb[m], err, sizeof err) ||
        hb[m].number != s->hdr_numbers[j]) {
      provider_fault(s, "a malformed header of a block with logs");
      return;
    }
    m++;
  }
  s->st.log_headers += m;
  if (nmissing && ++s->hdr_tries > HEADER_TRIES) {
    inconsistent(s, "header of a block with logs not found");
    return;
  }
  /* Logs are sorted and the headers were asked in block order. */
  size_t j = 0;
  n = m;
  for (size_t i = s->hdr_log_from; i < s->time_next && j < n; i++) {
    idx_log_t *log = &s->logs[i];
    while (j < n && hb[j].number < log->block_number)
      j++;
    if (j == n || hb[j].number != log->block_number)
      continue; /* its header came with the range */
    if (memcmp(log->block_hash.b, hb[j].hash.b, 32) != 0) {
      char what[160];
      snprintf(what, sizeof what, "a log's block hash differs from the header of block %llu",
               (unsigned long long)log->block_number);
      provider_fault(s, what);
      return;
    }
    log->block_time = hb[j].time;
  }
  if (nmissing) {
    s->hdr_n = nmissing;
    later(s, 50ull << (s->hdr_tries < 5 ? s->hdr_tries : 5), send_log_headers);
    return;
  }
  fetch_log_headers(s);
}

/* Asks for the headers in s->hdr_numbers[0..hdr_n). */
static void send_log_headers(idx_sync_t *s) {
  const char *methods[TIME_BATCH_MAX];
  json_t *params[TIME_BATCH_MAX];
  for (size_t k = 0; k < s->hdr_n; k++) {
    char tag[24];
    (void)hex_block_tag(tag, sizeof tag, s->hdr_numbers[k]);
    methods[k] = "eth_getBlockByNumber";
    params[k] = json_pack("[s,b]", tag, 0);
  }
  send_batch(s, methods, params, s->hdr_n, on_log_headers);
}

static void fetch_log_headers(idx_sync_t *s) {
  size_t k = 0;
  uint64_t last = UINT64_MAX;
  s->hdr_log_from = s->time_next;
  s->hdr_tries = 0;
  for (; s->time_next < s->nlogs; s->time_next++) {
    idx_log_t *log = &s->logs[s->time_next];
    if (log->block_number == last || header_of(s, log->block_number))
      continue;
    if (k == TIME_BATCH_MAX)
      break; /* the next batch starts with this log's block */
    last = log->block_number;
    s->hdr_numbers[k++] = log->block_number;
  }
  s->hdr_n = k;
  if (k) {
    send_log_headers(s);
    return;
  }
  plan_admin_txs(s); /* #25: then write_batch */
}

/* ---- #25 accountability hook (lead: port to the split follower) -------- */
/* Between the checked range and its write: the senders of the range's
 * admin transactions (indexer/txfetch.c decides which, builds and checks),
 * asked in batches through the same client (its limits and failover), and
 * handed to the store with the batch, which writes them in the batch's own
 * transaction. A missing or contradicting answer throws the range away like
 * any inconsistent answer. */
static void on_admin_txs(idx_sync_t *s, const idx_rpc_reply_t *r, size_t n) {
  char why[200];
  if (idx_txfetch_take(&s->txf, r, n, why, sizeof why)) {
    inconsistent(s, why);
    return;
  }
  fetch_admin_txs(s);
}

static void fetch_admin_txs(idx_sync_t *s) {
  const char *methods[IDX_TXFETCH_BATCH];
  json_t *params[IDX_TXFETCH_BATCH];
  size_t n = idx_txfetch_next(&s->txf, methods, params, IDX_TXFETCH_BATCH);
  if (n) {
    send_batch(s, methods, params, n, on_admin_txs);
    return;
  }
  s->batch.txs = idx_txfetch_txs(&s->txf, &s->batch.ntxs);
  write_batch(s);
}

static void plan_admin_txs(idx_sync_t *s) {
  int rc = idx_txfetch_plan(&s->txf, s->logs, s->nlogs);
  if (rc == IDX_ERR_NOMEM) {
    finish(s, rc, "out of memory");
    return;
  }
  if (rc) {
    idx_logrange_advice_t none = {0};
    none.is_limit = true;
    range_limited(s, &none, "too many admin transactions in one range");
    return;
  }
  fetch_admin_txs(s);
}
/* ---- end of the #25 hook ---------------------------------------------- */

/* ---- writing ---------------------------------------------------------- */

static void progress(idx_sync_t *s) {
  if (!s->opts.progress)
    return;
  uint64_t now = now_ns();
  if (s->progress_first_ns == 0) {
    s->progress_first_ns = s->progress_last_ns = now;
    s->progress_start_block = s->cursor;
    s->progress_start_logs = s->st.logs;
    return;
  }
  if (now - s->progress_last_ns < 2000000000ull && s->cursor < s->target)
    return;
  s->progress_last_ns = now;
  double secs = (double)(now - s->progress_first_ns) / 1e9;
  if (secs <= 0)
    return;
  double bps = (double)(s->cursor - s->progress_start_block) / secs;
  double eps = (double)(s->st.logs - s->progress_start_logs) / secs;
  uint64_t left = s->target > s->cursor ? s->target - s->cursor : 0;
  double eta = bps > 0 ? (double)left / bps : 0;
  idx_log_info("sync", "block %llu of %llu: %.0f blocks/s, %.0f events/s, ETA %.0fs",
               (unsigned long long)s->cursor, (unsigned long long)s->target, bps, eps, eta);
}

static void write_batch(idx_sync_t *s) {
  idx_block_t *last = header_of(s, s->fetch_to);
  if (!last) {
    inconsistent(s, "range end header missing");
    return;
  }
  s->batch.chain_id = s->opts.net->chain_id;
  s->batch.from_block = s->fetch_from;
  s->batch.to_block = s->fetch_to;
  s->batch.to_hash = last->hash;
  s->batch.blocks = s->blocks;
  s->batch.nblocks = s->nblocks;
  s->batch.logs = s->logs;
  s->batch.nlogs = s->nlogs;
  s->batch.unknown_logs = s->unknown;
  /* Near the head, with the model caught up, the batch derives it itself
   * (the lowest latency); otherwise the second connection does, later. */
  s->batch.defer_model = !(s->near_head && model_current(s));
  memset(&s->job, 0, sizeof s->job);
  s->job.kind = JOB_WRITE;
  if (s->st.has_finalized && s->st.finalized > s->finalized_stored)
    s->job.finalized = s->st.finalized;
  queue_job(s);
  if (!s->near_head && s->job_busy)
    prefetch(s, s->fetch_to + 1);
}

static void after_write(idx_sync_t *s) {
  s->range_in_flight = false;
  answers_sound(s);
  if (s->job.finalized > s->finalized_stored)
    s->finalized_stored = s->job.finalized;
  if (s->near_cap < REORG_WINDOW)
    s->near_cap = s->near_cap * 2 < REORG_WINDOW ? s->near_cap * 2 : REORG_WINDOW;
  s->has_cursor = true;
  s->cursor = s->batch.to_block;
  s->cursor_hash = s->batch.to_hash;
  s->st.has_cursor = true;
  s->st.cursor = s->cursor;
  s->st.batches++;
  s->st.logs += s->batch.nlogs;
  s->st.unknown_logs += s->batch.unknown_logs;
  s->st.range = s->range.span;
  s->st.last_batch_ms = s->job.ms;
  s->docs_stale = true; /* the batch may have deferred some (cheap to ask) */
  if (s->batch.defer_model) {
    s->derive_goal = s->batch.to_block;
    derive_kick(s);
  } else {
    s->st.has_model = true;
    s->st.model_block = s->batch.to_block;
  }
  idx_log_debug("sync", "blocks %llu..%llu: %zu logs in %.1f ms",
                (unsigned long long)s->batch.from_block, (unsigned long long)s->batch.to_block,
                s->batch.nlogs, s->job.ms);
  progress(s);
  if (s->opts.on_commit)
    s->opts.on_commit(s->opts.on_commit_ud, &s->st, false);
  if (s->stopping) {
    finish(s, 0, "stopped");
    return;
  }
  after_target(s);
}

/* ---- reorgs ----------------------------------------------------------- */

static void start_reorg(idx_sync_t *s) {
  s->range_in_flight = false;
  s->reorg_from_cursor = s->cursor;
  s->fork_pass = 0;
  memset(&s->job, 0, sizeof s->job);
  s->job.kind = JOB_BLOCKS;
  s->job.to = s->cursor;
  s->job.from = s->cursor > REORG_WINDOW ? s->cursor - REORG_WINDOW : 0;
  queue_job(s);
}

static void after_blocks(idx_sync_t *s);

/* A rollback needs two fork searches that agree (a node that invents four
 * headers must invent them twice, the same), and never removes a final
 * block: a fork point below the finalized block is a provider fault.
 * Returns true when the rollback in s->job may go ahead. */
static bool fork_confirmed(idx_sync_t *s) {
  store_job_t *j = &s->job;
  if (j->keep_block >= s->reorg_from_cursor) {
    /* Every stored header is canonical: the answer that started the search
     * (a tip or parent hash) is not confirmed. */
    s->st.reorgs_refused++;
    provider_fault(s, "a changed tip hash that the fork search does not confirm");
    return false;
  }
  if (is_final(s, j->keep_block + 1)) {
    char what[160];
    snprintf(what, sizeof what, "a fork below finalized block %llu (would roll back to %llu)",
             (unsigned long long)s->st.finalized, (unsigned long long)j->keep_block);
    s->st.reorgs_refused++;
    provider_fault(s, what);
    return false;
  }
  if (s->fork_pass++ == 0) {
    s->fork_keep = j->keep_block;
    s->fork_keep_hash = j->keep_hash;
    after_blocks(s); /* ask again */
    return false;
  }
  if (s->fork_keep != j->keep_block || memcmp(s->fork_keep_hash.b, j->keep_hash.b, 32) != 0) {
    char what[160];
    snprintf(what, sizeof what, "two fork searches disagree (blocks %llu and %llu)",
             (unsigned long long)s->fork_keep, (unsigned long long)j->keep_block);
    s->st.reorgs_refused++;
    inconsistent(s, what);
    return false;
  }
  return true;
}

static void on_fork_headers(idx_sync_t *s, const idx_rpc_reply_t *r, size_t n) {
  store_job_t *j = &s->job;
  if (!r || n != j->nblocks + 1) {
    inconsistent(s, "fork search answer");
    return;
  }
  /* The highest stored header still canonical is the fork point. */
  char err[160];
  bool found = false;
  for (size_t i = j->nblocks; i-- > 0 && !found;) {
    idx_block_t b;
    if (r[i].err || json_is_null(r[i].result) ||
        idx_ethjson_block(r[i].result, &b, err, sizeof err))
      continue;
    if (memcmp(b.hash.b, j->blocks[i].hash.b, 32) == 0) {
      j->keep_block = b.number;
      j->keep_hash = b.hash;
      found = true;
    }
  }
  if (!found) {
    /* Deeper than the window: keep the block below the oldest stored one. */
    idx_block_t b;
    if (r[n - 1].err || json_is_null(r[n - 1].result) ||
        idx_ethjson_block(r[n - 1].result, &b, err, sizeof err)) {
      inconsistent(s, "header below the reorg window");
      return;
    }
    j->keep_block = b.number;
    j->keep_hash = b.hash;
    idx_log_warn("sync", "reorg deeper than the %d-block window", REORG_WINDOW);
  }
  if (!fork_confirmed(s))
    return;
  j->kind = JOB_ROLLBACK;
  j->reconnect_first = false;
  if (s->derive_busy) {
    s->rollback_waiting = true; /* never beside a derivation */
    return;
  }
  queue_job(s);
}

static void after_blocks(idx_sync_t *s) {
  store_job_t *j = &s->job;
  const char *methods[REORG_WINDOW + 2];
  json_t *params[REORG_WINDOW + 2];
  size_t k = 0;
  for (; k < j->nblocks; k++) {
    char tag[24];
    (void)hex_block_tag(tag, sizeof tag, j->blocks[k].number);
    methods[k] = "eth_getBlockByNumber";
    params[k] = json_pack("[s,b]", tag, 0);
  }
  uint64_t below = j->nblocks ? j->blocks[0].number : s->cursor;
  char tag[24];
  (void)hex_block_tag(tag, sizeof tag, below > 0 ? below - 1 : 0);
  methods[k] = "eth_getBlockByNumber";
  params[k++] = json_pack("[s,b]", tag, 0);
  send_batch(s, methods, params, k, on_fork_headers);
}

static void after_rollback(idx_sync_t *s) {
  uint64_t depth = s->reorg_from_cursor - s->job.keep_block;
  if (s->st.model_block > s->job.keep_block)
    s->st.model_block = s->job.keep_block;
  if (s->derive_goal > s->job.keep_block)
    s->derive_goal = s->job.keep_block;
  s->cursor = s->job.keep_block;
  s->cursor_hash = s->job.keep_hash;
  s->st.cursor = s->cursor;
  s->st.reorgs++;
  s->st.last_reorg_depth = depth;
  if (depth > s->st.max_reorg_depth)
    s->st.max_reorg_depth = depth;
  idx_log_warn("sync", "reorg: rolled back %llu block(s) above %llu (reorg #%llu)",
               (unsigned long long)depth, (unsigned long long)s->cursor,
               (unsigned long long)s->st.reorgs);
  answers_sound(s);
  s->docs_stale = true; /* the rollback may have marked documents stale */
  if (s->opts.on_commit)
    s->opts.on_commit(s->opts.on_commit_ud, &s->st, true);
  poll_head(s);
}

static void after_docs(idx_sync_t *s) {
  s->st.docs_built += s->job.docs_built;
  s->docs_drained += s->job.docs_built;
  if (s->job.docs_built)
    idx_log_debug("sync", "built %u stale license document(s) in %.1f ms", s->job.docs_built,
                  s->job.ms);
  if (s->job.docs_built < DOCS_PER_JOB) {
    s->docs_stale = false;
    if (s->docs_drained)
      idx_log_info("sync", "built %llu license document(s) deferred by backfill batches",
                   (unsigned long long)s->docs_drained);
    s->docs_drained = 0;
  }
  if (s->stopping) {
    finish(s, 0, "stopped");
    return;
  }
  if (s->finish_after_docs) {
    if (s->docs_stale) {
      build_docs(s);
      return;
    }
    s->finish_after_docs = false;
  }
  after_target(s);
}

/* ---- store job completion --------------------------------------------- */

static void standby_retry(idx_sync_t *s) {
  memset(&s->job, 0, sizeof s->job);
  s->job.kind = JOB_OPEN;
  queue_job(s);
}

static void on_job_done(idx_sync_t *s) {
  store_job_t *j = &s->job;
  if (j->rc == IDX_ERR_STANDBY) {
    /* Another instance holds the writer lock: wait, and take over when it
     * goes (its connection closes and PostgreSQL releases the lock). */
    if (!s->standby)
      idx_log_info("sync", "standby: another instance is writing chain %llu; waiting for its lock",
                   (unsigned long long)s->opts.net->chain_id);
    s->standby = true;
    s->st.standby = true;
    s->need_lock = true;
    if (s->stopping) {
      finish(s, 0, "stopped");
      return;
    }
    later(s, s->opts.poll_ms, standby_retry);
    return;
  }
  if (j->rc == IDX_ERR_DB_CONN || (j->kind == JOB_OPEN && j->rc && !s->store)) {
    s->db_failures++;
    idx_log_warn("sync", "database unavailable (%s); retry %u", j->err, s->db_failures);
    if (s->opts.max_db_attempts && s->db_failures >= s->opts.max_db_attempts) {
      char msg[640];
      snprintf(msg, sizeof msg, "database unavailable: %s", j->err);
      finish(s, IDX_ERR_DB_CONN, msg);
      return;
    }
    if (s->stopping) {
      finish(s, 0, "stopped");
      return;
    }
    later(s, backoff_ms(s->db_failures), retry_job);
    return;
  }
  if (j->rc == IDX_ERR_CONFLICT) {
    /* Someone else moved the cursor (a second writer or a manual change):
     * re-read it and carry on from there. */
    idx_log_warn("sync", "store cursor moved under us (%s); re-reading it", j->err);
    memset(j, 0, sizeof *j);
    j->kind = JOB_OPEN;
    queue_job(s);
    return;
  }
  if (j->rc) {
    char msg[640];
    snprintf(msg, sizeof msg, "%s: %s",
             j->rc == IDX_ERR_CONFIG ? "configuration error" : "database error", j->err);
    finish(s, j->rc, msg);
    return;
  }
  s->db_failures = 0;
  switch (j->kind) {
  case JOB_OPEN:
    if (s->standby)
      idx_log_info("sync", "took the writer lock: this instance writes now");
    s->standby = false;
    s->st.standby = false;
    s->has_cursor = j->found;
    s->cursor = j->last_block;
    s->cursor_hash = j->last_hash;
    s->st.has_cursor = j->found;
    s->st.cursor = j->last_block;
    if (j->found_finalized) {
      note_finalized(s, j->finalized);
      if (j->finalized > s->finalized_stored)
        s->finalized_stored = j->finalized;
    }
    if (j->migrations)
      idx_log_info("sync", "applied %d schema migration(s)", j->migrations);
    /* Batches written before a crash may wait for their model. */
    s->st.has_model = false; /* read again by the derivation below */
    s->derive_goal = j->found ? j->last_block : 0;
    derive_kick(s);
    if (s->stopping) {
      finish(s, 0, "stopped");
      return;
    }
    check_chain_id(s);
    break;
  case JOB_WRITE:
    after_write(s);
    break;
  case JOB_BLOCKS:
    after_blocks(s);
    break;
  case JOB_ROLLBACK:
    after_rollback(s);
    break;
  case JOB_DOCS:
    after_docs(s);
    break;
  }
}

/* ---- filters, lifecycle ----------------------------------------------- */

static int build_blooms(idx_sync_t *s) {
  const idx_network_t *net = s->opts.net;
  size_t ntopics = 0;
  for (size_t i = 0; i < net->ncontracts; i++)
    ntopics += net->contracts[i].abi.nevents;
  s->main_addr_bits = calloc(net->ncontracts + 1, sizeof *s->main_addr_bits);
  s->main_topic_bits = calloc(ntopics + 1, sizeof *s->main_topic_bits);
  if (!s->main_addr_bits || !s->main_topic_bits)
    return IDX_ERR_NOMEM;
  for (size_t i = 0; i < net->ncontracts; i++) {
    const idx_contract_t *c = &net->contracts[i];
    if (c->role == IDX_ROLE_DIMO_TOKEN)
      continue;
    bloom_bits(s->main_addr_bits[s->n_main_addr++], c->address.b, 20);
    for (size_t e = 0; e < c->abi.nevents; e++)
      bloom_bits(s->main_topic_bits[s->n_main_topic++], c->abi.events[e].topic0.b, 32);
  }
  return 0;
}

static int build_filters(idx_sync_t *s) {
  const idx_network_t *net = s->opts.net;
  s->main_addresses = json_array();
  s->main_topics = json_array();
  json_t *topic0s = json_array();
  json_t *license_froms = json_array();
  if (!s->main_addresses || !s->main_topics || !topic0s || !license_froms)
    return IDX_ERR_NOMEM;
  for (size_t i = 0; i < net->ncontracts; i++) {
    const idx_contract_t *c = &net->contracts[i];
    char hex[67];
    if (c->role == IDX_ROLE_DIMO_TOKEN) {
      if (s->token_address)
        continue; /* one token; extra entries share the first's filter */
      idx_addr_to_hex(hex, &c->address);
      s->token_address = json_string(hex);
      continue;
    }
    idx_addr_to_hex(hex, &c->address);
    json_array_append_new(s->main_addresses, json_string(hex));
    if (c->license_class != IDX_CLASS_NONE) {
      /* Transfers out of a license contract: topic1 = from, padded. */
      char padded[67] = "0x000000000000000000000000";
      memcpy(padded + 26, hex + 2, 40);
      padded[66] = '\0';
      json_array_append_new(license_froms, json_string(padded));
    }
    for (size_t e = 0; e < c->abi.nevents; e++) {
      idx_hash_to_hex(hex, &c->abi.events[e].topic0);
      bool dup = false;
      size_t k;
      json_t *v;
      json_array_foreach(topic0s, k, v) dup |= strcmp(json_string_value(v), hex) == 0;
      if (!dup)
        json_array_append_new(topic0s, json_string(hex));
    }
  }
  json_array_append_new(s->main_topics, topic0s);
  if (s->token_address) {
    char t0[67];
    static const char transfer[] = "Transfer(address,address,uint256)";
    idx_hash_t h;
    idx_keccak256(&h, transfer, sizeof transfer - 1);
    idx_hash_to_hex(t0, &h);
    s->token_topics_in = json_pack("[[s],n,O]", t0, license_froms); /* #25: same list as `to` */
    s->token_topics = json_pack("[[s],o]", t0, license_froms);
  } else {
    json_decref(license_froms);
  }
  return 0;
}

int idx_sync_start(idx_sync_t **out, uv_loop_t *loop, const idx_sync_options_t *opts,
                   idx_sync_done_cb cb, void *ud) {
  idx_sync_t *s = calloc(1, sizeof *s);
  if (!s)
    return IDX_ERR_NOMEM;
  s->loop = loop;
  s->opts = *opts;
  s->done_cb = cb;
  s->done_ud = ud;
  idx_arena_init(&s->arena, 1 << 20, BATCH_MEMORY_MAX);
  idx_buf_init(&s->args_json, IDX_ETHJSON_MAX_LOG_DATA * 4);
  idx_logrange_init(&s->range, opts->initial_range, opts->max_range);
  s->st.range = s->range.span;
  int rc = build_filters(s);
  if (rc == 0)
    rc = build_blooms(s);
  if (rc == 0)
    rc = idx_txfetch_init(&s->txf, opts->net); /* #25 */
  if (rc) {
    idx_sync_free(s);
    return rc;
  }
  uv_timer_init(loop, &s->timer);
  s->timer.data = s;
  s->need_lock = true;
  s->near_cap = REORG_WINDOW;
  srand((unsigned)(now_ns() ^ (uint64_t)(uintptr_t)s));
  memset(&s->job, 0, sizeof s->job);
  s->job.kind = JOB_OPEN;
  queue_job(s);
  *out = s;
  return 0;
}

void idx_sync_stop(idx_sync_t *s) {
  if (s->finished || s->stop_requested)
    return;
  s->stop_requested = true;
  if (s->st.halted) {
    if (!in_flight(s) && !s->rpc_busy)
      finish(s, s->halt_status, s->st.halt_reason);
    return;
  }
  if (s->stopping)
    return;
  s->stopping = true;
  /* A store job in flight finishes (commit or rollback inside the
   * database) and its completion sees `stopping`; an RPC in flight is
   * answered or cancelled by the rpc client's close; a timer is cut short. */
  if (!s->job_busy && !s->rpc_busy && !s->pre.in_flight && !s->derive_busy) {
    uv_timer_stop(&s->timer);
    finish(s, 0, "stopped");
  }
}

static void timer_closed(uv_handle_t *h) {
  idx_sync_t *s = h->data;
  idx_store_close(s->store);
  idx_store_close(s->dstore);
  idx_arena_free(&s->arena);
  idx_buf_free(&s->args_json);
  prefetch_drop(&s->pre);
  free(s->logs);
  free(s->blocks);
  json_decref(s->main_addresses);
  json_decref(s->main_topics);
  json_decref(s->token_address);
  json_decref(s->token_topics);
  json_decref(s->token_topics_in);
  idx_txfetch_free(&s->txf);
  free(s->main_addr_bits);
  free(s->main_topic_bits);
  free(s);
}

void idx_sync_free(idx_sync_t *s) {
  if (!s)
    return;
  if (s->timer.loop) {
    uv_close((uv_handle_t *)&s->timer, timer_closed);
    return;
  }
  s->timer.data = s;
  timer_closed((uv_handle_t *)&s->timer);
}

void idx_sync_status(const idx_sync_t *s, idx_sync_status_t *out) {
  *out = s->st;
  out->rpc_failing = s->fails[CAUSE_RPC];
  out->answers_failing = s->fails[CAUSE_ANSWER];
  /* Down: every endpoint failing again and again, or on another chain
   * (with `run`, the client retries a batch forever: the engine itself
   * never sees the failure). */
  size_t n = idx_rpc_url_count(s->opts.rpc), down = 0;
  for (size_t i = 0; i < n; i++) {
    idx_rpc_url_stats_t u;
    if (idx_rpc_url_stats(s->opts.rpc, i, &u) == 0 &&
        (u.wrong_chain || u.consecutive >= IDX_SYNC_FAILING_NOT_READY))
      down++;
    out->wrong_chain_urls += u.wrong_chain;
  }
  out->rpc_down = n > 0 && down == n;
}

static int metric(idx_buf_t *b, const char *name, const char *type, const char *help, uint64_t v) {
  return idx_buf_addf(b, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type, name,
                      (unsigned long long)v);
}

int idx_sync_metrics(const idx_sync_status_t *st, idx_buf_t *b) {
  int rc = 0;
  if (st->has_finalized)
    rc = metric(b, "dimo_finalized_block", "gauge",
                "The chain's finalized block as nodes named it (never goes down).", st->finalized);
  if (rc == 0)
    rc = metric(b, "dimo_sync_provider_faults_total", "counter",
                "Answers that contradicted a finalized block, a header or an ABI (asked again "
                "elsewhere).",
                st->provider_faults);
  if (rc == 0)
    rc = metric(b, "dimo_sync_reorgs_refused_total", "counter",
                "Fork searches not rolled back: below the finalized block or not confirmed.",
                st->reorgs_refused);
  if (rc == 0)
    rc = metric(b, "dimo_sync_log_headers_total", "counter",
                "Headers fetched to check the block hash of logs.", st->log_headers);
  if (rc == 0)
    rc = idx_buf_addf(
        b,
        "# HELP dimo_sync_failing Failures in a row, per cause (not ready from %d).\n"
        "# TYPE dimo_sync_failing gauge\n"
        "dimo_sync_failing{cause=\"rpc\"} %u\ndimo_sync_failing{cause=\"answers\"} %u\n",
        IDX_SYNC_FAILING_NOT_READY, st->rpc_failing, st->answers_failing);
  if (rc == 0)
    rc = metric(b, "dimo_rpc_wrong_chain_endpoints", "gauge",
                "JSON-RPC endpoints out of rotation: they serve another chain.",
                st->wrong_chain_urls);
  if (rc == 0)
    rc = metric(b, "dimo_sync_halted", "gauge",
                "1 when the follower stopped on a fatal error (the API still answers).",
                st->halted ? 1 : 0);
  return rc;
}

const char *idx_sync_problem(const idx_sync_status_t *st) {
  if (st->halted)
    return st->halt_reason;
  if (st->rpc_down)
    return "no JSON-RPC endpoint answers (each keeps failing or serves another chain)";
  if (st->rpc_failing)
    return "the JSON-RPC endpoints keep failing";
  if (st->answers_failing >= IDX_SYNC_FAILING_NOT_READY)
    return "the provider keeps answering inconsistently";
  return NULL;
}
