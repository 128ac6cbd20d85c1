/*
 * network.h: the network file (shared/network-file.md): which chain to
 * follow and which contracts to index, with what meaning.
 *
 * `--network NAME` loads ABI_DIR/networks/NAME.json; anything with a '/'
 * or ending in ".json" is a path. Each contract's ABI is loaded here, so
 * a loaded network is ready to decode. Unknown keys are errors (keys
 * starting with "x-" are ignored), so typos never pass silently.
 */
#ifndef IDX_NETWORK_H
#define IDX_NETWORK_H

#include "common.h"

#include "abi.h"
#include "config.h"

typedef enum idx_role_e {
  IDX_ROLE_APP_LICENSE,
  IDX_ROLE_MANUFACTURER_LICENSE, /* the 2022 Stake contract: DIP-4 manufacturers */
  IDX_ROLE_DIMO_TOKEN,
  IDX_ROLE_SACD,
  IDX_ROLE_VEHICLE,
  IDX_ROLE_SACD_TEMPLATE,
  IDX_ROLE_STORAGE_NODE,  /* StorageNode anchors: DIP-5 node operators */
  IDX_ROLE_NODE_REGISTRY, /* the DIMO registry: vehicle -> storage node only */
  IDX_ROLE_CONNECTION,    /* Connections: data-connection licenses */
} idx_role_t;

typedef enum idx_class_e {
  IDX_CLASS_NONE,
  IDX_CLASS_APP,
  IDX_CLASS_NODE,
  IDX_CLASS_CLIENT,
  IDX_CLASS_CONNECTION,
  IDX_CLASS_MANUFACTURER,
} idx_class_t;

typedef struct idx_contract_s {
  idx_role_t role;
  idx_class_t license_class; /* IDX_CLASS_NONE for non-license roles */
  idx_addr_t address;
  char *abi_path; /* owned: resolved path of the ABI file */
  uint64_t start_block;
  idx_abi_t abi;
} idx_contract_t;

typedef struct idx_network_s {
  char *name; /* owned */
  char *path; /* owned: the file it came from */
  uint64_t chain_id;
  bool has_confirmations;
  uint64_t confirmations;
  bool has_finality; /* "finality": the default for --finality */
  idx_finality_t finality;
  idx_contract_t *contracts; /* owned array */
  size_t ncontracts;
  /* owned: the file's "requirements", validated and re-serialized as a
   * compact JSON object (class -> {stake, per_user, understaked, note});
   * NULL when the file has none. The store hands it to
   * dimo_internal.set_requirements as is. */
  char *requirements_json;
} idx_network_t;

/* Loads a network by preset name or path. abi_dir is the folder holding
 * the ABI files and networks/. On failure err says which file and key. */
IDX_WARN_UNUSED int idx_network_load(idx_network_t *net, const char *name_or_path,
                                     const char *abi_dir, char *err, size_t errlen)
    IDX_NONNULL(1, 2, 3, 4);

void idx_network_free(idx_network_t *net) IDX_NONNULL(1);

/* The contract at this address, or NULL. */
const idx_contract_t *idx_network_contract(const idx_network_t *net, const idx_addr_t *address)
    IDX_NONNULL(1, 2);

/* Names for logs and JSON: "app_license", "app", ... */
const char *idx_role_name(idx_role_t role);
const char *idx_class_name(idx_class_t c);
/* A license class by name ("app", "client", "manufacturer", "node",
 * "connection"); false for any other text ("none" included). */
bool idx_class_parse(const char *name, idx_class_t *out) IDX_NONNULL(1, 2);

/* Whether the follower asks a role's contracts for every log they emit (no
 * topic0 filter), so that an event no ABI knows is stored and counted
 * rather than never fetched (issue #22 item 2). True for the roles whose
 * logs are few (licenses, SACD, Template, StorageNode, Connections); false
 * for the busy ones (the DIMO token, the vehicle NFT, the DIMO registry),
 * which stay filtered by the topic0s their ABIs know. One table in
 * network.c decides it. */
bool idx_role_fetches_all(idx_role_t role);

/* The events every watched contract is decoded for beside its ABI file's:
 * ERC-1967's Upgraded(address indexed implementation) and
 * BeaconUpgraded(address indexed beacon), the implementation history of a
 * proxy. Added to each contract's events at load (an ABI that already has
 * them keeps its own). Adds them to abi: 0, or an error of
 * idx_abi_load_json with err set. */
IDX_WARN_UNUSED int idx_network_add_proxy_events(idx_abi_t *abi, char *err, size_t errlen)
    IDX_NONNULL(1, 2);

/* Lowest start_block over the contracts whose events start the scan
 * (every role but dimo_token). */
uint64_t idx_network_start_block(const idx_network_t *net) IDX_NONNULL(1);

#endif
