/* Unit tests for txfetch.c (#25): which logs are admin actions, one
 * request per transaction, batches of IDX_TXFETCH_BATCH, and the checks of
 * the answers (a missing, moved or malformed transaction is refused). */
#include "common.h"

#include "check.h"
#include "hex.h"
#include "txfetch.h"

#include <stdlib.h>
#include <string.h>

static const uint8_t LICENSE[20] = {0xe7, 0xf1, 0x72, 0x5e, 0x77, 0x34, 0xce, 0x28, 0x8f, 0x83,
                                    0x67, 0xe1, 0xbb, 0x14, 0x3e, 0x90, 0xbb, 0x3f, 0x05, 0x12};

static idx_log_t lg(uint64_t block, uint32_t index, uint8_t tx, const char *role, const char *name,
                    uint8_t ntopics) {
  idx_log_t l;
  memset(&l, 0, sizeof l);
  l.block_number = block;
  l.log_index = index;
  l.block_hash.b[0] = (uint8_t)block;
  l.tx_hash.b[31] = tx;
  l.role = role;
  l.event_name = name;
  l.ntopics = ntopics;
  memcpy(l.address.b, LICENSE, 20);
  return l;
}

/* A DIMO Transfer out of (from_license) or into the license contract. */
static idx_log_t token(uint64_t block, uint32_t index, uint8_t tx, bool from_license) {
  idx_log_t l = lg(block, index, tx, "dimo_token", "Transfer", 3);
  memset(l.address.b, 0xd1, 20);
  if (from_license)
    memcpy(l.topics[1].b + 12, LICENSE, 20);
  else
    memcpy(l.topics[2].b + 12, LICENSE, 20);
  return l;
}

static void setup(idx_txfetch_t *f) {
  idx_network_t net;
  idx_contract_t c[2];
  memset(&net, 0, sizeof net);
  memset(c, 0, sizeof c);
  c[0].role = IDX_ROLE_APP_LICENSE;
  memcpy(c[0].address.b, LICENSE, 20);
  c[1].role = IDX_ROLE_DIMO_TOKEN;
  net.contracts = c;
  net.ncontracts = 2;
  CHECK_INT(idx_txfetch_init(f, &net), 0);
  CHECK_INT(f->nlicenses, 1);
}

static void test_which(void) {
  idx_txfetch_t f;
  setup(&f);
  idx_log_t logs[13];
  size_t n = 0;
  logs[n++] = lg(10, 0, 1, "app_license", "AssetFreezeUpdate", 2);
  logs[n++] = lg(10, 1, 2, "app_license", "SignerEnabled", 3);
  logs[n++] = token(10, 2, 3, true);                          /* forfeit's transfer */
  logs[n++] = lg(10, 3, 3, "app_license", "AssetForfeit", 2); /* same tx */
  logs[n++] = token(11, 0, 4, true);                          /* withdraw's transfer */
  logs[n++] = lg(11, 1, 4, "app_license", "StakeWithdraw", 3);
  logs[n++] = token(11, 2, 5, true);  /* adminWithdraw */
  logs[n++] = token(11, 3, 6, false); /* a deposit or stray */
  logs[n++] = lg(12, 0, 7, "app_license", "UpdatePeriodValidity", 1);
  logs[n++] = lg(12, 1, 8, "app_license", "Transfer", 4); /* burn: topics[2] zero */
  logs[n] = lg(12, 2, 9, "app_license", "Transfer", 4);   /* a mint: to = owner */
  logs[n++].topics[2].b[31] = 1;
  logs[n++] = lg(12, 3, 10, "node_license", "AssetFreezeUpdate", 2);
  logs[n++] = lg(12, 4, 11, "app_license", "Initialized", 1); /* the initialize action */
  bool want[] = {true,  false, false, true,  false, false, true,
                 false, true,  true,  false, false, true};
  for (size_t i = 0; i < n; i++)
    CHECK(idx_txfetch_is_admin(&f, logs, n, i) == want[i]);
  CHECK_INT(idx_txfetch_plan(&f, logs, n), 0);
  /* Transactions 1, 3 (its first log is the transfer, index 2), 5, 7, 8, 11. */
  CHECK_INT(f.n, 6);
  CHECK_INT(f.txs[1].tx_hash.b[31], 3);
  CHECK_INT(f.txs[1].first_log_index, 2);
  CHECK_INT(f.txs[2].tx_hash.b[31], 5);
  idx_txfetch_free(&f);
}

