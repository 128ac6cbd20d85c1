/* config.c: the option table and its parser (see config.h). */
#include "common.h"

#include "config.h"
#include "rpc.h"
#include "web.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef IDX_DEFAULT_ABI_DIR
#define IDX_DEFAULT_ABI_DIR "abi"
#endif
#ifndef IDX_DEFAULT_SCHEMA_DIR
#define IDX_DEFAULT_SCHEMA_DIR "schema"
#endif

typedef enum opt_kind_e {
  OPT_STRING,
  OPT_STRING_LIST, /* repeatable; the environment form is comma-separated */
  OPT_U64,
  OPT_BLOCK_OR_HEAD,
  OPT_FINALITY,
  OPT_LOG_LEVEL,
  OPT_LOG_FORMAT,
  OPT_FLAG,
} opt_kind_t;

typedef struct opt_s {
  const char *flag;
  const char *env;
  opt_kind_t kind;
  size_t offset;
  size_t has_offset; /* offset of a bool "was set", or SIZE_MAX */
  unsigned commands;
  const char *defval; /* for help; NULL = none */
  const char *help;
} opt_t;

#define OFF(field) offsetof(idx_config_t, field)
#define NO_HAS SIZE_MAX
#define ALL_CHAIN (IDX_CMD_RUN | IDX_CMD_SYNC | IDX_CMD_STATUS)
#define ALL_DB                                                                                     \
  (IDX_CMD_RUN | IDX_CMD_SYNC | IDX_CMD_STATUS | IDX_CMD_MIGRATE | IDX_CMD_LICENSE |               \
   IDX_CMD_VERIFY | IDX_CMD_ACCESS | IDX_CMD_REDERIVE | IDX_CMD_SERVE | IDX_CMD_AUDIT)

