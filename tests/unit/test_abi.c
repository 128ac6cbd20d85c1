/* Unit tests for abi.c: loading the project's ABI files, decoding
 * real-shaped logs into the right values, and refusing each malformed
 * case with its own error. ABI_DIR is the source tree's abi/ folder. */
#include "common.h"

#include "abi.h"
#include "check.h"
#include "hex.h"
#include "keccak.h"
#include "u256.h"

#include <stdlib.h>

#ifndef ABI_DIR
#error "ABI_DIR must name the abi/ folder"
#endif

static idx_abi_t load(const char *file) {
  idx_abi_t abi;
  idx_abi_init(&abi);
  char path[512], err[512];
  snprintf(path, sizeof path, "%s/%s", ABI_DIR, file);
  int rc = idx_abi_load_file(&abi, path, err, sizeof err);
  if (rc)
    fprintf(stderr, "load %s: %s\n", file, err);
  CHECK_INT(rc, 0);
  return abi;
}

static idx_hash_t topic_of(const char *sig) {
  idx_hash_t h;
  idx_keccak256(&h, sig, strlen(sig));
  return h;
}

static idx_hash_t word_u64(uint64_t v) {
  idx_hash_t w;
  memset(&w, 0, sizeof w);
  for (size_t i = 0; i < 8; i++)
    w.b[31 - i] = (uint8_t)(v >> (8 * i));
  return w;
}

static idx_hash_t word_dec(const char *dec) {
  idx_u256_t u;
  idx_hash_t w;
  CHECK_INT(idx_u256_from_dec(&u, dec, strlen(dec)), 0);
  idx_u256_to_be(w.b, &u);
  return w;
}

static idx_hash_t word_addr(const char *hex) {
  idx_hash_t w;
  idx_addr_t a;
  memset(&w, 0, sizeof w);
  CHECK_INT(idx_addr_from_hex(&a, hex), 0);
  memcpy(w.b + 12, a.b, 20);
  return w;
}

/* Renders a decoded value as text for comparison. */
static char *fmt(const idx_abi_decoded_t *d, const char *name) {
  static char out[512];
  const idx_abi_value_t *v = idx_abi_value_by_name(d, name);
  if (!v)
    return NULL;
  idx_buf_t b;
  idx_buf_init(&b, sizeof out - 1);
  int rc = idx_abi_value_format(v, &b);
  snprintf(out, sizeof out, "%s", rc ? "(error)" : b.data ? b.data : "");
  idx_buf_free(&b);
  return out;
}

static char *to_json(const idx_abi_decoded_t *d) {
  static char out[2048];
  idx_buf_t b;
  idx_buf_init(&b, sizeof out - 1);
  int rc = idx_abi_decoded_to_json(d, &b);
  snprintf(out, sizeof out, "%s", rc ? "(error)" : b.data);
  idx_buf_free(&b);
  return out;
}

static const char *owner = "0x1111111111111111111111111111111111111111";
static const char *client = "0x2222222222222222222222222222222222222222";

static void test_load_files(void) {
  idx_abi_t app = load("DevLicenseDimo.json");
  CHECK_INT(app.nevents, 19); /* 15 + the role events (#25) + Initialized */
  idx_abi_t node = load("ManufacturerLicenseStake.json");
  CHECK_INT(node.nevents, 10); /* 7 + the role events (Stake.sol is AccessControl) */
  idx_abi_t tok = load("DimoToken.json");
  CHECK_INT(tok.nevents, 1);
  CHECK_STR(tok.events[0].signature, "Transfer(address,address,uint256)");
  CHECK_INT(tok.events[0].ntopics, 3);
  /* Loading into the same set twice adds no duplicates. */
  char err[256];
  char path[512];
  snprintf(path, sizeof path, "%s/DevLicenseDimo.json", ABI_DIR);
  CHECK_INT(idx_abi_load_file(&app, path, err, sizeof err), 0);
  CHECK_INT(app.nevents, 19); /* 15 + the role events (#25) + Initialized */
  idx_abi_free(&app);
  idx_abi_free(&node);
  idx_abi_free(&tok);
}

