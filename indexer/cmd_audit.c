/* cmd_audit.c: `dimo-indexer audit actions|roles|books [CONTRACT]
 * [--at-block N] [--json]` (issue #25): who executed each admin action
 * under which role, who held which role when, and a license contract's
 * DIMO books, as schema/functions/accountability.sql answers them (the
 * same functions as GET /v1/admin-actions). Short-lived; reads the
 * database only. */
#include "common.h"

#include "cli.h"
#include "cmdutil.h"
#include "config.h"
#include "log.h"
#include "network.h"
#include "query.h"

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long long int_of(const json_t *obj, const char *key) {
  return (long long)json_integer_value(json_object_get(obj, key));
}

static void put_by(const json_t *by) {
  const char *addr = idx_cmd_str_or(by, "address", NULL);
  if (addr) /* no role: a contract without roles (sender_only) */
    printf("by %s (%s)", addr, idx_cmd_str_or(by, "role", idx_cmd_str_or(by, "attribution", "?")));
  else
    printf("%s", idx_cmd_str_or(by, "attribution", "?"));
  if (json_is_string(json_object_get(by, "via")))
    printf(" via %s", idx_cmd_str_or(by, "via", "?"));
}

static void print_actions(const json_t *doc) {
  const json_t *a = json_object_get(doc, "actions");
  printf("admin actions (%zu, as of block %lld):\n", json_array_size(a),
         int_of(doc, "as_of_block"));
  size_t i;
  const json_t *v;
  json_array_foreach(a, i, v) {
    printf("  block %-9lld %-18s %s", int_of(v, "block_number"), idx_cmd_str_or(v, "action", "?"),
           idx_cmd_str_or(v, "contract", "?"));
    if (json_is_string(json_object_get(v, "token_id")))
      printf(" #%s", idx_cmd_str_or(v, "token_id", "?"));
    if (json_is_string(json_object_get(v, "amount")))
      printf(" %s", idx_cmd_str_or(v, "amount", "?"));
    printf("  ");
    put_by(json_object_get(v, "by"));
    printf("  tx %s\n", idx_cmd_str_or(v, "tx_hash", "?"));
  }
}

static void print_roles(const json_t *doc) {
  const json_t *r = json_object_get(doc, "roles");
  printf("roles of %s (as of block %lld):\n", idx_cmd_str_or(doc, "contract", "?"),
         int_of(doc, "as_of_block"));
  size_t i;
  const json_t *v;
  json_array_foreach(r, i, v) {
    printf("  %-20s %s  from block %lld (granted by %s)", idx_cmd_str_or(v, "role", "?"),
           idx_cmd_str_or(v, "account", "?"), int_of(v, "from_block"),
           idx_cmd_str_or(v, "granted_by", "?"));
    if (json_is_integer(json_object_get(v, "to_block")))
      printf(" to block %lld (revoked by %s)", int_of(v, "to_block"),
             idx_cmd_str_or(v, "revoked_by", "?"));
    printf("%s\n", json_is_true(json_object_get(v, "held")) ? "  held" : "");
  }
}

static void print_books(const json_t *doc) {
  printf("books of %s (%s, as of block %lld), wei:\n", idx_cmd_str_or(doc, "contract", "?"),
         idx_cmd_str_or(doc, "role", "?"), int_of(doc, "as_of_block"));
  printf("  %-12s%s\n  %-12s%s\n  %-12s%s\n", "held:", idx_cmd_str_or(doc, "held", "?"),
         "staked:", idx_cmd_str_or(doc, "staked", "?"),
         "stray:", idx_cmd_str_or(doc, "stray", "?"));
  const json_t *w = json_object_get(doc, "admin_withdrawals");
  printf("  adminWithdraw (%zu)%s\n", json_array_size(w), json_array_size(w) ? ":" : "");
  size_t i;
  const json_t *v;
  json_array_foreach(w, i, v) {
    printf("    block %-9lld %s wei to %s  ", int_of(v, "block_number"),
           idx_cmd_str_or(v, "amount", "?"),
           idx_cmd_str_or(json_object_get(v, "detail"), "to", "?"));
    put_by(json_object_get(v, "by"));
    printf("\n");
  }
  const json_t *f = json_object_get(doc, "forfeit_checks");
  printf("  forfeits (%zu), mismatches: %lld\n", json_array_size(f),
         int_of(doc, "forfeit_mismatches"));
  json_array_foreach(f, i, v) {
    if (!json_is_true(json_object_get(v, "matches")))
      printf("    MISMATCH block %lld #%s: forfeit %s wei, transferred %s\n",
             int_of(v, "block_number"), idx_cmd_str_or(v, "token_id", "?"),
             idx_cmd_str_or(v, "amount", "?"), idx_cmd_str_or(v, "transferred", "none"));
  }
}

