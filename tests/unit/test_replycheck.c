/* Unit tests for replycheck.c and stakeflow.c: the follower's pure checks
 * of a node's answers (bloom, chaining, duplicates, missing transfers),
 * without a network. */
#include "common.h"

#include "check.h"
#include "hex.h"
#include "keccak.h"
#include "network.h"
#include "replycheck.h"
#include "stakeflow.h"

#include <stdio.h>
#include <string.h>

static void set_bits(uint8_t bloom[256], const uint16_t bits[3]) {
  for (size_t i = 0; i < 3; i++)
    bloom[255 - bits[i] / 8] |= (uint8_t)(1u << (bits[i] % 8));
}

static void test_bloom(void) {
  /* Known answer: the bloom of a block with one log of address A and
   * topic T has A's and T's bits, computed the Ethereum way. */
  uint8_t addr[20];
  memset(addr, 0x11, sizeof addr);
  uint8_t topic[32];
  memset(topic, 0x22, sizeof topic);
  uint16_t ab[1][3], tb[1][3], other[1][3];
  idx_bloom_bits(ab[0], addr, sizeof addr);
  idx_bloom_bits(tb[0], topic, sizeof topic);
  uint8_t o[20];
  memset(o, 0x33, sizeof o);
  idx_bloom_bits(other[0], o, sizeof o);
  /* The bits are keccak's first three 16-bit pairs modulo 2048. */
  idx_hash_t h;
  idx_keccak256(&h, addr, sizeof addr);
  CHECK_INT(ab[0][0], ((h.b[0] << 8) | h.b[1]) & 2047);
  CHECK_INT(ab[0][2], ((h.b[4] << 8) | h.b[5]) & 2047);

  uint8_t bloom[256] = {0};
  CHECK(!idx_bloom_has(bloom, ab[0]));
  set_bits(bloom, ab[0]);
  set_bits(bloom, tb[0]);
  CHECK(idx_bloom_has(bloom, ab[0]));
  CHECK(idx_bloom_has(bloom, tb[0]));
  CHECK(idx_bloom_any(bloom, (const uint16_t(*)[3])ab, 1));
  CHECK(idx_bloom_popcount(bloom) <= 6 && idx_bloom_popcount(bloom) >= 1);
  CHECK(idx_bloom_expects_logs(bloom, (const uint16_t(*)[3])ab, 1, (const uint16_t(*)[3])tb, 1));
  /* Another address: no match unless its bits are there by chance. */
  if (!idx_bloom_has(bloom, other[0]))
    CHECK(!idx_bloom_expects_logs(bloom, (const uint16_t(*)[3])other, 1, (const uint16_t(*)[3])tb,
                                  1));
  /* Nothing watched: nothing expected. */
  CHECK(!idx_bloom_expects_logs(bloom, NULL, 0, (const uint16_t(*)[3])tb, 1));
  /* A dense bloom (a busy block) says nothing. */
  uint8_t dense[256];
  memset(dense, 0xff, sizeof dense);
  CHECK_INT(idx_bloom_popcount(dense), 2048);
  CHECK(!idx_bloom_expects_logs(dense, (const uint16_t(*)[3])ab, 1, (const uint16_t(*)[3])tb, 1));
  memset(dense, 0, sizeof dense);
  memset(dense, 0xff, IDX_BLOOM_INFORMATIVE_MAX_BITS / 8 - 1); /* under the bound: informative */
  CHECK(idx_bloom_popcount(dense) <= IDX_BLOOM_INFORMATIVE_MAX_BITS);
  set_bits(dense, ab[0]);
  set_bits(dense, tb[0]);
  CHECK(idx_bloom_expects_logs(dense, (const uint16_t(*)[3])ab, 1, (const uint16_t(*)[3])tb, 1));
}

static void hash_of(idx_hash_t *h, unsigned v) {
  memset(h->b, 0, 32);
  h->b[31] = (uint8_t)v;
  h->b[30] = (uint8_t)(v >> 8);
}

static void test_chain(void) {
  idx_block_t b[5];
  for (unsigned i = 0; i < 5; i++) {
    b[i].number = 100 + i;
    hash_of(&b[i].hash, 1000 + i);
    hash_of(&b[i].parent_hash, 999 + i);
    b[i].time = 0;
  }
  CHECK_INT(idx_replycheck_unchained(b, 5), 5);
  CHECK_INT(idx_replycheck_unchained(b, 0), 0);
  CHECK_INT(idx_replycheck_unchained(b, 1), 1);
  hash_of(&b[3].parent_hash, 7);
  CHECK_INT(idx_replycheck_unchained(b, 5), 3);
}

static idx_log_t mklog(uint64_t block, uint32_t index) {
  idx_log_t l;
  memset(&l, 0, sizeof l);
  l.block_number = block;
  l.log_index = index;
  return l;
}

