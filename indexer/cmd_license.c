/* cmd_license.c: `dimo-indexer license KEY [--class C] [--at-block N]
 * [--json]`: the license documents (shared/license-json.md) of the
 * licenses a key matches, as the database's dimo_license_doc renders them,
 * or a readable summary of each. Short-lived; reads the database only. */
#include "common.h"

#include "cli.h"
#include "config.h"
#include "log.h"
#include "network.h"
#include "store.h"

#include <jansson.h>

#include <stdio.h>
#include <string.h>

static const char synopsis[] =
    "usage: dimo-indexer license KEY [--class app|node|client] [--at-block N] [--json]\n"
    "                            --db CONNINFO [--network N]\n"
    "\n"
    "Prints the license(s) KEY matches: KEY is a token id, a 0x address (an app's\n"
    "client id, or an owner) or an alias. As of the last indexed block, or of\n"
    "--at-block N. --json prints the license document (a JSON array of them when\n"
    "several match), else a summary: status, owner, stake, trust ratio, signers\n"
    "and their validity, slashes. Exit status 1 when nothing matches.";

/* Prints a string from the document, control characters escaped (aliases
 * and URIs come from the chain). */
static void put_text(const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '\t')
      fputs("\\t", stdout);
    else if (*p == '\n')
      fputs("\\n", stdout);
    else if (*p < 0x20 || *p == 0x7f)
      printf("\\x%02x", *p);
    else
      putchar(*p);
  }
}

static const char *str_or(const json_t *obj, const char *key, const char *none) {
  const char *s = json_string_value(json_object_get(obj, key));
  return s ? s : none;
}

static long long int_of(const json_t *obj, const char *key) {
  return (long long)json_integer_value(json_object_get(obj, key));
}

/* "15000 DIMO (15000000000000000000000 wei)" */
static void put_amount(const char *label, const json_t *doc, const char *wei_key,
                       const char *dimo_key) {
  const char *wei = str_or(doc, wei_key, NULL);
  const char *dimo = str_or(doc, dimo_key, NULL);
  printf("  %-15s", label);
  if (!wei)
    printf("-\n");
  else if (dimo)
    printf("%s DIMO (%s wei)\n", dimo, wei);
  else
    printf("%s wei\n", wei);
}

static void put_event(const char *label, const json_t *ev) {
  printf("  %-15s", label);
  if (!json_is_object(ev)) {
    printf("no\n");
    return;
  }
  printf("block %lld, %s, tx %s\n", int_of(ev, "block"), str_or(ev, "time", "?"),
         str_or(ev, "tx", "?"));
}

void idx_cmd_put_signer(const char *address, bool valid, const char *enabled_at,
                        const char *expires_at) {
  printf("%s  %-8s", address, valid ? "valid" : enabled_at ? "expired" : "disabled");
  if (enabled_at)
    printf(" enabled %s, expires %s", enabled_at, expires_at);
  printf("\n");
}

static void print_summary(const json_t *doc) {
  printf("%s license %s #%s (as of block %lld, %s)\n", str_or(doc, "class", "?"),
         str_or(doc, "contract", "?"), str_or(doc, "token_id", "?"), int_of(doc, "as_of_block"),
         str_or(doc, "as_of_time", "time unknown"));
  printf("  %-15s%s\n", "status:", str_or(doc, "status", "?"));
  printf("  %-15s%s\n", "owner:", str_or(doc, "owner", "-"));
  if (json_is_string(json_object_get(doc, "client_id")))
    printf("  %-15s%s\n", "client id:", str_or(doc, "client_id", "-"));
  printf("  %-15s", "alias:");
  put_text(str_or(doc, "alias", "-"));
  printf("\n  %-15s%s\n", "frozen:", json_is_true(json_object_get(doc, "frozen")) ? "yes" : "no");
  put_amount("staked:", doc, "staked", "staked_dimo");
  put_amount("required:", doc, "required_stake", "required_stake_dimo");
  if (json_is_string(json_object_get(doc, "minimum_stake")))
    printf("  %-15s%s wei (contract minimum)\n", "minimum:", str_or(doc, "minimum_stake", "-"));
  printf("  %-15s%s\n", "trust ratio:", str_or(doc, "trust_ratio", "-"));
  put_event("issued:", json_object_get(doc, "issued"));
  put_event("revoked:", json_object_get(doc, "revoked"));

  const json_t *signers = json_object_get(doc, "signers");
  size_t i;
  const json_t *v;
  if (json_array_size(signers)) {
    printf("  signers (%zu):\n", json_array_size(signers));
    json_array_foreach(signers, i, v) {
      printf("    ");
      idx_cmd_put_signer(str_or(v, "address", "?"), json_is_true(json_object_get(v, "valid")),
                         str_or(v, "enabled_at", NULL), str_or(v, "expires_at", "?"));
    }
  }
  const json_t *uris = json_object_get(doc, "redirect_uris");
  if (json_array_size(uris)) {
    printf("  redirect URIs (%zu):\n", json_array_size(uris));
    json_array_foreach(uris, i, v) {
      printf("    %-8s ", json_is_true(json_object_get(v, "enabled")) ? "enabled" : "disabled");
      put_text(str_or(v, "uri", "?"));
      printf("\n");
    }
  }
  const json_t *history = json_object_get(doc, "stake_history");
  if (json_array_size(history)) {
    printf("  stake history (%zu):\n", json_array_size(history));
    json_array_foreach(history, i, v) {
      printf("    block %-9lld %-20s %s wei, balance %s\n", int_of(v, "block"),
             str_or(v, "kind", "?"), str_or(v, "amount", "?"), str_or(v, "balance_after", "?"));
    }
  }
  const json_t *slashes = json_object_get(doc, "slashes");
  printf("  slashes (%zu)%s\n", json_array_size(slashes), json_array_size(slashes) ? ":" : "");
  json_array_foreach(slashes, i, v) {
    printf("    block %-9lld %s wei -> %s, tx %s", int_of(v, "block"), str_or(v, "amount", "?"),
           str_or(v, "destination", "unknown"), str_or(v, "tx", "?"));
    const json_t *by = json_object_get(v, "by"); /* #25: the executor */
    if (json_is_string(json_object_get(by, "address")))
      printf(", by %s (%s)", str_or(by, "address", "?"), str_or(by, "role", "?"));
    else if (json_is_object(by))
      printf(", %s", str_or(by, "attribution", "?"));
    if (json_is_string(json_object_get(by, "via")))
      printf(" via %s", str_or(by, "via", "?"));
    printf("\n");
  }
}

