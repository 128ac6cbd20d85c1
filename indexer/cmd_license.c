/* cmd_license.c: `dimo-indexer license KEY [--class C] [--at-block N]
 * [--json]`: the license documents (shared/license-json.md) of the
 * licenses a key matches, as the database's dimo_license_doc renders them,
 * or a readable summary of each. Short-lived; reads the database only,
 * asking the license question of query.h. */
#include "common.h"

#include "cli.h"
#include "cmdutil.h"
#include "config.h"
#include "log.h"
#include "network.h"
#include "query.h"

#include <jansson.h>

#include <stdio.h>
#include <string.h>

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

static long long int_of(const json_t *obj, const char *key) {
  return (long long)json_integer_value(json_object_get(obj, key));
}

/* "15000 DIMO (15000000000000000000000 wei)" */
static void put_amount(const char *label, const json_t *doc, const char *wei_key,
                       const char *dimo_key) {
  const char *wei = idx_cmd_str_or(doc, wei_key, NULL);
  const char *dimo = idx_cmd_str_or(doc, dimo_key, NULL);
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
  printf("block %lld, %s, tx %s\n", int_of(ev, "block"), idx_cmd_str_or(ev, "time", "?"),
         idx_cmd_str_or(ev, "tx", "?"));
}

static void print_summary(const json_t *doc) {
  printf("%s license %s #%s (as of block %lld, %s)\n", idx_cmd_str_or(doc, "class", "?"),
         idx_cmd_str_or(doc, "contract", "?"), idx_cmd_str_or(doc, "token_id", "?"),
         int_of(doc, "as_of_block"), idx_cmd_str_or(doc, "as_of_time", "time unknown"));
  printf("  %-15s%s\n", "status:", idx_cmd_str_or(doc, "status", "?"));
  printf("  %-15s%s\n", "owner:", idx_cmd_str_or(doc, "owner", "-"));
  if (json_is_string(json_object_get(doc, "client_id")))
    printf("  %-15s%s\n", "client id:", idx_cmd_str_or(doc, "client_id", "-"));
  printf("  %-15s", "alias:");
  put_text(idx_cmd_str_or(doc, "alias", "-"));
  printf("\n  %-15s%s\n", "frozen:", json_is_true(json_object_get(doc, "frozen")) ? "yes" : "no");
  put_amount("staked:", doc, "staked", "staked_dimo");
  put_amount("required:", doc, "required_stake", "required_stake_dimo");
  if (json_is_string(json_object_get(doc, "minimum_stake")))
    printf("  %-15s%s wei (contract minimum)\n",
           "minimum:", idx_cmd_str_or(doc, "minimum_stake", "-"));
  printf("  %-15s%s\n", "trust ratio:", idx_cmd_str_or(doc, "trust_ratio", "-"));
  /* Nodes: users as of the block (their requirement grows with them) and
   * the URI; connections: type and the DIMO paid. */
  if (json_is_integer(json_object_get(doc, "users")))
    printf("  %-15s%lld\n", "users:", int_of(doc, "users"));
  if (json_is_string(json_object_get(doc, "uri"))) {
    printf("  %-15s", "uri:");
    put_text(idx_cmd_str_or(doc, "uri", "-"));
    printf("\n");
  }
  if (json_is_string(json_object_get(doc, "type_name"))) {
    printf("  %-15s", "type:");
    put_text(idx_cmd_str_or(doc, "type_name", "-"));
    printf("\n");
  }
  if (json_is_string(json_object_get(doc, "cost_paid")))
    printf("  %-15s%s wei\n", "cost paid:", idx_cmd_str_or(doc, "cost_paid", "-"));
  put_event("issued:", json_object_get(doc, "issued"));
  put_event("revoked:", json_object_get(doc, "revoked"));

  const json_t *signers = json_object_get(doc, "signers");
  size_t i;
  const json_t *v;
  if (json_array_size(signers)) {
    printf("  signers (%zu):\n", json_array_size(signers));
    json_array_foreach(signers, i, v) {
      printf("    ");
      idx_cmd_put_signer(
          idx_cmd_str_or(v, "address", "?"), json_is_true(json_object_get(v, "valid")),
          idx_cmd_str_or(v, "enabled_at", NULL), idx_cmd_str_or(v, "expires_at", "?"));
    }
  }
  const json_t *uris = json_object_get(doc, "redirect_uris");
  if (json_array_size(uris)) {
    printf("  redirect URIs (%zu):\n", json_array_size(uris));
    json_array_foreach(uris, i, v) {
      printf("    %-8s ", json_is_true(json_object_get(v, "enabled")) ? "enabled" : "disabled");
      put_text(idx_cmd_str_or(v, "uri", "?"));
      printf("\n");
    }
  }
  const json_t *history = json_object_get(doc, "stake_history");
  if (json_array_size(history)) {
    printf("  stake history (%zu):\n", json_array_size(history));
    json_array_foreach(history, i, v) {
      printf("    block %-9lld %-20s %s wei, balance %s\n", int_of(v, "block"),
             idx_cmd_str_or(v, "kind", "?"), idx_cmd_str_or(v, "amount", "?"),
             idx_cmd_str_or(v, "balance_after", "?"));
    }
  }
  /* Only classes with a slash path have `slashes` (not manufacturers,
   * nodes, connections): no line suggests one for the others. */
  const json_t *slashes = json_object_get(doc, "slashes");
  if (!json_is_array(slashes))
    return;
  printf("  slashes (%zu)%s\n", json_array_size(slashes), json_array_size(slashes) ? ":" : "");
  json_array_foreach(slashes, i, v) {
    printf("    block %-9lld %s wei -> %s, tx %s", int_of(v, "block"),
           idx_cmd_str_or(v, "amount", "?"), idx_cmd_str_or(v, "destination", "unknown"),
           idx_cmd_str_or(v, "tx", "?"));
    const json_t *by = json_object_get(v, "by"); /* #25: the executor */
    if (json_is_string(json_object_get(by, "address")))
      printf(", by %s (%s)", idx_cmd_str_or(by, "address", "?"), idx_cmd_str_or(by, "role", "?"));
    else if (json_is_object(by))
      printf(", %s", idx_cmd_str_or(by, "attribution", "?"));
    if (json_is_string(json_object_get(by, "via")))
      printf(" via %s", idx_cmd_str_or(by, "via", "?"));
    printf("\n");
  }
}

