/*
 * query.h: the one C side of the SQL API (schema/003, 005, 008 and
 * the repeatable files of schema/functions).
 *
 * Every statement the HTTP API (api.h) and the CLI (cmd_*.c) send is here,
 * with its parameters, the normalisation of the inputs that become them
 * and the reshaping of answers the two share. Each question is one SQL
 * function (an optional block where the question has a past), so the API
 * and the CLI asking the same question get the same answer by
 * construction. Statements return one row, one column: JSON text, or SQL
 * NULL when nothing matches (or nothing is indexed yet). Parameters are
 * text; $1 is always the chain id.
 *
 * Questions and their statements:
 *   license   idx_query_license_docs_sql  ($2 class or NULL, $3 key, $4 block)
 *             every license a key matches (CLI `license`): one document, or an
 *             array of several in (contract, token id) order
 *             idx_query_lookup_sql[class]  ($2 key, $3 block): the license a key
 *             names (GET /v1/apps/{key}, ...): the first of those documents
 *   signer    idx_query_signer_sql         ($2 key, $3 signer bytea, $4 block)
 *   verify    idx_query_verify_sql         ($2 client bytea, $3 signer bytea, $4 block)
 *             idx_query_verify_access_sql  (the access parameters, $8 the signer)
 *   access    idx_query_access_sql         (idx_query_access_params)
 *   pages     idx_query_licenses_sql, idx_query_slashes_sql,
 *             idx_query_admin_actions_sql, idx_query_admin_actions_csv_sql
 *   audit     idx_query_audit_actions_sql, idx_query_audit_roles_sql
 *             ($2 contract, $3 block)
 *   books     idx_query_books_sql          ($2 contract or NULL: all, $3 block)
 *   overview  idx_query_overview_sql       ($2 block, $3 license key)
 *   metrics   idx_query_events_sql ({"events": {name: n}, "unknown": [[contract,
 *             role, topic0, n]]}), idx_query_ready_sql
 *   unknown   idx_query_unknown_events_sql ($2 contract, $3 topic0, $4 after,
 *             $5 limit: GET /v1/unknown-events), idx_query_upgrades_sql
 *             ($2 contract, $3 after, $4 limit: GET /v1/upgrades); for
 *             `status` (rows of text, idx_store_text_rows):
 *             idx_query_unknown_counts_sql (contract, role, topic0, count,
 *             first block, last block), idx_query_implementations_sql
 *             (contract, role, kind, implementation, block, tx)
 */
#ifndef IDX_QUERY_H
#define IDX_QUERY_H

#include "common.h"

#include <jansson.h>

/* ---- statements ---------------------------------------------------------- */

extern const char idx_query_license_docs_sql[];
/* By class: "app", "manufacturer", "node", "connection". NULL: none. */
const char *idx_query_lookup_sql(const char *license_class);
extern const char idx_query_signer_sql[];
extern const char idx_query_verify_sql[];
extern const char idx_query_verify_access_sql[];
extern const char idx_query_access_sql[];
extern const char idx_query_licenses_sql[];
extern const char idx_query_slashes_sql[];
extern const char idx_query_admin_actions_sql[];
extern const char idx_query_admin_actions_csv_sql[];
extern const char idx_query_audit_actions_sql[];
extern const char idx_query_audit_roles_sql[];
extern const char idx_query_books_sql[];
extern const char idx_query_overview_sql[];
extern const char idx_query_events_sql[];
extern const char idx_query_ready_sql[];
extern const char idx_query_unknown_events_sql[];
extern const char idx_query_upgrades_sql[];
extern const char idx_query_unknown_counts_sql[];
extern const char idx_query_implementations_sql[];
/* For `status`: the block from which unknown logs and upgrades are
 * complete (016), one row, or none when complete from the start. */
extern const char idx_query_unfiltered_from_sql[];
/* For `status`: the contracts added after the first sync whose history
 * below a block is still to be fetched (021): address, role, block. */
extern const char idx_query_contract_coverage_sql[];

/* ---- inputs -------------------------------------------------------------- */

