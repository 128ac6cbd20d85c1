/* Unit tests for sig.c: EIP-191 personal_sign recovery.
 *
 * Vectors made with foundry's cast 1.7.1:
 *   cast wallet sign --private-key KEY "message"   (then cast wallet verify)
 * KEY0 = 0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
 *   (anvil account 0, 0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266)
 * KEY1 = 0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d
 *   (anvil account 1, 0x70997970c51812dc3a010c7d01b50e0d17dc79c8)
 */
#include "common.h"

#include "check.h"
#include "hex.h"
#include "keccak.h"
#include "sig.h"

#include <stdlib.h>
#include <string.h>

#define ACCOUNT0 "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
#define ACCOUNT1 "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"

/* "message" by account 0; v = 0x1c. */
#define SIG_MESSAGE                                                                                \
  "0x63fde9fec5d1924c8837bae8f19c632291725fb94bb03fb3e8d89bf6de17f52014e402e5769d27989a73e889c9aa" \
  "35c7ace790d2b239d8e1d9d07046ae2d44f51c"

typedef struct vector_s {
  const char *message;
  const char *signature;
  const char *signer;
} vector_t;

static const vector_t vectors[] = {
    {"message", SIG_MESSAGE, ACCOUNT0},
    {"", /* v = 0x1b */
     "0xc1977b761f1dd36c29795783460d241885c8e7f9d962dbe7bba2753fd94e89b444a1cd9ed855dd09afa3b73f7c"
     "2bd097ec9abc2d2775d737505a02d3f0cafa591b",
     ACCOUNT0},
    {"hello DIMO",
     "0xb620c6173df5e155023b0309e797fcf68df9de676f0c73c3aaa2aa5446dee13814bd8873f157289cec2bede3ba"
     "ebcb65174e1f26ab5e58d6a6c03bf52eb133ef1b",
     ACCOUNT0},
    {"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xe2\x9c\x93", /* "日本語 ✓": length in bytes */
     "0x97272d45541a64f61b27f51bc2ec2d813def9ac99614cdf854d4dc25325ac8f718fa1a5f7abda704a27f1bb1a5"
     "21481659cf300e6d1bf8fca8bc5c3a7a1f78a51c",
     ACCOUNT0},
    {"message",
     "0x0815763e56c20a4c518e9d6321cb36fa6ebf6405af3f972bc2df4265ac64cde50f0efc9eb1bdced9cc40e0609f"
     "1dcc978d4e30182cffa1a7758d6ee66022c7ca1b",
     ACCOUNT1},
    /* 200 bytes of 'x': a three-digit length in the prefix. */
    {"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxx",
     "0x6ad018ea5bb251dd4d879d6e5c7d8569618caaad2fb045aa7bf4d2179fb6856b46135f276cd2a9c4403d18b964"
     "0d0d2a0a00a4abc215b9e5952e41f14a48666a1c",
     ACCOUNT0},
};

static idx_sig_t *ctx;

/* Recovers and returns the signer as hex in out (or "" on error). */
static int recover(char out[43], const void *msg, size_t n, const char *sig, char *err,
                   size_t errlen) {
  idx_addr_t a;
  out[0] = '\0';
  err[0] = '\0';
  int rc = idx_sig_recover_personal(ctx, &a, msg, n, sig, strlen(sig), err, errlen);
  if (rc == 0)
    idx_addr_to_hex(out, &a);
  return rc;
}

static void test_known_answers(void) {
  for (size_t i = 0; i < IDX_ARRAY_LEN(vectors); i++) {
    char who[43], err[160];
    const vector_t *v = &vectors[i];
    CHECK_INT(recover(who, v->message, strlen(v->message), v->signature, err, sizeof err), 0);
    CHECK_STR(who, v->signer);
  }
  /* The same message with another signer's signature is another address. */
  char who[43], err[160];
  CHECK_INT(recover(who, "hello DIMO", 10, SIG_MESSAGE, err, sizeof err), 0);
  CHECK(strcmp(who, ACCOUNT0) != 0);
}

