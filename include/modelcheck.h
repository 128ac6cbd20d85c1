/*
 * modelcheck.h: the model's declared contract with the ABI files.
 *
 * The model parts (schema/, in SQL) read decoded logs by event signature
 * and argument name (`args ->> 'tokenId'`). A log whose signature or
 * argument names differ from what a part expects is silently skipped by
 * SQL, so each part declares what it reads in the table model_reads
 * (part, role, canonical event signature, every argument name in order),
 * and the indexer checks the declarations against the loaded network
 * before it writes anything: a mismatch refuses to start (IDX_ERR_CONFIG,
 * exit 2) with one message naming the part, the event, the argument and
 * the ABI file.
 *
 * The rules, per declared (part, role, event, names):
 *   - no contract of the role in the network: nothing to check;
 *   - some contracts of the role, and none of their ABIs has an event
 *     with that signature: refused (the event was renamed or retyped),
 *     unless the declaration is optional (one generation that only some
 *     contracts of the role emit, such as the 2024 license contract's
 *     Deposit: model_reads.optional, 011_license_2024.sql);
 *   - an ABI of the role has the signature with other argument names, or
 *     another order: refused.
 * An ABI may hold fewer generations than the model knows (a contract that
 * never emitted the bytes32 alias), as long as one ABI of the role has it.
 */
#ifndef IDX_MODELCHECK_H
#define IDX_MODELCHECK_H

#include "common.h"

#include "network.h"
#include "store.h"

/* One declaration. names: the argument names, comma-separated, in the
 * event's order ("tokenId,owner,clientId"); optional: see the rules above.
 * Returns 0, or IDX_ERR_CONFIG with the reason in err. */
IDX_WARN_UNUSED int idx_modelcheck_one(const idx_network_t *net, const char *part, const char *role,
                                       const char *event, const char *names, bool optional,
                                       char *err, size_t errlen) IDX_NONNULL(1, 2, 3, 4, 5, 7);

/* Reads every declaration from the store (model_reads) and checks each.
 * Returns 0; IDX_ERR_CONFIG (err names the first mismatch); or the
 * store's error. */
IDX_WARN_UNUSED int idx_modelcheck_run(idx_store_t *store, const idx_network_t *net, char *err,
                                       size_t errlen) IDX_NONNULL(1, 2, 3);

#endif
