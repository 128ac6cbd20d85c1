/* Unit tests for query.c: the access question's input validation and the
 * SQL parameters it yields (shared by GET /v1/access, POST /v1/verify and
 * `dimo-indexer access`). The routes themselves are tested through the
 * real server (tests/integration/test_api_*.sh, test_access_*.sh). */
#include "common.h"

#include "query.h"
#include "check.h"

static const char *const cid = "0xC1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1";
static const char *const veh = "0xbA5738a18d83D41847dfFbDC6101d37C69c9B0cF";

/* Parses and returns the message ("" when accepted). */
static const char *why_of(idx_access_query_t *q, const char *client, const char *asset,
                          const char *token, const char *perm, const char *signer,
                          const char *block, const char *at_time) {
  static char why[200];
  why[0] = '\0';
  if (idx_query_access_parse(q, client, asset, token, perm, signer, block, at_time, why,
                             sizeof why))
    return "";
  return why;
}

static void test_accepts(void) {
  idx_access_query_t q;
  CHECK_STR(why_of(&q, cid, veh, "0042", "3", NULL, NULL, NULL), "");
  CHECK_STR(q.client_id, "\\xc1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1");
  CHECK_STR(q.asset, "\\xba5738a18d83d41847dffbdc6101d37c69c9b0cf");
  CHECK_STR(q.token_id, "42"); /* leading zeros dropped: one cache key per token */
  CHECK_STR(q.permission, "3");
  CHECK_STR(q.signer, "");
  CHECK_STR(q.at_block, "");
  CHECK_STR(q.at_time, "");

  const char *p[IDX_QUERY_ACCESS_NPARAMS];
  idx_query_access_params(&q, "137", p);
  CHECK_STR(p[0], "137");
  CHECK_STR(p[3], "42");
  CHECK(p[5] == NULL && p[6] == NULL && p[7] == NULL);

  CHECK_STR(why_of(&q, cid, veh, "0", "127", cid, "19", "2025-01-01T00:00:00Z"), "");
  CHECK_STR(q.token_id, "0");
  CHECK_STR(q.permission, "127");
  CHECK_STR(q.signer, "\\xc1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1");
  CHECK_STR(q.at_block, "19");
  CHECK_STR(q.at_time, "1735689600");
  idx_query_access_params(&q, "137", p);
  CHECK_STR(p[5], "19");
  CHECK_STR(p[6], "1735689600");
  CHECK_STR(p[7], q.signer);

  CHECK_STR(why_of(&q, cid, veh, "1", "0", NULL, NULL, "1700000000"), "");
  CHECK_STR(q.at_time, "1700000000");
  CHECK_STR(why_of(&q, cid, veh, "1", "0", NULL, NULL, "253402300799"), "");
  /* 2^256 - 1: the largest token id. */
  CHECK_STR(why_of(&q, cid, veh,
                   "115792089237316195423570985008687907853269984665640564039457584007913129639935",
                   "0", NULL, NULL, NULL),
            "");
}