/* #22: a log no ABI knows goes to unknown_logs, not `logs`: it cannot
 * anchor its transaction's sender row, even when it comes first. */
static void test_unknown_first(void) {
  idx_txfetch_t f;
  setup(&f);
  idx_log_t logs[2];
  logs[0] = lg(10, 0, 1, "app_license", NULL, 2); /* unknown to the ABI */
  logs[1] = lg(10, 1, 1, "app_license", "AssetFreezeUpdate", 2);
  CHECK(!idx_txfetch_is_admin(&f, logs, 2, 0));
  CHECK_INT(idx_txfetch_plan(&f, logs, 2), 0);
  CHECK_INT(f.n, 1);
  CHECK_INT(f.txs[0].first_log_index, 1);
  idx_txfetch_free(&f);
}

/* The manufacturer license (2022 Stake): its onlyRole(DEFAULT_ADMIN_ROLE)
 * calls' logs, mint and upgrade included. */
static void test_manufacturer(void) {
  idx_txfetch_t f;
  setup(&f);
  const char *m = "manufacturer_license";
  idx_log_t logs[9];
  size_t n = 0;
  logs[n++] = lg(20, 0, 1, m, "StakeTokens", 2);   /* a staker's own */
  logs[n++] = lg(20, 1, 2, m, "UnstakeTokens", 2); /* unstake */
  logs[n++] = lg(20, 2, 3, m, "EmergencyWithdrawal", 2);
  logs[n++] = lg(20, 3, 4, m, "StakeAmountAdjusted", 1);
  logs[n++] = lg(21, 0, 5, m, "Transfer", 4);       /* revoke's burn */
  logs[n++] = lg(21, 1, 5, m, "LicenseRevoked", 1); /* same tx, not asked twice */
  logs[n] = lg(21, 2, 6, m, "Transfer", 4);         /* a mint */
  logs[n++].topics[2].b[31] = 1;
  logs[n++] = lg(21, 3, 6, m, "LicenseMinted", 2);
  logs[n++] = lg(21, 4, 7, m, "Upgraded", 2); /* the UUPS upgrade */
  bool want[] = {false, true, true, true, true, false, true, false, true};
  for (size_t i = 0; i < n; i++)
    CHECK(idx_txfetch_is_admin(&f, logs, n, i) == want[i]);
  CHECK_INT(idx_txfetch_plan(&f, logs, n), 0);
  CHECK_INT(f.n, 6);
  CHECK_INT(f.txs[3].tx_hash.b[31], 5);
  CHECK_INT(f.txs[3].first_log_index, 0);
  CHECK_INT(f.txs[4].tx_hash.b[31], 6); /* the mint */
  CHECK_INT(f.txs[4].first_log_index, 2);
  CHECK_INT(f.txs[5].tx_hash.b[31], 7);
  idx_txfetch_free(&f);
}

static json_t *tx_json(const idx_tx_t *t, uint8_t block_hash0, const char *from, const char *to) {
  char h[67], bh[67], num[24];
  idx_hash_t b;
  memset(&b, 0, sizeof b);
  b.b[0] = block_hash0;
  idx_hash_to_hex(h, &t->tx_hash);
  idx_hash_to_hex(bh, &b);
  snprintf(num, sizeof num, "0x%llx", (unsigned long long)t->block_number);
  json_t *o =
      json_pack("{s:s,s:s,s:s,s:s}", "hash", h, "blockHash", bh, "blockNumber", num, "from", from);
  json_object_set_new(o, "to", to ? json_string(to) : json_null());
  return o;
}

