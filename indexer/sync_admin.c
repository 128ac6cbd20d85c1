/* sync_admin.c: the follower's part of accountability (issue #25).
 *
 * Two additions to a range, kept here so that the rest of the engine
 * carries only their call sites (each marked "#25"):
 *
 *   - the inflow request: a third eth_getLogs per range, the DIMO token's
 *     transfers *into* a license contract (stake deposits, stray tokens),
 *     for the contracts' books. It joins every range's batch, near the head
 *     and in the window alike (idx_sync__range_requests). A transfer between
 *     two license contracts matches both token filters: the outflow answer
 *     keeps it, the inflow answer's copy is dropped (the range handler asks
 *     idx_sync__inflow_duplicate);
 *
 *   - the senders of the range's admin transactions (indexer/txfetch.c
 *     decides which, builds the requests and checks the answers): asked
 *     between the range's checked answer (logs decoded, sorted, their
 *     headers' hashes checked) and its write, in batches through the
 *     engine's client (its limits and failover), and handed to the store
 *     with the batch, which writes them in the batch's own transaction.
 *     A missing or contradicting answer throws the range away like any
 *     inconsistent answer (asked again from the head).
 *
 * And once per start, the catch-up: a database indexed before migration
 * 010 (or 015, for the manufacturer license) holds admin actions whose
 * senders were never asked ('not_fetched'). After the chain check and
 * before following, their transactions are read from the database in
 * rounds of CATCHUP_ROUND (oldest first), asked like a range's (the same
 * checks, the block hash their logs carry), and stored with their actions
 * attributed, one transaction per round; a round that stores its senders
 * never comes back (the read skips transactions with a stored sender), so
 * it ends. A node's bad answer ends the catch-up with a warning (the next
 * start resumes it): the follower itself never waits on it.
 *
 * The window (sync_window.c) holds the ranges ahead as raw answers; only
 * the range in hand is decoded, checked and written, one at a time, so the
 * fetch state is that range's: planned afresh for it, stamped with its
 * bounds (an answer meant for another range is never taken into it), and
 * borrowed by its batch until the write is done (the next plan comes with
 * the next range, after that write).
 */
#include "common.h"

#include "log.h"
#include "sync_engine.h"
#include "txfetch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int idx_sync__admin_init(idx_sync_t *s) {
  memset(&s->admin, 0, sizeof s->admin);
  return idx_txfetch_init(&s->admin.f, s->opts.net);
}

void idx_sync__admin_free(idx_sync_t *s) {
  idx_txfetch_free(&s->admin.f);
  free(s->admin.cu_txs);
  free(s->admin.cu_hashes);
  s->admin.cu_txs = NULL;
  s->admin.cu_hashes = NULL;
  s->admin.planned = false;
}

void idx_sync__admin_forget(idx_sync_t *s) {
  s->admin.planned = false;
  s->batch.txs = NULL;
  s->batch.ntxs = 0;
}

json_t *idx_sync__inflow_filter(const idx_sync_t *s, uint64_t from, uint64_t to) {
  char f[24], t[24];
  snprintf(f, sizeof f, "0x%llx", (unsigned long long)from);
  snprintf(t, sizeof t, "0x%llx", (unsigned long long)to);
  return json_pack("[{s:s,s:s,s:O,s:O}]", "fromBlock", f, "toBlock", t, "address", s->token_address,
                   "topics", s->token_topics_in);
}

bool idx_sync__inflow_duplicate(const idx_sync_t *s, const idx_log_t *log) {
  if (log->ntopics != 3)
    return false;
  idx_addr_t from;
  memcpy(from.b, log->topics[1].b + 12, 20);
  const idx_contract_t *c = idx_network_contract(s->opts.net, &from);
  return c && c->license_class != IDX_CLASS_NONE;
}

/* The range in hand is still the one planned (and waits for its senders). */
static bool plan_is_current(const idx_sync_t *s) {
  return s->admin.planned && s->phase == PHASE_ADMIN_TXS && s->admin.from == s->fetch_from &&
         s->admin.to == s->fetch_to;
}

static void send_next(idx_sync_t *s);

