/* coverage.c: the coverage catch-up at start (see coverage.h).
 *
 * A round, from the top down: blocks from..to below complete_from.
 *   1. eth_getLogs of the quiet contracts, unfiltered (the follower's
 *      REQ_LOGS_OPEN filter, the engine's client and span: a provider's
 *      range limit or an answer over --rpc-max-response shrinks the span,
 *      a good answer lets it grow, as for the follower's ranges);
 *   2. each log checked and decoded as a range's (sync.c's decoder: an
 *      address no filter named, a known event that does not decode, a
 *      removed log, a log outside the round, a duplicate position are a
 *      bad answer);
 *   3. each log's block hash must be its block's: the hash the stored
 *      logs of its block carry, else (a block the database has no log of)
 *      its header's, asked in batches; either gives the log its time;
 *   4. the store merges it (idx_store_coverage_round): what was missing is
 *      stored, and a log that contradicts a stored one in its block (hash,
 *      transaction, address) refuses the round.
 * Then the same rounds per contract of contract_coverage (021), with the
 * follower's filter for its role (coverage.h), merged by
 * idx_store_coverage_round with its address.
 * A bad answer, a refusal or a node that lacks a header ends the catch-up
 * with a warning (the next start resumes it from the last round
 * committed); a transport failure goes to the follower's usual retry,
 * which leaves it to the next start too. Memory: one round's logs (the
 * engine's batch arena, capped: a round that does not fit shrinks).
 */
#include "common.h"

#include "coverage.h"
#include "ethjson.h"
#include "hex.h"
#include "log.h"
#include "logrange.h"
#include "replycheck.h"
#include "sync_engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool idx_coverage_round(uint64_t complete_from, uint64_t low, uint64_t span, uint64_t *from,
                        uint64_t *to) {
  if (complete_from <= low)
    return false;
  if (span == 0)
    span = 1;
  *to = complete_from - 1;
  *from = complete_from - low > span ? complete_from - span : low;
  return true;
}

uint64_t idx_coverage_low(const idx_network_t *net, const idx_store_start_t *starts,
                          size_t nstarts) {
  uint64_t low = UINT64_MAX;
  for (size_t i = 0; i < net->ncontracts; i++) {
    const idx_contract_t *c = &net->contracts[i];
    if (!idx_role_fetches_all(c->role))
      continue;
    uint64_t b = c->start_block;
    for (size_t k = 0; b == 0 && starts && k < nstarts; k++) {
      if (memcmp(starts[k].address.b, c->address.b, 20) == 0)
        b = starts[k].block;
    }
    if (b < low)
      low = b;
  }
  return low;
}

void idx_sync__coverage_free(idx_sync_t *s) {
  free(s->cov.logs);
  free(s->cov.hdr);
  free(s->cov.kfound);
  free(s->cov.khash);
  free(s->cov.ktime);
  s->cov.logs = NULL;
  s->cov.hdr = NULL;
  s->cov.kfound = NULL;
  s->cov.khash = NULL;
  s->cov.ktime = NULL;
  s->cov.nlogs = s->cov.cap = s->cov.nhdr = s->cov.hdr_cap = 0;
}

static void forget_round(idx_sync_t *s) {
  idx_arena_reset(&s->arena);
  s->cov.nlogs = 0;
  s->cov.nhdr = s->cov.hdr_at = s->cov.hdr_asked = 0;
}

/* The contract of the task in hand (NULL: the quiet contracts'). */
static const idx_store_late_t *task_late(const idx_coverage_t *c) {
  return c->task ? &c->late[c->task - 1] : NULL;
}

static void send_round(idx_sync_t *s);

/* The next contract of contract_coverage still configured, or the senders'
 * catch-up when none is left. */
