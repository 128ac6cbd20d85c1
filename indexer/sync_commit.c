/* sync_commit.c: the sync engine's store side: jobs on the thread pool
 * and the model's derivation on a second connection (see sync_engine.h). */
#include "common.h"

#include "hex.h"
#include "log.h"
#include "modelcheck.h"
#include "redecode.h"
#include "sync_engine.h"

#include <stdio.h>
#include <string.h>

static uint64_t now_ns(void) { return uv_hrtime(); }

/* ---- store jobs on the thread pool ------------------------------------ */

/* Stale documents: after a backfill thousands wait, and the model's
 * derivation, which kept one core busy, has ended: they are built on two
 * connections at once (the store's and docs_store, opened the first time a
 * job finds more than one job's worth; each job then builds up to
 * DOCS_PER_JOB on each, so that fewer than DOCS_PER_JOB in all still means
 * none are left, and the second connection is closed). Following the
 * head, a job finds none or a few and stays on one connection. */
static int docs_job(idx_sync_t *s, store_job_t *j) {
  uint64_t chain = s->opts.net->chain_id;
  if (!s->docs_store) {
    int rc = idx_store_refresh_stale_docs(s->store, chain, DOCS_PER_JOB, &j->docs_built, j->err,
                                          sizeof j->err);
    if (rc || j->docs_built < DOCS_PER_JOB)
      return rc;
    char oerr[256];
    if (idx_store_open(&s->docs_store, s->opts.conninfo, oerr, sizeof oerr) != 0 ||
        idx_store_name_session(s->docs_store, IDX_DOCS_SESSION_NAME, oerr, sizeof oerr) != 0) {
      idx_log_warn("sync", "building stale documents on one connection only: %s", oerr);
      idx_store_close(s->docs_store);
      s->docs_store = NULL;
    }
    return 0;
  }
  bool second_failed = false;
  char serr[256];
  int rc = idx_store_refresh_stale_docs_pair(s->store, s->docs_store, chain, DOCS_PER_JOB,
                                             &j->docs_built, &second_failed, serr, sizeof serr,
                                             j->err, sizeof j->err);
  /* With the backlog done (fewer than one job's worth: none left) the
   * extra connection goes, so a follower at the head holds no idle
   * session. A failed one is the helper's failure, not the store's: it is
   * closed (a later job opens it again) and the job goes on with one;
   * the rows its transaction held were skipped by the other, so "fewer
   * than one job's worth" says nothing then, and one more round on the
   * store's connection decides. */
  if (second_failed)
    idx_log_warn("sync", "stale documents: the second connection failed (%s); going on with one",
                 serr);
  if (second_failed || (rc == 0 && j->docs_built < DOCS_PER_JOB)) {
    idx_store_close(s->docs_store);
    s->docs_store = NULL;
  }
  if (rc == 0 && second_failed && j->docs_built < DOCS_PER_JOB) {
    unsigned more = 0;
    rc = idx_store_refresh_stale_docs(s->store, chain, DOCS_PER_JOB, &more, j->err, sizeof j->err);
    j->docs_built += more;
  }
  return rc;
}

/* A new session of the writer (reconnect_first) must find the database
 * as the engine remembers it before a job builds on it: the server may
 * have restarted and lost its last asynchronous commits (the batches and
 * the derivation commit with synchronous_commit = off), or the conninfo
 * may have led to a promoted standby that never received them (audit6 H4,
 * H11). The log cursor elsewhere or on another hash, or a model cursor
 * below the block the engine believes derived, is IDX_ERR_CONFLICT: the
 * engine re-opens the store (JOB_OPEN reads the cursor, its hash and the
 * model cursor again, and derives what the model lacks), and the next
 * range's parent check finds another fork's tip. A model cursor above
 * the remembered block is a derivation that committed before its
 * completion ran: nothing lost. */