static void test_load_errors(void) {
  idx_abi_t abi;
  idx_abi_init(&abi);
  char err[256];
  const char *bad_json = "[{";
  CHECK_INT(idx_abi_load_json(&abi, bad_json, strlen(bad_json), err, sizeof err), IDX_ERR_JSON);
  const char *not_array = "{}";
  CHECK_INT(idx_abi_load_json(&abi, not_array, 2, err, sizeof err), IDX_ERR_ABI_FILE);
  const char *tuple =
      "[{\"type\":\"event\",\"name\":\"E\",\"inputs\":[{\"name\":\"a\",\"type\":\"tuple\"}]}]";
  CHECK_INT(idx_abi_load_json(&abi, tuple, strlen(tuple), err, sizeof err), IDX_ERR_ABI_TYPE);
  CHECK(strstr(err, "tuple") != NULL);
  const char *four_indexed = "[{\"type\":\"event\",\"name\":\"E\",\"inputs\":["
                             "{\"name\":\"a\",\"type\":\"uint8\",\"indexed\":true},"
                             "{\"name\":\"b\",\"type\":\"uint8\",\"indexed\":true},"
                             "{\"name\":\"c\",\"type\":\"uint8\",\"indexed\":true},"
                             "{\"name\":\"d\",\"type\":\"uint8\",\"indexed\":true}]}]";
  CHECK_INT(idx_abi_load_json(&abi, four_indexed, strlen(four_indexed), err, sizeof err),
            IDX_ERR_ABI_FILE);
  /* A good event after a bad one in the same file: nothing is kept. */
  const char *mixed = "[{\"type\":\"event\",\"name\":\"Ok\",\"inputs\":[]},"
                      "{\"type\":\"event\",\"name\":\"\",\"inputs\":[]}]";
  CHECK_INT(idx_abi_load_json(&abi, mixed, strlen(mixed), err, sizeof err), IDX_ERR_ABI_FILE);
  CHECK_INT(abi.nevents, 0);
  /* Functions and anonymous events are skipped; "uint" means uint256. */
  const char *skip = "[{\"type\":\"function\",\"name\":\"f\",\"inputs\":[]},"
                     "{\"type\":\"event\",\"name\":\"A\",\"anonymous\":true,\"inputs\":[]},"
                     "{\"type\":\"event\",\"name\":\"B\",\"inputs\":[{\"type\":\"uint\"}]}]";
  CHECK_INT(idx_abi_load_json(&abi, skip, strlen(skip), err, sizeof err), 0);
  CHECK_INT(abi.nevents, 1);
  CHECK_STR(abi.events[0].signature, "B(uint256)");
  CHECK_STR(abi.events[0].params[0].name, "arg0");
  CHECK_INT(idx_abi_load_file(&abi, "/nonexistent/abi.json", err, sizeof err), IDX_ERR_IO);
  idx_abi_free(&abi);
}

