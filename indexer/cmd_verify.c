/* cmd_verify.c: `dimo-indexer verify`: the answer of POST /v1/verify for
 * scripts. Recovers the signer of an EIP-191 personal_sign signature
 * (sig.h), then asks the database (one query through dbpool.h on a
 * short-lived loop) whether the app whose client id is given may be
 * served with that signer.
 *
 * Exit status: 0 valid, 1 not valid, 2 bad input (usage, a malformed
 * client id or signature), 3 the check could not be made (database). */
#include "common.h"

#include "cli.h"
#include "cmdutil.h"
#include "config.h"
#include "dbpool.h"
#include "hex.h"
#include "log.h"
#include "network.h"
#include "query.h"
#include "sig.h"

#include <jansson.h>

#include <stdio.h>
#include <string.h>
#include <uv.h>

enum { EXIT_VALID = 0, EXIT_NOT_VALID = 1, EXIT_BAD_INPUT = 2, EXIT_UNCHECKED = 3 };

static void print_text(const json_t *v, const char *client_id) {
  const json_t *lic = json_object_get(v, "license");
  printf("valid:      %s\n", json_is_true(json_object_get(v, "valid")) ? "yes" : "no");
  printf("reason:     %s\n", json_string_value(json_object_get(v, "reason")));
  printf("signer:     %s\n", json_string_value(json_object_get(v, "signer")));
  printf("client id:  %s\n", client_id);
  if (json_is_object(lic)) {
    const char *alias = json_string_value(json_object_get(lic, "alias"));
    printf("license:    %s %s #%s%s%s%s, status %s, as of block %lld\n",
           json_string_value(json_object_get(lic, "class")),
           json_string_value(json_object_get(lic, "contract")),
           json_string_value(json_object_get(lic, "token_id")), alias ? " (alias \"" : "",
           alias ? alias : "", alias ? "\")" : "",
           json_string_value(json_object_get(lic, "status")),
           (long long)json_integer_value(json_object_get(lic, "as_of_block")));
  } else {
    printf("license:    none\n");
  }
}

int idx_cmd_verify(const idx_cmd_ctx_t *ctx) {
  const idx_config_t *cfg = ctx->cfg;
  if (!cfg->client_id || !cfg->message || !cfg->signature) {
    fprintf(stderr, "dimo-indexer verify: --client-id, --message and --signature are required "
                    "(see --help)\n");
    return EXIT_BAD_INPUT;
  }
  idx_addr_t client;
  if (idx_addr_from_hex(&client, cfg->client_id) != 0) {
    fprintf(stderr, "dimo-indexer verify: --client-id must be a 0x address (40 hex digits)\n");
    return EXIT_BAD_INPUT;
  }
  idx_sig_t *sig = NULL;
  if (idx_sig_new(&sig) != 0) {
    fprintf(stderr, "dimo-indexer verify: out of memory\n");
    return EXIT_UNCHECKED;
  }
  idx_addr_t signer;
  char err[256];
  int rc = idx_sig_recover_personal(sig, &signer, cfg->message, strlen(cfg->message),
                                    cfg->signature, strlen(cfg->signature), err, sizeof err);
  idx_sig_free(sig);
  if (rc) {
    fprintf(stderr, "dimo-indexer verify: %s\n", err);
    return EXIT_BAD_INPUT;
  }
  char chain[24], client_hex[43], signer_hex[43], client_bytea[45], signer_bytea[45], at[24];
  snprintf(chain, sizeof chain, "%llu", (unsigned long long)ctx->net->chain_id);
  idx_addr_to_hex(client_hex, &client);
  idx_addr_to_hex(signer_hex, &signer);
  snprintf(client_bytea, sizeof client_bytea, "\\x%s", client_hex + 2);
  snprintf(signer_bytea, sizeof signer_bytea, "\\x%s", signer_hex + 2);
  snprintf(at, sizeof at, "%llu", (unsigned long long)cfg->at_block);

  bool with_access = cfg->asset || cfg->token_id || cfg->permission;
  idx_access_query_t aq;
  if (with_access) {
    char why[256];
    if (cfg->has_at_block) {
      fprintf(stderr, "dimo-indexer verify: --asset, --token-id and --permission answer now; for "
                      "a past block use `dimo-indexer access --at-block`\n");
      return EXIT_BAD_INPUT;
    }
    if (!idx_query_access_parse(&aq, client_hex, cfg->asset, cfg->token_id, cfg->permission,
                                signer_hex, NULL, NULL, why, sizeof why)) {
      fprintf(stderr, "dimo-indexer verify: %s\n", why);
      return EXIT_BAD_INPUT;
    }
  }

  /* The API's question (query.h): the same statement, the same reshaping. */
  idx_cmd_answer_t q;
  if (with_access) {
    const char *params[IDX_QUERY_ACCESS_NPARAMS];
    idx_query_access_params(&aq, chain, params);
    idx_cmd_db_query(cfg->db, "dimo-indexer-verify", idx_query_verify_access_sql,
                     IDX_ARRAY_LEN(params), params, &q);
  } else {
    const char *params[] = {chain, client_bytea, signer_bytea, cfg->has_at_block ? at : NULL};
    idx_cmd_db_query(cfg->db, "dimo-indexer-verify", idx_query_verify_sql, 4, params, &q);
  }
  if (q.status) {
    fprintf(stderr, "dimo-indexer verify: %s\n", q.message);
    /* A conninfo libpq cannot parse, or SQLSTATE class 22 (the database
     * refused an argument: a block not indexed) is bad input. */
    bool bad = q.status == IDX_ERR_INVAL || strncmp(q.sqlstate, "22", 2) == 0;
    free(q.value);
    return bad ? EXIT_BAD_INPUT : EXIT_UNCHECKED;
  }
  json_t *v = NULL;
  rc = q.value ? idx_query_verify_answer(q.value, strlen(q.value), signer_hex, with_access, &v)
               : IDX_ERR_JSON;
  free(q.value);
  if (rc) {
    fprintf(stderr, "dimo-indexer verify: %s\n",
            rc == IDX_ERR_INVAL ? "nothing is indexed yet" : "malformed database answer");
    return EXIT_UNCHECKED;
  }
  if (cfg->json) {
    char *text = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text)
      printf("%s\n", text);
    free(text);
  } else {
    print_text(v, client_hex);
  }
  bool ok = json_is_true(json_object_get(v, "valid"));
  const json_t *acc = json_object_get(v, "access");
  if (acc) {
    bool allowed = json_is_true(json_object_get(acc, "allowed"));
    ok = ok && allowed;
    if (!cfg->json) {
      printf("access:     %s", allowed ? "allowed" : "not allowed");
      const json_t *reasons = json_object_get(acc, "reasons");
      size_t i;
      const json_t *r;
      json_array_foreach(reasons, i, r) printf("%s%s", i ? ", " : " (", json_string_value(r));
      printf("%s\n", json_array_size(reasons) ? ")" : "");
    }
  }
  int code = ok ? EXIT_VALID : EXIT_NOT_VALID;
  json_decref(v);
  return code;
}
