/* abi.c: ABI file loading (jansson) and the bounds-checked log decoder. */
#include "common.h"

#include "abi.h"
#include "hex.h"
#include "keccak.h"
#include "u256.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ABI_FILE_MAX = 4 << 20, ABI_NAME_MAX = 256 };

void idx_abi_init(idx_abi_t *abi) { memset(abi, 0, sizeof *abi); }

static void event_clear(idx_abi_event_t *ev) {
  free(ev->name);
  free(ev->signature);
  for (size_t i = 0; i < ev->nparams; i++)
    free(ev->params[i].name);
  memset(ev, 0, sizeof *ev);
}

void idx_abi_free(idx_abi_t *abi) {
  for (size_t i = 0; i < abi->nevents; i++)
    event_clear(&abi->events[i]);
  free(abi->events);
  idx_abi_init(abi);
}

/* Parses the decimal suffix of "uint256"/"bytes32"; returns -1 on junk. */
static long type_suffix(const char *s) {
  if (*s == '\0')
    return 0;
  if (*s == '0' || strlen(s) > 3)
    return -1;
  long v = 0;
  for (; *s; s++) {
    if (*s < '0' || *s > '9')
      return -1;
    v = v * 10 + (*s - '0');
  }
  return v;
}

int idx_abi_parse_type(idx_abi_type_t *out, const char *name) {
  if (strcmp(name, "address") == 0) {
    *out = (idx_abi_type_t){IDX_ABI_ADDRESS, 160};
    return 0;
  }
  if (strcmp(name, "bool") == 0) {
    *out = (idx_abi_type_t){IDX_ABI_BOOL, 8};
    return 0;
  }
  if (strcmp(name, "string") == 0) {
    *out = (idx_abi_type_t){IDX_ABI_STRING, 0};
    return 0;
  }
  if (strcmp(name, "bytes") == 0) {
    *out = (idx_abi_type_t){IDX_ABI_BYTES, 0};
    return 0;
  }
  long n;
  if (strncmp(name, "uint", 4) == 0 || strncmp(name, "int", 3) == 0) {
    bool is_uint = name[0] == 'u';
    n = type_suffix(name + (is_uint ? 4 : 3));
    if (n == 0)
      n = 256;
    if (n < 8 || n > 256 || n % 8)
      return IDX_ERR_ABI_TYPE;
    *out = (idx_abi_type_t){is_uint ? IDX_ABI_UINT : IDX_ABI_INT, (uint16_t)n};
    return 0;
  }
  if (strncmp(name, "bytes", 5) == 0) {
    n = type_suffix(name + 5);
    if (n < 1 || n > 32)
      return IDX_ERR_ABI_TYPE;
    *out = (idx_abi_type_t){IDX_ABI_BYTES_N, (uint16_t)n};
    return 0;
  }
  return IDX_ERR_ABI_TYPE;
}

void idx_abi_type_name(char *out, size_t cap, const idx_abi_type_t *t) {
  switch (t->kind) {
  case IDX_ABI_ADDRESS:
    snprintf(out, cap, "address");
    break;
  case IDX_ABI_BOOL:
    snprintf(out, cap, "bool");
    break;
  case IDX_ABI_UINT:
    snprintf(out, cap, "uint%u", (unsigned)t->size);
    break;
  case IDX_ABI_INT:
    snprintf(out, cap, "int%u", (unsigned)t->size);
    break;
  case IDX_ABI_BYTES_N:
    snprintf(out, cap, "bytes%u", (unsigned)t->size);
    break;
  case IDX_ABI_STRING:
    snprintf(out, cap, "string");
    break;
  case IDX_ABI_BYTES:
    snprintf(out, cap, "bytes");
    break;
  }
}

static bool is_dynamic(const idx_abi_type_t *t) {
  return t->kind == IDX_ABI_STRING || t->kind == IDX_ABI_BYTES;
}

static bool valid_identifier(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > ABI_NAME_MAX)
    return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    bool ok = c == '_' || c == '$' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok)
      return false;
  }
  return true;
}