enum {
  IDX_QUERY_KEY_MAX = 80,   /* a normalized license key (78 digits, an address, an alias) */
  IDX_QUERY_ALIAS_MAX = 32, /* bytes */
};

/* n > 0 decimal digits. */
bool idx_query_is_digits(const char *s, size_t n);
/* n hex digits (n may be 0). */
bool idx_query_is_hex(const char *s, size_t n);
/* n decimal digits (leading zeros allowed) at most 2^256 - 1. */
bool idx_query_below_2_256(const char *s, size_t n);
/* A 0x address (either case) into lower case (out: 43 bytes). */
bool idx_query_address(const char *s, size_t n, char *out);
/* A license key: a decimal token id, a 0x address (lower-cased) or, when
 * allow_alias, an alias; out has IDX_QUERY_KEY_MAX + 1 bytes. False with
 * the reason in why. */
bool idx_query_license_key(const char *s, size_t n, bool allow_alias, char *out, char *why,
                           size_t whylen);
/* A block number (decimal, below 2^63). */
bool idx_query_block(const char *s, size_t n, uint64_t *out);
/* "2025-01-01T00:05:00Z" into Unix seconds. */
bool idx_query_iso_time(const char *s, int64_t *out);

/* The access question's inputs (schema/005: dimo_access), validated and
 * normalized into SQL parameter text. */
typedef struct idx_access_query_s {
  char client_id[45]; /* "\\x" and 40 lower-case hex digits */
  char asset[45];     /* same */
  char token_id[79];  /* decimal, at most 78 digits */
  char permission[4]; /* 0..127 */
  char signer[45];    /* as client_id; "" when not given */
  char at_block[24];  /* "" when not given */
  char at_time[24];   /* Unix seconds; "" when not given */
  char grantor[45]; /* as client_id; "" unless an account grant is asked (asset and token_id "") */
} idx_access_query_t;

/* Fills q from text inputs (NUL-terminated; NULL: not given; client_id,
 * asset, token_id and permission are required). at_time: Unix seconds or
 * YYYY-MM-DDTHH:MM:SSZ, at most the end of year 9999. Returns false with
 * a message for the caller in why. */
IDX_WARN_UNUSED bool idx_query_access_parse(idx_access_query_t *q, const char *client_id,
                                            const char *asset, const char *token_id,
                                            const char *permission, const char *signer,
                                            const char *at_block, const char *at_time, char *why,
                                            size_t whylen) IDX_NONNULL(1, 9);

/* The same for an account grant (SACD's setAccountPermissions): grantor
 * replaces asset and token_id. */
IDX_WARN_UNUSED bool idx_query_access_parse_account(idx_access_query_t *q, const char *client_id,
                                                    const char *grantor, const char *permission,
                                                    const char *signer, const char *at_block,
                                                    const char *at_time, char *why, size_t whylen)
    IDX_NONNULL(1, 8);

/* The 8 parameters of idx_query_access_sql and idx_query_verify_access_sql
 * (NULL for absent ones; an account question passes its grantor as $3
 * with $4, the token id, NULL; $8 is the signer). */
#define IDX_QUERY_ACCESS_NPARAMS 8
void idx_query_access_params(const idx_access_query_t *q, const char *chain_id,
                             const char *params[IDX_QUERY_ACCESS_NPARAMS]) IDX_NONNULL(1, 2, 3);

/* ---- answers ------------------------------------------------------------- */

/* The verify answer ({valid, signer, reason, license[, access]}, in that
 * order) from the text of idx_query_verify_sql (with_access false) or of
 * idx_query_verify_access_sql ({"verify": ..., "access": ...}); signer:
 * the 0x address recovered. Returns 0 with *out (the caller decrefs),
 * IDX_ERR_INVAL when the access part is NULL (nothing indexed yet),
 * IDX_ERR_JSON for a malformed answer, IDX_ERR_NOMEM. */
IDX_WARN_UNUSED int idx_query_verify_answer(const char *text, size_t len, const char *signer,
                                            bool with_access, json_t **out) IDX_NONNULL(1, 3, 5);

#endif
