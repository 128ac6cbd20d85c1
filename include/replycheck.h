/*
 * replycheck.h: pure checks of a node's answers, without a network.
 *
 * The follower asks these questions of every range it is given before a
 * byte of it is stored: do the headers chain, are two logs the same, does
 * a block's logsBloom say that logs of ours should have come back, does a
 * stake movement lack the token transfer that always goes with it. Each
 * function only reads its arguments: unit-tested in tests/unit.
 */
#ifndef IDX_REPLYCHECK_H
#define IDX_REPLYCHECK_H

#include "common.h"

#include "chain.h"

/* Ethereum's logsBloom: the three bit positions of a value (from the first
 * three 16-bit pairs of keccak256, modulo 2048). */
void idx_bloom_bits(uint16_t out[3], const void *data, size_t n) IDX_NONNULL(1, 2);

/* Whether the 256-byte bloom has all three bits. */
bool idx_bloom_has(const uint8_t bloom[256], const uint16_t bits[3]) IDX_NONNULL(1, 2);

/* Whether the bloom has any of the n bit triples. */
bool idx_bloom_any(const uint8_t bloom[256], const uint16_t (*bits)[3], size_t n) IDX_NONNULL(1);

/* Bits set in the bloom. */
unsigned idx_bloom_popcount(const uint8_t bloom[256]) IDX_NONNULL(1);

/* Only a sparse bloom says anything: a busy Polygon block sets most of its
 * bits (hundreds of logs), and three given bits are then set by chance for
 * almost any address. Above a tenth of the bits set a block is not judged
 * by its bloom. */
enum { IDX_BLOOM_INFORMATIVE_MAX_BITS = 2048 / 10 };

/* Whether a block whose bloom is `bloom` should have given logs of ours
 * (one of the addresses and one of the topics may be in it, and the bloom
 * is informative) although none came back. */
bool idx_bloom_expects_logs(const uint8_t bloom[256], const uint16_t (*addr_bits)[3], size_t naddr,
                            const uint16_t (*topic_bits)[3], size_t ntopic) IDX_NONNULL(1);

/* The first i >= 1 where blocks[i] does not name blocks[i - 1] as its
 * parent, or n when the n headers chain. */
size_t idx_replycheck_unchained(const idx_block_t *blocks, size_t n);

/* Sorts logs by (block_number, log_index). */
void idx_replycheck_sort_logs(idx_log_t *logs, size_t n);

/* In sorted logs: whether two share a (block_number, log_index). */
bool idx_replycheck_duplicate(const idx_log_t *logs, size_t n);

/* A rule of the network: an event of a contract with role `role` that
 * always comes with a token Transfer emitted by the contract with role
 * `token_role`, in the same transaction: from that contract (stake
 * leaving it), or, with `into`, to it (stake coming in). */
typedef struct idx_transfer_rule_s {
  const char *role;
  const char *event;
  const char *token_role;
  bool into;
} idx_transfer_rule_t;

/* In sorted logs: the first log that one of the rules says must come with
 * a transfer, and whose transfer is not among the logs (an incomplete
 * eth_getLogs answer). Returns its index, or n when none lacks one. */
size_t idx_replycheck_transfer_missing(const idx_log_t *logs, size_t n,
                                       const idx_transfer_rule_t *rules, size_t nrules);

#endif