static void next_task(idx_sync_t *s) {
  idx_coverage_t *c = &s->cov;
  while (c->task < c->nlate) {
    const idx_store_late_t *l = &c->late[c->task++];
    const idx_contract_t *k = idx_network_contract(s->opts.net, &l->address);
    if (!k)
      continue; /* no longer in the network file: its row waits for it */
    c->complete_from = c->top = l->complete_from;
    c->low = l->low;
    c->rounds = c->logs_added = c->unknown_added = c->headers = 0;
    c->rederive = c->at_first = false;
    if (c->complete_from > c->low) {
      char hex[43];
      idx_addr_to_hex(hex, &l->address);
      idx_log_info("sync",
                   "coverage catch-up of contract %s %s (added to the network file, or given a "
                   "lower start_block, after the first sync): asking its logs of blocks %llu..%llu",
                   idx_role_name(k->role), hex, (unsigned long long)c->low,
                   (unsigned long long)(c->complete_from - 1));
    }
    send_round(s);
    return;
  }
  idx_sync__admin_catchup(s);
}

/* The log line of a contract's catch-up, done. */
static void say_contract(const idx_coverage_t *c) {
  const idx_store_late_t *l = task_late(c);
  char hex[43], model[80] = "";
  idx_addr_to_hex(hex, &l->address);
  if (c->rounds == 0) {
    idx_log_info("sync",
                 "coverage catch-up of contract %s: nothing to ask below block %llu (its start "
                 "block, or the history's first block); its history is complete",
                 hex, (unsigned long long)c->top);
    return;
  }
  if (c->rederive)
    snprintf(model, sizeof model, "; the model is derived again from block %llu",
             (unsigned long long)(c->model_from + 1));
  idx_log_info("sync",
               "coverage catch-up of contract %s: blocks %llu..%llu asked in %llu round(s), %llu "
               "log(s) and %llu unknown log(s) stored, %llu header(s) asked%s; its history is "
               "complete",
               hex, (unsigned long long)c->low,
               (unsigned long long)(c->top > c->low ? c->top - 1 : c->low),
               (unsigned long long)c->rounds, (unsigned long long)c->logs_added,
               (unsigned long long)c->unknown_added, (unsigned long long)c->headers, model);
}

/* Ends the task in hand (why: the reason it stopped early, which ends the
 * whole catch-up) and goes on with the next contract, then the senders'
 * catch-up. */
static void finish(idx_sync_t *s, const char *why) {
  idx_coverage_t *c = &s->cov;
  forget_round(s);
  if (why) {
    char what[64] = "";
    if (c->task) {
      char hex[43];
      idx_addr_to_hex(hex, &task_late(c)->address);
      snprintf(what, sizeof what, " of contract %s", hex);
    }
    idx_log_warn("sync",
                 "coverage catch-up%s stopped (%s) with blocks below %llu still to ask; the next "
                 "start resumes it",
                 what, why, (unsigned long long)c->complete_from);
    idx_sync__admin_catchup(s);
    return;
  }
  if (c->task)
    say_contract(c);
  else if (c->found && c->rounds == 0 && c->at_first)
    idx_log_info("sync",
                 "coverage catch-up: the history starts at block %llu (its first block): nothing "
                 "below block %llu to ask; unknown logs and upgrades are complete",
                 (unsigned long long)c->low, (unsigned long long)c->top);
  else if (c->found && c->rounds == 0)
    idx_log_info("sync",
                 "coverage catch-up: no quiet contract's log can lie below block %llu; "
                 "unknown logs and upgrades are complete",
                 (unsigned long long)c->top);
  else if (c->found) {
    char model[80] = "";
    if (c->rederive)
      snprintf(model, sizeof model, "; the model is derived again from block %llu",
               (unsigned long long)(c->model_from + 1));
    idx_log_info("sync",
                 "coverage catch-up: blocks %llu..%llu asked in %llu round(s), %llu log(s) and "
                 "%llu unknown log(s) stored, %llu header(s) asked (a database indexed before "
                 "013)%s; unknown logs and upgrades are complete",
                 (unsigned long long)c->low, (unsigned long long)(c->top - 1),
                 (unsigned long long)c->rounds, (unsigned long long)c->logs_added,
                 (unsigned long long)c->unknown_added, (unsigned long long)c->headers, model);
  }
  next_task(s);
}

static void read_job(idx_sync_t *s, job_kind_t kind) {
  idx_sync__change_phase(s, PHASE_COVERAGE);
  memset(&s->job, 0, sizeof s->job);
  s->job.kind = kind;
  idx_sync__queue_job(s);
}

