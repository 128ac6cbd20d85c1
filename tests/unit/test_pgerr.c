/* Unit tests for pgerr.c: which PostgreSQL failures mean the connection
 * is gone (store and dbpool both ask it). */
#include "common.h"

#include "check.h"
#include "pgerr.h"

static void test_sqlstates(void) {
  /* Class 08: connection exceptions. */
  CHECK(idx_pgerr_sqlstate_is_conn("08000"));
  CHECK(idx_pgerr_sqlstate_is_conn("08006"));
  CHECK(idx_pgerr_sqlstate_is_conn("08P01"));
  /* 57P0x: the server ends the session. */
  CHECK(idx_pgerr_sqlstate_is_conn("57P01"));
  CHECK(idx_pgerr_sqlstate_is_conn("57P05"));
  /* Statement errors that leave the session usable. */
  CHECK(!idx_pgerr_sqlstate_is_conn("57014")); /* query_canceled */
  CHECK(!idx_pgerr_sqlstate_is_conn("23505")); /* unique_violation */
  CHECK(!idx_pgerr_sqlstate_is_conn("40001")); /* serialization_failure */
  CHECK(!idx_pgerr_sqlstate_is_conn("P0001")); /* raise_exception */
  /* Not a SQLSTATE at all. */
  CHECK(!idx_pgerr_sqlstate_is_conn(NULL));
  CHECK(!idx_pgerr_sqlstate_is_conn(""));
  CHECK(!idx_pgerr_sqlstate_is_conn("08"));
  CHECK(!idx_pgerr_sqlstate_is_conn("080000"));
}

static void test_transient(void) {
  CHECK(idx_pgerr_sqlstate_is_transient("57014")); /* query_canceled */
  CHECK(idx_pgerr_sqlstate_is_transient("40001")); /* serialization_failure */
  CHECK(idx_pgerr_sqlstate_is_transient("40P01")); /* deadlock_detected */
  CHECK(idx_pgerr_sqlstate_is_transient("55P03")); /* lock_not_available */
  CHECK(idx_pgerr_sqlstate_is_transient("53100")); /* disk_full */
  CHECK(idx_pgerr_sqlstate_is_transient("53200")); /* out_of_memory */
  CHECK(idx_pgerr_sqlstate_is_transient("58030")); /* io_error */
  /* What retrying cannot mend. */
  CHECK(!idx_pgerr_sqlstate_is_transient("42501")); /* insufficient_privilege */
  CHECK(!idx_pgerr_sqlstate_is_transient("23505")); /* unique_violation */
  CHECK(!idx_pgerr_sqlstate_is_transient("42P01")); /* undefined_table */
  CHECK(!idx_pgerr_sqlstate_is_transient("P0001")); /* raise_exception */
  CHECK(!idx_pgerr_sqlstate_is_transient("08006")); /* a connection failure: its own class */
  CHECK(!idx_pgerr_sqlstate_is_transient(NULL));
  CHECK(!idx_pgerr_sqlstate_is_transient("53"));
  CHECK(!idx_pgerr_sqlstate_is_transient("571014"));
}

static void test_codes(void) {
  CHECK_INT(idx_pgerr_code("23505", false), IDX_ERR_DB);
  CHECK_INT(idx_pgerr_code(NULL, false), IDX_ERR_DB);
  CHECK_INT(idx_pgerr_code("08006", false), IDX_ERR_DB_CONN);
  CHECK_INT(idx_pgerr_code("57P01", false), IDX_ERR_DB_CONN);
  /* libpq's CONNECTION_BAD wins over any SQLSTATE. */
  CHECK_INT(idx_pgerr_code("23505", true), IDX_ERR_DB_CONN);
  CHECK_INT(idx_pgerr_code(NULL, true), IDX_ERR_DB_CONN);
}

int main(void) {
  test_sqlstates();
  test_transient();
  test_codes();
  CHECK_DONE();
}
