/*
 * store_test.c: the store against a real PostgreSQL (run by test_store.sh).
 *
 *   store_test [CONNINFO [CONNINFO2 [CONNINFO3]]]
 *   (or env DIMO_TEST_DB, DIMO_TEST_DB2, DIMO_TEST_DB3)
 *
 * CONNINFO is a database the test may fill; CONNINFO2 and CONNINFO3 empty
 * ones for the migration-failure and concurrent-migration cases (skipped
 * when absent). Everything written through the store is read back over a
 * separate libpq connection and compared column by column. The
 * killed-connection cases terminate the store's backend from that
 * connection (between calls and during a COPY) and from inside a batch's
 * own transaction, then check that nothing of the batch remains.
 *
 * Ends with a benchmark line (logs/s for batches of 10,000 logs): information
 * only, never a check. STORE_TEST_BENCH_BATCHES sets how many (default 10,
 * 0 skips it).
 */
#include "common.h"

#include "hex.h"
#include "log.h"
#include "store.h"

#include "../unit/check.h"

#include <libpq-fe.h>

#include <dirent.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHAIN 137u
#define BENCH_CHAIN 80002u

static PGconn *admin; /* the checker's own connection */
static char err[1024];

/* ---- the checker's SQL ---------------------------------------------------- */

/* Runs sql with up to three text parameters; returns the result or NULL
 * (after printing the error). */
static PGresult *q(const char *sql, const char *a, const char *b, const char *c) {
  const char *vals[3] = {a, b, c};
  int n = c ? 3 : b ? 2 : a ? 1 : 0;
  PGresult *res = PQexecParams(admin, sql, n, NULL, vals, NULL, NULL, 0);
  ExecStatusType st = PQresultStatus(res);
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
    fprintf(stderr, "checker query failed: %s\n  %s", sql, PQerrorMessage(admin));
    PQclear(res);
    return NULL;
  }
  return res;
}

/* First column of the first row as an integer; -1 on error or no row. */
static long long qi(const char *sql, const char *a, const char *b) {
  PGresult *res = q(sql, a, b, NULL);
  long long v = -1;
  if (res && PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
    v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
  PQclear(res);
  return v;
}

/* First column of the first row as text (static buffer), or "(none)". */
static const char *qs(const char *sql, const char *a, const char *b) {
  static char out[1024];
  PGresult *res = q(sql, a, b, NULL);
  snprintf(out, sizeof out, "%s",
           res && PQntuples(res) > 0 && !PQgetisnull(res, 0, 0) ? PQgetvalue(res, 0, 0) : "(none)");
  PQclear(res);
  return out;
}

static bool qexec(const char *sql) {
  PGresult *res = q(sql, NULL, NULL, NULL);
  PQclear(res);
  return res != NULL;
}

static const char *num(char buf[32], uint64_t v) {
  snprintf(buf, 32, "%" PRIu64, v);
  return buf;
}

static long long count_logs(uint64_t chain) {
  char c[32];
  return qi("SELECT count(*) FROM logs WHERE chain_id = $1", num(c, chain), NULL);
}

static long long count_blocks(uint64_t chain) {
  char c[32];
  return qi("SELECT count(*) FROM blocks WHERE chain_id = $1", num(c, chain), NULL);
}

static long long max_log_block(uint64_t chain) {
  char c[32];
  return qi("SELECT coalesce(max(block_number), -1) FROM logs WHERE chain_id = $1", num(c, chain),
            NULL);
}

/* Saved hook bodies, restored after the tests replace them. */
static char *saved_def(const char *signature) {
  const char *def = qs("SELECT pg_get_functiondef($1::regprocedure)", signature, NULL);
  char *copy = malloc(strlen(def) + 1);
  if (!copy)
    exit(2);
  memcpy(copy, def, strlen(def) + 1);
  return copy;
}

/* ---- synthetic chains --------------------------------------------------------- */

static uint64_t splitmix(uint64_t *s) {
  uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}

static void fill(uint8_t *p, size_t n, uint64_t *s) {
  for (size_t i = 0; i < n; i++)
    p[i] = (uint8_t)splitmix(s);
}

/* The hash of block `number` on branch `fork` of a chain. */
static idx_hash_t block_hash(uint64_t chain, uint64_t number, unsigned fork) {
  idx_hash_t h;
  uint64_t s = chain * 1000003u + number * 17u + fork;
  fill(h.b, sizeof h.b, &s);
  return h;
}

static int64_t block_time(uint64_t number) { return INT64_C(1700000000) + (int64_t)number * 2; }

static const char *const events[][2] = {
    {"Issued(uint256,address,address)", "Issued"},
    {"Transfer(address,address,uint256)", "Transfer"},
    {"Locked(uint256)", "Locked"},
    {"LicenseAliasSet(uint256,string)", "LicenseAliasSet"},
    {"SignerEnabled(uint256,address)", "SignerEnabled"},
};

/* JSON the decoder might hand over, and the nastier JSON it might not:
 * escapes, literal whitespace (tab, CR, LF) between tokens, raw UTF-8,
 * big numbers, nesting. Each is the rest of an object that starts with
 * the log's index: {\n\t"i" :\t<index>, */
static const char *const weird_json[] = {
    " \"alias\": \"quote \\\" backslash \\\\ tab \\t newline \\n end\"}",
    "\"name\":\"café 日本 🚗\",\"euro\":\"\\u20ac\"}",
    "\r\n \"list\": [1, 2, {\"c\": null}],\n\t\"ok\": true\n}",
    "\"path\":\"C:\\\\dir\\\\file\",\"re\":\"\\\\d+\\\\.\\\\d+\",\"slash\":\"a\\/b\"}",
    "\"amount\":"
    "115792089237316195423570985008687907853269984665640564039457584007913129639935,"
    "\"neg\":-1.5e3}",
    "\"ctl\":\"\\u0001\\u001f\\b\\f\\r\",\"empty\":\"\",\"deep\":{\"x\":[\"\\\"\"]}}",
};

static const char weird_role[] = "role\twith tab\nnewline \\ backslash \"q\" ünï";

typedef struct fixture_s {
  idx_batch_t b;
  idx_block_t *blocks;
  idx_log_t *logs;
  char **owned; /* data and JSON buffers, two per log */
} fixture_t;

/* Blocks from..to (all headers kept) on branch fork, nlogs logs spread over
 * them; the first block's parent is on parent_fork. */
static void fixture_make(fixture_t *f, uint64_t chain, uint64_t from, uint64_t to, unsigned fork,
                         unsigned parent_fork, size_t nlogs, bool weird) {
  size_t nblocks = (size_t)(to - from + 1);
  uint64_t seed = chain * 7919u + from * 31u + fork;
  memset(f, 0, sizeof *f);
  f->blocks = calloc(nblocks, sizeof *f->blocks);
  f->logs = calloc(nlogs ? nlogs : 1, sizeof *f->logs);
  f->owned = calloc(2 * nlogs + 1, sizeof *f->owned);
  if (!f->blocks || !f->logs || !f->owned) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  for (size_t i = 0; i < nblocks; i++) {
    uint64_t n = from + i;
    f->blocks[i].number = n;
    f->blocks[i].hash = block_hash(chain, n, fork);
    f->blocks[i].parent_hash = block_hash(chain, n - 1, i == 0 ? parent_fork : fork);
    f->blocks[i].time = block_time(n);
  }
  idx_addr_t addrs[3];
  for (int i = 0; i < 3; i++)
    fill(addrs[i].b, sizeof addrs[i].b, &seed);
  uint64_t prev_block = UINT64_MAX;
  uint32_t log_index = 0;
  for (size_t i = 0; i < nlogs; i++) {
    idx_log_t *l = &f->logs[i];
    l->block_number = from + (uint64_t)(i * nblocks / nlogs);
    if (l->block_number != prev_block)
      log_index = 0;
    prev_block = l->block_number;
    l->block_hash = block_hash(chain, l->block_number, fork);
    l->block_time = block_time(l->block_number);
    fill(l->tx_hash.b, 32, &seed);
    l->log_index = log_index++;
    l->tx_index = l->log_index / 3;
    l->address = addrs[i % 3];
    l->ntopics = (uint8_t)(weird ? i % 5 : 4);
    for (unsigned t = 0; t < l->ntopics; t++)
      fill(l->topics[t].b, 32, &seed);
    size_t dlen = weird ? (i * 37) % 131 : 64;
    uint8_t *data = malloc(dlen + 1);
    char *json = malloc(512);
    if (!data || !json) {
      fprintf(stderr, "out of memory\n");
      exit(2);
    }
    fill(data, dlen, &seed);
    for (size_t j = 0; j < dlen; j += 4)
      data[j] = 0; /* zero bytes must survive */
    l->data = data;
    l->data_len = dlen;
    size_t e = i % IDX_ARRAY_LEN(events);
    l->event = events[e][0];
    l->event_name = events[e][1];
    if (weird) {
      l->role = i % 7 == 0 ? NULL : i % 7 == 1 ? weird_role : "app_license";
      snprintf(json, 512, "{\n\t\"i\" :\t%zu,%s", i, weird_json[i % IDX_ARRAY_LEN(weird_json)]);
    } else {
      l->role = "app_license";
      snprintf(json, 512,
               "{\"tokenId\":\"%zu\",\"owner\":\"0x9a9d2e717bb005b240094ba761ff074d392c7c85\","
               "\"clientId\":\"0xdb6c0dbbaf48b9d9bcf5ca3c45cff3811d70ed96\"}",
               i);
    }
    l->args_json = json;
    f->owned[2 * i] = (char *)data;
    f->owned[2 * i + 1] = json;
  }
  f->b.chain_id = chain;
  f->b.from_block = from;
  f->b.to_block = to;
  f->b.to_hash = block_hash(chain, to, fork);
  f->b.blocks = f->blocks;
  f->b.nblocks = nblocks;
  f->b.logs = f->logs;
  f->b.nlogs = nlogs;
}

static void fixture_free(fixture_t *f) {
  for (size_t i = 0; i < 2 * f->b.nlogs; i++)
    free(f->owned[i]);
  free(f->owned);
  free(f->logs);
  free(f->blocks);
  memset(f, 0, sizeof *f);
}

/* ---- reading back ---------------------------------------------------------------- */

static uint64_t be64(const char *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v = (v << 8) | (uint8_t)p[i];
  return v;
}

static uint32_t be32(const char *p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++)
    v = (v << 8) | (uint8_t)p[i];
  return v;
}

