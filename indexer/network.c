/* network.c: network file loading and validation (see network.h). */
#include "common.h"

#include "hex.h"
#include "network.h"

#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { NETWORK_FILE_MAX = 1 << 20 };

static const char *const role_names[] = {
    "app_license",   "manufacturer_license", "dimo_token",    "sacd",      "vehicle",
    "sacd_template", "storage_node",         "node_registry", "connection"};
static const char *const class_names[] = {"none",   "app",        "node",
                                          "client", "connection", "manufacturer"};

/* Which roles are fetched unfiltered (network.h: idx_role_fetches_all).
 * The busy ones emit far more than we read: the DIMO token's every ERC-20
 * transfer, the vehicle NFT's mints, transfers and attribute settings, the
 * registry's every vehicle and device event; their unknown topics would
 * cost many times the logs we store. */
static const bool role_fetches_all[] = {
    [IDX_ROLE_APP_LICENSE] = true,  [IDX_ROLE_MANUFACTURER_LICENSE] = true,
    [IDX_ROLE_DIMO_TOKEN] = false,  [IDX_ROLE_SACD] = true,
    [IDX_ROLE_VEHICLE] = false,     [IDX_ROLE_SACD_TEMPLATE] = true,
    [IDX_ROLE_STORAGE_NODE] = true, [IDX_ROLE_NODE_REGISTRY] = false,
    [IDX_ROLE_CONNECTION] = true};

static const char proxy_events_json[] =
    "[{\"type\":\"event\",\"name\":\"Upgraded\",\"anonymous\":false,\"inputs\":"
    "[{\"name\":\"implementation\",\"type\":\"address\",\"indexed\":true}]},"
    "{\"type\":\"event\",\"name\":\"BeaconUpgraded\",\"anonymous\":false,\"inputs\":"
    "[{\"name\":\"beacon\",\"type\":\"address\",\"indexed\":true}]}]";

_Static_assert(IDX_ARRAY_LEN(role_fetches_all) == IDX_ARRAY_LEN(role_names), "one row per role");

int idx_network_add_proxy_events(idx_abi_t *abi, char *err, size_t errlen) {
  return idx_abi_load_json(abi, proxy_events_json, sizeof proxy_events_json - 1, err, errlen);
}

bool idx_role_fetches_all(idx_role_t role) {
  return (size_t)role < IDX_ARRAY_LEN(role_fetches_all) && role_fetches_all[role];
}

/* The classes a network file's `requirements` may set: those with a stake
 * to compare (connections have none). */
static const char *const requirement_classes[] = {"app", "client", "node", "manufacturer"};

/* The largest uint256, the cap of an amount in wei. */
static const char uint256_max[] =
    "115792089237316195423570985008687907853269984665640564039457584007913129639935";

/* The class a role licenses by default (IDX_CLASS_NONE: not a license
 * role). Storage-node anchors are DIP-5's node operators; the 2022 Stake
 * contract licenses hardware manufacturers (dimo-contracts.md section 2). */
static idx_class_t role_default_class(idx_role_t role) {
  switch (role) {
  case IDX_ROLE_APP_LICENSE:
    return IDX_CLASS_APP;
  case IDX_ROLE_MANUFACTURER_LICENSE:
    return IDX_CLASS_MANUFACTURER;
  case IDX_ROLE_STORAGE_NODE:
    return IDX_CLASS_NODE;
  case IDX_ROLE_CONNECTION:
    return IDX_CLASS_CONNECTION;
  case IDX_ROLE_DIMO_TOKEN:
  case IDX_ROLE_SACD:
  case IDX_ROLE_VEHICLE:
  case IDX_ROLE_SACD_TEMPLATE:
  case IDX_ROLE_NODE_REGISTRY:
    break;
  }
  return IDX_CLASS_NONE;
}

const char *idx_role_name(idx_role_t role) {
  return (size_t)role < IDX_ARRAY_LEN(role_names) ? role_names[role] : "?";
}

const char *idx_class_name(idx_class_t c) {
  return (size_t)c < IDX_ARRAY_LEN(class_names) ? class_names[c] : "?";
}

bool idx_class_parse(const char *name, idx_class_t *out) {
  for (size_t k = 1; k < IDX_ARRAY_LEN(class_names); k++) { /* [0] "none" is never given */
    if (strcmp(name, class_names[k]) == 0) {
      *out = (idx_class_t)k;
      return true;
    }
  }
  return false;
}

