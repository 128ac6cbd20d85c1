/*
 * sync_engine.h: the sync engine's insides, shared by its modules (not a
 * public interface: sync.h is).
 *
 *   sync.c         the state machine: one phase at a time (sync_phase_t,
 *                  changed only by idx_sync__change_phase), head, ranges,
 *                  reply handling, reorgs, lifecycle;
 *   sync_window.c  the in-flight window: ranges fetched ahead, answers
 *                  held (bounded in bytes) and handed over in chain order,
 *                  AIMD concurrency;
 *   sync_commit.c  the store's side: jobs on the thread pool (open, write
 *                  a batch, load headers, roll back, build documents) and
 *                  the model's derivation on a second connection;
 *   sync_admin.c   accountability's part (#25): the DIMO inflow request of
 *                  every range, and the senders of a range's admin
 *                  transactions, asked between its check and its write;
 *   coverage.c     the coverage catch-up at start (#22): the quiet
 *                  contracts' logs a database indexed before 013 lacks;
 *   forkpoint.c    (pure) the fork search below the header window;
 *   fetchplan.c, replycheck.c, stakeflow.c, txfetch.c: the pure parts they use.
 *
 * Everything runs on the loop's thread except the bodies of store jobs
 * and derivations, which touch only their own fields (job, derive_*).
 */
#ifndef IDX_SYNC_ENGINE_H
#define IDX_SYNC_ENGINE_H

#include "common.h"

#include "arena.h"
#include "buf.h"
#include "chain.h"
#include "coverage.h"
#include "discovery.h"
#include "fetchplan.h"
#include "forkpoint.h"
#include "logrange.h"
#include "replycheck.h"
#include "rpc.h"
#include "stakeflow.h"
#include "store.h"
#include "sync.h"
#include "txfetch.h"

#include <jansson.h>
#include <uv.h>

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
  MAX_REQUESTS = REORG_WINDOW + 8, /* > the logs' requests and REORG_WINDOW + 1 headers */
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

/* What the follower is doing: one value, changed only by change_phase(),
 * which logs every change at debug level. Flags that are not phases
 * (stop requested, a derivation or a prefetch in flight beside the phase)
 * stay flags. */
typedef enum sync_phase_e {
  PHASE_OPENING,     /* store job: open, migrate, read the cursor */
  PHASE_STANDBY,     /* another instance holds the writer lock */
  PHASE_CHAIN_CHECK, /* every endpoint's chain id */
  PHASE_COVERAGE,    /* #22: the quiet contracts' logs a database before 013 lacks (coverage.c) */
  PHASE_HEAD,        /* asking the head and the finalized block */
  PHASE_DISCOVERY,   /* empty database: where the contracts' code appeared */
  PHASE_FETCH,       /* a range asked for, or awaited from the window */
  PHASE_LOG_HEADERS, /* headers of the range's blocks with logs */
  PHASE_ADMIN_TXS,   /* senders of the range's admin transactions (#25, sync_admin.c) */
  PHASE_WRITE,       /* the range's batch being written */
  PHASE_IDLE,        /* caught up: checking that the tip is canonical */
  PHASE_DOCS,        /* building stale license documents */
  PHASE_FORK_SEARCH, /* reorg: stored headers against the node's */
  PHASE_ROLLBACK,    /* reorg: rolling back above the fork point */
  PHASE_WAIT,        /* a timer: poll interval or backoff */
  PHASE_HALTED,      /* run: stopped on a fatal error, the API still answers */
  PHASE_DONE,        /* done_cb ran */
} sync_phase_t;