/* Fills ev from one JSON event object. ev must be zeroed; on failure the
 * caller clears it. */
static int event_from_json(idx_abi_event_t *ev, json_t *obj, size_t index, char *err,
                           size_t errlen) {
  const char *name = json_string_value(json_object_get(obj, "name"));
  json_t *inputs = json_object_get(obj, "inputs");
  if (!name || !valid_identifier(name)) {
    idx_set_err(err, errlen, "entry %zu: event without a valid \"name\"", index);
    return IDX_ERR_ABI_FILE;
  }
  if (!json_is_array(inputs)) {
    idx_set_err(err, errlen, "event %s: \"inputs\" is not an array", name);
    return IDX_ERR_ABI_FILE;
  }
  if (json_array_size(inputs) > IDX_ABI_MAX_PARAMS) {
    idx_set_err(err, errlen, "event %s: more than %d inputs", name, IDX_ABI_MAX_PARAMS);
    return IDX_ERR_ABI_FILE;
  }
  if (!(ev->name = strdup(name)))
    return IDX_ERR_NOMEM;

  idx_buf_t sig;
  idx_buf_init(&sig, 4096);
  int rc = idx_buf_addf(&sig, "%s(", name);
  size_t indexed = 0;
  for (size_t i = 0; rc == 0 && i < json_array_size(inputs); i++) {
    json_t *in = json_array_get(inputs, i);
    const char *type = json_string_value(json_object_get(in, "type"));
    const char *pname = json_string_value(json_object_get(in, "name"));
    json_t *jindexed = json_object_get(in, "indexed");
    idx_abi_param_t *p = &ev->params[i];
    if (!type) {
      idx_set_err(err, errlen, "event %s: input %zu has no \"type\"", name, i);
      rc = IDX_ERR_ABI_FILE;
      break;
    }
    if (jindexed && !json_is_boolean(jindexed)) {
      idx_set_err(err, errlen, "event %s: input %zu: \"indexed\" is not a boolean", name, i);
      rc = IDX_ERR_ABI_FILE;
      break;
    }
    if (idx_abi_parse_type(&p->type, type) != 0) {
      idx_set_err(err, errlen, "event %s: input %zu: unsupported type '%s'", name, i, type);
      rc = IDX_ERR_ABI_TYPE;
      break;
    }
    p->indexed = json_is_true(jindexed);
    indexed += p->indexed;
    char fallback[24];
    if (!pname || !*pname) {
      snprintf(fallback, sizeof fallback, "arg%zu", i);
      pname = fallback;
    } else if (!valid_identifier(pname)) {
      idx_set_err(err, errlen, "event %s: input %zu: bad name", name, i);
      rc = IDX_ERR_ABI_FILE;
      break;
    }
    if (!(p->name = strdup(pname))) {
      rc = IDX_ERR_NOMEM;
      break;
    }
    ev->nparams = i + 1;
    char tname[16];
    idx_abi_type_name(tname, sizeof tname, &p->type);
    rc = idx_buf_addf(&sig, "%s%s", i ? "," : "", tname);
  }
  if (rc == 0 && indexed > IDX_ABI_MAX_TOPICS - 1) {
    idx_set_err(err, errlen, "event %s: more than 3 indexed inputs", name);
    rc = IDX_ERR_ABI_FILE;
  }
  if (rc == 0)
    rc = idx_buf_adds(&sig, ")");
  if (rc == 0) {
    ev->signature = sig.data; /* take ownership */
    idx_buf_init(&sig, 0);
    idx_keccak256(&ev->topic0, ev->signature, strlen(ev->signature));
    ev->ntopics = 1 + indexed;
    ev->head_words = ev->nparams - indexed;
  }
  idx_buf_free(&sig);
  return rc;
}

static bool same_layout(const idx_abi_event_t *a, const idx_abi_event_t *b) {
  if (strcmp(a->signature, b->signature) != 0 || a->nparams != b->nparams)
    return false;
  for (size_t i = 0; i < a->nparams; i++) {
    if (a->params[i].indexed != b->params[i].indexed)
      return false;
  }
  return true;
}