void idx_sync__coverage_catchup(idx_sync_t *s) {
  idx_coverage_t *c = &s->cov;
  if (c->done || !s->has_cursor) {
    c->done = true;
    idx_sync__admin_catchup(s);
    return;
  }
  if (!idx_sync__model_current(s)) {
    /* A round may undo the model above its new rows: no derivation may
     * be writing it meanwhile. Started by the open, it ends (or ends the
     * engine); wait for it. */
    if (!c->waited) /* (at every start: the open reads the model cursor again) */
      idx_log_debug("sync", "coverage catch-up waits for the model to reach block %llu",
                    (unsigned long long)s->cursor);
    c->waited = true;
    if (!idx_sync__derive_kick(s) && !idx_sync__model_current(s)) {
      c->done = true; /* no derivation can run now (a rollback waits): the next start */
      idx_sync__admin_catchup(s);
      return;
    }
    idx_sync__later(s, 100, idx_sync__coverage_catchup);
    return;
  }
  /* Once per process, as the senders' catch-up. */
  c->done = true;
  read_job(s, JOB_COVERAGE_READ);
}

int idx_sync__coverage_job_run(idx_sync_t *s, store_job_t *j) {
  idx_coverage_t *c = &s->cov;
  uint64_t chain = s->opts.net->chain_id;
  if (j->kind == JOB_COVERAGE_STORED)
    return idx_store_coverage_stored(s->store, chain, c->hdr, c->nhdr, c->kfound, c->khash,
                                     c->ktime, j->err, sizeof j->err);
  if (j->kind == JOB_COVERAGE_READ) {
    int rc = idx_store_coverage_from(s->store, chain, &c->found, &c->complete_from, j->err,
                                     sizeof j->err);
    if (rc == 0 && c->found)
      rc = idx_store_discovered_starts(s->store, chain, j->starts, IDX_ARRAY_LEN(j->starts),
                                       &j->nstarts, j->err, sizeof j->err);
    if (rc == 0)
      rc = idx_store_contract_coverage(s->store, chain, c->late, IDX_ARRAY_LEN(c->late), &c->nlate,
                                       j->err, sizeof j->err);
    return rc;
  }
  /* (from == complete_from: no blocks, the row goes) */
  return idx_store_coverage_round(s->store, chain, c->task ? &task_late(c)->address : NULL,
                                  c->complete_from, c->from, c->low, c->logs, c->nlogs, &c->res,
                                  j->err, sizeof j->err);
}

static void send_headers(idx_sync_t *s);

/* The round's answer was too large or met a provider's limit: smaller. */
static void shrink(idx_sync_t *s, const idx_logrange_advice_t *advice, const char *why) {
  idx_coverage_t *c = &s->cov;
  uint64_t span = c->to - c->from + 1;
  forget_round(s);
  if (span == 1) {
    finish(s, why);
    return;
  }
  uint64_t next = idx_logrange_limited(&s->range, c->from, span, advice);
  s->st.range_limits++;
  idx_log_warn("sync", "provider limit on blocks %llu..%llu (%s); range %llu -> %llu blocks",
               (unsigned long long)c->from, (unsigned long long)c->to, why,
               (unsigned long long)span, (unsigned long long)next);
  send_round(s);
}

static int push_log(idx_coverage_t *c, const idx_log_t *log) {
  if (c->nlogs == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 256;
    idx_log_t *p = realloc(c->logs, cap * sizeof *p);
    if (!p)
      return IDX_ERR_NOMEM;
    c->logs = p;
    c->cap = cap;
  }
  c->logs[c->nlogs++] = *log;
  return 0;
}

