/*
 * store.h: everything dimo-indexer keeps in PostgreSQL, through libpq.
 *
 * The only module that links libpq. Calls are blocking: the sync engine
 * runs them on a worker thread (uv_queue_work) with one store handle used
 * by one thread at a time, so the event loop never waits on the database.
 *
 * Exactly-once rests on two rules enforced here, each in one transaction:
 *   - idx_store_write_batch applies a batch only when the cursor is at
 *     batch->from_block - 1 and holds the hash of its first header's
 *     parent (else IDX_ERR_CONFLICT, nothing written), and moves the
 *     cursor to batch->to_block;
 *   - idx_store_rollback deletes everything above a block and moves the
 *     cursor back to it.
 * (chain_id, block_hash, log_index) is unique, so a log can never be stored
 * twice even if a caller broke the first rule.
 *
 * Errors are negative codes; err/errlen arguments receive libpq's message.
 * IDX_ERR_DB_CONN means the connection is gone (retry after
 * idx_store_reconnect); IDX_ERR_DB means the statement failed.
 */
#ifndef IDX_STORE_H
#define IDX_STORE_H

#include "common.h"

#include "chain.h"
#include "network.h"

typedef struct idx_store_s idx_store_t;

/* Default statement_timeout of a store connection (migrations run without). */
#define IDX_STORE_STATEMENT_TIMEOUT_MS 120000

/* Largest migration file idx_store_migrate reads. */
#define IDX_STORE_MAX_MIGRATION_BYTES (4u << 20)

/* Opens a connection (conninfo: libpq keyword string or URI). Defaults the
 * conninfo may override: fallback_application_name "dimo-indexer",
 * connect_timeout 10 s, TCP keepalives (a dead server is noticed within about
 * a minute), and options setting statement_timeout to
 * IDX_STORE_STATEMENT_TIMEOUT_MS and idle_in_transaction_session_timeout to
 * 5 minutes. client_encoding is always UTF8. A failure to connect is
 * IDX_ERR_DB_CONN (*out stays NULL). */
IDX_WARN_UNUSED int idx_store_open(idx_store_t **out, const char *conninfo, char *err,
                                   size_t errlen) IDX_NONNULL(1, 2, 3);
void idx_store_close(idx_store_t *store);

/* Drops and re-opens the connection (same parameters). After a call
 * returned IDX_ERR_DB_CONN every call returns it again until this
 * succeeds. An open transaction is lost (the server rolled it back). The
 * new session may be another server's (a multi-host conninfo, a virtual
 * IP after a failover) or a restarted one that lost its last
 * asynchronous commits: what the caller remembers of the database (the
 * cursors, the model cursor) must be read again before it is built on. */
IDX_WARN_UNUSED int idx_store_reconnect(idx_store_t *store, char *err, size_t errlen)
    IDX_NONNULL(1, 2);

/* Applies, in order, every schema_dir/NNN_name.sql not yet recorded in the
 * schema_migrations table, each in its own transaction, then every
 * schema_dir/functions/NAME.sql whose checksum differs from the one
 * recorded in schema_repeatables (in name order, in one transaction).
 * *applied (if not NULL) receives how many ran. Safe to run concurrently
 * (advisory lock).
 *
 * Numbered migrations (tables, indexes, types) are applied once and never
 * edited: schema_migrations records each one's checksum (Keccak-256 of its
 * bytes), and a recorded migration whose file changed, a recorded version
 * with no file (a newer release migrated the database) or a row without a
 * checksum (a release before checksums) is refused with IDX_ERR_CONFIG and
 * a message naming the file, before anything runs. Repeatable files hold
 * CREATE OR REPLACE definitions of functions and views, which may change
 * in place (Flyway's repeatable migrations).
 *
 * Files: exactly three digits, '_', a name of [a-z0-9_], ".sql"; numbered
 * 001, 002, ... without gaps or duplicates; at most
 * IDX_STORE_MAX_MIGRATION_BYTES each, no NUL byte. Other *.sql names are
 * refused (a typo must not skip a migration); files not ending in .sql are
 * ignored. Names, numbering and sizes are checked before anything runs
 * (IDX_ERR_CONFIG, IDX_ERR_IO, IDX_ERR_TOO_LARGE, with a message naming the
 * file). schema_migrations records (NNN, name) with name the part between
 * "NNN_" and ".sql". A failing statement gives IDX_ERR_DB with the file and
 * line in err; the migrations before it stay applied, it leaves nothing.
 * A migration runs without statement_timeout; it must not COMMIT or
 * ROLLBACK itself (IDX_ERR_CONFIG), nor use statements that cannot run in
 * a transaction (CREATE INDEX CONCURRENTLY). A database whose newest
 * applied migration is above the last file (a newer dimo-indexer migrated
 * it) is refused: IDX_ERR_CONFIG, nothing applied. */