static void on_admin_txs(idx_sync_t *s, const idx_rpc_reply_t *r, size_t n) {
  if (!plan_is_current(s)) {
    /* Cannot happen (the engine has one exchange of its own out at a
     * time); should it, the answer is not this range's: start over. */
    idx_sync__admin_forget(s);
    idx_sync__inconsistent(s, "admin transactions answered for another range");
    return;
  }
  char why[200];
  if (!r) {
    idx_sync__admin_forget(s);
    idx_sync__inconsistent(s, "admin transaction answer too large");
    return;
  }
  if (idx_txfetch_take(&s->admin.f, r, n, why, sizeof why)) {
    idx_sync__admin_forget(s);
    idx_sync__inconsistent(s, why);
    return;
  }
  send_next(s);
}

/* Asks the next batch of senders, or hands the range to the writer. */
static void send_next(idx_sync_t *s) {
  const char *methods[IDX_TXFETCH_BATCH];
  json_t *params[IDX_TXFETCH_BATCH];
  size_t n = idx_txfetch_next(&s->admin.f, methods, params, IDX_TXFETCH_BATCH);
  if (n) {
    idx_sync__send_batch(s, methods, params, n, on_admin_txs);
    return;
  }
  s->batch.txs = idx_txfetch_txs(&s->admin.f, &s->batch.ntxs);
  idx_sync__write_batch(s);
}

void idx_sync__admin_txs(idx_sync_t *s) {
  idx_sync__change_phase(s, PHASE_ADMIN_TXS);
  idx_sync__admin_forget(s);
  int rc = idx_txfetch_plan(&s->admin.f, s->logs, s->nlogs);
  if (rc == IDX_ERR_NOMEM) {
    idx_sync__finish(s, rc, "out of memory");
    return;
  }
  if (rc) {
    /* More than IDX_TXFETCH_MAX: a smaller range has fewer. */
    idx_logrange_advice_t none = {0};
    none.is_limit = true;
    idx_sync__range_limited(s, &none, "too many admin transactions in one range");
    return;
  }
  s->admin.planned = true;
  s->admin.from = s->fetch_from;
  s->admin.to = s->fetch_to;
  if (s->admin.f.n)
    idx_log_debug("sync", "blocks %llu..%llu: %zu admin transactions to ask",
                  (unsigned long long)s->fetch_from, (unsigned long long)s->fetch_to, s->admin.f.n);
  send_next(s);
}

/* ---- the senders' catch-up at start ------------------------------------ */

enum { CATCHUP_ROUND = IDX_TXFETCH_BATCH * 10 };

static void catchup_finish(idx_sync_t *s, const char *why) {
  struct sync_admin_s *a = &s->admin;
  a->catchup_done = true;
  idx_sync__admin_forget(s);
  a->f.n = a->f.done = a->f.asked = 0;
  if (why)
    idx_log_warn(
        "sync",
        "senders' catch-up stopped (%s) after %llu transaction(s); the next start resumes it", why,
        (unsigned long long)a->cu_txs_total);
  else if (a->cu_txs_total || a->cu_attributed)
    idx_log_info("sync",
                 "senders' catch-up: %llu admin transaction(s) fetched in %llu round(s), "
                 "%llu action(s) attributed (a database indexed before their senders were kept)",
                 (unsigned long long)a->cu_txs_total, (unsigned long long)a->cu_rounds,
                 (unsigned long long)a->cu_attributed);
  idx_sync__after_catchup(s);
}

static void catchup_read(idx_sync_t *s) {
  idx_sync__change_phase(s, PHASE_ADMIN_TXS);
  memset(&s->job, 0, sizeof s->job);
  s->job.kind = JOB_SENDERS_READ;
  idx_sync__queue_job(s);
}

