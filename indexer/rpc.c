/* rpc.c: asynchronous JSON-RPC over libcurl multi on libuv (see rpc.h). */
#include "common.h"

#include "rpc.h"

void idx_rpc_options_default(idx_rpc_options_t *o) {
  o->urls = NULL;
  o->nurls = 0;
  o->timeout_ms = 30000;
  o->connect_timeout_ms = 5000;
  o->max_response = (size_t)256 << 20;
  o->max_attempts = 10;
  o->backoff_base_ms = 200;
  o->backoff_max_ms = 30000;
  o->max_in_flight = 4;
}
