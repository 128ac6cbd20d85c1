/*
 * query.c: the statements of the SQL API, their inputs and answers (see
 * query.h).
 */
#include "common.h"

#include "query.h"

#include "hex.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- statements ---------------------------------------------------------- */

const char idx_query_license_docs_sql[] =
    "SELECT dimo_license_docs($1::bigint, $2::text, $3::text, $4::bigint)::text";

static const struct {
  const char *cls, *sql;
} lookups[] = {
    {"app", "SELECT dimo_license_lookup($1::bigint, 'app', $2::text, $3::bigint)::text"},
    {"manufacturer",
     "SELECT dimo_license_lookup($1::bigint, 'manufacturer', $2::text, $3::bigint)::text"},
    {"node", "SELECT dimo_node_doc($1::bigint, $2::text, $3::bigint)::text"},
    {"connection", "SELECT dimo_connection_doc($1::bigint, $2::text, $3::bigint)::text"},
};

const char *idx_query_lookup_sql(const char *license_class) {
  for (size_t i = 0; i < IDX_ARRAY_LEN(lookups); i++)
    if (strcmp(lookups[i].cls, license_class) == 0)
      return lookups[i].sql;
  return NULL;
}

const char idx_query_signer_sql[] =
    "SELECT dimo_signer_status($1::bigint, 'app', $2::text, $3::bytea, $4::bigint)::text";

/* schema/functions/queries.sql: dimo_verify (now, or as of a block). */
const char idx_query_verify_sql[] =
    "SELECT dimo_verify($1::bigint, $2::bytea, $3::bytea, $4::bigint)::text";

/* One statement, so the verdict and the access answer read one snapshot. */
const char idx_query_verify_access_sql[] =
    "SELECT json_build_object('verify', dimo_verify($1::bigint, $2::bytea, $8::bytea), "
    "'access', dimo_access($1::bigint, $2::bytea, $3::bytea, $4::numeric, $5::int, "
    "$6::bigint, to_timestamp($7::float8), $8::bytea))::text";

const char idx_query_access_sql[] =
    "SELECT dimo_access($1::bigint, $2::bytea, CASE WHEN $4::numeric IS NOT NULL "
    "THEN $3::bytea END, $4::numeric, $5::int, $6::bigint, to_timestamp($7::float8), "
    "$8::bytea, CASE WHEN $4::numeric IS NULL THEN $3::bytea END)::text";

const char idx_query_licenses_sql[] =
    "SELECT dimo_licenses_page($1::bigint, $2::text, $3::text, $4::bytea, $5::int, "
    "$6::text)::text";

const char idx_query_slashes_sql[] =
    "SELECT dimo_slashes_page($1::bigint, $2::text, $3::text, $4::int, $5::bigint)::text";

const char idx_query_admin_actions_sql[] =
    "SELECT dimo_admin_actions_page($1::bigint, $2::text, $3::text, $4::text, "
    "$5::bigint, $6::bigint, $7::int, $8::text)::text";

const char idx_query_admin_actions_csv_sql[] =
    "SELECT dimo_admin_actions_csv($1::bigint, $2::text, $3::text, $4::text, "
    "$5::bigint, $6::bigint, $7::int, $8::text)";

/* `audit` (schema/functions/accountability.sql): the ledger as GET
 * /v1/admin-actions pages it (newest first, the last 1000; $2 a contract
 * or NULL, $3 a block or NULL), and a contract's role holders ($2 its
 * address, $3 a block or NULL). */
const char idx_query_audit_actions_sql[] =
    "SELECT dimo_admin_actions_page($1::bigint, $2::text, NULL, NULL, NULL, $3::bigint, 1000, "
    "NULL)::text";
const char idx_query_audit_roles_sql[] =
    "SELECT dimo_role_holders($1::bigint, dimo_internal.addr($2::text), $3::bigint)::text";
/* The books (GET /v1/books[/{contract}], `audit books [CONTRACT]`): $2 a
 * license contract or NULL (every one), $3 a block or NULL. */
const char idx_query_books_sql[] = "SELECT dimo_books($1::bigint, $2::text, $3::bigint)::text";

