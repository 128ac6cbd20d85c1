/*
 * store.h: everything dimo-indexer keeps in PostgreSQL, through libpq.
 *
 * The only module that links libpq. Calls are blocking: the sync engine
 * runs them on a worker thread (uv_queue_work) with one store handle used
 * by one thread at a time, so the event loop never waits on the database.
 *
 * Exactly-once rests on two rules enforced here, each in one transaction:
 *   - idx_store_write_batch applies a batch only when the cursor is at
 *     batch->from_block - 1 (else IDX_ERR_CONFLICT, nothing written), and
 *     moves the cursor to batch->to_block;
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

typedef struct idx_store_s idx_store_t;

/* Opens a connection (conninfo: libpq keyword string or URI). */
IDX_WARN_UNUSED int idx_store_open(idx_store_t **out, const char *conninfo, char *err,
                                   size_t errlen) IDX_NONNULL(1, 2, 3);
void idx_store_close(idx_store_t *store);

/* Drops and re-opens the connection. */
IDX_WARN_UNUSED int idx_store_reconnect(idx_store_t *store, char *err, size_t errlen)
    IDX_NONNULL(1, 2);

/* Applies, in order, every schema_dir/NNN_name.sql not yet recorded in the
 * schema_migrations table, each in its own transaction. *applied (if not
 * NULL) receives how many ran. Safe to run concurrently (advisory lock). */
IDX_WARN_UNUSED int idx_store_migrate(idx_store_t *store, const char *schema_dir, int *applied,
                                      char *err, size_t errlen) IDX_NONNULL(1, 2, 4);

/* The last indexed block of a chain. *found is false before the first batch. */
IDX_WARN_UNUSED int idx_store_cursor(idx_store_t *store, uint64_t chain_id, bool *found,
                                     uint64_t *last_block, idx_hash_t *last_hash, char *err,
                                     size_t errlen) IDX_NONNULL(1, 3, 4, 5, 6);

/* Writes one batch in one transaction (see above). */
IDX_WARN_UNUSED int idx_store_write_batch(idx_store_t *store, const idx_batch_t *batch, char *err,
                                          size_t errlen) IDX_NONNULL(1, 2, 3);

/* In one transaction: deletes blocks, logs and derived rows above
 * keep_block and sets the cursor to (keep_block, keep_hash). */
IDX_WARN_UNUSED int idx_store_rollback(idx_store_t *store, uint64_t chain_id, uint64_t keep_block,
                                       const idx_hash_t *keep_hash, char *err, size_t errlen)
    IDX_NONNULL(1, 4, 5);

/* Stored headers with number in [from, to], ascending, at most cap. */
IDX_WARN_UNUSED int idx_store_blocks(idx_store_t *store, uint64_t chain_id, uint64_t from,
                                     uint64_t to, idx_block_t *out, size_t cap, size_t *n,
                                     char *err, size_t errlen) IDX_NONNULL(1, 5, 7, 8);

/* Deletes stored headers below `below` (the reorg window moved on). */
IDX_WARN_UNUSED int idx_store_prune_blocks(idx_store_t *store, uint64_t chain_id, uint64_t below,
                                           char *err, size_t errlen) IDX_NONNULL(1, 4);

#endif