static void test_decode_app_events(void) {
  idx_abi_t abi = load("DevLicenseDimo.json");
  idx_abi_decoded_t d;

  /* Issued(uint256 indexed tokenId, address indexed owner, address indexed clientId) */
  idx_hash_t issued[4] = {topic_of("Issued(uint256,address,address)"), word_u64(12),
                          word_addr(owner), word_addr(client)};
  CHECK_INT(idx_abi_decode(&abi, issued, 4, NULL, 0, &d), 0);
  CHECK(d.event && strcmp(d.event->name, "Issued") == 0);
  CHECK_STR(fmt(&d, "tokenId"), "12");
  CHECK_STR(fmt(&d, "owner"), owner);
  CHECK_STR(fmt(&d, "clientId"), client);
  CHECK_STR(to_json(&d),
            "{\"tokenId\":\"12\",\"owner\":\"0x1111111111111111111111111111111111111111\","
            "\"clientId\":\"0x2222222222222222222222222222222222222222\"}");
  idx_addr_t a;
  CHECK_INT(idx_abi_value_addr(idx_abi_value_by_name(&d, "owner"), &a), 0);
  CHECK_INT(a.b[0], 0x11);
  idx_u256_t u;
  CHECK_INT(idx_abi_value_u256(idx_abi_value_by_name(&d, "owner"), &u), IDX_ERR_INVAL);

  /* StakeDeposit(uint256 indexed tokenId, address indexed user, uint256 amount) */
  idx_hash_t stake[3] = {topic_of("StakeDeposit(uint256,address,uint256)"), word_u64(12),
                         word_addr(owner)};
  idx_hash_t amount = word_dec("10000000000000000000000");
  CHECK_INT(idx_abi_decode(&abi, stake, 3, amount.b, 32, &d), 0);
  CHECK(d.event && strcmp(d.event->name, "StakeDeposit") == 0);
  CHECK_STR(fmt(&d, "amount"), "10000000000000000000000");
  CHECK_STR(fmt(&d, "user"), owner);
  CHECK_INT(idx_abi_value_u256(idx_abi_value_by_name(&d, "amount"), &u), 0);
  char dec[IDX_U256_DEC_MAX];
  idx_u256_to_dec(dec, &u);
  CHECK_STR(dec, "10000000000000000000000");

  /* AssetFreezeUpdate(uint256 indexed tokenId, uint256 amount, bool frozen) */
  idx_hash_t freeze[2] = {topic_of("AssetFreezeUpdate(uint256,uint256,bool)"), word_u64(7)};
  uint8_t fdata[64];
  idx_hash_t fa = word_dec("5000000000000000000"), fb = word_u64(1);
  memcpy(fdata, fa.b, 32);
  memcpy(fdata + 32, fb.b, 32);
  CHECK_INT(idx_abi_decode(&abi, freeze, 2, fdata, 64, &d), 0);
  CHECK(d.event && strcmp(d.event->name, "AssetFreezeUpdate") == 0);
  CHECK_STR(fmt(&d, "amount"), "5000000000000000000");
  CHECK_STR(fmt(&d, "frozen"), "true");
  bool frozen = false;
  CHECK_INT(idx_abi_value_bool(idx_abi_value_by_name(&d, "frozen"), &frozen), 0);
  CHECK(frozen);
  CHECK_STR(to_json(&d), "{\"tokenId\":\"7\",\"amount\":\"5000000000000000000\",\"frozen\":true}");
  fdata[63] = 2; /* a bool that is neither 0 nor 1 */
  CHECK_INT(idx_abi_decode(&abi, freeze, 2, fdata, 64, &d), IDX_ERR_ABI_BOOL);
  fdata[63] = 1;
  fdata[40] = 1; /* dirty high bytes of the bool word */
  CHECK_INT(idx_abi_decode(&abi, freeze, 2, fdata, 64, &d), IDX_ERR_ABI_PADDING);

  /* LicenseAliasSet(uint256 indexed tokenId, string licenseAlias) */
  idx_hash_t alias_s[2] = {topic_of("LicenseAliasSet(uint256,string)"), word_u64(12)};
  uint8_t sdata[96] = {0};
  sdata[31] = 0x20;
  sdata[63] = 14;
  memcpy(sdata + 64, "fleet-insights", 14);
  CHECK_INT(idx_abi_decode(&abi, alias_s, 2, sdata, 96, &d), 0);
  CHECK(d.event && strcmp(d.event->signature, "LicenseAliasSet(uint256,string)") == 0);
  CHECK_STR(fmt(&d, "licenseAlias"), "fleet-insights");
  CHECK_STR(to_json(&d), "{\"tokenId\":\"12\",\"licenseAlias\":\"fleet-insights\"}");

  /* LicenseAliasSet(uint256 indexed tokenId, bytes32 licenseAlias), older variant */
  idx_hash_t alias_b[2] = {topic_of("LicenseAliasSet(uint256,bytes32)"), word_u64(12)};
  uint8_t bdata[32] = {0};
  memcpy(bdata, "fleet-insights", 14);
  CHECK_INT(idx_abi_decode(&abi, alias_b, 2, bdata, 32, &d), 0);
  CHECK(d.event && strcmp(d.event->signature, "LicenseAliasSet(uint256,bytes32)") == 0);
  CHECK_STR(fmt(&d, "licenseAlias"),
            "0x666c6565742d696e736967687473000000000000000000000000000000000000");
  idx_abi_free(&abi);
}

