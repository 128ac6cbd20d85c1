/* sync.c: the sync engine's state machine (see sync.h). */
#include "common.h"

#include "sync_engine.h"

#include "abi.h"
#include "arena.h"
#include "buf.h"
#include "chain.h"
#include "ethjson.h"
#include "fetchplan.h"
#include "hex.h"
#include "keccak.h"
#include "log.h"
#include "logrange.h"
#include "modelcheck.h"
#include "replycheck.h"
#include "stakeflow.h"
#include "store.h"
#include "sync.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void poll_head(idx_sync_t *s);

static const char *const phase_names[] = {
    "opening",     "standby",     "chain-check", "coverage", "head", "discovery",
    "fetch",       "log-headers", "admin-txs",   "write",    "idle", "docs",
    "fork-search", "rollback",    "wait",        "halted",   "done",
};
_Static_assert(IDX_ARRAY_LEN(phase_names) == PHASE_DONE + 1, "one name per phase");

/* The one place the phase changes. DONE is final; HALTED only gives way
 * to DONE. */
void idx_sync__change_phase(idx_sync_t *s, sync_phase_t next) {
  if (s->phase == next || s->phase == PHASE_DONE)
    return;
  if (s->phase == PHASE_HALTED && next != PHASE_DONE)
    return;
  idx_log_debug("sync", "%s -> %s", phase_names[s->phase], phase_names[next]);
  s->phase = next;
}

/* Between idx_sync__fetch_range and the batch's hand-off to the store. */
static bool range_in_flight(const idx_sync_t *s) {
  return s->phase == PHASE_FETCH || s->phase == PHASE_LOG_HEADERS || s->phase == PHASE_ADMIN_TXS;
}
static void start_reorg(idx_sync_t *s);

/* ---- small helpers ---------------------------------------------------- */

static json_t *quantity(uint64_t v) {
  char q[24];
  snprintf(q, sizeof q, "0x%llx", (unsigned long long)v);
  return json_string(q);
}

static uint64_t now_ns(void) { return uv_hrtime(); }

/* Work whose callback needs the engine: a prefetch, a derivation, a
 * store job. */
bool idx_sync__in_flight(const idx_sync_t *s) {
  return idx_sync__window_in_flight(s) || s->derive_busy || s->job_busy;
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
    idx_sync__change_phase(s, PHASE_HALTED);
    s->st.halted = true;
    s->halt_status = status;
    snprintf(s->st.halt_reason, sizeof s->st.halt_reason, "%s", message);
    idx_log_error("sync", "the follower stopped: %s (the API keeps answering, not ready)", message);
    uv_timer_stop(&s->timer);
  }
  s->stopping = true; /* nothing new starts; callbacks in flight end here */
  return true;
}

void idx_sync__finish(idx_sync_t *s, int status, const char *message) {
  if (s->phase == PHASE_DONE)
    return;
  if (s->st.halted || halt(s, status, message)) {
    if (!s->stop_requested || idx_sync__in_flight(s) || s->rpc_busy)
      return; /* idx_sync_stop (or the last callback after it) ends it */
    status = s->halt_status;
    message = s->st.halt_reason;
  } else if (idx_sync__in_flight(s) || s->finish_deferred) {
    /* Finish when the last callback has run, doing nothing else meanwhile
     * (the first reason is the one reported). */
    if (!s->finish_deferred) {
      s->finish_deferred = true;
      s->deferred_status = status;
      snprintf(s->deferred_message, sizeof s->deferred_message, "%s", message);
    }
    s->stopping = true;
    if (idx_sync__in_flight(s))
      return;
    status = s->deferred_status;
    message = s->deferred_message;
  }
  idx_sync__change_phase(s, PHASE_DONE);
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
    idx_sync__finish(s, 0, "stopped");
    return;
  }
  if (next)
    next(s);
}

static void later(idx_sync_t *s, uint64_t ms, void (*next)(idx_sync_t *)) {
  if (s->phase != PHASE_STANDBY)
    idx_sync__change_phase(s, PHASE_WAIT);
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

/* ---- JSON-RPC plumbing ------------------------------------------------ */

typedef sync_reply_fn reply_fn;

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
  idx_sync__finish(s, c == CAUSE_RPC ? IDX_ERR_RPC_TRANSPORT : IDX_ERR_RPC_REPLY, msg);
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
  if (s->phase == PHASE_DONE)
    return;
  if (s->stopping) {
    idx_sync__finish(s, 0, "stopped");
    return;
  }
  if (status == IDX_ERR_CANCELLED) {
    idx_sync__finish(s, IDX_ERR_CANCELLED, "JSON-RPC client closed under the sync engine");
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
    idx_sync__finish(s, IDX_ERR_NOMEM, "out of memory");
    return;
  }
  ctx->s = s;
  ctx->fn = fn;
  s->rpc_busy = true;
  int rc = idx_rpc_batch_logs(s->opts.rpc, methods, params, n, on_rpc, ctx);
  for (size_t i = 0; i < n; i++)
    json_decref(params[i]);
  if (rc) {
    free(ctx);
    s->rpc_busy = false;
    idx_log_warn("sync", "cannot send JSON-RPC batch (%s); retrying", idx_strerror(rc));
    retry_later(s, CAUSE_RPC, idx_strerror(rc), rpc_retry_poll);
  }
}

/* One header, eth_getBlockByNumber(number, false), answered to fn. */
static void ask_header(idx_sync_t *s, uint64_t number, reply_fn fn) {
  char tag[24];
  (void)hex_block_tag(tag, sizeof tag, number);
  const char *m[1] = {"eth_getBlockByNumber"};
  json_t *p[1] = {json_pack("[s,b]", tag, 0)};
  send_batch(s, m, p, 1, fn);
}

void idx_sync__send_batch(idx_sync_t *s, const char *const *methods, json_t *const *params,
                          size_t n, sync_reply_fn fn) {
  send_batch(s, methods, params, n, fn);
}

/* A retryable oddity of the node: log it, back off, start over from the head.
 * Near the head, where every header of a range is asked for, a node that
 * keeps failing some of them gets smaller ranges, so progress does not
 * depend on one large batch coming back whole. */
static void inconsistent(idx_sync_t *s, const char *what) {
  if (range_in_flight(s) && s->near_head && s->fetch_to > s->fetch_from) {
    uint64_t span = s->fetch_to - s->fetch_from + 1;
    s->near_cap = span / 2 > 0 ? span / 2 : 1;
  }
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

void idx_sync__inconsistent(idx_sync_t *s, const char *what) { inconsistent(s, what); }

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
  if (s->phase == PHASE_DONE)
    return;
  if (s->stopping) {
    idx_sync__finish(s, 0, "stopped");
    return;
  }
  if (s->early_check) {
    s->early_check = false;
    if (!s->opened) {
      /* Asked while the store opens: its end goes on (check_chain_id),
       * which asks again after a failure (and says why). */
      s->chain_checked = status == 0;
      return;
    }
  }
  if (status == IDX_ERR_CONFIG || status == IDX_ERR_CANCELLED) {
    idx_sync__finish(s, status, message);
    return;
  }
  if (status) {
    idx_log_warn("sync", "%s; retrying", message);
    retry_later(s, CAUSE_RPC, message, check_chain_id);
    return;
  }
  s->fails[CAUSE_RPC] = 0;
  s->chain_checked = true;
  idx_sync__coverage_catchup(s); /* #22, then #25's, then idx_sync__after_catchup */
}

void idx_sync__after_catchup(idx_sync_t *s) { poll_head(s); }

void idx_sync__later(idx_sync_t *s, uint64_t ms, void (*next)(idx_sync_t *)) { later(s, ms, next); }