static void test_sort_dup(void) {
  idx_log_t logs[5] = {mklog(9, 2), mklog(3, 1), mklog(9, 0), mklog(3, 0), mklog(5, 7)};
  idx_replycheck_sort_logs(logs, 5);
  uint64_t want_b[5] = {3, 3, 5, 9, 9};
  uint32_t want_i[5] = {0, 1, 7, 0, 2};
  for (size_t i = 0; i < 5; i++) {
    CHECK_INT(logs[i].block_number, want_b[i]);
    CHECK_INT(logs[i].log_index, want_i[i]);
  }
  CHECK(!idx_replycheck_duplicate(logs, 5));
  logs[4].log_index = 0;
  CHECK(idx_replycheck_duplicate(logs, 5));
  CHECK(!idx_replycheck_duplicate(logs, 0));
}

static void test_transfers(void) {
  static const idx_transfer_rule_t rules[] = {
      {"app_license", "StakeWithdraw", "dimo_token", false},
  };
  idx_log_t logs[4];
  /* Block 10: StakeWithdraw of contract C in tx X, and the token's
   * Transfer from C in the same tx. */
  idx_addr_t c;
  memset(c.b, 0xc1, 20);
  logs[0] = mklog(10, 0);
  logs[0].role = "app_license";
  logs[0].event_name = "StakeWithdraw";
  logs[0].address = c;
  hash_of(&logs[0].tx_hash, 1);
  logs[1] = mklog(10, 1);
  logs[1].role = "dimo_token";
  logs[1].event_name = "Transfer";
  logs[1].ntopics = 3;
  memcpy(logs[1].topics[1].b + 12, c.b, 20);
  hash_of(&logs[1].tx_hash, 1);
  /* Block 11: a Transfer-less StakeWithdraw. */
  logs[2] = logs[0];
  logs[2].block_number = 11;
  /* Another event of the role: no rule. */
  logs[3] = mklog(12, 0);
  logs[3].role = "app_license";
  logs[3].event_name = "Issued";
  CHECK_INT(idx_replycheck_transfer_missing(logs, 2, rules, 1), 2);
  CHECK_INT(idx_replycheck_transfer_missing(logs, 4, rules, 1), 2);
  CHECK_INT(idx_replycheck_transfer_missing(logs, 4, rules, 0), 4);
  /* The transfer in another transaction does not count. */
  hash_of(&logs[1].tx_hash, 2);
  CHECK_INT(idx_replycheck_transfer_missing(logs, 2, rules, 1), 0);
  /* ... nor one from another address. */
  hash_of(&logs[1].tx_hash, 1);
  logs[1].topics[1].b[31] ^= 1;
  CHECK_INT(idx_replycheck_transfer_missing(logs, 2, rules, 1), 0);
  logs[1].topics[1].b[31] ^= 1;

  /* Stake coming in: a StakeDeposit needs a Transfer *to* the contract;
   * the one from it does not count, one to it does. */
  static const idx_transfer_rule_t in_rules[] = {
      {"app_license", "StakeDeposit", "dimo_token", true},
  };
  logs[0].event_name = "StakeDeposit";
  CHECK_INT(idx_replycheck_transfer_missing(logs, 2, in_rules, 1), 0);
  memset(logs[1].topics[1].b, 0, 32);
  memcpy(logs[1].topics[2].b + 12, c.b, 20);
  CHECK_INT(idx_replycheck_transfer_missing(logs, 2, in_rules, 1), 2);
  /* ... and then the outflow rule misses its transfer. */
  logs[0].event_name = "StakeWithdraw";
  CHECK_INT(idx_replycheck_transfer_missing(logs, 2, rules, 1), 0);
}

/* The rules come from the network's roles and ABIs: on Polygon's preset
 * each names an event its role's ABI has. */
static void test_stakeflow(void) {
  idx_network_t net;
  char err[256];
  int rc = idx_network_load(&net, "polygon", ABI_DIR, err, sizeof err);
  CHECK_INT(rc, 0);
  if (rc)
    return;
  idx_transfer_rule_t rules[IDX_STAKEFLOW_MAX_RULES];
  size_t n = 99;
  idx_stakeflow_rules(&net, rules, &n);
  CHECK(n >= 1 && n <= IDX_STAKEFLOW_MAX_RULES);
  for (size_t i = 0; i < n; i++) {
    CHECK_STR(rules[i].token_role, "dimo_token");
    bool found = false;
    for (size_t k = 0; k < net.ncontracts; k++) {
      const idx_contract_t *ct = &net.contracts[k];
      if (strcmp(idx_role_name(ct->role), rules[i].role) != 0)
        continue;
      for (size_t e = 0; e < ct->abi.nevents; e++)
        found |= strcmp(ct->abi.events[e].name, rules[i].event) == 0;
    }
    CHECK(found);
  }
  /* Without a token contract there is nothing to check. */
  size_t keep = net.ncontracts;
  size_t w = 0;
  for (size_t k = 0; k < keep; k++) {
    if (net.contracts[k].role == IDX_ROLE_DIMO_TOKEN)
      continue;
    idx_contract_t t = net.contracts[w];
    net.contracts[w] = net.contracts[k];
    net.contracts[k] = t;
    w++;
  }
  net.ncontracts = w;
  idx_stakeflow_rules(&net, rules, &n);
  CHECK_INT(n, 0);
  net.ncontracts = keep;
  idx_network_free(&net);
}

int main(void) {
  test_bloom();
  test_chain();
  test_sort_dup();
  test_transfers();
  test_stakeflow();
  CHECK_DONE();
}
