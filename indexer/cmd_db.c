/* cmd_db.c: `dimo-indexer migrate`, `status` and `rederive`. All are
 * short-lived and talk to the database directly (no event loop needed;
 * status runs a loop only to ask the node for its head). */
#include "common.h"

#include "cli.h"
#include "cmdutil.h"
#include "config.h"
#include "ethjson.h"
#include "hex.h"
#include "log.h"
#include "network.h"
#include "query.h"
#include "rpc.h"
#include "store.h"

#include <stdio.h>
#include <string.h>
#include <uv.h>

int idx_cmd_migrate(const idx_cmd_ctx_t *ctx) {
  const idx_config_t *cfg = ctx->cfg;
  char err[1024];
  idx_store_t *store = NULL;
  int rc = idx_store_open(&store, cfg->db, err, sizeof err);
  int applied = 0;
  if (rc == 0)
    rc = idx_store_migrate(store, cfg->schema_dir, &applied, err, sizeof err);
  idx_store_close(store);
  if (rc) {
    fprintf(stderr, "dimo-indexer migrate: %s\n", err);
    return rc == IDX_ERR_CONFIG ? IDX_EXIT_USAGE : IDX_EXIT_FAIL;
  }
  printf("applied %d migration(s)\n", applied);
  return IDX_EXIT_OK;
}

typedef struct head_query_s {
  bool done;
  int status;
  uint64_t head;
} head_query_t;

static void on_head(void *ud, int status, const idx_rpc_reply_t *r, size_t n) {
  head_query_t *q = ud;
  q->done = true;
  q->status = status;
  if (status == 0 && (n != 1 || r[0].err || idx_ethjson_quantity(r[0].result, &q->head)))
    q->status = IDX_ERR_RPC_REPLY;
}

/* Asks the first healthy endpoint of the chain for eth_blockNumber (an
 * endpoint serving another chain is never asked twice, nor believed). */
static int query_head(const idx_config_t *cfg, uint64_t chain_id, uint64_t *head) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  idx_rpc_options_t ro;
  idx_cmd_rpc_options(cfg, &ro, 3);
  ro.chain_id = chain_id;
  idx_rpc_t *rpc = NULL;
  head_query_t q = {false, 0, 0};
  int rc = idx_rpc_new(&rpc, &loop, &ro);
  if (rc == 0) {
    const char *m[1] = {"eth_blockNumber"};
    json_t *p[1] = {json_array()};
    rc = idx_rpc_batch(rpc, m, p, 1, on_head, &q);
    json_decref(p[0]);
    if (rc == 0)
      uv_run(&loop, UV_RUN_DEFAULT);
    idx_rpc_close(rpc, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    if (rc == 0)
      rc = q.done ? q.status : IDX_ERR_RPC_TRANSPORT;
  }
  (void)uv_loop_close(&loop);
  *head = q.head;
  return rc;
}

static int print_count(void *ud, const char *event_name, uint64_t count) {
  int *first = ud;
  printf("%s    %-24s %llu\n", *first ? "events:\n" : "", event_name, (unsigned long long)count);
  *first = 0;
  return 0;
}

/* #22: one line per (contract, topic0) no ABI knows, and per upgrade. */
static int print_unknown(void *ud, const char *const *v, size_t n) {
  int *first = ud;
  if (n < 6)
    return IDX_ERR_INVAL;
  printf("%s    %s %s topic0 %s: %s log(s), blocks %s..%s\n",
         *first ? "unknown:   logs no ABI knows (stored raw):\n" : "", v[1] ? v[1] : "?", v[0],
         v[2], v[3], v[4], v[5]);
  *first = 0;
  return 0;
}

static int print_upgrade(void *ud, const char *const *v, size_t n) {
  int *first = ud;
  if (n < 6)
    return IDX_ERR_INVAL;
  printf("%s    %s %s %s %s at block %s (tx %s)\n", *first ? "upgrades:\n" : "", v[1] ? v[1] : "?",
         v[0], v[2], v[3] ? v[3] : "?", v[4], v[5]);
  *first = 0;
  return 0;
}

