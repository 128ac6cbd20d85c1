/* Deterministic random-input test of the decoder (the fuzz target's
 * fallback, and run everywhere): for every event of the project's ABIs,
 * valid encodings of random values must decode to those values, and
 * random mutations must give either a clean decode or a named error,
 * never a read outside the inputs (ASan checks that in the sanitizer run). */
#include "common.h"

#include "abi.h"
#include "check.h"

#include <stdlib.h>

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void) {
  /* xorshift64*: fixed seed, same sequence on every run. */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 2685821657736338717ull;
}

static void fill_valid_word(const idx_abi_type_t *t, uint8_t *w) {
  memset(w, 0, 32);
  switch (t->kind) {
  case IDX_ABI_ADDRESS:
    for (size_t i = 12; i < 32; i++)
      w[i] = (uint8_t)rng();
    break;
  case IDX_ABI_BOOL:
    w[31] = (uint8_t)(rng() & 1);
    break;
  case IDX_ABI_UINT:
  case IDX_ABI_INT:
    for (size_t i = 32 - t->size / 8u; i < 32; i++)
      w[i] = (uint8_t)rng();
    if (t->kind == IDX_ABI_INT && (w[32 - t->size / 8u] & 0x80))
      memset(w, 0xff, 32 - t->size / 8u);
    break;
  case IDX_ABI_BYTES_N:
    for (size_t i = 0; i < t->size; i++)
      w[i] = (uint8_t)rng();
    break;
  case IDX_ABI_STRING:
  case IDX_ABI_BYTES:
    for (size_t i = 0; i < 32; i++)
      w[i] = (uint8_t)rng();
    break;
  }
}

/* Encodes random values for ev; returns the data length. */
static size_t encode_random(const idx_abi_event_t *ev, idx_hash_t *topics, uint8_t *data,
                            size_t cap) {
  topics[0] = ev->topic0;
  size_t t = 1, word = 0, tail = ev->head_words * 32;
  for (size_t i = 0; i < ev->nparams; i++) {
    const idx_abi_param_t *p = &ev->params[i];
    if (p->indexed) {
      fill_valid_word(&p->type, topics[t++].b);
      continue;
    }
    uint8_t *w = data + 32 * word++;
    if (p->type.kind != IDX_ABI_STRING && p->type.kind != IDX_ABI_BYTES) {
      fill_valid_word(&p->type, w);
      continue;
    }
    size_t n = (size_t)(rng() % 70);
    size_t padded = (n + 31) / 32 * 32;
    if (tail + 32 + padded > cap)
      n = padded = 0;
    memset(w, 0, 32);
    w[30] = (uint8_t)(tail >> 8);
    w[31] = (uint8_t)tail;
    memset(data + tail, 0, 32 + padded);
    data[tail + 31] = (uint8_t)n;
    for (size_t k = 0; k < n; k++)
      data[tail + 32 + k] = (uint8_t)('a' + rng() % 26);
    tail += 32 + padded;
  }
  return tail;
}

static void check_inside(const idx_abi_decoded_t *d, const idx_hash_t *topics, size_t ntopics,
                         const uint8_t *data, size_t len) {
  for (size_t i = 0; i < d->nvalues; i++) {
    const idx_abi_value_t *v = &d->values[i];
    const uint8_t *tb = topics[0].b, *te = topics[0].b + 32 * ntopics;
    bool ok = true;
    if (v->word)
      ok = (v->word >= tb && v->word + 32 <= te) || (v->word >= data && v->word + 32 <= data + len);
    if (v->dyn)
      ok = ok && v->dyn >= data && v->dyn + v->dyn_len <= data + len;
    CHECK(ok);
  }
}

int main(void) {
  idx_abi_t abi;
  idx_abi_init(&abi);
  static const char *const files[] = {"DevLicenseDimo.json", "ManufacturerLicenseStake.json",
                                      "DimoToken.json"};
  for (size_t f = 0; f < IDX_ARRAY_LEN(files); f++) {
    char path[512], err[256];
    snprintf(path, sizeof path, "%s/%s", ABI_DIR, files[f]);
    CHECK_INT(idx_abi_load_file(&abi, path, err, sizeof err), 0);
  }
  CHECK(abi.nevents > 20);

  enum { ROUNDS = 20000, CAP = 1024 };
  size_t decoded = 0, refused = 0;
  for (int round = 0; round < ROUNDS; round++) {
    const idx_abi_event_t *ev = &abi.events[rng() % abi.nevents];
    idx_hash_t topics[IDX_ABI_MAX_TOPICS + 1];
    uint8_t *data = malloc(CAP); /* a fresh block so ASan sees every overrun */
    CHECK(data != NULL);
    if (!data)
      break;
    size_t len = encode_random(ev, topics, data, CAP);
    size_t ntopics = ev->ntopics;
    idx_abi_decoded_t d;
    int rc = idx_abi_decode(&abi, topics, ntopics, data, len, &d);
    CHECK_INT(rc, 0);
    CHECK(d.event != NULL && d.event->ntopics == ntopics &&
          memcmp(d.event->topic0.b, ev->topic0.b, 32) == 0);

    /* Mutate: flip bytes, cut or extend the data, change the topic count. */
    int mutations = 1 + (int)(rng() % 4);
    for (int m = 0; m < mutations; m++) {
      switch (rng() % 4) {
      case 0:
        if (len)
          data[rng() % len] ^= (uint8_t)(1u << (rng() % 8));
        break;
      case 1:
        len = len ? (size_t)(rng() % len) : 0;
        break;
      case 2:
        if (len < CAP)
          data[len++] = (uint8_t)rng();
        break;
      default:
        ntopics = (size_t)(rng() % (IDX_ABI_MAX_TOPICS + 1));
        break;
      }
    }
    uint8_t *exact = malloc(len ? len : 1);
    CHECK(exact != NULL);
    if (!exact) {
      free(data);
      break;
    }
    memcpy(exact, data, len);
    rc = idx_abi_decode(&abi, topics, ntopics, exact, len, &d);
    CHECK(rc == 0 || (rc <= IDX_ERR_ABI_TOPICS && rc >= IDX_ERR_ABI_TRAILING));
    if (rc == 0) {
      decoded++;
      check_inside(&d, topics, ntopics, exact, len);
      idx_buf_t json;
      idx_buf_init(&json, 1 << 16);
      CHECK_INT(idx_abi_decoded_to_json(&d, &json), 0);
      idx_buf_free(&json);
    } else {
      refused++;
    }
    free(exact);
    free(data);
  }
  fprintf(stderr, "random rounds: %d, mutated logs decoded %zu, refused %zu\n", ROUNDS, decoded,
          refused);
  CHECK(refused > 0);
  idx_abi_free(&abi);
  CHECK_DONE();
}