static bool field_bytes(const PGresult *r, int row, int col, const void *want, size_t n) {
  return !PQgetisnull(r, row, col) && (size_t)PQgetlength(r, row, col) == n &&
         (n == 0 || memcmp(PQgetvalue(r, row, col), want, n) == 0);
}

static bool field_str(const PGresult *r, int row, int col, const char *want) {
  if (!want)
    return PQgetisnull(r, row, col);
  return field_bytes(r, row, col, want, strlen(want));
}

static bool field_i64(const PGresult *r, int row, int col, int64_t want) {
  return !PQgetisnull(r, row, col) && PQgetlength(r, row, col) == 8 &&
         (int64_t)be64(PQgetvalue(r, row, col)) == want;
}

static bool field_i32(const PGresult *r, int row, int col, uint32_t want) {
  return !PQgetisnull(r, row, col) && PQgetlength(r, row, col) == 4 &&
         be32(PQgetvalue(r, row, col)) == want;
}

/* Every column of every log of the fixture, as stored. */
static void check_logs_stored(const fixture_t *f) {
  char c[32], a[32], b[32];
  const char *vals[3] = {num(c, f->b.chain_id), num(a, f->b.from_block), num(b, f->b.to_block)};
  PGresult *res = PQexecParams(
      admin,
      "SELECT chain_id, block_number, block_hash, extract(epoch FROM block_time)::bigint, tx_hash, "
      "tx_index, log_index, address, topic0, topic1, topic2, topic3, data, event, event_name, "
      "role, args::text FROM logs WHERE chain_id = $1 AND block_number BETWEEN $2 AND $3 "
      "ORDER BY block_number, log_index",
      3, NULL, vals, NULL, NULL, 1);
  CHECK_INT(PQresultStatus(res), PGRES_TUPLES_OK);
  CHECK_INT(PQntuples(res), f->b.nlogs);
  int bad = 0;
  for (int i = 0; i < PQntuples(res) && (size_t)i < f->b.nlogs; i++) {
    const idx_log_t *l = &f->logs[i];
    bool ok = field_i64(res, i, 0, (int64_t)f->b.chain_id) &&
              field_i64(res, i, 1, (int64_t)l->block_number) &&
              field_bytes(res, i, 2, l->block_hash.b, 32) && field_i64(res, i, 3, l->block_time) &&
              field_bytes(res, i, 4, l->tx_hash.b, 32) && field_i32(res, i, 5, l->tx_index) &&
              field_i32(res, i, 6, l->log_index) && field_bytes(res, i, 7, l->address.b, 20);
    for (int t = 0; t < 4; t++)
      ok = ok && (t < l->ntopics ? field_bytes(res, i, 8 + t, l->topics[t].b, 32)
                                 : PQgetisnull(res, i, 8 + t));
    ok = ok && field_bytes(res, i, 12, l->data, l->data_len) && field_str(res, i, 13, l->event) &&
         field_str(res, i, 14, l->event_name) && field_str(res, i, 15, l->role);
    /* jsonb keeps the value, not the text: compare as jsonb. */
    if (ok) {
      const char *pair[2] = {l->args_json, PQgetvalue(res, i, 16)};
      PGresult *eq =
          PQexecParams(admin, "SELECT $1::jsonb = $2::jsonb", 2, NULL, pair, NULL, NULL, 0);
      ok = PQresultStatus(eq) == PGRES_TUPLES_OK && strcmp(PQgetvalue(eq, 0, 0), "t") == 0;
      PQclear(eq);
    }
    if (!ok && bad++ < 5)
      fprintf(stderr, "log %d (block %" PRIu64 ", index %u) differs from what was written\n", i,
              l->block_number, l->log_index);
  }
  CHECK_INT(bad, 0);
  PQclear(res);
}

static void check_cursor(idx_store_t *s, uint64_t chain, uint64_t block, const idx_hash_t *hash) {
  bool found = false;
  uint64_t last = 0;
  idx_hash_t h;
  memset(&h, 0, sizeof h);
  CHECK_INT(idx_store_cursor(s, chain, &found, &last, &h, err, sizeof err), 0);
  CHECK(found);
  CHECK_INT(last, block);
  CHECK(memcmp(h.b, hash->b, 32) == 0);
}

/* ---- migrations ------------------------------------------------------------------ */

static void write_file(const char *dir, const char *name, const char *text) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *fp = fopen(path, "w");
  if (!fp || fputs(text, fp) < 0 || fclose(fp) != 0) {
    fprintf(stderr, "cannot write %s\n", path);
    exit(2);
  }
}

static void remove_file(const char *dir, const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  unlink(path);
}

/* Migration files in the tree (NNN_name.sql), counted independently of
 * the store's own listing. */