IDX_WARN_UNUSED int idx_store_migrate(idx_store_t *store, const char *schema_dir, int *applied,
                                      char *err, size_t errlen) IDX_NONNULL(1, 2, 4);

/* The number of a migration file name ("007_storage_nodes.sql": 7), or -1
 * for anything idx_store_migrate would not apply as a numbered migration
 * (the one rule for file names; serve's schema check uses it too). */
int idx_store_migration_version(const char *file) IDX_NONNULL(1);

/* Whether a newer dimo-indexer migrated the database: *newer is true (and
 * err says so) when its newest schema_migrations row is above the last
 * file of schema_dir (idx_store_migrate refuses such a database the same
 * way, before applying anything). A database never migrated is not newer.
 * Returns 0, or an error (schema dir unreadable, database) with *newer
 * false. Read-only. */
IDX_WARN_UNUSED int idx_store_check_schema(idx_store_t *store, const char *schema_dir, bool *newer,
                                           char *err, size_t errlen) IDX_NONNULL(1, 2, 3);

/* The last indexed block of a chain. *found is false before the first batch. */
IDX_WARN_UNUSED int idx_store_cursor(idx_store_t *store, uint64_t chain_id, bool *found,
                                     uint64_t *last_block, idx_hash_t *last_hash, char *err,
                                     size_t errlen) IDX_NONNULL(1, 3, 4, 5, 6);

/* Writes one batch in one transaction (see above).
 *
 * The first batch of a chain (no cursor row) may start at any block, and
 * records it as the first block of the history (history_start, 020). In
 * the transaction: lock the cursor row, upsert the headers, COPY the logs,
 * insert the senders of admin transactions (batch->txs: tx_senders, each
 * after the log it references), unless defer_model derive the model with
 * dimo_internal.batch_apply(chain_id, from_block, to_block) (from the
 * stored model cursor + 1 up to to_block: a model left behind by a lost
 * commit is caught up, never skipped; a model cursor at or above
 * from_block is refused, IDX_ERR_DB), COPY the logs no ABI knows (event
 * NULL) into unknown_logs, move the cursor; once committed, warn once per
 * (contract, topic0) the batch shows first. Memory stays bounded whatever
 * the batch size (headers in groups, COPY in chunks).
 *
 * When the batch carries the header of from_block (the sync engine's
 * always do) and the cursor row exists, the cursor must also hold that
 * header's parent_hash: a writer whose memory of the tip is another
 * fork's (a rollback lost with the server's last commits, a failover to
 * an asynchronous standby) is refused with IDX_ERR_CONFLICT, and re-reads
 * the cursor.
 *
 * Checked before the transaction (IDX_ERR_INVAL, nothing written):
 * chain_id, block numbers, counts <= INT64_MAX; from_block <= to_block;
 * headers strictly ascending within [from_block, to_block], and the header
 * of to_block (if given) has hash to_hash; logs within [from_block,
 * to_block], ntopics <= 4, tx_index/log_index <= INT32_MAX, event,
 * event_name and args_json all present or all NULL, all strings valid UTF-8; times in
 * 0..253402300799 (year 9999). args_json must be a JSON object that jsonb
 * accepts (no \u0000): otherwise the server refuses it (IDX_ERR_DB).
 *
 * A rollback deletes unknown_logs above the kept block like logs, so their
 * counts follow reorgs exactly.
 *
 * Returns 0; IDX_ERR_CONFLICT (the cursor is elsewhere, e.g. a concurrent
 * writer of the same chain won); IDX_ERR_DB (e.g. a duplicate log: SQLSTATE
 * 23505, see idx_store_sqlstate); IDX_ERR_DB_CONN. On any error nothing is
 * written, with one exception: a connection lost during COMMIT leaves the
 * outcome unknown to the client. After idx_store_reconnect, read the cursor:
 * at (to_block, to_hash) the batch is stored (a retry would be refused with
 * IDX_ERR_CONFLICT), else it is not. */