static int push_header(idx_coverage_t *c, uint64_t number) {
  if (c->nhdr && c->hdr[c->nhdr - 1] == number)
    return 0;
  if (c->nhdr == c->hdr_cap) {
    size_t cap = c->hdr_cap ? c->hdr_cap * 2 : 64;
    uint64_t *p = realloc(c->hdr, cap * sizeof *p);
    if (p)
      c->hdr = p;
    bool *f = p ? realloc(c->kfound, cap * sizeof *f) : NULL;
    if (f)
      c->kfound = f;
    idx_hash_t *h = f ? realloc(c->khash, cap * sizeof *h) : NULL;
    if (h)
      c->khash = h;
    int64_t *t = h ? realloc(c->ktime, cap * sizeof *t) : NULL;
    if (!t)
      return IDX_ERR_NOMEM;
    c->ktime = t;
    c->hdr_cap = cap;
  }
  c->hdr[c->nhdr++] = number;
  return 0;
}

/* The network's DIMO token (NULL: none). */
static const idx_contract_t *token_of(const idx_network_t *net) {
  for (size_t i = 0; i < net->ncontracts; i++) {
    if (net->contracts[i].role == IDX_ROLE_DIMO_TOKEN)
      return &net->contracts[i];
  }
  return NULL;
}

/* Whether the round's requests named the log's address: the quiet
 * contracts (task 0), else the contract in hand and, for a license
 * contract, the DIMO token (its transfers from and to it). */
static bool asked_for(const idx_sync_t *s, const idx_addr_t *a) {
  const idx_coverage_t *c = &s->cov;
  const idx_contract_t *k = idx_network_contract(s->opts.net, a);
  if (!c->task)
    return !k || idx_role_fetches_all(k->role);
  const idx_store_late_t *l = task_late(c);
  if (memcmp(a->b, l->address.b, 20) == 0)
    return true;
  const idx_contract_t *mine = idx_network_contract(s->opts.net, &l->address);
  return k && k->role == IDX_ROLE_DIMO_TOKEN && k == token_of(s->opts.net) && mine &&
         mine->license_class != IDX_CLASS_NONE;
}

/* Reads, checks and decodes one reply of the round (as sync.c's range
 * handler does for the follower's requests). Returns 0, or a reason in
 * why: IDX_ERR_TOO_LARGE (the batch arena is full: shrink), else a bad
 * answer. */
static int take_logs(idx_sync_t *s, const idx_rpc_reply_t *r, char *why, size_t whylen) {
  idx_coverage_t *c = &s->cov;
  json_t *arr = r->result;
  const idx_logset_t *set = r->logs;
  if (!set && !json_is_array(arr)) {
    snprintf(why, whylen, "eth_getLogs result is not an array");
    return IDX_ERR_RPC_REPLY;
  }
  size_t nitems = set ? set->n : json_array_size(arr);
  for (size_t i = 0; i < nitems; i++) {
    idx_log_t log;
    bool removed = false;
    int rc = set ? idx_ethjson_log_copy(set, i, &s->arena, &log, &removed, why, whylen)
                 : idx_ethjson_log(json_array_get(arr, i), &s->arena, &log, &removed, why, whylen);
    if (rc)
      return rc == IDX_ERR_TOO_LARGE ? rc : IDX_ERR_RPC_REPLY;
    if (removed || log.block_number < c->from || log.block_number > c->to) {
      snprintf(why, whylen, "%s", removed ? "removed log" : "log outside the range");
      return IDX_ERR_RPC_REPLY;
    }
    if (!asked_for(s, &log.address)) {
      snprintf(why, whylen, "log %u in block %llu comes from a contract the request did not name",
               log.log_index, (unsigned long long)log.block_number);
      return IDX_ERR_RPC_REPLY;
    }
    decoded_t dec = idx_sync__decode_log(s, &log, why, whylen);
    if (dec == DECODED_BAD)
      return IDX_ERR_RPC_REPLY;
    if (push_log(c, &log))
      return IDX_ERR_NOMEM;
  }
  return 0;
}

/* The round's logs in order, each once: a log two requests answer (a
 * transfer from a license contract to itself) is kept once; two other logs
 * at one position are a bad answer. Then the blocks whose hashes to check. */