typedef enum job_kind_e {
  JOB_OPEN,     /* open, migrate, read cursor */
  JOB_WRITE,    /* write the batch */
  JOB_BLOCKS,   /* load stored headers for the fork search */
  JOB_ROLLBACK, /* roll back above keep */
  JOB_DOCS,     /* build stale license documents */
  /* #25, the senders' catch-up at start (sync_admin.c) */
  JOB_SENDERS_READ,  /* admin transactions still without a sender */
  JOB_SENDERS_WRITE, /* their senders, and the actions attributed */
  JOB_STARTS,        /* record deployment blocks discovery found (014) */
  /* #22, the coverage catch-up at start (coverage.c) */
  JOB_COVERAGE_READ,   /* where the coverage is, and the contracts' starts */
  JOB_COVERAGE_STORED, /* the stored hashes of a round's blocks with logs */
  JOB_COVERAGE_WRITE,  /* a round's logs, merged */
  /* Reorgs below the window and chains shorter than the cursor (read-only) */
  JOB_FORK_LOGS,  /* a page of stored log blocks below fork_below (forkpoint.h) */
  JOB_STORED_TIP, /* the highest stored block at or below `to` */
} job_kind_t;

/* Deployment blocks read or recorded at once (discovered_starts rows). */
enum { SYNC_STARTS_MAX = 64 };

typedef struct store_job_s {
  job_kind_t kind;
  bool reconnect_first;
  /* With reconnect_first (a job other than JOB_OPEN): what the engine
   * remembers of the database when it retries, checked on the new session
   * before the job runs (sync_commit.c, reconnect_check). */
  bool expect_cursor;
  uint64_t expect_block;
  idx_hash_t expect_hash;
  bool expect_model;
  uint64_t expect_model_block;
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
  /* JOB_FORK_LOGS: stored log blocks below fork_below (number, hash),
   * highest first; the window's headers above stay in `blocks` for the
   * second search */
  uint64_t fork_below;
  idx_block_t fork_page[IDX_FORKPOINT_PAGE];
  size_t nfork_page;
  /* JOB_STORED_TIP: the highest stored header at or below `to` (else the
   * highest stored log block), as (number, hash) */
  bool stored_found;
  idx_block_t stored;
  /* JOB_DOCS */
  unsigned docs_built;
  /* JOB_OPEN: recorded deployment blocks; JOB_STARTS: to record */
  idx_store_start_t starts[SYNC_STARTS_MAX];
  size_t nstarts;
  /* JOB_WRITE: the progress row to write after the batch, for `status` */
  bool progress_due;
  idx_store_progress_t progress;
  /* JOB_OPEN: where the history starts (020), what a --from given to a
   * database with a cursor came to, the contracts added since the first
   * sync (their addresses) */
  idx_store_history_t history;
  idx_store_from_t from_outcome;
  uint64_t from_first, from_lowest;
  idx_addr_t late[SYNC_STARTS_MAX];
  size_t nlate;
} store_job_t;

typedef enum req_kind_e {
  REQ_LOGS_OPEN, /* #22: the quiet roles' every log (no topic filter) */
  REQ_LOGS_MAIN,
  REQ_LOGS_TOKEN,
  REQ_LOGS_TOKEN_IN, /* #25: DIMO into a license contract (its books) */
  REQ_HEADER,
  REQ_LOG_HEADER, /* a block with logs inside a range (the window asks them ahead) */
} req_kind_t;

/* A range of the in-flight window (sync_window.c): its JSON-RPC batch,
 * sent ahead of the range being written (backfill ranges only: below the
 * reorg window nothing depends on the writes before it but the expected
 * parent hash, which the range handler checks when the answer is used).
 * The answer is held, not decoded: decoding fills the one batch being
 * assembled, which the write in flight still uses. Ranges are used
 * strictly in chain order, whatever order their answers arrive in. */
typedef enum slot_state_e {
  SLOT_FREE,
  SLOT_IN_FLIGHT, /* sent, not answered (its logs, or the headers of its blocks with logs) */
  SLOT_QUEUED,    /* logs held; the headers of its blocks with logs wait for a batch */
  SLOT_READY,     /* answered and held */
} slot_state_t;

/* A backfill range asks its logs (up to RANGE_LOG_REQUESTS filters) and two headers;
 * once its logs are in, the headers of its other blocks with logs (to
 * check their hashes) are asked too, up to TIME_BATCH_MAX, and handed
 * over with the range as more header replies. Those of every range
 * answered meanwhile ride in the next range's batch (one exchange for
 * both: a header batch of its own would take one of the exchanges the
 * provider allows); only when no range goes out soon do they go in a
 * batch of their own (one at a time). */