/* 016: a database indexed before 013 knows unknown logs and upgrades only
 * from this block on. */
static int print_unfiltered_from(void *ud, const char *const *v, size_t n) {
  (void)ud;
  if (n < 1 || !v[0])
    return IDX_ERR_INVAL;
  printf("coverage:  unknown logs and upgrades are complete from block %s only (indexed before "
         "every log of the quiet contracts was asked for; a fresh index completes them)\n",
         v[0]);
  return 0;
}

/* 021: a contract added to the network file after the first sync, its
 * logs below a block not fetched yet (the coverage catch-up of the next
 * start fetches them). */
static int print_contract_coverage(void *ud, const char *const *v, size_t n) {
  (void)ud;
  if (n < 3 || !v[0] || !v[2])
    return IDX_ERR_INVAL;
  printf("coverage:  contract %s (%s) added after the first sync: its logs below block %s are "
         "not fetched yet (the next run or sync fetches them)\n",
         v[0], v[1] ? v[1] : "?", v[2]);
  return 0;
}

/* 020: from which block the history is complete (nothing below it was
 * asked, whatever the network file's start blocks say). */
static void print_history(const idx_store_history_t *h) {
  if (!h->found)
    printf("history:   none (nothing indexed yet)\n");
  else if (!h->known)
    printf("history:   from the network file's start blocks (indexed before migration 020: "
           "the first block was not recorded)\n");
  else
    printf("history:   from block %llu (%s; nothing below it is indexed)\n",
           (unsigned long long)h->first_block,
           strcmp(h->source, "from") == 0 ? "recorded from a later --from"
                                          : "the first block of the first sync");
}

/* The backfill's progress and estimate (issue #16): the follower writes its
 * rate, start and target in sync_progress (014) at most every second; blocks
 * done and left count from the cursor, so they are exact even when the row
 * is a few seconds old. A row not refreshed for a minute while blocks are
 * left says the follower is not running (or stuck): no estimate then. */
static int print_backfill(idx_store_t *store, uint64_t chain_id, bool has_cursor, uint64_t cursor,
                          char *err, size_t errlen) {
  bool found = false;
  idx_store_progress_t pr;
  int rc = idx_store_progress(store, chain_id, &found, &pr, err, errlen);
  if (rc)
    return rc;
  if (!found) {
    printf("backfill:  no progress recorded (no follower has written a batch since 014)\n");
    return 0;
  }
  uint64_t at = has_cursor ? cursor : pr.start_block;
  uint64_t done = has_cursor && at >= pr.start_block ? at - pr.start_block + 1 : 0;
  uint64_t left = pr.target > at ? pr.target - at : 0;
  uint64_t span = done + left;
  printf("backfill:  block %llu of %llu: %llu done since block %llu (%.1f%%), %llu left\n",
         (unsigned long long)at, (unsigned long long)pr.target, (unsigned long long)done,
         (unsigned long long)pr.start_block, span ? 100.0 * (double)done / (double)span : 100.0,
         (unsigned long long)left);
  if (left == 0) {
    printf("rate:      %llu blocks/s, %llu events/s (caught up; written %llu s ago)\n",
           (unsigned long long)pr.blocks_per_s, (unsigned long long)pr.events_per_s,
           (unsigned long long)pr.age_s);
  } else if (pr.age_s > 60) {
    printf("rate:      none for %llu s (the follower is not running, or stuck): no estimate\n",
           (unsigned long long)pr.age_s);
  } else if (pr.blocks_per_s == 0) {
    printf("rate:      not known yet (written %llu s ago): no estimate\n",
           (unsigned long long)pr.age_s);
  } else {
    uint64_t eta = (left + pr.blocks_per_s - 1) / pr.blocks_per_s;
    eta = eta > pr.age_s ? eta - pr.age_s : 0; /* the row is that old */
    printf("rate:      %llu blocks/s, %llu events/s (written %llu s ago); ETA %llu s\n",
           (unsigned long long)pr.blocks_per_s, (unsigned long long)pr.events_per_s,
           (unsigned long long)pr.age_s, (unsigned long long)eta);
  }
  return 0;
}