int idx_abi_load_json(idx_abi_t *abi, const char *text, size_t len, char *err, size_t errlen) {
  json_error_t jerr;
  json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!root) {
    idx_set_err(err, errlen, "line %d: %s", jerr.line, jerr.text);
    return IDX_ERR_JSON;
  }
  if (!json_is_array(root)) {
    idx_set_err(err, errlen, "an ABI file is a JSON array");
    json_decref(root);
    return IDX_ERR_ABI_FILE;
  }
  size_t first_new = abi->nevents;
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < json_array_size(root); i++) {
    json_t *entry = json_array_get(root, i);
    const char *type = json_string_value(json_object_get(entry, "type"));
    if (!json_is_object(entry) || !type) {
      idx_set_err(err, errlen, "entry %zu: not an object with a \"type\"", i);
      rc = IDX_ERR_ABI_FILE;
      break;
    }
    if (strcmp(type, "event") != 0 || json_is_true(json_object_get(entry, "anonymous")))
      continue;
    if (abi->nevents == abi->cap) {
      size_t cap = abi->cap ? abi->cap * 2 : 16;
      idx_abi_event_t *p = realloc(abi->events, cap * sizeof *p);
      if (!p) {
        rc = IDX_ERR_NOMEM;
        break;
      }
      abi->events = p;
      abi->cap = cap;
    }
    idx_abi_event_t *ev = &abi->events[abi->nevents];
    memset(ev, 0, sizeof *ev);
    rc = event_from_json(ev, entry, i, err, errlen);
    if (rc) {
      event_clear(ev);
      break;
    }
    bool dup = false;
    for (size_t k = 0; k < abi->nevents && !dup; k++)
      dup = same_layout(&abi->events[k], ev);
    if (dup)
      event_clear(ev);
    else
      abi->nevents++;
  }
  json_decref(root);
  if (rc) {
    while (abi->nevents > first_new)
      event_clear(&abi->events[--abi->nevents]);
  }
  return rc;
}

int idx_abi_load_file(idx_abi_t *abi, const char *path, char *err, size_t errlen) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    idx_set_err(err, errlen, "%s: %s", path, strerror(errno));
    return IDX_ERR_IO;
  }
  idx_buf_t text;
  idx_buf_init(&text, ABI_FILE_MAX);
  char chunk[8192];
  size_t n;
  int rc = 0;
  while (rc == 0 && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
    rc = idx_buf_add(&text, chunk, n);
  if (rc == 0 && ferror(f))
    rc = IDX_ERR_IO;
  fclose(f);
  if (rc) {
    idx_set_err(err, errlen, "%s: %s", path, idx_strerror(rc));
  } else {
    char inner[512] = "";
    rc = idx_abi_load_json(abi, text.data ? text.data : "", text.len, inner, sizeof inner);
    if (rc)
      idx_set_err(err, errlen, "%s: %s", path, inner);
  }
  idx_buf_free(&text);
  return rc;
}

const idx_abi_event_t *idx_abi_find(const idx_abi_t *abi, const idx_hash_t *topic0, size_t ntopics,
                                    bool *topic0_known) {
  bool known = false;
  const idx_abi_event_t *hit = NULL;
  for (size_t i = 0; i < abi->nevents && !hit; i++) {
    const idx_abi_event_t *ev = &abi->events[i];
    if (memcmp(ev->topic0.b, topic0->b, 32) != 0)
      continue;
    known = true;
    if (ev->ntopics == ntopics)
      hit = ev;
  }
  if (topic0_known)
    *topic0_known = known;
  return hit;
}

static bool all_zero(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (p[i])
      return false;
  }
  return true;
}