static int settle_logs(idx_sync_t *s, char *why, size_t whylen) {
  idx_coverage_t *c = &s->cov;
  idx_replycheck_sort_logs(c->logs, c->nlogs);
  size_t keep = 0;
  for (size_t i = 0; i < c->nlogs; i++) {
    const idx_log_t *p = keep ? &c->logs[keep - 1] : NULL;
    const idx_log_t *l = &c->logs[i];
    if (p && p->block_number == l->block_number && p->log_index == l->log_index) {
      if (c->nreq > 1 && memcmp(p->block_hash.b, l->block_hash.b, 32) == 0 &&
          memcmp(p->tx_hash.b, l->tx_hash.b, 32) == 0 &&
          memcmp(p->address.b, l->address.b, 20) == 0)
        continue;
      snprintf(why, whylen, "duplicate log index");
      return IDX_ERR_RPC_REPLY;
    }
    c->logs[keep++] = *l;
  }
  c->nlogs = keep;
  for (size_t i = 0; i < c->nlogs; i++) {
    if (push_header(c, c->logs[i].block_number))
      return IDX_ERR_NOMEM;
  }
  return 0;
}

static void on_logs(idx_sync_t *s, const idx_rpc_reply_t *r, size_t n) {
  idx_coverage_t *c = &s->cov;
  idx_logrange_advice_t none = {0};
  none.is_limit = true;
  if (!r) {
    shrink(s, &none, "answer larger than --rpc-max-response");
    return;
  }
  if (n != c->nreq) {
    finish(s, "reply count");
    return;
  }
  for (size_t i = 0; i < n; i++) {
    if (!r[i].err)
      continue;
    idx_logrange_advice_t advice;
    idx_sync__classify_error(&r[i], &advice);
    if (advice.is_limit) {
      shrink(s, &advice, r[i].message ? r[i].message : "limit");
      return;
    }
    char what[200];
    snprintf(what, sizeof what, "eth_getLogs error %ld: %s", r[i].code,
             r[i].message ? r[i].message : "");
    finish(s, what);
    return;
  }
  char why[256];
  forget_round(s);
  int rc = 0;
  for (size_t i = 0; i < n && !rc; i++)
    rc = take_logs(s, &r[i], why, sizeof why);
  if (!rc)
    rc = settle_logs(s, why, sizeof why);
  if (rc == IDX_ERR_TOO_LARGE) {
    shrink(s, &none, "batch memory cap");
    return;
  }
  if (rc == IDX_ERR_NOMEM) {
    idx_sync__finish(s, rc, "out of memory");
    return;
  }
  if (rc) {
    finish(s, why);
    return;
  }
  idx_logrange_answer(&s->range, c->to - c->from + 1, c->nlogs, idx_rpc_answer_bytes(s->opts.rpc));
  if (c->nhdr) {
    read_job(s, JOB_COVERAGE_STORED);
    return;
  }
  send_headers(s);
}

/* The round's blocks whose logs the database holds: the answer's logs
 * there must carry the same block hash (a block the database has is the
 * chain's as indexed), and take their time; only the other blocks'
 * headers are asked. (The merge checks the hashes again, in its
 * transaction.) */
static void check_stored(idx_sync_t *s) {
  idx_coverage_t *c = &s->cov;
  size_t li = 0, keep = 0;
  for (size_t i = 0; i < c->nhdr; i++) {
    uint64_t number = c->hdr[i];
    while (li < c->nlogs && c->logs[li].block_number < number)
      li++;
    if (!c->kfound[i]) {
      c->hdr[keep++] = number;
      continue;
    }
    for (; li < c->nlogs && c->logs[li].block_number == number; li++) {
      if (memcmp(c->logs[li].block_hash.b, c->khash[i].b, 32) != 0) {
        char what[160];
        snprintf(what, sizeof what,
                 "the answer for block %llu differs from the stored logs of that block",
                 (unsigned long long)number);
        finish(s, what);
        return;
      }
      c->logs[li].block_time = c->ktime[i];
    }
  }
  c->nhdr = keep;
  c->hdr_at = 0;
  c->headers += keep;
  send_headers(s);
}