int idx_cmd_status(const idx_cmd_ctx_t *ctx) {
  const idx_config_t *cfg = ctx->cfg;
  const idx_network_t *net = ctx->net;
  char err[1024];
  idx_store_t *store = NULL;
  bool found = false;
  uint64_t last = 0;
  idx_hash_t hash;
  int rc = idx_store_open(&store, cfg->db, err, sizeof err);
  if (rc == 0)
    rc = idx_store_cursor(store, net->chain_id, &found, &last, &hash, err, sizeof err);
  if (rc == 0) {
    printf("network:   %s (chain %llu)\n", net->name, (unsigned long long)net->chain_id);
    if (found) {
      char hex[67];
      idx_hash_to_hex(hex, &hash);
      printf("cursor:    %llu %s\n", (unsigned long long)last, hex);
    } else {
      printf("cursor:    none (nothing indexed yet)\n");
    }
  }
  idx_store_history_t hist;
  if (rc == 0) {
    rc = idx_store_history(store, net->chain_id, &hist, err, sizeof err);
    if (rc == IDX_ERR_DB && strcmp(idx_store_sqlstate(store), "42P01") == 0) {
      rc = 0; /* no history_start: a database not migrated to 020 yet */
      printf("history:   unknown (the database is not migrated to 020: `dimo-indexer migrate`)\n");
    } else if (rc == 0) {
      print_history(&hist);
    }
  }
  bool derived = false;
  uint64_t model = 0;
  if (rc == 0)
    rc = idx_store_model_block(store, net->chain_id, &derived, &model, err, sizeof err);
  if (rc == 0 && derived)
    printf("model:     %llu (%llu block(s) behind the cursor)\n", (unsigned long long)model,
           (unsigned long long)(found && last > model ? last - model : 0));
  else if (rc == 0)
    printf("model:     none (nothing derived yet)\n");
  bool has_final = false;
  uint64_t final = 0;
  if (rc == 0)
    rc = idx_store_finalized(store, net->chain_id, &has_final, &final, err, sizeof err);
  if (rc == 0 && has_final)
    printf("finalized: %llu (the cursor is %s)\n", (unsigned long long) final,
           found && last <= final ? "final" : "above it: not final yet");
  else if (rc == 0)
    printf("finalized: unknown (no node named its finalized block yet)\n");
  if (rc == 0 && cfg->nrpc) {
    uint64_t head = 0;
    int hrc = query_head(cfg, net->chain_id, &head);
    if (hrc) {
      printf("head:      unknown (%s)\n", idx_strerror(hrc));
    } else {
      uint64_t conf =
          idx_config_confirmations(cfg, net->has_confirmations, net->confirmations, net->chain_id);
      printf("head:      %llu\n", (unsigned long long)head);
      if (found && last > head) /* a lagging node, or a chain that became shorter */
        printf("ahead:     the index is %llu block(s) above the node's head (a lagging node, or "
               "a shorter chain that the follower compares and rolls back)\n",
               (unsigned long long)(last - head));
      printf("lag:       %llu blocks (%llu confirmations kept)\n",
             (unsigned long long)(!found        ? head
                                  : head > last ? head - last
                                                : 0),
             (unsigned long long)conf);
    }
  }
  if (rc == 0)
    rc = print_backfill(store, net->chain_id, found, last, err, sizeof err);
  int first = 1;
  if (rc == 0)
    rc = idx_store_event_counts(store, net->chain_id, print_count, &first, err, sizeof err);
  if (rc == 0 && first)
    printf("events:    none\n");
  first = 1;
  if (rc == 0)
    rc = idx_store_text_rows(store, net->chain_id, idx_query_unknown_counts_sql, print_unknown,
                             &first, err, sizeof err);
  if (rc == 0 && first)
    printf("unknown:   none (every log of the watched contracts is known to its ABI)\n");
  first = 1;
  if (rc == 0)
    rc = idx_store_text_rows(store, net->chain_id, idx_query_implementations_sql, print_upgrade,
                             &first, err, sizeof err);
  if (rc == 0 && first)
    printf("upgrades:  none (no Upgraded or BeaconUpgraded log)\n");
  if (rc == 0)
    rc = idx_store_text_rows(store, net->chain_id, idx_query_unfiltered_from_sql,
                             print_unfiltered_from, NULL, err, sizeof err);
  if (rc == 0)
    rc = idx_store_text_rows(store, net->chain_id, idx_query_contract_coverage_sql,
                             print_contract_coverage, NULL, err, sizeof err);
  uint64_t reorgs = 0, deepest = 0, last_depth = 0;
  if (rc == 0)
    rc = idx_store_reorg_stats(store, net->chain_id, &reorgs, &deepest, &last_depth, err,
                               sizeof err);
  if (rc == 0)
    printf("reorgs:    %llu rolled back (deepest %llu blocks, last %llu)\n",
           (unsigned long long)reorgs, (unsigned long long)deepest, (unsigned long long)last_depth);
  idx_store_close(store);
  if (rc) {
    fprintf(stderr, "dimo-indexer status: %s\n", err);
    return IDX_EXIT_FAIL;
  }
  return IDX_EXIT_OK;
}