static void test_refuses(void) {
  idx_access_query_t q;
  CHECK_STR(why_of(&q, NULL, veh, "1", "1", NULL, NULL, NULL),
            "client_id is required (the app's client id, a 0x address)");
  CHECK_STR(why_of(&q, "0x12", veh, "1", "1", NULL, NULL, NULL),
            "client_id must be a 0x address (40 hex digits)");
  CHECK_STR(why_of(&q, cid, NULL, "1", "1", NULL, NULL, NULL),
            "asset is required (the vehicle NFT contract, a 0x address)");
  CHECK_STR(why_of(&q, cid, "0xzz38a18d83D41847dfFbDC6101d37C69c9B0cF", "1", "1", NULL, NULL, NULL),
            "asset must be a 0x address (40 hex digits)");
  CHECK_STR(why_of(&q, cid, veh, NULL, "1", NULL, NULL, NULL),
            "token_id is required (the vehicle's token id, decimal)");
  CHECK_STR(why_of(&q, cid, veh, "-1", "1", NULL, NULL, NULL),
            "token_id must be a decimal number below 2^256");
  CHECK_STR(why_of(&q, cid, veh, "0x10", "1", NULL, NULL, NULL),
            "token_id must be a decimal number below 2^256");
  CHECK_STR(why_of(&q, cid, veh, "", "1", NULL, NULL, NULL),
            "token_id must be a decimal number below 2^256");
  /* 2^256 */
  CHECK_STR(why_of(&q, cid, veh,
                   "115792089237316195423570985008687907853269984665640564039457584007913129639936",
                   "1", NULL, NULL, NULL),
            "token_id must be a decimal number below 2^256");
  CHECK_STR(why_of(&q, cid, veh, "1", NULL, NULL, NULL, NULL),
            "permission is required (a SACD permission index, 0..127)");
  CHECK_STR(why_of(&q, cid, veh, "1", "128", NULL, NULL, NULL),
            "permission must be a SACD permission index 0..127");
  CHECK_STR(why_of(&q, cid, veh, "1", "1.5", NULL, NULL, NULL),
            "permission must be a SACD permission index 0..127");
  CHECK_STR(why_of(&q, cid, veh, "1", "99999999999999999999999", NULL, NULL, NULL),
            "permission must be a SACD permission index 0..127");
  CHECK_STR(why_of(&q, cid, veh, "1", "1", "nobody", NULL, NULL),
            "signer must be a 0x address (40 hex digits)");
  CHECK_STR(why_of(&q, cid, veh, "1", "1", NULL, "-3", NULL), "at_block must be a block number");
  CHECK_STR(why_of(&q, cid, veh, "1", "1", NULL, "99999999999999999999", NULL),
            "at_block must be a block number");
  const char *bad_time =
      "at_time must be Unix seconds or YYYY-MM-DDTHH:MM:SSZ (UTC, up to year 9999)";
  CHECK_STR(why_of(&q, cid, veh, "1", "1", NULL, NULL, "yesterday"), bad_time);
  CHECK_STR(why_of(&q, cid, veh, "1", "1", NULL, NULL, "2025-01-01 00:00:00"), bad_time);
  CHECK_STR(why_of(&q, cid, veh, "1", "1", NULL, NULL, "2025-01-01T00:00:00Z junk"), bad_time);
  CHECK_STR(why_of(&q, cid, veh, "1", "1", NULL, NULL, "253402300800"), bad_time);
  CHECK_STR(why_of(&q, cid, veh, "1", "1", NULL, NULL, ""), bad_time);
  /* The first problem is the one reported. */
  CHECK_STR(why_of(&q, "x", "y", "z", "w", NULL, NULL, NULL),
            "client_id must be a 0x address (40 hex digits)");
}

/* An account grant's question: the grantor goes as $3 with no token id. */
static void test_account(void) {
  idx_access_query_t q;
  char why[200];
  CHECK(idx_query_access_parse_account(&q, cid, veh, "5", NULL, NULL, NULL, why, sizeof why));
  CHECK_STR(q.grantor, "\\xba5738a18d83d41847dffbdc6101d37c69c9b0cf");
  CHECK_STR(q.asset, "");
  CHECK_STR(q.token_id, "");
  const char *p[IDX_QUERY_ACCESS_NPARAMS];
  idx_query_access_params(&q, "137", p);
  CHECK_STR(p[2], q.grantor);
  CHECK(p[3] == NULL);
  CHECK(!idx_query_access_parse_account(&q, cid, "0x12", "5", NULL, NULL, NULL, why, sizeof why));
  CHECK_STR(why, "grantor must be a 0x address (40 hex digits)");
  CHECK(!idx_query_access_parse_account(&q, cid, NULL, "5", NULL, NULL, NULL, why, sizeof why));
  CHECK_STR(why, "grantor must be a 0x address (40 hex digits)");
  CHECK(!idx_query_access_parse_account(&q, cid, veh, "128", NULL, NULL, NULL, why, sizeof why));
  CHECK_STR(why, "permission must be a SACD permission index 0..127");
}

int main(void) {
  test_accepts();
  test_refuses();
  test_account();
  CHECK_DONE();
}