enum {
  /* eth_getLogs of a range: the quiet roles unfiltered and the busy ones by
   * topic (#22), the DIMO token out of and into license contracts (#25),
   * the token's own upgrades (#22). */
  RANGE_LOG_REQUESTS = 5,
  SLOT_REQUESTS = RANGE_LOG_REQUESTS + 2,
  SLOT_REPLIES = SLOT_REQUESTS + TIME_BATCH_MAX,
  SLOT_CARRY_MAX = 16, /* ranges whose headers ride in one range's batch */
};

typedef struct sync_slot_s {
  idx_sync_t *s;
  slot_state_t state;
  bool stale;     /* planned from a position since abandoned: dropped on arrival */
  bool awaited;   /* fetch_range wants it: use it (or refetch) on arrival */
  bool too_large; /* the answer exceeded --rpc-max-response */
  size_t url;     /* the endpoint that answered */
  size_t bytes;   /* the answer's size as received (counted in held_bytes) */
  uint64_t from, to;
  size_t nhdr;       /* headers of blocks with logs to ask (after nrange) */
  bool hdr_out;      /* they are in the header batch that is out */
  bool span_counted; /* its span's success was told to the logrange on arrival */
  size_t nrange;     /* replies of the range's own batch (the rest: headers) */
  size_t nsent;      /* requests of the batch out: its own, then carried headers */
  struct sync_slot_s *carried[SLOT_CARRY_MAX]; /* ranges whose headers ride with it */
  size_t ncarried;
  uint64_t epoch;          /* the AIMD epoch it was sent in */
  unsigned sent_in_flight; /* ranges in flight once it was sent */
  req_kind_t kinds[SLOT_REPLIES];
  uint64_t numbers[SLOT_REPLIES];
  size_t n;
  idx_rpc_reply_t replies[SLOT_REPLIES]; /* references and copies: freed on drop */
} sync_slot_t;

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
  bool early_check;            /* that check runs while the store opens */
  bool opened;                 /* the store opened (JOB_OPEN done once) */
  bool history_said;           /* the start's notes on the history's first block (020), once */
  size_t answer_url;           /* the endpoint whose answer is being handled */
  int halt_status;             /* run: the fatal error that halted the follower */
  bool stop_requested;         /* idx_sync_stop was called */
  bool need_lock;              /* the writer lock must be (re)taken before writing */
  bool stopping;
  sync_phase_t phase; /* change_phase() only */
  /* finish() waits for work in flight (its callback needs us). */
  bool finish_deferred;
  int deferred_status;
  char deferred_message[640];
  void (*after_timer)(idx_sync_t *s);

  /* Deployment-block discovery (discovery.h), before the first range of
   * an empty database. */
  bool discovery_done;
  bool has_start; /* start: where the backfill starts (discovered) */
  uint64_t start;
  struct sync_disc_s {
    const idx_contract_t *c;
    bool at_head; /* its code at the head was asked */
    bool done;
    bool recorded; /* done from a discovered_starts row: no call made */
    idx_bisect_t b;
  } * disc;
  size_t ndisc;
  size_t *disc_req;                          /* per request of the batch out: its contract */
  idx_store_start_t starts[SYNC_STARTS_MAX]; /* recorded (read at open) */
  size_t nstarts;

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
  uint64_t near_cap; /* near-head span: halves on inconsistent answers */
  req_kind_t req_kinds[MAX_REQUESTS + TIME_BATCH_MAX];
  uint64_t req_numbers[MAX_REQUESTS + TIME_BATCH_MAX];
  size_t nreq;

  /* The in-flight window (sync_window.c): ranges fetched ahead. */
  sync_slot_t *slots; /* twice opts.max_inflight: held ones do not load the provider */
  size_t nslots;
  idx_inflight_t aimd;     /* how many may be in flight now */
  uint64_t held_bytes;     /* answers held, as received */
  uint64_t answer_est;     /* bytes a range's answer is expected to take (recent ones) */
  size_t own_answer_bytes; /* the size of the last range the engine asked itself */
  uint64_t seen_429;       /* the client's 429 count at the last answer */
  bool hdr_busy;           /* a batch of headers of blocks with logs is out */
  bool fetch_waits;        /* fetch_range waits for room among the exchanges out */
  bool range_counted;      /* the range in hand: its success already counted */
  sync_slot_t **hdr_slots; /* the ranges it serves, in order */
  size_t nhdr_slots;
  uint64_t seen_failures; /* ... and its failed exchanges */

  /* Filters (built once): addresses and topic0s of every contract. */
  json_t *main_addresses; /* the busy roles: asked by main_topics */
  json_t *open_addresses; /* #22: the quiet roles, asked for every log */
  json_t *proxy_topics;   /* #22: [[Upgraded, BeaconUpgraded]] (the token's own request) */
  json_t *main_topics;
  json_t *token_address;
  json_t *token_topics;
  json_t *token_topics_in; /* #25: Transfer to a license contract */

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

  /* #25: the senders of the range in hand's admin transactions
   * (sync_admin.c): planned for [from, to], borrowed by its batch. */
  struct sync_admin_s {
    idx_txfetch_t f;
    bool planned;
    uint64_t from, to;
    /* The catch-up at start: a round's rows (read by a job), the totals. */
    bool catchup_done, cu_waited;
    idx_tx_t *cu_txs;
    idx_hash_t *cu_hashes;
    size_t cu_n;
    uint64_t cu_attributed, cu_round_attributed, cu_txs_total, cu_rounds;
  } admin;

  /* #22: the coverage catch-up at start (coverage.c). */
  idx_coverage_t cov;

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
  /* The network's stake-out events that come with a token transfer. */
  idx_transfer_rule_t transfer_rules[IDX_STAKEFLOW_MAX_RULES];
  size_t ntransfer_rules;

  /* Fork search: two answers must agree before a rollback. */
  uint64_t reorg_from_cursor;
  unsigned fork_pass; /* answers received for this search */
  uint64_t fork_keep;
  idx_hash_t fork_keep_hash;
  /* Below the window (forkpoint.h): the search's pages, and for each
   * request of the page out the node's answer. */
  idx_forkpoint_t fork;
  bool fork_on_chain[IDX_FORKPOINT_PAGE];
  idx_hash_t fork_node_hash[IDX_FORKPOINT_PAGE];
  /* The node's head below the cursor: the block compared, and whether a
   * lagging node was said (once until the head passes the cursor). */
  uint64_t below_head_block;
  idx_hash_t below_head_hash;
  bool below_head_said;

  /* Finality: the highest finalized block a node named (s->st has it). */
  uint64_t finalized_stored; /* what the database holds */
  bool finality_warned;      /* a node without the tag was reported */

  /* Headers of the blocks with logs, checked against the logs' hashes. */
  idx_block_t loghdr[TIME_BATCH_MAX]; /* REQ_LOG_HEADER answers of the range */
  size_t nloghdr;
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
  uint64_t docs_drained;   /* built since the last time none were left */
  idx_store_t *docs_store; /* the second connection that builds them (see docs_job) */

  /* Progress. */
  uint64_t progress_start_block;
  uint64_t progress_start_logs;
  uint64_t progress_last_ns;
  uint64_t progress_first_ns;
  uint64_t progress_row_ns;       /* when the last sync_progress row was written */
  uint64_t progress_started_unix; /* wall clock at the first batch */
  uint64_t progress_row_left;     /* blocks left in the last row */
  uint64_t progress_row_start;    /* this run's first block written */

  idx_sync_status_t st;
};