static void test_batches_and_answers(void) {
  idx_txfetch_t f;
  setup(&f);
  /* 150 freezes in 150 transactions of block 7: two batches. */
  idx_log_t *logs = calloc(150, sizeof *logs);
  CHECK(logs != NULL);
  for (uint32_t i = 0; i < 150; i++) {
    logs[i] = lg(7, i, (uint8_t)i, "app_license", "AssetFreezeUpdate", 2);
    logs[i].tx_hash.b[30] = (uint8_t)(i >> 8);
    logs[i].tx_hash.b[29] = 1;
  }
  CHECK_INT(idx_txfetch_plan(&f, logs, 150), 0);
  CHECK_INT(f.n, 150);
  const char *methods[IDX_TXFETCH_BATCH];
  json_t *params[IDX_TXFETCH_BATCH];
  idx_rpc_reply_t r[IDX_TXFETCH_BATCH];
  json_t *results[IDX_TXFETCH_BATCH];
  char why[200];
  const char *eoa = "0x9965507d1a55bcc2695c58ba16fb37d819b0a4dc";
  size_t k = idx_txfetch_next(&f, methods, params, IDX_TXFETCH_BATCH);
  CHECK_INT(k, IDX_TXFETCH_BATCH);
  CHECK_STR(methods[0], "eth_getTransactionByHash");
  for (size_t j = 0; j < k; j++) {
    json_decref(params[j]);
    results[j] = tx_json(&f.txs[j], 7, eoa, j == 5 ? NULL : eoa);
    memset(&r[j], 0, sizeof r[j]);
    r[j].result = results[j];
  }
  /* A transaction in another block (a node on another fork) is refused. */
  json_object_set_new(results[3], "blockNumber", json_string("0x8"));
  CHECK_INT(idx_txfetch_take(&f, r, k, why, sizeof why), IDX_ERR_RPC_REPLY);
  CHECK(strstr(why, "differs") != NULL);
  json_object_set_new(results[3], "blockNumber", json_string("0x7"));
  /* Another block hash, too. */
  char other[67] = "0x11";
  memset(other + 4, '0', 62);
  other[66] = '\0';
  json_object_set_new(results[4], "blockHash", json_string(other));
  CHECK_INT(idx_txfetch_take(&f, r, k, why, sizeof why), IDX_ERR_RPC_REPLY);
  json_decref(results[4]);
  results[4] = r[4].result = tx_json(&f.txs[4], 7, eoa, eoa);
  /* A malformed sender. */
  json_object_set_new(results[6], "from", json_string("0x12"));
  CHECK_INT(idx_txfetch_take(&f, r, k, why, sizeof why), IDX_ERR_RPC_REPLY);
  json_object_set_new(results[6], "from", json_string(eoa));
  /* Not found (null), or the wrong count. */
  r[7].result = json_null();
  CHECK_INT(idx_txfetch_take(&f, r, k, why, sizeof why), IDX_ERR_RPC_REPLY);
  r[7].result = results[7];
  CHECK_INT(idx_txfetch_take(&f, r, k - 1, why, sizeof why), IDX_ERR_RPC_REPLY);
  CHECK_INT(idx_txfetch_take(&f, r, k, why, sizeof why), 0);
  CHECK(!f.txs[5].has_to && f.txs[6].has_to);
  CHECK_INT(f.txs[6].from.b[0], 0x99);
  for (size_t j = 0; j < k; j++)
    json_decref(results[j]);
  k = idx_txfetch_next(&f, methods, params, IDX_TXFETCH_BATCH);
  CHECK_INT(k, 50);
  for (size_t j = 0; j < k; j++) {
    json_decref(params[j]);
    results[j] = tx_json(&f.txs[100 + j], 7, eoa, eoa);
    memset(&r[j], 0, sizeof r[j]);
    r[j].result = results[j];
  }
  CHECK_INT(idx_txfetch_take(&f, r, k, why, sizeof why), 0);
  for (size_t j = 0; j < k; j++)
    json_decref(results[j]);
  CHECK_INT(idx_txfetch_next(&f, methods, params, IDX_TXFETCH_BATCH), 0);
  size_t n = 0;
  CHECK(idx_txfetch_txs(&f, &n) == f.txs);
  CHECK_INT(n, 150);
  CHECK_INT(f.requests, 150);
  CHECK_INT(f.batches, 2);
  /* A new plan starts afresh. */
  CHECK_INT(idx_txfetch_plan(&f, logs, 0), 0);
  CHECK_INT(idx_txfetch_next(&f, methods, params, IDX_TXFETCH_BATCH), 0);
  free(logs);
  idx_txfetch_free(&f);
}

