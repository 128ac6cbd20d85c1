/*
 * stakeflow.h: DIMO's rules for stake leaving and entering a license
 * contract, by role.
 *
 * Stake leaving a license contract is always a DIMO token Transfer out of
 * it in the same transaction, stake coming in a Transfer into it: a
 * withdraw, slash, unstake or deposit whose transfer did not come back
 * means the token's eth_getLogs answer was incomplete.
 * The follower does not know DIMO's events: it asks this module which
 * (role, event) pairs carry such a transfer on its network, and hands them
 * to the pure check idx_replycheck_transfer_missing().
 */
#ifndef IDX_STAKEFLOW_H
#define IDX_STAKEFLOW_H

#include "common.h"

#include "network.h"
#include "replycheck.h"

enum { IDX_STAKEFLOW_MAX_RULES = 12 };

/* Fills out[0..*n) with the rules that apply to net: the event is in the
 * ABI of a contract of that role, and the network has a token contract.
 * *n is 0 when none apply (no token: nothing to check). */
void idx_stakeflow_rules(const idx_network_t *net, idx_transfer_rule_t out[IDX_STAKEFLOW_MAX_RULES],
                         size_t *n) IDX_NONNULL(1, 2, 3);

#endif