void idx_network_free(idx_network_t *net) {
  for (size_t i = 0; i < net->ncontracts; i++) {
    free(net->contracts[i].abi_path);
    idx_abi_free(&net->contracts[i].abi);
  }
  free(net->contracts);
  free(net->name);
  free(net->path);
  free(net->requirements_json);
  memset(net, 0, sizeof *net);
}

static bool looks_like_path(const char *s) {
  size_t n = strlen(s);
  return strchr(s, '/') != NULL || (n > 5 && strcmp(s + n - 5, ".json") == 0);
}

static bool valid_preset_name(const char *s) {
  if (!*s || strlen(s) > 64)
    return false;
  for (; *s; s++) {
    if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
      return false;
  }
  return true;
}

/* A non-negative JSON integer. */
static bool json_u64(json_t *v, uint64_t *out) {
  if (!json_is_integer(v) || json_integer_value(v) < 0)
    return false;
  *out = (uint64_t)json_integer_value(v);
  return true;
}

static bool file_exists(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f)
    fclose(f);
  return f != NULL;
}

/* Resolves an "abi" value: relative to the network file first, then abi_dir. */
static char *resolve_abi(const char *value, const char *net_dir, const char *abi_dir) {
  char path[4096];
  if (value[0] == '/') {
    snprintf(path, sizeof path, "%s", value);
    return strdup(path);
  }
  snprintf(path, sizeof path, "%s/%s", net_dir, value);
  if (file_exists(path))
    return strdup(path);
  snprintf(path, sizeof path, "%s/%s", abi_dir, value);
  return strdup(path);
}

static int contract_from_json(idx_contract_t *c, json_t *obj, size_t i, const char *net_dir,
                              const char *abi_dir, char *err, size_t errlen) {
  if (!json_is_object(obj)) {
    idx_set_err(err, errlen, "contracts[%zu] is not an object", i);
    return IDX_ERR_CONFIG;
  }
  const char *key;
  json_t *v;
  json_object_foreach(obj, key, v) {
    static const char *const known[] = {"role", "class", "address", "abi", "start_block"};
    bool ok = strncmp(key, "x-", 2) == 0;
    for (size_t k = 0; k < IDX_ARRAY_LEN(known) && !ok; k++)
      ok = strcmp(key, known[k]) == 0;
    if (!ok) {
      idx_set_err(err, errlen, "contracts[%zu]: unknown key \"%s\"", i, key);
      return IDX_ERR_CONFIG;
    }
  }
  const char *role = json_string_value(json_object_get(obj, "role"));
  const char *cls = json_string_value(json_object_get(obj, "class"));
  const char *address = json_string_value(json_object_get(obj, "address"));
  const char *abi = json_string_value(json_object_get(obj, "abi"));
  json_t *start = json_object_get(obj, "start_block");
  if (!role) {
    idx_set_err(err, errlen, "contracts[%zu]: \"role\" (a string) is required", i);
    return IDX_ERR_CONFIG;
  }
  if (strcmp(role, "node_license") == 0) {
    /* The 2022 Stake contract licenses manufacturers, not DIP-5 node
     * operators: a file written for an earlier release says so here. */
    idx_set_err(err, errlen,
                "contracts[%zu]: role \"node_license\" is now \"manufacturer_license\" (the 2022 "
                "Stake contract licenses manufacturers; DIP-5 node operators are \"storage_node\")",
                i);
    return IDX_ERR_CONFIG;
  }
  size_t r = 0;
  while (r < IDX_ARRAY_LEN(role_names) && strcmp(role, role_names[r]) != 0)
    r++;
  if (r == IDX_ARRAY_LEN(role_names)) {
    idx_set_err(
        err, errlen,
        "contracts[%zu]: unknown role \"%s\" (app_license, manufacturer_license, "
        "dimo_token, sacd, vehicle, sacd_template, storage_node, node_registry, connection)",
        i, role);
    return IDX_ERR_CONFIG;
  }
  c->role = (idx_role_t)r;
  c->license_class = role_default_class(c->role);
  bool license = c->license_class != IDX_CLASS_NONE;
  if (cls) {
    if (!license) {
      idx_set_err(err, errlen, "contracts[%zu]: \"class\" applies to license roles only", i);
      return IDX_ERR_CONFIG;
    }
    idx_class_t want;
    if (!idx_class_parse(cls, &want)) {
      idx_set_err(
          err, errlen,
          "contracts[%zu]: unknown class \"%s\" (app, client, manufacturer, node, connection)", i,
          cls);
      return IDX_ERR_CONFIG;
    }
    /* A class is a label over the role's semantics: an app-license
     * compatible contract may license apps or clients; every other role
     * has its one class (a manufacturer is never a node). */
    bool ok_class = c->role == IDX_ROLE_APP_LICENSE
                        ? want == IDX_CLASS_APP || want == IDX_CLASS_CLIENT
                        : want == c->license_class;
    if (!ok_class) {
      idx_set_err(err, errlen, "contracts[%zu]: role %s cannot have class \"%s\"", i, role, cls);
      return IDX_ERR_CONFIG;
    }
    c->license_class = want;
  } else if (json_object_get(obj, "class")) {
    idx_set_err(err, errlen, "contracts[%zu]: \"class\" must be a string", i);
    return IDX_ERR_CONFIG;
  }
  if (!address || idx_addr_from_hex(&c->address, address) != 0) {
    idx_set_err(err, errlen,
                "contracts[%zu]: \"address\" must be a 0x-prefixed 20-byte hex address", i);
    return IDX_ERR_CONFIG;
  }
  if (start && !json_u64(start, &c->start_block)) {
    idx_set_err(err, errlen, "contracts[%zu]: \"start_block\" must be a non-negative integer", i);
    return IDX_ERR_CONFIG;
  }
  if (!abi || !*abi) {
    idx_set_err(err, errlen, "contracts[%zu]: \"abi\" (a file name) is required", i);
    return IDX_ERR_CONFIG;
  }
  if (!(c->abi_path = resolve_abi(abi, net_dir, abi_dir)))
    return IDX_ERR_NOMEM;
  char inner[512];
  int rc = idx_abi_load_file(&c->abi, c->abi_path, inner, sizeof inner);
  if (rc) {
    idx_set_err(err, errlen, "contracts[%zu]: %s", i, inner);
    return IDX_ERR_CONFIG;
  }
  if (c->abi.nevents == 0) {
    idx_set_err(err, errlen, "contracts[%zu]: %s has no events", i, c->abi_path);
    return IDX_ERR_CONFIG;
  }
  /* Every contract's implementation history (the set skips what the file
   * already has). */
  rc = idx_network_add_proxy_events(&c->abi, inner, sizeof inner);
  if (rc) {
    idx_set_err(err, errlen, "contracts[%zu]: proxy events: %s", i, inner);
    return rc;
  }
  return 0;
}

