/*
 * loopback.h: what the server-side fuzz targets share: a client that
 * hands bytes to a server on this process's own loop, and the HTTP API
 * (api.c) started once on that loop.
 *
 * The client is a non-blocking socket in the same thread: it sends the
 * bytes, half-closes, and turns the loop until the server closes the
 * connection (or the deadline passes), then a few more times so the
 * server frees it. With FUZZ_SHOW_ANSWERS set in the environment, the
 * answers are copied to stderr (to see what an input does).
 */
#ifndef FUZZ_LOOPBACK_H
#define FUZZ_LOOPBACK_H

#include "common.h"

#include "buf.h"

#include <uv.h>

/* Sends len bytes to 127.0.0.1:port and runs loop as described above.
 * The answer's bytes are appended to answer (NULL: discarded). Returns
 * how many were received. */
size_t fuzz_exchange(uv_loop_t *loop, int port, const void *bytes, size_t len, uint64_t deadline_ms,
                     idx_buf_t *answer);

/* Fails (abort) when an answer in b is a 500: the API's promise is a
 * clear 4xx for bad input and a 503 while the database is away, so a 500
 * is a bug. what names the input for the message. */
void fuzz_no_internal_error(const idx_buf_t *b, const char *what, size_t what_len);

/* The HTTP API on its own loop, started on the first call: a free
 * loopback port, a small answer cache, logs off (FUZZ_LOG=1: on). Its database is the
 * conninfo in DIMO_FUZZ_DB (a migrated database: scripts/test.sh makes
 * one), else one that cannot be reached, so that every query fails at
 * once (503). Returns the port and sets *loop. */
int fuzz_api_once(uv_loop_t **loop);

/* True when the API reads a real database (DIMO_FUZZ_DB). */
bool fuzz_api_has_db(void);

/* Empties the API's answer cache (as a commit of the sync engine does). */
void fuzz_api_forget(void);

#endif
