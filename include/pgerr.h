/*
 * pgerr.h: the one classification of PostgreSQL failures.
 *
 * Both libpq users (store: blocking, the sync engine's; dbpool: the API's
 * asynchronous connections) turn a failed statement into our error code
 * here, so "is the connection gone?" has one answer: IDX_ERR_DB_CONN when
 * libpq says the connection is bad, or the SQLSTATE is a connection
 * exception (class 08) or the server ending the session (57P01
 * admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now, 57P04
 * database_dropped, 57P05 idle_session_timeout); IDX_ERR_DB otherwise
 * (57014 query_canceled, for one, leaves the connection usable).
 *
 * Pure functions of strings: no libpq here, so a unit test calls them
 * directly; the callers pass PQstatus(conn) == CONNECTION_BAD.
 */
#ifndef IDX_PGERR_H
#define IDX_PGERR_H

#include "common.h"

/* Whether a SQLSTATE (five characters; NULL or anything else: false) says
 * the session is over. */
bool idx_pgerr_sqlstate_is_conn(const char *sqlstate);

/* Whether a SQLSTATE names a failure that passes by itself, the session
 * still usable: 40001 serialization_failure, 40P01 deadlock_detected,
 * 55P03 lock_not_available, 57014 query_canceled (a DBA's
 * pg_cancel_backend, a statement_timeout), class 53 insufficient
 * resources (53100 disk_full, 53200 out_of_memory, 53300
 * too_many_connections, ...) and 58030 io_error. The sync engine retries
 * these with its database backoff instead of stopping the follower; a
 * lost privilege (42501), a broken constraint (23xxx) or a schema
 * mismatch (42xxx) still stop it: retrying cannot mend them. */
bool idx_pgerr_sqlstate_is_transient(const char *sqlstate);

/* The error code of a failed statement: IDX_ERR_DB_CONN when
 * connection_bad or idx_pgerr_sqlstate_is_conn(sqlstate), else
 * IDX_ERR_DB. sqlstate may be NULL (no result, or a client-side failure). */
int idx_pgerr_code(const char *sqlstate, bool connection_bad);

#endif