static const opt_t options[] = {
    {"--network", "DIMO_NETWORK", OPT_STRING, OFF(network), NO_HAS, ALL_DB, "polygon",
     "preset name (polygon, amoy: abi/networks/NAME.json) or a network file path"},
    {"--rpc", "DIMO_RPC", OPT_STRING_LIST, OFF(rpc), NO_HAS, ALL_CHAIN, NULL,
     "JSON-RPC endpoint URL; repeat for failover (env: comma-separated)"},
    {"--db", "DATABASE_URL", OPT_STRING, OFF(db), NO_HAS, ALL_DB, NULL,
     "PostgreSQL conninfo or URI (env also DIMO_DB)"},
    {"--from", "DIMO_FROM", OPT_U64, OFF(from_block), OFF(has_from), IDX_CMD_RUN | IDX_CMD_SYNC,
     NULL, "first block to index on an empty database (default: the network's start_block)"},
    {"--to", NULL, OPT_BLOCK_OR_HEAD, OFF(to_block), OFF(has_to), IDX_CMD_SYNC, "head",
     "sync: last block to index, or 'head' (the confirmed head when sync starts)"},
    {"--confirmations", "DIMO_CONFIRMATIONS", OPT_U64, OFF(confirmations), OFF(has_confirmations),
     IDX_CMD_RUN | IDX_CMD_SYNC | IDX_CMD_STATUS, "network file's, else 200 on chain 137, else 0",
     "blocks to stay behind the head (0 allowed: reorgs are rolled back)"},
    {"--finality", "DIMO_FINALITY", OPT_FINALITY, OFF(finality), OFF(has_finality),
     IDX_CMD_RUN | IDX_CMD_SYNC, "network file's, else latest",
     "latest (head minus confirmations), safe or finalized (the node's block tags also bound "
     "the target)"},
    {"--max-retries", "DIMO_MAX_RETRIES", OPT_U64, OFF(max_retries), NO_HAS, IDX_CMD_SYNC, "10",
     "sync: consecutive failures of one cause (database, JSON-RPC, inconsistent answers) before "
     "it gives up (exit 1); run retries forever"},
    {"--poll-interval", "DIMO_POLL_INTERVAL_MS", OPT_U64, OFF(poll_ms), NO_HAS, IDX_CMD_RUN, "2000",
     "milliseconds between head polls when caught up"},
    {"--initial-range", "DIMO_INITIAL_RANGE", OPT_U64, OFF(initial_range), NO_HAS,
     IDX_CMD_RUN | IDX_CMD_SYNC, "10", "blocks per eth_getLogs to start with (adapts)"},
    {"--max-range", "DIMO_MAX_RANGE", OPT_U64, OFF(max_range), NO_HAS, IDX_CMD_RUN | IDX_CMD_SYNC,
     "100000", "largest eth_getLogs block range ever asked for"},
    {"--max-inflight", "DIMO_MAX_INFLIGHT", OPT_U64, OFF(max_inflight), NO_HAS,
     IDX_CMD_RUN | IDX_CMD_SYNC, "8",
     "backfill ranges in flight at most, 1..64 (adapts below it: halves on HTTP 429, timeouts "
     "and provider limits; 1 asks one range ahead of the one being written)"},
    {"--max-held-bytes", "DIMO_MAX_HELD_BYTES", OPT_U64, OFF(max_held_bytes), NO_HAS,
     IDX_CMD_RUN | IDX_CMD_SYNC, "4194304",
     "bytes of answers (as received) held for ranges not yet written; when full, fetching "
     "waits"},
    {"--discover-start", "DIMO_DISCOVER_START", OPT_STRING, OFF(discover_start), NO_HAS,
     IDX_CMD_RUN | IDX_CMD_SYNC, "on",
     "on an empty database without --from, find where contracts with start_block 0 were "
     "deployed (eth_getCode bisection) and start there: on or off"},
    {"--rpc-timeout", "DIMO_RPC_TIMEOUT_MS", OPT_U64, OFF(rpc_timeout_ms), NO_HAS, ALL_CHAIN,
     "30000", "milliseconds per JSON-RPC HTTP exchange"},
    {"--rpc-max-response", "DIMO_RPC_MAX_RESPONSE", OPT_U64, OFF(rpc_max_response), NO_HAS,
     ALL_CHAIN, "8388608", "largest JSON-RPC answer in bytes (larger: the range shrinks)"},
    {"--abi-dir", "DIMO_ABI_DIR", OPT_STRING, OFF(abi_dir), NO_HAS, ALL_DB, IDX_DEFAULT_ABI_DIR,
     "folder of ABI files and networks/"},
    {"--schema-dir", "DIMO_SCHEMA_DIR", OPT_STRING, OFF(schema_dir), NO_HAS, ALL_DB,
     IDX_DEFAULT_SCHEMA_DIR, "folder of numbered SQL migrations"},
    {"--log-level", "DIMO_LOG_LEVEL", OPT_LOG_LEVEL, OFF(log_level), NO_HAS, ALL_DB, "info",
     "debug, info, warn or error"},
    {"--log-format", "DIMO_LOG_FORMAT", OPT_LOG_FORMAT, OFF(log_format), NO_HAS, ALL_DB, "text",
     "text or json (one object per line)"},
    {"--http", "DIMO_HTTP", OPT_STRING, OFF(http), NO_HAS, IDX_CMD_RUN | IDX_CMD_SERVE,
     "127.0.0.1:8080", "HTTP API listen address (IP:PORT; loopback by default), or 'off'"},
    {"--http-max-conns", "DIMO_HTTP_MAX_CONNS", OPT_U64, OFF(http_max_conns), NO_HAS,
     IDX_CMD_RUN | IDX_CMD_SERVE, "1024", "most concurrent HTTP connections (more are refused)"},
    {"--http-timeout", "DIMO_HTTP_TIMEOUT_MS", OPT_U64, OFF(http_timeout_ms), NO_HAS,
     IDX_CMD_RUN | IDX_CMD_SERVE, "10000", "milliseconds a client has to send a whole request"},
    {"--http-max-output", "DIMO_HTTP_MAX_OUTPUT", OPT_U64, OFF(http_max_output), NO_HAS,
     IDX_CMD_RUN | IDX_CMD_SERVE, "67108864",
     "bytes of requests and answers held for all HTTP clients together; past it the "
     "connection holding the most is closed"},
    {"--http-conn-output", "DIMO_HTTP_CONN_OUTPUT", OPT_U64, OFF(http_conn_output), NO_HAS,
     IDX_CMD_RUN | IDX_CMD_SERVE, "1048576",
     "bytes of answers one HTTP connection may leave unread before its next request waits"},
    {"--ready-lag", "DIMO_READY_LAG", OPT_U64, OFF(ready_lag), NO_HAS, IDX_CMD_RUN | IDX_CMD_SERVE,
     "10",
     "/readyz answers 503 while the index is more than this many blocks behind its target "
     "(serve: the model behind the writer's cursor, as recorded in the database)"},
    {"--db-pool", "DIMO_DB_POOL", OPT_U64, OFF(db_pool), NO_HAS, IDX_CMD_RUN | IDX_CMD_SERVE, "4",
     "database connections the HTTP API reads through"},
    /* serve: its own options (the others are run's rows, marked for serve too). */
    {"--model-poll", "DIMO_MODEL_POLL_MS", OPT_U64, OFF(model_poll_ms), NO_HAS, IDX_CMD_SERVE,
     "250", "milliseconds between polls of the model cursor (a move empties the answer cache)"},
    {"--ready-replay-age", "DIMO_READY_REPLAY_AGE_MS", OPT_U64, OFF(ready_replay_age_ms), NO_HAS,
     IDX_CMD_SERVE, "30000",
     "hot standby: /readyz answers 503 while its last replayed transaction is older than this "
     "(milliseconds) and WAL is not caught up"},
    {"--http-ui", "DIMO_HTTP_UI", OPT_STRING, OFF(http_ui), NO_HAS, IDX_CMD_RUN | IDX_CMD_SERVE,
     "on", "serve the page for auditors at / on the API's listener: on or off"},
    {"--explorer-url", "DIMO_EXPLORER_URL", OPT_STRING, OFF(explorer_url), NO_HAS,
     IDX_CMD_RUN | IDX_CMD_SERVE, NULL,
     "the page links transactions to URL/tx/HASH (http:// or https://; default: no links)"},
    {"--class", NULL, OPT_STRING, OFF(license_class), NO_HAS, IDX_CMD_LICENSE, NULL,
     "license class to look in: app, client, manufacturer, node or connection"},
    {"--at-block", NULL, OPT_U64, OFF(at_block), OFF(has_at_block),
     IDX_CMD_LICENSE | IDX_CMD_VERIFY | IDX_CMD_ACCESS | IDX_CMD_AUDIT, NULL,
     "answer as of this block (default: last indexed)"},
    {"--at-time", NULL, OPT_STRING, OFF(at_time), NO_HAS, IDX_CMD_ACCESS, NULL,
     "judge expiries at this time: YYYY-MM-DDTHH:MM:SSZ or Unix seconds (default: the "
     "--at-block block's time, else now)"},
    {"--json", NULL, OPT_FLAG, OFF(json), NO_HAS,
     IDX_CMD_LICENSE | IDX_CMD_VERIFY | IDX_CMD_ACCESS | IDX_CMD_AUDIT, NULL,
     "print the answer as JSON (license: shared/license-json.md)"},
    {"--client-id", NULL, OPT_STRING, OFF(client_id), NO_HAS, IDX_CMD_VERIFY | IDX_CMD_ACCESS, NULL,
     "the app's client id (0x address)"},
    {"--asset", NULL, OPT_STRING, OFF(asset), NO_HAS, IDX_CMD_ACCESS | IDX_CMD_VERIFY, NULL,
     "the vehicle NFT contract (0x address)"},
    {"--token-id", NULL, OPT_STRING, OFF(token_id), NO_HAS, IDX_CMD_ACCESS | IDX_CMD_VERIFY, NULL,
     "the vehicle's token id (decimal)"},
    {"--permission", NULL, OPT_STRING, OFF(permission), NO_HAS, IDX_CMD_ACCESS | IDX_CMD_VERIFY,
     NULL, "the SACD permission index (0..127)"},
    {"--signer", NULL, OPT_STRING, OFF(signer), NO_HAS, IDX_CMD_ACCESS, NULL,
     "also check this signer of the app (0x address)"},
    {"--grantor", NULL, OPT_STRING, OFF(grantor), NO_HAS, IDX_CMD_ACCESS, NULL,
     "an account grant's grantor (0x address), instead of --asset and --token-id"},
    {"--message", NULL, OPT_STRING, OFF(message), NO_HAS, IDX_CMD_VERIFY, NULL,
     "the signed message, as signed (personal_sign / EIP-191)"},
    {"--signature", NULL, OPT_STRING, OFF(signature), NO_HAS, IDX_CMD_VERIFY, NULL,
     "65-byte signature as 0x hex (v = 27/28 or 0/1)"},
    {"--help", NULL, OPT_FLAG, OFF(help), NO_HAS, ALL_DB, NULL, "this help"},
};

