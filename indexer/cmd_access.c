/* cmd_access.c: `dimo-indexer access`: the answer of GET /v1/access for
 * scripts and operators. May app A (its client id) read permission P of
 * vehicle V (asset contract and token id), or under the account grant of
 * grantor G (--grantor)? Validates the inputs as the API does (query.h:
 * idx_query_access_parse, idx_query_access_parse_account), asks the
 * database's dimo_access (schema/005) in one query, prints the verdict and
 * every failing condition.
 *
 * Exit status: 0 allowed, 1 not allowed, 2 bad input, 3 the question could
 * not be answered (database unavailable, nothing indexed). */
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

enum { EXIT_ALLOWED = 0, EXIT_DENIED = 1, EXIT_BAD_INPUT = 2, EXIT_UNANSWERED = 3 };

static void print_license(const json_t *lic) {
  if (!json_is_object(lic)) {
    printf("license:     none with this client id\n");
    return;
  }
  const char *alias = idx_cmd_str_or(lic, "alias", NULL);
  printf("license:     %s %s #%s%s%s%s, status %s\n", idx_cmd_str_or(lic, "class", "?"),
         idx_cmd_str_or(lic, "contract", "?"), idx_cmd_str_or(lic, "token_id", "?"),
         alias ? " (alias \"" : "", alias ? alias : "", alias ? "\")" : "",
         idx_cmd_str_or(lic, "status", "?"));
}

static void print_signer(const json_t *sg) {
  if (!json_is_object(sg)) {
    printf("signer:      not checked (no --signer)\n");
    return;
  }
  printf("signer:      ");
  idx_cmd_put_signer(idx_cmd_str_or(sg, "address", "?"), json_is_true(json_object_get(sg, "valid")),
                     idx_cmd_str_or(sg, "enabled_at", NULL), idx_cmd_str_or(sg, "expires_at", "?"));
}

static void print_grant(const json_t *g) {
  if (!json_is_object(g)) {
    printf("grant:       none (never granted to this app, or renounced)\n");
    return;
  }
  if (json_is_true(json_object_get(g, "renounced"))) {
    printf("grant:       renounced by the app in block %lld, tx %s\n",
           (long long)json_integer_value(json_object_get(g, "block")),
           idx_cmd_str_or(g, "tx", "?"));
    return;
  }
  printf("grant:       %s grant, permissions %s (", idx_cmd_str_or(g, "kind", "?"),
         idx_cmd_str_or(g, "permissions", "?"));
  size_t i;
  const json_t *v;
  json_array_foreach(json_object_get(g, "permission_ids"), i, v) {
    printf("%s%lld", i ? ", " : "", (long long)json_integer_value(v));
  }
  printf("%s), expires %s%s\n", json_array_size(json_object_get(g, "permission_ids")) ? "" : "none",
         idx_cmd_str_or(g, "expires_at", "?"),
         json_is_true(json_object_get(g, "expired")) ? " (expired)" : "");
  /* The source comes from the chain: printed JSON-escaped. */
  char *source = json_dumps(json_object_get(g, "source"), JSON_ENCODE_ANY);
  printf("             set in block %lld, %s, tx %s, source %s\n",
         (long long)json_integer_value(json_object_get(g, "block")), idx_cmd_str_or(g, "time", "?"),
         idx_cmd_str_or(g, "tx", "?"), source ? source : "?");
  free(source);
  const json_t *t = json_object_get(g, "template");
  if (json_is_object(t))
    printf("             template %s: %s\n", idx_cmd_str_or(g, "template_id", "?"),
           idx_cmd_str_or(t, "status", "?"));
  const json_t *r = json_object_get(g, "reset_by_transfer");
  if (json_is_object(r))
    printf("             reset by the transfer in block %lld (%s -> %s), tx %s\n",
           (long long)json_integer_value(json_object_get(r, "block")),
           idx_cmd_str_or(r, "from", "?"), idx_cmd_str_or(r, "to", "?"),
           idx_cmd_str_or(r, "tx", "?"));
}