static int count_schema_files(void) {
  DIR *d = opendir(SCHEMA_DIR);
  int n = 0;
  struct dirent *e;
  while (d && (e = readdir(d)) != NULL) {
    size_t len = strlen(e->d_name);
    if (len > 8 && strspn(e->d_name, "0123456789") == 3 && e->d_name[3] == '_' &&
        strcmp(e->d_name + len - 4, ".sql") == 0)
      n++;
  }
  if (d)
    closedir(d);
  return n;
}

/* The repeatable files (schema/functions/NAME.sql): a first migrate
 * applies each once, and counts them with the numbered ones. */
static int count_function_files(void) {
  DIR *d = opendir(SCHEMA_DIR "/functions");
  int n = 0;
  struct dirent *e;
  while (d && (e = readdir(d)) != NULL) {
    size_t len = strlen(e->d_name);
    if (len > 4 && e->d_name[0] != '.' && strcmp(e->d_name + len - 4, ".sql") == 0)
      n++;
  }
  if (d)
    closedir(d);
  return n;
}

static void test_migrate(idx_store_t *s) {
  int applied = -1;
  int files = count_schema_files();
  CHECK(files >= 1);
  CHECK_INT(idx_store_migrate(s, SCHEMA_DIR, &applied, err, sizeof err), 0);
  CHECK_INT(applied, files + count_function_files());
  CHECK_INT(qi("SELECT count(*) FROM schema_migrations", NULL, NULL), files);
  CHECK_STR(qs("SELECT name FROM schema_migrations WHERE version = 1", NULL, NULL), "core");
  CHECK_INT(qi("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename IN "
               "('cursors', 'blocks', 'logs', 'unknown_logs')",
               NULL, NULL),
            4);
  CHECK_INT(
      qi("SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
         "WHERE n.nspname = 'dimo_internal' AND p.proname IN ('apply_range', 'rollback_above')",
         NULL, NULL),
      2);
  applied = -1;
  CHECK_INT(idx_store_migrate(s, SCHEMA_DIR, &applied, err, sizeof err), 0);
  CHECK_INT(applied, 0);
  CHECK_INT(idx_store_migrate(s, SCHEMA_DIR, NULL, err, sizeof err), 0);
}

/* One refused directory: code, a word the message must contain, nothing run. */
static void expect_refused(idx_store_t *s, const char *dir, int code, const char *word,
                           const char *word2) {
  int applied = -1;
  long long before = qi("SELECT count(*) FROM schema_migrations", NULL, NULL);
  err[0] = '\0';
  CHECK_INT(idx_store_migrate(s, dir, &applied, err, sizeof err), code);
  CHECK_INT(applied, 0);
  CHECK(strstr(err, word) != NULL);
  if (word2)
    CHECK(strstr(err, word2) != NULL);
  CHECK_INT(qi("SELECT count(*) FROM schema_migrations", NULL, NULL), before);
  fprintf(stderr, "  refused as expected: %s\n", err);
}

static void test_bad_dirs(idx_store_t *s) {
  char dir[] = "/tmp/store_test_mig.XXXXXX";
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    exit(2);
  }
  expect_refused(s, dir, IDX_ERR_CONFIG, "no migrations", NULL);

  write_file(dir, "001_a.sql", "SELECT 1;\n");
  write_file(dir, "003_c.sql", "SELECT 1;\n");
  write_file(dir, "README.md", "not a migration\n");
  expect_refused(s, dir, IDX_ERR_CONFIG, "002 is missing", "003_c.sql");

  write_file(dir, "002_b.sql", "SELECT 1;\n");
  write_file(dir, "002_b2.sql", "SELECT 1;\n");
  expect_refused(s, dir, IDX_ERR_CONFIG, "duplicate migration number 002", "002_b2.sql");
  remove_file(dir, "002_b2.sql");

  write_file(dir, "4_d.sql", "SELECT 1;\n");
  expect_refused(s, dir, IDX_ERR_CONFIG, "bad migration file name 4_d.sql", NULL);
  remove_file(dir, "4_d.sql");
  write_file(dir, "004_Upper.sql", "SELECT 1;\n");
  expect_refused(s, dir, IDX_ERR_CONFIG, "004_Upper.sql", NULL);
  remove_file(dir, "004_Upper.sql");
  write_file(dir, "000_zero.sql", "SELECT 1;\n");
  expect_refused(s, dir, IDX_ERR_CONFIG, "000_zero.sql", NULL);
  remove_file(dir, "000_zero.sql");

  /* One byte over the cap. */
  char path[512];
  snprintf(path, sizeof path, "%s/004_big.sql", dir);
  FILE *fp = fopen(path, "w");
  CHECK(fp != NULL);
  if (fp) {
    for (unsigned i = 0; i <= IDX_STORE_MAX_MIGRATION_BYTES; i++)
      fputc('-', fp);
    fclose(fp);
  }
  expect_refused(s, dir, IDX_ERR_TOO_LARGE, "004_big.sql", "larger than");
  remove_file(dir, "004_big.sql");

  expect_refused(s, "/nonexistent/schema", IDX_ERR_IO, "/nonexistent/schema", NULL);

  remove_file(dir, "001_a.sql");
  remove_file(dir, "002_b.sql");
  remove_file(dir, "003_c.sql");
  remove_file(dir, "README.md");
  rmdir(dir);
}

/* In an empty database: a failing migration leaves the ones before it
 * applied and itself not at all; fixed, it applies. */
static void test_migrate_failure(const char *conninfo2) {
  idx_store_t *s = NULL;
  PGconn *saved = admin;
  CHECK_INT(idx_store_open(&s, conninfo2, err, sizeof err), 0);
  admin = PQconnectdb(conninfo2);
  if (!s || PQstatus(admin) != CONNECTION_OK) {
    CHECK(false);
    PQfinish(admin);
    admin = saved;
    idx_store_close(s);
    return;
  }
  char dir[] = "/tmp/store_test_mig.XXXXXX";
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    exit(2);
  }
  write_file(dir, "001_ok.sql", "CREATE TABLE t_ok (x int);\n");
  write_file(
      dir, "002_bad.sql",
      "CREATE TABLE t_partial (x int);\nINSERT INTO t_ok VALUES (1);\nCREATE TABLEX oops;\n");
  int applied = -1;
  CHECK_INT(idx_store_migrate(s, dir, &applied, err, sizeof err), IDX_ERR_DB);
  fprintf(stderr, "  failed as expected: %s\n", err);
  CHECK_INT(applied, 1);
  CHECK(strstr(err, "002_bad.sql") != NULL);
  CHECK(strstr(err, "line 3") != NULL);
  CHECK_STR(idx_store_sqlstate(s), "42601");
  CHECK_INT(qi("SELECT count(*) FROM schema_migrations", NULL, NULL), 1);
  CHECK_STR(qs("SELECT coalesce(to_regclass('t_partial')::text, 'absent')", NULL, NULL), "absent");
  CHECK_INT(qi("SELECT count(*) FROM t_ok", NULL, NULL), 0);

  write_file(dir, "002_bad.sql", "CREATE TABLE t_partial (x int);\nINSERT INTO t_ok VALUES (1);\n");
  applied = -1;
  CHECK_INT(idx_store_migrate(s, dir, &applied, err, sizeof err), 0);
  CHECK_INT(applied, 1);
  CHECK_INT(qi("SELECT count(*) FROM t_ok", NULL, NULL), 1);
  CHECK_STR(qs("SELECT string_agg(version || ':' || name, ',' ORDER BY version) "
               "FROM schema_migrations",
               NULL, NULL),
            "1:ok,2:bad");

  /* A migration that commits by itself is reported. */
  write_file(dir, "003_commits.sql", "CREATE TABLE t3 (x int);\nCOMMIT;\n");
  CHECK_INT(idx_store_migrate(s, dir, &applied, err, sizeof err), IDX_ERR_CONFIG);
  CHECK(strstr(err, "003_commits.sql") != NULL);
  fprintf(stderr, "  refused as expected: %s\n", err);

  remove_file(dir, "001_ok.sql");
  remove_file(dir, "002_bad.sql");
  remove_file(dir, "003_commits.sql");
  rmdir(dir);
  idx_store_close(s);
  PQfinish(admin);
  admin = saved;
}

