/* pgerr.c: the one classification of PostgreSQL failures (see pgerr.h). */
#include "common.h"

#include "pgerr.h"

#include <string.h>

bool idx_pgerr_sqlstate_is_conn(const char *sqlstate) {
  if (!sqlstate || strlen(sqlstate) != 5)
    return false;
  return strncmp(sqlstate, "08", 2) == 0 || strncmp(sqlstate, "57P0", 4) == 0;
}

bool idx_pgerr_sqlstate_is_transient(const char *sqlstate) {
  if (!sqlstate || strlen(sqlstate) != 5)
    return false;
  static const char *const exact[] = {"40001", "40P01", "55P03", "57014", "58030"};
  for (size_t i = 0; i < IDX_ARRAY_LEN(exact); i++)
    if (strcmp(sqlstate, exact[i]) == 0)
      return true;
  return strncmp(sqlstate, "53", 2) == 0;
}

int idx_pgerr_code(const char *sqlstate, bool connection_bad) {
  return connection_bad || idx_pgerr_sqlstate_is_conn(sqlstate) ? IDX_ERR_DB_CONN : IDX_ERR_DB;
}