static void test_hash(void) {
  /* keccak256("\x19Ethereum Signed Message:\n7message"), from its parts. */
  idx_hash_t want, got;
  const char text[] = "\x19"
                      "Ethereum Signed Message:\n7message";
  idx_keccak256(&want, text, sizeof text - 1);
  idx_sig_personal_hash(&got, "message", 7);
  CHECK(memcmp(want.b, got.b, 32) == 0);
  /* An empty message has length "0". */
  const char empty[] = "\x19"
                       "Ethereum Signed Message:\n0";
  idx_keccak256(&want, empty, sizeof empty - 1);
  idx_sig_personal_hash(&got, NULL, 0);
  CHECK(memcmp(want.b, got.b, 32) == 0);
}

/* Replaces the v byte (the last two digits) of a signature. */
static void with_v(char *out, const char *sig, const char *v) {
  memcpy(out, sig, IDX_SIG_HEX_LEN - 2);
  memcpy(out + IDX_SIG_HEX_LEN - 2, v, 2);
  out[IDX_SIG_HEX_LEN] = '\0';
}

static void test_v_forms(void) {
  char sig[IDX_SIG_HEX_LEN + 1], who[43], err[160];
  /* 0x1c (28) is recovery id 1: written 01 it is the same signature. */
  with_v(sig, SIG_MESSAGE, "01");
  CHECK_INT(recover(who, "message", 7, sig, err, sizeof err), 0);
  CHECK_STR(who, ACCOUNT0);
  /* The other recovery id gives a different key (or none). */
  with_v(sig, SIG_MESSAGE, "1b");
  int rc = recover(who, "message", 7, sig, err, sizeof err);
  CHECK(rc != 0 || strcmp(who, ACCOUNT0) != 0);
  with_v(sig, SIG_MESSAGE, "00");
  rc = recover(who, "message", 7, sig, err, sizeof err);
  CHECK(rc != 0 || strcmp(who, ACCOUNT0) != 0);
  /* Upper-case hex and an 0X prefix parse too. */
  char upper[IDX_SIG_HEX_LEN + 1];
  for (size_t i = 0; i <= IDX_SIG_HEX_LEN; i++)
    upper[i] = (char)(SIG_MESSAGE[i] >= 'a' && SIG_MESSAGE[i] <= 'f' ? SIG_MESSAGE[i] - 32
                                                                     : SIG_MESSAGE[i]);
  upper[1] = 'X';
  CHECK_INT(recover(who, "message", 7, upper, err, sizeof err), 0);
  CHECK_STR(who, ACCOUNT0);
}

static void test_high_s(void) {
  /* (r, n - s, v ^ 1) of SIG_MESSAGE: accepted, same signer (cast wallet
   * verify accepts it as well). */
  const char *high = "0x63fde9fec5d1924c8837bae8f19c632291725fb94bb03fb3e8d89bf6de17f520eb1bfd1a896"
                     "2d867658c17763655ca370dc74c13fd0ec759e601ee462208fc4c1b";
  char who[43], err[160];
  CHECK_INT(recover(who, "message", 7, high, err, sizeof err), 0);
  CHECK_STR(who, ACCOUNT0);
}

/* Expects rc and an error message containing needle. */
static void expect_bad(const char *sig, int rc_want, const char *needle) {
  char who[43], err[160];
  int rc = recover(who, "message", 7, sig, err, sizeof err);
  CHECK_INT(rc, rc_want);
  CHECK_STR(who, "");
  if (!strstr(err, needle)) {
    fprintf(stderr, "  message \"%s\" lacks \"%s\" (signature %s)\n", err, needle, sig);
    CHECK(strstr(err, needle) != NULL);
  }
}

