/*
 * chain.h: the chain data that flows from the fetcher through the sync
 * engine into the store: block headers, logs, and one batch (a block range
 * committed in one transaction).
 *
 * These are plain value types. Pointers inside them (log data, decoded
 * JSON, event names) borrow memory owned by whoever built the batch; the
 * store copies what it keeps before returning.
 */
#ifndef IDX_CHAIN_H
#define IDX_CHAIN_H

#include "common.h"

#include <stdint.h>

typedef struct idx_block_s {
  uint64_t number;
  idx_hash_t hash;
  idx_hash_t parent_hash;
  int64_t time; /* unix seconds */
} idx_block_t;

typedef struct idx_log_s {
  uint64_t block_number;
  idx_hash_t block_hash;
  int64_t block_time; /* unix seconds */
  idx_hash_t tx_hash;
  uint32_t tx_index;
  uint32_t log_index;
  idx_addr_t address;
  uint8_t ntopics;
  idx_hash_t topics[4];
  const uint8_t *data; /* borrowed; data_len bytes */
  size_t data_len;
  const char *event;      /* canonical signature, e.g. "Issued(uint256,address,address)" */
  const char *event_name; /* e.g. "Issued" */
  const char *args_json;  /* decoded arguments, a JSON object (idx_abi_decoded_to_json) */
  /* event, event_name and args_json are all NULL for a log no ABI knows */
  const char *role; /* the contract's role in the network file, e.g. "app_license" */
} idx_log_t;

/* The sender and called contract of one transaction that carries an admin
 * action (issue #25; indexer/txfetch.c fetches them). Stored in the
 * batch's transaction beside the log it explains (first_log_index), so a
 * rollback that deletes that log deletes it too. */
typedef struct idx_tx_s {
  uint64_t block_number;
  idx_hash_t tx_hash;
  uint32_t first_log_index; /* the transaction's first log in the batch */
  idx_addr_t from;
  idx_addr_t to; /* meaningful when has_to (a creation has no `to`) */
  bool has_to;
} idx_tx_t;

/* One unit of exactly-once progress: the logs of blocks from_block..to_block
 * (inclusive) and the headers worth remembering for reorg detection. The
 * store applies it only if its cursor is at from_block - 1, and moves the
 * cursor to to_block, all in one transaction. */
typedef struct idx_batch_s {
  uint64_t chain_id;
  uint64_t from_block;
  uint64_t to_block;
  idx_hash_t to_hash;        /* hash of to_block (becomes the cursor hash) */
  const idx_block_t *blocks; /* headers to keep (at least to_block's), ascending */
  size_t nblocks;
  /* Fetched logs in (block_number, log_index) order: decoded ones (event,
   * event_name and args_json set) go to `logs`; those no ABI knows (all
   * three NULL) to unknown_logs, raw (schema/013). */
  const idx_log_t *logs;
  size_t nlogs;
  /* false: the model is derived in the batch's transaction
   * (dimo_internal.apply_range); true: later, by idx_store_derive. */
  bool defer_model;
  const idx_tx_t *txs; /* senders of admin transactions (may be NULL) */
  size_t ntxs;
} idx_batch_t;

#endif
