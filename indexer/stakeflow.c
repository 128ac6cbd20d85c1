/* stakeflow.c: DIMO's stake-out events and their token transfer (see stakeflow.h). */
#include "common.h"

#include "stakeflow.h"

#include <string.h>

/* The events after which stake leaves the contract (shared/dimo-contracts.md):
 * each pays out in DIMO tokens by a Transfer from the contract; and those
 * after which stake comes in: each takes it by transferFrom(user, the
 * contract), a Transfer to the contract (the follower asks for those since
 * #25, for the contracts' books). */
static const struct {
  idx_role_t role;
  const char *event;
  bool into;
} stake_flows[] = {
    {IDX_ROLE_APP_LICENSE, "StakeWithdraw", false},
    {IDX_ROLE_APP_LICENSE, "AssetForfeit", false},
    {IDX_ROLE_MANUFACTURER_LICENSE, "UnstakeTokens", false},
    {IDX_ROLE_MANUFACTURER_LICENSE, "EmergencyWithdrawal", false},
    {IDX_ROLE_APP_LICENSE, "StakeDeposit", true},
    {IDX_ROLE_APP_LICENSE, "Deposit", true}, /* the 2024 contract */
    {IDX_ROLE_MANUFACTURER_LICENSE, "StakeTokens", true},
};

static bool has_role(const idx_network_t *net, idx_role_t role) {
  for (size_t i = 0; i < net->ncontracts; i++) {
    if (net->contracts[i].role == role)
      return true;
  }
  return false;
}

/* Whether a contract of this role has the event in its ABI. */
static bool role_has_event(const idx_network_t *net, idx_role_t role, const char *event) {
  for (size_t i = 0; i < net->ncontracts; i++) {
    const idx_contract_t *c = &net->contracts[i];
    if (c->role != role)
      continue;
    for (size_t e = 0; e < c->abi.nevents; e++) {
      if (strcmp(c->abi.events[e].name, event) == 0)
        return true;
    }
  }
  return false;
}

void idx_stakeflow_rules(const idx_network_t *net, idx_transfer_rule_t out[IDX_STAKEFLOW_MAX_RULES],
                         size_t *n) {
  *n = 0;
  if (!has_role(net, IDX_ROLE_DIMO_TOKEN))
    return;
  for (size_t i = 0; i < IDX_ARRAY_LEN(stake_flows) && *n < IDX_STAKEFLOW_MAX_RULES; i++) {
    if (!role_has_event(net, stake_flows[i].role, stake_flows[i].event))
      continue;
    out[*n].role = idx_role_name(stake_flows[i].role);
    out[*n].event = stake_flows[i].event;
    out[*n].token_role = idx_role_name(IDX_ROLE_DIMO_TOKEN);
    out[*n].into = stake_flows[i].into;
    (*n)++;
  }
}