IDX_WARN_UNUSED int idx_store_write_batch(idx_store_t *store, const idx_batch_t *batch, char *err,
                                          size_t errlen) IDX_NONNULL(1, 2, 3);

/* In one transaction: deletes blocks, logs and derived rows above
 * keep_block and sets the cursor to (keep_block, keep_hash). Calls
 * dimo_internal.rollback_above(chain_id, keep_block) first, while the logs are
 * still there. IDX_ERR_CONFLICT (nothing changed) when the chain has no
 * cursor or its cursor is below keep_block: moving a cursor forward would
 * skip blocks. */
IDX_WARN_UNUSED int idx_store_rollback(idx_store_t *store, uint64_t chain_id, uint64_t keep_block,
                                       const idx_hash_t *keep_hash, char *err, size_t errlen)
    IDX_NONNULL(1, 4, 5);

/* Stored headers with number in [from, to], ascending, at most cap (the
 * lowest ones when more exist); *n receives how many. */
IDX_WARN_UNUSED int idx_store_blocks(idx_store_t *store, uint64_t chain_id, uint64_t from,
                                     uint64_t to, idx_block_t *out, size_t cap, size_t *n,
                                     char *err, size_t errlen) IDX_NONNULL(1, 5, 7, 8);

/* The fork search below the header window (indexer/forkpoint.c): the
 * distinct blocks of the chain's stored logs (logs and unknown_logs) below
 * `below`, highest first, at most cap, as (number, hash) in out (the
 * other fields zero); *n receives how many. Costs one index probe per
 * block, however many logs a block holds. */
IDX_WARN_UNUSED int idx_store_log_blocks_below(idx_store_t *store, uint64_t chain_id,
                                               uint64_t below, idx_block_t *out, size_t cap,
                                               size_t *n, char *err, size_t errlen)
    IDX_NONNULL(1, 4, 6, 7);

/* Deletes stored headers below `below` (the reorg window moved on). */
IDX_WARN_UNUSED int idx_store_prune_blocks(idx_store_t *store, uint64_t chain_id, uint64_t below,
                                           char *err, size_t errlen) IDX_NONNULL(1, 4);

/* #25, the senders' catch-up (a database indexed before 010 or 015): up
 * to cap admin transactions whose actions are still 'not_fetched' and
 * whose sender is not stored, oldest first, into txs (block, hash, first
 * stored log) and block_hashes (their block's hash). *n how many. */
IDX_WARN_UNUSED int idx_store_admin_unfetched(idx_store_t *store, uint64_t chain_id, idx_tx_t *txs,
                                              idx_hash_t *block_hashes, size_t cap, size_t *n,
                                              char *err, size_t errlen) IDX_NONNULL(1, 3, 4, 6, 7);

/* Stores the senders of txs (answered) and attributes the 'not_fetched'
 * actions they explain, in one transaction; *attributed how many actions.
 * Idempotent (a sender already stored is kept). */
IDX_WARN_UNUSED int idx_store_admin_senders(idx_store_t *store, uint64_t chain_id,
                                            const idx_tx_t *txs, size_t n, uint64_t *attributed,
                                            char *err, size_t errlen) IDX_NONNULL(1, 5, 6);

/* ---- logs kept raw that the loaded ABIs now decode (indexer/redecode.c) ---- */

/* One kind of raw log in unknown_logs: its contract, topic0 (has_topic0
 * false for an anonymous log), topic count, and how many such logs. */
typedef struct idx_store_unknown_shape_s {
  idx_addr_t address;
  idx_hash_t topic0;
  bool has_topic0;
  uint8_t ntopics;
  uint64_t count;
} idx_store_unknown_shape_t;

/* The kinds of raw logs of the chain (dimo_internal.unknown_shapes), at
 * most cap into out; *n how many; *more whether there were more. */
