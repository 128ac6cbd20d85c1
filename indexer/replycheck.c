/* replycheck.c: pure checks of a node's answers (see replycheck.h). */
#include "common.h"

#include "keccak.h"
#include "replycheck.h"

#include <stdlib.h>
#include <string.h>

void idx_bloom_bits(uint16_t out[3], const void *data, size_t n) {
  idx_hash_t h;
  idx_keccak256(&h, data, n);
  for (size_t i = 0; i < 3; i++)
    out[i] = (uint16_t)(((h.b[2 * i] << 8) | h.b[2 * i + 1]) & 2047);
}

bool idx_bloom_has(const uint8_t bloom[256], const uint16_t bits[3]) {
  for (size_t i = 0; i < 3; i++) {
    if (!(bloom[255 - bits[i] / 8] & (1u << (bits[i] % 8))))
      return false;
  }
  return true;
}

bool idx_bloom_any(const uint8_t bloom[256], const uint16_t (*bits)[3], size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (idx_bloom_has(bloom, bits[i]))
      return true;
  }
  return false;
}

unsigned idx_bloom_popcount(const uint8_t bloom[256]) {
  unsigned n = 0;
  for (size_t i = 0; i < 256; i++)
    for (uint8_t b = bloom[i]; b; b &= (uint8_t)(b - 1))
      n++;
  return n;
}

bool idx_bloom_expects_logs(const uint8_t bloom[256], const uint16_t (*addr_bits)[3], size_t naddr,
                            const uint16_t (*topic_bits)[3], size_t ntopic) {
  if (idx_bloom_popcount(bloom) > IDX_BLOOM_INFORMATIVE_MAX_BITS)
    return false;
  return idx_bloom_any(bloom, addr_bits, naddr) && idx_bloom_any(bloom, topic_bits, ntopic);
}

size_t idx_replycheck_unchained(const idx_block_t *blocks, size_t n) {
  for (size_t i = 1; i < n; i++) {
    if (memcmp(blocks[i].parent_hash.b, blocks[i - 1].hash.b, 32) != 0)
      return i;
  }
  return n;
}

static int cmp_log(const void *a, const void *b) {
  const idx_log_t *x = a, *y = b;
  if (x->block_number != y->block_number)
    return x->block_number < y->block_number ? -1 : 1;
  return x->log_index < y->log_index ? -1 : x->log_index > y->log_index ? 1 : 0;
}

void idx_replycheck_sort_logs(idx_log_t *logs, size_t n) {
  if (n > 1)
    qsort(logs, n, sizeof *logs, cmp_log);
}

bool idx_replycheck_duplicate(const idx_log_t *logs, size_t n) {
  for (size_t i = 1; i < n; i++) {
    if (logs[i].block_number == logs[i - 1].block_number &&
        logs[i].log_index == logs[i - 1].log_index)
      return true;
  }
  return false;
}

static const idx_transfer_rule_t *rule_of(const idx_log_t *l, const idx_transfer_rule_t *rules,
                                          size_t nrules) {
  for (size_t i = 0; l->role && l->event_name && i < nrules; i++) {
    if (strcmp(l->role, rules[i].role) == 0 && strcmp(l->event_name, rules[i].event) == 0)
      return &rules[i];
  }
  return NULL;
}

size_t idx_replycheck_transfer_missing(const idx_log_t *logs, size_t n,
                                       const idx_transfer_rule_t *rules, size_t nrules) {
  size_t block_start = 0;
  for (size_t i = 0; i < n; i++) {
    const idx_log_t *l = &logs[i];
    if (i && l->block_number != logs[i - 1].block_number)
      block_start = i;
    const idx_transfer_rule_t *rule = rule_of(l, rules, nrules);
    if (!rule)
      continue;
    bool found = false;
    /* Same transaction, so same block: look only there. A Transfer has
     * three topics; topic1 is `from`, topic2 `to`, addresses padded. */
    size_t side = rule->into ? 2 : 1;
    for (size_t k = block_start; k < n && !found && logs[k].block_number == l->block_number; k++) {
      const idx_log_t *t = &logs[k];
      found = memcmp(t->tx_hash.b, l->tx_hash.b, 32) == 0 && t->role &&
              strcmp(t->role, rule->token_role) == 0 && t->ntopics == 3 &&
              memcmp(t->topics[side].b + 12, l->address.b, 20) == 0;
    }
    if (!found)
      return i;
  }
  return n;
}
