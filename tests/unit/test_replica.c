/* Unit tests for replica.c's pure parts: the schema comparison, the poll
 * answer's parsing, readiness, and the list of migrations of a folder. */
#include "common.h"

#include "check.h"
#include "replica.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char ours[] = "001_core,002_license_model,003_license_queries";

static void test_schema_state(void) {
  CHECK_INT(idx_replica_schema_state(NULL, ours), IDX_SCHEMA_MISSING);
  CHECK_INT(idx_replica_schema_state("", ours), IDX_SCHEMA_MISSING);
  CHECK_INT(idx_replica_schema_state(ours, ours), IDX_SCHEMA_OK);
  CHECK_INT(idx_replica_schema_state("001_core,002_license_model", ours), IDX_SCHEMA_OLDER);
  CHECK_INT(idx_replica_schema_state("001_core", ours), IDX_SCHEMA_OLDER);
  CHECK_INT(
      idx_replica_schema_state("001_core,002_license_model,003_license_queries,004_reorgs", ours),
      IDX_SCHEMA_NEWER);
  /* A prefix by characters is not a prefix by item. */
  CHECK_INT(idx_replica_schema_state("001_core,002_license", ours), IDX_SCHEMA_OTHER);
  CHECK_INT(idx_replica_schema_state("001_core,002_license_model,003_license_queriesX", ours),
            IDX_SCHEMA_OTHER);
  CHECK_INT(idx_replica_schema_state("001_other", ours), IDX_SCHEMA_OTHER);
}

static idx_replica_reading_t parse_ok(const char *json) {
  idx_replica_reading_t r;
  CHECK(idx_replica_parse(json, strlen(json), &r));
  return r;
}

static void test_parse(void) {
  idx_replica_reading_t r = parse_ok(
      "{\"migrations\":\"001_core\",\"model\":{\"block\":120,\"version\":\"7731\"},\"cursor\":125,"
      "\"recovery\":true,\"replay_age\":1.25,\"caught_up\":false}");
  CHECK_STR(r.applied, "001_core");
  CHECK(r.has_model);
  CHECK_INT(r.model_block, 120);
  CHECK_STR(r.model_version, "7731");
  CHECK(r.has_cursor);
  CHECK_INT(r.cursor, 125);
  CHECK(r.in_recovery);
  CHECK(r.has_replay_age);
  CHECK(r.replay_age_s > 1.24 && r.replay_age_s < 1.26);
  CHECK(!r.caught_up);

  /* The primary: no replay; an empty database: no model, no cursor. */
  r = parse_ok("{\"migrations\":\"\",\"model\":null,\"cursor\":null,\"recovery\":false,"
               "\"replay_age\":null,\"caught_up\":false}");
  CHECK(!r.has_model && !r.has_cursor && !r.in_recovery && !r.has_replay_age);

  idx_replica_reading_t bad;
  const char *const malformed[] = {
      "",
      "[]",
      "{}",
      "{\"migrations\":1}",
      "{\"migrations\":\"x\",\"model\":{\"block\":-1}}",
      "{\"migrations\":\"x\",\"model\":{\"block\":3}}",
      "{\"migrations\":\"x\",\"model\":7}",
      "{\"migrations\":\"x\",\"model\":{\"block\":3,\"version\":\"0123456789012345678901234\"}}",
  };
  for (size_t i = 0; i < IDX_ARRAY_LEN(malformed); i++)
    CHECK(!idx_replica_parse(malformed[i], strlen(malformed[i]), &bad));
}

static void test_judge(void) {
  char why[200];
  idx_replica_reading_t r;
  memset(&r, 0, sizeof r);
  CHECK(!idx_replica_judge(&r, ours, 10, 30000, why, sizeof why));
  CHECK(strstr(why, "not read yet"));
  r.schema = IDX_SCHEMA_MISSING;
  CHECK(!idx_replica_judge(&r, ours, 10, 30000, why, sizeof why));
  CHECK(strstr(why, "no schema"));
  r.schema = IDX_SCHEMA_OLDER;
  snprintf(r.applied, sizeof r.applied, "001_core,002_license_model");
  CHECK(!idx_replica_judge(&r, ours, 10, 30000, why, sizeof why));
  CHECK_STR(why, "schema at migration 002_license_model, this binary expects 003_license_queries: "
                 "waiting for the writer's migration (or its replay)");
  r.schema = IDX_SCHEMA_NEWER;
  CHECK(!idx_replica_judge(&r, ours, 10, 30000, why, sizeof why));
  CHECK(strstr(why, "upgrade serve"));

  r.schema = IDX_SCHEMA_OK;
  CHECK(!idx_replica_judge(&r, ours, 10, 30000, why, sizeof why));
  CHECK_STR(why, "nothing indexed yet");
  r.has_model = r.has_cursor = true;
  r.model_block = 100;
  r.cursor = 111;
  CHECK(!idx_replica_judge(&r, ours, 10, 30000, why, sizeof why));
  CHECK_STR(why, "the model is 11 blocks behind the writer's cursor 111 (limit 10)");
  r.cursor = 110;
  CHECK(idx_replica_judge(&r, ours, 10, 30000, why, sizeof why));
  CHECK_STR(why, "");

  /* A standby: an old replay counts only while WAL is not caught up. */
  r.in_recovery = true;
  r.has_replay_age = true;
  r.replay_age_s = 31;
  CHECK(!idx_replica_judge(&r, ours, 10, 30000, why, sizeof why));
  CHECK(strstr(why, "replay lag: the last replayed transaction is 31.0 s old (limit 30.0 s)"));
  r.caught_up = true; /* an idle primary: nothing to replay */
  CHECK(idx_replica_judge(&r, ours, 10, 30000, why, sizeof why));
  r.caught_up = false;
  r.replay_age_s = 29.5;
  CHECK(idx_replica_judge(&r, ours, 10, 30000, why, sizeof why));
  r.has_replay_age = false;
  CHECK(!idx_replica_judge(&r, ours, 10, 30000, why, sizeof why));
}

static void test_expected(void) {
  char dir[] = "/tmp/idx-replica-XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  char out[IDX_REPLICA_MAX_MIGRATIONS], err[256], path[512];
  CHECK_INT(idx_replica_expected(dir, out, sizeof out, err, sizeof err), IDX_ERR_CONFIG);
  const char *const files[] = {"002_model.sql", "001_core.sql",  "README.md",
                               "01_bad.sql",    "003_Upper.sql", "010_late.sql"};
  for (size_t i = 0; i < IDX_ARRAY_LEN(files); i++) {
    snprintf(path, sizeof path, "%s/%s", dir, files[i]);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f)
      fclose(f);
  }
  CHECK_INT(idx_replica_expected(dir, out, sizeof out, err, sizeof err), 0);
  CHECK_STR(out, "001_core,002_model,010_late");
  CHECK_INT(idx_replica_expected(dir, out, 12, err, sizeof err), IDX_ERR_CONFIG);
  for (size_t i = 0; i < IDX_ARRAY_LEN(files); i++) {
    snprintf(path, sizeof path, "%s/%s", dir, files[i]);
    unlink(path);
  }
  rmdir(dir);
  CHECK_INT(idx_replica_expected("/nonexistent/dir", out, sizeof out, err, sizeof err), IDX_ERR_IO);
  CHECK_INT(idx_replica_expected(SCHEMA_DIR, out, sizeof out, err, sizeof err), 0);
  CHECK(strncmp(out, "001_core,002_license_model,", 27) == 0);
}

int main(void) {
  test_schema_state();
  test_parse();
  test_judge();
  test_expected();
  CHECK_DONE();
}