/* What decoding a raw log against its contract's ABI found (sync.c). */
typedef enum decoded_e {
  DECODED,      /* stored */
  DECODED_SKIP, /* a topic0 its ABI knows, in a shape no event has: unknown (013) */
  DECODED_NEW,  /* a topic0 its ABI does not know: unknown, if its filter asked for it */
  DECODED_BAD,  /* an event of ours whose bytes do not decode */
} decoded_t;

/* sync.c */
/* Decodes log (its arguments into the batch's arena); why says what is
 * wrong with a DECODED_BAD one. */
/* Whether an eth_getLogs error reply is a provider limit, and the range
 * it suggests (idx_logrange_classify on its code, message and data). */
void idx_sync__classify_error(const idx_rpc_reply_t *r, idx_logrange_advice_t *advice)
    IDX_NONNULL(1, 2);

decoded_t idx_sync__decode_log(idx_sync_t *s, idx_log_t *log, char *why, size_t whylen)
    IDX_NONNULL(1, 2, 3);
void idx_sync__change_phase(idx_sync_t *s, sync_phase_t next) IDX_NONNULL(1);
void idx_sync__finish(idx_sync_t *s, int status, const char *message) IDX_NONNULL(1, 3);
bool idx_sync__in_flight(const idx_sync_t *s) IDX_NONNULL(1);
void idx_sync__after_target(idx_sync_t *s) IDX_NONNULL(1);
void idx_sync__on_job_done(idx_sync_t *s) IDX_NONNULL(1);
void idx_sync__fetch_range(idx_sync_t *s) IDX_NONNULL(1);
/* The range handler: r[0..n) answer s->req_kinds (r NULL: too large). */
void idx_sync__on_range(idx_sync_t *s, const idx_rpc_reply_t *r, size_t n) IDX_NONNULL(1);
uint64_t idx_sync__range_end(const idx_sync_t *s, uint64_t from, bool *near_head) IDX_NONNULL(1, 3);
/* The JSON-RPC batch of a range. Returns the number of requests. */
size_t idx_sync__range_requests(const idx_sync_t *s, uint64_t from, uint64_t to, bool near_head,
                                const char **methods, json_t **params, req_kind_t *kinds,
                                uint64_t *numbers) IDX_NONNULL(1, 5, 6, 7, 8);
