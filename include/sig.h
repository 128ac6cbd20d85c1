/*
 * sig.h: who signed a message: EIP-191 personal_sign recovery with
 * libsecp256k1 (the only module that links it).
 *
 * A wallet's personal_sign signs keccak256("\x19Ethereum Signed Message:\n"
 * + decimal byte length of the message + the message) and hands out
 * r || s || v (65 bytes, 0x hex). v is the recovery id, written 27/28 by
 * wallets and 0/1 by some libraries; both are accepted, nothing else
 * (EIP-155 style v >= 35 belongs to transactions, not messages).
 *
 * r and s must be in 1..n-1 (n the curve order): libsecp256k1's compact
 * parser refuses values >= n and its recovery refuses zero. A "high" s
 * (s > n/2) is accepted, as Ethereum's ecrecover and the usual
 * personal_sign verifiers accept it: (r, n - s, v ^ 1) recovers the same
 * key, so a signature is malleable and must never serve as a nonce.
 *
 * The address is the last 20 bytes of keccak256 of the uncompressed public
 * key without its 0x04 prefix.
 *
 * Argument order: context, outputs, inputs (a length right after its
 * pointer), then err/errlen, which receive a one-line reason on failure.
 */
#ifndef IDX_SIG_H
#define IDX_SIG_H

#include "common.h"

/* Opaque: a libsecp256k1 context. Create once; recovery only reads it, so
 * one context serves every request of a thread. */
typedef struct idx_sig_s idx_sig_t;

/* A recoverable signature as Ethereum writes it: r (32) || s (32) || v. */
typedef struct idx_sig_rsv_s {
  uint8_t b[65];
} idx_sig_rsv_t;

/* Longest text idx_sig_parse looks at before calling it too long. */
#define IDX_SIG_HEX_LEN 132 /* "0x" + 130 digits */

/* Creates a context. Returns 0 or IDX_ERR_NOMEM. */
IDX_WARN_UNUSED int idx_sig_new(idx_sig_t **out) IDX_NONNULL(1);

/* Frees a context (NULL is fine). */
void idx_sig_free(idx_sig_t *ctx);

/* Parses "0x" + 130 hex digits (either case) into out and checks v.
 * Returns 0; IDX_ERR_HEX (no 0x prefix, odd length, a non-hex digit);
 * IDX_ERR_INVAL (not 65 bytes, or v not in {0, 1, 27, 28}). */
IDX_WARN_UNUSED int idx_sig_parse(idx_sig_rsv_t *out, const char *s, size_t len, char *err,
                                  size_t errlen) IDX_NONNULL(1, 2);

/* The EIP-191 (version 0x45) hash of n message bytes. */
void idx_sig_personal_hash(idx_hash_t *out, const void *msg, size_t n) IDX_NONNULL(1);

/* Recovers the signer of digest. Returns 0; IDX_ERR_INVAL (v not in {0, 1,
 * 27, 28}; r or s zero or not below the curve order; no public key
 * recovers from the signature). */
IDX_WARN_UNUSED int idx_sig_recover(const idx_sig_t *ctx, idx_addr_t *out, const idx_hash_t *digest,
                                    const idx_sig_rsv_t *sig, char *err, size_t errlen)
    IDX_NONNULL(1, 2, 3, 4);

/* Parse, hash, recover: the signer of a personal_sign signature over n
 * message bytes, the signature given as 0x hex. Errors as above. */
IDX_WARN_UNUSED int idx_sig_recover_personal(const idx_sig_t *ctx, idx_addr_t *out, const void *msg,
                                             size_t n, const char *sig_hex, size_t sig_len,
                                             char *err, size_t errlen) IDX_NONNULL(1, 2, 5);

#endif