static void print_text(const json_t *a) {
  const json_t *reasons = json_object_get(a, "reasons");
  printf("allowed:     %s\n", json_is_true(json_object_get(a, "allowed")) ? "yes" : "no");
  printf("reasons:     ");
  size_t i;
  const json_t *v;
  json_array_foreach(reasons, i, v) { printf("%s%s", i ? ", " : "", json_string_value(v)); }
  printf("%s\n", json_array_size(reasons) ? "" : "none");
  if (json_is_string(json_object_get(a, "allowed_until")))
    printf("until:       %s\n", idx_cmd_str_or(a, "allowed_until", "?"));
  printf("client id:   %s\n", idx_cmd_str_or(a, "client_id", "?"));
  if (json_is_string(json_object_get(a, "grantor")))
    printf("account:     grantor %s, permission %lld\n", idx_cmd_str_or(a, "grantor", "?"),
           (long long)json_integer_value(json_object_get(a, "permission")));
  else
    printf("vehicle:     %s #%s, permission %lld\n", idx_cmd_str_or(a, "asset", "?"),
           idx_cmd_str_or(a, "token_id", "?"),
           (long long)json_integer_value(json_object_get(a, "permission")));
  const char *via = idx_cmd_str_or(a, "via", NULL);
  printf("sacd view:   %s%s%s\n", json_is_true(json_object_get(a, "has_permission")) ? "yes" : "no",
         via ? ", by " : "", via ? via : "");
  print_license(json_object_get(a, "license"));
  print_signer(json_object_get(a, "signer"));
  print_grant(json_object_get(a, "grant"));
  printf("as of:       block %lld, expiries judged at %s\n",
         (long long)json_integer_value(json_object_get(a, "as_of_block")),
         idx_cmd_str_or(a, "as_of_time", "?"));
}

/* The parser's message names the API's parameter first: say the flag. */
static void print_input_error(const char *why) {
  static const char *const names[][2] = {
      {"client_id", "--client-id"},   {"asset", "--asset"},    {"token_id", "--token-id"},
      {"permission", "--permission"}, {"signer", "--signer"},  {"at_block", "--at-block"},
      {"at_time", "--at-time"},       {"grantor", "--grantor"}};
  size_t word = strcspn(why, " ");
  for (size_t i = 0; i < IDX_ARRAY_LEN(names); i++) {
    if (strlen(names[i][0]) == word && strncmp(why, names[i][0], word) == 0) {
      fprintf(stderr, "dimo-indexer access: %s%s (see --help)\n", names[i][1], why + word);
      return;
    }
  }
  fprintf(stderr, "dimo-indexer access: %s (see --help)\n", why);
}

int idx_cmd_access(const idx_cmd_ctx_t *ctx) {
  const idx_config_t *cfg = ctx->cfg;
  char at[24], why[200];
  snprintf(at, sizeof at, "%llu", (unsigned long long)cfg->at_block);
  idx_access_query_t aq;
  const char *at_block = cfg->has_at_block ? at : NULL;
  if (cfg->grantor && (cfg->asset || cfg->token_id)) {
    print_input_error("--grantor replaces --asset and --token-id: give one or the other");
    return EXIT_BAD_INPUT;
  }
  if (cfg->grantor
          ? !idx_query_access_parse_account(&aq, cfg->client_id, cfg->grantor, cfg->permission,
                                            cfg->signer, at_block, cfg->at_time, why, sizeof why)
          : !idx_query_access_parse(&aq, cfg->client_id, cfg->asset, cfg->token_id, cfg->permission,
                                    cfg->signer, at_block, cfg->at_time, why, sizeof why)) {
    print_input_error(why);
    return EXIT_BAD_INPUT;
  }
  char chain[24];
  snprintf(chain, sizeof chain, "%llu", (unsigned long long)ctx->net->chain_id);

  const char *params[IDX_QUERY_ACCESS_NPARAMS];
  idx_query_access_params(&aq, chain, params);
  idx_cmd_answer_t q;
  idx_cmd_db_query(cfg->db, "dimo-indexer-access", idx_query_access_sql, IDX_ARRAY_LEN(params),
                   params, &q);
  if (q.status) {
    fprintf(stderr, "dimo-indexer access: %s\n", q.message);
    bool bad = q.status == IDX_ERR_INVAL || strncmp(q.sqlstate, "22", 2) == 0;
    free(q.value);
    return bad ? EXIT_BAD_INPUT : EXIT_UNANSWERED;
  }
  if (!q.value) {
    fprintf(stderr, "dimo-indexer access: nothing is indexed for chain %s yet\n", chain);
    return EXIT_UNANSWERED;
  }
  json_t *a = json_loads(q.value, 0, NULL);
  if (!json_is_object(a)) {
    fprintf(stderr, "dimo-indexer access: malformed database answer\n");
    json_decref(a);
    free(q.value);
    return EXIT_UNANSWERED;
  }
  if (cfg->json)
    printf("%s\n", q.value);
  else
    print_text(a);
  int code = json_is_true(json_object_get(a, "allowed")) ? EXIT_ALLOWED : EXIT_DENIED;
  json_decref(a);
  free(q.value);
  return code;
}
