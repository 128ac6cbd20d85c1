/* ethjson.c: strict JSON-RPC result readers (see ethjson.h). */
#include "common.h"

#include "ethjson.h"
#include "hex.h"

#include <stdio.h>
#include <string.h>

int idx_ethjson_quantity(json_t *v, uint64_t *out) {
  const char *s = json_string_value(v);
  if (!s)
    return IDX_ERR_RPC_REPLY;
  return idx_hex_quantity(out, s, json_string_length(v)) ? IDX_ERR_RPC_REPLY : 0;
}

static int field_quantity(json_t *obj, const char *key, uint64_t *out, char *err, size_t errlen) {
  if (idx_ethjson_quantity(json_object_get(obj, key), out) == 0)
    return 0;
  idx_set_err(err, errlen, "\"%s\" missing or not a hex quantity", key);
  return IDX_ERR_RPC_REPLY;
}

static int field_bytes(json_t *obj, const char *key, uint8_t *out, size_t n, char *err,
                       size_t errlen) {
  json_t *v = json_object_get(obj, key);
  const char *s = json_string_value(v);
  if (s && idx_hex_decode_exact(out, n, s, json_string_length(v)) == 0)
    return 0;
  idx_set_err(err, errlen, "\"%s\" missing or not %zu bytes of hex", key, n);
  return IDX_ERR_RPC_REPLY;
}

int idx_ethjson_block(json_t *obj, idx_block_t *out, char *err, size_t errlen) {
  if (!json_is_object(obj)) {
    idx_set_err(err, errlen, "block is %s", obj ? "not an object" : "missing (null)");
    return IDX_ERR_RPC_REPLY;
  }
  uint64_t t;
  int rc = field_quantity(obj, "number", &out->number, err, errlen);
  if (!rc)
    rc = field_bytes(obj, "hash", out->hash.b, 32, err, errlen);
  if (!rc)
    rc = field_bytes(obj, "parentHash", out->parent_hash.b, 32, err, errlen);
  if (!rc)
    rc = field_quantity(obj, "timestamp", &t, err, errlen);
  if (!rc && t > (uint64_t)INT64_MAX) {
    idx_set_err(err, errlen, "\"timestamp\" out of range");
    rc = IDX_ERR_RPC_REPLY;
  }
  if (!rc)
    out->time = (int64_t)t;
  return rc;
}

int idx_ethjson_log_copy(const idx_logset_t *set, size_t i, idx_arena_t *arena, idx_log_t *out,
                         bool *removed, char *err, size_t errlen) {
  *out = set->logs[i];
  *removed = set->removed[i];
  size_t n = out->data_len;
  uint8_t *buf = idx_arena_alloc(arena, n ? n : 1); /* as idx_ethjson_log: the same cap */
  if (!buf) {
    memset(out, 0, sizeof *out);
    idx_set_err(err, errlen, "batch memory cap reached");
    return IDX_ERR_TOO_LARGE;
  }
  if (n)
    memcpy(buf, set->logs[i].data, n);
  out->data = buf;
  return 0;
}

int idx_ethjson_log(json_t *obj, idx_arena_t *arena, idx_log_t *out, bool *removed, char *err,
                    size_t errlen) {
  memset(out, 0, sizeof *out);
  out->block_time = -1;
  if (!json_is_object(obj)) {
    idx_set_err(err, errlen, "log is not an object");
    return IDX_ERR_RPC_REPLY;
  }
  uint64_t q;
  int rc = field_quantity(obj, "blockNumber", &out->block_number, err, errlen);
  if (!rc)
    rc = field_bytes(obj, "blockHash", out->block_hash.b, 32, err, errlen);
  if (!rc)
    rc = field_bytes(obj, "transactionHash", out->tx_hash.b, 32, err, errlen);
  if (!rc)
    rc = field_bytes(obj, "address", out->address.b, 20, err, errlen);
  if (!rc && !(rc = field_quantity(obj, "transactionIndex", &q, err, errlen))) {
    if (q > UINT32_MAX) {
      idx_set_err(err, errlen, "\"transactionIndex\" out of range");
      rc = IDX_ERR_RPC_REPLY;
    }
    out->tx_index = (uint32_t)q;
  }
  if (!rc && !(rc = field_quantity(obj, "logIndex", &q, err, errlen))) {
    if (q > UINT32_MAX) {
      idx_set_err(err, errlen, "\"logIndex\" out of range");
      rc = IDX_ERR_RPC_REPLY;
    }
    out->log_index = (uint32_t)q;
  }
  if (rc)
    return rc;
  json_t *ts = json_object_get(obj, "blockTimestamp");
  if (ts && !json_is_null(ts)) {
    if (idx_ethjson_quantity(ts, &q) || q > (uint64_t)INT64_MAX) {
      idx_set_err(err, errlen, "\"blockTimestamp\" not a hex quantity");
      return IDX_ERR_RPC_REPLY;
    }
    out->block_time = (int64_t)q;
  }
  json_t *rm = json_object_get(obj, "removed");
  if (rm && !json_is_boolean(rm)) {
    idx_set_err(err, errlen, "\"removed\" is not a boolean");
    return IDX_ERR_RPC_REPLY;
  }
  *removed = json_is_true(rm);

  json_t *topics = json_object_get(obj, "topics");
  if (!json_is_array(topics) || json_array_size(topics) > 4) {
    idx_set_err(err, errlen, "\"topics\" missing or longer than 4");
    return IDX_ERR_RPC_REPLY;
  }
  out->ntopics = (uint8_t)json_array_size(topics);
  for (size_t i = 0; i < out->ntopics; i++) {
    json_t *t = json_array_get(topics, i);
    const char *s = json_string_value(t);
    if (!s || idx_hex_decode_exact(out->topics[i].b, 32, s, json_string_length(t))) {
      idx_set_err(err, errlen, "topics[%zu] is not 32 bytes of hex", i);
      return IDX_ERR_RPC_REPLY;
    }
  }
  json_t *data = json_object_get(obj, "data");
  const char *ds = json_string_value(data);
  size_t dlen = ds ? json_string_length(data) : 0;
  if (!ds || dlen < 2 || (dlen - 2) / 2 > IDX_ETHJSON_MAX_LOG_DATA) {
    idx_set_err(err, errlen, "\"data\" missing or larger than %u bytes", IDX_ETHJSON_MAX_LOG_DATA);
    return IDX_ERR_RPC_REPLY;
  }
  size_t n = (dlen - 2) / 2;
  uint8_t *buf = idx_arena_alloc(arena, n ? n : 1);
  if (!buf) {
    idx_set_err(err, errlen, "batch memory cap reached");
    return IDX_ERR_TOO_LARGE;
  }
  size_t got = 0;
  if (idx_hex_decode(buf, n, &got, ds, dlen)) {
    idx_set_err(err, errlen, "\"data\" is not even-length hex");
    return IDX_ERR_RPC_REPLY;
  }
  out->data = buf;
  out->data_len = got;
  return 0;
}
