/* store.c: PostgreSQL persistence through libpq (see store.h). */
#include "common.h"

#include "store.h"

void idx_store_close(idx_store_t *store) { (void)store; }