void idx_sync__release_replies(idx_rpc_reply_t *r, size_t n);
/* What sync_admin.c uses of the state machine: an exchange of the engine's
 * own (fn gets the replies; r NULL: too large), a rejected answer, a
 * provider's range limit, and the write of the checked range. */
typedef void (*sync_reply_fn)(idx_sync_t *s, const idx_rpc_reply_t *r, size_t n);
void idx_sync__send_batch(idx_sync_t *s, const char *const *methods, json_t *const *params,
                          size_t n, sync_reply_fn fn) IDX_NONNULL(1, 2, 3, 5);
void idx_sync__inconsistent(idx_sync_t *s, const char *what) IDX_NONNULL(1, 2);
void idx_sync__range_limited(idx_sync_t *s, const idx_logrange_advice_t *advice, const char *why)
    IDX_NONNULL(1, 2, 3);
void idx_sync__write_batch(idx_sync_t *s) IDX_NONNULL(1);

/* sync_commit.c */
void idx_sync__queue_job(idx_sync_t *s) IDX_NONNULL(1);
void idx_sync__retry_job(idx_sync_t *s) IDX_NONNULL(1);
/* Starts a derivation when one is due. Returns whether one is in flight. */
bool idx_sync__derive_kick(idx_sync_t *s) IDX_NONNULL(1);
/* The model describes every committed block (nothing to wait for). */
bool idx_sync__model_current(const idx_sync_t *s) IDX_NONNULL(1);

/* sync_admin.c (#25) */
IDX_WARN_UNUSED int idx_sync__admin_init(idx_sync_t *s) IDX_NONNULL(1);
void idx_sync__admin_free(idx_sync_t *s) IDX_NONNULL(1);
/* The range's inflow filter (the token's Transfers to a license contract). */
json_t *idx_sync__inflow_filter(const idx_sync_t *s, uint64_t from, uint64_t to) IDX_NONNULL(1);
/* An inflow log that the outflow answer has too (license to license). */
bool idx_sync__inflow_duplicate(const idx_sync_t *s, const idx_log_t *log) IDX_NONNULL(1, 2);
/* The range in hand is checked: asks its admin transactions' senders,
 * then writes it (idx_sync__write_batch), or throws it away. */