static void check_chain_id(idx_sync_t *s) {
  if (s->early_check)
    return; /* its answer goes on (on_chain_checked) */
  idx_sync__change_phase(s, PHASE_CHAIN_CHECK);
  if (s->chain_checked) {
    /* Answered while the store opened: on as after the answer (the
     * coverage and senders' catch-ups run once, then the head). */
    idx_sync__coverage_catchup(s);
    return;
  }
  s->rpc_busy = true;
  int rc = idx_rpc_check_chain(s->opts.rpc, on_chain_checked, s);
  if (rc) {
    s->rpc_busy = false;
    if (rc == IDX_ERR_CONFIG)
      idx_sync__finish(s, rc, "every RPC endpoint serves another chain");
    else if (rc == IDX_ERR_INVAL || rc == IDX_ERR_CANCELLED)
      idx_sync__finish(s, rc, "the JSON-RPC client cannot check the chain id");
    else
      retry_later(s, CAUSE_RPC, idx_strerror(rc), check_chain_id);
  }
}

/* ---- head ------------------------------------------------------------- */

static uint64_t next_block(const idx_sync_t *s) {
  if (s->has_cursor)
    return s->cursor + 1;
  if (s->opts.has_from)
    return s->opts.from_block;
  return s->has_start ? s->start : idx_network_start_block(s->opts.net);
}

/* ---- deployment-block discovery ---------------------------------------- */

static void discover(idx_sync_t *s);

/* Contracts searched at once (one request each per batch). */
enum { DISCOVERY_BATCH_MAX = 64 };

/* Discovery is over: the backfill starts at the lowest start block of the
 * contracts whose events start the scan (found, or configured). */
static void discovered(idx_sync_t *s, bool found_any) {
  s->discovery_done = true;
  if (found_any) {
    const idx_network_t *net = s->opts.net;
    uint64_t start = UINT64_MAX;
    for (size_t i = 0; i < net->ncontracts; i++) {
      const idx_contract_t *c = &net->contracts[i];
      if (c->role == IDX_ROLE_DIMO_TOKEN)
        continue;
      uint64_t b = c->start_block;
      for (size_t k = 0; k < s->ndisc; k++) {
        if (s->disc[k].c == c && s->disc[k].done)
          b = s->disc[k].b.hi;
      }
      if (b < start)
        start = b;
    }
    if (start != UINT64_MAX) {
      s->has_start = true;
      s->start = start;
      idx_log_info("sync", "deployment-block discovery: the backfill starts at block %llu",
                   (unsigned long long)start);
    }
  }
  /* What the search found is recorded (014's discovered_starts) before the
   * backfill starts, so a restart before the first batch does not search
   * again. */
  memset(&s->job, 0, sizeof s->job);
  s->job.kind = JOB_STARTS;
  for (size_t k = 0; k < s->ndisc && s->job.nstarts < IDX_ARRAY_LEN(s->job.starts); k++) {
    const struct sync_disc_s *d = &s->disc[k];
    if (!d->done || d->recorded)
      continue;
    idx_store_start_t *r = &s->job.starts[s->job.nstarts++];
    r->address = d->c->address;
    r->block = d->b.hi;
    r->head = s->head;
  }
  if (s->job.nstarts) {
    idx_sync__queue_job(s);
    return;
  }
  idx_sync__after_target(s);
}

/* A recorded deployment block of a contract discovery would search: used
 * when the node's head is at or above it (below, the record is of another
 * chain's history than the node's: searched again). */
static bool recorded_start(const idx_sync_t *s, const idx_contract_t *c, uint64_t *block) {
  for (size_t i = 0; i < s->nstarts; i++) {
    if (memcmp(s->starts[i].address.b, c->address.b, 20) == 0 && s->starts[i].block <= s->head) {
      *block = s->starts[i].block;
      return true;
    }
  }
  return false;
}

static void on_discovery(idx_sync_t *s, const idx_rpc_reply_t *r, size_t n) {
  if (!r) {
    inconsistent(s, "eth_getCode answer too large");
    return;
  }
  for (size_t i = 0; i < n; i++) {
    struct sync_disc_s *d = &s->disc[s->disc_req[i]];
    if (r[i].err) {
      /* Discovery only saves time: an error never fails the sync. Said
       * once; the engine does not ask again in this process. */
      idx_log_warn("sync",
                   "deployment-block discovery: the node cannot answer eth_getCode for old "
                   "blocks (%s%s); scanning from the configured start block %llu",
                   r[i].message ? r[i].message : "",
                   idx_discovery_no_state(r[i].code, r[i].message) ? ": a pruned node" : "",
                   (unsigned long long)next_block(s));
      discovered(s, false);
      return;
    }
    const char *code = json_string_value(r[i].result);
    if (!code || strncmp(code, "0x", 2) != 0) {
      inconsistent(s, "eth_getCode result is not hex");
      return;
    }
    bool has_code = strlen(code) > 2;
    char hex[43];
    idx_addr_to_hex(hex, &d->c->address);
    if (!d->at_head) {
      d->at_head = true;
      if (!has_code) {
        idx_log_warn("sync",
                     "deployment-block discovery: %s (%s) has no code at the head; scanning "
                     "from its configured start block",
                     hex, idx_role_name(d->c->role));
        d->done = false;
        d->b.lo = d->b.hi = 0;
        continue;
      }
      idx_bisect_init(&d->b, s->head);
    } else {
      idx_bisect_answer(&d->b, idx_bisect_next(&d->b), has_code);
    }
    if (idx_bisect_done(&d->b)) {
      d->done = true;
      idx_log_info("sync", "deployment-block discovery: %s (%s) deployed at block %llu (%u calls)",
                   hex, idx_role_name(d->c->role), (unsigned long long)d->b.hi, d->b.asked + 1);
    }
  }
  discover(s);
}

/* Asks the next eth_getCode of every contract still searched, in one
 * batch; when none is left, the backfill starts. */
static void discover(idx_sync_t *s) {
  const idx_network_t *net = s->opts.net;
  if (!s->disc) {
    s->disc = calloc(net->ncontracts + 1, sizeof *s->disc);
    s->disc_req = calloc(net->ncontracts + 1, sizeof *s->disc_req);
    if (!s->disc || !s->disc_req) {
      idx_sync__finish(s, IDX_ERR_NOMEM, "out of memory");
      return;
    }
    for (size_t i = 0; i < net->ncontracts; i++) {
      const idx_contract_t *c = &net->contracts[i];
      if (c->role != IDX_ROLE_DIMO_TOKEN && c->start_block == 0) {
        struct sync_disc_s *d = &s->disc[s->ndisc++];
        d->c = c;
        uint64_t b;
        if (recorded_start(s, c, &b)) {
          d->at_head = d->done = d->recorded = true;
          d->b.lo = d->b.hi = b;
          char hex[43];
          idx_addr_to_hex(hex, &c->address);
          idx_log_info("sync",
                       "deployment-block discovery: %s (%s) deployed at block %llu "
                       "(recorded; no calls)",
                       hex, idx_role_name(c->role), (unsigned long long)b);
        }
      }
    }
  }
  idx_sync__change_phase(s, PHASE_DISCOVERY);
  const char *methods[DISCOVERY_BATCH_MAX];
  json_t *params[DISCOVERY_BATCH_MAX];
  size_t k = 0;
  bool any_found = false;
  for (size_t i = 0; i < s->ndisc && k < IDX_ARRAY_LEN(methods); i++) {
    struct sync_disc_s *d = &s->disc[i];
    any_found |= d->done;
    if (d->done || (d->at_head && idx_bisect_done(&d->b)))
      continue;
    char hex[43], tag[24];
    idx_addr_to_hex(hex, &d->c->address);
    (void)hex_block_tag(tag, sizeof tag, d->at_head ? idx_bisect_next(&d->b) : s->head);
    methods[k] = "eth_getCode";
    params[k] = json_pack("[s,s]", hex, tag);
    s->disc_req[k++] = i;
  }
  if (k == 0) {
    discovered(s, any_found);
    return;
  }
  idx_log_debug("sync", "deployment-block discovery: %zu eth_getCode call(s)", k);
  send_batch(s, methods, params, k, on_discovery);
}

/* ---- a node's head below the cursor ------------------------------------ */

