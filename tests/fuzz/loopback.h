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

#include <uv.h>

/* Sends len bytes to 127.0.0.1:port and runs loop as described above.
 * Returns the bytes of answer received (they are discarded). */
size_t fuzz_exchange(uv_loop_t *loop, int port, const void *bytes, size_t len,
                     uint64_t deadline_ms);

/* The HTTP API on its own loop, started on the first call: a free
 * loopback port, a database that cannot be reached (every query fails at
 * once, answered 503), a small answer cache, logs off. Returns the port
 * and sets *loop. */
int fuzz_api_once(uv_loop_t **loop);

#endif