/* The catch-up's plan: rows from the database, checked against their
 * stored block hash like a range's. */
static void test_plan_txs(void) {
  idx_txfetch_t f;
  setup(&f);
  idx_tx_t rows[2];
  idx_hash_t hashes[2];
  memset(rows, 0, sizeof rows);
  memset(hashes, 0, sizeof hashes);
  rows[0].block_number = 9;
  rows[0].tx_hash.b[31] = 1;
  rows[0].first_log_index = 4;
  rows[1].block_number = 12;
  rows[1].tx_hash.b[31] = 2;
  hashes[0].b[0] = 9;
  hashes[1].b[0] = 12;
  CHECK_INT(idx_txfetch_plan_txs(&f, rows, hashes, 2), 0);
  const char *methods[IDX_TXFETCH_BATCH];
  json_t *params[IDX_TXFETCH_BATCH];
  idx_rpc_reply_t r[2];
  json_t *results[2];
  char why[200];
  const char *eoa = "0x9965507d1a55bcc2695c58ba16fb37d819b0a4dc";
  CHECK_INT(idx_txfetch_next(&f, methods, params, IDX_TXFETCH_BATCH), 2);
  for (size_t j = 0; j < 2; j++) {
    json_decref(params[j]);
    memset(&r[j], 0, sizeof r[j]);
  }
  /* The second answer from another block hash than its logs' is refused. */
  results[0] = r[0].result = tx_json(&f.txs[0], 9, eoa, eoa);
  results[1] = r[1].result = tx_json(&f.txs[1], 13, eoa, NULL);
  CHECK_INT(idx_txfetch_take(&f, r, 2, why, sizeof why), IDX_ERR_RPC_REPLY);
  json_decref(results[1]);
  results[1] = r[1].result = tx_json(&f.txs[1], 12, eoa, NULL);
  CHECK_INT(idx_txfetch_take(&f, r, 2, why, sizeof why), 0);
  json_decref(results[0]);
  json_decref(results[1]);
  CHECK_INT(idx_txfetch_next(&f, methods, params, IDX_TXFETCH_BATCH), 0);
  size_t n = 0;
  const idx_tx_t *t = idx_txfetch_txs(&f, &n);
  CHECK_INT(n, 2);
  CHECK_INT(t[0].first_log_index, 4);
  CHECK(t[0].has_to && !t[1].has_to);
  /* Nothing to ask: an empty plan. */
  CHECK_INT(idx_txfetch_plan_txs(&f, rows, hashes, 0), 0);
  CHECK_INT(idx_txfetch_next(&f, methods, params, IDX_TXFETCH_BATCH), 0);
  idx_txfetch_free(&f);
}

int main(void) {
  test_which();
  test_unknown_first();
  test_manufacturer();
  test_batches_and_answers();
  test_plan_txs();
  CHECK_DONE();
}