/* The node's head is below the cursor: a lagging node (a balancer's other
 * node, a node restarted from a snapshot), or a chain that became shorter
 * than the index, whose blocks at or below its head then differ from the
 * stored ones. Both look alike until compared: the highest stored block
 * at or below the head (a header of the window, else a stored log's
 * block) against the node's. The same hash: a lagging node, waited for;
 * another: a reorg. */
static void check_below_head(idx_sync_t *s) {
  memset(&s->job, 0, sizeof s->job);
  s->job.kind = JOB_STORED_TIP;
  s->job.to = s->head;
  idx_sync__queue_job(s);
}

static void below_head_wait(idx_sync_t *s, const char *why) {
  if (!s->below_head_said) {
    s->below_head_said = true;
    idx_log_info("sync", "the node's head %llu is below the indexed block %llu: %s; waiting for it",
                 (unsigned long long)s->head, (unsigned long long)s->cursor, why);
  }
  later(s, s->opts.poll_ms, poll_head);
}

static void on_below_head(idx_sync_t *s, const idx_rpc_reply_t *r, size_t n) {
  idx_block_t b;
  char err[160];
  if (!r || n != 1 || r[0].err) {
    inconsistent(s, "the header below the cursor");
    return;
  }
  if (json_is_null(r[0].result)) {
    below_head_wait(s, "it has no block at its head yet (a lagging node?)");
    return;
  }
  if (idx_ethjson_block(r[0].result, &b, err, sizeof err) || b.number != s->below_head_block) {
    inconsistent(s, "the header below the cursor");
    return;
  }
  if (memcmp(b.hash.b, s->below_head_hash.b, 32) == 0) {
    char why[160];
    snprintf(why, sizeof why, "its block %llu is the stored one (a lagging node)",
             (unsigned long long)b.number);
    below_head_wait(s, why);
    return;
  }
  if (is_final(s, b.number)) {
    provider_fault(s, "the node's chain is shorter than the index and contradicts a final block");
    return;
  }
  idx_log_warn("sync",
               "the node's chain is shorter than the index (head %llu, indexed %llu) and its "
               "block %llu differs from the stored one: a reorg",
               (unsigned long long)s->head, (unsigned long long)s->cursor,
               (unsigned long long)b.number);
  start_reorg(s);
}

static void after_stored_tip(idx_sync_t *s) {
  store_job_t *j = &s->job;
  if (!j->stored_found) {
    below_head_wait(s, "nothing is stored at or below it to compare");
    return;
  }
  s->below_head_block = j->stored.number;
  s->below_head_hash = j->stored.hash;
  ask_header(s, j->stored.number, on_below_head);
}