static void test_malformed(void) {
  char sig[IDX_SIG_HEX_LEN + 3];
  expect_bad("", IDX_ERR_HEX, "0x-prefixed");
  expect_bad("63fde9fe", IDX_ERR_HEX, "0x-prefixed");
  expect_bad("0x63fde9f", IDX_ERR_HEX, "odd");
  expect_bad("0x63fde9fg", IDX_ERR_HEX, "non-hex");
  /* Wrong lengths: 64 and 66 bytes. */
  memcpy(sig, SIG_MESSAGE, IDX_SIG_HEX_LEN - 2);
  sig[IDX_SIG_HEX_LEN - 2] = '\0';
  expect_bad(sig, IDX_ERR_INVAL, "65 bytes");
  memcpy(sig, SIG_MESSAGE, IDX_SIG_HEX_LEN);
  memcpy(sig + IDX_SIG_HEX_LEN, "00", 3);
  expect_bad(sig, IDX_ERR_INVAL, "got 66");
  expect_bad("0x", IDX_ERR_INVAL, "got 0");
  /* A non-hex digit in the middle of a 65-byte signature. */
  memcpy(sig, SIG_MESSAGE, IDX_SIG_HEX_LEN + 1);
  sig[70] = 'z';
  expect_bad(sig, IDX_ERR_HEX, "non-hex");
  /* v outside {0, 1, 27, 28}. */
  with_v(sig, SIG_MESSAGE, "1d");
  expect_bad(sig, IDX_ERR_INVAL, "got 29");
  with_v(sig, SIG_MESSAGE, "02");
  expect_bad(sig, IDX_ERR_INVAL, "v must be");
  with_v(sig, SIG_MESSAGE, "25"); /* 37: an EIP-155 transaction v */
  expect_bad(sig, IDX_ERR_INVAL, "got 37");
  /* r = 0, s = 0. */
  memcpy(sig, SIG_MESSAGE, IDX_SIG_HEX_LEN + 1);
  memset(sig + 2, '0', 64);
  expect_bad(sig, IDX_ERR_INVAL, "zero");
  memcpy(sig, SIG_MESSAGE, IDX_SIG_HEX_LEN + 1);
  memset(sig + 66, '0', 64);
  expect_bad(sig, IDX_ERR_INVAL, "zero");
  /* r = n (the curve order) and s = 2^256 - 1: not below n. */
  memcpy(sig, SIG_MESSAGE, IDX_SIG_HEX_LEN + 1);
  memcpy(sig + 2, "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141", 64);
  expect_bad(sig, IDX_ERR_INVAL, "curve order");
  memcpy(sig, SIG_MESSAGE, IDX_SIG_HEX_LEN + 1);
  memset(sig + 66, 'f', 64);
  expect_bad(sig, IDX_ERR_INVAL, "curve order");
  /* r = 5: no curve point has x = 5, so nothing recovers. */
  memcpy(sig, SIG_MESSAGE, IDX_SIG_HEX_LEN + 1);
  memset(sig + 2, '0', 64);
  sig[65] = '5';
  expect_bad(sig, IDX_ERR_INVAL, "no public key");
}

static void test_parse_and_recover_apart(void) {
  idx_sig_rsv_t rsv;
  char err[160];
  CHECK_INT(idx_sig_parse(&rsv, SIG_MESSAGE, strlen(SIG_MESSAGE), err, sizeof err), 0);
  CHECK_INT(rsv.b[64], 0x1c);
  CHECK_INT(rsv.b[0], 0x63);
  idx_hash_t d;
  idx_sig_personal_hash(&d, "message", 7);
  idx_addr_t a;
  CHECK_INT(idx_sig_recover(ctx, &a, &d, &rsv, err, sizeof err), 0);
  char hex[43];
  idx_addr_to_hex(hex, &a);
  CHECK_STR(hex, ACCOUNT0);
  /* idx_sig_recover checks v itself (a caller may fill rsv by hand). */
  rsv.b[64] = 29;
  CHECK_INT(idx_sig_recover(ctx, &a, &d, &rsv, err, sizeof err), IDX_ERR_INVAL);
  CHECK(strstr(err, "got 29") != NULL);
  /* A NULL or empty err buffer is allowed. */
  CHECK_INT(idx_sig_recover(ctx, &a, &d, &rsv, NULL, 0), IDX_ERR_INVAL);
}

int main(void) {
  CHECK_INT(idx_sig_new(&ctx), 0);
  test_known_answers();
  test_hash();
  test_v_forms();
  test_high_s();
  test_malformed();
  test_parse_and_recover_apart();
  idx_sig_free(ctx);
  idx_sig_free(NULL);
  CHECK_DONE();
}
