/* libFuzzer target for the log decoder.
 *
 * Input layout: byte 0 picks the topic count (low 3 bits, 0..4) and, when
 * its top bit is set, replaces topic0 with a known event's topic0 (byte 1
 * picks which) so the fuzzer reaches the argument decoding quickly. Then
 * come the topics (32 bytes each), then the data. The data is copied into
 * an exactly-sized heap block so that ASan catches any overrun. */
#include "common.h"

#include "abi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef ABI_DIR
#error "ABI_DIR must name the abi/ folder"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t len);

static idx_abi_t abi;
static bool loaded;

static void load_once(void) {
  if (loaded)
    return;
  idx_abi_init(&abi);
  static const char *const files[] = {"DevLicenseDimo.json", "ManufacturerLicenseStake.json",
                                      "DimoToken.json"};
  for (size_t i = 0; i < IDX_ARRAY_LEN(files); i++) {
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/%s", ABI_DIR, files[i]);
    if (idx_abi_load_file(&abi, path, err, sizeof err) != 0) {
      fprintf(stderr, "fuzz_decoder: %s\n", err);
      abort();
    }
  }
  loaded = true;
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t len) {
  load_once();
  if (len < 2)
    return 0;
  size_t ntopics = in[0] & 7u;
  if (ntopics > IDX_ABI_MAX_TOPICS)
    ntopics = IDX_ABI_MAX_TOPICS;
  bool steer = (in[0] & 0x80u) != 0;
  size_t pick = in[1];
  in += 2;
  len -= 2;
  if (len < 32 * ntopics)
    return 0;
  idx_hash_t topics[IDX_ABI_MAX_TOPICS];
  memcpy(topics, in, 32 * ntopics);
  if (steer && ntopics > 0)
    topics[0] = abi.events[pick % abi.nevents].topic0;
  in += 32 * ntopics;
  len -= 32 * ntopics;
  uint8_t *data = malloc(len ? len : 1);
  if (!data)
    return 0;
  if (len)
    memcpy(data, in, len);
  idx_abi_decoded_t d;
  int rc = idx_abi_decode(&abi, topics, ntopics, data, len, &d);
  if (rc == 0 && d.event) {
    idx_buf_t json;
    idx_buf_init(&json, 1 << 20);
    if (idx_abi_decoded_to_json(&d, &json) != 0)
      abort(); /* a decoded log always renders */
    idx_buf_free(&json);
  }
  free(data);
  return 0;
}