/* Checks that a 32-byte word is a canonical encoding of a static type. */
static int check_word(const idx_abi_type_t *t, const uint8_t *w) {
  switch (t->kind) {
  case IDX_ABI_ADDRESS:
    return all_zero(w, 12) ? 0 : IDX_ERR_ABI_PADDING;
  case IDX_ABI_BOOL:
    if (!all_zero(w, 31))
      return IDX_ERR_ABI_PADDING;
    return w[31] <= 1 ? 0 : IDX_ERR_ABI_BOOL;
  case IDX_ABI_UINT:
    return all_zero(w, 32 - t->size / 8u) ? 0 : IDX_ERR_ABI_PADDING;
  case IDX_ABI_INT: {
    /* The unused high bytes must repeat the sign bit. */
    size_t used = t->size / 8u;
    uint8_t fill = (w[32 - used] & 0x80) ? 0xFF : 0x00;
    for (size_t i = 0; i < 32 - used; i++) {
      if (w[i] != fill)
        return IDX_ERR_ABI_PADDING;
    }
    return 0;
  }
  case IDX_ABI_BYTES_N:
    return all_zero(w + t->size, 32u - t->size) ? 0 : IDX_ERR_ABI_PADDING;
  case IDX_ABI_STRING:
  case IDX_ABI_BYTES:
    return 0; /* indexed dynamic values are hashes: any 32 bytes */
  }
  return IDX_ERR_ABI_TYPE;
}

/* Reads a head word that must hold a size_t-sized unsigned integer. */
static bool word_to_size(const uint8_t *w, size_t *out) {
  if (!all_zero(w, 24))
    return false;
  uint64_t v = 0;
  for (size_t i = 24; i < 32; i++)
    v = (v << 8) | w[i];
  if (v > SIZE_MAX)
    return false;
  *out = (size_t)v;
  return true;
}

int idx_abi_decode(const idx_abi_t *abi, const idx_hash_t *topics, size_t ntopics,
                   const uint8_t *data, size_t len, idx_abi_decoded_t *out) {
  memset(out, 0, sizeof *out);
  if (ntopics == 0 || !topics)
    return 0; /* anonymous log: unknown, not an error */
  if (len && !data)
    return IDX_ERR_INVAL;
  bool known = false;
  const idx_abi_event_t *ev = idx_abi_find(abi, &topics[0], ntopics, &known);
  if (!ev)
    return known ? IDX_ERR_ABI_TOPICS : 0;

  size_t head = ev->head_words * 32;
  if (len < head)
    return IDX_ERR_ABI_SHORT;
  size_t end = head; /* furthest byte the encoding accounts for */
  size_t topic = 1, word = 0;
  for (size_t i = 0; i < ev->nparams; i++) {
    const idx_abi_param_t *p = &ev->params[i];
    idx_abi_value_t *v = &out->values[i];
    v->param = p;
    if (p->indexed) {
      v->word = topics[topic++].b;
      int rc = check_word(&p->type, v->word);
      if (rc)
        return rc;
      continue;
    }
    const uint8_t *w = data + 32 * word++;
    if (!is_dynamic(&p->type)) {
      int rc = check_word(&p->type, w);
      if (rc)
        return rc;
      v->word = w;
      continue;
    }
    size_t off, n;
    if (!word_to_size(w, &off) || off > len || len - off < 32)
      return IDX_ERR_ABI_OFFSET;
    if (off < head)
      return IDX_ERR_ABI_OFFSET; /* a tail may not overlap the head */
    if (!word_to_size(data + off, &n) || n > len - off - 32)
      return IDX_ERR_ABI_LENGTH;
    size_t padded = (n + 31) / 32 * 32;
    if (padded > len - off - 32)
      return IDX_ERR_ABI_LENGTH;
    if (!all_zero(data + off + 32 + n, padded - n))
      return IDX_ERR_ABI_PADDING;
    v->dyn = data + off + 32;
    v->dyn_len = n;
    if (off + 32 + padded > end)
      end = off + 32 + padded;
  }
  if (len > end)
    return IDX_ERR_ABI_TRAILING;
  out->event = ev;
  out->nvalues = ev->nparams;
  return 0;
}

const idx_abi_value_t *idx_abi_value_by_name(const idx_abi_decoded_t *d, const char *name) {
  for (size_t i = 0; i < d->nvalues; i++) {
    if (strcmp(d->values[i].param->name, name) == 0)
      return &d->values[i];
  }
  return NULL;
}