const char *idx_finality_name(idx_finality_t f) {
  static const char *const names[] = {"latest", "safe", "finalized"};
  return (size_t)f < IDX_ARRAY_LEN(names) ? names[f] : "?";
}

bool idx_parse_u64(const char *s, uint64_t *out) {
  /* Digits only: strtoull would skip leading spaces and wrap " -1" to
   * 2^64 - 1. */
  if (!s || *s < '0' || *s > '9')
    return false;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end)
    return false;
  *out = (uint64_t)v;
  return true;
}

static int set_value(idx_config_t *cfg, const opt_t *o, const char *value, const char *source,
                     char *err, size_t errlen) {
  char *base = (char *)cfg;
  bool ok = true;
  switch (o->kind) {
  case OPT_STRING:
    ok = *value != '\0';
    if (ok)
      *(const char **)(void *)(base + o->offset) = value;
    break;
  case OPT_STRING_LIST:
    if (!*value) {
      ok = false;
    } else if (cfg->nrpc == IDX_CONFIG_MAX_RPC) {
      idx_set_err(err, errlen, "%s: at most %d URLs", source, IDX_CONFIG_MAX_RPC);
      return IDX_ERR_CONFIG;
    } else {
      cfg->rpc[cfg->nrpc++] = value;
    }
    break;
  case OPT_U64:
    ok = idx_parse_u64(value, (uint64_t *)(void *)(base + o->offset));
    break;
  case OPT_BLOCK_OR_HEAD:
    if (strcmp(value, "head") == 0)
      cfg->to_head = true;
    else
      ok = idx_parse_u64(value, &cfg->to_block);
    break;
  case OPT_FINALITY:
    ok = idx_finality_parse(value, &cfg->finality) == 0;
    break;
  case OPT_LOG_LEVEL:
    ok = idx_log_parse_level(value, &cfg->log_level) == 0;
    break;
  case OPT_LOG_FORMAT:
    ok = idx_log_parse_format(value, &cfg->log_format) == 0;
    break;
  case OPT_FLAG:
    *(bool *)(void *)(base + o->offset) = true;
    break;
  }
  if (!ok) {
    idx_set_err(err, errlen, "%s: bad value \"%s\" (%s)", source, value, o->help);
    return IDX_ERR_CONFIG;
  }
  if (o->has_offset != NO_HAS)
    *(bool *)(void *)(base + o->has_offset) = true;
  return 0;
}