IDX_WARN_UNUSED int idx_store_unknown_shapes(idx_store_t *store, uint64_t chain_id,
                                             idx_store_unknown_shape_t *out, size_t cap, size_t *n,
                                             bool *more, char *err, size_t errlen)
    IDX_NONNULL(1, 3, 5, 6, 7);

/* Calls cb for each of at most limit raw logs of one kind after position
 * (after_block, after_log) (-1, -1: from the start), oldest first; the log
 * (address and role unset: the caller's) and its data are borrowed for the
 * call. A non-zero return from cb stops the walk and is returned. *n: how
 * many logs were read. */
typedef int (*idx_store_raw_log_cb)(void *ud, const idx_log_t *log);
IDX_WARN_UNUSED int idx_store_unknown_page(idx_store_t *store, uint64_t chain_id,
                                           const idx_store_unknown_shape_t *shape,
                                           int64_t after_block, int64_t after_log, size_t limit,
                                           idx_store_raw_log_cb cb, void *ud, size_t *n, char *err,
                                           size_t errlen) IDX_NONNULL(1, 3, 7, 9, 10);

/* In one transaction: COPYs logs (decoded: event, event_name, args_json
 * and role set; each a position unknown_logs holds) into `logs`, and
 * dimo_internal.redecoded removes them from unknown_logs, moves their
 * transactions' sender rows to their first log and re-derives the model
 * parts that read them (schema/functions/redecode.sql). parts (cap bytes)
 * receives the re-derived parts' names, comma-separated ("" for none). */
IDX_WARN_UNUSED int idx_store_redecode_write(idx_store_t *store, uint64_t chain_id,
                                             const idx_log_t *logs, size_t n, char *parts,
                                             size_t cap, char *err, size_t errlen)
    IDX_NONNULL(1, 3, 5, 7);

/* The coverage catch-up (indexer/coverage.c; schema/functions/unknown.sql):
 * the block from which the quiet contracts' every log is stored
 * (unfiltered_coverage, 016); *found false: complete from the start. */
IDX_WARN_UNUSED int idx_store_coverage_from(idx_store_t *store, uint64_t chain_id, bool *found,
                                            uint64_t *complete_from, char *err, size_t errlen)
    IDX_NONNULL(1, 3, 4);

/* For each of blocks[0..n) (strictly ascending): whether the database
 * holds logs of it (found[i]) and the block hash and time (unix seconds)
 * they carry (hashes[i], times[i]). */
IDX_WARN_UNUSED int idx_store_coverage_stored(idx_store_t *store, uint64_t chain_id,
                                              const uint64_t *blocks, size_t n, bool *found,
                                              idx_hash_t *hashes, int64_t *times, char *err,
                                              size_t errlen) IDX_NONNULL(1, 8);

/* What one round of the coverage catch-up stored. */
typedef struct idx_store_coverage_s {
  uint64_t logs_added, unknown_added; /* rows a fresh index has that were missing */
  bool has_model;
  uint64_t model_block; /* the model cursor afterwards (lower when new rows undid it) */
  bool refused;         /* nothing stored: why says why */
  char why[200];
} idx_store_coverage_t;

/* One round, in one transaction. address NULL: logs[0..nlogs) are the
 * quiet contracts' every log of blocks new_from..old_from - 1 (checked,
 * decoded or raw) and the chain's coverage (016) moves; else they are that
 * contract's logs of the round (021: added to the network file, or given a
 * lower start_block, after the first sync), asked with the follower's
 * filter for its role (and, for a license contract, the DIMO transfers
 * from and to it), and its contract_coverage row moves. The ones not
 * stored yet are stored, the model is undone above the block before the
 * lowest new `logs` row (its derivation redoes it), and the coverage moves
 * from old_from down to new_from (complete, the row gone, once new_from <=
 * low). A round that contradicts the stored logs, or that does not start
 * where the coverage is, stores nothing: out->refused, 0 returned. */
IDX_WARN_UNUSED int idx_store_coverage_round(idx_store_t *store, uint64_t chain_id,
                                             const idx_addr_t *address, uint64_t old_from,
                                             uint64_t new_from, uint64_t low, const idx_log_t *logs,
                                             size_t nlogs, idx_store_coverage_t *out, char *err,
                                             size_t errlen) IDX_NONNULL(1, 9, 10);

