/* sig.c: EIP-191 personal_sign recovery over libsecp256k1 (see sig.h). */
#include "common.h"

#include "sig.h"

#include "hex.h"
#include "keccak.h"

#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include <stdio.h>
#include <stdlib.h>

struct idx_sig_s {
  secp256k1_context *ctx;
};

int idx_sig_new(idx_sig_t **out) {
  *out = NULL;
  idx_sig_t *s = calloc(1, sizeof *s);
  if (!s)
    return IDX_ERR_NOMEM;
  /* Recovery needs no precomputed signing tables: the plain context. */
  s->ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
  if (!s->ctx) {
    free(s);
    return IDX_ERR_NOMEM;
  }
  *out = s;
  return 0;
}

void idx_sig_free(idx_sig_t *ctx) {
  if (!ctx)
    return;
  secp256k1_context_destroy(ctx->ctx);
  free(ctx);
}

/* The recovery id of a v byte, or -1. */
static int recid_of(uint8_t v) {
  if (v == 27 || v == 28)
    return v - 27;
  if (v == 0 || v == 1)
    return v;
  return -1;
}

int idx_sig_parse(idx_sig_rsv_t *out, const char *s, size_t len, char *err, size_t errlen) {
  if (len < 2 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) {
    idx_set_err(err, errlen, "signature must be 0x-prefixed hex");
    return IDX_ERR_HEX;
  }
  if (len & 1u) {
    idx_set_err(err, errlen, "signature hex has an odd number of digits");
    return IDX_ERR_HEX;
  }
  for (size_t i = 2; i < len; i++) {
    if (idx_hex_digit(s[i]) < 0) {
      idx_set_err(err, errlen, "signature has a non-hex character at offset %zu", i);
      return IDX_ERR_HEX;
    }
  }
  if (len != IDX_SIG_HEX_LEN) {
    idx_set_err(err, errlen, "signature must be 65 bytes (r, s, v), got %zu", (len - 2) / 2);
    return IDX_ERR_INVAL;
  }
  size_t n = 0;
  if (idx_hex_decode(out->b, sizeof out->b, &n, s, len) || n != sizeof out->b) {
    idx_set_err(err, errlen, "signature must be 65 bytes of hex");
    return IDX_ERR_HEX;
  }
  if (recid_of(out->b[64]) < 0) {
    idx_set_err(err, errlen, "signature v must be 27, 28, 0 or 1, got %u", (unsigned)out->b[64]);
    return IDX_ERR_INVAL;
  }
  return 0;
}

void idx_sig_personal_hash(idx_hash_t *out, const void *msg, size_t n) {
  static const char prefix[] = "\x19"
                               "Ethereum Signed Message:\n";
  char len_text[24];
  int k = snprintf(len_text, sizeof len_text, "%zu", n);
  idx_keccak_t st;
  idx_keccak_init(&st);
  idx_keccak_update(&st, prefix, sizeof prefix - 1);
  idx_keccak_update(&st, len_text, (size_t)k);
  if (n)
    idx_keccak_update(&st, msg, n);
  idx_keccak_final(&st, out);
}

static bool all_zero(const uint8_t *p, size_t n) {
  uint8_t acc = 0;
  for (size_t i = 0; i < n; i++)
    acc |= p[i];
  return acc == 0;
}

int idx_sig_recover(const idx_sig_t *ctx, idx_addr_t *out, const idx_hash_t *digest,
                    const idx_sig_rsv_t *sig, char *err, size_t errlen) {
  int recid = recid_of(sig->b[64]);
  if (recid < 0) {
    idx_set_err(err, errlen, "signature v must be 27, 28, 0 or 1, got %u", (unsigned)sig->b[64]);
    return IDX_ERR_INVAL;
  }
  if (all_zero(sig->b, 32) || all_zero(sig->b + 32, 32)) {
    idx_set_err(err, errlen, "signature r and s must not be zero");
    return IDX_ERR_INVAL;
  }
  secp256k1_ecdsa_recoverable_signature rs;
  if (!secp256k1_ecdsa_recoverable_signature_parse_compact(ctx->ctx, &rs, sig->b, recid)) {
    idx_set_err(err, errlen, "signature r or s is not below the curve order");
    return IDX_ERR_INVAL;
  }
  secp256k1_pubkey pub;
  if (!secp256k1_ecdsa_recover(ctx->ctx, &pub, &rs, digest->b)) {
    idx_set_err(err, errlen, "no public key recovers from this signature");
    return IDX_ERR_INVAL;
  }
  unsigned char raw[65];
  size_t rawlen = sizeof raw;
  if (!secp256k1_ec_pubkey_serialize(ctx->ctx, raw, &rawlen, &pub, SECP256K1_EC_UNCOMPRESSED) ||
      rawlen != sizeof raw) {
    idx_set_err(err, errlen, "public key serialization failed");
    return IDX_ERR_INVAL;
  }
  idx_hash_t h;
  idx_keccak256(&h, raw + 1, sizeof raw - 1);
  for (size_t i = 0; i < sizeof out->b; i++)
    out->b[i] = h.b[12 + i];
  return 0;
}

int idx_sig_recover_personal(const idx_sig_t *ctx, idx_addr_t *out, const void *msg, size_t n,
                             const char *sig_hex, size_t sig_len, char *err, size_t errlen) {
  idx_sig_rsv_t sig;
  int rc = idx_sig_parse(&sig, sig_hex, sig_len, err, errlen);
  if (rc)
    return rc;
  idx_hash_t digest;
  idx_sig_personal_hash(&digest, msg, n);
  return idx_sig_recover(ctx, out, &digest, &sig, err, errlen);
}