/* An amount in wei: a JSON string of 1 to 78 decimal digits, no sign, no
 * leading zero, at most 2^256 - 1 (exact: never a JSON number, which
 * would round). */
static bool wei_string(json_t *v) {
  const char *s = json_string_value(v);
  size_t n = s ? strlen(s) : 0;
  if (n == 0 || n > 78 || (n > 1 && s[0] == '0'))
    return false;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return false;
  }
  return n < 78 || strcmp(s, uint256_max) <= 0;
}

/* "requirements": {"CLASS": {"stake": "WEI", "per_user": "WEI",
 * "understaked": BOOL, "note": TEXT}, ...}: per license class, the stake it
 * requires (per_user: nodes only, per user of the node) and whether
 * falling below it makes a license understaked (stops sharing). Stored
 * re-serialized (x- keys dropped) in net->requirements_json. */
static int requirements_from_json(idx_network_t *net, json_t *reqs, char *err, size_t errlen) {
  if (!json_is_object(reqs)) {
    idx_set_err(err, errlen, "\"requirements\" must be an object of license classes");
    return IDX_ERR_CONFIG;
  }
  json_t *out = json_object();
  if (!out)
    return IDX_ERR_NOMEM;
  int rc = 0;
  const char *cls;
  json_t *r;
  json_object_foreach(reqs, cls, r) {
    if (strncmp(cls, "x-", 2) == 0)
      continue;
    bool known = false;
    for (size_t k = 0; k < IDX_ARRAY_LEN(requirement_classes) && !known; k++)
      known = strcmp(cls, requirement_classes[k]) == 0;
    if (!known) {
      idx_set_err(err, errlen,
                  "requirements: unknown class \"%s\" (app, client, node, manufacturer; "
                  "connections have no stake)",
                  cls);
      rc = IDX_ERR_CONFIG;
      break;
    }
    if (!json_is_object(r)) {
      idx_set_err(err, errlen, "requirements.%s must be an object", cls);
      rc = IDX_ERR_CONFIG;
      break;
    }
    json_t *one = json_object();
    if (!one || json_object_set_new(out, cls, one) != 0) {
      rc = IDX_ERR_NOMEM;
      break;
    }
    const char *key;
    json_t *v;
    json_object_foreach(r, key, v) {
      if (strncmp(key, "x-", 2) == 0)
        continue;
      bool amount = strcmp(key, "stake") == 0 || strcmp(key, "per_user") == 0;
      if (amount && !wei_string(v)) {
        idx_set_err(err, errlen,
                    "requirements.%s.%s must be an amount in wei as a decimal string "
                    "(e.g. \"10000000000000000000000\" for 10,000 DIMO)",
                    cls, key);
        rc = IDX_ERR_CONFIG;
      } else if (strcmp(key, "per_user") == 0 && strcmp(cls, "node") != 0) {
        idx_set_err(err, errlen, "requirements.%s.per_user: only nodes have users", cls);
        rc = IDX_ERR_CONFIG;
      } else if (strcmp(key, "understaked") == 0 && !json_is_boolean(v)) {
        idx_set_err(err, errlen, "requirements.%s.understaked must be true or false", cls);
        rc = IDX_ERR_CONFIG;
      } else if (strcmp(key, "note") == 0 && !json_is_string(v)) {
        idx_set_err(err, errlen, "requirements.%s.note must be a string", cls);
        rc = IDX_ERR_CONFIG;
      } else if (!amount && strcmp(key, "understaked") != 0 && strcmp(key, "note") != 0) {
        idx_set_err(err, errlen,
                    "requirements.%s: unknown key \"%s\" (stake, per_user, understaked, note)", cls,
                    key);
        rc = IDX_ERR_CONFIG;
      } else if (json_object_set(one, key, v) != 0) {
        rc = IDX_ERR_NOMEM;
      }
      if (rc)
        break;
    }
    if (!rc && !json_object_get(one, "stake")) {
      idx_set_err(err, errlen, "requirements.%s: \"stake\" is required", cls);
      rc = IDX_ERR_CONFIG;
    }
    if (rc)
      break;
  }
  if (!rc && !(net->requirements_json = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS)))
    rc = IDX_ERR_NOMEM;
  json_decref(out);
  return rc;
}

