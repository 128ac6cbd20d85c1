/*
 * sync.h: the sync engine: follows the chain into the store, exactly once.
 *
 * A state machine on the libuv loop. Network calls go through rpc
 * (asynchronous); store calls run on the libuv thread pool, one at a
 * time, handed over through uv_queue_work, so the loop never blocks.
 *
 *   open store, migrate, read cursor -> check eth_chainId -> poll head
 *   -> fetch a range (logs + headers in one JSON-RPC batch) -> check it
 *   -> write it as one transaction -> next range, or wait for the head.
 *
 * Below the reorg window up to max_inflight ranges are asked ahead
 * (sync_window.c): answers that arrive early are held, bounded in bytes,
 * and written strictly in chain order, one batch at a time, so the
 * database is a prefix of the chain at every instant. How many are in
 * flight adapts (AIMD): it grows while answers are clean, halves on a
 * 429 or a failed exchange.
 *
 * Near the head every header of a range is fetched and chained by
 * parent hash to the stored tip; a mismatch is a reorg: the fork point is
 * found among the stored headers and everything above it is rolled back
 * in one transaction before indexing resumes. Logs whose block hash does
 * not match their block's header (fetched for every block that has logs)
 * are a retryable inconsistency (a lagging or load-balanced node), never
 * stored.
 *
 * Finality: every head poll also asks the node's "finalized" block, which
 * only moves up and is stored beside the cursor. With finality
 * "finalized" it bounds the target. Below it nothing is rolled back: an
 * answer that contradicts a stored hash there is a provider fault
 * (counted, logged, the endpoint blamed, asked again), never a reorg. A
 * reorg is rolled back only when two fork searches agree.
 *
 * Failures are counted per cause (JSON-RPC transport, inconsistent
 * answers, database) and back off per cause; an unrelated success does not
 * reset them. `sync` gives up after max_failures in a row of one cause;
 * `run` keeps trying, and its status says so (not ready). A fatal error in
 * `run` (a lost privilege, say) halts the follower with the reason in its
 * status, and the API keeps answering until the process is stopped.
 */
#ifndef IDX_SYNC_H
#define IDX_SYNC_H

#include "common.h"

#include "config.h"
#include "network.h"
#include "rpc.h"

#include <uv.h>

typedef struct idx_sync_s idx_sync_t;
typedef struct idx_sync_status_s idx_sync_status_t; /* below */

typedef struct idx_sync_options_s {
  const idx_network_t *net; /* borrowed; outlives the engine */
  idx_rpc_t *rpc;           /* borrowed */
  const char *conninfo;
  const char *schema_dir;
  bool has_from;
  uint64_t from_block;
  uint64_t confirmations;
  idx_finality_t finality;
  bool follow;       /* run: follow the head forever; sync: stop at stop_block */
  bool stop_at_head; /* sync --to head: stop at the target seen by the first poll */
  uint64_t stop_block;
  uint64_t poll_ms;
  uint64_t initial_range;
  uint64_t max_range;
  unsigned max_db_attempts; /* consecutive failures of one cause before giving up; 0 = never */
  bool progress;            /* backfill progress lines (blocks/s, events/s, ETA) */
  unsigned max_inflight;    /* backfill ranges in flight at most (AIMD below it); 0 or 1: one */
  uint64_t max_held_bytes;  /* answers held + expected in flight, bytes as received */
  bool discover_start; /* empty database, no --from: find where start_block-0 contracts begin */
  /* Called on the loop after each batch commit (rollback false) and
   * each reorg rollback (true), once the engine's status shows it; NULL
   * for none. The HTTP API empties its answer cache here. */
  void (*on_commit)(void *ud, const idx_sync_status_t *st, bool rollback);
  void *on_commit_ud;
} idx_sync_options_t;

/* status 0: stopped as asked, or sync reached its target. Otherwise a
 * fatal error (IDX_ERR_CONFIG for a chain id mismatch) with a message. */
typedef void (*idx_sync_done_cb)(void *ud, int status, const char *message);

IDX_WARN_UNUSED int idx_sync_start(idx_sync_t **out, uv_loop_t *loop,
                                   const idx_sync_options_t *opts, idx_sync_done_cb cb, void *ud)
    IDX_NONNULL(1, 2, 3, 4);

/* Asks the engine to stop: a batch being written is finished (or rolled
 * back by the database), nothing new starts, then done_cb(0) runs. */
void idx_sync_stop(idx_sync_t *s) IDX_NONNULL(1);

/* Frees the engine once done_cb has run; closes its handles. */
void idx_sync_free(idx_sync_t *s);

typedef struct idx_sync_status_s {
  uint64_t head;   /* chain head seen last */
  uint64_t target; /* highest block the engine may index now */
  bool has_cursor;
  uint64_t cursor; /* last indexed block (its logs stored) */
  bool has_model;
  uint64_t model_block; /* the block the derived model describes (<= cursor) */
  uint64_t batches;
  uint64_t logs;         /* stored logs written by this process */
  uint64_t unknown_logs; /* skipped logs (unknown topic0 or undecodable) */
  uint64_t reorgs;
  uint64_t last_reorg_depth;
  uint64_t max_reorg_depth;
  uint64_t inconsistencies;  /* retried inconsistent answers */
  uint64_t range_limits;     /* provider range/size limits met */
  uint64_t range;            /* current eth_getLogs span */
  double last_batch_ms;      /* database time of the last batch */
  uint64_t docs_built;       /* stale license documents built while idle */
  uint64_t prefetched;       /* ranges fetched ahead (while earlier batches were written) */
  unsigned inflight;         /* ranges in flight now */
  unsigned inflight_allowed; /* ranges allowed in flight now (AIMD) */
  unsigned peak_inflight;    /* most ranges in flight at once */
  uint64_t held_bytes;       /* answers held for later ranges */
  uint64_t rate_limited;     /* HTTP 429 answers seen by the JSON-RPC client */
  double blocks_per_s;       /* backfill rate since the start of this process (progress) */
  double eta_s;              /* seconds to the target at that rate (0: unknown) */
  bool standby;              /* waiting: another instance holds the writer lock */
  bool has_finalized;
  uint64_t finalized;        /* the chain's finalized block (never goes down) */
  bool has_first_block;      /* false: nothing indexed, or indexed before 020 */
  uint64_t first_block;      /* the history's first block (020): nothing below it is asked */
  uint64_t provider_faults;  /* answers that contradicted finalized data or a header */
  uint64_t reorgs_refused;   /* fork searches not confirmed by a second answer */
  uint64_t log_headers;      /* headers fetched to check the block hash of logs */
  unsigned rpc_failing;      /* JSON-RPC transport failures in a row */
  unsigned answers_failing;  /* inconsistent answers in a row (reset by progress only) */
  bool rpc_down;             /* every endpoint is failing or serves another chain */
  uint64_t wrong_chain_urls; /* endpoints out of rotation: they serve another chain */
  bool halted;               /* run: the follower stopped on a fatal error */
  char halt_reason[256];     /* why (when halted) */
} idx_sync_status_t;

/* The most ranges --max-inflight may allow. */
enum { IDX_SYNC_MAX_INFLIGHT = 64 };

/* Answers that keep failing this many times in a row make `run` not ready. */
enum { IDX_SYNC_FAILING_NOT_READY = 3 };

/* Why the follower is not ready, in words, or NULL when it may be (the
 * index lag is judged by the caller). */
const char *idx_sync_problem(const idx_sync_status_t *st) IDX_NONNULL(1);

void idx_sync_status(const idx_sync_t *s, idx_sync_status_t *out) IDX_NONNULL(1, 2);

#endif
