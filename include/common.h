/*
 * common.h: the types, error codes and attribute macros every module shares.
 *
 * Included first by every module. Errors are negative ints (0 is success);
 * one X-macro table names them and gives idx_strerror(). Questions return
 * bool. Fixed-size value types carry Ethereum's addresses, hashes and
 * 256-bit words so no module has to guess a length.
 */
#ifndef IDX_COMMON_H
#define IDX_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IDX_VERSION "0.1.0"

#if defined(__GNUC__)
#define IDX_WARN_UNUSED __attribute__((warn_unused_result))
#define IDX_NONNULL(...) __attribute__((nonnull(__VA_ARGS__)))
#define IDX_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define IDX_UNUSED __attribute__((unused))
#else
#define IDX_WARN_UNUSED
#define IDX_NONNULL(...)
#define IDX_PRINTF(fmt, args)
#define IDX_UNUSED
#endif

#define IDX_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Name, message. Codes are assigned in order: IDX_ERR_NOMEM = -1, ... */
#define IDX_ERRNO_MAP(X)                                                                           \
  X(NOMEM, "out of memory")                                                                        \
  X(INVAL, "invalid argument")                                                                     \
  X(TOO_LARGE, "input larger than its limit")                                                      \
  X(IO, "input/output error")                                                                      \
  X(HEX, "malformed hex string")                                                                   \
  X(NUMBER, "malformed or out-of-range number")                                                    \
  X(JSON, "malformed JSON")                                                                        \
  X(ABI_FILE, "malformed ABI file")                                                                \
  X(ABI_TYPE, "unsupported ABI type")                                                              \
  X(ABI_TOPICS, "log has the wrong number of topics for its event")                                \
  X(ABI_SHORT, "log data shorter than the event's head")                                           \
  X(ABI_OFFSET, "dynamic offset points outside the log data")                                      \
  X(ABI_LENGTH, "dynamic length runs past the end of the log data")                                \
  X(ABI_PADDING, "non-zero padding in an ABI word")                                                \
  X(ABI_BOOL, "ABI bool is neither 0 nor 1")                                                       \
  X(ABI_TRAILING, "log data longer than its encoding")                                             \
  X(CONFIG, "bad configuration")                                                                   \
  X(RPC, "JSON-RPC error answer")                                                                  \
  X(RPC_TRANSPORT, "JSON-RPC transport failure")                                                   \
  X(RPC_REPLY, "malformed JSON-RPC reply")                                                         \
  X(TIMEOUT, "timed out")                                                                          \
  X(RATE_LIMITED, "rate limited")                                                                  \
  X(INCONSISTENT, "node answers are inconsistent (retryable)")                                     \
  X(CANCELLED, "cancelled")                                                                        \
  X(DB, "database error")                                                                          \
  X(DB_CONN, "database connection lost")                                                           \
  X(CONFLICT, "store cursor is not where the batch expects it")                                    \
  X(STANDBY, "another instance holds the writer lock")                                             \
  X(DB_TRANSIENT, "database refused the statement for now (retryable)")

#define IDX_OK 0

/* Positions in the table (1, 2, ...), then the public negative codes. */
#define IDX__ERR_POS(name, msg) IDX__ERRPOS_##name,
enum idx__err_pos { IDX__ERRPOS_NONE = 0, IDX_ERRNO_MAP(IDX__ERR_POS) IDX__ERRPOS_END };
#undef IDX__ERR_POS
#define IDX__ERR_CODE(name, msg) IDX_ERR_##name = -IDX__ERRPOS_##name,
enum idx_err { IDX_ERRNO_MAP(IDX__ERR_CODE) };
#undef IDX__ERR_CODE

/* Returns a static message for an error code (0 gives "success"). */
const char *idx_strerror(int err);

/* printf into a caller's error buffer (err NULL or errlen 0: nothing). */
void idx_set_err(char *err, size_t errlen, const char *fmt, ...) IDX_PRINTF(3, 4);

/* Returns the symbolic name ("ABI_SHORT") of an error code. */
const char *idx_errname(int err);

/* Ethereum value types: fixed size, passed by pointer. */
typedef struct idx_addr_s {
  uint8_t b[20];
} idx_addr_t;

typedef struct idx_hash_s {
  uint8_t b[32];
} idx_hash_t;

/* A 256-bit unsigned integer, four 64-bit limbs, least significant first. */
typedef struct idx_u256_s {
  uint64_t w[4];
} idx_u256_t;

#endif