int idx_cmd_license(const idx_cmd_ctx_t *ctx) {
  const idx_config_t *cfg = ctx->cfg;
  const idx_network_t *net = ctx->net;
  const char *cls = cfg->license_class;
  idx_class_t parsed;
  if (cls && !idx_class_parse(cls, &parsed)) {
    fprintf(stderr,
            "dimo-indexer license: --class must be app, client, manufacturer, node or "
            "connection, not \"%s\"\n",
            cls);
    return IDX_EXIT_USAGE;
  }

  /* The license question of the SQL API (query.h: dimo_license_docs). */
  const char *key = cfg->args[0];
  char chain[24], at[24];
  snprintf(chain, sizeof chain, "%llu", (unsigned long long)net->chain_id);
  snprintf(at, sizeof at, "%llu", (unsigned long long)cfg->at_block);
  const char *params[] = {chain, cls, key, cfg->has_at_block ? at : NULL};
  idx_cmd_answer_t q;
  idx_cmd_db_query(cfg->db, "dimo-indexer-license", idx_query_license_docs_sql,
                   IDX_ARRAY_LEN(params), params, &q);
  char *json = q.value;

  int code = IDX_EXIT_OK;
  if (q.status) {
    fprintf(stderr, "dimo-indexer license: %s\n", q.message);
    /* A conninfo libpq cannot parse, or SQLSTATE class 22 (an argument the
     * server refuses: unknown class, block not indexed) is the caller's. */
    bool bad = q.status == IDX_ERR_INVAL || strncmp(q.sqlstate, "22", 2) == 0;
    code = bad ? IDX_EXIT_USAGE : IDX_EXIT_FAIL;
  } else if (!json) {
    fprintf(stderr, "dimo-indexer license: no %s%slicense matches \"%s\"", cls ? cls : "",
            cls ? " " : "", key);
    if (cfg->has_at_block)
      fprintf(stderr, " at block %llu", (unsigned long long)cfg->at_block);
    fprintf(stderr, " on chain %llu\n", (unsigned long long)net->chain_id);
    code = IDX_EXIT_FAIL;
  } else if (cfg->json) {
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
  return code;
}