static void test_transfer_by_topic_count(void) {
  idx_abi_t abi = load("DevLicenseDimo.json");
  char err[256], path[512];
  snprintf(path, sizeof path, "%s/DimoToken.json", ABI_DIR);
  CHECK_INT(idx_abi_load_file(&abi, path, err, sizeof err), 0);
  idx_abi_decoded_t d;
  idx_hash_t t0 = topic_of("Transfer(address,address,uint256)");
  /* ERC-20: value in data, 3 topics. */
  idx_hash_t erc20[3] = {t0, word_addr(owner),
                         word_addr("0x0000000000000000000000000000000000000000")};
  idx_hash_t value = word_dec("2500000000000000000000");
  CHECK_INT(idx_abi_decode(&abi, erc20, 3, value.b, 32, &d), 0);
  CHECK(d.event && d.event->ntopics == 3);
  CHECK_STR(fmt(&d, "value"), "2500000000000000000000");
  CHECK_STR(fmt(&d, "to"), "0x0000000000000000000000000000000000000000");
  /* ERC-721: tokenId indexed, 4 topics, no data. */
  idx_hash_t erc721[4] = {t0, word_addr("0x0000000000000000000000000000000000000000"),
                          word_addr(owner), word_u64(12)};
  CHECK_INT(idx_abi_decode(&abi, erc721, 4, NULL, 0, &d), 0);
  CHECK(d.event && d.event->ntopics == 4);
  CHECK_STR(fmt(&d, "tokenId"), "12");
  idx_abi_free(&abi);

  /* With only the ERC-721 ABI, an ERC-20-shaped Transfer is a topic-count error. */
  idx_abi_t nft = load("ManufacturerLicenseStake.json");
  CHECK_INT(idx_abi_decode(&nft, erc20, 3, value.b, 32, &d), IDX_ERR_ABI_TOPICS);
  idx_abi_free(&nft);
}

static void test_malformed(void) {
  idx_abi_t abi = load("DevLicenseDimo.json");
  idx_abi_decoded_t d;
  idx_hash_t stake[3] = {topic_of("StakeDeposit(uint256,address,uint256)"), word_u64(1),
                         word_addr(owner)};
  uint8_t amount[33] = {0};
  amount[31] = 5;
  /* Short data. */
  CHECK_INT(idx_abi_decode(&abi, stake, 3, amount, 31, &d), IDX_ERR_ABI_SHORT);
  CHECK(d.event == NULL);
  /* Trailing bytes past the encoding. */
  CHECK_INT(idx_abi_decode(&abi, stake, 3, amount, 33, &d), IDX_ERR_ABI_TRAILING);
  /* Too few and too many topics. */
  CHECK_INT(idx_abi_decode(&abi, stake, 2, amount, 32, &d), IDX_ERR_ABI_TOPICS);
  idx_hash_t five[4] = {stake[0], stake[1], stake[2], word_u64(9)};
  CHECK_INT(idx_abi_decode(&abi, five, 4, amount, 32, &d), IDX_ERR_ABI_TOPICS);
  /* Dirty padding in an indexed address topic. */
  idx_hash_t dirty[3] = {stake[0], stake[1], word_addr(owner)};
  dirty[2].b[0] = 0xff;
  CHECK_INT(idx_abi_decode(&abi, dirty, 3, amount, 32, &d), IDX_ERR_ABI_PADDING);
  /* Unknown topic0: reported as unknown, not as an error. */
  idx_hash_t unknown[1] = {topic_of("Upgraded(address)")};
  CHECK_INT(idx_abi_decode(&abi, unknown, 1, NULL, 0, &d), 0);
  CHECK(d.event == NULL);
  CHECK_INT(idx_abi_decode(&abi, NULL, 0, NULL, 0, &d), 0);
  CHECK(d.event == NULL);

  /* Dynamic string: offset and length past the end, dirty tail padding. */
  idx_hash_t alias[2] = {topic_of("LicenseAliasSet(uint256,string)"), word_u64(12)};
  uint8_t s[96] = {0};
  s[31] = 0x20;
  s[63] = 3;
  memcpy(s + 64, "abc", 3);
  CHECK_INT(idx_abi_decode(&abi, alias, 2, s, 96, &d), 0);
  CHECK_INT(idx_abi_decode(&abi, alias, 2, s, 64, &d), IDX_ERR_ABI_LENGTH); /* content cut off */
  s[31] = 0x80;                                                             /* offset past end */
  CHECK_INT(idx_abi_decode(&abi, alias, 2, s, 96, &d), IDX_ERR_ABI_OFFSET);
  s[31] = 0x20;
  s[0] = 1; /* offset with high bytes set: an absurd 2^248 offset */
  CHECK_INT(idx_abi_decode(&abi, alias, 2, s, 96, &d), IDX_ERR_ABI_OFFSET);
  s[0] = 0;
  s[31] = 0x00; /* offset into the head itself */
  CHECK_INT(idx_abi_decode(&abi, alias, 2, s, 96, &d), IDX_ERR_ABI_OFFSET);
  s[31] = 0x20;
  s[63] = 40; /* length past the end */
  CHECK_INT(idx_abi_decode(&abi, alias, 2, s, 96, &d), IDX_ERR_ABI_LENGTH);
  s[63] = 3;
  s[40] = 1; /* a length with high bytes set */
  CHECK_INT(idx_abi_decode(&abi, alias, 2, s, 96, &d), IDX_ERR_ABI_LENGTH);
  s[40] = 0;
  s[70] = 'x'; /* dirty padding after the content */
  CHECK_INT(idx_abi_decode(&abi, alias, 2, s, 96, &d), IDX_ERR_ABI_PADDING);
  s[70] = 0;

  /* A string that is not UTF-8 stays lossless and the JSON stays valid. */
  s[64] = 0xff;
  CHECK_INT(idx_abi_decode(&abi, alias, 2, s, 96, &d), 0);
  CHECK_STR(to_json(&d), "{\"tokenId\":\"12\",\"licenseAlias\":{\"hex\":\"0xff6263\"}}");
  idx_abi_free(&abi);
}

