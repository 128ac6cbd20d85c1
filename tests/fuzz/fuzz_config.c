/* libFuzzer target for the option parser (config.c): flags with "=value"
 * or a separate value, "--", positional arguments, numbers, enumerations
 * and the environment's forms (DIMO_RPC's comma-separated list), for any
 * set of commands.
 *
 * Input: byte 0 is the command mask; the rest is NUL-separated strings.
 * A string "NAME=value" whose NAME is an environment variable the parser
 * reads is set in the environment for this input (and unset after); the
 * others are argv[1..], each copied into an exactly-sized heap block.
 *
 * Checked: a failure is IDX_ERR_CONFIG with a message; a success leaves
 * the settings the parser promises (RPC list within its bound, ranges and
 * poll interval valid, positional arguments taken from argv). */
#include "common.h"

#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t len);

enum { MAX_ARGS = 32 };

static const char *const env_names[] = {
    "DIMO_NETWORK",
    "DIMO_RPC",
    "DATABASE_URL",
    "DIMO_DB",
    "DIMO_FROM",
    "DIMO_CONFIRMATIONS",
    "DIMO_FINALITY",
    "DIMO_POLL_INTERVAL_MS",
    "DIMO_INITIAL_RANGE",
    "DIMO_MAX_RANGE",
    "DIMO_RPC_TIMEOUT_MS",
    "DIMO_RPC_MAX_RESPONSE",
    "DIMO_ABI_DIR",
    "DIMO_SCHEMA_DIR",
    "DIMO_LOG_LEVEL",
    "DIMO_LOG_FORMAT",
    "DIMO_HTTP",
    "DIMO_HTTP_MAX_CONNS",
    "DIMO_HTTP_TIMEOUT_MS",
    "DIMO_READY_LAG",
    "DIMO_DB_POOL",
};

static void check(bool ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "fuzz_config: %s\n", what);
    abort();
  }
}

/* Sets s in the environment when it names a variable the parser reads. */
static bool set_env(const char *s) {
  const char *eq = strchr(s, '=');
  if (!eq)
    return false;
  for (size_t i = 0; i < IDX_ARRAY_LEN(env_names); i++) {
    size_t n = strlen(env_names[i]);
    if ((size_t)(eq - s) == n && memcmp(s, env_names[i], n) == 0) {
      setenv(env_names[i], eq + 1, 1);
      return true;
    }
  }
  return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t len) {
  static bool env_cleared;
  if (!env_cleared) { /* inputs see only the environment they set */
    for (size_t i = 0; i < IDX_ARRAY_LEN(env_names); i++)
      unsetenv(env_names[i]);
    env_cleared = true;
  }
  if (len < 1)
    return 0;
  unsigned command = in[0] & 0x7fu;
  if (!command)
    command = IDX_CMD_RUN;
  const char *p = (const char *)in + 1, *end = (const char *)in + len;
  char *argv[MAX_ARGS + 1];
  char *orig[MAX_ARGS + 1];
  int argc = 0;
  argv[argc++] = strdup("dimo-indexer-fuzz");
  while (p < end && argc < MAX_ARGS) {
    const char *nul = memchr(p, '\0', (size_t)(end - p));
    size_t n = nul ? (size_t)(nul - p) : (size_t)(end - p);
    char *s = malloc(n + 1);
    if (!s)
      break;
    memcpy(s, p, n);
    s[n] = '\0';
    if (set_env(s))
      free(s);
    else
      argv[argc++] = s;
    p += n + 1;
  }
  argv[argc] = NULL;
  memcpy(orig, argv, sizeof argv);

  idx_config_t cfg;
  char err[256] = "";
  int rc = idx_config_parse(&cfg, command, argc, argv, err, sizeof err);
  if (rc) {
    check(rc == IDX_ERR_CONFIG || rc == IDX_ERR_NOMEM, "an unexpected error code");
    check(rc == IDX_ERR_NOMEM || err[0] != '\0', "a failure without a message");
  } else {
    check(cfg.nrpc <= IDX_CONFIG_MAX_RPC, "too many RPC URLs");
    for (size_t i = 0; i < cfg.nrpc; i++)
      check(cfg.rpc[i] && cfg.rpc[i][0], "an empty RPC URL");
    check(cfg.initial_range >= 1 && cfg.max_range >= 1, "a zero range");
    check(cfg.poll_ms >= 1 && cfg.poll_ms <= 3600000, "a poll interval out of range");
    check(cfg.nargs >= 0 && cfg.nargs <= argc - 1, "more positional arguments than argv");
    for (int i = 0; i < cfg.nargs; i++) {
      bool from_argv = false;
      for (int k = 1; k < argc && !from_argv; k++)
        from_argv = cfg.args[i] == orig[k];
      check(from_argv, "a positional argument not from argv");
    }
    check(idx_finality_name(cfg.finality)[0] != '?', "an unknown finality");
    (void)idx_config_confirmations(&cfg, false, 0, 137);
    idx_config_free(&cfg);
  }
  for (int i = 0; i < argc; i++)
    free(orig[i]);
  for (size_t i = 0; i < IDX_ARRAY_LEN(env_names); i++)
    unsetenv(env_names[i]);
  return 0;
}
