/* txfetch.c: which transactions carry admin actions, their requests and
 * the checks of their answers (see txfetch.h). */
#include "common.h"

#include "hex.h"
#include "txfetch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int idx_txfetch_init(idx_txfetch_t *f, const idx_network_t *net) {
  memset(f, 0, sizeof *f);
  size_t n = 0;
  for (size_t i = 0; i < net->ncontracts; i++)
    n += net->contracts[i].role == IDX_ROLE_APP_LICENSE;
  if (n) {
    f->licenses = calloc(n, sizeof *f->licenses);
    if (!f->licenses)
      return IDX_ERR_NOMEM;
  }
  for (size_t i = 0; i < net->ncontracts; i++) {
    if (net->contracts[i].role == IDX_ROLE_APP_LICENSE)
      f->licenses[f->nlicenses++] = net->contracts[i].address;
  }
  return 0;
}

void idx_txfetch_free(idx_txfetch_t *f) {
  if (!f)
    return;
  free(f->licenses);
  free(f->txs);
  free(f->block_hashes);
  memset(f, 0, sizeof *f);
}

static bool is_role(const idx_log_t *l, const char *role) {
  return l->role && strcmp(l->role, role) == 0;
}

static bool is_license(const idx_txfetch_t *f, const uint8_t *addr) {
  for (size_t i = 0; i < f->nlicenses; i++) {
    if (memcmp(f->licenses[i].b, addr, 20) == 0)
      return true;
  }
  return false;
}

static bool zero_topic(const idx_hash_t *t) {
  for (size_t i = 0; i < 32; i++) {
    if (t->b[i])
      return false;
  }
  return true;
}

bool idx_txfetch_is_admin(const idx_txfetch_t *f, const idx_log_t *logs, size_t nlogs, size_t i) {
  const idx_log_t *l = &logs[i];
  if (!l->event_name)
    return false;
  if (is_role(l, "app_license")) {
    const char *e = l->event_name;
    if (strcmp(e, "AssetFreezeUpdate") == 0 || strcmp(e, "AssetForfeit") == 0 ||
        strcmp(e, "Upgraded") == 0 || strncmp(e, "Update", 6) == 0 ||
        strcmp(e, "Initialized") == 0) /* the initialize action */
      return true;
    /* The ERC-721 burn Transfer(owner -> 0x0) is a revoke. */
    return strcmp(e, "Transfer") == 0 && l->ntopics == 4 && zero_topic(&l->topics[2]);
  }
  if (is_role(l, "manufacturer_license")) {
    /* The 2022 Stake's onlyRole(DEFAULT_ADMIN_ROLE) calls (Stake.sol;
     * schema/functions/accountability.sql): unstake, emergencyWithdraw,
     * setNewMinStakeAmount, the UUPS upgrade, mint (its Transfer(0x0 ->
     * owner)) and revoke (its burn Transfer(owner -> 0x0); LicenseRevoked
     * names the wrong token). */
    const char *e = l->event_name;
    if (strcmp(e, "UnstakeTokens") == 0 || strcmp(e, "EmergencyWithdrawal") == 0 ||
        strcmp(e, "StakeAmountAdjusted") == 0 || strcmp(e, "Upgraded") == 0)
      return true;
    return strcmp(e, "Transfer") == 0 && l->ntopics == 4 &&
           (zero_topic(&l->topics[1]) || zero_topic(&l->topics[2]));
  }
  if (!is_role(l, "dimo_token") || strcmp(l->event_name, "Transfer") != 0 || l->ntopics != 3)
    return false;
  const uint8_t *from = l->topics[1].b + 12;
  if (!is_license(f, from))
    return false;
  /* A user's withdraw or a forfeit of that contract in the same
   * transaction (so the same block) explains the outflow; else it is
   * adminWithdraw. Logs are sorted: look around i within its block. */
  size_t lo = i;
  while (lo > 0 && logs[lo - 1].block_number == l->block_number)
    lo--;
  for (size_t k = lo; k < nlogs && logs[k].block_number == l->block_number; k++) {
    const idx_log_t *o = &logs[k];
    if (memcmp(o->tx_hash.b, l->tx_hash.b, 32) != 0 || memcmp(o->address.b, from, 20) != 0 ||
        !o->event_name)
      continue;
    /* (Withdraw: the 2024 license contract's name for StakeWithdraw.) */
    if (strcmp(o->event_name, "StakeWithdraw") == 0 || strcmp(o->event_name, "Withdraw") == 0 ||
        strcmp(o->event_name, "AssetForfeit") == 0)
      return false;
  }
  return true;
}