static void test_int_padding(void) {
  idx_abi_t abi;
  idx_abi_init(&abi);
  char err[256];
  const char *j = "[{\"type\":\"event\",\"name\":\"S\",\"inputs\":["
                  "{\"name\":\"x\",\"type\":\"int8\"},{\"name\":\"y\",\"type\":\"uint16\"},"
                  "{\"name\":\"z\",\"type\":\"bytes2\"},{\"name\":\"b\",\"type\":\"bytes\"}]}]";
  CHECK_INT(idx_abi_load_json(&abi, j, strlen(j), err, sizeof err), 0);
  CHECK_STR(abi.events[0].signature, "S(int8,uint16,bytes2,bytes)");
  idx_hash_t t[1] = {topic_of("S(int8,uint16,bytes2,bytes)")};
  uint8_t data[5 * 32];
  memset(data, 0, sizeof data);
  memset(data, 0xff, 32); /* x = -1, sign-extended */
  data[63] = 0x02;        /* y = 0x0102 */
  data[62] = 0x01;
  data[64] = 0xab; /* z = 0xabcd */
  data[65] = 0xcd;
  data[127] = 0x80; /* b at offset 128, length 1 */
  data[159] = 0;
  uint8_t full[6 * 32];
  memset(full, 0, sizeof full);
  memcpy(full, data, 128);
  full[159] = 1; /* length 1 */
  full[160] = 0x7f;
  idx_abi_decoded_t d;
  CHECK_INT(idx_abi_decode(&abi, t, 1, full, 192, &d), 0);
  CHECK_STR(fmt(&d, "x"), "-1");
  CHECK_STR(fmt(&d, "y"), "258");
  CHECK_STR(fmt(&d, "z"), "0xabcd");
  CHECK_STR(fmt(&d, "b"), "0x7f");
  full[0] = 0x7f; /* int8 -1 with a broken sign extension */
  CHECK_INT(idx_abi_decode(&abi, t, 1, full, 192, &d), IDX_ERR_ABI_PADDING);
  full[0] = 0xff;
  full[61] = 1; /* uint16 with a bit above 16 */
  CHECK_INT(idx_abi_decode(&abi, t, 1, full, 192, &d), IDX_ERR_ABI_PADDING);
  full[61] = 0;
  full[66] = 1; /* bytes2 with a dirty tail */
  CHECK_INT(idx_abi_decode(&abi, t, 1, full, 192, &d), IDX_ERR_ABI_PADDING);
  idx_abi_free(&abi);
}

int main(void) {
  test_load_files();
  test_load_errors();
  test_decode_app_events();
  test_transfer_by_topic_count();
  test_malformed();
  test_int_padding();
  CHECK_DONE();
}