/* A contract whose logs below complete_from were never asked. */
typedef struct idx_store_late_s {
  idx_addr_t address;
  uint64_t complete_from; /* never above the cursor + 1 */
  uint64_t low;           /* its start_block, not below the history's first block */
} idx_store_late_t;

/* The rows of contract_coverage (021), at most cap, in *n, by address. */
IDX_WARN_UNUSED int idx_store_contract_coverage(idx_store_t *store, uint64_t chain_id,
                                                idx_store_late_t *out, size_t cap, size_t *n,
                                                char *err, size_t errlen) IDX_NONNULL(1, 3, 5, 6);

/* Derives the model (dimo_internal.apply_range) from the model cursor up to
 * to_block, whose logs and header must be committed (batches written with
 * defer_model), in a transaction of its own that also moves the model
 * cursor; then deletes stored headers more than 256 blocks below it.
 * Several deferred batches go at once. *derived_to receives the model
 * cursor afterwards (to_block, or higher when it already was). The
 * indexer runs it on a second connection, so that deriving batch k
 * overlaps writing batch k + 1. A stored log cursor below to_block (the
 * caller's batches lost with a server's last commits) is IDX_ERR_CONFLICT,
 * nothing derived: the model never passes the stored logs. */
IDX_WARN_UNUSED int idx_store_derive(idx_store_t *store, uint64_t chain_id, uint64_t to_block,
                                     uint64_t *derived_to, char *err, size_t errlen)
    IDX_NONNULL(1, 4, 5);

/* Names the session in pg_stat_activity (application_name), e.g. the
 * documents' helper connection (IDX_DOCS_SESSION_NAME) apart from the
 * writer's. */
#define IDX_DOCS_SESSION_NAME "dimo-indexer-docs"
IDX_WARN_UNUSED int idx_store_name_session(idx_store_t *store, const char *name, char *err,
                                           size_t errlen) IDX_NONNULL(1, 2, 3);

/* Builds up to `limit` of the chain's stale cached license documents (a
 * backfill batch marks them stale instead of rebuilding them: see
 * dimo_internal.docs_changed in schema/002), in a transaction of its own; *built
 * receives how many (less than limit: none left). */
IDX_WARN_UNUSED int idx_store_refresh_stale_docs(idx_store_t *store, uint64_t chain_id,
                                                 unsigned limit, unsigned *built, char *err,
                                                 size_t errlen) IDX_NONNULL(1, 4, 5);

/* The same on two connections at once (the documents are independent
 * per license: each transaction takes the stale rows the other has not
 * locked), `second` on a thread of its own; second NULL: `store` alone.
 * Each builds up to `limit`; *built receives the sum (less than limit: none
 * left). The result and err are `store`'s: `second` is a helper, and its
 * failure is told apart, by *second_failed and second_err (its connection
 * is then suspect: close it before using it again; and the rows it held
 * were skipped, so less than limit no longer means none left). Both
 * connections must be idle and distinct. */
IDX_WARN_UNUSED int
idx_store_refresh_stale_docs_pair(idx_store_t *store, idx_store_t *second, uint64_t chain_id,
                                  unsigned limit, unsigned *built, bool *second_failed,
                                  char *second_err, size_t second_errlen, char *err, size_t errlen)
    IDX_NONNULL(1, 5, 6, 7, 9);

/* Calls cb once per event name stored for the chain, in name order, with
 * its number of logs. A non-zero return from cb stops the walk and is
 * returned. event_name is borrowed for the call. */
typedef int (*idx_store_event_count_cb)(void *ud, const char *event_name, uint64_t count);
IDX_WARN_UNUSED int idx_store_event_counts(idx_store_t *store, uint64_t chain_id,
                                           idx_store_event_count_cb cb, void *ud, char *err,
                                           size_t errlen) IDX_NONNULL(1, 3, 5);

/* The block the derived model describes (model_cursor); *found false when
 * nothing is derived yet. Backfill batches derive it a little later than
 * they store their logs (idx_store_derive). */