static int reconnect_check(idx_sync_t *s, store_job_t *j) {
  uint64_t chain = s->opts.net->chain_id;
  bool found = false, has_model = false;
  uint64_t last = 0, model = 0;
  idx_hash_t hash;
  memset(&hash, 0, sizeof hash);
  int rc = idx_store_cursor(s->store, chain, &found, &last, &hash, j->err, sizeof j->err);
  if (rc == 0 && j->expect_model)
    rc = idx_store_model_block(s->store, chain, &has_model, &model, j->err, sizeof j->err);
  if (rc)
    return rc;
  char have[67] = "none", want[67] = "none";
  if (found)
    idx_hash_to_hex(have, &hash);
  if (j->expect_cursor)
    idx_hash_to_hex(want, &j->expect_hash);
  if (found != j->expect_cursor ||
      (found && (last != j->expect_block || memcmp(hash.b, j->expect_hash.b, 32) != 0))) {
    snprintf(j->err, sizeof j->err,
             "after reconnecting, the stored cursor is at block %lld (%s), this writer's at "
             "%lld (%s)",
             found ? (long long)last : -1LL, have,
             j->expect_cursor ? (long long)j->expect_block : -1LL, want);
    return IDX_ERR_CONFLICT;
  }
  if (j->expect_model && (!has_model || model < j->expect_model_block)) {
    snprintf(j->err, sizeof j->err,
             "after reconnecting, the stored model cursor is at block %lld, below block %llu "
             "this writer derived (a lost commit)",
             has_model ? (long long)model : -1LL, (unsigned long long)j->expect_model_block);
    return IDX_ERR_CONFLICT;
  }
  return 0;
}

/* The highest stored block at or below j->to that the node's chain can be
 * compared at: a header of the window, else (a history written by
 * backfill ranges, which keep few headers) the highest stored log's. */
static int stored_tip(idx_sync_t *s, store_job_t *j) {
  uint64_t chain = s->opts.net->chain_id;
  uint64_t from = j->to > REORG_WINDOW ? j->to - REORG_WINDOW : 0;
  j->stored_found = false;
  int rc = idx_store_blocks(s->store, chain, from, j->to, j->blocks, IDX_ARRAY_LEN(j->blocks),
                            &j->nblocks, j->err, sizeof j->err);
  if (rc == 0 && j->nblocks) {
    j->stored_found = true;
    j->stored = j->blocks[j->nblocks - 1];
    return 0;
  }
  size_t n = 0;
  if (rc == 0 && j->to < UINT64_MAX)
    rc = idx_store_log_blocks_below(s->store, chain, j->to + 1, &j->stored, 1, &n, j->err,
                                    sizeof j->err);
  j->stored_found = rc == 0 && n == 1;
  return rc;
}

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
  /* Reads of the fork search need no writer lock (the rollback takes it). */
  if (s->need_lock && j->kind != JOB_BLOCKS && j->kind != JOB_FORK_LOGS &&
      j->kind != JOB_STORED_TIP) {
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
  if (j->reconnect_first && j->kind != JOB_OPEN && (j->rc = reconnect_check(s, j)) != 0)
    return;
  switch (j->kind) {
  case JOB_OPEN:
    j->rc = idx_store_migrate(s->store, s->opts.schema_dir, &j->migrations, j->err, sizeof j->err);
    if (j->rc == 0)
      j->rc = idx_store_register_contracts(s->store, s->opts.net->chain_id, s->opts.net, j->err,
                                           sizeof j->err);
    if (j->rc == 0) /* before anything is written: the model must understand the ABIs */
      j->rc = idx_modelcheck_run(s->store, s->opts.net, j->err, sizeof j->err);
    if (j->rc == 0) /* raw logs the loaded ABIs now decode: into `logs`, their parts re-derived */
      j->rc = idx_redecode_run(s->store, s->opts.net, NULL, j->err, sizeof j->err);
    if (j->rc == 0)
      j->rc = idx_store_cursor(s->store, s->opts.net->chain_id, &j->found, &j->last_block,
                               &j->last_hash, j->err, sizeof j->err);
    if (j->rc == 0)
      j->rc = idx_store_finalized(s->store, s->opts.net->chain_id, &j->found_finalized,
                                  &j->finalized, j->err, sizeof j->err);
    /* 020: a --from cannot move a started history's first block (it may
     * record one a database indexed before 020 lacks), then the record
     * and the contracts added to the network file since. */
    if (j->rc == 0 && j->found && s->opts.has_from)
      j->rc = idx_store_history_note_from(s->store, s->opts.net->chain_id, s->opts.from_block,
                                          &j->from_outcome, &j->from_first, &j->from_lowest, j->err,
                                          sizeof j->err);
    if (j->rc == 0)
      j->rc =
          idx_store_history(s->store, s->opts.net->chain_id, &j->history, j->err, sizeof j->err);
    if (j->rc == 0 && j->found)
      j->rc = idx_store_history_late(s->store, s->opts.net->chain_id, j->late,
                                     IDX_ARRAY_LEN(j->late), &j->nlate, j->err, sizeof j->err);
    if (j->rc == 0 && !j->found) /* only an empty database starts from them */
      j->rc =
          idx_store_discovered_starts(s->store, s->opts.net->chain_id, j->starts,
                                      IDX_ARRAY_LEN(j->starts), &j->nstarts, j->err, sizeof j->err);
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
    if (j->rc == 0 && j->progress_due) {
      /* Advisory (for `status`): the batch is committed whatever happens
       * here, so a failure is said and otherwise ignored. */
      char perr[256];
      if (idx_store_set_progress(s->store, s->opts.net->chain_id, &j->progress, perr,
                                 sizeof perr) != 0)
        idx_log_warn("sync", "cannot record the backfill's progress: %s", perr);
    }
    break;
  case JOB_STARTS:
    for (size_t i = 0; i < j->nstarts && j->rc == 0; i++)
      j->rc = idx_store_record_start(s->store, s->opts.net->chain_id, &j->starts[i], j->err,
                                     sizeof j->err);
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
    j->rc = docs_job(s, j);
    break;
  case JOB_FORK_LOGS:
    j->rc = idx_store_log_blocks_below(s->store, s->opts.net->chain_id, j->fork_below, j->fork_page,
                                       IDX_ARRAY_LEN(j->fork_page), &j->nfork_page, j->err,
                                       sizeof j->err);
    break;
  case JOB_STORED_TIP:
    j->rc = stored_tip(s, j);
    break;
  case JOB_SENDERS_READ: /* #25 */
  case JOB_SENDERS_WRITE:
    j->rc = idx_sync__admin_job_run(s, j);
    break;
  case JOB_COVERAGE_READ: /* #22, coverage.c */
  case JOB_COVERAGE_STORED:
  case JOB_COVERAGE_WRITE:
    j->rc = idx_sync__coverage_job_run(s, j);
    break;
  }
  j->ms = (double)(now_ns() - t0) / 1e6;
}