const char idx_query_overview_sql[] =
    "SELECT dimo_overview($1::bigint, $2::bigint, $3::text)::text";

const char idx_query_events_sql[] =
    "SELECT jsonb_build_object('events', (SELECT coalesce(jsonb_object_agg(event_name, n), '{}') "
    "FROM (SELECT event_name, count(*) AS n FROM logs WHERE chain_id = $1::bigint "
    "GROUP BY event_name) t), 'unknown', (SELECT coalesce(jsonb_agg(jsonb_build_array("
    "c.contract, c.role, c.topic0, c.count)), '[]') FROM dimo_unknown_event_counts($1::bigint) c)"
    ")::text";

/* #22 (schema/functions/unknown.sql). */
const char idx_query_unknown_events_sql[] =
    "SELECT dimo_unknown_events_page($1::bigint, $2::text, $3::text, $4::text, $5::int)::text";

const char idx_query_upgrades_sql[] =
    "SELECT dimo_upgrades_page($1::bigint, $2::text, $3::text, $4::int)::text";

const char idx_query_unknown_counts_sql[] =
    "SELECT contract, role, coalesce(topic0, 'none'), count::text, first_block::text, "
    "last_block::text FROM dimo_unknown_event_counts($1::bigint)";

const char idx_query_implementations_sql[] =
    "SELECT contract, role, kind, implementation, block_number::text, tx "
    "FROM dimo_implementations($1::bigint)";

const char idx_query_unfiltered_from_sql[] =
    "SELECT complete_from::text FROM unfiltered_coverage WHERE chain_id = $1::bigint";

const char idx_query_contract_coverage_sql[] =
    "SELECT dimo_hex(k.address), c.role, k.complete_from::text FROM contract_coverage k "
    "JOIN contracts c ON c.chain_id = k.chain_id AND c.address = k.address "
    "WHERE k.chain_id = $1::bigint ORDER BY k.address";

const char idx_query_ready_sql[] = "SELECT 1";

/* ---- inputs -------------------------------------------------------------- */

bool idx_query_is_digits(const char *s, size_t n) {
  if (n == 0)
    return false;
  for (size_t i = 0; i < n; i++)
    if (s[i] < '0' || s[i] > '9')
      return false;
  return true;
}

bool idx_query_is_hex(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (idx_hex_digit(s[i]) < 0)
      return false;
  return true;
}

static const char uint256_max[] =
    "115792089237316195423570985008687907853269984665640564039457584007913129639935";

/* n decimal digits (leading zeros allowed) at most 2^256 - 1: a token id
 * the contracts can hold. Larger ones are a 400 on every route, never a
 * lookup that cannot match. */
bool idx_query_below_2_256(const char *s, size_t n) {
  while (n > 1 && *s == '0') {
    s++;
    n--;
  }
  return n < 78 || (n == 78 && memcmp(s, uint256_max, 78) <= 0);
}

/* A 0x address (either case) into lower case (out: 43 bytes). */
bool idx_query_address(const char *s, size_t n, char *out) {
  if (n != 42 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') || !idx_query_is_hex(s + 2, 40))
    return false;
  out[0] = '0';
  out[1] = 'x';
  for (size_t i = 2; i < 42; i++)
    out[i] = (char)(s[i] >= 'A' && s[i] <= 'F' ? s[i] + 32 : s[i]);
  out[42] = '\0';
  return true;
}

/* A license key: a decimal token id (at most 78 digits), a 0x address
 * (lower-cased), or, when allowed, an alias (1..32 bytes). The key goes
 * to SQL as text; out has IDX_QUERY_KEY_MAX + 1 bytes. */
bool idx_query_license_key(const char *s, size_t n, bool allow_alias, char *out, char *why,
                           size_t whylen) {
  if (n == 0) {
    snprintf(why, whylen, "empty license key");
    return false;
  }
  if (idx_query_is_digits(s, n)) {
    if (!idx_query_below_2_256(s, n)) {
      snprintf(why, whylen, "token id above 2^256 - 1%s", n > 78 ? " (longer than 78 digits)" : "");
      return false;
    }
    if (n > 78) {
      snprintf(why, whylen, "token id longer than 78 digits");
      return false;
    }
    memcpy(out, s, n);
    out[n] = '\0';
    return true;
  }
  if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && idx_query_is_hex(s + 2, n - 2)) {
    /* 0x and an even count of hex digits other than 40, up to 32 bytes:
     * the form documents give an alias that is not text (SQL decides). */
    if (allow_alias && n != 42 && n > 2 && n % 2 == 0 && n <= 2 + 2 * IDX_QUERY_ALIAS_MAX) {
      memcpy(out, s, n);
      out[n] = '\0';
      return true;
    }
    if (!idx_query_address(s, n, out)) {
      snprintf(why, whylen, "an address is 0x and 40 hex digits (got %zu digits)", n - 2);
      return false;
    }
    return true;
  }
  if (!allow_alias) {
    snprintf(why, whylen, "a manufacturer license key is a decimal token id or a 0x owner address");
    return false;
  }
  if (n > IDX_QUERY_ALIAS_MAX) {
    snprintf(why, whylen, "not a token id, 0x address or alias (aliases are at most 32 bytes)");
    return false;
  }
  memcpy(out, s, n);
  out[n] = '\0';
  return true;
}