int idx_cmd_license(int argc, char **argv) {
  idx_config_t cfg;
  char err[1024];
  if (idx_config_parse(&cfg, IDX_CMD_LICENSE, argc, argv, err, sizeof err)) {
    fprintf(stderr, "dimo-indexer license: %s\n", err);
    return IDX_EXIT_USAGE;
  }
  if (cfg.help) {
    idx_config_usage(IDX_CMD_LICENSE, synopsis);
    idx_config_free(&cfg);
    return IDX_EXIT_OK;
  }
  if (cfg.nargs != 1) {
    fprintf(stderr, "dimo-indexer license: %s (see --help)\n",
            cfg.nargs ? "give exactly one KEY"
                      : "no KEY: give a token id, a 0x address or an alias");
    idx_config_free(&cfg);
    return IDX_EXIT_USAGE;
  }
  const char *cls = cfg.license_class;
  if (cls && strcmp(cls, "app") != 0 && strcmp(cls, "node") != 0 && strcmp(cls, "client") != 0) {
    fprintf(stderr, "dimo-indexer license: --class must be app, node or client, not \"%s\"\n", cls);
    idx_config_free(&cfg);
    return IDX_EXIT_USAGE;
  }
  idx_log_setup(cfg.log_level, cfg.log_format);
  idx_network_t net;
  int code = idx_cmd_chain_setup(&cfg, &net, false);
  if (code) {
    idx_config_free(&cfg);
    return code;
  }

  const char *key = cfg.args[0];
  idx_store_t *store = NULL;
  char *json = NULL;
  size_t count = 0;
  int rc = idx_store_open(&store, cfg.db, err, sizeof err);
  if (rc == 0)
    rc = idx_store_license_docs(store, net.chain_id, cls, key, cfg.has_at_block, cfg.at_block,
                                &json, &count, err, sizeof err);
  idx_store_close(store);

  code = IDX_EXIT_OK;
  if (rc) {
    fprintf(stderr, "dimo-indexer license: %s\n", err);
    code = rc == IDX_ERR_INVAL ? IDX_EXIT_USAGE : IDX_EXIT_FAIL;
  } else if (count == 0) {
    fprintf(stderr, "dimo-indexer license: no %s%slicense matches \"%s\"", cls ? cls : "",
            cls ? " " : "", key);
    if (cfg.has_at_block)
      fprintf(stderr, " at block %llu", (unsigned long long)cfg.at_block);
    fprintf(stderr, " on chain %llu\n", (unsigned long long)net.chain_id);
    code = IDX_EXIT_FAIL;
  } else if (cfg.json) {
    printf("%s\n", json);
  } else {
    json_error_t jerr;
    json_t *doc = json_loads(json, 0, &jerr);
    if (!doc) {
      fprintf(stderr, "dimo-indexer license: the database answered malformed JSON: %s\n",
              jerr.text);
      code = IDX_EXIT_FAIL;
    } else if (json_is_array(doc)) {
      size_t i;
      json_t *v;
      printf("%zu licenses match \"%s\"\n", json_array_size(doc), key);
      json_array_foreach(doc, i, v) {
        printf("\n");
        print_summary(v);
      }
    } else {
      print_summary(doc);
    }
    json_decref(doc);
  }
  free(json);
  idx_network_free(&net);
  idx_config_free(&cfg);
  return code;
}