IDX_WARN_UNUSED int idx_store_model_block(idx_store_t *store, uint64_t chain_id, bool *found,
                                          uint64_t *block, char *err, size_t errlen)
    IDX_NONNULL(1, 3, 4, 5);

/* Calls cb once per declaration of model_reads (what each model part
 * reads: see modelcheck.h), ordered by part, role and event. names is the
 * argument names, comma-separated, in order; optional: the event is one
 * generation that only some contracts of the role emit. The strings are
 * borrowed for the call; a non-zero return from cb stops the walk and is
 * returned. */
typedef int (*idx_store_model_read_cb)(void *ud, const char *part, const char *role,
                                       const char *event, const char *names, bool optional);
IDX_WARN_UNUSED int idx_store_model_reads(idx_store_t *store, idx_store_model_read_cb cb, void *ud,
                                          char *err, size_t errlen) IDX_NONNULL(1, 2, 4);

/* Rebuilds the chain's whole model from its stored logs (dimo_internal.rederive in
 * schema/functions/rederive.sql), in one transaction without a statement
 * timeout. *found is false when nothing is indexed; *to_block receives the
 * block the model describes afterwards. Take the writer lock first: a
 * running follower would derive beside it. */
IDX_WARN_UNUSED int idx_store_rederive(idx_store_t *store, uint64_t chain_id, bool *found,
                                       uint64_t *to_block, char *err, size_t errlen)
    IDX_NONNULL(1, 3, 4, 5);

/* The chain's finalized block as last stored (table finality); *found
 * false when none was ever stored. */
IDX_WARN_UNUSED int idx_store_finalized(idx_store_t *store, uint64_t chain_id, bool *found,
                                        uint64_t *block, char *err, size_t errlen)
    IDX_NONNULL(1, 3, 4, 5);

/* Raises the stored finalized block to `block` (never lowers it). */
IDX_WARN_UNUSED int idx_store_set_finalized(idx_store_t *store, uint64_t chain_id, uint64_t block,
                                            char *err, size_t errlen) IDX_NONNULL(1, 4);

/* Runs sql (one parameter, $1 the chain id; at most 16 columns, each
 * cast to text: the result is binary) and calls cb once per row with its
 * values (NULL for SQL NULL), borrowed for the call. A non-zero return
 * from cb stops the walk and is returned. */
typedef int (*idx_store_text_row_cb)(void *ud, const char *const *vals, size_t n);
IDX_WARN_UNUSED int idx_store_text_rows(idx_store_t *store, uint64_t chain_id, const char *sql,
                                        idx_store_text_row_cb cb, void *ud, char *err,
                                        size_t errlen) IDX_NONNULL(1, 3, 4, 6);

/* SQLSTATE of the last failed statement ("23505"), or "" when the last call
 * succeeded or failed without one. Borrowed; valid until the next call. */
const char *idx_store_sqlstate(const idx_store_t *store) IDX_NONNULL(1);

/* Takes the chain's writer lock (a session-level advisory lock held on
 * this connection) if it is free; *got says whether this session holds it
 * now. Exactly one connection per database and chain can hold it: that
 * instance writes, others wait as standbys. A lost connection loses the
 * lock, so take it again after idx_store_reconnect. */
IDX_WARN_UNUSED int idx_store_writer_lock(idx_store_t *store, uint64_t chain_id, bool *got,
                                          char *err, size_t errlen) IDX_NONNULL(1, 3, 4);

/* Records the network's contracts (address, role, class, start block) in
 * the contracts table, in one transaction: the data model reads the class
 * (app, node, client) of each license contract from there. A contract
 * whose class changed has its licenses relabelled. */
IDX_WARN_UNUSED int idx_store_register_contracts(idx_store_t *store, uint64_t chain_id,
                                                 const idx_network_t *net, char *err, size_t errlen)
    IDX_NONNULL(1, 3, 4);

/* Reorgs rolled back for the chain (table reorgs): how many, the deepest
 * and the last one's depth (0 when none). */
IDX_WARN_UNUSED int idx_store_reorg_stats(idx_store_t *store, uint64_t chain_id, uint64_t *count,
                                          uint64_t *max_depth, uint64_t *last_depth, char *err,
                                          size_t errlen) IDX_NONNULL(1, 3, 4, 5, 6);