/* Splits a comma-separated environment list into the rpc array; the
 * split copy is owned by cfg (idx_config_free). */
static int set_env_list(idx_config_t *cfg, const opt_t *o, const char *value, char *err,
                        size_t errlen) {
  char *copy = strdup(value);
  if (!copy)
    return IDX_ERR_NOMEM;
  free(cfg->env_copy);
  cfg->env_copy = copy;
  char *save = NULL;
  for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    while (*tok == ' ')
      tok++;
    int rc = set_value(cfg, o, tok, o->env, err, errlen);
    if (rc)
      return rc;
  }
  return 0;
}

void idx_config_free(idx_config_t *cfg) {
  free(cfg->env_copy);
  cfg->env_copy = NULL;
  cfg->nrpc = 0;
}

static int parse_all(idx_config_t *cfg, unsigned command, int argc, char **argv, char *err,
                     size_t errlen) {
  cfg->network = "polygon";
  cfg->finality = IDX_FINALITY_LATEST;
  cfg->max_retries = 10;
  cfg->poll_ms = 2000;
  /* Small: a dense chain's first answer must not be a hundred times what
   * memory is sized for (#16 item 3); a sparse one's grows eight times a
   * step, as fast as from 100. */
  cfg->initial_range = 10;
  cfg->max_range = 100000;
  cfg->max_inflight = 8;
  cfg->max_held_bytes = (uint64_t)4 << 20;
  cfg->discover_start = "on";
  cfg->rpc_timeout_ms = 30000;
  /* Several ranges are in flight, each answer buffered whole and parsed
   * (about four times its size): 8 MiB keeps a dense backfill under
   * 64 MiB (#16 item 3); larger answers shrink the range. */
  cfg->rpc_max_response = (uint64_t)8 << 20;
  cfg->abi_dir = IDX_DEFAULT_ABI_DIR;
  cfg->schema_dir = IDX_DEFAULT_SCHEMA_DIR;
  cfg->log_level = IDX_LOG_INFO;
  cfg->log_format = IDX_LOG_TEXT;
  cfg->http = "127.0.0.1:8080";
  cfg->http_max_conns = 1024;
  cfg->http_timeout_ms = 10000;
  cfg->ready_lag = 10;
  cfg->db_pool = 4;
  cfg->model_poll_ms = 250;
  cfg->ready_replay_age_ms = 30000;
  cfg->http_ui = "on";

  for (size_t i = 0; i < IDX_ARRAY_LEN(options); i++) {
    const opt_t *o = &options[i];
    if (!(o->commands & command) || !o->env)
      continue;
    const char *v = getenv(o->env);
    if (!v && o->offset == OFF(db))
      v = getenv("DIMO_DB");
    if (!v || !*v)
      continue;
    int rc = o->kind == OPT_STRING_LIST ? set_env_list(cfg, o, v, err, errlen)
                                        : set_value(cfg, o, v, o->env, err, errlen);
    if (rc)
      return rc;
  }

  bool rpc_from_flags = false, only_positional = false;
  int nargs = 0;
  for (int i = 1; i < argc; i++) {
    char *arg = argv[i];
    if (only_positional || strncmp(arg, "--", 2) != 0) {
      argv[1 + nargs++] = arg; /* compacts in place: 1 + nargs <= i */
      continue;
    }
    if (strcmp(arg, "--") == 0) {
      only_positional = true;
      continue;
    }
    char *eq = strchr(arg, '=');
    size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
    const opt_t *o = NULL;
    for (size_t k = 0; k < IDX_ARRAY_LEN(options) && !o; k++) {
      if ((options[k].commands & command) && strlen(options[k].flag) == name_len &&
          strncmp(options[k].flag, arg, name_len) == 0)
        o = &options[k];
    }
    if (!o) {
      idx_set_err(err, errlen, "unknown option \"%.*s\" (see %s --help)", (int)name_len, arg,
                  argv[0]);
      return IDX_ERR_CONFIG;
    }
    const char *value = NULL;
    if (o->kind == OPT_FLAG) {
      if (eq) {
        idx_set_err(err, errlen, "%s takes no value", o->flag);
        return IDX_ERR_CONFIG;
      }
    } else if (eq) {
      value = eq + 1;
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      idx_set_err(err, errlen, "%s needs a value", o->flag);
      return IDX_ERR_CONFIG;
    }
    if (o->kind == OPT_STRING_LIST && !rpc_from_flags) {
      cfg->nrpc = 0; /* flags replace the environment's list */
      rpc_from_flags = true;
    }
    int rc = set_value(cfg, o, value ? value : "", o->flag, err, errlen);
    if (rc)
      return rc;
  }
  cfg->args = argv + 1;
  cfg->nargs = nargs;
  if (cfg->max_range == 0 || cfg->initial_range == 0) {
    idx_set_err(err, errlen, "--initial-range and --max-range must be at least 1");
    return IDX_ERR_CONFIG;
  }
  /* Block numbers are bigint in the store. */
  if ((cfg->has_from && cfg->from_block > (uint64_t)INT64_MAX) ||
      (cfg->has_to && !cfg->to_head && cfg->to_block > (uint64_t)INT64_MAX)) {
    idx_set_err(err, errlen, "--from and --to must be at most %lld", (long long)INT64_MAX);
    return IDX_ERR_CONFIG;
  }
  if (cfg->has_from && cfg->has_to && !cfg->to_head && cfg->from_block > cfg->to_block) {
    idx_set_err(err, errlen, "--from %llu is above --to %llu: nothing to index",
                (unsigned long long)cfg->from_block, (unsigned long long)cfg->to_block);
    return IDX_ERR_CONFIG;
  }
  if (strcmp(cfg->discover_start, "on") != 0 && strcmp(cfg->discover_start, "off") != 0) {
    idx_set_err(err, errlen, "--discover-start must be on or off (got \"%s\")",
                cfg->discover_start);
    return IDX_ERR_CONFIG;
  }
  if (cfg->max_inflight == 0 || cfg->max_inflight > 64) {
    idx_set_err(err, errlen, "--max-inflight must be 1..64");
    return IDX_ERR_CONFIG;
  }
  if (strcmp(cfg->http_ui, "on") != 0 && strcmp(cfg->http_ui, "off") != 0) {
    idx_set_err(err, errlen, "--http-ui must be on or off (got \"%s\")", cfg->http_ui);
    return IDX_ERR_CONFIG;
  }
  if (cfg->explorer_url && !idx_web_explorer_url_ok(cfg->explorer_url)) {
    idx_set_err(err, errlen,
                "--explorer-url must be http:// or https:// and up to 200 printable characters "
                "without spaces or quotes (got \"%.200s\")",
                cfg->explorer_url);
    return IDX_ERR_CONFIG;
  }
  if (cfg->poll_ms == 0 || cfg->poll_ms > 3600000) {
    idx_set_err(err, errlen, "--poll-interval must be 1..3600000 ms");
    return IDX_ERR_CONFIG;
  }
  /* The JSON-RPC client's own checks (idx_rpc_new) could only say
   * "invalid argument": each is said here with its flag. */
  if (cfg->rpc_timeout_ms == 0 || cfg->rpc_timeout_ms > 3600000) {
    idx_set_err(err, errlen, "--rpc-timeout must be 1..3600000 ms (got %llu)",
                (unsigned long long)cfg->rpc_timeout_ms);
    return IDX_ERR_CONFIG;
  }
  if (cfg->rpc_max_response == 0 || cfg->rpc_max_response > ((uint64_t)1 << 30)) {
    idx_set_err(err, errlen, "--rpc-max-response must be 1..1073741824 bytes (got %llu)",
                (unsigned long long)cfg->rpc_max_response);
    return IDX_ERR_CONFIG;
  }
  for (size_t i = 0; i < cfg->nrpc; i++) {
    char why[300];
    int rc = idx_rpc_url_check(cfg->rpc[i], why, sizeof why);
    if (rc == IDX_ERR_CONFIG)
      idx_set_err(err, errlen, "--rpc: %s", why);
    if (rc)
      return rc;
  }
  return 0;
}

