/*
 * ethjson.h: strict readers of Ethereum JSON-RPC result objects (block
 * headers, logs) into the value types of chain.h.
 *
 * A node is an outside input like any other: every field is checked for
 * presence, type and hex shape, and a defect comes back as
 * IDX_ERR_RPC_REPLY with a message naming the field.
 */
#ifndef IDX_ETHJSON_H
#define IDX_ETHJSON_H

#include "common.h"

#include "arena.h"
#include "chain.h"
#include "logscan.h"

#include <jansson.h>

/* Largest log data accepted (bytes). Real license events are tiny. */
#define IDX_ETHJSON_MAX_LOG_DATA (1u << 20)

/* Reads a header from eth_getBlockByNumber (number, hash, parentHash,
 * timestamp). */
IDX_WARN_UNUSED int idx_ethjson_block(json_t *obj, idx_block_t *out, char *err, size_t errlen)
    IDX_NONNULL(2, 3);

/* Reads one eth_getLogs entry. data is copied into arena. block_time is
 * -1 when the node sent no blockTimestamp. *removed receives the
 * "removed" flag. The decoded fields (event, args_json, role) are left
 * NULL for the caller. */
IDX_WARN_UNUSED int idx_ethjson_log(json_t *obj, idx_arena_t *arena, idx_log_t *out, bool *removed,
                                    char *err, size_t errlen) IDX_NONNULL(2, 3, 4, 5);

/* Takes log i of a set logscan decoded as idx_ethjson_log takes one from
 * a JSON object: the same value, data copied into arena (the same
 * IDX_ERR_TOO_LARGE when the arena's cap is reached). */
IDX_WARN_UNUSED int idx_ethjson_log_copy(const idx_logset_t *set, size_t i, idx_arena_t *arena,
                                         idx_log_t *out, bool *removed, char *err, size_t errlen)
    IDX_NONNULL(1, 3, 4, 5, 6);

/* Reads a quantity member ("0x1a") of an object. */
IDX_WARN_UNUSED int idx_ethjson_quantity(json_t *v, uint64_t *out) IDX_NONNULL(2);

#endif