int idx_abi_value_addr(const idx_abi_value_t *v, idx_addr_t *out) {
  if (v->param->type.kind != IDX_ABI_ADDRESS)
    return IDX_ERR_INVAL;
  memcpy(out->b, v->word + 12, 20);
  return 0;
}

int idx_abi_value_u256(const idx_abi_value_t *v, idx_u256_t *out) {
  if (v->param->type.kind != IDX_ABI_UINT)
    return IDX_ERR_INVAL;
  idx_u256_from_be(out, v->word);
  return 0;
}

int idx_abi_value_bool(const idx_abi_value_t *v, bool *out) {
  if (v->param->type.kind != IDX_ABI_BOOL)
    return IDX_ERR_INVAL;
  *out = v->word[31] != 0;
  return 0;
}

static int add_hex(idx_buf_t *out, const uint8_t *bytes, size_t n) {
  int rc = idx_buf_reserve(out, 2 * n + 2);
  if (rc)
    return rc;
  rc = idx_hex_encode(out->data + out->len, out->cap - out->len, bytes, n);
  if (rc == 0)
    out->len += 2 * n + 2;
  return rc;
}

int idx_abi_value_format(const idx_abi_value_t *v, idx_buf_t *out) {
  const idx_abi_type_t *t = &v->param->type;
  if (v->param->indexed && is_dynamic(t))
    return add_hex(out, v->word, 32);
  char dec[IDX_U256_DEC_MAX];
  idx_u256_t u;
  switch (t->kind) {
  case IDX_ABI_ADDRESS:
    return add_hex(out, v->word + 12, 20);
  case IDX_ABI_BOOL:
    return idx_buf_adds(out, v->word[31] ? "true" : "false");
  case IDX_ABI_UINT:
    idx_u256_from_be(&u, v->word);
    return idx_buf_add(out, dec, idx_u256_to_dec(dec, &u));
  case IDX_ABI_INT:
    idx_u256_from_be(&u, v->word);
    return idx_buf_add(out, dec, idx_u256_to_dec_signed(dec, &u, 256));
  case IDX_ABI_BYTES_N:
    return add_hex(out, v->word, t->size);
  case IDX_ABI_STRING:
    return idx_buf_add(out, v->dyn, v->dyn_len);
  case IDX_ABI_BYTES:
    return add_hex(out, v->dyn, v->dyn_len);
  }
  return IDX_ERR_ABI_TYPE;
}

static int value_to_json(const idx_abi_value_t *v, idx_buf_t *out) {
  const idx_abi_type_t *t = &v->param->type;
  if (t->kind == IDX_ABI_BOOL)
    return idx_abi_value_format(v, out);
  if (t->kind == IDX_ABI_STRING && !v->param->indexed) {
    if (idx_utf8_valid(v->dyn, v->dyn_len))
      return idx_buf_add_json_str(out, (const char *)v->dyn, v->dyn_len);
    int rc = idx_buf_adds(out, "{\"hex\":\"");
    if (!rc)
      rc = add_hex(out, v->dyn, v->dyn_len);
    return rc ? rc : idx_buf_adds(out, "\"}");
  }
  /* Every other rendering is plain ASCII without quotes or escapes. */
  int rc = idx_buf_adds(out, "\"");
  if (!rc)
    rc = idx_abi_value_format(v, out);
  return rc ? rc : idx_buf_adds(out, "\"");
}

int idx_abi_decoded_to_json(const idx_abi_decoded_t *d, idx_buf_t *out) {
  int rc = idx_buf_adds(out, "{");
  for (size_t i = 0; rc == 0 && i < d->nvalues; i++) {
    const idx_abi_value_t *v = &d->values[i];
    if (i)
      rc = idx_buf_adds(out, ",");
    if (!rc)
      rc = idx_buf_add_json_str(out, v->param->name, strlen(v->param->name));
    if (!rc)
      rc = idx_buf_adds(out, ":");
    if (!rc)
      rc = value_to_json(v, out);
  }
  return rc ? rc : idx_buf_adds(out, "}");
}