static void on_headers(idx_sync_t *s, const idx_rpc_reply_t *r, size_t n) {
  idx_coverage_t *c = &s->cov;
  if (!r || n != c->hdr_asked) {
    finish(s, !r ? "header answer too large" : "header reply count");
    return;
  }
  /* Logs are sorted; the headers were asked in block order. */
  size_t li = 0;
  while (li < c->nlogs && c->logs[li].block_number < c->hdr[c->hdr_at])
    li++;
  for (size_t j = 0; j < n; j++) {
    idx_block_t b;
    char err[160];
    uint64_t number = c->hdr[c->hdr_at + j];
    if (r[j].err || json_is_null(r[j].result)) {
      finish(s, "header of a block with logs not found");
      return;
    }
    if (idx_ethjson_block(r[j].result, &b, err, sizeof err) || b.number != number) {
      finish(s, "a malformed header of a block with logs");
      return;
    }
    for (; li < c->nlogs && c->logs[li].block_number == number; li++) {
      if (memcmp(c->logs[li].block_hash.b, b.hash.b, 32) != 0) {
        char what[160];
        snprintf(what, sizeof what, "a log's block hash differs from the header of block %llu",
                 (unsigned long long)number);
        finish(s, what);
        return;
      }
      c->logs[li].block_time = b.time;
    }
  }
  s->st.log_headers += n;
  c->hdr_at += n;
  send_headers(s);
}

/* Asks the next headers of the round's blocks with logs, or writes it. */
static void send_headers(idx_sync_t *s) {
  idx_coverage_t *c = &s->cov;
  size_t k = c->nhdr - c->hdr_at < TIME_BATCH_MAX ? c->nhdr - c->hdr_at : TIME_BATCH_MAX;
  if (k == 0) {
    read_job(s, JOB_COVERAGE_WRITE);
    return;
  }
  const char *methods[TIME_BATCH_MAX];
  json_t *params[TIME_BATCH_MAX];
  for (size_t i = 0; i < k; i++) {
    char tag[24];
    snprintf(tag, sizeof tag, "0x%llx", (unsigned long long)c->hdr[c->hdr_at + i]);
    methods[i] = "eth_getBlockByNumber";
    params[i] = json_pack("[s,b]", tag, 0);
  }
  c->hdr_asked = k;
  idx_sync__send_batch(s, methods, params, k, on_headers);
}

/* An eth_getLogs filter over blocks f..t (hex); topics NULL: every log of
 * the addresses. */
static json_t *filter(const char *f, const char *t, json_t *address, json_t *topics) {
  json_t *o = json_pack("{s:s,s:s,s:O}", "fromBlock", f, "toBlock", t, "address", address);
  if (o && topics && json_object_set(o, "topics", topics) != 0) {
    json_decref(o);
    return NULL;
  }
  return o ? json_pack("[o]", o) : NULL;
}

/* Asks the next round, or ends when the history is complete. */
static void send_round(idx_sync_t *s) {
  idx_coverage_t *c = &s->cov;
  forget_round(s);
  if (!idx_coverage_round(c->complete_from, c->low, s->range.span, &c->from, &c->to)) {
    /* Nothing below to ask (the contracts start at or above it): the
     * coverage row goes, in a round of no blocks. */
    c->from = c->complete_from;
    read_job(s, JOB_COVERAGE_WRITE);
    return;
  }
  char f[24], t[24];
  snprintf(f, sizeof f, "0x%llx", (unsigned long long)c->from);
  snprintf(t, sizeof t, "0x%llx", (unsigned long long)c->to);
  const char *methods[IDX_COVERAGE_REQ_MAX];
  json_t *params[IDX_COVERAGE_REQ_MAX];
  size_t k = 0;
  bool ok = true;
  if (!c->task) {
    params[k++] = filter(f, t, s->open_addresses, NULL);
  } else {
    /* The follower's requests (sync.c, idx_sync__range_requests), for this
     * contract alone. */
    const idx_store_late_t *l = task_late(c);
    const idx_contract_t *ct = idx_network_contract(s->opts.net, &l->address);
    char hex[43];
    idx_addr_to_hex(hex, &l->address);
    json_t *addr = json_string(hex);
    ok = addr && ct;
    if (ok && idx_role_fetches_all(ct->role)) {
      params[k++] = filter(f, t, addr, NULL);
    } else if (ok && ct->role == IDX_ROLE_DIMO_TOKEN) {
      params[k++] = filter(f, t, addr, s->token_topics);
      params[k++] = filter(f, t, addr, s->proxy_topics);
      params[k++] = filter(f, t, addr, s->token_topics_in);
    } else if (ok) {
      params[k++] = filter(f, t, addr, s->main_topics);
    }
    if (ok && ct->license_class != IDX_CLASS_NONE && s->token_address && s->token_topics) {
      /* The DIMO transfers from and to it: the token's requests name every
       * license contract in topic1 / topic2. */
      char padded[67] = "0x000000000000000000000000";
      memcpy(padded + 26, hex + 2, 40);
      padded[66] = '\0';
      json_t *t0 = json_array_get(json_array_get(s->token_topics, 0), 0);
      json_t *out = json_pack("[[O],[s]]", t0, padded);
      json_t *in = json_pack("[[O],n,[s]]", t0, padded);
      params[k++] = out ? filter(f, t, s->token_address, out) : NULL;
      params[k++] = in ? filter(f, t, s->token_address, in) : NULL;
      json_decref(out);
      json_decref(in);
    }
    json_decref(addr);
  }
  for (size_t i = 0; i < k; i++) {
    methods[i] = "eth_getLogs";
    ok = ok && params[i];
  }
  if (!ok || k == 0) {
    for (size_t i = 0; i < k; i++)
      json_decref(params[i]);
    idx_sync__finish(s, IDX_ERR_NOMEM, "out of memory");
    return;
  }
  c->nreq = k;
  idx_sync__change_phase(s, PHASE_COVERAGE);
  idx_sync__send_batch(s, methods, params, k, on_logs);
}

