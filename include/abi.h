/*
 * abi.h: contract ABI files and the event-log decoder.
 *
 * An idx_abi_t is a set of events loaded from one or more Solidity ABI
 * JSON files (jansson parses them; nothing else here touches JSON input).
 * Each event gets its canonical signature and topic0 = keccak256 of it.
 *
 * The decoder sees bytes only: topics and data of one log. It matches an
 * event by topic0 *and* by its number of topics, because ERC-20 and
 * ERC-721 share the Transfer topic0 but differ in indexed arguments. It
 * checks every byte it reads (lengths, offsets, padding) and never reads
 * outside the buffers it was given. Decoded values point into the
 * caller's buffers: decoding allocates nothing, and the values stay valid
 * only as long as those buffers do.
 */
#ifndef IDX_ABI_H
#define IDX_ABI_H

#include "common.h"

#include "buf.h"

/* Most parameters one event may have (Solidity allows at most 3 indexed;
 * the data part is what this bounds). */
#define IDX_ABI_MAX_PARAMS 16
/* Most topics a log may carry (topic0 + 3 indexed). */
#define IDX_ABI_MAX_TOPICS 4

typedef enum idx_abi_kind_e {
  IDX_ABI_ADDRESS,
  IDX_ABI_BOOL,
  IDX_ABI_UINT,    /* uintN: size = N bits */
  IDX_ABI_INT,     /* intN: size = N bits */
  IDX_ABI_BYTES_N, /* bytesN: size = N bytes */
  IDX_ABI_STRING,
  IDX_ABI_BYTES,
} idx_abi_kind_t;

typedef struct idx_abi_type_s {
  idx_abi_kind_t kind;
  uint16_t size;
} idx_abi_type_t;

typedef struct idx_abi_param_s {
  char *name; /* owned; "arg<i>" when the ABI gives none */
  idx_abi_type_t type;
  bool indexed;
} idx_abi_param_t;

typedef struct idx_abi_event_s {
  char *name;      /* owned */
  char *signature; /* owned: canonical, e.g. "Transfer(address,address,uint256)" */
  idx_hash_t topic0;
  size_t nparams;
  idx_abi_param_t params[IDX_ABI_MAX_PARAMS];
  size_t ntopics;    /* 1 + number of indexed parameters */
  size_t head_words; /* number of non-indexed parameters (one head word each) */
} idx_abi_event_t;

typedef struct idx_abi_s {
  idx_abi_event_t *events; /* owned array */
  size_t nevents;
  size_t cap;
} idx_abi_t;

/* One decoded argument. For static types and for indexed arguments,
 * word is the 32-byte ABI word (an indexed string/bytes is the keccak of
 * its content, so word holds that hash). For non-indexed string/bytes,
 * dyn/dyn_len is the content. All pointers borrow the decoder's inputs. */
typedef struct idx_abi_value_s {
  const idx_abi_param_t *param;
  const uint8_t *word;
  const uint8_t *dyn;
  size_t dyn_len;
} idx_abi_value_t;

typedef struct idx_abi_decoded_s {
  const idx_abi_event_t *event; /* NULL when the topic0 is unknown */
  size_t nvalues;
  idx_abi_value_t values[IDX_ABI_MAX_PARAMS];
} idx_abi_decoded_t;

void idx_abi_init(idx_abi_t *abi) IDX_NONNULL(1);
void idx_abi_free(idx_abi_t *abi) IDX_NONNULL(1);

/* Adds every event of an ABI JSON array to abi. Non-event entries are
 * skipped; anonymous events too (they have no topic0 to match). An event
 * already in the set (same signature and indexed layout) is not added
 * twice. On failure nothing is added and err (errlen bytes) says why.
 * Returns 0, IDX_ERR_JSON, IDX_ERR_ABI_FILE, IDX_ERR_ABI_TYPE or IDX_ERR_NOMEM. */
IDX_WARN_UNUSED int idx_abi_load_json(idx_abi_t *abi, const char *text, size_t len, char *err,
                                      size_t errlen) IDX_NONNULL(1, 2, 4);

/* The same from a file (at most 4 MiB); IDX_ERR_IO when it cannot be read. */
IDX_WARN_UNUSED int idx_abi_load_file(idx_abi_t *abi, const char *path, char *err, size_t errlen)
    IDX_NONNULL(1, 2, 3);

/* Parses a Solidity type name ("uint256", "address", "bytes32", "uint" ...). */
IDX_WARN_UNUSED int idx_abi_parse_type(idx_abi_type_t *out, const char *name) IDX_NONNULL(1, 2);

/* Writes the canonical type name ("uint256") into out (at least 16 bytes). */
void idx_abi_type_name(char *out, size_t cap, const idx_abi_type_t *t) IDX_NONNULL(1, 3);

/* The event with this topic0 and topic count, or NULL. *topic0_known (if
 * not NULL) tells whether any event has this topic0 at all. */
const idx_abi_event_t *idx_abi_find(const idx_abi_t *abi, const idx_hash_t *topic0, size_t ntopics,
                                    bool *topic0_known) IDX_NONNULL(1, 2);

/* Decodes one log. topics holds ntopics 32-byte topics; data holds len
 * bytes. Returns 0 with out->event set; 0 with out->event NULL when the
 * log has no topics or an unknown topic0; or an error naming the defect:
 * IDX_ERR_ABI_TOPICS (topic0 known, topic count fits no event),
 * IDX_ERR_ABI_SHORT, IDX_ERR_ABI_OFFSET, IDX_ERR_ABI_LENGTH,
 * IDX_ERR_ABI_PADDING, IDX_ERR_ABI_BOOL, IDX_ERR_ABI_TRAILING. */
IDX_WARN_UNUSED int idx_abi_decode(const idx_abi_t *abi, const idx_hash_t *topics, size_t ntopics,
                                   const uint8_t *data, size_t len, idx_abi_decoded_t *out)
    IDX_NONNULL(1, 6);

/* The decoded value of the parameter named name, or NULL. */
const idx_abi_value_t *idx_abi_value_by_name(const idx_abi_decoded_t *d, const char *name)
    IDX_NONNULL(1, 2);

/* Typed accessors; each returns IDX_ERR_INVAL when the value has another kind. */
IDX_WARN_UNUSED int idx_abi_value_addr(const idx_abi_value_t *v, idx_addr_t *out) IDX_NONNULL(1, 2);
/* uintN only (int values need idx_abi_value_format). */
IDX_WARN_UNUSED int idx_abi_value_u256(const idx_abi_value_t *v, idx_u256_t *out) IDX_NONNULL(1, 2);
IDX_WARN_UNUSED int idx_abi_value_bool(const idx_abi_value_t *v, bool *out) IDX_NONNULL(1, 2);

/* Appends the value as text: 0x-hex for address/bytes/bytesN and hashed
 * indexed values, decimal for ints, true/false, the raw string. */
IDX_WARN_UNUSED int idx_abi_value_format(const idx_abi_value_t *v, idx_buf_t *out)
    IDX_NONNULL(1, 2);

/* Appends {"name": value, ...}: integers as decimal strings, bools as
 * JSON booleans, strings as JSON strings, bytes as 0x-hex strings. A
 * string that is not valid UTF-8 (or holds NUL) becomes
 * {"hex": "0x..."} so that nothing is lost and the JSON stays valid. */
IDX_WARN_UNUSED int idx_abi_decoded_to_json(const idx_abi_decoded_t *d, idx_buf_t *out)
    IDX_NONNULL(1, 2);

#endif