static void on_tip_check(idx_sync_t *s, const idx_rpc_reply_t *r, size_t n) {
  idx_block_t b;
  char err[160];
  if (n != 1 || r[0].err || json_is_null(r[0].result)) {
    /* No block at the cursor although the head said there is one (a
     * head below the cursor is compared before, in idle()): another node
     * behind a balancer. The next head poll says which. */
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
  idx_sync__change_phase(s, PHASE_DOCS);
  memset(&s->job, 0, sizeof s->job);
  s->job.kind = JOB_DOCS;
  idx_sync__queue_job(s);
}

/* Caught up: build stale documents for up to a poll interval, check that
 * the stored tip is still canonical, then wait. */
static void idle(idx_sync_t *s) {
  if (s->docs_stale && idx_sync__model_current(s)) {
    if (!s->docs_started_ns)
      s->docs_started_ns = now_ns();
    if (now_ns() - s->docs_started_ns < s->opts.poll_ms * 1000000ull) {
      build_docs(s);
      return;
    }
  }
  s->docs_started_ns = 0;
  idx_sync__change_phase(s, PHASE_IDLE);
  if (!s->has_cursor) {
    later(s, s->opts.poll_ms, poll_head);
    return;
  }
  if (s->head < s->cursor) {
    check_below_head(s);
    return;
  }
  ask_header(s, s->cursor, on_tip_check);
}

void idx_sync__after_target(idx_sync_t *s) {
  uint64_t next = next_block(s);
  if (!s->opts.follow) {
    if (!s->stop_fixed) {
      s->stop_block = s->opts.stop_at_head ? s->target : s->opts.stop_block;
      s->stop_fixed = true;
    }
    if (s->target > s->stop_block)
      s->target = s->stop_block;
    if (next > s->stop_block) {
      if (!idx_sync__model_current(s)) {
        s->finish_waits_derive = true;
        if (!idx_sync__derive_kick(s))
          s->finish_waits_derive = false; /* cannot happen: nothing due */
        else
          return;
      }
      if (s->docs_stale) {
        s->finish_after_docs = true;
        build_docs(s);
        return;
      }
      /* Said plainly when nothing was to be done (audit H5): a --from
       * beyond the target (a typo) left the database empty, which
       * "reached block N" hid; a database already past --to is fine, and
       * so is a target below where the contracts start (their start
       * blocks or their discovered deployments: nothing exists to index
       * yet, and discovery has recorded what it found). */
      if (!s->has_cursor && !s->opts.has_from) {
        idx_log_info("sync", "nothing to index up to block %llu: the contracts start at block %llu",
                     (unsigned long long)s->stop_block, (unsigned long long)next);
        idx_sync__finish(s, 0, "done");
        return;
      }
      if (!s->has_cursor) {
        char msg[256];
        snprintf(msg, sizeof msg,
                 "nothing indexed: the backfill starts at block %llu, above block %llu (%s)",
                 (unsigned long long)next, (unsigned long long)s->stop_block,
                 s->opts.stop_at_head ? "the head less --confirmations, within --finality"
                                      : "--to");
        idx_sync__finish(s, IDX_ERR_INVAL, msg);
        return;
      }
      if (s->st.batches == 0 && s->cursor > s->stop_block) {
        idx_log_info("sync", "nothing to do: the database is at block %llu, above --to %llu",
                     (unsigned long long)s->cursor, (unsigned long long)s->stop_block);
        idx_sync__finish(s, 0, "done");
        return;
      }
      idx_log_info("sync",
                   "reached block %llu (%llu batches, %llu of them fetched while the one before "
                   "was written)",
                   (unsigned long long)s->stop_block, (unsigned long long)s->st.batches,
                   (unsigned long long)s->st.prefetched);
      idx_sync__finish(s, 0, "done");
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
  idx_sync__fetch_range(s);
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
  if (!s->has_cursor || head >= s->cursor)
    s->below_head_said = false; /* said again the next time */
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
  if (!s->has_cursor && !s->opts.has_from && s->opts.discover_start && !s->discovery_done) {
    discover(s);
    return;
  }
  idx_sync__after_target(s);
}

static void poll_head(idx_sync_t *s) {
  idx_sync__change_phase(s, PHASE_HEAD);
  if (s->stopping) {
    idx_sync__finish(s, 0, "stopped");
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

/* An eth_getLogs filter over blocks from..to; topics NULL: every log of
 * the addresses. */
static json_t *logs_filter(json_t *addresses, json_t *topics, uint64_t from, uint64_t to) {
  json_t *f = json_object();
  json_object_set_new(f, "fromBlock", quantity(from));
  json_object_set_new(f, "toBlock", quantity(to));
  json_object_set(f, "address", addresses);
  if (topics)
    json_object_set(f, "topics", topics);
  return json_pack("[o]", f);
}

/* The range that starts at `from`: its last block and whether it is near
 * the head. */
uint64_t idx_sync__range_end(const idx_sync_t *s, uint64_t from, bool *near_head) {
  return idx_fetchplan_range_end(from, s->range.span, s->target, s->head, REORG_WINDOW, s->near_cap,
                                 near_head);
}

/* Room for the logs' requests beside a header per block of the window. */
_Static_assert(MAX_REQUESTS >= RANGE_LOG_REQUESTS + REORG_WINDOW + 1, "requests of a range");

/* The JSON-RPC batch of a range: its logs, and the headers of its ends
 * (of every block near the head). Returns the number of requests. */
size_t idx_sync__range_requests(const idx_sync_t *s, uint64_t from, uint64_t to, bool near_head,
                                const char **methods, json_t **params, req_kind_t *kinds,
                                uint64_t *numbers) {
  size_t k = 0;
  /* #22: the quiet roles' every log (idx_role_fetches_all), then the busy
   * roles' known topics. */
  if (json_array_size(s->open_addresses)) {
    methods[k] = "eth_getLogs";
    params[k] = logs_filter(s->open_addresses, NULL, from, to);
    kinds[k++] = REQ_LOGS_OPEN;
  }
  if (json_array_size(s->main_addresses)) {
    methods[k] = "eth_getLogs";
    params[k] = logs_filter(s->main_addresses, s->main_topics, from, to);
    kinds[k++] = REQ_LOGS_MAIN;
  }
  if (s->token_address) {
    methods[k] = "eth_getLogs";
    params[k] = logs_filter(s->token_address, s->token_topics, from, to);
    kinds[k++] = REQ_LOGS_TOKEN;
    /* #22: the token's own upgrades (its transfers filter cannot hold
     * them: it names the license contracts in topic1). */
    methods[k] = "eth_getLogs";
    params[k] = logs_filter(s->token_address, s->proxy_topics, from, to);
    kinds[k++] = REQ_LOGS_TOKEN;
    methods[k] = "eth_getLogs";
    params[k] = idx_sync__inflow_filter(s, from, to); /* #25 */
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

void idx_sync__release_replies(idx_rpc_reply_t *r, size_t n) {
  for (size_t i = 0; i < n; i++) {
    json_decref(r[i].result);
    json_decref(r[i].data);
    idx_logset_decref(r[i].logs);
    free((char *)r[i].message);
  }
}

/* A range the engine asked itself: its size tells the window what ranges
 * take (without it the window opens only after one of its own answers). */
static void on_own_range(idx_sync_t *s, const idx_rpc_reply_t *r, size_t n) {
  s->own_answer_bytes = r ? idx_rpc_answer_bytes(s->opts.rpc) : 0;
  if (r && !s->near_head)
    idx_sync__window_note_answer(s, s->own_answer_bytes);
  idx_sync__on_range(s, r, n);
}

void idx_sync__fetch_range(idx_sync_t *s) {
  uint64_t from = next_block(s);
  bool near_head;
  uint64_t to = idx_sync__range_end(s, from, &near_head);
  /* The window's range when it has this one (held or in flight; it
   * drops what no longer fits), else this one cut short before the
   * window's next. */
  sync_slot_t *p = idx_sync__window_take(s, from, &to, near_head);
  if (p) {
    idx_sync__change_phase(s, PHASE_FETCH);
    s->near_head = false;
    s->fetch_from = p->from;
    s->fetch_to = p->to;
    if (p->state != SLOT_READY) {
      /* Wait for it: on arrival it is used, or dropped and the range
       * asked for again. */
      p->awaited = true;
      idx_sync__window_fill(s);
      return;
    }
    idx_sync__window_use(s, p);
    return;
  }
  idx_sync__change_phase(s, PHASE_FETCH);
  s->near_head = near_head;
  s->fetch_from = from;
  s->fetch_to = to;
  if (!near_head && idx_sync__window_exchanges(s) >= idx_inflight_allowed(&s->aimd)) {
    /* As many exchanges out as allowed (ranges abandoned after a limit,
     * still in flight): asked when one comes back. */
    s->fetch_waits = true;
    return;
  }
  s->range_counted = false;
  const char *methods[MAX_REQUESTS];
  json_t *params[MAX_REQUESTS];
  s->nreq = idx_sync__range_requests(s, from, to, near_head, methods, params, s->req_kinds,
                                     s->req_numbers);
  send_batch(s, methods, params, s->nreq, on_own_range);
}

static void range_limited(idx_sync_t *s, const idx_logrange_advice_t *advice, const char *why) {
  uint64_t span = s->fetch_to - s->fetch_from + 1;
  uint64_t next = idx_logrange_limited(&s->range, s->fetch_from, span, advice);
  s->st.range_limits++;
  /* Ranges planned wider would meet the same limit: asked again with the
   * new span. (A span limit says nothing about how many requests the
   * provider takes at once: the window's size stays.) */
  (void)idx_sync__window_drop_wider(s, next); /* the range in hand is no slot */
  idx_log_warn("sync", "provider limit on blocks %llu..%llu (%s); range %llu -> %llu blocks",
               (unsigned long long)s->fetch_from, (unsigned long long)s->fetch_to, why,
               (unsigned long long)span, (unsigned long long)next);
  if (span == 1) {
    /* Cannot shrink further: treat as a transient fault of the node. */
    inconsistent(s, "limit on a single block");
    return;
  }
  idx_sync__fetch_range(s);
}

void idx_sync__range_limited(idx_sync_t *s, const idx_logrange_advice_t *advice, const char *why) {
  range_limited(s, advice, why);
}

static idx_block_t *header_of(idx_sync_t *s, uint64_t number) {
  for (size_t i = 0; i < s->nblocks; i++) {
    if (s->blocks[i].number == number)
      return &s->blocks[i];
  }
  return NULL;
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
static bool logs_missing(idx_sync_t *s) {
  for (size_t i = 0; i < s->nblocks && i < MAX_REQUESTS; i++) {
    if (!s->has_bloom[i] || s->main_seen[i])
      continue;
    if (idx_bloom_expects_logs(s->blooms[i], (const uint16_t(*)[3])s->main_addr_bits,
                               s->n_main_addr, (const uint16_t(*)[3])s->main_topic_bits,
                               s->n_main_topic) &&
        suspect(s, s->blocks[i].number, "bloom matches but no logs came back"))
      return true;
  }
  return false;
}

/* A stake movement whose token transfer did not come back (the network's
 * rules, stakeflow.h): the token's eth_getLogs answer was incomplete.
 * Logs are sorted. */
static bool transfers_missing(idx_sync_t *s) {
  size_t i = 0;
  while (s->ntransfer_rules && i < s->nlogs) {
    i += idx_replycheck_transfer_missing(s->logs + i, s->nlogs - i, s->transfer_rules,
                                         s->ntransfer_rules);
    if (i == s->nlogs)
      break;
    if (suspect(s, s->logs[i].block_number, "a stake movement without its token transfer"))
      return true;
    i++;
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

/* Decodes one raw log against its contract's ABI. A log under a topic0
 * and topic count the ABI knows whose bytes do not decode is not skipped:
 * the contract cannot have emitted it, so the answer is corrupt
 * (DECODED_BAD, a provider fault asked again); nothing is lost. A topic
 * count no event has (IDX_ERR_ABI_TOPICS: an event generation the ABI
 * lacks) is DECODED_SKIP, an unknown topic0 DECODED_NEW: the log keeps its
 * role and no event, and goes with the batch to the store's unknown_logs
 * (DECODED_NEW only from the request without a topic filter). */
void idx_sync__classify_error(const idx_rpc_reply_t *r, idx_logrange_advice_t *advice) {
  char *data = r->data ? json_dumps(r->data, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
  idx_logrange_classify(r->code, r->message, data, advice);
  free(data);
}

decoded_t idx_sync__decode_log(idx_sync_t *s, idx_log_t *log, char *why, size_t whylen) {
  const idx_contract_t *c = idx_network_contract(s->opts.net, &log->address);
  log->event = log->event_name = log->args_json = NULL;
  if (!c) {
    /* No filter asked for it: the answer is not about our contracts. */
    char addr[43];
    idx_addr_to_hex(addr, &log->address);
    snprintf(why, whylen, "log %u in block %llu comes from %s, an address no filter names",
             log->log_index, (unsigned long long)log->block_number, addr);
    return DECODED_BAD;
  }
  log->role = idx_role_name(c->role);
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
    if (!rc)
      return DECODED_NEW;
    idx_log_debug("sync", "log %u of tx %s in block %llu: %s (stored as unknown)", log->log_index,
                  tx, (unsigned long long)log->block_number, idx_strerror(rc));
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

static void fetch_log_headers(idx_sync_t *s);
static void send_log_headers(idx_sync_t *s);

/* A header the window asked ahead for a block with logs, or NULL. */
static const idx_block_t *loghdr_of(const idx_sync_t *s, uint64_t number) {
  for (size_t i = 0; i < s->nloghdr; i++) {
    if (s->loghdr[i].number == number)
      return &s->loghdr[i];
  }
  return NULL;
}

static void reset_batch(idx_sync_t *s) {
  idx_arena_reset(&s->arena);
  s->nlogs = 0;
  s->nblocks = 0;
  s->nloghdr = 0;
  s->unknown = 0;
  idx_sync__admin_forget(s); /* #25 */
}

void idx_sync__on_range(idx_sync_t *s, const idx_rpc_reply_t *r, size_t n) {
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
    idx_block_t b;
    if (s->req_kinds[i] == REQ_LOG_HEADER) {
      /* Asked ahead by the window, for the hash check of the logs. */
      if (idx_ethjson_block(r[i].result, &b, err, sizeof err) || b.number != s->req_numbers[i] ||
          s->nloghdr == TIME_BATCH_MAX) {
        provider_fault(s, "a malformed header of a block with logs");
        return;
      }
      s->loghdr[s->nloghdr++] = b;
      s->st.log_headers++;
      continue;
    }
    if (s->req_kinds[i] != REQ_HEADER)
      continue;
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
      idx_sync__finish(s, IDX_ERR_NOMEM, "out of memory");
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
    if (idx_replycheck_unchained(s->blocks, s->nblocks) != s->nblocks) {
      inconsistent(s, "headers of the range do not chain");
      return;
    }
  }

  /* Then the logs. */
  for (size_t i = 0; i < n; i++) {
    if (s->req_kinds[i] == REQ_HEADER || s->req_kinds[i] == REQ_LOG_HEADER)
      continue;
    if (r[i].err) {
      idx_logrange_advice_t advice;
      idx_sync__classify_error(&r[i], &advice);
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
    /* Decoded by rpc.c's fast path (logs), or a JSON array. */
    json_t *arr = r[i].result;
    const idx_logset_t *set = r[i].logs;
    if (!set && !json_is_array(arr)) {
      inconsistent(s, "eth_getLogs result is not an array");
      return;
    }
    size_t nitems = set ? set->n : json_array_size(arr);
    for (size_t idx = 0; idx < nitems; idx++) {
      idx_log_t log;
      bool removed = false;
      int rc = set ? idx_ethjson_log_copy(set, idx, &s->arena, &log, &removed, err, sizeof err)
                   : idx_ethjson_log(json_array_get(arr, idx), &s->arena, &log, &removed, err,
                                     sizeof err);
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
      if (s->req_kinds[i] == REQ_LOGS_TOKEN_IN && idx_sync__inflow_duplicate(s, &log))
        continue; /* #25: the outflow answer has it */
      size_t slot = block_index(s, log.block_number);
      if (slot < MAX_REQUESTS &&
          (s->req_kinds[i] == REQ_LOGS_MAIN || s->req_kinds[i] == REQ_LOGS_OPEN))
        s->main_seen[slot]++;
      decoded_t dec = idx_sync__decode_log(s, &log, err, sizeof err);
      if (dec == DECODED_NEW && s->req_kinds[i] != REQ_LOGS_OPEN) {
        /* A topic-filtered request names only topic0s the ABIs know: the
         * provider ignored its filter (stored, such logs would stay where a
         * fresh index through an honest node has none). */
        snprintf(err, sizeof err,
                 "log %u in block %llu has a topic0 its request's filter does not name",
                 log.log_index, (unsigned long long)log.block_number);
        dec = DECODED_BAD;
      }
      if (dec == DECODED_BAD) {
        provider_fault(s, err);
        return;
      }
      if (dec == DECODED_SKIP || dec == DECODED_NEW)
        s->unknown++; /* kept beside the decoded ones (hash checks, times, order) */
      if (push_log(s, &log)) {
        idx_sync__finish(s, IDX_ERR_NOMEM, "out of memory");
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
  idx_replycheck_sort_logs(s->logs, s->nlogs);
  if (transfers_missing(s)) {
    char what[96];
    snprintf(what, sizeof what, "a stake movement in block %llu lacks its token transfer",
             (unsigned long long)s->suspect_block);
    inconsistent(s, what);
    return;
  }
  if (idx_replycheck_duplicate(s->logs, s->nlogs)) {
    inconsistent(s, "duplicate log index");
    return;
  }
  if (!s->range_counted)
    idx_logrange_answer(&s->range, s->fetch_to - s->fetch_from + 1, s->nlogs, s->own_answer_bytes);
  s->range_counted = false;
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
  idx_sync__change_phase(s, PHASE_LOG_HEADERS);
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
  idx_sync__change_phase(s, PHASE_LOG_HEADERS);
  size_t k = 0;
  uint64_t last = UINT64_MAX;
  s->hdr_log_from = s->time_next;
  s->hdr_tries = 0;
  for (; s->time_next < s->nlogs; s->time_next++) {
    idx_log_t *log = &s->logs[s->time_next];
    if (log->block_number == last || header_of(s, log->block_number))
      continue;
    const idx_block_t *lh = loghdr_of(s, log->block_number);
    if (lh) {
      /* Its header came with the range, asked ahead by the window. */
      if (memcmp(log->block_hash.b, lh->hash.b, 32) != 0) {
        char what[160];
        snprintf(what, sizeof what, "a log's block hash differs from the header of block %llu",
                 (unsigned long long)log->block_number);
        provider_fault(s, what);
        return;
      }
      log->block_time = lh->time;
      continue;
    }
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
  idx_sync__admin_txs(s); /* #25: the senders of its admin transactions, then the write */
}

/* ---- writing ---------------------------------------------------------- */

static void progress(idx_sync_t *s) {
  uint64_t now = now_ns();
  if (s->progress_first_ns == 0) {
    /* The rates count from this run's first batch (also the row's). */
    s->progress_first_ns = s->progress_last_ns = now;
    s->progress_start_block = s->cursor;
    s->progress_start_logs = s->st.logs;
    return;
  }
  if (!s->opts.progress)
    return;
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
  s->st.blocks_per_s = bps;
  s->st.eta_s = eta;
  idx_log_info("sync",
               "block %llu of %llu: %.0f blocks/s, %.0f events/s, %u in flight (of %u), "
               "%llu 429s, ETA %.0fs",
               (unsigned long long)s->cursor, (unsigned long long)s->target, bps, eps,
               s->st.inflight, s->st.inflight_allowed, (unsigned long long)s->st.rate_limited, eta);
}

/* The sync_progress row (014) for `status`, another process: written by
 * the batch's job after the batch, at this run's first batch, then at most
 * every second, and at the batch that reaches the target (so a finished
 * backfill does not read as one under way): one small upsert. The rates
 * are the progress line's (since this run's first batch was written). */
static void progress_row(idx_sync_t *s, store_job_t *j) {
  uint64_t now = now_ns();
  bool reaches = s->fetch_to >= s->target;
  if (s->progress_row_ns == 0) {
    s->progress_row_start = s->fetch_from;
    if (!s->progress_started_unix)
      s->progress_started_unix = (uint64_t)time(NULL);
  } else if (now - s->progress_row_ns < 1000000000ull && !(reaches && s->progress_row_left)) {
    return;
  }
  s->progress_row_ns = now;
  s->progress_row_left = reaches ? 0 : s->target - s->fetch_to;
  double secs = s->progress_first_ns ? (double)(now - s->progress_first_ns) / 1e9 : 0;
  uint64_t blocks = s->cursor > s->progress_start_block ? s->cursor - s->progress_start_block : 0;
  uint64_t logs = s->st.logs - s->progress_start_logs;
  j->progress_due = true;
  j->progress.start_block = s->progress_row_start;
  j->progress.target = s->target;
  j->progress.blocks_per_s = secs > 0.5 ? (uint64_t)((double)blocks / secs) : 0;
  j->progress.events_per_s = secs > 0.5 ? (uint64_t)((double)logs / secs) : 0;
  j->progress.started_unix = s->progress_started_unix;
}

void idx_sync__write_batch(idx_sync_t *s) {
  idx_sync__change_phase(s, PHASE_WRITE);
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
  /* Near the head, with the model caught up, the batch derives it itself
   * (the lowest latency); otherwise the second connection does, later. */
  s->batch.defer_model = !(s->near_head && idx_sync__model_current(s));
  memset(&s->job, 0, sizeof s->job);
  s->job.kind = JOB_WRITE;
  if (s->st.has_finalized && s->st.finalized > s->finalized_stored)
    s->job.finalized = s->st.finalized;
  progress_row(s, &s->job);
  idx_sync__queue_job(s);
  if (!s->near_head && s->job_busy)
    idx_sync__window_fill(s);
}

static void after_write(idx_sync_t *s) {
  answers_sound(s);
  if (s->job.finalized > s->finalized_stored)
    s->finalized_stored = s->job.finalized;
  if (s->near_cap < REORG_WINDOW)
    s->near_cap = s->near_cap * 2 < REORG_WINDOW ? s->near_cap * 2 : REORG_WINDOW;
  if (!s->has_cursor) { /* the first batch recorded its first block (020) */
    s->st.has_first_block = true;
    s->st.first_block = s->batch.from_block;
  }
  s->has_cursor = true;
  s->cursor = s->batch.to_block;
  s->cursor_hash = s->batch.to_hash;
  s->st.has_cursor = true;
  s->st.cursor = s->cursor;
  s->st.batches++;
  s->st.logs += s->batch.nlogs - s->unknown;
  s->st.unknown_logs += s->unknown;
  s->st.range = s->range.span;
  s->st.last_batch_ms = s->job.ms;
  s->docs_stale = true; /* the batch may have deferred some (cheap to ask) */
  if (s->batch.defer_model) {
    s->derive_goal = s->batch.to_block;
    idx_sync__derive_kick(s);
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
    idx_sync__finish(s, 0, "stopped");
    return;
  }
  idx_sync__after_target(s);
}

/* ---- reorgs ----------------------------------------------------------- */

static void start_reorg(idx_sync_t *s) {
  idx_sync__change_phase(s, PHASE_FORK_SEARCH);
  s->reorg_from_cursor = s->cursor;
  s->fork_pass = 0;
  memset(&s->job, 0, sizeof s->job);
  s->job.kind = JOB_BLOCKS;
  s->job.to = s->cursor;
  s->job.from = s->cursor > REORG_WINDOW ? s->cursor - REORG_WINDOW : 0;
  idx_sync__queue_job(s);
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

/* The fork point is in s->job (keep_block, keep_hash): once two searches
 * agree, the rollback. */
static void fork_decided(idx_sync_t *s) {
  store_job_t *j = &s->job;
  if (!fork_confirmed(s))
    return;
  j->kind = JOB_ROLLBACK;
  j->reconnect_first = false;
  idx_sync__change_phase(s, PHASE_ROLLBACK);
  if (s->derive_busy) {
    s->rollback_waiting = true; /* never beside a derivation */
    return;
  }
  idx_sync__queue_job(s);
}

/* ---- below the window (forkpoint.h) ---- */

/* The block a fresh index of this configuration starts at: where the
 * history began, as far as the follower knows. (A database that records
 * its first block should give that one here.) */
static uint64_t history_first_block(const idx_sync_t *s) {
  if (s->st.has_first_block) /* recorded by the first batch (020) */
    return s->st.first_block;
  if (s->opts.has_from)
    return s->opts.from_block;
  return s->has_start ? s->start : idx_network_start_block(s->opts.net);
}

static void fork_read_page(idx_sync_t *s) {
  store_job_t *j = &s->job;
  j->kind = JOB_FORK_LOGS;
  j->reconnect_first = false;
  j->fork_below = s->fork.below;
  j->nfork_page = 0;
  idx_sync__queue_job(s);
}

/* No stored header of the window is on the node's chain: the stored logs
 * below it say where the chains part (they keep their blocks' hashes). */
static void deep_search(idx_sync_t *s, uint64_t below) {
  idx_forkpoint_init(&s->fork, below);
  idx_log_warn("sync",
               "reorg deeper than the %d-block header window (from block %llu): searching the "
               "stored logs' blocks below block %llu for the fork point (search %u of 2)",
               REORG_WINDOW, (unsigned long long)s->reorg_from_cursor, (unsigned long long)below,
               s->fork_pass + 1);
  fork_read_page(s);
}

static void on_fork_floor(idx_sync_t *s, const idx_rpc_reply_t *r, size_t n) {
  store_job_t *j = &s->job;
  idx_block_t b;
  char err[160];
  if (!r || n != 1 || r[0].err || json_is_null(r[0].result) ||
      idx_ethjson_block(r[0].result, &b, err, sizeof err) || b.number != j->keep_block) {
    inconsistent(s, "the header below the history's first block");
    return;
  }
  j->keep_hash = b.hash;
  fork_decided(s);
}

static void fork_page_step(idx_sync_t *s);

static void on_fork_page(idx_sync_t *s, const idx_rpc_reply_t *r, size_t n) {
  store_job_t *j = &s->job;
  if (!r || n != j->nfork_page) {
    inconsistent(s, "fork search answer below the window");
    return;
  }
  char err[160];
  for (size_t i = 0; i < n; i++) {
    idx_block_t b;
    /* An error is no answer: the search would go deeper than the chains
     * part (asked again, from the head). No block there is one. */
    if (r[i].err) {
      inconsistent(s, "fork search answer below the window");
      return;
    }
    s->fork_on_chain[i] = !json_is_null(r[i].result);
    if (!s->fork_on_chain[i])
      continue;
    if (idx_ethjson_block(r[i].result, &b, err, sizeof err) || b.number != j->fork_page[i].number) {
      inconsistent(s, "malformed header in the fork search below the window");
      return;
    }
    s->fork_node_hash[i] = b.hash;
  }
  fork_page_step(s);
}

/* What the page in s->job and the node's answers for it (fork_on_chain,
 * fork_node_hash) say. */
static void fork_page_step(idx_sync_t *s) {
  store_job_t *j = &s->job;
  size_t n = j->nfork_page;
  size_t at = 0;
  idx_forkpoint_step_t step =
      idx_forkpoint_page(&s->fork, j->fork_page, n, s->fork_on_chain, s->fork_node_hash,
                         IDX_ARRAY_LEN(j->fork_page), s->st.has_finalized, s->st.finalized, &at);
  switch (step) {
  case IDX_FORKPOINT_MORE:
    idx_log_debug("sync",
                  "fork search: no stored block above %llu is on the node's chain (%llu "
                  "page(s), %llu block(s))",
                  (unsigned long long)s->fork.below, (unsigned long long)s->fork.pages,
                  (unsigned long long)s->fork.blocks);
    fork_read_page(s);
    return;
  case IDX_FORKPOINT_FOUND:
    j->keep_block = j->fork_page[at].number;
    j->keep_hash = j->fork_page[at].hash;
    idx_log_warn("sync",
                 "fork search: block %llu is the highest stored block still on the node's chain "
                 "(%llu stored block(s) below the window checked, %llu page(s))",
                 (unsigned long long)j->keep_block, (unsigned long long)s->fork.blocks,
                 (unsigned long long)s->fork.pages);
    fork_decided(s);
    return;
  case IDX_FORKPOINT_FINAL: {
    char what[200];
    snprintf(what, sizeof what,
             "the node contradicts stored block %llu, at or below finalized block %llu (a fork "
             "below the finalized block)",
             (unsigned long long)j->fork_page[at].number, (unsigned long long)s->st.finalized);
    s->st.reorgs_refused++;
    provider_fault(s, what);
    return;
  }
  case IDX_FORKPOINT_NONE: {
    j->keep_block = idx_forkpoint_floor(&s->fork, history_first_block(s));
    idx_log_warn("sync",
                 "fork search: none of the %llu stored block(s) below the window is on the "
                 "node's chain: the history is indexed again above block %llu",
                 (unsigned long long)s->fork.blocks, (unsigned long long)j->keep_block);
    if (is_final(s, j->keep_block + 1)) {
      fork_decided(s); /* refused there, with the reason */
      return;
    }
    ask_header(s, j->keep_block, on_fork_floor);
    return;
  }
  case IDX_FORKPOINT_BAD:
    break;
  }
  idx_sync__finish(s, IDX_ERR_DB, "database error: the stored log blocks came out of order");
}

/* A page of stored log blocks was read: the node is asked for the same
 * blocks (an empty page: nothing left to ask). */
static void fork_page_read(idx_sync_t *s) {
  store_job_t *j = &s->job;
  if (j->nfork_page == 0) {
    fork_page_step(s);
    return;
  }
  const char *methods[IDX_FORKPOINT_PAGE];
  json_t *params[IDX_FORKPOINT_PAGE];
  for (size_t k = 0; k < j->nfork_page; k++) {
    char tag[24];
    (void)hex_block_tag(tag, sizeof tag, j->fork_page[k].number);
    methods[k] = "eth_getBlockByNumber";
    params[k] = json_pack("[s,b]", tag, 0);
  }
  send_batch(s, methods, params, j->nfork_page, on_fork_page);
}

static void on_fork_headers(idx_sync_t *s, const idx_rpc_reply_t *r, size_t n) {
  store_job_t *j = &s->job;
  if (!r || n != j->nblocks) {
    inconsistent(s, "fork search answer");
    return;
  }
  /* The highest stored header still canonical is the fork point. (A
   * block the node does not have, above its head, is not.) */
  char err[160];
  for (size_t i = j->nblocks; i-- > 0;) {
    idx_block_t b;
    if (r[i].err || json_is_null(r[i].result) ||
        idx_ethjson_block(r[i].result, &b, err, sizeof err))
      continue;
    if (memcmp(b.hash.b, j->blocks[i].hash.b, 32) == 0) {
      j->keep_block = b.number;
      j->keep_hash = b.hash;
      fork_decided(s);
      return;
    }
  }
  deep_search(s, j->blocks[0].number);
}

static void after_blocks(idx_sync_t *s) {
  store_job_t *j = &s->job;
  if (j->nblocks == 0) {
    /* No header stored in the window: the logs' blocks, from the cursor. */
    deep_search(s, s->reorg_from_cursor + 1);
    return;
  }
  const char *methods[REORG_WINDOW + 1];
  json_t *params[REORG_WINDOW + 1];
  size_t k = 0;
  for (; k < j->nblocks; k++) {
    char tag[24];
    (void)hex_block_tag(tag, sizeof tag, j->blocks[k].number);
    methods[k] = "eth_getBlockByNumber";
    params[k] = json_pack("[s,b]", tag, 0);
  }
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
  idx_sync__window_reset(s); /* planned from the old chain */
  s->docs_stale = true;      /* the rollback may have marked documents stale */
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
    idx_sync__finish(s, 0, "stopped");
    return;
  }
  if (s->finish_after_docs) {
    if (s->docs_stale) {
      build_docs(s);
      return;
    }
    s->finish_after_docs = false;
  }
  idx_sync__after_target(s);
}

/* ---- store job completion --------------------------------------------- */

static void standby_retry(idx_sync_t *s) {
  idx_sync__change_phase(s, PHASE_OPENING);
  memset(&s->job, 0, sizeof s->job);
  s->job.kind = JOB_OPEN;
  idx_sync__queue_job(s);
}

/* 020, once per process at the first open: a --from the cursor makes
 * moot is never silent, nor is a contract the network file gained after
 * the first sync (the follower never asked its logs below the cursor; the
 * coverage catch-up asks them, coverage.h, and the warning goes with its
 * row). A --from is not honoured: the history keeps its first block, so the
 * database stays equal to a fresh index made with that first block (a fresh
 * database indexes from another one). */
static void say_history(const idx_sync_t *s, const store_job_t *j) {
  const unsigned long long from = s->opts.from_block, cursor = j->last_block;
  if (j->found && s->opts.has_from) {
    switch (j->from_outcome) {
    case IDX_STORE_FROM_DIFFERS:
      idx_log_warn("sync",
                   "--from %llu ignored: this database's history starts at block %llu (its first "
                   "sync); the cursor (block %llu) decides where to go on; to index from block "
                   "%llu, use an empty database",
                   from, (unsigned long long)j->from_first, cursor, from);
      break;
    case IDX_STORE_FROM_ADOPTED:
      idx_log_info("sync",
                   "--from %llu recorded as the first block of this database's history (indexed "
                   "before migration 020, which could not tell; no stored log lies below it)",
                   from);
      break;
    case IDX_STORE_FROM_BELOW:
      idx_log_warn("sync",
                   "--from %llu ignored: this database (indexed before migration 020) holds logs "
                   "from block %llu, below it: its history starts at or below that block (taken "
                   "as the network file's start blocks); the cursor (block %llu) decides where to "
                   "go on",
                   from, (unsigned long long)j->from_lowest, cursor);
      break;
    case IDX_STORE_FROM_SAME:
    case IDX_STORE_FROM_NONE:
      break;
    }
  }
  const idx_network_t *net = s->opts.net;
  for (size_t k = 0; k < j->nlate; k++) {
    const idx_contract_t *c = idx_network_contract(net, &j->late[k]);
    if (!c || (c->start_block > cursor && c->start_block != 0))
      continue; /* no longer configured, or its logs are all ahead */
    char hex[43];
    idx_addr_to_hex(hex, &c->address);
    idx_log_warn("sync",
                 "contract %s %s was added to the network file after this database's first "
                 "sync (or its start_block lowered): its logs below the block the follower had "
                 "reached then (at most %llu) are not indexed yet; the coverage catch-up of this "
                 "start asks them (021)",
                 idx_role_name(c->role), hex, cursor);
  }
}

void idx_sync__on_job_done(idx_sync_t *s) {
  store_job_t *j = &s->job;
  if (j->rc == IDX_ERR_STANDBY) {
    /* Another instance holds the writer lock: wait, and take over when it
     * goes (its connection closes and PostgreSQL releases the lock). */
    if (s->phase != PHASE_STANDBY)
      idx_log_info("sync", "standby: another instance is writing chain %llu; waiting for its lock",
                   (unsigned long long)s->opts.net->chain_id);
    idx_sync__change_phase(s, PHASE_STANDBY);
    s->st.standby = true;
    s->need_lock = true;
    if (s->stopping) {
      idx_sync__finish(s, 0, "stopped");
      return;
    }
    later(s, s->opts.poll_ms, standby_retry);
    return;
  }
  if (j->rc == IDX_ERR_DB_CONN || j->rc == IDX_ERR_DB_TRANSIENT ||
      (j->kind == JOB_OPEN && j->rc && !s->store)) {
    /* Lost connections, and failures that pass by themselves (a cancelled
     * statement, a deadlock, a full disk: pgerr.h): the job is retried
     * with backoff on a fresh session; its transaction left nothing. */
    s->db_failures++;
    if (j->rc == IDX_ERR_DB_TRANSIENT)
      idx_log_warn("sync", "database error, retrying (%s); retry %u", j->err, s->db_failures);
    else
      idx_log_warn("sync", "database unavailable (%s); retry %u", j->err, s->db_failures);
    if (s->opts.max_db_attempts && s->db_failures >= s->opts.max_db_attempts) {
      char msg[640];
      snprintf(msg, sizeof msg, "%s: %s",
               j->rc == IDX_ERR_DB_TRANSIENT ? "database error (still failing)"
                                             : "database unavailable",
               j->err);
      idx_sync__finish(s, j->rc == IDX_ERR_DB_TRANSIENT ? IDX_ERR_DB : IDX_ERR_DB_CONN, msg);
      return;
    }
    if (s->stopping) {
      idx_sync__finish(s, 0, "stopped");
      return;
    }
    later(s, backoff_ms(s->db_failures), idx_sync__retry_job);
    return;
  }
  if (j->rc == IDX_ERR_CONFLICT) {
    /* Someone else moved the cursor (a second writer or a manual change):
     * re-read it and carry on from there. */
    idx_log_warn("sync", "store cursor moved under us (%s); re-reading it", j->err);
    idx_sync__change_phase(s, PHASE_OPENING);
    memset(j, 0, sizeof *j);
    j->kind = JOB_OPEN;
    idx_sync__queue_job(s);
    return;
  }
  if (j->rc) {
    char msg[640];
    snprintf(msg, sizeof msg, "%s: %s",
             j->rc == IDX_ERR_CONFIG ? "configuration error" : "database error", j->err);
    idx_sync__finish(s, j->rc, msg);
    return;
  }
  s->db_failures = 0;
  switch (j->kind) {
  case JOB_OPEN:
    s->opened = true;
    if (s->st.standby)
      idx_log_info("sync", "took the writer lock: this instance writes now");
    s->st.standby = false;
    s->has_cursor = j->found;
    s->cursor = j->last_block;
    s->cursor_hash = j->last_hash;
    s->st.has_cursor = j->found;
    s->st.cursor = j->last_block;
    memcpy(s->starts, j->starts, sizeof s->starts);
    s->nstarts = j->nstarts;
    s->st.has_first_block = j->history.known;
    s->st.first_block = j->history.first_block;
    if (!s->history_said) {
      s->history_said = true;
      say_history(s, j);
    }
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
    idx_sync__derive_kick(s);
    if (s->stopping) {
      idx_sync__finish(s, 0, "stopped");
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
  case JOB_FORK_LOGS:
    fork_page_read(s);
    break;
  case JOB_STORED_TIP:
    after_stored_tip(s);
    break;
  case JOB_DOCS:
    after_docs(s);
    break;
  case JOB_SENDERS_READ: /* #25 */
  case JOB_SENDERS_WRITE:
    idx_sync__admin_job_done(s);
    break;
  case JOB_COVERAGE_READ: /* #22, coverage.c */
  case JOB_COVERAGE_STORED:
  case JOB_COVERAGE_WRITE:
    idx_sync__coverage_job_done(s);
    break;
  case JOB_STARTS:
    if (s->stopping) {
      idx_sync__finish(s, 0, "stopped");
      return;
    }
    idx_sync__after_target(s);
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
    idx_bloom_bits(s->main_addr_bits[s->n_main_addr++], c->address.b, 20);
    for (size_t e = 0; e < c->abi.nevents; e++)
      idx_bloom_bits(s->main_topic_bits[s->n_main_topic++], c->abi.events[e].topic0.b, 32);
  }
  return 0;
}

static int build_filters(idx_sync_t *s) {
  const idx_network_t *net = s->opts.net;
  s->main_addresses = json_array();
  s->open_addresses = json_array();
  s->main_topics = json_array();
  json_t *topic0s = json_array();
  json_t *license_froms = json_array();
  if (!s->main_addresses || !s->open_addresses || !s->main_topics || !topic0s || !license_froms)
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
    bool open = idx_role_fetches_all(c->role);
    json_array_append_new(open ? s->open_addresses : s->main_addresses, json_string(hex));
    if (c->license_class != IDX_CLASS_NONE) {
      /* Transfers out of a license contract: topic1 = from, padded. */
      char padded[67] = "0x000000000000000000000000";
      memcpy(padded + 26, hex + 2, 40);
      padded[66] = '\0';
      json_array_append_new(license_froms, json_string(padded));
    }
    for (size_t e = 0; e < c->abi.nevents && !open; e++) {
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
  /* The proxy events every contract is decoded for (network.h). */
  idx_abi_t proxy;
  idx_abi_init(&proxy);
  char perr[160];
  int prc = idx_network_add_proxy_events(&proxy, perr, sizeof perr);
  json_t *proxy0s = json_array();
  for (size_t e = 0; prc == 0 && proxy0s && e < proxy.nevents; e++) {
    char hex[67];
    idx_hash_to_hex(hex, &proxy.events[e].topic0);
    json_array_append_new(proxy0s, json_string(hex));
  }
  idx_abi_free(&proxy);
  s->proxy_topics = proxy0s ? json_pack("[o]", proxy0s) : NULL;
  if (prc || !s->proxy_topics)
    return prc ? prc : IDX_ERR_NOMEM;
  if (s->token_address) {
    char t0[67];
    static const char transfer[] = "Transfer(address,address,uint256)";
    idx_hash_t h;
    idx_keccak256(&h, transfer, sizeof transfer - 1);
    idx_hash_to_hex(t0, &h);
    s->token_topics_in = json_pack("[[s],n,O]", t0, license_froms); /* #25: same list as `to` */
    s->token_topics = json_pack("[[s],o]", t0, license_froms);
    if (!s->token_topics || !s->token_topics_in)
      return IDX_ERR_NOMEM;
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
  /* Answers of up to four times this before the span shrinks: a parsed
   * answer takes about four times its size, and --max-held-bytes bounds
   * those held (#16 item 3: memory of a dense backfill). */
  s->range.grow_below_bytes = opts->max_held_bytes / 8;
  s->st.range = s->range.span;
  if (s->opts.max_inflight == 0)
    s->opts.max_inflight = 1;
  if (s->opts.max_inflight > IDX_SYNC_MAX_INFLIGHT)
    s->opts.max_inflight = IDX_SYNC_MAX_INFLIGHT;
  int rc = build_filters(s);
  if (rc == 0)
    rc = build_blooms(s);
  if (rc == 0)
    rc = idx_sync__window_init(s);
  if (rc == 0)
    rc = idx_sync__admin_init(s); /* #25 */
  /* Room in the client for the window beside head polls and headers. */
  if (rc == 0)
    rc = idx_rpc_raise_max_in_flight(s->opts.rpc, s->opts.max_inflight + 4);
  idx_stakeflow_rules(opts->net, s->transfer_rules, &s->ntransfer_rules);
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
  idx_sync__queue_job(s);
  /* The chain's id is asked while the store opens (a fresh database's
   * migrations take a while): a round trip off the start (#16). */
  s->rpc_busy = true;
  s->early_check = true;
  if (idx_rpc_check_chain(s->opts.rpc, on_chain_checked, s) != 0) {
    s->rpc_busy = false;
    s->early_check = false; /* asked after the store opens */
  }
  *out = s;
  return 0;
}

void idx_sync_stop(idx_sync_t *s) {
  if (s->phase == PHASE_DONE || s->stop_requested)
    return;
  s->stop_requested = true;
  if (s->st.halted) {
    if (!idx_sync__in_flight(s) && !s->rpc_busy)
      idx_sync__finish(s, s->halt_status, s->st.halt_reason);
    return;
  }
  if (s->stopping)
    return;
  s->stopping = true;
  /* A store job in flight finishes (commit or rollback inside the
   * database) and its completion sees `stopping`; an RPC in flight is
   * answered or cancelled by the rpc client's close; a timer is cut short. */
  if (!s->job_busy && !s->rpc_busy && !idx_sync__window_in_flight(s) && !s->derive_busy) {
    uv_timer_stop(&s->timer);
    idx_sync__finish(s, 0, "stopped");
  }
}

static void timer_closed(uv_handle_t *h) {
  idx_sync_t *s = h->data;
  idx_store_close(s->store);
  idx_store_close(s->dstore);
  idx_store_close(s->docs_store);
  idx_arena_free(&s->arena);
  idx_buf_free(&s->args_json);
  idx_sync__window_free(s);
  free(s->logs);
  free(s->blocks);
  json_decref(s->main_addresses);
  json_decref(s->open_addresses);
  json_decref(s->proxy_topics);
  json_decref(s->main_topics);
  json_decref(s->token_address);
  json_decref(s->token_topics);
  json_decref(s->token_topics_in);
  idx_sync__admin_free(s);
  idx_sync__coverage_free(s);
  free(s->main_addr_bits);
  free(s->main_topic_bits);
  free(s->disc);
  free(s->disc_req);
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
