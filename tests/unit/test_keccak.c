/* Known-answer tests for Keccak-256: the empty string, block edges, a
 * multi-block input, incremental feeding, and every topic0 listed in
 * shared/dimo-contracts.md (the hashes there were computed independently). */
#include "common.h"

#include "check.h"
#include "hex.h"
#include "keccak.h"

static void hash_hex(char out[67], const void *data, size_t n) {
  idx_hash_t h;
  idx_keccak256(&h, data, n);
  idx_hash_to_hex(out, &h);
}

static void test_block_edges(void) {
  char hex[67];
  hash_hex(hex, "", 0);
  CHECK_STR(hex, "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
  hash_hex(hex, "abc", 3);
  CHECK_STR(hex, "0x4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");

  char a[137];
  memset(a, 'a', sizeof a);
  hash_hex(hex, a, 135); /* padding bytes 0x01 and 0x80 share one byte */
  CHECK_STR(hex, "0x34367dc248bbd832f4e3e69dfaac2f92638bd0bbd18f2912ba4ef454919cf446");
  hash_hex(hex, a, 136); /* exactly one rate block: padding needs a second */
  CHECK_STR(hex, "0xa6c4d403279fe3e0af03729caada8374b5ca54d8065329a3ebcaeb4b60aa386e");
  hash_hex(hex, a, 137);
  CHECK_STR(hex, "0xd869f639c7046b4929fc92a4d988a8b22c55fbadb802c0c66ebcd484f1915f39");
}

static void test_multi_block_and_incremental(void) {
  char text[1000];
  for (size_t i = 0; i < sizeof text; i++)
    text[i] = (char)('a' + i % 26);
  const char *expect = "0x15568cea6efcbb97df8b010291fca66d23b1986e4c8d782acd5f4d8ed60112e0";
  char hex[67];
  hash_hex(hex, text, sizeof text);
  CHECK_STR(hex, expect);

  /* Every split of the input into pieces of one size gives the same hash. */
  static const size_t pieces[] = {1, 7, 135, 136, 137, 500};
  for (size_t p = 0; p < IDX_ARRAY_LEN(pieces); p++) {
    idx_keccak_t k;
    idx_keccak_init(&k);
    for (size_t off = 0; off < sizeof text; off += pieces[p]) {
      size_t n = sizeof text - off < pieces[p] ? sizeof text - off : pieces[p];
      idx_keccak_update(&k, text + off, n);
    }
    idx_keccak_update(&k, NULL, 0);
    idx_hash_t h;
    idx_keccak_final(&k, &h);
    idx_hash_to_hex(hex, &h);
    CHECK_STR(hex, expect);
  }
}

static void test_dimo_topics(void) {
  static const struct {
    const char *sig, *topic0;
  } v[] = {
      {"Issued(uint256,address,address)",
       "0x7533f62ec6601bf9c87f8d96bf756b4b495e2a0e26ec9284e4927926ed6b3afd"},
      {"Transfer(address,address,uint256)",
       "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"},
      {"Locked(uint256)", "0x032bc66be43dbccb7487781d168eb7bda224628a3b2c3388bdf69b532a3a1611"},
      {"LicenseAliasSet(uint256,string)",
       "0xcd1647e82913e163e110815fdac0265c513795a376da7a90f90090cea69905a7"},
      {"LicenseAliasSet(uint256,bytes32)",
       "0xfe58d4b233d8114f2410e0523dd6a08f17b416b28c66c27fc4ba2f132f44e863"},
      {"SignerEnabled(uint256,address)",
       "0x0ea45d41f8d2f0fd7e53e2a0821276268b7cf41414e2c2eac7bf8cd69241386b"},
      {"SignerDisabled(uint256,address)",
       "0xdbd8d9c504c83e3bec8383041e811568d4eb37e94697dbfce9a50e8ae572017a"},
      {"RedirectUriEnabled(uint256,string)",
       "0x100a5934f50dcbea6ca17171581b081113167276cba43b6ca421a7bb1b9704f0"},
      {"RedirectUriDisabled(uint256,string)",
       "0xa5ad928ebfe9bbabb9b65e85335dc567892182dc87c0b7b1fef8d054db2383a3"},
      {"StakeDeposit(uint256,address,uint256)",
       "0x1cd3a07c960f34280cc48968d5b5315035ebdde3a1e371aa539bf0a415743a3b"},
      {"StakeWithdraw(uint256,address,uint256)",
       "0xb632f81a2da981f3daa6d867e773bbab8f2931ca133d2cca3595eb61af045c3a"},
      {"AssetFreezeUpdate(uint256,uint256,bool)",
       "0x16ba6956fa2c7ee4362cc81ca5ab2cb6bbd122fe59d7ce140387b1cd4e044899"},
      {"AssetForfeit(uint256,uint256)",
       "0x52d30ff0b778a7633bd7cbd2a5f340804ec47e42354939955b95c7647b5250b7"},
      {"UpdatePeriodValidity(uint256)",
       "0x9a360497eca32e7df7472fb414b7188a59505b079b391e7f3a12d59cc4c3fabd"},
      {"UpdateLicenseCost(uint256)",
       "0x0aca62d366c4fbb1ef303879453cb890975077ec0dcc742f25c0736c2f563652"},
      {"StakeTokens(address,uint256)",
       "0xeb564dbda54c69318a29599b8551d044674ca4e3c47f3c0da3f4f253c90b1702"},
      {"UnstakeTokens(address,uint256)",
       "0xf74a79d13d6fdbdf26b2c779e6a24490a43e65d60cc7e064740f8d40b2b5ea2c"},
      {"EmergencyWithdrawal(address,uint256)",
       "0x23d6711a1d031134a36921253c75aa59e967d38e369ac625992824315e204f20"},
      {"StakeAmountAdjusted(uint256)",
       "0xe100971816337d5825f8570b428173ee97873063d0293ca6f88845ef7123b82c"},
      {"LicenseMinted(address,uint256)",
       "0xa61082ca5c0abc17994ed7c94b6d5c390edf79bab751fe2c7de47ddc3b02749c"},
      {"LicenseRevoked(uint256)",
       "0xf8ecc300d4504a2b49692052f138b7e697df679cf0580522720ce405bd01be55"},
      {"PermissionsSet(address,uint256,uint256,address,uint256,string)",
       "0x948fe417941bab89f81888f9039015a1da93ff8cbe034f5615f7bf35679de7db"},
      {"PrivilegeSet(uint256,uint256,uint256,address,uint256)",
       "0x61a24679288162b799d80b2bb2b8b0fcdd5c5f53ac19e9246cc190b60196c359"},
  };
  for (size_t i = 0; i < IDX_ARRAY_LEN(v); i++) {
    char hex[67];
    hash_hex(hex, v[i].sig, strlen(v[i].sig));
    CHECK_STR(hex, v[i].topic0);
  }
}

int main(void) {
  test_block_edges();
  test_multi_block_and_incremental();
  test_dimo_topics();
  CHECK_DONE();
}