int idx_cmd_audit(const idx_cmd_ctx_t *ctx) {
  const idx_config_t *cfg = ctx->cfg;
  const idx_network_t *net = ctx->net;
  /* The three questions and their statements (query.h). */
  static const struct {
    const char *name, *sql;
  } questions[] = {{"actions", idx_query_audit_actions_sql},
                   {"roles", idx_query_audit_roles_sql},
                   {"books", idx_query_books_sql}};
  const char *what = cfg->nargs ? cfg->args[0] : "";
  const char *sql = NULL;
  for (size_t i = 0; i < IDX_ARRAY_LEN(questions) && !sql; i++)
    sql = strcmp(what, questions[i].name) == 0 ? questions[i].sql : NULL;
  bool known = sql != NULL;
  char contract[43] = "";
  bool addr_ok = cfg->nargs == 2 && idx_query_address(cfg->args[1], strlen(cfg->args[1]), contract);
  if (!known || cfg->nargs > 2 || (cfg->nargs == 2 && !addr_ok) ||
      (strcmp(what, "roles") == 0 && cfg->nargs != 2)) {
    fprintf(stderr,
            "dimo-indexer audit: give actions [CONTRACT], roles CONTRACT or books [CONTRACT] "
            "(CONTRACT: a 0x address; see --help)\n");
    return IDX_EXIT_USAGE;
  }
  char chain[24], at[24];
  snprintf(chain, sizeof chain, "%llu", (unsigned long long)net->chain_id);
  snprintf(at, sizeof at, "%llu", (unsigned long long)cfg->at_block);
  const char *params[] = {chain, addr_ok ? contract : NULL, cfg->has_at_block ? at : NULL};
  idx_cmd_answer_t q;
  idx_cmd_db_query(cfg->db, "dimo-indexer-audit", sql, IDX_ARRAY_LEN(params), params, &q);
  char *json = q.value;
  int code = IDX_EXIT_OK;
  if (q.status || !json) {
    fprintf(stderr, "dimo-indexer audit: %s\n",
            q.status ? q.message
            : strcmp(what, "books") == 0 && addr_ok
                ? "no license contract at that address (or nothing indexed yet)"
                : "no answer (nothing indexed yet?)");
    /* A conninfo libpq cannot parse, or SQLSTATE class 22 (an argument the
     * server refuses: a block not indexed) is the caller's. */
    bool bad = q.status == IDX_ERR_INVAL || strncmp(q.sqlstate, "22", 2) == 0;
    code = bad ? IDX_EXIT_USAGE : IDX_EXIT_FAIL;
  } else if (cfg->json) {
    printf("%s\n", json);
  } else {
    json_error_t jerr;
    json_t *doc = json_loads(json, 0, &jerr);
    if (!doc) {
      fprintf(stderr, "dimo-indexer audit: the database answered malformed JSON: %s\n", jerr.text);
      code = IDX_EXIT_FAIL;
    } else if (strcmp(what, "actions") == 0) {
      print_actions(doc);
    } else if (strcmp(what, "roles") == 0) {
      print_roles(doc);
    } else if (addr_ok) {
      print_books(doc);
    } else {
      /* Every license contract's books, one block. */
      size_t i;
      const json_t *v;
      json_array_foreach(json_object_get(doc, "contracts"), i, v) {
        if (i)
          printf("\n");
        print_books(v);
      }
    }
    json_decref(doc);
  }
  free(json);
  return code;
}