int idx_config_parse(idx_config_t *cfg, unsigned command, int argc, char **argv, char *err,
                     size_t errlen) {
  memset(cfg, 0, sizeof *cfg);
  int rc = parse_all(cfg, command, argc, argv, err, errlen);
  if (rc)
    idx_config_free(cfg);
  return rc;
}

void idx_config_usage(unsigned command, const char *synopsis) {
  printf("%s\n\noptions:\n", synopsis);
  for (size_t i = 0; i < IDX_ARRAY_LEN(options); i++) {
    const opt_t *o = &options[i];
    if (!(o->commands & command))
      continue;
    printf("  %-20s %s\n", o->flag, o->help);
    if (o->env)
      printf("  %-20s env %s\n", "", o->env);
    if (o->defval)
      printf("  %-20s default: %s\n", "", o->defval);
  }
}

uint64_t idx_config_confirmations(const idx_config_t *cfg, bool net_has, uint64_t net_value,
                                  uint64_t chain_id) {
  if (cfg->has_confirmations)
    return cfg->confirmations;
  if (net_has)
    return net_value;
  return chain_id == 137 ? 200 : 0;
}

idx_finality_t idx_config_finality(const idx_config_t *cfg, bool net_has,
                                   idx_finality_t net_value) {
  if (cfg->has_finality)
    return cfg->finality;
  return net_has ? net_value : IDX_FINALITY_LATEST;
}

int idx_finality_parse(const char *s, idx_finality_t *out) {
  for (int i = IDX_FINALITY_LATEST; i <= IDX_FINALITY_FINALIZED; i++) {
    if (strcmp(s, idx_finality_name((idx_finality_t)i)) == 0) {
      *out = (idx_finality_t)i;
      return 0;
    }
  }
  return IDX_ERR_CONFIG;
}