int idx_cmd_rederive(const idx_cmd_ctx_t *ctx) {
  const idx_config_t *cfg = ctx->cfg;
  const idx_network_t *net = ctx->net;
  char err[1024];
  idx_store_t *store = NULL;
  bool locked = false, found = false;
  uint64_t to = 0;
  unsigned built = 0, total = 0;
  int rc = idx_store_open(&store, cfg->db, err, sizeof err);
  if (rc == 0)
    rc = idx_store_migrate(store, cfg->schema_dir, NULL, err, sizeof err);
  if (rc == 0)
    rc = idx_store_writer_lock(store, net->chain_id, &locked, err, sizeof err);
  if (rc == 0 && !locked) {
    idx_set_err(err, sizeof err,
                "another dimo-indexer writes chain %llu (it holds the writer lock): stop it first",
                (unsigned long long)net->chain_id);
    rc = IDX_ERR_STANDBY;
  }
  if (rc == 0)
    rc = idx_store_rederive(store, net->chain_id, &found, &to, err, sizeof err);
  /* The documents a whole-chain apply left stale, on two connections at
   * once (one when a second cannot be opened: slower, equally exact). */
  idx_store_t *second = NULL;
  char oerr[256];
  if (rc == 0 && found &&
      (idx_store_open(&second, cfg->db, oerr, sizeof oerr) != 0 ||
       idx_store_name_session(second, IDX_DOCS_SESSION_NAME, oerr, sizeof oerr) != 0)) {
    fprintf(stderr, "dimo-indexer rederive: documents on one connection only: %s\n", oerr);
    idx_store_close(second);
    second = NULL;
  }
  bool second_failed = false;
  do {
    built = 0;
    second_failed = false;
    char serr[256];
    if (rc == 0 && found)
      rc = idx_store_refresh_stale_docs_pair(store, second, net->chain_id, 500, &built,
                                             &second_failed, serr, sizeof serr, err, sizeof err);
    if (second_failed) { /* the helper's failure: on with one connection */
      fprintf(stderr, "dimo-indexer rederive: documents on one connection only: %s\n", serr);
      idx_store_close(second);
      second = NULL;
    }
    total += built;
    /* Fewer than 500 in all: none left (unless the second connection
     * failed: the rows it held were skipped, so one more round decides). */
  } while (rc == 0 && (built >= 500 || second_failed));
  idx_store_close(second);
  idx_store_close(store);
  uint64_t chain = net->chain_id;
  if (rc) {
    fprintf(stderr, "dimo-indexer rederive: %s\n", err);
    return rc == IDX_ERR_CONFIG ? IDX_EXIT_USAGE : IDX_EXIT_FAIL;
  }
  if (!found)
    printf("chain %llu: nothing indexed, nothing to derive\n", (unsigned long long)chain);
  else
    printf(
        "chain %llu: model rederived from the stored logs up to block %llu (%u documents built)\n",
        (unsigned long long)chain, (unsigned long long)to, total);
  return IDX_EXIT_OK;
}