static void job_after(uv_work_t *w, int status) {
  idx_sync_t *s = w->data;
  s->job_busy = false;
  if (s->finish_deferred) {
    idx_sync__finish(s, 0, "stopped");
    return;
  }
  if (status == UV_ECANCELED) {
    idx_sync__finish(s, 0, "stopped");
    return;
  }
  idx_sync__on_job_done(s);
}

void idx_sync__queue_job(idx_sync_t *s) {
  s->job_busy = true;
  s->work.data = s;
  int rc = uv_queue_work(s->loop, &s->work, job_run, job_after);
  if (rc) {
    s->job_busy = false;
    idx_sync__finish(s, IDX_ERR_INVAL, "cannot queue database work");
  }
}

void idx_sync__retry_job(idx_sync_t *s) {
  store_job_t *j = &s->job;
  j->reconnect_first = true;
  /* Taken here, on the loop's thread: the job compares them on its own. */
  j->expect_cursor = s->has_cursor;
  j->expect_block = s->cursor;
  j->expect_hash = s->cursor_hash;
  j->expect_model = s->st.has_model;
  j->expect_model_block = s->st.model_block;
  idx_sync__queue_job(s);
}

/* ---- deriving the model on the second connection ------------------------ */

/* The model describes every committed block (nothing to wait for). */
bool idx_sync__model_current(const idx_sync_t *s) {
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
bool idx_sync__derive_kick(idx_sync_t *s) {
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
    idx_sync__finish(s, IDX_ERR_INVAL, "cannot queue database work");
    return false;
  }
  return true;
}

static void derive_after(uv_work_t *w, int status) {
  idx_sync_t *s = w->data;
  s->derive_busy = false;
  if (s->finish_deferred || status == UV_ECANCELED) {
    idx_sync__finish(s, 0, "stopped");
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
      idx_sync__finish(s, s->derive_rc, msg);
      return;
    }
  }
  if (s->stopping) {
    if (!idx_sync__in_flight(s) && !s->rpc_busy)
      idx_sync__finish(s, 0, "stopped");
    return;
  }
  if (s->rollback_waiting) {
    s->rollback_waiting = false;
    idx_sync__queue_job(s); /* the rollback job prepared by the fork search */
    return;
  }
  if (idx_sync__derive_kick(s))
    return;
  if (s->finish_waits_derive) {
    s->finish_waits_derive = false;
    idx_sync__after_target(s);
  }
}