void idx_sync__admin_txs(idx_sync_t *s) IDX_NONNULL(1);
/* A new batch: no plan, no senders. */
void idx_sync__admin_forget(idx_sync_t *s) IDX_NONNULL(1);
/* Once per start, after the chain check: the senders of admin actions a
 * database indexed before 010 (or 015) lacks, asked in rounds of at most
 * IDX_TXFETCH_BATCH * 10 transactions and stored with their actions
 * attributed; then idx_sync__after_catchup. A bad answer ends the
 * catch-up (logged; the next start resumes it), never the follower. */
void idx_sync__admin_catchup(idx_sync_t *s) IDX_NONNULL(1);
/* The bodies of its store jobs (on the pool) and their completion. */
int idx_sync__admin_job_run(idx_sync_t *s, store_job_t *j) IDX_NONNULL(1, 2);
void idx_sync__admin_job_done(idx_sync_t *s) IDX_NONNULL(1);
/* sync.c: what follows the catch-up (the head poll), and a timer (the
 * catch-up waits for the model to describe every stored block). */
void idx_sync__after_catchup(idx_sync_t *s) IDX_NONNULL(1);
void idx_sync__later(idx_sync_t *s, uint64_t ms, void (*next)(idx_sync_t *)) IDX_NONNULL(1, 3);

/* coverage.c (#22) */
/* Once per start, after the chain check and before the senders' catch-up:
 * the quiet contracts' every log below unfiltered_coverage.complete_from
 * (a database indexed before 013), asked in rounds and merged, one
 * transaction per round; then idx_sync__admin_catchup. A bad answer ends
 * it (logged; the next start resumes it), never the follower. */
void idx_sync__coverage_catchup(idx_sync_t *s) IDX_NONNULL(1);
int idx_sync__coverage_job_run(idx_sync_t *s, store_job_t *j) IDX_NONNULL(1, 2);
void idx_sync__coverage_job_done(idx_sync_t *s) IDX_NONNULL(1);
void idx_sync__coverage_free(idx_sync_t *s) IDX_NONNULL(1);

/* sync_window.c */
IDX_WARN_UNUSED int idx_sync__window_init(idx_sync_t *s) IDX_NONNULL(1);
void idx_sync__window_free(idx_sync_t *s) IDX_NONNULL(1);
/* Sends ranges ahead while the window has room (count and bytes). */
void idx_sync__window_fill(idx_sync_t *s) IDX_NONNULL(1);
/* Abandons every range planned: held ones are dropped, those in flight
 * are dropped on arrival. */
void idx_sync__window_reset(idx_sync_t *s) IDX_NONNULL(1);
bool idx_sync__window_in_flight(const idx_sync_t *s) IDX_NONNULL(1);
/* Exchanges of the window out now: ranges asked, and the header batch. */
unsigned idx_sync__window_exchanges(const idx_sync_t *s) IDX_NONNULL(1);
/* For the range [from, *to] fetch_range is about to ask: the window's
 * range that starts at from (the caller uses it), or NULL; *to is then cut
 * short before the next range the window holds. */
sync_slot_t *idx_sync__window_take(idx_sync_t *s, uint64_t from, uint64_t *to, bool near_head)
    IDX_NONNULL(1, 3);
/* After a provider limit that set the span to `span`: ranges planned
 * wider are dropped (asked again narrower); the others stay. Returns
 * whether one of them was the range the writer waits for. */
bool idx_sync__window_drop_wider(idx_sync_t *s, uint64_t span) IDX_NONNULL(1);
/* A backfill range's answer took `bytes` (as received): what the window
 * expects of the ranges it sends (answer_est). */
void idx_sync__window_note_answer(idx_sync_t *s, size_t bytes) IDX_NONNULL(1);
/* Hands a held range to the range handler. */
void idx_sync__window_use(idx_sync_t *s, sync_slot_t *p) IDX_NONNULL(1, 2);

#endif