void idx_sync__coverage_job_done(idx_sync_t *s) {
  idx_coverage_t *c = &s->cov;
  if (s->stopping) {
    idx_sync__finish(s, 0, "stopped");
    return;
  }
  if (s->job.kind == JOB_COVERAGE_READ) {
    c->task = 0;
    if (!c->found) {
      next_task(s); /* complete from the start: nothing asked; then the contracts (021) */
      return;
    }
    c->low = idx_coverage_low(s->opts.net, s->job.starts, s->job.nstarts);
    c->top = c->complete_from;
    if (!json_array_size(s->open_addresses))
      c->low = UINT64_MAX; /* no quiet contract: nothing to ask */
    /* 020: nothing below the history's first block: a fresh index made
     * from it (the same --from) never asked those blocks either. */
    c->at_first = s->st.has_first_block && c->low != UINT64_MAX && s->st.first_block > c->low;
    if (c->at_first)
      c->low = s->st.first_block;
    if (c->complete_from > c->low)
      idx_log_info("sync",
                   "coverage catch-up: asking the quiet contracts' every log of blocks %llu..%llu "
                   "(a database indexed before 013)",
                   (unsigned long long)c->low, (unsigned long long)(c->complete_from - 1));
    send_round(s);
    return;
  }
  if (s->job.kind == JOB_COVERAGE_STORED) {
    check_stored(s);
    return;
  }
  const idx_store_coverage_t *res = &c->res;
  if (res->refused) {
    finish(s, res->why);
    return;
  }
  bool last = c->nlogs == 0 && c->from == c->complete_from;
  if (!last) {
    c->rounds++;
    idx_log_debug("sync",
                  "coverage catch-up: blocks %llu..%llu: %llu log(s), %llu unknown stored; "
                  "the model at block %lld",
                  (unsigned long long)c->from, (unsigned long long)c->to,
                  (unsigned long long)res->logs_added, (unsigned long long)res->unknown_added,
                  res->has_model ? (long long)res->model_block : -1LL);
  }
  c->logs_added += res->logs_added;
  c->unknown_added += res->unknown_added;
  if (res->has_model && (!s->st.has_model || res->model_block < s->st.model_block)) {
    /* Undone above the new rows: the derivation (kicked by the senders'
     * catch-up, which waits for it) derives it again. */
    s->st.has_model = true;
    s->st.model_block = res->model_block;
    c->rederive = true;
    c->model_from = res->model_block;
  }
  c->complete_from = c->from;
  if (last || c->complete_from <= c->low) {
    finish(s, NULL);
    return;
  }
  send_round(s);
}
