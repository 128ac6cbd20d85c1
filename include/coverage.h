/*
 * coverage.h: the coverage catch-up (issue #22, for databases indexed
 * before migration 013).
 *
 * Before 013 the follower asked every contract's logs by the topic0s its
 * ABI knew. Below its cursor such a database lacks what the quiet roles'
 * unfiltered request (idx_role_fetches_all) brings a fresh index: unknown
 * logs, Upgraded / BeaconUpgraded of a contract whose ABI lacked them, any
 * event an ABI learned since. Migration 016 records the block from which
 * the history is complete (unfiltered_coverage.complete_from).
 *
 * At every start of `run` and `sync`, after the chain check and once the
 * model describes every stored block, the engine asks those blocks again,
 * top down, one round at a time: the quiet contracts' every log of the
 * round (the follower's unfiltered request, its span limits), decoded
 * like a range's, each log's block hash its block's (the hash the stored
 * logs of that block carry, else its header's); the store keeps what it lacked, undoes
 * the model above the lowest new row and moves complete_from down to the
 * round's first block, in one transaction (store.h:
 * idx_store_coverage_round). The engine's derivation then derives the
 * model again, and the senders' catch-up (sync_admin.c) asks the senders
 * of the admin actions that appeared (a license's Upgraded). A bad answer
 * or a contradiction stops it with a warning; the follower goes on, and
 * the next start resumes from the last round committed.
 *
 * Never below the history's first block (020, history_start): a database
 * first indexed with --from N equals a fresh index made with --from N, which
 * never asked the blocks below N.
 *
 * Then, per contract of contract_coverage (021: added to the network file,
 * or given a lower start_block, after the first sync), the same rounds
 * over that contract alone, from the block below which it was never asked
 * down to max(its start_block, the history's first block), with the
 * follower's filter for its role: every log of a quiet role, the known
 * topic0s of a busy one (idx_role_fetches_all), and for a license contract
 * the DIMO transfers from and to it (the token's request names every
 * license contract); each merged by idx_store_coverage_round (with its address). The row
 * goes once done, and with it the warning that names the contract.
 *
 * The engine's part lives in indexer/coverage.c (declared in
 * sync_engine.h); this header holds its state and the pure planning.
 */
#ifndef IDX_COVERAGE_H
#define IDX_COVERAGE_H

#include "common.h"

#include "chain.h"
#include "network.h"
#include "store.h"

/* The round below complete_from: blocks *from..*to, at most span blocks,
 * none below low. Returns false when nothing is left (complete_from <=
 * low). */
bool idx_coverage_round(uint64_t complete_from, uint64_t low, uint64_t span, uint64_t *from,
                        uint64_t *to) IDX_NONNULL(4, 5);

/* The lowest block any quiet contract (idx_role_fetches_all) can have
 * logged at: its start_block in the network file, else its recorded
 * deployment block (one of starts[0..nstarts)), else 0; UINT64_MAX when
 * the network has no quiet contract (nothing to ask). */
uint64_t idx_coverage_low(const idx_network_t *net, const idx_store_start_t *starts, size_t nstarts)
    IDX_NONNULL(1);

/* Contracts of contract_coverage asked per start (more: the next start). */
#define IDX_COVERAGE_LATE_MAX 64
/* The requests of a round: a contract's own, and two for the DIMO
 * transfers of a license contract. */
#define IDX_COVERAGE_REQ_MAX 5

/* The catch-up's state inside the sync engine. */
typedef struct idx_coverage_s {
  bool done;   /* run once per process (a fault leaves the rest to the next start) */
  bool waited; /* it said it waits for the model */
  /* JOB_COVERAGE_READ */
  bool found;             /* a coverage row: something may be missing */
  uint64_t complete_from; /* from there on the history is complete */
  uint64_t low;           /* nothing to ask below */
  bool at_first;          /* low is the history's first block (020), above the contracts' starts */
  /* The round in hand: blocks from..to, its logs (in the engine's arena). */
  uint64_t from, to;
  idx_log_t *logs;
  size_t nlogs, cap;
  uint64_t *hdr; /* its blocks with logs, ascending; then those whose headers are asked */
  size_t nhdr, hdr_at, hdr_asked, hdr_cap;
  /* JOB_COVERAGE_STORED: per block of hdr, the hash and time its stored
   * logs carry (the answer is checked against them; no header asked). */
  bool *kfound;
  idx_hash_t *khash;
  int64_t *ktime;
  uint64_t headers; /* headers asked (blocks with logs and none stored) */
  /* Totals (the log line). */
  uint64_t top; /* the coverage when it started */
  uint64_t rounds, logs_added, unknown_added;
  bool rederive; /* the model was undone: the derivation redoes it */
  uint64_t model_from;
  idx_store_coverage_t res; /* JOB_COVERAGE_WRITE's outcome */
  /* 021: the contracts to complete, and the one in hand (task k >= 1 is
   * late[k - 1]; task 0 is the quiet contracts' unfiltered_coverage). */
  idx_store_late_t late[IDX_COVERAGE_LATE_MAX];
  size_t nlate, task;
  size_t nreq; /* requests of the round in hand */
} idx_coverage_t;

#endif
