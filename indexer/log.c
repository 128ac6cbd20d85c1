/* log.c: text or JSON log lines on stderr (see log.h). */
#include "common.h"

#include "buf.h"
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static idx_log_level_t log_min = IDX_LOG_INFO;
static idx_log_format_t log_format = IDX_LOG_TEXT;

static const char *const level_names[] = {"debug", "info", "warn", "error"};
static const char *const level_tags[] = {"DEBUG", "INFO ", "WARN ", "ERROR"};

void idx_log_setup(idx_log_level_t min_level, idx_log_format_t format) {
  log_min = min_level;
  log_format = format;
}

int idx_log_parse_level(const char *s, idx_log_level_t *out) {
  for (size_t i = 0; i < IDX_ARRAY_LEN(level_names); i++) {
    if (strcmp(s, level_names[i]) == 0) {
      *out = (idx_log_level_t)i;
      return 0;
    }
  }
  return IDX_ERR_CONFIG;
}

int idx_log_parse_format(const char *s, idx_log_format_t *out) {
  if (strcmp(s, "text") == 0)
    *out = IDX_LOG_TEXT;
  else if (strcmp(s, "json") == 0)
    *out = IDX_LOG_JSON;
  else
    return IDX_ERR_CONFIG;
  return 0;
}

bool idx_log_enabled(idx_log_level_t level) { return level >= log_min; }

/* Text lines are read by people and parsed by line: a message that carries
 * a provider's error text (an RPC error, an HTTP error page) must not be
 * able to end the line and forge another, nor drive the terminal. Control
 * bytes (C0, DEL, UTF-8-encoded C1) and the backslash are escaped. */
size_t idx_log_escape_text(char *out, size_t cap, const char *in, size_t n) {
  static const char hexd[] = "0123456789abcdef";
  size_t j = 0;
  if (cap == 0)
    return 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)in[i];
    char e[8];
    size_t en = 0;
    if (c == '\\') {
      e[en++] = '\\';
      e[en++] = '\\';
    } else if (c == '\n' || c == '\r' || c == '\t') {
      e[en++] = '\\';
      e[en++] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
    } else if (c < 0x20 || c == 0x7f) {
      e[en++] = '\\';
      e[en++] = 'x';
      e[en++] = hexd[c >> 4];
      e[en++] = hexd[c & 15];
    } else if (c == 0xc2 && i + 1 < n && (unsigned char)in[i + 1] >= 0x80 &&
               (unsigned char)in[i + 1] <= 0x9f) {
      unsigned char c1 = (unsigned char)in[++i];
      e[en++] = '\\';
      e[en++] = 'x';
      e[en++] = hexd[c1 >> 4];
      e[en++] = hexd[c1 & 15];
    } else {
      e[en++] = (char)c;
    }
    if (j + en >= cap)
      break;
    memcpy(out + j, e, en);
    j += en;
  }
  out[j] = '\0';
  return j;
}

void idx_log_generic(idx_log_level_t level, const char *component, const char *fmt, ...) {
  if (level < log_min)
    return;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char when[80];
  snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
           (int)(ts.tv_nsec / 1000000L) % 1000);

  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  size_t mlen = n < 0 ? 0 : (size_t)n >= sizeof msg ? sizeof msg - 1 : (size_t)n;

  if (log_format == IDX_LOG_TEXT) {
    char safe[sizeof msg * 2], comp[64];
    size_t slen = idx_log_escape_text(safe, sizeof safe, msg, mlen);
    (void)idx_log_escape_text(comp, sizeof comp, component, strlen(component));
    fprintf(stderr, "%s %s %s: %.*s\n", when, level_tags[level], comp, (int)slen, safe);
    return;
  }
  idx_buf_t line;
  idx_buf_init(&line, sizeof msg * 7);
  int rc = idx_buf_addf(&line, "{\"time\":\"%s\",\"level\":\"%s\",\"component\":", when,
                        level_names[level]);
  if (!rc)
    rc = idx_buf_add_json_str(&line, component, strlen(component));
  if (!rc)
    rc = idx_buf_adds(&line, ",\"msg\":");
  if (!rc)
    rc = idx_buf_add_json_str(&line, msg, mlen);
  if (!rc)
    rc = idx_buf_adds(&line, "}\n");
  if (!rc)
    fwrite(line.data, 1, line.len, stderr);
  idx_buf_free(&line);
}