int idx_txfetch_plan(idx_txfetch_t *f, const idx_log_t *logs, size_t nlogs) {
  f->n = f->done = f->asked = 0;
  for (size_t i = 0; i < nlogs; i++) {
    if (!idx_txfetch_is_admin(f, logs, nlogs, i))
      continue;
    const idx_log_t *l = &logs[i];
    /* Planned in log order: a transaction's earlier admin log is planned
     * already only if it is the same block (look back within it). */
    bool seen = false;
    for (size_t k = f->n; k > 0 && f->txs[k - 1].block_number == l->block_number && !seen; k--)
      seen = memcmp(f->txs[k - 1].tx_hash.b, l->tx_hash.b, 32) == 0;
    if (seen)
      continue;
    if (f->n == IDX_TXFETCH_MAX)
      return IDX_ERR_TOO_LARGE;
    if (f->n == f->cap) {
      size_t cap = f->cap ? f->cap * 2 : 16;
      idx_tx_t *t = realloc(f->txs, cap * sizeof *t);
      if (!t)
        return IDX_ERR_NOMEM;
      f->txs = t;
      idx_hash_t *h = realloc(f->block_hashes, cap * sizeof *h);
      if (!h)
        return IDX_ERR_NOMEM;
      f->block_hashes = h;
      f->cap = cap;
    }
    /* The first log of the transaction in the batch (the row's anchor):
     * an earlier log of the same transaction that is no admin action
     * still comes first. */
    size_t first = i;
    for (size_t k = i; k > 0 && logs[k - 1].block_number == l->block_number; k--) {
      /* (a log no ABI knows is in unknown_logs, not in `logs`: no anchor) */
      if (logs[k - 1].event_name && memcmp(logs[k - 1].tx_hash.b, l->tx_hash.b, 32) == 0)
        first = k - 1;
    }
    idx_tx_t *t = &f->txs[f->n];
    memset(t, 0, sizeof *t);
    t->block_number = l->block_number;
    t->tx_hash = l->tx_hash;
    t->first_log_index = logs[first].log_index;
    f->block_hashes[f->n] = l->block_hash;
    f->n++;
  }
  return 0;
}

int idx_txfetch_plan_txs(idx_txfetch_t *f, const idx_tx_t *txs, const idx_hash_t *block_hashes,
                         size_t n) {
  f->n = f->done = f->asked = 0;
  if (n > IDX_TXFETCH_MAX)
    return IDX_ERR_TOO_LARGE;
  if (n > f->cap) {
    idx_tx_t *t = realloc(f->txs, n * sizeof *t);
    if (!t)
      return IDX_ERR_NOMEM;
    f->txs = t;
    idx_hash_t *h = realloc(f->block_hashes, n * sizeof *h);
    if (!h)
      return IDX_ERR_NOMEM;
    f->block_hashes = h;
    f->cap = n;
  }
  if (n) {
    memcpy(f->txs, txs, n * sizeof *txs);
    memcpy(f->block_hashes, block_hashes, n * sizeof *block_hashes);
  }
  f->n = n;
  return 0;
}

size_t idx_txfetch_next(idx_txfetch_t *f, const char **methods, json_t **params, size_t cap) {
  size_t k = 0;
  while (f->done + k < f->n && k < cap && k < IDX_TXFETCH_BATCH) {
    char hex[67];
    idx_hash_to_hex(hex, &f->txs[f->done + k].tx_hash);
    methods[k] = "eth_getTransactionByHash";
    params[k] = json_pack("[s]", hex);
    k++;
  }
  f->asked = k;
  if (k) {
    f->requests += k;
    f->batches++;
  }
  return k;
}

static bool json_addr(json_t *v, idx_addr_t *out) {
  const char *s = json_string_value(v);
  return s && strlen(s) == 42 && idx_addr_from_hex(out, s) == 0;
}

int idx_txfetch_take(idx_txfetch_t *f, const idx_rpc_reply_t *r, size_t n, char *why,
                     size_t whylen) {
  if (!r || n != f->asked) {
    idx_set_err(why, whylen, "transaction reply count");
    return IDX_ERR_RPC_REPLY;
  }
  for (size_t j = 0; j < n; j++) {
    idx_tx_t *t = &f->txs[f->done + j];
    json_t *o = r[j].result;
    if (r[j].err || !json_is_object(o)) {
      idx_set_err(why, whylen, "transaction of an admin action in block %llu not found",
                  (unsigned long long)t->block_number);
      return IDX_ERR_RPC_REPLY;
    }
    idx_hash_t h, bh;
    uint64_t number = 0;
    const char *hs = json_string_value(json_object_get(o, "hash"));
    const char *bhs = json_string_value(json_object_get(o, "blockHash"));
    const char *ns = json_string_value(json_object_get(o, "blockNumber"));
    if (!hs || !bhs || !ns || idx_hash_from_hex(&h, hs) || idx_hash_from_hex(&bh, bhs) ||
        idx_hex_quantity(&number, ns, strlen(ns))) {
      idx_set_err(why, whylen, "a malformed transaction (hash, blockHash, blockNumber)");
      return IDX_ERR_RPC_REPLY;
    }
    if (memcmp(h.b, t->tx_hash.b, 32) != 0 || number != t->block_number ||
        memcmp(bh.b, f->block_hashes[f->done + j].b, 32) != 0) {
      idx_set_err(why, whylen, "a transaction's hash or block differs from its logs' (block %llu)",
                  (unsigned long long)t->block_number);
      return IDX_ERR_RPC_REPLY;
    }
    if (!json_addr(json_object_get(o, "from"), &t->from)) {
      idx_set_err(why, whylen, "a transaction without a valid `from`");
      return IDX_ERR_RPC_REPLY;
    }
    json_t *to = json_object_get(o, "to");
    t->has_to = to && !json_is_null(to);
    if (t->has_to && !json_addr(to, &t->to)) {
      idx_set_err(why, whylen, "a transaction with a malformed `to`");
      return IDX_ERR_RPC_REPLY;
    }
  }
  f->done += n;
  f->asked = 0;
  return 0;
}

const idx_tx_t *idx_txfetch_txs(const idx_txfetch_t *f, size_t *n) {
  *n = f->done;
  return f->txs;
}
