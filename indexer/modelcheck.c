/* modelcheck.c: the model parts' declared reads against the ABI files
 * (see modelcheck.h). */
#include "common.h"

#include "modelcheck.h"

#include <stdio.h>
#include <string.h>

/* The next comma-separated name of *cursor into out (at most cap - 1
 * bytes); false at the end of the list. */
static bool next_name(const char **cursor, char *out, size_t cap) {
  const char *s = *cursor;
  if (!s)
    return false;
  const char *comma = strchr(s, ',');
  size_t n = comma ? (size_t)(comma - s) : strlen(s);
  if (n >= cap)
    n = cap - 1;
  memcpy(out, s, n);
  out[n] = '\0';
  *cursor = comma ? comma + 1 : NULL;
  return true;
}

/* Compares an ABI event's argument names with the declared list; on a
 * difference, err names the first one. */
static bool names_match(const idx_abi_event_t *ev, const char *names, const char *part,
                        const char *abi_path, char *err, size_t errlen) {
  const char *cursor = *names ? names : NULL;
  char want[128];
  size_t i = 0;
  for (; next_name(&cursor, want, sizeof want); i++) {
    if (i >= ev->nparams) {
      idx_set_err(err, errlen,
                  "model part '%s' reads argument %zu '%s' of %s, but %s declares only %zu "
                  "argument(s)",
                  part, i + 1, want, ev->signature, abi_path, ev->nparams);
      return false;
    }
    if (strcmp(ev->params[i].name, want) != 0) {
      idx_set_err(err, errlen,
                  "model part '%s' reads argument %zu of %s as '%s', but %s names it '%s'", part,
                  i + 1, ev->signature, want, abi_path, ev->params[i].name);
      return false;
    }
  }
  if (i != ev->nparams) {
    idx_set_err(err, errlen,
                "model part '%s' knows %zu argument(s) of %s, but %s declares %zu (extra '%s')",
                part, i, ev->signature, abi_path, ev->nparams, ev->params[i].name);
    return false;
  }
  return true;
}

int idx_modelcheck_one(const idx_network_t *net, const char *part, const char *role,
                       const char *event, const char *names, bool optional, char *err,
                       size_t errlen) {
  size_t with_role = 0, with_event = 0;
  const char *first_abi = NULL;
  for (size_t c = 0; c < net->ncontracts; c++) {
    const idx_contract_t *k = &net->contracts[c];
    if (strcmp(idx_role_name(k->role), role) != 0)
      continue;
    with_role++;
    if (!first_abi)
      first_abi = k->abi_path;
    for (size_t e = 0; e < k->abi.nevents; e++) {
      const idx_abi_event_t *ev = &k->abi.events[e];
      if (strcmp(ev->signature, event) != 0)
        continue;
      with_event++;
      if (!names_match(ev, names, part, k->abi_path, err, errlen))
        return IDX_ERR_CONFIG;
    }
  }
  if (with_role > 0 && with_event == 0 && !optional) {
    idx_set_err(err, errlen,
                "model part '%s' reads %s of role %s, but no ABI of that role has it (%s%s): "
                "the event was renamed or retyped",
                part, event, role, first_abi ? first_abi : "?", with_role > 1 ? " and others" : "");
    return IDX_ERR_CONFIG;
  }
  return 0;
}

typedef struct check_ctx_s {
  const idx_network_t *net;
  char *err;
  size_t errlen;
} check_ctx_t;

static int check_row(void *ud, const char *part, const char *role, const char *event,
                     const char *names, bool optional) {
  check_ctx_t *ctx = ud;
  return idx_modelcheck_one(ctx->net, part, role, event, names, optional, ctx->err, ctx->errlen);
}

int idx_modelcheck_run(idx_store_t *store, const idx_network_t *net, char *err, size_t errlen) {
  check_ctx_t ctx = {net, err, errlen};
  return idx_store_model_reads(store, check_row, &ctx, err, errlen);
}