void idx_sync__admin_catchup(idx_sync_t *s) {
  struct sync_admin_s *a = &s->admin;
  if (a->catchup_done || !s->has_cursor) {
    a->catchup_done = true;
    idx_sync__after_catchup(s);
    return;
  }
  if (!idx_sync__model_current(s)) {
    /* The actions are the model's: an upgraded database may still be
     * deriving them (they would be missed). Started by the open, the
     * derivation ends (or ends the engine); wait for it. */
    if (!a->cu_waited)
      idx_log_info("sync", "senders' catch-up waits for the model to reach block %llu",
                   (unsigned long long)s->cursor);
    a->cu_waited = true;
    if (!idx_sync__derive_kick(s) && !idx_sync__model_current(s)) {
      /* No derivation can run now (a rollback waits): the next start. */
      a->catchup_done = true;
      idx_sync__after_catchup(s);
      return;
    }
    idx_sync__later(s, 100, idx_sync__admin_catchup);
    return;
  }
  /* Once per process: a fault that abandons it (an RPC failure goes to
   * the follower's usual retry) leaves the rest to the next start, and a
   * re-open of the store (check_chain_id) never starts it mid-follow. */
  a->catchup_done = true;
  if (!a->cu_txs) {
    a->cu_txs = calloc(CATCHUP_ROUND, sizeof *a->cu_txs);
    a->cu_hashes = calloc(CATCHUP_ROUND, sizeof *a->cu_hashes);
    if (!a->cu_txs || !a->cu_hashes) {
      idx_sync__finish(s, IDX_ERR_NOMEM, "out of memory");
      return;
    }
  }
  catchup_read(s);
}

int idx_sync__admin_job_run(idx_sync_t *s, store_job_t *j) {
  struct sync_admin_s *a = &s->admin;
  uint64_t chain = s->opts.net->chain_id;
  if (j->kind == JOB_SENDERS_READ)
    return idx_store_admin_unfetched(s->store, chain, a->cu_txs, a->cu_hashes, CATCHUP_ROUND,
                                     &a->cu_n, j->err, sizeof j->err);
  size_t n;
  const idx_tx_t *txs = idx_txfetch_txs(&a->f, &n);
  return idx_store_admin_senders(s->store, chain, txs, n, &a->cu_round_attributed, j->err,
                                 sizeof j->err);
}

static void catchup_send(idx_sync_t *s);

static void on_catchup_txs(idx_sync_t *s, const idx_rpc_reply_t *r, size_t n) {
  char why[200];
  if (!r) {
    catchup_finish(s, "answer too large");
    return;
  }
  if (idx_txfetch_take(&s->admin.f, r, n, why, sizeof why)) {
    catchup_finish(s, why);
    return;
  }
  catchup_send(s);
}

static void catchup_send(idx_sync_t *s) {
  const char *methods[IDX_TXFETCH_BATCH];
  json_t *params[IDX_TXFETCH_BATCH];
  size_t n = idx_txfetch_next(&s->admin.f, methods, params, IDX_TXFETCH_BATCH);
  if (n) {
    idx_sync__send_batch(s, methods, params, n, on_catchup_txs);
    return;
  }
  memset(&s->job, 0, sizeof s->job);
  s->job.kind = JOB_SENDERS_WRITE;
  idx_sync__queue_job(s);
}

void idx_sync__admin_job_done(idx_sync_t *s) {
  struct sync_admin_s *a = &s->admin;
  if (s->stopping) {
    idx_sync__finish(s, 0, "stopped");
    return;
  }
  if (s->job.kind == JOB_SENDERS_READ) {
    int rc = idx_txfetch_plan_txs(&a->f, a->cu_txs, a->cu_hashes, a->cu_n);
    if (rc) {
      idx_sync__finish(s, rc, "out of memory");
      return;
    }
    if (a->cu_n)
      idx_log_info("sync", "senders' catch-up: asking the senders of %zu admin transaction(s)",
                   a->cu_n);
    /* Nothing to ask still writes (nothing) and attributes: an action whose
     * sender is stored but which is still 'not_fetched' (derived meanwhile
     * from a batch stored without senders) is attributed too. */
    catchup_send(s);
    return;
  }
  size_t n;
  (void)idx_txfetch_txs(&a->f, &n);
  a->cu_txs_total += n;
  a->cu_attributed += a->cu_round_attributed;
  a->cu_rounds++;
  a->f.n = a->f.done = a->f.asked = 0;
  if (a->cu_n < CATCHUP_ROUND) {
    catchup_finish(s, NULL);
    return;
  }
  catchup_read(s);
}