/* ---- concurrency ----------------------------------------------------------------- */

typedef struct worker_s {
  const char *conninfo;
  const idx_batch_t *batch; /* NULL: migrate instead */
  long delay_ms;            /* after connecting, before the call */
  int rc;
  int applied;
  char err[512];
} worker_t;

static void *worker_main(void *arg) {
  worker_t *w = arg;
  idx_store_t *s = NULL;
  w->rc = idx_store_open(&s, w->conninfo, w->err, sizeof w->err);
  if (w->rc)
    return NULL;
  struct timespec ts = {w->delay_ms / 1000, (w->delay_ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
  if (w->batch)
    w->rc = idx_store_write_batch(s, w->batch, w->err, sizeof w->err);
  else
    w->rc = idx_store_migrate(s, SCHEMA_DIR, &w->applied, w->err, sizeof w->err);
  idx_store_close(s);
  return NULL;
}

static void run_workers(worker_t *w, size_t n) {
  pthread_t t[8];
  for (size_t i = 0; i < n && i < 8; i++)
    CHECK_INT(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
  for (size_t i = 0; i < n && i < 8; i++)
    pthread_join(t[i], NULL);
}

/* Four processes migrating one empty database at once: every migration
 * runs exactly once. */
static void test_concurrent_migrate(const char *conninfo3) {
  worker_t w[4];
  memset(w, 0, sizeof w);
  for (int i = 0; i < 4; i++)
    w[i].conninfo = conninfo3;
  run_workers(w, 4);
  int total = 0;
  for (int i = 0; i < 4; i++) {
    CHECK_INT(w[i].rc, 0);
    if (w[i].rc)
      fprintf(stderr, "  worker %d: %s\n", i, w[i].err);
    total += w[i].applied;
  }
  CHECK_INT(total, count_schema_files() + count_function_files());
  PGconn *c = PQconnectdb(conninfo3);
  PGresult *r = PQexec(c, "SELECT count(*) FROM schema_migrations");
  CHECK_INT(PQresultStatus(r), PGRES_TUPLES_OK);
  if (PQresultStatus(r) == PGRES_TUPLES_OK)
    CHECK_INT(strtol(PQgetvalue(r, 0, 0), NULL, 10), count_schema_files());
  PQclear(r);
  PQfinish(c);
}

/* Two writers of the same chain's first batch: the second waits for the
 * first and is told CONFLICT (not a duplicate-key error on the logs). */
static void test_concurrent_first_batch(const char *conninfo) {
  const uint64_t chain = 4242;
  char *apply_def = saved_def("dimo_internal.apply_range(bigint,bigint,bigint)");
  CHECK(
      qexec("CREATE OR REPLACE FUNCTION dimo_internal.apply_range(p_chain_id bigint, p_from_block "
            "bigint, p_to_block bigint) RETURNS void LANGUAGE plpgsql AS $$ BEGIN "
            "IF p_chain_id = 4242 THEN PERFORM pg_sleep(1); END IF; END $$"));
  fixture_t f;
  fixture_make(&f, chain, 500, 509, 0, 0, 50, true);
  worker_t w[2];
  memset(w, 0, sizeof w);
  w[0].conninfo = w[1].conninfo = conninfo;
  w[0].batch = w[1].batch = &f.b;
  w[1].delay_ms = 300; /* starts while the first sleeps in its hook */
  run_workers(w, 2);
  CHECK_INT(w[0].rc, 0);
  CHECK_INT(w[1].rc, IDX_ERR_CONFLICT);
  fprintf(stderr, "  second writer: %s\n", w[1].err);
  CHECK_INT(count_logs(chain), 50);
  PQclear(q(apply_def, NULL, NULL, NULL));
  free(apply_def);
  fixture_free(&f);
}

/* ---- batches -------------------------------------------------------------------- */

typedef struct counts_s {
  char names[8][32];
  uint64_t counts[8];
  int n;
} counts_t;

static int on_count(void *ud, const char *name, uint64_t count) {
  counts_t *c = ud;
  if (c->n == 8)
    return IDX_ERR_TOO_LARGE;
  snprintf(c->names[c->n], sizeof c->names[c->n], "%s", name);
  c->counts[c->n++] = count;
  return 0;
}

static int stop_early(void *ud, const char *name, uint64_t count) {
  (void)name;
  (void)count;
  (*(int *)ud)++;
  return IDX_ERR_CANCELLED;
}

static void check_event_counts(idx_store_t *s, const fixture_t *f) {
  counts_t got = {0};
  CHECK_INT(idx_store_event_counts(s, CHAIN, on_count, &got, err, sizeof err), 0);
  CHECK_INT(got.n, IDX_ARRAY_LEN(events));
  for (int i = 0; i < got.n; i++) {
    uint64_t want = 0;
    for (size_t j = 0; j < f->b.nlogs; j++)
      want += strcmp(f->logs[j].event_name, got.names[i]) == 0;
    CHECK_INT(got.counts[i], want);
    if (i > 0)
      CHECK(strcmp(got.names[i - 1], got.names[i]) < 0);
  }
  int calls = 0;
  CHECK_INT(idx_store_event_counts(s, CHAIN, stop_early, &calls, err, sizeof err),
            IDX_ERR_CANCELLED);
  CHECK_INT(calls, 1);
  counts_t none = {0};
  CHECK_INT(idx_store_event_counts(s, 424242, on_count, &none, err, sizeof err), 0);
  CHECK_INT(none.n, 0);
}

/* The fork search below the window (dimo_internal.stored_log_blocks): the
 * loose index scan gives what a plain DISTINCT over both tables does, page
 * by page. Unknown logs count: one alone at block 90, one beside known
 * logs at block 131. */
static void test_log_blocks_below(idx_store_t *s) {
  CHECK(qexec("INSERT INTO unknown_logs SELECT chain_id, 90, block_hash, block_time, tx_hash, "
              "tx_index, 0, address, role, topic0, topic1, topic2, topic3, data FROM logs "
              "WHERE chain_id = 137 ORDER BY block_number LIMIT 1"));
  CHECK(qexec("INSERT INTO unknown_logs SELECT chain_id, block_number, block_hash, block_time, "
              "tx_hash, tx_index, 9999, address, role, topic0, topic1, topic2, topic3, data "
              "FROM logs WHERE chain_id = 137 AND block_number = 131 LIMIT 1"));
  /* (qs keeps 1 KiB: pages of at most 12 rows of 69 characters.) */
  const char *all = "SELECT coalesce(string_agg(n::text || ':0x' || encode(h, 'hex'), ',' "
                    "ORDER BY n DESC), '') FROM (SELECT DISTINCT block_number n, block_hash h "
                    "FROM (SELECT block_number, block_hash FROM logs WHERE chain_id = 137 "
                    "UNION ALL SELECT block_number, block_hash FROM unknown_logs "
                    "WHERE chain_id = 137) x WHERE block_number < $1::bigint "
                    "ORDER BY n DESC LIMIT $2::int) y";
  const uint64_t starts[] = {1000, 135, 131, 101, 100, 91, 90, 0};
  const size_t caps[] = {1, 3, 12};
  for (size_t si = 0; si < IDX_ARRAY_LEN(starts); si++) {
    for (size_t ci = 0; ci < IDX_ARRAY_LEN(caps); ci++) {
      /* Page by page from starts[si] down, as the fork search goes. */
      uint64_t below = starts[si];
      long long total = 0;
      for (int pages = 0; pages < 200; pages++) {
        idx_block_t page[12];
        size_t n = 99;
        CHECK_INT(idx_store_log_blocks_below(s, CHAIN, below, page, caps[ci], &n, err, sizeof err),
                  0);
        char got[1024] = "", b[24], c[24], hex[67];
        size_t len = 0;
        for (size_t i = 0; i < n && len + 100 < sizeof got; i++) {
          CHECK_INT(idx_hex_encode(hex, sizeof hex, page[i].hash.b, 32), 0);
          len += (size_t)snprintf(got + len, sizeof got - len, "%s%llu:%s", i ? "," : "",
                                  (unsigned long long)page[i].number, hex);
        }
        snprintf(b, sizeof b, "%llu", (unsigned long long)below);
        snprintf(c, sizeof c, "%zu", caps[ci]);
        CHECK_STR(got, qs(all, b, c));
        total += (long long)n;
        if (n < caps[ci] || n == 0)
          break;
        below = page[n - 1].number;
      }
      char b[24];
      snprintf(b, sizeof b, "%llu", (unsigned long long)starts[si]);
      CHECK_INT(total, qi("SELECT count(DISTINCT block_number) FROM (SELECT block_number FROM logs "
                          "WHERE chain_id = 137 UNION ALL SELECT block_number FROM unknown_logs "
                          "WHERE chain_id = 137) x WHERE block_number < $1::bigint",
                          b, NULL));
    }
  }
  idx_block_t one;
  size_t n = 0;
  CHECK_INT(idx_store_log_blocks_below(s, CHAIN, 91, &one, 1, &n, err, sizeof err), 0);
  CHECK_INT(n, 1);
  CHECK_INT(one.number, 90); /* the unknown log alone */
  CHECK(qexec("DELETE FROM unknown_logs WHERE chain_id = 137 AND (block_number = 90 OR "
              "log_index = 9999)"));
}

static void test_batches(idx_store_t *s) {
  bool found = true;
  uint64_t last = 0;
  idx_hash_t h;
  char x[32];

  CHECK_INT(idx_store_cursor(s, CHAIN, &found, &last, &h, err, sizeof err), 0);
  CHECK(!found);
  CHECK_INT(qi("SELECT count(*) FROM unknown_logs", NULL, NULL), 0);

  /* A: the first batch may start anywhere. */
  fixture_t a;
  fixture_make(&a, CHAIN, 100, 119, 0, 0, 300, true);
  CHECK_INT(idx_store_write_batch(s, &a.b, err, sizeof err), 0);
  CHECK_STR(err, "");
  check_logs_stored(&a);
  check_cursor(s, CHAIN, 119, &a.b.to_hash);
  check_event_counts(s, &a);

  /* Escapes decoded by the server, not merely stored. */
  CHECK_STR(
      qs("SELECT args->>'alias' FROM logs WHERE chain_id = 137 AND args->>'i' = '0'", NULL, NULL),
      "quote \" backslash \\ tab \t newline \n end");
  CHECK_STR(qs("SELECT args->>'name' || '|' || (args->>'euro') FROM logs WHERE chain_id = 137 "
               "AND args->>'i' = '1'",
               NULL, NULL),
            "café 日本 🚗|€");
  CHECK_STR(
      qs("SELECT args->>'path' FROM logs WHERE chain_id = 137 AND args->>'i' = '3'", NULL, NULL),
      "C:\\dir\\file");
  CHECK_STR(
      qs("SELECT args->>'amount' FROM logs WHERE chain_id = 137 AND args->>'i' = '4'", NULL, NULL),
      "115792089237316195423570985008687907853269984665640564039457584007913129639935");
  CHECK_INT(qi("SELECT count(*) FROM logs WHERE chain_id = 137 AND role = $1", weird_role, NULL),
            (long long)(300 / 7 + (300 % 7 > 1)));
  CHECK_INT(qi("SELECT count(*) FROM logs WHERE chain_id = 137 AND position('\\x00'::bytea IN "
               "data) > 0",
               NULL, NULL),
            qi("SELECT count(*) FROM logs WHERE chain_id = 137 AND length(data) > 0", NULL, NULL));

  /* Headers. */
  idx_block_t out[32];
  size_t n = 0;
  CHECK_INT(idx_store_blocks(s, CHAIN, 0, 1000, out, 32, &n, err, sizeof err), 0);
  CHECK_INT(n, 20);
  for (size_t i = 0; i < n && i < 20; i++) {
    CHECK_INT(out[i].number, a.blocks[i].number);
    CHECK(memcmp(out[i].hash.b, a.blocks[i].hash.b, 32) == 0);
    CHECK(memcmp(out[i].parent_hash.b, a.blocks[i].parent_hash.b, 32) == 0);
    CHECK_INT(out[i].time, a.blocks[i].time);
  }
  CHECK_INT(qi("SELECT count(*) FROM blocks WHERE chain_id = 137 AND extract(epoch FROM time) = "
               "1700000000 + 2 * number",
               NULL, NULL),
            20);

  long long logs_before = count_logs(CHAIN), blocks_before = count_blocks(CHAIN);

  /* Conflicts: a gap, and a replay. Nothing changes. */
  fixture_t gap;
  fixture_make(&gap, CHAIN, 125, 130, 0, 0, 10, true);
  CHECK_INT(idx_store_write_batch(s, &gap.b, err, sizeof err), IDX_ERR_CONFLICT);
  CHECK(strstr(err, "119") != NULL && strstr(err, "125") != NULL);
  CHECK_STR(idx_store_sqlstate(s), "");
  CHECK_INT(idx_store_write_batch(s, &a.b, err, sizeof err), IDX_ERR_CONFLICT);
  fixture_free(&gap);
  CHECK_INT(count_logs(CHAIN), logs_before);
  CHECK_INT(count_blocks(CHAIN), blocks_before);
  check_cursor(s, CHAIN, 119, &a.b.to_hash);

  /* The unique key: a batch carrying one log twice fails whole. */
  fixture_t dup;
  fixture_make(&dup, CHAIN, 120, 121, 0, 0, 6, true);
  dup.logs[3] = dup.logs[2];
  CHECK_INT(idx_store_write_batch(s, &dup.b, err, sizeof err), IDX_ERR_DB);
  CHECK_STR(idx_store_sqlstate(s), "23505");
  CHECK(strstr(err, "logs_pkey") != NULL);
  fprintf(stderr, "  refused as expected: %s\n", err);
  fixture_free(&dup);
  CHECK_INT(count_logs(CHAIN), logs_before);
  CHECK_INT(count_blocks(CHAIN), blocks_before);
  check_cursor(s, CHAIN, 119, &a.b.to_hash);
  /* ... and refuses a stored log inserted again by hand. */
  PGresult *again =
      PQexec(admin, "INSERT INTO logs SELECT * FROM logs WHERE chain_id = 137 LIMIT 1");
  CHECK_INT(PQresultStatus(again), PGRES_FATAL_ERROR);
  CHECK_STR(PQresultErrorField(again, PG_DIAG_SQLSTATE), "23505");
  PQclear(again);

  /* Malformed batches are refused before the database sees them. */
  fixture_t bad;
  fixture_make(&bad, CHAIN, 120, 121, 0, 0, 4, true);
  bad.b.from_block = 122;
  CHECK_INT(idx_store_write_batch(s, &bad.b, err, sizeof err), IDX_ERR_INVAL);
  bad.b.from_block = 120;
  bad.logs[1].block_number = 150;
  CHECK_INT(idx_store_write_batch(s, &bad.b, err, sizeof err), IDX_ERR_INVAL);
  bad.logs[1].block_number = 120;
  bad.b.to_hash.b[0] ^= 1;
  CHECK_INT(idx_store_write_batch(s, &bad.b, err, sizeof err), IDX_ERR_INVAL);
  bad.b.to_hash.b[0] ^= 1;
  bad.logs[2].event_name = "bad \xff utf8";
  CHECK_INT(idx_store_write_batch(s, &bad.b, err, sizeof err), IDX_ERR_INVAL);
  bad.logs[2].event_name = "Locked";
  bad.logs[0].ntopics = 5;
  CHECK_INT(idx_store_write_batch(s, &bad.b, err, sizeof err), IDX_ERR_INVAL);
  bad.logs[0].ntopics = 1;
  bad.b.chain_id = UINT64_MAX;
  CHECK_INT(idx_store_write_batch(s, &bad.b, err, sizeof err), IDX_ERR_INVAL);
  bad.b.chain_id = CHAIN;
  const char *json = bad.logs[0].args_json;
  bad.logs[0].args_json = "[1, 2]"; /* not an object: the schema refuses it */
  CHECK_INT(idx_store_write_batch(s, &bad.b, err, sizeof err), IDX_ERR_DB);
  CHECK_STR(idx_store_sqlstate(s), "23514");
  bad.logs[0].args_json = "{\"nul\": \"\\u0000\"}"; /* jsonb cannot hold U+0000 */
  CHECK_INT(idx_store_write_batch(s, &bad.b, err, sizeof err), IDX_ERR_DB);
  bad.logs[0].args_json = json;
  fixture_free(&bad);
  CHECK_INT(count_logs(CHAIN), logs_before);
  check_cursor(s, CHAIN, 119, &a.b.to_hash);

  /* The hooks run inside the transactions: apply after the logs are in,
   * rollback before they are gone. Record what each saw. */
  char *apply_def = saved_def("dimo_internal.apply_range(bigint,bigint,bigint)");
  char *rollback_def = saved_def("dimo_internal.rollback_above(bigint,bigint)");
  CHECK(qexec("CREATE TABLE hook_calls (kind text, chain bigint, a bigint, b bigint, "
              "nlogs bigint)"));
  CHECK(
      qexec("CREATE OR REPLACE FUNCTION dimo_internal.apply_range(p_chain_id bigint, p_from_block "
            "bigint, p_to_block bigint) RETURNS void LANGUAGE sql AS $$ "
            "INSERT INTO hook_calls SELECT 'apply', p_chain_id, p_from_block, p_to_block, "
            "count(*) FROM logs WHERE chain_id = p_chain_id AND block_number BETWEEN "
            "p_from_block AND p_to_block $$"));
  CHECK(qexec(
      "CREATE OR REPLACE FUNCTION dimo_internal.rollback_above(p_chain_id bigint, p_keep_block "
      "bigint) RETURNS void LANGUAGE sql AS $$ "
      "INSERT INTO hook_calls SELECT 'rollback', p_chain_id, p_keep_block, NULL, "
      "count(*) FROM logs WHERE chain_id = p_chain_id AND block_number > p_keep_block $$"));

  /* B: the next batch. */
  fixture_t b;
  fixture_make(&b, CHAIN, 120, 139, 0, 0, 100, true);
  CHECK_INT(idx_store_write_batch(s, &b.b, err, sizeof err), 0);
  check_logs_stored(&b);
  check_cursor(s, CHAIN, 139, &b.b.to_hash);
  CHECK_STR(qs("SELECT string_agg(concat_ws(':', kind, chain, a, b, nlogs), ',') FROM hook_calls",
               NULL, NULL),
            "apply:137:120:139:100");

  /* Rollback to 129: everything above goes, the cursor moves back. */
  idx_hash_t keep = block_hash(CHAIN, 129, 0);
  long long above =
      qi("SELECT count(*) FROM logs WHERE chain_id = 137 AND block_number > 129", NULL, NULL);
  long long kept = count_logs(CHAIN) - above;
  CHECK(above > 0);
  CHECK_INT(idx_store_rollback(s, CHAIN, 129, &keep, err, sizeof err), 0);
  CHECK_INT(max_log_block(CHAIN), 129);
  CHECK_INT(count_logs(CHAIN), kept);
  CHECK_INT(qi("SELECT max(number) FROM blocks WHERE chain_id = 137", NULL, NULL), 129);
  check_cursor(s, CHAIN, 129, &keep);
  snprintf(x, sizeof x, "%lld", above);
  CHECK_INT(qi("SELECT count(*) FROM hook_calls WHERE kind = 'rollback' AND a = 129 AND nlogs = "
               "$1::bigint",
               x, NULL),
            1);

  /* Refused: a rollback above the cursor, or of a chain never indexed. */
  idx_hash_t other = block_hash(CHAIN, 135, 0);
  CHECK_INT(idx_store_rollback(s, CHAIN, 135, &other, err, sizeof err), IDX_ERR_CONFLICT);
  CHECK_INT(idx_store_rollback(s, 999, 1, &other, err, sizeof err), IDX_ERR_CONFLICT);
  check_cursor(s, CHAIN, 129, &keep);
  /* Rolling back to the cursor itself is allowed and changes nothing. */
  CHECK_INT(idx_store_rollback(s, CHAIN, 129, &keep, err, sizeof err), 0);
  CHECK_INT(count_logs(CHAIN), kept);

  PQclear(q(apply_def, NULL, NULL, NULL));
  PQclear(q(rollback_def, NULL, NULL, NULL));
  free(apply_def);
  free(rollback_def);
  CHECK(qexec("DROP TABLE hook_calls"));

  /* The other branch: 130..134 on fork 1, on top of 129. */
  fixture_t fork;
  fixture_make(&fork, CHAIN, 130, 134, 1, 0, 25, true);
  CHECK_INT(idx_store_write_batch(s, &fork.b, err, sizeof err), 0);
  check_logs_stored(&fork);
  check_cursor(s, CHAIN, 134, &fork.b.to_hash);
  CHECK_INT(idx_store_blocks(s, CHAIN, 129, 200, out, 32, &n, err, sizeof err), 0);
  CHECK_INT(n, 6);
  if (n == 6) {
    CHECK(memcmp(out[1].parent_hash.b, keep.b, 32) == 0);
    CHECK(memcmp(out[5].hash.b, fork.b.to_hash.b, 32) == 0);
  }

  /* Pruning and the cap. */
  CHECK_INT(idx_store_prune_blocks(s, CHAIN, 110, err, sizeof err), 0);
  CHECK_INT(qi("SELECT min(number) FROM blocks WHERE chain_id = 137", NULL, NULL), 110);
  CHECK_INT(idx_store_blocks(s, CHAIN, 0, UINT64_MAX, out, 5, &n, err, sizeof err), 0);
  CHECK_INT(n, 5);
  CHECK_INT(out[0].number, 110);
  CHECK_INT(out[4].number, 114);
  CHECK_INT(idx_store_blocks(s, CHAIN, 120, 110, out, 5, &n, err, sizeof err), 0);
  CHECK_INT(n, 0);
  CHECK_INT(idx_store_blocks(s, CHAIN, 0, 10, out, 5, &n, err, sizeof err), 0);
  CHECK_INT(n, 0);
  CHECK_INT(count_logs(CHAIN), kept + 25); /* logs outlive pruned headers */

  test_log_blocks_below(s);

  fixture_free(&fork);
  fixture_free(&b);
  fixture_free(&a);
}

/* ---- lost connections ------------------------------------------------------------ */

static bool terminate(const char *app) {
  return qi("SELECT count(*) FROM (SELECT pg_terminate_backend(pid, 10000) AS t "
            "FROM pg_stat_activity WHERE application_name = $1) k WHERE t",
            app, NULL) == 1;
}

static void test_lost_connection(const char *conninfo) {
  char victim_info[1024];
  snprintf(victim_info, sizeof victim_info, "%s application_name=store_test_victim", conninfo);
  idx_store_t *v = NULL;
  CHECK_INT(idx_store_open(&v, victim_info, err, sizeof err), 0);
  if (!v)
    return;
  bool found = false;
  uint64_t last = 0;
  idx_hash_t h;

  /* Killed between calls. */
  CHECK(terminate("store_test_victim"));
  CHECK_INT(idx_store_cursor(v, CHAIN, &found, &last, &h, err, sizeof err), IDX_ERR_DB_CONN);
  fprintf(stderr, "  lost as expected: %s\n", err);
  CHECK_INT(idx_store_cursor(v, CHAIN, &found, &last, &h, err, sizeof err), IDX_ERR_DB_CONN);
  CHECK(strstr(err, "reconnect") != NULL);
  CHECK_INT(idx_store_reconnect(v, err, sizeof err), 0);
  CHECK_INT(idx_store_cursor(v, CHAIN, &found, &last, &h, err, sizeof err), 0);
  CHECK(found);
  CHECK_INT(last, 134);

  /* Killed inside a batch, after its COPY: the backend terminates itself
   * from the apply hook. Nothing of the batch may remain. */
  char *apply_def = saved_def("dimo_internal.apply_range(bigint,bigint,bigint)");
  CHECK(
      qexec("CREATE OR REPLACE FUNCTION dimo_internal.apply_range(p_chain_id bigint, p_from_block "
            "bigint, p_to_block bigint) RETURNS void LANGUAGE plpgsql AS $$ BEGIN "
            "IF current_setting('application_name') = 'store_test_victim' THEN "
            "PERFORM pg_terminate_backend(pg_backend_pid()); PERFORM pg_sleep(10); END IF; "
            "END $$"));
  fixture_t f;
  fixture_make(&f, CHAIN, 135, 139, 0, 1, 200, true);
  long long logs_before = count_logs(CHAIN), blocks_before = count_blocks(CHAIN);
  CHECK_INT(idx_store_write_batch(v, &f.b, err, sizeof err), IDX_ERR_DB_CONN);
  /* libpq reports either the server's FATAL (57P01) or the closed socket. */
  CHECK(strcmp(idx_store_sqlstate(v), "57P01") == 0 || idx_store_sqlstate(v)[0] == '\0');
  fprintf(stderr, "  lost as expected: %s\n", err);
  CHECK_INT(count_logs(CHAIN), logs_before);
  CHECK_INT(count_blocks(CHAIN), blocks_before);
  CHECK_INT(max_log_block(CHAIN), 134);
  CHECK_INT(qi("SELECT last_block FROM cursors WHERE chain_id = 137", NULL, NULL), 134);
  PQclear(q(apply_def, NULL, NULL, NULL));
  free(apply_def);

  /* Reconnected, the same batch goes through. */
  CHECK_INT(idx_store_write_batch(v, &f.b, err, sizeof err), IDX_ERR_DB_CONN);
  CHECK_INT(idx_store_reconnect(v, err, sizeof err), 0);
  CHECK_INT(idx_store_write_batch(v, &f.b, err, sizeof err), 0);
  check_logs_stored(&f);
  check_cursor(v, CHAIN, 139, &f.b.to_hash);
  fixture_free(&f);
  idx_store_close(v);

  /* Killed from outside while its COPY runs (a trigger slows the rows of
   * chain 777 down so that the COPY is surely in progress). */
  CHECK(qexec("CREATE FUNCTION slow_rows() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
              "IF NEW.chain_id = 777 THEN PERFORM pg_sleep(0.005); END IF; RETURN NEW; END $$"));
  CHECK(qexec("CREATE TRIGGER slow_rows BEFORE INSERT ON logs FOR EACH ROW "
              "EXECUTE FUNCTION slow_rows()"));
  fixture_t slow;
  fixture_make(&slow, 777, 1, 40, 0, 0, 2000, true);
  worker_t w;
  memset(&w, 0, sizeof w);
  w.conninfo = victim_info;
  w.batch = &slow.b;
  pthread_t t;
  CHECK_INT(pthread_create(&t, NULL, worker_main, &w), 0);
  bool killed = false;
  for (int i = 0; i < 200 && !killed; i++) {
    struct timespec ts = {0, 25000000L};
    nanosleep(&ts, NULL);
    killed = qi("SELECT count(*) FROM (SELECT pg_terminate_backend(pid, 10000) AS t "
                "FROM pg_stat_activity WHERE application_name = 'store_test_victim' "
                "AND state = 'active' AND query LIKE 'COPY logs%') k WHERE t",
                NULL, NULL) == 1;
  }
  pthread_join(t, NULL);
  CHECK(killed);
  CHECK_INT(w.rc, IDX_ERR_DB_CONN);
  fprintf(stderr, "  lost as expected: %s\n", w.err);
  CHECK_INT(count_logs(777), 0);
  CHECK_INT(count_blocks(777), 0);
  CHECK_INT(qi("SELECT count(*) FROM cursors WHERE chain_id = 777", NULL, NULL), 0);
  CHECK(qexec("DROP TRIGGER slow_rows ON logs"));
  CHECK(qexec("DROP FUNCTION slow_rows()"));
  fixture_free(&slow);

  /* Nobody listening. */
  idx_store_t *none = NULL;
  CHECK_INT(
      idx_store_open(&none, "host=127.0.0.1 port=1 connect_timeout=2 dbname=x", err, sizeof err),
      IDX_ERR_DB_CONN);
  CHECK(none == NULL);
  CHECK(strstr(err, "cannot connect") != NULL);
}

/* ---- commits a server lost (audit6 H4, H11) --------------------------------------- */

/* The database refuses to be built on as a writer's memory says, when a
 * server crash or a failover lost its last asynchronous commits: a batch
 * whose first header does not chain onto the stored tip, a self-deriving
 * batch over a model cursor left behind (derived from that cursor
 * instead), a derivation past the stored logs. The cursor is at 139
 * (fork 0) after test_lost_connection. */
static void test_lost_commits(idx_store_t *s) {
  idx_hash_t tip = block_hash(CHAIN, 139, 0);
  check_cursor(s, CHAIN, 139, &tip);
  long long logs_before = count_logs(CHAIN), blocks_before = count_blocks(CHAIN);

  /* H11: the stored tip is another fork's than the batch's parent. */
  fixture_t other;
  fixture_make(&other, CHAIN, 140, 141, 0, 2, 6, true);
  CHECK_INT(idx_store_write_batch(s, &other.b, err, sizeof err), IDX_ERR_CONFLICT);
  CHECK(strstr(err, "another fork") != NULL && strstr(err, "139") != NULL);
  fprintf(stderr, "  refused as expected: %s\n", err);
  CHECK_INT(count_logs(CHAIN), logs_before);
  CHECK_INT(count_blocks(CHAIN), blocks_before);
  CHECK_INT(qi("SELECT count(*) FROM model_cursor WHERE chain_id = 137 AND block_number = 139",
               NULL, NULL),
            1);
  fixture_free(&other);
  fixture_t next;
  fixture_make(&next, CHAIN, 140, 141, 0, 0, 6, true);
  CHECK_INT(idx_store_write_batch(s, &next.b, err, sizeof err), 0);
  check_cursor(s, CHAIN, 141, &next.b.to_hash);
  fixture_free(&next);

  /* H4: the model cursor behind the logs (their derivation lost): a batch
   * that derives its model derives from the model cursor. The apply hook
   * records its range and moves the model cursor as the real one does. */
  char *apply_def = saved_def("dimo_internal.apply_range(bigint,bigint,bigint)");
  CHECK(qexec("CREATE TABLE hook_calls (a bigint, b bigint)"));
  CHECK(
      qexec("CREATE OR REPLACE FUNCTION dimo_internal.apply_range(p_chain_id bigint, p_from_block "
            "bigint, p_to_block bigint) RETURNS void LANGUAGE plpgsql AS $$ BEGIN "
            "INSERT INTO hook_calls VALUES (p_from_block, p_to_block); "
            "PERFORM dimo_internal.move_model_cursor(p_chain_id, p_to_block); END $$"));
  CHECK(qexec("UPDATE model_cursor SET block_number = 130 WHERE chain_id = 137"));
  fixture_t gap;
  fixture_make(&gap, CHAIN, 142, 143, 0, 0, 6, true);
  CHECK_INT(idx_store_write_batch(s, &gap.b, err, sizeof err), 0);
  CHECK_STR(qs("SELECT string_agg(a || '..' || b, ',') FROM hook_calls", NULL, NULL), "131..143");
  CHECK_INT(qi("SELECT block_number FROM model_cursor WHERE chain_id = 137", NULL, NULL), 143);
  fixture_free(&gap);

  /* A model cursor above the batch's parent is refused (nothing written). */
  CHECK(qexec("UPDATE model_cursor SET block_number = 150 WHERE chain_id = 137"));
  fixture_t above;
  fixture_make(&above, CHAIN, 144, 145, 0, 0, 6, true);
  logs_before = count_logs(CHAIN);
  CHECK_INT(idx_store_write_batch(s, &above.b, err, sizeof err), IDX_ERR_DB);
  CHECK(strstr(err, "model cursor") != NULL);
  fprintf(stderr, "  refused as expected: %s\n", err);
  CHECK_INT(count_logs(CHAIN), logs_before);
  tip = block_hash(CHAIN, 143, 0);
  check_cursor(s, CHAIN, 143, &tip);
  fixture_free(&above);
  CHECK(qexec("UPDATE model_cursor SET block_number = 140 WHERE chain_id = 137"));

  /* A derivation past the stored logs (the caller's batches lost) derives
   * nothing; up to them it goes. */
  uint64_t derived = 0;
  CHECK_INT(idx_store_derive(s, CHAIN, 150, &derived, err, sizeof err), IDX_ERR_CONFLICT);
  CHECK(strstr(err, "143") != NULL);
  fprintf(stderr, "  refused as expected: %s\n", err);
  CHECK_INT(qi("SELECT block_number FROM model_cursor WHERE chain_id = 137", NULL, NULL), 140);
  CHECK_INT(idx_store_derive(s, CHAIN, 143, &derived, err, sizeof err), 0);
  CHECK_INT(derived, 143);
  CHECK_STR(qs("SELECT string_agg(a || '..' || b, ',' ORDER BY a) FROM hook_calls", NULL, NULL),
            "131..143,141..143");

  PQclear(q(apply_def, NULL, NULL, NULL));
  free(apply_def);
  CHECK(qexec("DROP TABLE hook_calls"));
}

/* ---- benchmark -------------------------------------------------------------------- */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void bench(idx_store_t *s, int batches) {
  const size_t per_batch = 10000;
  const uint64_t blocks_per_batch = 100;
  double total = 0, best = 1e9;
  for (int i = 0; i < batches; i++) {
    fixture_t f;
    uint64_t from = 1000000 + (uint64_t)i * blocks_per_batch;
    fixture_make(&f, BENCH_CHAIN, from, from + blocks_per_batch - 1, 0, 0, per_batch, false);
    double t0 = now_s();
    int rc = idx_store_write_batch(s, &f.b, err, sizeof err);
    double dt = now_s() - t0;
    CHECK_INT(rc, 0);
    total += dt;
    if (dt < best)
      best = dt;
    fixture_free(&f);
  }
  if (batches > 0 && total > 0)
    fprintf(stderr,
            "bench: %d batches of %zu logs (%" PRIu64 " headers each): %.0f logs/s overall, "
            "%.0f logs/s best batch (%.1f ms)\n",
            batches, per_batch, blocks_per_batch, (double)batches * (double)per_batch / total,
            (double)per_batch / best, best * 1000);
  CHECK_INT(count_logs(BENCH_CHAIN), (long long)batches * (long long)per_batch);
}

int main(int argc, char **argv) {
  const char *conninfo = argc > 1 ? argv[1] : getenv("DIMO_TEST_DB");
  const char *conninfo2 = argc > 2 ? argv[2] : getenv("DIMO_TEST_DB2");
  const char *conninfo3 = argc > 3 ? argv[3] : getenv("DIMO_TEST_DB3");
  const char *bench_env = getenv("STORE_TEST_BENCH_BATCHES");
  if (!conninfo || !*conninfo) {
    fprintf(stderr, "usage: store_test CONNINFO [CONNINFO2 [CONNINFO3]] (or DIMO_TEST_DB, ...)\n");
    return 2;
  }
  idx_log_setup(IDX_LOG_INFO, IDX_LOG_TEXT);
  admin = PQconnectdb(conninfo);
  if (PQstatus(admin) != CONNECTION_OK) {
    fprintf(stderr, "cannot connect: %s", PQerrorMessage(admin));
    PQfinish(admin);
    return 2;
  }
  idx_store_t *s = NULL;
  CHECK_INT(idx_store_open(&s, conninfo, err, sizeof err), 0);
  if (!s) {
    fprintf(stderr, "%s\n", err);
    PQfinish(admin);
    return 1;
  }
  CHECK_STR(qs("SELECT application_name FROM pg_stat_activity WHERE application_name LIKE "
               "'dimo-indexer%' LIMIT 1",
               NULL, NULL),
            "dimo-indexer");

  fprintf(stderr, "-- migrations\n");
  test_migrate(s);
  test_bad_dirs(s);
  if (conninfo2 && *conninfo2)
    test_migrate_failure(conninfo2);
  else
    fprintf(stderr, "  (no second database: migration-failure cases skipped)\n");
  if (conninfo3 && *conninfo3)
    test_concurrent_migrate(conninfo3);
  else
    fprintf(stderr, "  (no third database: concurrent migration skipped)\n");
  fprintf(stderr, "-- batches, rollback, headers\n");
  test_batches(s);
  test_concurrent_first_batch(conninfo);
  fprintf(stderr, "-- lost connections\n");
  test_lost_connection(conninfo);
  fprintf(stderr, "-- lost commits\n");
  test_lost_commits(s);
  fprintf(stderr, "-- benchmark\n");
  bench(s, bench_env ? (int)strtol(bench_env, NULL, 10) : 10);

  idx_store_close(s);
  PQfinish(admin);
  CHECK_DONE();
}
