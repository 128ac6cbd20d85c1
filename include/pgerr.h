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

/* The error code of a failed statement: IDX_ERR_DB_CONN when
 * connection_bad or idx_pgerr_sqlstate_is_conn(sqlstate), else
 * IDX_ERR_DB. sqlstate may be NULL (no result, or a client-side failure). */
int idx_pgerr_code(const char *sqlstate, bool connection_bad);

#endif