/* A block number for ?at_block= (up to 2^63 - 1). */
bool idx_query_block(const char *s, size_t n, uint64_t *out) {
  if (!idx_query_is_digits(s, n) || n > 19)
    return false;
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    uint64_t d = (uint64_t)(s[i] - '0');
    if (v > (UINT64_C(0x7fffffffffffffff) - d) / 10)
      return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

/* "2025-01-01T00:05:00Z" into Unix seconds. */
bool idx_query_iso_time(const char *s, int64_t *out) {
  struct tm tm;
  memset(&tm, 0, sizeof tm);
  const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (!end || *end)
    return false;
  *out = (int64_t)timegm(&tm);
  return true;
}

/* ---- the access question's inputs ----------------------------------------- */

#define UNIX_TIME_MAX INT64_C(253402300799) /* 9999-12-31T23:59:59Z */

/* An address parameter as bytea text: "\x" and 40 lower-case digits. */
static bool address_bytea(const char *s, char out[45]) {
  char lower[43];
  if (!idx_query_address(s, strlen(s), lower))
    return false;
  snprintf(out, 45, "\\x%s", lower + 2);
  return true;
}

/* A decimal uint256 without leading zeros (out: 79 bytes). */
static bool uint256_text(const char *s, char out[79]) {
  size_t n = strlen(s);
  if (!idx_query_is_digits(s, n))
    return false;
  while (n > 1 && *s == '0') {
    s++;
    n--;
  }
  if (n > 78 || !idx_query_below_2_256(s, n))
    return false;
  memcpy(out, s, n);
  out[n] = '\0';
  return true;
}

/* Unix seconds or YYYY-MM-DDTHH:MM:SSZ, 0..UNIX_TIME_MAX. */
static bool time_param(const char *s, int64_t *out) {
  size_t n = strlen(s);
  if (idx_query_is_digits(s, n)) {
    uint64_t v;
    if (!idx_query_block(s, n, &v) || v > (uint64_t)UNIX_TIME_MAX)
      return false;
    *out = (int64_t)v;
    return true;
  }
  return idx_query_iso_time(s, out) && *out >= 0 && *out <= UNIX_TIME_MAX;
}

bool idx_query_access_parse(idx_access_query_t *q, const char *client_id, const char *asset,
                            const char *token_id, const char *permission, const char *signer,
                            const char *at_block, const char *at_time, char *why, size_t whylen) {
  memset(q, 0, sizeof *q);
  const char *fail = NULL;
  uint64_t perm = 0, block = 0;
  int64_t t = 0;
  if (!client_id)
    fail = "client_id is required (the app's client id, a 0x address)";
  else if (!address_bytea(client_id, q->client_id))
    fail = "client_id must be a 0x address (40 hex digits)";
  else if (!asset)
    fail = "asset is required (the vehicle NFT contract, a 0x address)";
  else if (!address_bytea(asset, q->asset))
    fail = "asset must be a 0x address (40 hex digits)";
  else if (!token_id)
    fail = "token_id is required (the vehicle's token id, decimal)";
  else if (!uint256_text(token_id, q->token_id))
    fail = "token_id must be a decimal number below 2^256";
  else if (!permission)
    fail = "permission is required (a SACD permission index, 0..127)";
  else if (!idx_query_block(permission, strlen(permission), &perm) || perm > 127)
    fail = "permission must be a SACD permission index 0..127";
  else if (signer && !address_bytea(signer, q->signer))
    fail = "signer must be a 0x address (40 hex digits)";
  else if (at_block && !idx_query_block(at_block, strlen(at_block), &block))
    fail = "at_block must be a block number";
  else if (at_time && !time_param(at_time, &t))
    fail = "at_time must be Unix seconds or YYYY-MM-DDTHH:MM:SSZ (UTC, up to year 9999)";
  if (fail) {
    snprintf(why, whylen, "%s", fail);
    return false;
  }
  snprintf(q->permission, sizeof q->permission, "%u", (unsigned)perm);
  if (at_block)
    snprintf(q->at_block, sizeof q->at_block, "%llu", (unsigned long long)block);
  if (at_time)
    snprintf(q->at_time, sizeof q->at_time, "%lld", (long long)t);
  return true;
}

bool idx_query_access_parse_account(idx_access_query_t *q, const char *client_id,
                                    const char *grantor, const char *permission, const char *signer,
                                    const char *at_block, const char *at_time, char *why,
                                    size_t whylen) {
  if (!idx_query_access_parse(q, client_id, grantor ? grantor : "", "0", permission, signer,
                              at_block, at_time, why, whylen)) {
    if (strncmp(why, "asset", 5) == 0) /* the grantor went in asset's place */
      snprintf(why, whylen, "grantor must be a 0x address (40 hex digits)");
    return false;
  }
  memcpy(q->grantor, q->asset, sizeof q->grantor);
  q->asset[0] = q->token_id[0] = '\0';
  return true;
}

void idx_query_access_params(const idx_access_query_t *q, const char *chain_id,
                             const char *params[IDX_QUERY_ACCESS_NPARAMS]) {
  params[0] = chain_id;
  params[1] = q->client_id;
  params[2] = q->grantor[0] ? q->grantor : q->asset;
  params[3] = q->grantor[0] ? NULL : q->token_id;
  params[4] = q->permission;
  params[5] = q->at_block[0] ? q->at_block : NULL;
  params[6] = q->at_time[0] ? q->at_time : NULL;
  params[7] = q->signer[0] ? q->signer : NULL;
}

/* ---- answers ------------------------------------------------------------- */

int idx_query_verify_answer(const char *text, size_t len, const char *signer, bool with_access,
                            json_t **out) {
  *out = NULL;
  json_t *in = json_loadb(text, len, 0, NULL);
  json_t *access = with_access ? json_object_get(in, "access") : NULL;
  json_t *ver = with_access ? json_object_get(in, "verify") : in;
  if (in && with_access && json_is_null(access)) {
    /* dimo_access is NULL while nothing is indexed: the answer of the
     * access question in the same state, not a malformed answer. */
    json_decref(in);
    return IDX_ERR_INVAL;
  }
  if (!in || !json_is_object(ver) || (with_access && !json_is_object(access))) {
    json_decref(in);
    return IDX_ERR_JSON;
  }
  json_t *o = json_object();
  if (!o) {
    json_decref(in);
    return IDX_ERR_NOMEM;
  }
  json_t *valid = json_object_get(ver, "valid");
  json_t *license = json_object_get(ver, "license");
  int rc = json_object_set(o, "valid", valid ? valid : json_false());
  rc |= json_object_set_new(o, "signer", json_string(signer));
  rc |= json_object_set(o, "reason", json_object_get(ver, "reason"));
  rc |= json_object_set(o, "license", license ? license : json_null());
  if (access)
    rc |= json_object_set(o, "access", access);
  json_decref(in);
  if (rc) {
    json_decref(o);
    return IDX_ERR_NOMEM;
  }
  *out = o;
  return 0;
}