static int network_from_json(idx_network_t *net, json_t *root, const char *net_dir,
                             const char *abi_dir, char *err, size_t errlen) {
  if (!json_is_object(root)) {
    idx_set_err(err, errlen, "a network file is a JSON object");
    return IDX_ERR_CONFIG;
  }
  const char *key;
  json_t *v;
  json_object_foreach(root, key, v) {
    static const char *const known[] = {"name",     "chain_id",  "confirmations",
                                        "finality", "contracts", "requirements"};
    bool ok = strncmp(key, "x-", 2) == 0;
    for (size_t k = 0; k < IDX_ARRAY_LEN(known) && !ok; k++)
      ok = strcmp(key, known[k]) == 0;
    if (!ok) {
      idx_set_err(err, errlen, "unknown key \"%s\"", key);
      return IDX_ERR_CONFIG;
    }
  }
  const char *name = json_string_value(json_object_get(root, "name"));
  if (!(net->name = strdup(name ? name : "unnamed")))
    return IDX_ERR_NOMEM;
  if (!json_u64(json_object_get(root, "chain_id"), &net->chain_id) || net->chain_id == 0) {
    idx_set_err(err, errlen, "\"chain_id\" (a positive integer) is required");
    return IDX_ERR_CONFIG;
  }
  json_t *conf = json_object_get(root, "confirmations");
  if (conf) {
    if (!json_u64(conf, &net->confirmations)) {
      idx_set_err(err, errlen, "\"confirmations\" must be a non-negative integer");
      return IDX_ERR_CONFIG;
    }
    net->has_confirmations = true;
  }
  json_t *fin = json_object_get(root, "finality");
  if (fin) {
    if (!json_is_string(fin) || idx_finality_parse(json_string_value(fin), &net->finality)) {
      idx_set_err(err, errlen, "\"finality\" must be \"latest\", \"safe\" or \"finalized\"");
      return IDX_ERR_CONFIG;
    }
    net->has_finality = true;
  }
  json_t *reqs = json_object_get(root, "requirements");
  if (reqs) {
    int rc = requirements_from_json(net, reqs, err, errlen);
    if (rc)
      return rc;
  }
  json_t *contracts = json_object_get(root, "contracts");
  if (!json_is_array(contracts) || json_array_size(contracts) == 0) {
    idx_set_err(err, errlen, "\"contracts\" must be a non-empty array");
    return IDX_ERR_CONFIG;
  }
  if (json_array_size(contracts) > 64) {
    idx_set_err(err, errlen, "\"contracts\": at most 64 entries");
    return IDX_ERR_CONFIG;
  }
  net->contracts = calloc(json_array_size(contracts), sizeof *net->contracts);
  if (!net->contracts)
    return IDX_ERR_NOMEM;
  bool any_license = false;
  for (size_t i = 0; i < json_array_size(contracts); i++) {
    idx_contract_t *c = &net->contracts[i];
    net->ncontracts = i + 1;
    int rc = contract_from_json(c, json_array_get(contracts, i), i, net_dir, abi_dir, err, errlen);
    if (rc)
      return rc;
    for (size_t k = 0; k < i; k++) {
      if (memcmp(net->contracts[k].address.b, c->address.b, 20) == 0) {
        idx_set_err(err, errlen, "contracts[%zu]: address listed twice", i);
        return IDX_ERR_CONFIG;
      }
    }
    any_license |= c->license_class != IDX_CLASS_NONE;
  }
  if (!any_license) {
    idx_set_err(err, errlen, "\"contracts\" needs at least one license contract");
    return IDX_ERR_CONFIG;
  }
  return 0;
}

