/* common.c: the error table behind idx_strerror() and idx_errname(), and
 * idx_set_err(). */
#include "common.h"

#include <stdarg.h>
#include <stdio.h>

#define IDX__ERR_MSG(name, msg) msg,
static const char *const err_messages[] = {"success", IDX_ERRNO_MAP(IDX__ERR_MSG)};
#undef IDX__ERR_MSG

#define IDX__ERR_NAME(name, msg) #name,
static const char *const err_names[] = {"OK", IDX_ERRNO_MAP(IDX__ERR_NAME)};
#undef IDX__ERR_NAME

static size_t err_index(int err) {
  if (err > 0 || err <= -(int)IDX__ERRPOS_END)
    return SIZE_MAX;
  return (size_t)-err;
}

const char *idx_strerror(int err) {
  size_t i = err_index(err);
  return i == SIZE_MAX ? "unknown error" : err_messages[i];
}

const char *idx_errname(int err) {
  size_t i = err_index(err);
  return i == SIZE_MAX ? "UNKNOWN" : err_names[i];
}

void idx_set_err(char *err, size_t errlen, const char *fmt, ...) {
  if (!err || errlen == 0)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
}