/* ---- first sync (issue #16; tables of schema/014_first_sync.sql) ---- */

/* A contract's deployment block found by discovery, below `head`. */
typedef struct idx_store_start_s {
  idx_addr_t address;
  uint64_t block;
  uint64_t head;
} idx_store_start_t;

/* The recorded deployment blocks of the chain's contracts (at most cap,
 * in *n). */
IDX_WARN_UNUSED int idx_store_discovered_starts(idx_store_t *store, uint64_t chain_id,
                                                idx_store_start_t *out, size_t cap, size_t *n,
                                                char *err, size_t errlen) IDX_NONNULL(1, 3, 5);

/* Records (or replaces) one contract's deployment block. */
IDX_WARN_UNUSED int idx_store_record_start(idx_store_t *store, uint64_t chain_id,
                                           const idx_store_start_t *start, char *err, size_t errlen)
    IDX_NONNULL(1, 3);

/* The follower's backfill progress, for `status` (another process). */
typedef struct idx_store_progress_s {
  uint64_t start_block; /* the first block of this run's first batch */
  uint64_t target;      /* where it goes (head minus confirmations, or --to) */
  uint64_t blocks_per_s, events_per_s;
  uint64_t started_unix; /* when this run's backfill started */
  uint64_t age_s;        /* read only: seconds since the row was written */
} idx_store_progress_t;

/* Writes the chain's progress row (one statement, outside any batch). */
IDX_WARN_UNUSED int idx_store_set_progress(idx_store_t *store, uint64_t chain_id,
                                           const idx_store_progress_t *pr, char *err, size_t errlen)
    IDX_NONNULL(1, 3);

/* Reads it; *found false when no follower wrote one. */
IDX_WARN_UNUSED int idx_store_progress(idx_store_t *store, uint64_t chain_id, bool *found,
                                       idx_store_progress_t *pr, char *err, size_t errlen)
    IDX_NONNULL(1, 3, 4);

/* ---- where the indexed history starts (020, schema/functions/history.sql) */

/* The chain's history_start row. found false: none (nothing indexed yet;
 * the first batch writes it, in its transaction: idx_store_write_batch).
 * known false with found: a database indexed before 020 (taken as the
 * network file's start blocks). source: "first_batch", "migration" or
 * "from" (a later --from adopted). */
typedef struct idx_store_history_s {
  bool found;
  bool known;
  uint64_t first_block; /* with known: no block below it was ever asked */
  char source[16];
} idx_store_history_t;

IDX_WARN_UNUSED int idx_store_history(idx_store_t *store, uint64_t chain_id,
                                      idx_store_history_t *out, char *err, size_t errlen)
    IDX_NONNULL(1, 3, 4);

/* A --from given to a database that has a cursor (it cannot move the
 * history's start): dimo_internal.history_note_from, which records it
 * only where nothing was recorded and no stored log lies below it. */
typedef enum idx_store_from_e {
  IDX_STORE_FROM_NONE,    /* no row: nothing indexed yet */
  IDX_STORE_FROM_SAME,    /* the recorded first block */
  IDX_STORE_FROM_DIFFERS, /* another first block is recorded (*first_block) */
  IDX_STORE_FROM_ADOPTED, /* nothing was recorded: recorded now */
  IDX_STORE_FROM_BELOW,   /* nothing recorded, and stored logs reach below it (*lowest) */
} idx_store_from_t;

IDX_WARN_UNUSED int idx_store_history_note_from(idx_store_t *store, uint64_t chain_id,
                                                uint64_t from, idx_store_from_t *outcome,
                                                uint64_t *first_block, uint64_t *lowest, char *err,
                                                size_t errlen) IDX_NONNULL(1, 4, 5, 6, 7);

/* The addresses of contracts added to the network file (or given a lower
 * start_block) after the first sync whose logs below the cursor it had
 * then the coverage catch-up has not asked yet (contract_coverage, 021;
 * at most cap, in *n). */
IDX_WARN_UNUSED int idx_store_history_late(idx_store_t *store, uint64_t chain_id, idx_addr_t *out,
                                           size_t cap, size_t *n, char *err, size_t errlen)
    IDX_NONNULL(1, 3, 5, 6);

#endif