int idx_network_load(idx_network_t *net, const char *name_or_path, const char *abi_dir, char *err,
                     size_t errlen) {
  memset(net, 0, sizeof *net);
  char path[4096];
  if (looks_like_path(name_or_path)) {
    snprintf(path, sizeof path, "%s", name_or_path);
  } else if (valid_preset_name(name_or_path)) {
    snprintf(path, sizeof path, "%s/networks/%s.json", abi_dir, name_or_path);
  } else {
    idx_set_err(err, errlen, "--network: \"%s\" is neither a preset name nor a .json path",
                name_or_path);
    return IDX_ERR_CONFIG;
  }
  json_error_t jerr;
  json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
  if (!root) {
    if (!file_exists(path) && !looks_like_path(name_or_path))
      idx_set_err(err, errlen, "network \"%s\": no preset %s", name_or_path, path);
    else
      idx_set_err(err, errlen, "%s: line %d: %s", path, jerr.line, jerr.text);
    return IDX_ERR_CONFIG;
  }
  char dir_copy[4096];
  snprintf(dir_copy, sizeof dir_copy, "%s", path);
  const char *net_dir = dirname(dir_copy);
  char inner[768];
  int rc = network_from_json(net, root, net_dir, abi_dir, inner, sizeof inner);
  json_decref(root);
  if (rc == 0 && !(net->path = strdup(path)))
    rc = IDX_ERR_NOMEM;
  if (rc) {
    if (rc != IDX_ERR_NOMEM)
      idx_set_err(err, errlen, "%s: %s", path, inner);
    else
      idx_set_err(err, errlen, "%s: out of memory", path);
    idx_network_free(net);
  }
  return rc;
}

const idx_contract_t *idx_network_contract(const idx_network_t *net, const idx_addr_t *address) {
  for (size_t i = 0; i < net->ncontracts; i++) {
    if (memcmp(net->contracts[i].address.b, address->b, 20) == 0)
      return &net->contracts[i];
  }
  return NULL;
}

uint64_t idx_network_start_block(const idx_network_t *net) {
  /* The token matters only for transfers out of license contracts, so its
   * own (older) deployment block does not move the start. */
  uint64_t lo = UINT64_MAX;
  for (size_t i = 0; i < net->ncontracts; i++) {
    if (net->contracts[i].role != IDX_ROLE_DIMO_TOKEN && net->contracts[i].start_block < lo)
      lo = net->contracts[i].start_block;
  }
  return lo == UINT64_MAX ? 0 : lo;
}
