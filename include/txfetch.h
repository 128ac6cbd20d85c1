/*
 * txfetch.h: who sent the transactions of admin actions (issue #25).
 *
 * Logs do not say who called: for the few logs that are admin actions
 * (freezes, forfeits, revoke burns, Update* settings, upgrades, and DIMO
 * leaving a license contract with neither StakeWithdraw nor AssetForfeit
 * in its transaction: adminWithdraw; the manufacturer license's unstake,
 * emergency withdrawal, stake adjustment, mint, revoke burn and upgrade),
 * the sync engine asks
 * eth_getTransactionByHash for their transactions, batched, before the
 * range is written, and the store writes the answers (sender, called
 * contract) in the batch's own transaction. The model then attributes
 * each action (schema/functions/accountability.sql).
 *
 * This module decides which transactions to ask for, builds the requests
 * and checks the answers; it never sends anything (the engine owns the
 * JSON-RPC client, its limits and failover). Pure and loop-free: unit
 * tests call it with hand-made logs and replies.
 *
 * Use per range: idx_txfetch_plan (the range's sorted logs), then
 * repeatedly idx_txfetch_next (requests of at most IDX_TXFETCH_BATCH
 * transactions) and idx_txfetch_take (their replies) until next returns 0;
 * idx_txfetch_txs then gives the rows for the batch (borrowed until the
 * next plan or free).
 */
#ifndef IDX_TXFETCH_H
#define IDX_TXFETCH_H

#include "common.h"

#include "chain.h"
#include "network.h"
#include "rpc.h"

#include <jansson.h>

/* Most transactions asked in one JSON-RPC batch (providers commonly cap a
 * batch at 100 to 1,000 calls; DIMO's admin actions are a few a day). */
#define IDX_TXFETCH_BATCH 100

/* Most admin transactions of one range (memory bound; a range with more
 * is refused with IDX_ERR_TOO_LARGE and shrinks). */
#define IDX_TXFETCH_MAX 100000

typedef struct idx_txfetch_s {
  /* License contracts whose DIMO outflows may be adminWithdraw (app). */
  idx_addr_t *licenses;
  size_t nlicenses;
  /* Planned transactions: [0, n) in block order; [0, done) answered. */
  idx_tx_t *txs;
  size_t n, cap, done;
  idx_hash_t *block_hashes; /* per planned tx: its logs' block hash */
  size_t asked;             /* transactions in the batch in flight */
  /* Counters (for status and BENCHMARKS.md). */
  uint64_t requests; /* eth_getTransactionByHash calls sent */
  uint64_t batches;  /* JSON-RPC batches sent */
} idx_txfetch_t;

/* Takes the app-license contracts of net (copied). Returns 0 or
 * IDX_ERR_NOMEM. */
IDX_WARN_UNUSED int idx_txfetch_init(idx_txfetch_t *f, const idx_network_t *net) IDX_NONNULL(1, 2);
void idx_txfetch_free(idx_txfetch_t *f);

/* Whether logs[i] (of logs sorted by block and log index) is an admin
 * action whose transaction's sender is wanted. A DIMO Transfer counts
 * when it leaves one of the license contracts and no StakeWithdraw or
 * AssetForfeit of that contract is in its transaction. */
bool idx_txfetch_is_admin(const idx_txfetch_t *f, const idx_log_t *logs, size_t nlogs, size_t i)
    IDX_NONNULL(1, 2);

/* Plans the range: one entry per distinct transaction with an admin log.
 * Returns 0, IDX_ERR_TOO_LARGE (more than IDX_TXFETCH_MAX), IDX_ERR_NOMEM. */
IDX_WARN_UNUSED int idx_txfetch_plan(idx_txfetch_t *f, const idx_log_t *logs, size_t nlogs)
    IDX_NONNULL(1);

/* Plans the given transactions instead (the senders' catch-up: rows read
 * from the database, each with its block's hash, copied). Returns 0,
 * IDX_ERR_TOO_LARGE (more than IDX_TXFETCH_MAX), IDX_ERR_NOMEM. */
IDX_WARN_UNUSED int idx_txfetch_plan_txs(idx_txfetch_t *f, const idx_tx_t *txs,
                                         const idx_hash_t *block_hashes, size_t n) IDX_NONNULL(1);

/* Fills methods/params (cap >= IDX_TXFETCH_BATCH) with the next requests
 * and returns how many (0: everything is answered). params are new
 * references the caller hands to the client and then releases. */
size_t idx_txfetch_next(idx_txfetch_t *f, const char **methods, json_t **params, size_t cap)
    IDX_NONNULL(1, 2, 3);

/* Checks the replies to the last idx_txfetch_next: each a transaction
 * object whose hash, blockNumber and blockHash are the ones its logs
 * carry, with a 20-byte `from` and a `to` that is an address or null. A
 * missing transaction (null, an error) or any difference is an
 * inconsistent answer: returns IDX_ERR_RPC_REPLY with the reason in why
 * (the engine asks for the range again); 0 on success. */
IDX_WARN_UNUSED int idx_txfetch_take(idx_txfetch_t *f, const idx_rpc_reply_t *r, size_t n,
                                     char *why, size_t whylen) IDX_NONNULL(1, 4);

/* The planned rows (all answered once next returned 0); *n their count. */
const idx_tx_t *idx_txfetch_txs(const idx_txfetch_t *f, size_t *n) IDX_NONNULL(1, 2);

#endif
