/*
 * store.c: PostgreSQL persistence through libpq (see store.h).
 *
 * Every statement goes through PQexecParams with binary parameters and
 * binary results, so no value is ever spliced into SQL text and bytea,
 * integers and times cross the wire exactly. Logs are loaded with COPY in
 * the binary format (no escaping at all: every field is a length and raw
 * bytes), streamed in chunks of COPY_CHUNK bytes so memory stays bounded
 * whatever the batch size. Headers go in as binary arrays through
 * unnest(), HEADER_GROUP at a time.
 *
 * Errors: libpq's failure becomes IDX_ERR_DB_CONN when the connection is
 * gone, IDX_ERR_DB_TRANSIENT when the SQLSTATE says it passes by itself (a
 * cancelled statement, a deadlock, a full disk: pgerr.h), and IDX_ERR_DB
 * otherwise (idx_pgerr_code, the classification dbpool shares); the
 * message goes to err and to the log, once, here.
 */
#include "common.h"

#include "store.h"

#include "buf.h"
#include "hex.h"
#include "keccak.h"
#include "log.h"
#include "pgerr.h"

#include <libpq-fe.h>
#include <uv.h>

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Built-in type OIDs (fixed in pg_type.dat since PostgreSQL 7). */
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_TEXT 25
#define OID_TIMESTAMPTZ 1184
#define OID_BYTEA_ARRAY 1001
#define OID_INT8_ARRAY 1016
#define OID_TIMESTAMPTZ_ARRAY 1185

#define COPY_CHUNK (256u * 1024u) /* bytes per PQputCopyData */
#define HEADER_GROUP 2048u        /* headers per INSERT */
#define MAX_PARAMS 8
#define MAX_MIGRATIONS 999 /* three digits */
#define MIGRATION_NAME_MAX 128

/* Unix seconds of 2000-01-01T00:00:00Z, PostgreSQL's timestamp epoch. */
#define PG_EPOCH_UNIX INT64_C(946684800)
/* 9999-12-31T23:59:59Z: the latest block time accepted. */
#define MAX_UNIX_TIME INT64_C(253402300799)
/* A COPY field length is an int32; keep clear of the 1 GiB varlena limit. */
#define MAX_FIELD_BYTES ((size_t)0x3FFFFFF0)

/* pg_advisory_xact_lock key serializing migrations: "dimo-mig". */
#define MIGRATE_LOCK_KEY INT64_C(0x64696d6f2d6d6967)

#define IDX__STR(x) #x
#define IDX__XSTR(x) IDX__STR(x)
#define CONN_OPTIONS                                                                               \
  "-c statement_timeout=" IDX__XSTR(                                                               \
      IDX_STORE_STATEMENT_TIMEOUT_MS) " -c idle_in_transaction_session_timeout=300000"

struct idx_store_s {
  PGconn *conn;
  bool broken;      /* a call saw the connection fail: reconnect first */
  char sqlstate[6]; /* of the last failure, or "" */
};

/* ---- messages ----------------------------------------------------------- */

/* Copies a libpq message as one line (log lines and err are single
 * lines): each run of white space (libpq uses newlines and tabs) becomes
 * one space, and none is left at either end. */
static void one_line(char *out, size_t cap, const char *msg) {
  size_t n = 0;
  bool space = false;
  if (cap == 0)
    return;
  for (const char *p = msg ? msg : ""; *p && n + 1 < cap; p++) {
    if (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t') {
      space = n > 0;
      continue;
    }
    if (space && n + 2 < cap)
      out[n++] = ' ';
    space = false;
    out[n++] = *p;
  }
  out[n] = '\0';
}

/* Line (1-based) of the character at 1-based position pos in text. */
static long line_of(const char *text, long pos) {
  long line = 1;
  for (long i = 0; text && text[i] && i < pos - 1; i++)
    if (text[i] == '\n')
      line++;
  return line;
}

/* Turns a failed result (or, when res is NULL, the connection's last
 * error) into our code, writes "what: message" to err and the log, and
 * clears res. sql, when given, locates a syntax error by line. */
static int fail_res(idx_store_t *s, PGresult *res, const char *what, const char *sql, char *err,
                    size_t errlen) {
  const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
  const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
  const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
  const char *hint = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_HINT) : NULL;
  const char *position = res ? PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION) : NULL;
  char msg[1024], extra[512] = "", where[64] = "";

  snprintf(s->sqlstate, sizeof s->sqlstate, "%s", state ? state : "");
  if (primary) {
    one_line(msg, sizeof msg, primary);
    if (detail) {
      char d[400];
      one_line(d, sizeof d, detail);
      snprintf(extra, sizeof extra, ": %s", d);
    }
    if (hint) {
      char h[200];
      size_t used = strlen(extra);
      one_line(h, sizeof h, hint);
      snprintf(extra + used, sizeof extra - used, " (hint: %s)", h);
    }
  } else {
    const char *m = res ? PQresultErrorMessage(res) : "";
    one_line(msg, sizeof msg, m && *m ? m : PQerrorMessage(s->conn));
    if (!msg[0])
      snprintf(msg, sizeof msg, "%s", res ? PQresStatus(PQresultStatus(res)) : "no result");
  }
  if (sql && position) {
    char *end;
    long pos = strtol(position, &end, 10);
    if (*end == '\0' && pos > 0)
      snprintf(where, sizeof where, " (line %ld)", line_of(sql, pos));
  }

  int code = idx_pgerr_code(state, PQstatus(s->conn) == CONNECTION_BAD);
  if (code == IDX_ERR_DB_CONN)
    s->broken = true;
  else if (idx_pgerr_sqlstate_is_transient(state))
    code = IDX_ERR_DB_TRANSIENT; /* the engine retries it (pgerr.h) */
  idx_set_err(err, errlen, "%s%s: %s%s%s%s%s", what, where, msg, extra, state ? " [SQLSTATE " : "",
              state ? state : "", state ? "]" : "");
  idx_log_error("store", "%s%s: %s%s%s%s%s", what, where, msg, extra, state ? " [SQLSTATE " : "",
                state ? state : "", state ? "]" : "");
  PQclear(res);
  return code;
}

static void on_notice(void *arg, const char *message) {
  (void)arg;
  char line[512];
  one_line(line, sizeof line, message);
  idx_log_debug("store", "server: %s", line);
}

/* ---- parameters and results -------------------------------------------- */

typedef struct params_s {
  int n;
  Oid types[MAX_PARAMS];
  const char *values[MAX_PARAMS];
  int lengths[MAX_PARAMS];
  int formats[MAX_PARAMS];
  unsigned char ints[MAX_PARAMS][8];
} params_t;

static void put_be16(unsigned char *p, uint16_t v) {
  p[0] = (unsigned char)(v >> 8);
  p[1] = (unsigned char)v;
}

static void put_be32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (unsigned char)(v >> (24 - 8 * i));
}

static void put_be64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (unsigned char)(v >> (56 - 8 * i));
}

static uint64_t get_be64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v = (v << 8) | p[i];
  return v;
}

static void par_int8(params_t *p, int64_t v) {
  int i = p->n++;
  put_be64(p->ints[i], (uint64_t)v);
  p->types[i] = OID_INT8;
  p->values[i] = (const char *)p->ints[i];
  p->lengths[i] = 8;
  p->formats[i] = 1;
}

/* Binary parameter of any type; the caller keeps len <= INT_MAX. */
static void par_bin(params_t *p, Oid type, const void *data, size_t len) {
  int i = p->n++;
  p->types[i] = type;
  p->values[i] = (const char *)data;
  p->lengths[i] = (int)len;
  p->formats[i] = 1;
}

/* Runs one statement (binary results). On success *out (if not NULL)
 * receives the result, which the caller clears. */
static int exec_params(idx_store_t *s, const char *sql, const params_t *p, PGresult **out,
                       const char *what, char *err, size_t errlen) {
  PGresult *res =
      PQexecParams(s->conn, sql, p ? p->n : 0, p ? p->types : NULL, p ? p->values : NULL,
                   p ? p->lengths : NULL, p ? p->formats : NULL, 1);
  ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
    return fail_res(s, res, what, NULL, err, errlen);
  if (out)
    *out = res;
  else
    PQclear(res);
  return 0;
}

static int exec_simple(idx_store_t *s, const char *sql, const char *what, char *err,
                       size_t errlen) {
  return exec_params(s, sql, NULL, NULL, what, err, errlen);
}

/* Ends a failed transaction, if one is open and the connection lives. */
static void tx_abort(idx_store_t *s) {
  if (s->broken || PQstatus(s->conn) != CONNECTION_OK)
    return;
  if (PQtransactionStatus(s->conn) == PQTRANS_IDLE)
    return;
  PQclear(PQexec(s->conn, "ROLLBACK"));
  if (PQstatus(s->conn) != CONNECTION_OK)
    s->broken = true;
}

/* Starts a public call: refuses to run on a connection known to be lost. */
static int call_begin(idx_store_t *s, char *err, size_t errlen) {
  s->sqlstate[0] = '\0';
  if (s->broken || PQstatus(s->conn) != CONNECTION_OK) {
    s->broken = true;
    idx_set_err(err, errlen, "database connection lost; reconnect first");
    return IDX_ERR_DB_CONN;
  }
  if (err && errlen)
    err[0] = '\0';
  return 0;
}

static int bad_shape(char *err, size_t errlen, const char *what) {
  idx_set_err(err, errlen, "%s: unexpected result shape", what);
  idx_log_error("store", "%s: unexpected result shape", what);
  return IDX_ERR_DB;
}

static bool res_int8(const PGresult *r, int row, int col, int64_t *out) {
  if (PQgetisnull(r, row, col) || PQgetlength(r, row, col) != 8)
    return false;
  *out = (int64_t)get_be64((const unsigned char *)PQgetvalue(r, row, col));
  return true;
}

static bool res_hash(const PGresult *r, int row, int col, idx_hash_t *out) {
  if (PQgetisnull(r, row, col) || PQgetlength(r, row, col) != 32)
    return false;
  memcpy(out->b, PQgetvalue(r, row, col), 32);
  return true;
}

/* Microseconds since 2000-01-01 (binary timestamptz) from unix seconds in
 * [0, MAX_UNIX_TIME], and back (rounding down). */
static int64_t pg_time_from_unix(int64_t t) { return (t - PG_EPOCH_UNIX) * INT64_C(1000000); }

static int64_t unix_from_pg_time(int64_t us) {
  int64_t q = us / 1000000, r = us % 1000000;
  return (r < 0 ? q - 1 : q) + PG_EPOCH_UNIX;
}

/* ---- open, close, reconnect --------------------------------------------- */

int idx_store_open(idx_store_t **out, const char *conninfo, char *err, size_t errlen) {
  *out = NULL;
  idx_store_t *s = calloc(1, sizeof *s);
  if (!s) {
    idx_set_err(err, errlen, "out of memory");
    return IDX_ERR_NOMEM;
  }
  /* Keywords are applied in order and conninfo (expanded from dbname)
   * overrides those before it: defaults first, then conninfo, then what
   * the store needs. */
  static const char *const keys[] = {
      "fallback_application_name",
      "connect_timeout",
      "keepalives",
      "keepalives_idle",
      "keepalives_interval",
      "keepalives_count",
      "options",
      "dbname",
      "client_encoding",
      NULL,
  };
  const char *values[] = {
      "dimo-indexer", "10", "1", "30", "10", "3", CONN_OPTIONS, conninfo, "UTF8", NULL,
  };
  s->conn = PQconnectdbParams(keys, values, 1);
  if (!s->conn) {
    free(s);
    idx_set_err(err, errlen, "out of memory");
    return IDX_ERR_NOMEM;
  }
  if (PQstatus(s->conn) != CONNECTION_OK) {
    char msg[512];
    one_line(msg, sizeof msg, PQerrorMessage(s->conn));
    idx_set_err(err, errlen, "cannot connect to PostgreSQL: %s", msg);
    idx_log_error("store", "cannot connect to PostgreSQL: %s", msg);
    PQfinish(s->conn);
    free(s);
    return IDX_ERR_DB_CONN;
  }
  PQsetNoticeProcessor(s->conn, on_notice, NULL);
  idx_log_debug("store", "connected to PostgreSQL %d (backend %d)", PQserverVersion(s->conn),
                PQbackendPID(s->conn));
  *out = s;
  return 0;
}

void idx_store_close(idx_store_t *store) {
  if (!store)
    return;
  PQfinish(store->conn);
  free(store);
}

int idx_store_reconnect(idx_store_t *store, char *err, size_t errlen) {
  store->sqlstate[0] = '\0';
  PQreset(store->conn);
  if (PQstatus(store->conn) != CONNECTION_OK) {
    char msg[512];
    one_line(msg, sizeof msg, PQerrorMessage(store->conn));
    idx_set_err(err, errlen, "cannot reconnect to PostgreSQL: %s", msg);
    idx_log_error("store", "cannot reconnect to PostgreSQL: %s", msg);
    store->broken = true;
    return IDX_ERR_DB_CONN;
  }
  store->broken = false;
  idx_log_info("store", "reconnected to PostgreSQL (backend %d)", PQbackendPID(store->conn));
  return 0;
}

const char *idx_store_sqlstate(const idx_store_t *store) { return store->sqlstate; }

/* ---- migrations ---------------------------------------------------------- */

typedef struct migration_s {
  int version;
  char file[MIGRATION_NAME_MAX];
} migration_t;

/* True when name[from..to) is made of [a-z0-9_] only: the letters of
 * migration and repeatable file names. */
static bool name_chars_ok(const char *name, size_t from, size_t to) {
  for (size_t i = from; i < to; i++) {
    char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
      return false;
  }
  return true;
}

/* 1: a migration file (NNN_name.sql, *version set); 0: not ours (not .sql,
 * hidden); -1: a .sql file with a bad name. */
static int parse_migration_name(const char *name, int *version) {
  size_t n = strlen(name);
  if (name[0] == '.' || n < 4 || strcmp(name + n - 4, ".sql") != 0)
    return 0;
  /* "NNN_" + at least one name character + ".sql" */
  if (n < 9 || n >= MIGRATION_NAME_MAX)
    return -1;
  for (int i = 0; i < 3; i++)
    if (name[i] < '0' || name[i] > '9')
      return -1;
  if (name[3] != '_' || !name_chars_ok(name, 4, n - 4))
    return -1;
  *version = (name[0] - '0') * 100 + (name[1] - '0') * 10 + (name[2] - '0');
  return *version == 0 ? -1 : 1;
}

int idx_store_migration_version(const char *file) {
  int version = -1;
  return parse_migration_name(file, &version) == 1 ? version : -1;
}

static int cmp_migration(const void *a, const void *b) {
  const migration_t *x = a, *y = b;
  if (x->version != y->version)
    return x->version < y->version ? -1 : 1;
  return strcmp(x->file, y->file);
}

/* Lists and checks schema_dir: *out (malloc'd, sorted) holds versions
 * 1..*n exactly. */
static int list_migrations(const char *dir, migration_t **out, size_t *n, char *err,
                           size_t errlen) {
  *out = NULL;
  *n = 0;
  DIR *d = opendir(dir);
  if (!d) {
    idx_set_err(err, errlen, "schema dir %s: %s", dir, strerror(errno));
    idx_log_error("store", "schema dir %s: %s", dir, strerror(errno));
    return IDX_ERR_IO;
  }
  migration_t *list = calloc(MAX_MIGRATIONS, sizeof *list);
  if (!list) {
    closedir(d);
    idx_set_err(err, errlen, "out of memory");
    return IDX_ERR_NOMEM;
  }
  size_t count = 0;
  int rc = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    int version = 0;
    int kind = parse_migration_name(e->d_name, &version);
    if (kind == 0)
      continue;
    if (kind < 0) {
      idx_set_err(err, errlen,
                  "schema dir %s: bad migration file name %s (want NNN_name.sql: three digits from "
                  "001, '_', then [a-z0-9_])",
                  dir, e->d_name);
      rc = IDX_ERR_CONFIG;
      break;
    }
    if (count == MAX_MIGRATIONS) {
      idx_set_err(err, errlen, "schema dir %s: more than %d migrations", dir, MAX_MIGRATIONS);
      rc = IDX_ERR_CONFIG;
      break;
    }
    list[count].version = version;
    memcpy(list[count].file, e->d_name, strlen(e->d_name) + 1); /* < MIGRATION_NAME_MAX */
    count++;
  }
  closedir(d);
  if (!rc && count == 0) {
    idx_set_err(err, errlen, "schema dir %s: no migrations (NNN_name.sql) found", dir);
    rc = IDX_ERR_CONFIG;
  }
  if (!rc) {
    qsort(list, count, sizeof *list, cmp_migration);
    for (size_t i = 0; i < count && !rc; i++) {
      if (i > 0 && list[i].version == list[i - 1].version) {
        idx_set_err(err, errlen, "schema dir %s: duplicate migration number %03d: %s and %s", dir,
                    list[i].version, list[i - 1].file, list[i].file);
        rc = IDX_ERR_CONFIG;
      } else if (list[i].version != (int)i + 1) {
        idx_set_err(err, errlen,
                    "schema dir %s: migration %03zu is missing (numbers must run 001, 002, ... "
                    "without gaps; next found: %s)",
                    dir, i + 1, list[i].file);
        rc = IDX_ERR_CONFIG;
      }
    }
  }
  for (size_t i = 0; i < count && !rc; i++) {
    char path[PATH_MAX];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, list[i].file);
    if (stat(path, &st) != 0) {
      idx_set_err(err, errlen, "migration %s: %s", path, strerror(errno));
      rc = IDX_ERR_IO;
    } else if (!S_ISREG(st.st_mode)) {
      idx_set_err(err, errlen, "migration %s: not a regular file", path);
      rc = IDX_ERR_CONFIG;
    } else if ((uintmax_t)st.st_size > IDX_STORE_MAX_MIGRATION_BYTES) {
      idx_set_err(err, errlen, "migration %s: larger than %u bytes", path,
                  IDX_STORE_MAX_MIGRATION_BYTES);
      rc = IDX_ERR_TOO_LARGE;
    }
  }
  if (rc) {
    free(list);
    idx_log_error("store", "%s", err ? err : "bad schema dir");
    return rc;
  }
  *out = list;
  *n = count;
  return 0;
}

/* Reads a migration into a malloc'd NUL-terminated string (capped). */
static int read_migration(const char *dir, const char *file, char **out, char *err, size_t errlen) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  *out = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) {
    idx_set_err(err, errlen, "migration %s: %s", path, strerror(errno));
    return IDX_ERR_IO;
  }
  size_t cap = IDX_STORE_MAX_MIGRATION_BYTES;
  char *text = malloc(cap + 2);
  if (!text) {
    fclose(f);
    idx_set_err(err, errlen, "out of memory");
    return IDX_ERR_NOMEM;
  }
  size_t len = fread(text, 1, cap + 1, f);
  int rc = 0;
  if (ferror(f)) {
    idx_set_err(err, errlen, "migration %s: read error", path);
    rc = IDX_ERR_IO;
  } else if (len > cap) {
    idx_set_err(err, errlen, "migration %s: larger than %zu bytes", path, cap);
    rc = IDX_ERR_TOO_LARGE;
  } else if (memchr(text, '\0', len)) {
    idx_set_err(err, errlen, "migration %s: contains a NUL byte", path);
    rc = IDX_ERR_CONFIG;
  }
  fclose(f);
  if (rc) {
    free(text);
    return rc;
  }
  text[len] = '\0';
  *out = text;
  return 0;
}

static int migrate_lock(idx_store_t *s, char *err, size_t errlen) {
  params_t p = {0};
  par_int8(&p, MIGRATE_LOCK_KEY);
  return exec_params(s, "SELECT pg_advisory_xact_lock($1)", &p, NULL, "migrate: lock", err, errlen);
}

/* The checksum recorded for a migration or a repeatable file: the
 * Keccak-256 of its bytes, 0x-hex (the project's own hash; any stable
 * digest would do). */
#define CHECKSUM_LEN 66

static void text_checksum(const char *text, char out[CHECKSUM_LEN + 1]) {
  idx_hash_t h;
  idx_keccak256(&h, text, strlen(text));
  idx_hash_to_hex(out, &h);
}

static int file_checksum(const char *dir, const char *file, char out[CHECKSUM_LEN + 1], char *err,
                         size_t errlen) {
  char *text = NULL;
  int rc = read_migration(dir, file, &text, err, errlen);
  if (rc)
    return rc;
  text_checksum(text, out);
  free(text);
  return 0;
}

/* Applies one migration unless a concurrent run already did: *ran says. */
static int migrate_one(idx_store_t *s, const char *dir, const migration_t *m, bool *ran, char *err,
                       size_t errlen) {
  char what[MIGRATION_NAME_MAX + 16];
  char *sql = NULL;
  PGresult *res = NULL;
  params_t p = {0};
  *ran = false;
  snprintf(what, sizeof what, "migration %s", m->file);

  int rc = read_migration(dir, m->file, &sql, err, errlen);
  if (rc) {
    idx_log_error("store", "%s", err);
    return rc;
  }
  if ((rc = exec_simple(s, "BEGIN", what, err, errlen)) != 0 ||
      (rc = exec_simple(s, "SET LOCAL statement_timeout = 0", what, err, errlen)) != 0 ||
      /* A lost commit is a migration not applied (and not recorded): run
       * again next time. Not waiting for each one's flush trims a fresh
       * database's start-up (#16). */
      (rc = exec_simple(s, "SET LOCAL synchronous_commit = off", what, err, errlen)) != 0 ||
      (rc = migrate_lock(s, err, errlen)) != 0)
    goto out;
  par_int8(&p, m->version);
  rc = exec_params(s, "SELECT name FROM schema_migrations WHERE version = $1::int", &p, &res, what,
                   err, errlen);
  if (rc)
    goto out;
  bool done = PQntuples(res) > 0;
  PQclear(res);
  if (done) { /* applied by a concurrent run since we looked */
    rc = exec_simple(s, "COMMIT", what, err, errlen);
    goto out;
  }

  res = PQexec(s->conn, sql);
  ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
    rc = fail_res(s, res, what, sql, err, errlen);
    goto out;
  }
  PQclear(res);
  if (PQtransactionStatus(s->conn) != PQTRANS_INTRANS) {
    idx_set_err(err, errlen, "%s ended the transaction itself (COMMIT or ROLLBACK in the file?)",
                what);
    idx_log_error("store", "%s", err);
    rc = IDX_ERR_CONFIG;
    goto out;
  }
  const char *name = m->file + 4;
  size_t name_len = strlen(name) - 4; /* without ".sql" */
  char sum[CHECKSUM_LEN + 1];
  text_checksum(sql, sum);
  par_bin(&p, OID_TEXT, name, name_len);
  par_bin(&p, OID_TEXT, sum, CHECKSUM_LEN);
  rc = exec_params(s,
                   "INSERT INTO schema_migrations (version, name, applied_at, checksum) "
                   "VALUES ($1::int, $2, now(), $3)",
                   &p, NULL, what, err, errlen);
  if (rc)
    goto out;
  rc = exec_simple(s, "COMMIT", what, err, errlen);
  if (!rc) {
    *ran = true;
    idx_log_info("store", "applied %s", what);
  }
out:
  if (rc)
    tx_abort(s);
  free(sql);
  return rc;
}

/* A database migrated by a newer dimo-indexer: its tables and functions
 * may mean what this binary does not know; nothing here touches it. */
static int schema_newer(int newest, const char *schema_dir, size_t n, char *err, size_t errlen) {
  idx_set_err(err, errlen,
              "the database's schema is at migration %03d, newer than this dimo-indexer knows "
              "(%s stops at %03zu): a newer version migrated it; run that version (this one "
              "refuses to read or write it)",
              newest, schema_dir, n);
  idx_log_error("store", "%s", err);
  return IDX_ERR_CONFIG;
}

int idx_store_check_schema(idx_store_t *store, const char *schema_dir, bool *newer, char *err,
                           size_t errlen) {
  *newer = false;
  int rc = call_begin(store, err, errlen);
  if (rc)
    return rc;
  migration_t *list = NULL;
  size_t n = 0;
  if ((rc = list_migrations(schema_dir, &list, &n, err, errlen)) != 0)
    return rc;
  free(list);
  /* No bookkeeping table yet: never migrated, nothing newer. */
  PGresult *res = NULL;
  rc = exec_params(store, "SELECT to_regclass('schema_migrations') IS NOT NULL", NULL, &res,
                   "schema check", err, errlen);
  if (rc)
    return rc;
  bool exists = PQntuples(res) == 1 && PQgetlength(res, 0, 0) == 1 && PQgetvalue(res, 0, 0)[0];
  PQclear(res);
  if (!exists)
    return 0;
  rc = exec_params(store, "SELECT coalesce(max(version), 0)::int8 FROM schema_migrations", NULL,
                   &res, "schema check", err, errlen);
  if (rc)
    return rc;
  int64_t newest = 0;
  bool ok = PQntuples(res) == 1 && res_int8(res, 0, 0, &newest);
  PQclear(res);
  if (!ok)
    return bad_shape(err, errlen, "schema check");
  if (newest > (int64_t)n) {
    *newer = true;
    (void)schema_newer((int)newest, schema_dir, n, err, errlen);
  }
  return 0;
}

/* Compares the applied migrations (rows of schema_migrations: version,
 * checksum) with the files, inside the bookkeeping transaction: a row
 * newer than every file (a newer release migrated the database) and an
 * applied file whose bytes changed are refused, and so is a row without a
 * checksum (a release before checksums, whose files may differ from these
 * with nothing to tell). done[v] is set for every applied version. */
static int check_applied(idx_store_t *store, const char *dir, const migration_t *list, size_t n,
                         bool *done, char *err, size_t errlen) {
  static const char *const what = "migrate: schema_migrations";
  PGresult *res = NULL;
  int rc =
      exec_params(store, "SELECT version, name, checksum FROM schema_migrations ORDER BY version",
                  NULL, &res, what, err, errlen);
  if (rc)
    return rc;
  for (int i = 0; i < PQntuples(res) && !rc; i++) {
    if (PQgetlength(res, i, 0) != 4 || PQgetisnull(res, i, 1)) {
      rc = bad_shape(err, errlen, "migrate");
      break;
    }
    const unsigned char *v = (const unsigned char *)PQgetvalue(res, i, 0);
    int32_t version = (int32_t)(((uint32_t)v[0] << 24) | ((uint32_t)v[1] << 16) |
                                ((uint32_t)v[2] << 8) | (uint32_t)v[3]);
    if (version < 1 || (size_t)version > n) {
      rc = schema_newer((int)version, dir, n, err, errlen);
      break;
    }
    const migration_t *m = &list[version - 1];
    done[version] = true;
    char sum[CHECKSUM_LEN + 1];
    if ((rc = file_checksum(dir, m->file, sum, err, errlen)) != 0)
      break;
    if (PQgetisnull(res, i, 2)) {
      idx_set_err(err, errlen,
                  "the database was migrated by a dimo-indexer without migration checksums "
                  "(migration %s has none), so its schema cannot be verified: index into a new "
                  "database",
                  m->file);
      rc = IDX_ERR_CONFIG;
    } else if ((size_t)PQgetlength(res, i, 2) != CHECKSUM_LEN ||
               memcmp(PQgetvalue(res, i, 2), sum, CHECKSUM_LEN) != 0) {
      idx_set_err(err, errlen,
                  "migration %s was changed after it was applied to this database (checksum "
                  "recorded %.*s, file %s): an applied migration is never edited; add a new "
                  "numbered migration (functions and views belong in %s/functions/, which is "
                  "re-applied when it changes)",
                  m->file, PQgetlength(res, i, 2), PQgetvalue(res, i, 2), sum, dir);
      rc = IDX_ERR_CONFIG;
    }
  }
  PQclear(res);
  if (rc == IDX_ERR_CONFIG)
    idx_log_error("store", "%s", err);
  return rc;
}

/* ---- repeatable files: schema_dir/functions/NAME.sql --------------------- */

typedef struct repeatable_s {
  char file[MIGRATION_NAME_MAX];
} repeatable_t;

static int cmp_repeatable(const void *a, const void *b) {
  return strcmp(((const repeatable_t *)a)->file, ((const repeatable_t *)b)->file);
}

/* Lists dir's repeatable files (sorted by name; [a-z0-9_]+.sql). A missing
 * dir is an empty list. */
static int list_repeatables(const char *dir, repeatable_t **out, size_t *n, char *err,
                            size_t errlen) {
  *out = NULL;
  *n = 0;
  DIR *d = opendir(dir);
  if (!d) {
    if (errno == ENOENT)
      return 0;
    idx_set_err(err, errlen, "schema dir %s: %s", dir, strerror(errno));
    return IDX_ERR_IO;
  }
  repeatable_t *list = calloc(MAX_MIGRATIONS, sizeof *list);
  if (!list) {
    closedir(d);
    idx_set_err(err, errlen, "out of memory");
    return IDX_ERR_NOMEM;
  }
  size_t count = 0;
  int rc = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL && !rc) {
    size_t len = strlen(e->d_name);
    if (e->d_name[0] == '.' || len < 5 || strcmp(e->d_name + len - 4, ".sql") != 0)
      continue;
    if (len >= MIGRATION_NAME_MAX || !name_chars_ok(e->d_name, 0, len - 4)) {
      idx_set_err(err, errlen, "schema dir %s: bad file name %s (want [a-z0-9_]+.sql)", dir,
                  e->d_name);
      rc = IDX_ERR_CONFIG;
    } else if (count == MAX_MIGRATIONS) {
      idx_set_err(err, errlen, "schema dir %s: more than %d files", dir, MAX_MIGRATIONS);
      rc = IDX_ERR_CONFIG;
    } else {
      memcpy(list[count++].file, e->d_name, len + 1);
    }
  }
  closedir(d);
  if (rc) {
    free(list);
    return rc;
  }
  qsort(list, count, sizeof *list, cmp_repeatable);
  *out = list;
  *n = count;
  return 0;
}

/* Re-applies, in name order and in one transaction, every repeatable file
 * whose checksum differs from the one recorded in schema_repeatables (or
 * that was never applied): CREATE OR REPLACE definitions of functions and
 * views, which may change in place, unlike numbered migrations. */
static int apply_repeatables(idx_store_t *s, const char *schema_dir, int *applied, char *err,
                             size_t errlen) {
  static const char *const what = "migrate: repeatable";
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s/functions", schema_dir);
  repeatable_t *list = NULL;
  size_t n = 0;
  int rc = list_repeatables(dir, &list, &n, err, errlen);
  if (rc || n == 0) {
    if (rc)
      idx_log_error("store", "%s", err);
    return rc;
  }
  PGresult *res = NULL;
  char *sql = NULL;
  if ((rc = exec_simple(s, "BEGIN", what, err, errlen)) != 0 ||
      (rc = exec_simple(s, "SET LOCAL statement_timeout = 0", what, err, errlen)) != 0 ||
      /* A lost commit is a migration not applied (and not recorded): run
       * again next time. Not waiting for each one's flush trims a fresh
       * database's start-up (#16). */
      (rc = exec_simple(s, "SET LOCAL synchronous_commit = off", what, err, errlen)) != 0 ||
      (rc = migrate_lock(s, err, errlen)) != 0)
    goto out;
  for (size_t i = 0; i < n && !rc; i++) {
    const char *file = list[i].file;
    if ((rc = read_migration(dir, file, &sql, err, errlen)) != 0)
      break;
    char sum[CHECKSUM_LEN + 1];
    text_checksum(sql, sum);
    params_t p = {0};
    par_bin(&p, OID_TEXT, file, strlen(file));
    if ((rc = exec_params(s, "SELECT checksum FROM schema_repeatables WHERE name = $1", &p, &res,
                          what, err, errlen)) != 0)
      break;
    bool same = PQntuples(res) == 1 && (size_t)PQgetlength(res, 0, 0) == CHECKSUM_LEN &&
                memcmp(PQgetvalue(res, 0, 0), sum, CHECKSUM_LEN) == 0;
    PQclear(res);
    res = NULL;
    if (!same) {
      char label[MIGRATION_NAME_MAX + 32];
      snprintf(label, sizeof label, "functions/%s", file);
      res = PQexec(s->conn, sql);
      ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
      if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
        rc = fail_res(s, res, label, sql, err, errlen);
        res = NULL;
        break;
      }
      PQclear(res);
      res = NULL;
      if (PQtransactionStatus(s->conn) != PQTRANS_INTRANS) {
        idx_set_err(err, errlen,
                    "%s ended the transaction itself (COMMIT or ROLLBACK in the file?)", label);
        rc = IDX_ERR_CONFIG;
        break;
      }
      par_bin(&p, OID_TEXT, sum, CHECKSUM_LEN);
      rc = exec_params(s,
                       "INSERT INTO schema_repeatables (name, checksum, applied_at) "
                       "VALUES ($1, $2, now()) ON CONFLICT (name) DO UPDATE "
                       "SET checksum = EXCLUDED.checksum, applied_at = EXCLUDED.applied_at",
                       &p, NULL, what, err, errlen);
      if (!rc) {
        idx_log_info("store", "applied %s", label);
        if (applied)
          (*applied)++;
      }
    }
    free(sql);
    sql = NULL;
  }
  if (!rc)
    rc = exec_simple(s, "COMMIT", what, err, errlen);
out:
  PQclear(res);
  free(sql);
  free(list);
  if (rc)
    tx_abort(s);
  return rc;
}

int idx_store_migrate(idx_store_t *store, const char *schema_dir, int *applied, char *err,
                      size_t errlen) {
  if (applied)
    *applied = 0;
  int rc = call_begin(store, err, errlen);
  if (rc)
    return rc;
  migration_t *list = NULL;
  size_t n = 0;
  bool done[MAX_MIGRATIONS + 1] = {false};
  if ((rc = list_migrations(schema_dir, &list, &n, err, errlen)) != 0)
    return rc;

  /* The bookkeeping tables, created under the same lock as the migrations
   * so that concurrent first runs do not race on CREATE TABLE; checksum
   * came with a later release (ADD COLUMN upgrades an older database). */
  if ((rc = exec_simple(store, "BEGIN", "migrate", err, errlen)) != 0 ||
      (rc = migrate_lock(store, err, errlen)) != 0 ||
      (rc = exec_simple(store,
                        "CREATE TABLE IF NOT EXISTS schema_migrations ("
                        " version int PRIMARY KEY,"
                        " name text NOT NULL,"
                        " applied_at timestamptz NOT NULL DEFAULT now())",
                        "migrate: schema_migrations", err, errlen)) != 0 ||
      (rc = exec_simple(store,
                        "ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS checksum text",
                        "migrate: schema_migrations", err, errlen)) != 0 ||
      (rc = exec_simple(store,
                        "CREATE TABLE IF NOT EXISTS schema_repeatables ("
                        " name text PRIMARY KEY,"
                        " checksum text NOT NULL,"
                        " applied_at timestamptz NOT NULL DEFAULT now())",
                        "migrate: schema_repeatables", err, errlen)) != 0 ||
      (rc = check_applied(store, schema_dir, list, n, done, err, errlen)) != 0 ||
      (rc = exec_simple(store, "COMMIT", "migrate", err, errlen)) != 0)
    goto out;

  for (size_t i = 0; i < n; i++) {
    if (done[list[i].version])
      continue;
    bool ran = false;
    if ((rc = migrate_one(store, schema_dir, &list[i], &ran, err, errlen)) != 0)
      goto out;
    if (ran && applied)
      (*applied)++;
  }
  rc = apply_repeatables(store, schema_dir, applied, err, errlen);
out:
  if (rc)
    tx_abort(store);
  free(list);
  return rc;
}

/* ---- cursor -------------------------------------------------------------- */

static int check_chain(uint64_t chain_id, char *err, size_t errlen) {
  if (chain_id > INT64_MAX) {
    idx_set_err(err, errlen, "chain id %" PRIu64 " out of range", chain_id);
    return IDX_ERR_INVAL;
  }
  return 0;
}

/* Runs a query whose only parameter is the chain id ($1), after the usual
 * call checks; *res receives the result (PQclear it). */
static int chain_query(idx_store_t *s, uint64_t chain_id, const char *sql, const char *what,
                       PGresult **res, char *err, size_t errlen) {
  int rc = call_begin(s, err, errlen);
  if (rc || (rc = check_chain(chain_id, err, errlen)) != 0)
    return rc;
  params_t p = {0};
  par_int8(&p, (int64_t)chain_id);
  return exec_params(s, sql, &p, res, what, err, errlen);
}

int idx_store_cursor(idx_store_t *store, uint64_t chain_id, bool *found, uint64_t *last_block,
                     idx_hash_t *last_hash, char *err, size_t errlen) {
  *found = false;
  PGresult *res = NULL;
  int rc =
      chain_query(store, chain_id, "SELECT last_block, last_hash FROM cursors WHERE chain_id = $1",
                  "cursor", &res, err, errlen);
  if (rc)
    return rc;
  if (PQntuples(res) == 1) {
    int64_t block;
    if (!res_int8(res, 0, 0, &block) || block < 0 || !res_hash(res, 0, 1, last_hash)) {
      PQclear(res);
      return bad_shape(err, errlen, "cursor");
    }
    *last_block = (uint64_t)block;
    *found = true;
  }
  PQclear(res);
  return 0;
}

/* Locks the chain's cursor row for the transaction. *found false: no row. */
static int cursor_lock(idx_store_t *s, uint64_t chain_id, bool *found, int64_t *last,
                       const char *what, char *err, size_t errlen) {
  params_t p = {0};
  PGresult *res = NULL;
  par_int8(&p, (int64_t)chain_id);
  int rc = exec_params(s, "SELECT last_block FROM cursors WHERE chain_id = $1 FOR UPDATE", &p, &res,
                       what, err, errlen);
  if (rc)
    return rc;
  *found = PQntuples(res) == 1;
  if (*found && !res_int8(res, 0, 0, last)) {
    PQclear(res);
    return bad_shape(err, errlen, what);
  }
  PQclear(res);
  return 0;
}

/* ---- write_batch ----------------------------------------------------------- */

static bool time_ok(int64_t t) { return t >= 0 && t <= MAX_UNIX_TIME; }

static bool utf8_ok(const char *s) { return idx_utf8_valid((const uint8_t *)s, strlen(s)); }

static int check_batch(const idx_batch_t *b, char *err, size_t errlen) {
#define BAD(...)                                                                                   \
  do {                                                                                             \
    idx_set_err(err, errlen, "write_batch: " __VA_ARGS__);                                         \
    return IDX_ERR_INVAL;                                                                          \
  } while (0)
  if (b->chain_id > INT64_MAX || b->to_block > INT64_MAX)
    BAD("chain id, block or count out of range");
  if (b->from_block > b->to_block)
    BAD("from_block %" PRIu64 " > to_block %" PRIu64, b->from_block, b->to_block);
  if ((b->nblocks && !b->blocks) || (b->nlogs && !b->logs))
    BAD("NULL blocks or logs");
  for (size_t i = 0; i < b->nblocks; i++) {
    const idx_block_t *h = &b->blocks[i];
    if (h->number < b->from_block || h->number > b->to_block)
      BAD("header %" PRIu64 " outside %" PRIu64 "..%" PRIu64, h->number, b->from_block,
          b->to_block);
    if (i > 0 && h->number <= b->blocks[i - 1].number)
      BAD("headers not strictly ascending at %" PRIu64, h->number);
    if (!time_ok(h->time))
      BAD("header %" PRIu64 " time %" PRId64 " out of range", h->number, h->time);
    if (h->number == b->to_block && memcmp(h->hash.b, b->to_hash.b, 32) != 0)
      BAD("header %" PRIu64 " hash differs from to_hash", h->number);
  }
  for (size_t i = 0; i < b->nlogs; i++) {
    const idx_log_t *l = &b->logs[i];
    if (l->block_number < b->from_block || l->block_number > b->to_block)
      BAD("log %zu in block %" PRIu64 " outside %" PRIu64 "..%" PRIu64, i, l->block_number,
          b->from_block, b->to_block);
    if (l->ntopics > 4 || l->tx_index > INT32_MAX || l->log_index > INT32_MAX)
      BAD("log %zu: bad topic count, tx_index or log_index", i);
    if (!time_ok(l->block_time))
      BAD("log %zu: block time %" PRId64 " out of range", i, l->block_time);
    if (l->data_len && !l->data)
      BAD("log %zu: NULL data", i);
    if (l->data_len > MAX_FIELD_BYTES)
      BAD("log %zu: data too large", i);
    if (!l->event && !l->event_name && !l->args_json) { /* unknown to its ABI: raw */
      if (l->role && !utf8_ok(l->role))
        BAD("log %zu: text is not valid UTF-8", i);
      continue;
    }
    if (!l->event || !l->event_name || !l->args_json)
      BAD("log %zu: event, event_name and args_json are required (or all three absent)", i);
    if (strlen(l->args_json) > MAX_FIELD_BYTES)
      BAD("log %zu: args_json too large", i);
    if (!utf8_ok(l->event) || !utf8_ok(l->event_name) || !utf8_ok(l->args_json) ||
        (l->role && !utf8_ok(l->role)))
      BAD("log %zu: text is not valid UTF-8", i);
  }
  if (b->ntxs && !b->txs)
    BAD("NULL txs");
  for (size_t i = 0; i < b->ntxs; i++) {
    const idx_tx_t *t = &b->txs[i];
    if (t->block_number < b->from_block || t->block_number > b->to_block ||
        t->first_log_index > INT32_MAX)
      BAD("tx %zu: block %" PRIu64 " outside %" PRIu64 "..%" PRIu64 " or bad log index", i,
          t->block_number, b->from_block, b->to_block);
  }
  return 0;
#undef BAD
}

/* Appends a 32-bit big-endian integer. */
static int buf_be32(idx_buf_t *b, uint32_t v) {
  unsigned char x[4];
  put_be32(x, v);
  return idx_buf_add(b, x, 4);
}

/* Starts a binary one-dimensional array of n elements of type elem. */
static int arr_begin(idx_buf_t *b, Oid elem, size_t n) {
  int rc;
  idx_buf_reset(b);
  if ((rc = buf_be32(b, 1)) || (rc = buf_be32(b, 0)) || (rc = buf_be32(b, elem)) ||
      (rc = buf_be32(b, (uint32_t)n)) || (rc = buf_be32(b, 1)))
    return rc;
  return 0;
}

static int arr_int8(idx_buf_t *b, int64_t v) {
  unsigned char x[12];
  put_be32(x, 8);
  put_be64(x + 4, (uint64_t)v);
  return idx_buf_add(b, x, sizeof x);
}

static int arr_hash(idx_buf_t *b, const idx_hash_t *h) {
  int rc = buf_be32(b, 32);
  return rc ? rc : idx_buf_add(b, h->b, 32);
}

/* Upserts headers [first, first + n) as four binary arrays. */
static int headers_group(idx_store_t *s, uint64_t chain_id, const idx_block_t *h, size_t n,
                         idx_buf_t arr[4], char *err, size_t errlen) {
  int rc;
  if ((rc = arr_begin(&arr[0], OID_INT8, n)) || (rc = arr_begin(&arr[1], OID_BYTEA, n)) ||
      (rc = arr_begin(&arr[2], OID_BYTEA, n)) || (rc = arr_begin(&arr[3], OID_TIMESTAMPTZ, n)))
    goto nomem;
  for (size_t i = 0; i < n; i++) {
    if ((rc = arr_int8(&arr[0], (int64_t)h[i].number)) || (rc = arr_hash(&arr[1], &h[i].hash)) ||
        (rc = arr_hash(&arr[2], &h[i].parent_hash)) ||
        (rc = arr_int8(&arr[3], pg_time_from_unix(h[i].time))))
      goto nomem;
  }
  params_t p = {0};
  par_int8(&p, (int64_t)chain_id);
  par_bin(&p, OID_INT8_ARRAY, arr[0].data, arr[0].len);
  par_bin(&p, OID_BYTEA_ARRAY, arr[1].data, arr[1].len);
  par_bin(&p, OID_BYTEA_ARRAY, arr[2].data, arr[2].len);
  par_bin(&p, OID_TIMESTAMPTZ_ARRAY, arr[3].data, arr[3].len);
  return exec_params(s,
                     "INSERT INTO blocks (chain_id, number, hash, parent_hash, time) "
                     "SELECT $1, u.number, u.hash, u.parent_hash, u.time "
                     "FROM unnest($2::bigint[], $3::bytea[], $4::bytea[], $5::timestamptz[]) "
                     "AS u(number, hash, parent_hash, time) "
                     "ON CONFLICT (chain_id, number) DO UPDATE SET hash = EXCLUDED.hash, "
                     "parent_hash = EXCLUDED.parent_hash, time = EXCLUDED.time",
                     &p, NULL, "write_batch: headers", err, errlen);
nomem:
  idx_set_err(err, errlen, "write_batch: headers: %s", idx_strerror(rc));
  return rc;
}

static int write_headers(idx_store_t *s, const idx_batch_t *b, char *err, size_t errlen) {
  idx_buf_t arr[4];
  int rc = 0;
  for (int i = 0; i < 4; i++)
    idx_buf_init(&arr[i], HEADER_GROUP * 40u + 64u);
  for (size_t at = 0; at < b->nblocks && !rc; at += HEADER_GROUP) {
    size_t n = b->nblocks - at < HEADER_GROUP ? b->nblocks - at : HEADER_GROUP;
    rc = headers_group(s, b->chain_id, b->blocks + at, n, arr, err, errlen);
  }
  for (int i = 0; i < 4; i++)
    idx_buf_free(&arr[i]);
  return rc;
}

/* A COPY ... FROM STDIN (FORMAT binary) stream: fields are appended to a
 * buffer sent in COPY_CHUNK pieces; a field larger than that goes straight
 * out in pieces (CopyData messages need not align with rows). */
typedef struct copy_s {
  PGconn *conn;
  idx_buf_t buf;
  bool send_failed; /* PQputCopyData refused: the server's error follows */
} copy_t;

static int copy_send(copy_t *c, const void *p, size_t n) {
  if (PQputCopyData(c->conn, p, (int)n) != 1) {
    c->send_failed = true;
    return IDX_ERR_DB;
  }
  return 0;
}

static int copy_flush(copy_t *c) {
  if (c->buf.len == 0)
    return 0;
  int rc = copy_send(c, c->buf.data, c->buf.len);
  idx_buf_reset(&c->buf);
  return rc;
}

static int copy_put(copy_t *c, const void *p, size_t n) {
  if (c->buf.len + n <= COPY_CHUNK)
    return idx_buf_add(&c->buf, p, n);
  int rc = copy_flush(c);
  if (rc)
    return rc;
  if (n <= COPY_CHUNK)
    return idx_buf_add(&c->buf, p, n);
  for (const char *q = p; n > 0 && !rc;) {
    size_t k = n < COPY_CHUNK ? n : COPY_CHUNK;
    rc = copy_send(c, q, k);
    q += k;
    n -= k;
  }
  return rc;
}

static int copy_int8(copy_t *c, int64_t v) {
  unsigned char x[12];
  put_be32(x, 8);
  put_be64(x + 4, (uint64_t)v);
  return copy_put(c, x, sizeof x);
}

static int copy_int4(copy_t *c, uint32_t v) {
  unsigned char x[8];
  put_be32(x, 4);
  put_be32(x + 4, v);
  return copy_put(c, x, sizeof x);
}

static int copy_bytes(copy_t *c, const void *p, size_t n) {
  unsigned char x[4];
  put_be32(x, (uint32_t)n);
  int rc = copy_put(c, x, 4);
  return rc || n == 0 ? rc : copy_put(c, p, n);
}

static int copy_null(copy_t *c) {
  unsigned char x[4];
  put_be32(x, UINT32_MAX); /* -1: NULL */
  return copy_put(c, x, 4);
}

/* jsonb's binary form: a version byte (1), then the JSON text. */
static int copy_jsonb(copy_t *c, const char *json) {
  size_t n = strlen(json);
  unsigned char x[5];
  put_be32(x, (uint32_t)n + 1);
  x[4] = 1;
  int rc = copy_put(c, x, 5);
  return rc ? rc : copy_put(c, json, n);
}

#define LOG_COLUMNS 17

static int copy_log(copy_t *c, uint64_t chain_id, const idx_log_t *l) {
  unsigned char count[2];
  int rc;
  put_be16(count, LOG_COLUMNS);
  if ((rc = copy_put(c, count, 2)) || (rc = copy_int8(c, (int64_t)chain_id)) ||
      (rc = copy_int8(c, (int64_t)l->block_number)) || (rc = copy_bytes(c, l->block_hash.b, 32)) ||
      (rc = copy_int8(c, pg_time_from_unix(l->block_time))) ||
      (rc = copy_bytes(c, l->tx_hash.b, 32)) || (rc = copy_int4(c, l->tx_index)) ||
      (rc = copy_int4(c, l->log_index)) || (rc = copy_bytes(c, l->address.b, 20)))
    return rc;
  for (unsigned t = 0; t < 4; t++) {
    rc = t < l->ntopics ? copy_bytes(c, l->topics[t].b, 32) : copy_null(c);
    if (rc)
      return rc;
  }
  if ((rc = copy_bytes(c, l->data, l->data_len)) ||
      (rc = copy_bytes(c, l->event, strlen(l->event))) ||
      (rc = copy_bytes(c, l->event_name, strlen(l->event_name))) ||
      (rc = l->role ? copy_bytes(c, l->role, strlen(l->role)) : copy_null(c)) ||
      (rc = copy_jsonb(c, l->args_json)))
    return rc;
  return 0;
}

/* A log no ABI knows, into unknown_logs (schema/013: its column order). */
#define UNKNOWN_COLUMNS 14
static int copy_unknown(copy_t *c, uint64_t chain_id, const idx_log_t *l) {
  unsigned char count[2];
  int rc;
  put_be16(count, UNKNOWN_COLUMNS);
  if ((rc = copy_put(c, count, 2)) || (rc = copy_int8(c, (int64_t)chain_id)) ||
      (rc = copy_int8(c, (int64_t)l->block_number)) || (rc = copy_bytes(c, l->block_hash.b, 32)) ||
      (rc = copy_int8(c, pg_time_from_unix(l->block_time))) ||
      (rc = copy_bytes(c, l->tx_hash.b, 32)) || (rc = copy_int4(c, l->tx_index)) ||
      (rc = copy_int4(c, l->log_index)) || (rc = copy_bytes(c, l->address.b, 20)) ||
      (rc = l->role ? copy_bytes(c, l->role, strlen(l->role)) : copy_null(c)))
    return rc;
  for (unsigned t = 0; t < 4; t++) {
    rc = t < l->ntopics ? copy_bytes(c, l->topics[t].b, 32) : copy_null(c);
    if (rc)
      return rc;
  }
  return copy_bytes(c, l->data, l->data_len);
}

static bool is_unknown(const idx_log_t *l) { return l->event == NULL; }

/* COPYs the batch's decoded logs into `logs` or (unknown) its unknown ones
 * into unknown_logs; staged: into the coverage catch-up's staging tables
 * of the same shape (dimo_internal.coverage_stage). */
static int write_logs_to(idx_store_t *s, const idx_batch_t *b, bool unknown, bool staged, char *err,
                         size_t errlen) {
  const char *const what = unknown ? "write_batch: COPY unknown_logs" : "write_batch: COPY logs";
  char sql[400];
  snprintf(sql, sizeof sql, "%s%s",
           unknown ? (staged ? "COPY pg_temp.coverage_unknown" : "COPY unknown_logs")
                   : (staged ? "COPY pg_temp.coverage_logs" : "COPY logs"),
           unknown ? " (chain_id, block_number, block_hash, "
                     "block_time, tx_hash, tx_index, log_index, address, role, "
                     "topic0, topic1, topic2, topic3, data) "
                     "FROM STDIN (FORMAT binary)"
                   : " (chain_id, block_number, block_hash, "
                     "block_time, tx_hash, tx_index, log_index, address, "
                     "topic0, topic1, topic2, topic3, data, event, event_name, "
                     "role, args) FROM STDIN (FORMAT binary)");
  PGresult *res = PQexec(s->conn, sql);
  if (!res || PQresultStatus(res) != PGRES_COPY_IN)
    return fail_res(s, res, what, NULL, err, errlen);
  PQclear(res);

  copy_t c = {.conn = s->conn, .send_failed = false};
  idx_buf_init(&c.buf, COPY_CHUNK);
  /* Signature, flags (no OIDs), header extension length. */
  static const unsigned char header[19] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n',
                                           0,   0,   0,   0,   0,   0,   0,    0,    0};
  static const unsigned char trailer[2] = {0xff, 0xff};
  int rc = copy_put(&c, header, sizeof header);
  for (size_t i = 0; i < b->nlogs && !rc; i++) {
    const idx_log_t *l = &b->logs[i];
    if (is_unknown(l) == unknown)
      rc = unknown ? copy_unknown(&c, b->chain_id, l) : copy_log(&c, b->chain_id, l);
  }
  if (!rc)
    rc = copy_put(&c, trailer, sizeof trailer);
  if (!rc)
    rc = copy_flush(&c);
  idx_buf_free(&c.buf);

  /* End the COPY in every case, failing it (a reason string) unless all
   * was sent, then read its outcome: the server's own error, if any,
   * comes here, and it is the one to report when a send failed. */
  if (PQputCopyEnd(s->conn, rc ? "dimo-indexer: batch aborted" : NULL) != 1 && !rc) {
    c.send_failed = true;
    rc = IDX_ERR_DB;
  }
  res = PQgetResult(s->conn);
  if (rc && !c.send_failed) { /* our own failure (out of memory) */
    idx_set_err(err, errlen, "%s: %s", what, idx_strerror(rc));
    idx_log_error("store", "%s: %s", what, idx_strerror(rc));
    PQclear(res);
  } else if (rc || !res || PQresultStatus(res) != PGRES_COMMAND_OK) {
    rc = fail_res(s, res, what, NULL, err, errlen);
  } else {
    PQclear(res);
  }
  while ((res = PQgetResult(s->conn)) != NULL)
    PQclear(res);
  return rc;
}

static int write_logs(idx_store_t *s, const idx_batch_t *b, bool unknown, char *err,
                      size_t errlen) {
  return write_logs_to(s, b, unknown, false, err, errlen);
}

/* Senders of admin transactions (issue #25, schema/010_accountability.sql):
 * one row each, after the logs they explain (the row references its first
 * log, so a rollback's DELETE of that log removes it). Few per batch
 * (admin actions are rare), so one INSERT each. */
static int write_txs(idx_store_t *s, const idx_batch_t *b, char *err, size_t errlen) {
  for (size_t i = 0; i < b->ntxs; i++) {
    const idx_tx_t *t = &b->txs[i];
    params_t p = {0};
    par_int8(&p, (int64_t)b->chain_id);
    par_int8(&p, (int64_t)t->block_number);
    par_bin(&p, OID_BYTEA, t->tx_hash.b, 32);
    par_int8(&p, (int64_t)t->first_log_index);
    par_bin(&p, OID_BYTEA, t->from.b, 20);
    if (t->has_to)
      par_bin(&p, OID_BYTEA, t->to.b, 20);
    else
      par_bin(&p, OID_BYTEA, NULL, 0);
    if (!t->has_to)
      p.values[p.n - 1] = NULL; /* SQL NULL: a contract creation */
    int rc = exec_params(s,
                         "INSERT INTO tx_senders (chain_id, block_number, tx_hash, log_index, "
                         "from_address, to_address) VALUES ($1, $2, $3, $4, $5, $6)",
                         &p, NULL, "write_batch: tx_senders", err, errlen);
    if (rc)
      return rc;
  }
  return 0;
}

int idx_store_write_batch(idx_store_t *store, const idx_batch_t *batch, char *err, size_t errlen) {
  int rc = call_begin(store, err, errlen);
  if (rc)
    return rc;
  if ((rc = check_batch(batch, err, errlen)) != 0) {
    idx_log_error("store", "%s", err);
    return rc;
  }
  const int64_t chain = (int64_t)batch->chain_id;
  const int64_t from = (int64_t)batch->from_block, to = (int64_t)batch->to_block;
  params_t p = {0};
  PGresult *res = NULL, *new_pairs = NULL;
  bool found = false, moved = false;
  int64_t last = 0;

  /* The commit does not wait for its WAL to reach the disk (the server's
   * WAL writer flushes it within a moment): a batch is redone from the
   * chain whenever it is missing, so a server crash that loses the last
   * commits loses nothing. The cursor moves in the same transaction, so the
   * database stays a prefix of the chain, and a writer that had moved on
   * finds the cursor behind its next batch (IDX_ERR_CONFLICT), re-reads it
   * and redoes the lost batches. */
  if ((rc = exec_simple(store, "BEGIN", "write_batch", err, errlen)) != 0 ||
      (rc = exec_simple(store, "SET LOCAL synchronous_commit = off", "write_batch", err, errlen)) !=
          0)
    goto out;
  if ((rc = cursor_lock(store, batch->chain_id, &found, &last, "write_batch: cursor", err,
                        errlen)) != 0)
    goto out;
  if (!found) {
    /* The chain's first batch has no row to lock: serialize on the table
     * instead (only first batches pay for it; the lock conflicts with
     * itself and with every writer of cursors), then look again. A
     * concurrent first batch thus ends in IDX_ERR_CONFLICT here rather
     * than in a duplicate-key error on its logs. */
    if ((rc = exec_simple(store, "LOCK TABLE cursors IN SHARE ROW EXCLUSIVE MODE",
                          "write_batch: lock cursors", err, errlen)) != 0 ||
        (rc = cursor_lock(store, batch->chain_id, &found, &last, "write_batch: cursor", err,
                          errlen)) != 0)
      goto out;
  }
  if (found && last != from - 1) {
    idx_set_err(err, errlen,
                "write_batch: cursor of chain %" PRId64 " is at %" PRId64
                ", batch starts at %" PRId64,
                chain, last, from);
    rc = IDX_ERR_CONFLICT;
    goto out;
  }
  if ((rc = write_headers(store, batch, err, errlen)) != 0)
    goto out;
  size_t nunknown = 0;
  for (size_t i = 0; i < batch->nlogs; i++)
    nunknown += is_unknown(&batch->logs[i]);
  if (batch->nlogs > nunknown && (rc = write_logs(store, batch, false, err, errlen)) != 0)
    goto out;
  if (nunknown) {
    /* #22: stored raw; the pairs (contract, topic0) this batch shows
     * first are warned about once it commits. */
    if ((rc = write_logs(store, batch, true, err, errlen)) != 0)
      goto out;
    par_int8(&p, chain);
    par_int8(&p, from);
    par_int8(&p, to);
    rc = exec_params(store,
                     "SELECT contract, coalesce(role, '?'), topic0, first_block::text "
                     "FROM dimo_internal.unknown_new_pairs($1, $2, $3)",
                     &p, &new_pairs, "write_batch: unknown pairs", err, errlen);
    p.n = 0;
    if (rc)
      goto out;
  }
  if (batch->ntxs && (rc = write_txs(store, batch, err, errlen)) != 0)
    goto out;

  int64_t derived_from = from;
  if (!batch->defer_model) {
    /* From the stored model cursor, not from `from`: the writer's belief
     * that the model is current may predate a lost commit (batch.sql). */
    par_int8(&p, chain);
    par_int8(&p, from);
    par_int8(&p, to);
    rc = exec_params(store, "SELECT dimo_internal.batch_apply($1, $2, $3)", &p, &res,
                     "write_batch: dimo_internal.batch_apply", err, errlen);
    p.n = 0;
    if (rc)
      goto out;
    bool shaped = PQntuples(res) == 1 && res_int8(res, 0, 0, &derived_from);
    PQclear(res);
    if (!shaped) {
      rc = bad_shape(err, errlen, "write_batch: dimo_internal.batch_apply");
      goto out;
    }
  }
  /* The WHERE re-checks the position (belt and braces: the locks above
   * already exclude a concurrent writer of this chain's cursor) and, when
   * the batch carries its first block's header (the engine's always do),
   * that the stored tip is that header's parent: a writer's memory of the
   * tip may be another fork's after a lost rollback or a failover (audit6
   * H11), and the database refuses to build on it. */
  const idx_hash_t *parent = batch->nblocks && batch->blocks[0].number == batch->from_block
                                 ? &batch->blocks[0].parent_hash
                                 : NULL;
  par_int8(&p, chain);
  par_int8(&p, to);
  par_bin(&p, OID_BYTEA, batch->to_hash.b, 32);
  par_int8(&p, from - 1);
  par_bin(&p, OID_BYTEA, parent ? parent->b : NULL, parent ? 32 : 0); /* NULL: not checked */
  if ((rc = exec_params(store,
                        "INSERT INTO cursors (chain_id, last_block, last_hash, updated_at) "
                        "VALUES ($1, $2, $3, now()) ON CONFLICT (chain_id) DO UPDATE "
                        "SET last_block = EXCLUDED.last_block, last_hash = EXCLUDED.last_hash, "
                        "updated_at = EXCLUDED.updated_at WHERE cursors.last_block = $4 "
                        "AND ($5::bytea IS NULL OR cursors.last_hash = $5)",
                        &p, &res, "write_batch: cursor", err, errlen)) != 0)
    goto out;
  moved = strcmp(PQcmdTuples(res), "1") == 0;
  PQclear(res);
  if (!moved && found && parent) {
    /* The row is locked at from - 1 (checked above): its hash differs. */
    char want[67];
    idx_hash_to_hex(want, parent);
    idx_set_err(err, errlen,
                "write_batch: the stored block %" PRId64 " of chain %" PRId64
                " is not %s, the parent of batch %" PRId64 "..%" PRId64
                " (another fork's); not applied",
                from - 1, chain, want, from, to);
    rc = IDX_ERR_CONFLICT;
    goto out;
  }
  if (!moved) {
    idx_set_err(err, errlen,
                "write_batch: cursor of chain %" PRId64 " was created concurrently; batch %" PRId64
                "..%" PRId64 " not applied",
                chain, from, to);
    rc = IDX_ERR_CONFLICT;
    goto out;
  }
  if (!found) {
    /* 020: the chain's first batch starts the history: nothing below it
     * is ever asked (the coverage catch-up stops there; `status` says it). */
    p.n = 0;
    par_int8(&p, chain);
    par_int8(&p, from);
    if ((rc = exec_params(store,
                          "INSERT INTO history_start (chain_id, first_block, source) "
                          "VALUES ($1, $2, 'first_batch') ON CONFLICT (chain_id) DO UPDATE "
                          "SET first_block = EXCLUDED.first_block, source = EXCLUDED.source, "
                          "recorded_at = now()",
                          &p, NULL, "write_batch: history start", err, errlen)) != 0)
      goto out;
  }
  rc = exec_simple(store, "COMMIT", "write_batch: commit", err, errlen);
  if (!rc)
    idx_log_debug("store", "chain %" PRId64 ": stored blocks %" PRId64 "..%" PRId64 " (%zu logs)",
                  chain, from, to, batch->nlogs);
  if (!rc && derived_from < from)
    idx_log_warn("store",
                 "chain %" PRId64 ": the model was behind the logs (a lost commit): batch %" PRId64
                 "..%" PRId64 " derived it from block %" PRId64,
                 chain, from, to, derived_from);
  for (int i = 0; !rc && new_pairs && i < PQntuples(new_pairs); i++)
    idx_log_warn("store", "contract %s %s emitted topic0 %s unknown to its ABI, first at block %s",
                 PQgetvalue(new_pairs, i, 1), PQgetvalue(new_pairs, i, 0),
                 PQgetvalue(new_pairs, i, 2), PQgetvalue(new_pairs, i, 3));
out:
  PQclear(new_pairs);
  if (rc) {
    if (rc == IDX_ERR_CONFLICT)
      idx_log_warn("store", "%s", err);
    tx_abort(store);
  }
  return rc;
}

/* ---- rollback, headers, pruning ----------------------------------------- */

int idx_store_rollback(idx_store_t *store, uint64_t chain_id, uint64_t keep_block,
                       const idx_hash_t *keep_hash, char *err, size_t errlen) {
  int rc = call_begin(store, err, errlen);
  if (rc || (rc = check_chain(chain_id, err, errlen)) != 0)
    return rc;
  if (keep_block > INT64_MAX) {
    idx_set_err(err, errlen, "rollback: block %" PRIu64 " out of range", keep_block);
    return IDX_ERR_INVAL;
  }
  const int64_t chain = (int64_t)chain_id, keep = (int64_t)keep_block;
  params_t p = {0};
  par_int8(&p, chain);
  par_int8(&p, keep);

  bool found = false;
  int64_t last = 0;
  if ((rc = exec_simple(store, "BEGIN", "rollback", err, errlen)) != 0)
    goto out;
  if ((rc = cursor_lock(store, chain_id, &found, &last, "rollback: cursor", err, errlen)) != 0)
    goto out;
  if (!found || last < keep) {
    if (found)
      idx_set_err(err, errlen,
                  "rollback: cursor of chain %" PRId64 " is at %" PRId64 ", below %" PRId64, chain,
                  last, keep);
    else
      idx_set_err(err, errlen, "rollback: chain %" PRId64 " has no cursor", chain);
    rc = IDX_ERR_CONFLICT;
    goto out;
  }
  if ((rc = exec_params(store, "SELECT dimo_internal.rollback_above($1, $2)", &p, NULL,
                        "rollback: dimo_internal.rollback_above", err, errlen)) != 0 ||
      (rc = exec_params(store, "DELETE FROM logs WHERE chain_id = $1 AND block_number > $2", &p,
                        NULL, "rollback: logs", err, errlen)) != 0 ||
      (rc = exec_params(store, "DELETE FROM unknown_logs WHERE chain_id = $1 AND block_number > $2",
                        &p, NULL, "rollback: unknown_logs", err, errlen)) != 0 ||
      (rc = exec_params(store, "DELETE FROM blocks WHERE chain_id = $1 AND number > $2", &p, NULL,
                        "rollback: blocks", err, errlen)) != 0)
    goto out;
  par_bin(&p, OID_BYTEA, keep_hash->b, 32);
  if ((rc = exec_params(store,
                        "UPDATE cursors SET last_block = $2, last_hash = $3, updated_at = now() "
                        "WHERE chain_id = $1",
                        &p, NULL, "rollback: cursor", err, errlen)) != 0)
    goto out;
  params_t r = {0};
  par_int8(&r, chain);
  par_int8(&r, last);
  par_int8(&r, keep);
  if ((rc = exec_params(store,
                        "INSERT INTO reorgs (chain_id, from_block, keep_block) VALUES ($1, $2, $3)",
                        &r, NULL, "rollback: reorg record", err, errlen)) != 0)
    goto out;
  rc = exec_simple(store, "COMMIT", "rollback: commit", err, errlen);
  if (!rc)
    idx_log_info("store", "chain %" PRId64 ": rolled back from %" PRId64 " to %" PRId64, chain,
                 last, keep);
out:
  if (rc) {
    if (rc == IDX_ERR_CONFLICT)
      idx_log_warn("store", "%s", err);
    tx_abort(store);
  }
  return rc;
}

int idx_store_blocks(idx_store_t *store, uint64_t chain_id, uint64_t from, uint64_t to,
                     idx_block_t *out, size_t cap, size_t *n, char *err, size_t errlen) {
  *n = 0;
  int rc = call_begin(store, err, errlen);
  if (rc || (rc = check_chain(chain_id, err, errlen)) != 0)
    return rc;
  if (to > INT64_MAX)
    to = INT64_MAX;
  if (cap == 0 || from > to)
    return 0;
  params_t p = {0};
  PGresult *res = NULL;
  par_int8(&p, (int64_t)chain_id);
  par_int8(&p, (int64_t)from);
  par_int8(&p, (int64_t)to);
  par_int8(&p, cap > INT64_MAX ? INT64_MAX : (int64_t)cap);
  rc = exec_params(store,
                   "SELECT number, hash, parent_hash, time FROM blocks "
                   "WHERE chain_id = $1 AND number BETWEEN $2 AND $3 ORDER BY number LIMIT $4",
                   &p, &res, "blocks", err, errlen);
  if (rc)
    return rc;
  int rows = PQntuples(res);
  for (int i = 0; i < rows && (size_t)i < cap; i++) {
    int64_t number, time;
    idx_block_t *b = &out[i];
    if (!res_int8(res, i, 0, &number) || number < 0 || !res_hash(res, i, 1, &b->hash) ||
        !res_hash(res, i, 2, &b->parent_hash) || !res_int8(res, i, 3, &time)) {
      PQclear(res);
      *n = 0;
      return bad_shape(err, errlen, "blocks");
    }
    b->number = (uint64_t)number;
    b->time = unix_from_pg_time(time);
    *n = (size_t)i + 1;
  }
  PQclear(res);
  return 0;
}

/* The fork search below the header window (schema/functions/forkpoint.sql). */
int idx_store_log_blocks_below(idx_store_t *store, uint64_t chain_id, uint64_t below,
                               idx_block_t *out, size_t cap, size_t *n, char *err, size_t errlen) {
  *n = 0;
  int rc = call_begin(store, err, errlen);
  if (rc || (rc = check_chain(chain_id, err, errlen)) != 0)
    return rc;
  if (below > INT64_MAX)
    below = INT64_MAX;
  if (cap == 0 || below == 0)
    return 0;
  params_t p = {0};
  PGresult *res = NULL;
  par_int8(&p, (int64_t)chain_id);
  par_int8(&p, (int64_t)below);
  par_int8(&p, cap > INT32_MAX ? INT32_MAX : (int64_t)cap);
  rc = exec_params(store,
                   "SELECT block_number, block_hash "
                   "FROM dimo_internal.stored_log_blocks($1, $2, $3::int)",
                   &p, &res, "stored_log_blocks", err, errlen);
  if (rc)
    return rc;
  int rows = PQntuples(res);
  for (int i = 0; i < rows && (size_t)i < cap; i++) {
    int64_t number;
    idx_block_t *b = &out[i];
    memset(b, 0, sizeof *b);
    if (!res_int8(res, i, 0, &number) || number < 0 || (uint64_t)number >= below ||
        !res_hash(res, i, 1, &b->hash)) {
      PQclear(res);
      *n = 0;
      return bad_shape(err, errlen, "stored_log_blocks");
    }
    b->number = (uint64_t)number;
    *n = (size_t)i + 1;
  }
  PQclear(res);
  return 0;
}

/* #25: the senders' catch-up (schema/functions/accountability.sql). */
int idx_store_admin_unfetched(idx_store_t *store, uint64_t chain_id, idx_tx_t *txs,
                              idx_hash_t *block_hashes, size_t cap, size_t *n, char *err,
                              size_t errlen) {
  *n = 0;
  int rc = call_begin(store, err, errlen);
  if (rc || (rc = check_chain(chain_id, err, errlen)) != 0)
    return rc;
  if (cap == 0)
    return 0;
  params_t p = {0};
  PGresult *res = NULL;
  par_int8(&p, (int64_t)chain_id);
  par_int8(&p, cap > INT32_MAX ? INT32_MAX : (int64_t)cap);
  rc = exec_params(store,
                   "SELECT block_number, tx_hash, log_index, block_hash "
                   "FROM dimo_internal.acct_unfetched($1, $2::int)",
                   &p, &res, "admin_unfetched", err, errlen);
  if (rc)
    return rc;
  int rows = PQntuples(res);
  for (int i = 0; i < rows && (size_t)i < cap; i++) {
    int64_t number, index;
    idx_tx_t *t = &txs[i];
    memset(t, 0, sizeof *t);
    if (!res_int8(res, i, 0, &number) || number < 0 || !res_hash(res, i, 1, &t->tx_hash) ||
        !res_int8(res, i, 2, &index) || index < 0 || index > UINT32_MAX ||
        !res_hash(res, i, 3, &block_hashes[i])) {
      PQclear(res);
      *n = 0;
      return bad_shape(err, errlen, "admin_unfetched");
    }
    t->block_number = (uint64_t)number;
    t->first_log_index = (uint32_t)index;
    *n = (size_t)i + 1;
  }
  PQclear(res);
  return 0;
}

int idx_store_admin_senders(idx_store_t *store, uint64_t chain_id, const idx_tx_t *txs, size_t n,
                            uint64_t *attributed, char *err, size_t errlen) {
  *attributed = 0;
  int rc = call_begin(store, err, errlen);
  if (rc || (rc = check_chain(chain_id, err, errlen)) != 0)
    return rc;
  PGresult *res = NULL;
  if ((rc = exec_simple(store, "BEGIN", "admin_senders", err, errlen)) != 0)
    goto out;
  for (size_t i = 0; i < n; i++) {
    const idx_tx_t *t = &txs[i];
    params_t p = {0};
    par_int8(&p, (int64_t)chain_id);
    par_int8(&p, (int64_t)t->block_number);
    par_bin(&p, OID_BYTEA, t->tx_hash.b, 32);
    par_int8(&p, (int64_t)t->first_log_index);
    par_bin(&p, OID_BYTEA, t->from.b, 20);
    par_bin(&p, OID_BYTEA, t->has_to ? t->to.b : NULL, t->has_to ? 20 : 0);
    if (!t->has_to)
      p.values[p.n - 1] = NULL; /* SQL NULL: a contract creation */
    if ((rc = exec_params(store,
                          "INSERT INTO tx_senders (chain_id, block_number, tx_hash, log_index, "
                          "from_address, to_address) VALUES ($1, $2, $3, $4, $5, $6) "
                          "ON CONFLICT DO NOTHING",
                          &p, NULL, "admin_senders: tx_senders", err, errlen)) != 0)
      goto out;
  }
  params_t c = {0};
  par_int8(&c, (int64_t)chain_id);
  if ((rc = exec_params(store, "SELECT dimo_internal.acct_catch_up($1)", &c, &res,
                        "admin_senders: attribute", err, errlen)) != 0)
    goto out;
  int64_t count = 0;
  if (PQntuples(res) != 1 || !res_int8(res, 0, 0, &count) || count < 0) {
    PQclear(res);
    rc = bad_shape(err, errlen, "admin_senders");
    goto out;
  }
  PQclear(res);
  *attributed = (uint64_t)count;
  rc = exec_simple(store, "COMMIT", "admin_senders: commit", err, errlen);
out:
  if (rc)
    tx_abort(store);
  return rc;
}

/* ---- logs kept raw that the loaded ABIs now decode ---------------------- */

int idx_store_unknown_shapes(idx_store_t *store, uint64_t chain_id, idx_store_unknown_shape_t *out,
                             size_t cap, size_t *n, bool *more, char *err, size_t errlen) {
  *n = 0;
  *more = false;
  int rc = call_begin(store, err, errlen);
  if (rc || (rc = check_chain(chain_id, err, errlen)) != 0)
    return rc;
  params_t p = {0};
  PGresult *res = NULL;
  par_int8(&p, (int64_t)chain_id);
  if ((rc = exec_params(store,
                        "SELECT address, topic0, ntopics::bigint, n "
                        "FROM dimo_internal.unknown_shapes($1)",
                        &p, &res, "unknown_shapes", err, errlen)) != 0)
    return rc;
  int rows = PQntuples(res);
  for (int i = 0; i < rows; i++) {
    if ((size_t)i == cap) {
      *more = true;
      break;
    }
    idx_store_unknown_shape_t *sh = &out[i];
    int64_t nt, count;
    memset(sh, 0, sizeof *sh);
    sh->has_topic0 = !PQgetisnull(res, i, 1);
    if (PQgetisnull(res, i, 0) || PQgetlength(res, i, 0) != 20 ||
        (sh->has_topic0 && !res_hash(res, i, 1, &sh->topic0)) || !res_int8(res, i, 2, &nt) ||
        nt < 0 || nt > 4 || !res_int8(res, i, 3, &count) || count < 0) {
      PQclear(res);
      *n = 0;
      return bad_shape(err, errlen, "unknown_shapes");
    }
    memcpy(sh->address.b, PQgetvalue(res, i, 0), 20);
    sh->ntopics = (uint8_t)nt;
    sh->count = (uint64_t)count;
    *n = (size_t)i + 1;
  }
  PQclear(res);
  return 0;
}

int idx_store_unknown_page(idx_store_t *store, uint64_t chain_id,
                           const idx_store_unknown_shape_t *shape, int64_t after_block,
                           int64_t after_log, size_t limit, idx_store_raw_log_cb cb, void *ud,
                           size_t *n, char *err, size_t errlen) {
  static const char *const what = "unknown_page";
  *n = 0;
  int rc = call_begin(store, err, errlen);
  if (rc || (rc = check_chain(chain_id, err, errlen)) != 0)
    return rc;
  params_t p = {0};
  PGresult *res = NULL;
  par_int8(&p, (int64_t)chain_id);
  par_bin(&p, OID_BYTEA, shape->address.b, 20);
  par_bin(&p, OID_BYTEA, shape->topic0.b, 32);
  if (!shape->has_topic0)
    p.values[p.n - 1] = NULL; /* SQL NULL: an anonymous log */
  par_int8(&p, shape->ntopics);
  par_int8(&p, after_block);
  par_int8(&p, after_log);
  par_int8(&p, limit > INT32_MAX ? INT32_MAX : (int64_t)limit);
  if ((rc =
           exec_params(store,
                       "SELECT block_number, block_hash, block_time, tx_hash, tx_index::bigint, "
                       "log_index::bigint, topic0, topic1, topic2, topic3, data "
                       "FROM dimo_internal.unknown_page($1, $2, $3, $4::int, $5, $6::int, $7::int)",
                       &p, &res, what, err, errlen)) != 0)
    return rc;
  int rows = PQntuples(res);
  for (int i = 0; i < rows && !rc; i++) {
    idx_log_t l;
    int64_t number, time_s, tx_index, log_index;
    memset(&l, 0, sizeof l);
    bool ok = res_int8(res, i, 0, &number) && number >= 0 && res_hash(res, i, 1, &l.block_hash) &&
              res_int8(res, i, 2, &time_s) && time_s >= 0 && time_s <= MAX_UNIX_TIME &&
              res_hash(res, i, 3, &l.tx_hash) && res_int8(res, i, 4, &tx_index) && tx_index >= 0 &&
              tx_index <= INT32_MAX && res_int8(res, i, 5, &log_index) && log_index >= 0 &&
              log_index <= INT32_MAX && !PQgetisnull(res, i, 10);
    for (int t = 0; ok && t < 4; t++) {
      if (PQgetisnull(res, i, 6 + t))
        break;
      ok = res_hash(res, i, 6 + t, &l.topics[t]);
      l.ntopics = (uint8_t)(t + 1);
    }
    if (!ok || l.ntopics != shape->ntopics) {
      rc = bad_shape(err, errlen, what);
      break;
    }
    l.block_number = (uint64_t)number;
    l.block_time = time_s; /* unix seconds (unknown_page) */
    l.tx_index = (uint32_t)tx_index;
    l.log_index = (uint32_t)log_index;
    l.address = shape->address;
    l.data = (const uint8_t *)PQgetvalue(res, i, 10);
    l.data_len = (size_t)PQgetlength(res, i, 10);
    *n = (size_t)i + 1;
    rc = cb(ud, &l);
  }
  PQclear(res);
  return rc;
}

int idx_store_redecode_write(idx_store_t *store, uint64_t chain_id, const idx_log_t *logs, size_t n,
                             char *parts, size_t cap, char *err, size_t errlen) {
  static const char *const what = "redecode";
  if (cap)
    parts[0] = '\0';
  int rc = call_begin(store, err, errlen);
  if (rc || (rc = check_chain(chain_id, err, errlen)) != 0)
    return rc;
  for (size_t i = 0; i < n; i++) {
    if (!logs[i].event || !logs[i].event_name || !logs[i].args_json) {
      idx_set_err(err, errlen, "%s: log %zu is not decoded", what, i);
      return IDX_ERR_INVAL;
    }
  }
  idx_batch_t b;
  memset(&b, 0, sizeof b);
  b.chain_id = chain_id;
  b.logs = logs;
  b.nlogs = n;
  if (n)
    b.from_block = b.to_block = logs[0].block_number;
  for (size_t i = 0; i < n; i++) {
    if (logs[i].block_number < b.from_block)
      b.from_block = logs[i].block_number;
    if (logs[i].block_number > b.to_block)
      b.to_block = logs[i].block_number;
  }
  if ((rc = check_batch(&b, err, errlen)) != 0)
    return rc;
  /* The positions moved (two binary arrays, as headers_group's):
   * redecoded() removes exactly these from unknown_logs, not whatever both
   * tables happen to hold. */
  idx_buf_t blocks, idxs;
  idx_buf_init(&blocks, n * 12u + 64u);
  idx_buf_init(&idxs, n * 12u + 64u);
  rc = arr_begin(&blocks, OID_INT8, n);
  if (!rc)
    rc = arr_begin(&idxs, OID_INT8, n);
  for (size_t i = 0; i < n && !rc; i++) {
    rc = arr_int8(&blocks, (int64_t)logs[i].block_number);
    if (!rc)
      rc = arr_int8(&idxs, (int64_t)logs[i].log_index);
  }
  if (rc) {
    idx_buf_free(&blocks);
    idx_buf_free(&idxs);
    idx_set_err(err, errlen, "%s: out of memory", what);
    return IDX_ERR_NOMEM;
  }
  PGresult *res = NULL;
  params_t p = {0};
  par_int8(&p, (int64_t)chain_id);
  par_bin(&p, OID_INT8_ARRAY, blocks.data, blocks.len);
  par_bin(&p, OID_INT8_ARRAY, idxs.data, idxs.len);
  if ((rc = exec_simple(store, "BEGIN", what, err, errlen)) != 0 ||
      (rc = exec_simple(store, "SET LOCAL statement_timeout = 0", what, err, errlen)) != 0 ||
      (n && (rc = write_logs(store, &b, false, err, errlen)) != 0) ||
      (rc = exec_params(store,
                        "SELECT array_to_string(dimo_internal.redecoded($1, $2, $3::int[]), ',')",
                        &p, &res, what, err, errlen)) != 0)
    goto out;
  if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
    rc = bad_shape(err, errlen, what);
    goto out;
  }
  if (cap)
    snprintf(parts, cap, "%s", PQgetvalue(res, 0, 0));
  rc = exec_simple(store, "COMMIT", what, err, errlen);
out:
  PQclear(res);
  idx_buf_free(&blocks);
  idx_buf_free(&idxs);
  if (rc)
    tx_abort(store);
  return rc;
}

int idx_store_prune_blocks(idx_store_t *store, uint64_t chain_id, uint64_t below, char *err,
                           size_t errlen) {
  int rc = call_begin(store, err, errlen);
  if (rc || (rc = check_chain(chain_id, err, errlen)) != 0)
    return rc;
  params_t p = {0};
  par_int8(&p, (int64_t)chain_id);
  par_int8(&p, below > INT64_MAX ? INT64_MAX : (int64_t)below);
  return exec_params(store, "DELETE FROM blocks WHERE chain_id = $1 AND number < $2", &p, NULL,
                     "prune_blocks", err, errlen);
}

int idx_store_derive(idx_store_t *store, uint64_t chain_id, uint64_t to_block, uint64_t *derived_to,
                     char *err, size_t errlen) {
  *derived_to = 0;
  int rc = call_begin(store, err, errlen);
  if (rc || (rc = check_chain(chain_id, err, errlen)) != 0)
    return rc;
  if (to_block > INT64_MAX) {
    idx_set_err(err, errlen, "derive: block %llu out of range", (unsigned long long)to_block);
    return IDX_ERR_INVAL;
  }
  params_t p = {0};
  PGresult *res = NULL;
  int64_t model = -1, logs = -1;
  /* Asynchronous commit as in idx_store_write_batch: a lost derivation is
   * redone from the model cursor, which moves in the same transaction. */
  if ((rc = exec_simple(store, "BEGIN", "derive", err, errlen)) != 0 ||
      (rc = exec_simple(store, "SET LOCAL synchronous_commit = off", "derive", err, errlen)) != 0)
    goto out;
  par_int8(&p, (int64_t)chain_id);
  if ((rc = exec_params(store,
                        "SELECT (SELECT block_number FROM model_cursor WHERE chain_id = $1 "
                        "FOR UPDATE), (SELECT last_block FROM cursors WHERE chain_id = $1)",
                        &p, &res, "derive: model cursor", err, errlen)) != 0)
    goto out;
  if (PQntuples(res) != 1 || (!PQgetisnull(res, 0, 0) && !res_int8(res, 0, 0, &model)) ||
      (!PQgetisnull(res, 0, 1) && !res_int8(res, 0, 1, &logs))) {
    PQclear(res);
    rc = bad_shape(err, errlen, "derive: model cursor");
    goto out;
  }
  PQclear(res);
  /* Never past the stored logs, whatever the caller believes: after a
   * server crash or a failover lost the last batches, deriving up to the
   * caller's goal would move the model cursor over blocks whose logs the
   * writer has yet to write again, and their model would never be derived
   * (audit6 H4). The writer re-reads its cursor at its next job. */
  if (logs < (int64_t)to_block && model < (int64_t)to_block) {
    idx_set_err(err, errlen,
                "derive: the stored logs of chain %" PRIu64 " end at block %" PRId64
                ", below block %" PRIu64 " (commits lost); nothing derived",
                chain_id, logs, to_block);
    rc = IDX_ERR_CONFLICT;
    goto out;
  }
  if (model < (int64_t)to_block) {
    p.n = 0;
    par_int8(&p, (int64_t)chain_id);
    par_int8(&p, model + 1);
    par_int8(&p, (int64_t)to_block);
    if ((rc = exec_params(store, "SELECT dimo_internal.apply_range($1, $2, $3)", &p, NULL,
                          "derive: dimo_internal.apply_range", err, errlen)) != 0)
      goto out;
    model = (int64_t)to_block;
  }
  if ((rc = exec_simple(store, "COMMIT", "derive: commit", err, errlen)) != 0)
    goto out;
  *derived_to = (uint64_t)model;
  if (to_block > 2 * 128)
    rc = idx_store_prune_blocks(store, chain_id, to_block - 2 * 128, err, errlen);
  return rc;
out:
  tx_abort(store);
  return rc;
}

static void par_text_or_null(params_t *p, const char *s);

int idx_store_name_session(idx_store_t *store, const char *name, char *err, size_t errlen) {
  params_t p = {0};
  PGresult *res = NULL;
  par_text_or_null(&p, name);
  int rc = exec_params(store, "SELECT set_config('application_name', $1, false)", &p, &res,
                       "application_name", err, errlen);
  PQclear(res);
  return rc;
}

int idx_store_refresh_stale_docs(idx_store_t *store, uint64_t chain_id, unsigned limit,
                                 unsigned *built, char *err, size_t errlen) {
  *built = 0;
  int rc = call_begin(store, err, errlen);
  if (rc || (rc = check_chain(chain_id, err, errlen)) != 0)
    return rc;
  params_t p = {0};
  PGresult *res = NULL;
  par_int8(&p, (int64_t)chain_id);
  par_int8(&p, limit > INT32_MAX ? INT32_MAX : (int64_t)limit);
  if ((rc = exec_params(store, "SELECT dimo_internal.refresh_stale_docs($1, $2::int)::int8", &p,
                        &res, "refresh_stale_docs", err, errlen)) != 0)
    return rc;
  int64_t n;
  if (PQntuples(res) != 1 || !res_int8(res, 0, 0, &n) || n < 0 || n > (int64_t)limit) {
    PQclear(res);
    return bad_shape(err, errlen, "refresh_stale_docs");
  }
  *built = (unsigned)n;
  PQclear(res);
  return 0;
}

/* One side of idx_store_refresh_stale_docs_pair, run on a thread of its own. */
typedef struct {
  idx_store_t *store;
  uint64_t chain_id;
  unsigned limit;
  unsigned built;
  int rc;
  char err[512];
} docs_side_t;

static void docs_side_run(void *arg) {
  docs_side_t *d = arg;
  d->rc = idx_store_refresh_stale_docs(d->store, d->chain_id, d->limit, &d->built, d->err,
                                       sizeof d->err);
}

int idx_store_refresh_stale_docs_pair(idx_store_t *store, idx_store_t *second, uint64_t chain_id,
                                      unsigned limit, unsigned *built, bool *second_failed,
                                      char *second_err, size_t second_errlen, char *err,
                                      size_t errlen) {
  *built = 0;
  *second_failed = false;
  second_err[0] = '\0';
  docs_side_t side = {.store = second, .chain_id = chain_id, .limit = limit};
  uv_thread_t t;
  /* Without a thread (cannot happen short of exhausted resources) the
   * first connection does the work alone: slower, equally exact. */
  bool two = second && uv_thread_create(&t, docs_side_run, &side) == 0;
  unsigned mine = 0;
  int rc = idx_store_refresh_stale_docs(store, chain_id, limit, &mine, err, errlen);
  if (two) {
    (void)uv_thread_join(&t);
    /* The second connection is a helper: its failure is not the store's
     * (the caller closes it and goes on with one), so it is reported
     * apart and the result is the first connection's. */
    if (side.rc) {
      *second_failed = true;
      idx_set_err(second_err, second_errlen, "%s", side.err);
    }
  }
  if (rc == 0)
    *built = mine + (two && !side.rc ? side.built : 0);
  return rc;
}

/* ---- the coverage catch-up (schema/functions/unknown.sql) ---------------- */

int idx_store_coverage_from(idx_store_t *store, uint64_t chain_id, bool *found,
                            uint64_t *complete_from, char *err, size_t errlen) {
  *found = false;
  *complete_from = 0;
  int rc = call_begin(store, err, errlen);
  if (rc || (rc = check_chain(chain_id, err, errlen)) != 0)
    return rc;
  params_t p = {0};
  PGresult *res = NULL;
  par_int8(&p, (int64_t)chain_id);
  if ((rc = exec_params(store, "SELECT dimo_internal.unfiltered_from($1)", &p, &res,
                        "coverage_from", err, errlen)) != 0)
    return rc;
  int64_t v = 0;
  if (PQntuples(res) != 1) {
    PQclear(res);
    return bad_shape(err, errlen, "coverage_from");
  }
  if (!PQgetisnull(res, 0, 0)) {
    if (!res_int8(res, 0, 0, &v) || v < 0) {
      PQclear(res);
      return bad_shape(err, errlen, "coverage_from");
    }
    *found = true;
    *complete_from = (uint64_t)v;
  }
  PQclear(res);
  return 0;
}

int idx_store_coverage_stored(idx_store_t *store, uint64_t chain_id, const uint64_t *blocks,
                              size_t n, bool *found, idx_hash_t *hashes, int64_t *times, char *err,
                              size_t errlen) {
  int rc = call_begin(store, err, errlen);
  if (rc || (rc = check_chain(chain_id, err, errlen)) != 0)
    return rc;
  for (size_t i = 0; i < n; i++)
    found[i] = false;
  if (n == 0)
    return 0;
  idx_buf_t arr;
  idx_buf_init(&arr, n * 12u + 64u);
  rc = arr_begin(&arr, OID_INT8, n);
  for (size_t i = 0; i < n && !rc; i++) {
    if (blocks[i] > INT64_MAX || (i && blocks[i] <= blocks[i - 1]))
      rc = IDX_ERR_INVAL;
    else
      rc = arr_int8(&arr, (int64_t)blocks[i]);
  }
  if (rc) {
    idx_buf_free(&arr);
    idx_set_err(err, errlen, "coverage_stored: %s", idx_strerror(rc));
    return rc;
  }
  params_t p = {0};
  PGresult *res = NULL;
  par_int8(&p, (int64_t)chain_id);
  par_bin(&p, OID_INT8_ARRAY, arr.data, arr.len);
  rc = exec_params(store,
                   "SELECT block_number, block_hash, block_time "
                   "FROM dimo_internal.coverage_stored_blocks($1, $2::bigint[])",
                   &p, &res, "coverage_stored", err, errlen);
  idx_buf_free(&arr);
  if (rc)
    return rc;
  /* Rows in block order, a subset of blocks (ascending): one merge pass. */
  size_t k = 0;
  for (int r = 0; r < PQntuples(res); r++) {
    int64_t number, t;
    idx_hash_t h;
    if (!res_int8(res, r, 0, &number) || !res_hash(res, r, 1, &h) || !res_int8(res, r, 2, &t)) {
      PQclear(res);
      return bad_shape(err, errlen, "coverage_stored");
    }
    while (k < n && blocks[k] < (uint64_t)number)
      k++;
    if (k == n || blocks[k] != (uint64_t)number) {
      PQclear(res);
      return bad_shape(err, errlen, "coverage_stored");
    }
    found[k] = true;
    hashes[k] = h;
    times[k] = t;
  }
  PQclear(res);
  return 0;
}

/* address NULL: the quiet contracts' round (unfiltered_coverage); else
 * that contract's (contract_coverage). */
int idx_store_coverage_round(idx_store_t *store, uint64_t chain_id, const idx_addr_t *address,
                             uint64_t old_from, uint64_t new_from, uint64_t low,
                             const idx_log_t *logs, size_t nlogs, idx_store_coverage_t *out,
                             char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  int rc = call_begin(store, err, errlen);
  if (rc || (rc = check_chain(chain_id, err, errlen)) != 0)
    return rc;
  if (old_from > INT64_MAX || new_from > old_from || low > INT64_MAX) {
    idx_set_err(err, errlen, "coverage_round: blocks %" PRIu64 "..%" PRIu64 " out of range",
                new_from, old_from);
    return IDX_ERR_INVAL;
  }
  /* The same checks as a batch's (times, sizes, text): a round is a batch
   * of its blocks that writes no header and moves no log cursor. */
  idx_batch_t b;
  memset(&b, 0, sizeof b);
  b.chain_id = chain_id;
  b.from_block = new_from;
  b.to_block = old_from ? old_from - 1 : 0;
  b.logs = logs;
  b.nlogs = nlogs;
  if (nlogs && (rc = check_batch(&b, err, errlen)) != 0) {
    idx_log_error("store", "%s", err);
    return rc;
  }
  size_t nunknown = 0;
  for (size_t i = 0; i < nlogs; i++)
    nunknown += is_unknown(&logs[i]);
  params_t p = {0};
  PGresult *res = NULL;
  if ((rc = exec_simple(store, "BEGIN", "coverage_round", err, errlen)) != 0 ||
      (rc = exec_simple(store, "SELECT dimo_internal.coverage_stage()", "coverage_round: stage",
                        err, errlen)) != 0)
    goto out;
  if (nlogs > nunknown && (rc = write_logs_to(store, &b, false, true, err, errlen)) != 0)
    goto out;
  if (nunknown && (rc = write_logs_to(store, &b, true, true, err, errlen)) != 0)
    goto out;
  par_int8(&p, (int64_t)chain_id);
  par_int8(&p, (int64_t)old_from);
  par_int8(&p, (int64_t)new_from);
  par_int8(&p, (int64_t)low);
  if (address)
    par_bin(&p, OID_BYTEA, address->b, sizeof address->b);
  if ((rc = exec_params(store,
                        address ? "SELECT logs_added, unknown_added, model_block, refused "
                                  "FROM dimo_internal.coverage_merge_contract($1, $5, $2, $3, $4)"
                                : "SELECT logs_added, unknown_added, model_block, refused "
                                  "FROM dimo_internal.coverage_merge($1, $2, $3, $4)",
                        &p, &res, "coverage_round: merge", err, errlen)) != 0)
    goto out;
  int64_t added = 0, unknown = 0, model = -1;
  if (PQntuples(res) != 1 || !res_int8(res, 0, 0, &added) || !res_int8(res, 0, 1, &unknown) ||
      added < 0 || unknown < 0 || (!PQgetisnull(res, 0, 2) && !res_int8(res, 0, 2, &model))) {
    PQclear(res);
    rc = bad_shape(err, errlen, "coverage_round");
    goto out;
  }
  if (!PQgetisnull(res, 0, 3)) {
    /* Refused (a contradicting answer, the coverage moved): nothing kept. */
    out->refused = true;
    snprintf(out->why, sizeof out->why, "%s", PQgetvalue(res, 0, 3));
    PQclear(res);
    tx_abort(store);
    return 0;
  }
  PQclear(res);
  out->logs_added = (uint64_t)added;
  out->unknown_added = (uint64_t)unknown;
  out->has_model = model >= 0;
  out->model_block = model >= 0 ? (uint64_t)model : 0;
  rc = exec_simple(store, "COMMIT", "coverage_round: commit", err, errlen);
out:
  if (rc)
    tx_abort(store);
  return rc;
}

int idx_store_contract_coverage(idx_store_t *store, uint64_t chain_id, idx_store_late_t *out,
                                size_t cap, size_t *n, char *err, size_t errlen) {
  *n = 0;
  PGresult *res = NULL;
  int rc = chain_query(store, chain_id,
                       "SELECT address, complete_from, low "
                       "FROM dimo_internal.contract_coverage_list($1)",
                       "contract_coverage", &res, err, errlen);
  if (rc)
    return rc;
  for (int i = 0; i < PQntuples(res) && *n < cap; i++) {
    int64_t from, low;
    if (PQgetisnull(res, i, 0) || PQgetlength(res, i, 0) != 20 || !res_int8(res, i, 1, &from) ||
        !res_int8(res, i, 2, &low) || from < 0 || low < 0) {
      PQclear(res);
      *n = 0;
      return bad_shape(err, errlen, "contract_coverage");
    }
    idx_store_late_t *l = &out[(*n)++];
    memcpy(l->address.b, PQgetvalue(res, i, 0), 20);
    l->complete_from = (uint64_t)from;
    l->low = (uint64_t)low;
  }
  PQclear(res);
  return 0;
}

/* ---- status ---------------------------------------------------------------- */

int idx_store_event_counts(idx_store_t *store, uint64_t chain_id, idx_store_event_count_cb cb,
                           void *ud, char *err, size_t errlen) {
  PGresult *res = NULL;
  int rc = chain_query(store, chain_id,
                       "SELECT event_name, count(*) FROM logs WHERE chain_id = $1 "
                       "GROUP BY event_name ORDER BY event_name",
                       "event_counts", &res, err, errlen);
  if (rc)
    return rc;
  for (int i = 0; i < PQntuples(res) && !rc; i++) {
    int64_t count;
    if (PQgetisnull(res, i, 0) || !res_int8(res, i, 1, &count) || count < 0) {
      rc = bad_shape(err, errlen, "event_counts");
      break;
    }
    /* A binary text value is its bytes; libpq adds a terminating NUL. */
    rc = cb(ud, PQgetvalue(res, i, 0), (uint64_t)count);
  }
  PQclear(res);
  return rc;
}

int idx_store_rederive(idx_store_t *store, uint64_t chain_id, bool *found, uint64_t *to_block,
                       char *err, size_t errlen) {
  static const char *const what = "rederive";
  *found = false;
  *to_block = 0;
  int rc = call_begin(store, err, errlen);
  if (rc || (rc = check_chain(chain_id, err, errlen)) != 0)
    return rc;
  PGresult *res = NULL;
  params_t p = {0};
  par_int8(&p, (int64_t)chain_id);
  if ((rc = exec_simple(store, "BEGIN", what, err, errlen)) != 0 ||
      (rc = exec_simple(store, "SET LOCAL statement_timeout = 0", what, err, errlen)) != 0 ||
      (rc = exec_params(store, "SELECT dimo_internal.rederive($1)", &p, &res, what, err, errlen)) !=
          0)
    goto out;
  if (PQntuples(res) != 1) {
    rc = bad_shape(err, errlen, what);
    goto out;
  }
  if (!PQgetisnull(res, 0, 0)) {
    int64_t v;
    if (!res_int8(res, 0, 0, &v) || v < 0) {
      rc = bad_shape(err, errlen, what);
      goto out;
    }
    *found = true;
    *to_block = (uint64_t)v;
  }
  rc = exec_simple(store, "COMMIT", what, err, errlen);
out:
  PQclear(res);
  if (rc)
    tx_abort(store);
  return rc;
}

int idx_store_model_reads(idx_store_t *store, idx_store_model_read_cb cb, void *ud, char *err,
                          size_t errlen) {
  static const char *const what = "model_reads";
  PGresult *res = NULL;
  int rc = call_begin(store, err, errlen);
  if (rc || (rc = exec_params(store,
                              "SELECT part, role, event, array_to_string(args, ','), "
                              "optional::text FROM model_reads ORDER BY part, role, event",
                              NULL, &res, what, err, errlen)) != 0)
    return rc;
  for (int i = 0; i < PQntuples(res) && !rc; i++) {
    for (int col = 0; col < 5; col++) {
      if (PQgetisnull(res, i, col)) {
        PQclear(res);
        return bad_shape(err, errlen, what);
      }
    }
    /* Binary text values are their bytes; libpq adds a terminating NUL. */
    rc = cb(ud, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
            PQgetvalue(res, i, 3), strcmp(PQgetvalue(res, i, 4), "true") == 0);
  }
  PQclear(res);
  return rc;
}

/* One non-negative int8 of a single-parameter chain query; *found false
 * (and *v 0) when it returns no row. */
static int chain_int8(idx_store_t *store, uint64_t chain_id, const char *sql, const char *what,
                      bool *found, uint64_t *v, char *err, size_t errlen) {
  *found = false;
  *v = 0;
  PGresult *res = NULL;
  int rc = chain_query(store, chain_id, sql, what, &res, err, errlen);
  if (rc)
    return rc;
  if (PQntuples(res) == 1) {
    int64_t x;
    if (!res_int8(res, 0, 0, &x) || x < 0) {
      PQclear(res);
      return bad_shape(err, errlen, what);
    }
    *v = (uint64_t)x;
    *found = true;
  }
  PQclear(res);
  return 0;
}

int idx_store_text_rows(idx_store_t *store, uint64_t chain_id, const char *sql,
                        idx_store_text_row_cb cb, void *ud, char *err, size_t errlen) {
  PGresult *res = NULL;
  int rc = chain_query(store, chain_id, sql, "text_rows", &res, err, errlen);
  if (rc)
    return rc;
  int ncols = PQnfields(res);
  const char *vals[16];
  if (ncols > (int)IDX_ARRAY_LEN(vals)) {
    PQclear(res);
    return bad_shape(err, errlen, "text_rows");
  }
  for (int i = 0; i < PQntuples(res) && !rc; i++) {
    for (int k = 0; k < ncols; k++)
      vals[k] = PQgetisnull(res, i, k) ? NULL : PQgetvalue(res, i, k);
    rc = cb(ud, vals, (size_t)ncols);
  }
  PQclear(res);
  return rc;
}

int idx_store_finalized(idx_store_t *store, uint64_t chain_id, bool *found, uint64_t *block,
                        char *err, size_t errlen) {
  return chain_int8(store, chain_id, "SELECT finalized_block FROM finality WHERE chain_id = $1",
                    "finalized_block", found, block, err, errlen);
}

int idx_store_set_finalized(idx_store_t *store, uint64_t chain_id, uint64_t block, char *err,
                            size_t errlen) {
  if (block > INT64_MAX)
    return bad_shape(err, errlen, "finalized_block");
  params_t p = {0};
  par_int8(&p, (int64_t)chain_id);
  par_int8(&p, (int64_t)block);
  PGresult *res = NULL;
  int rc = exec_params(store,
                       "INSERT INTO finality (chain_id, finalized_block) VALUES ($1, $2) "
                       "ON CONFLICT (chain_id) DO UPDATE SET finalized_block = "
                       "GREATEST(finality.finalized_block, EXCLUDED.finalized_block), "
                       "updated_at = now()",
                       &p, &res, "finalized_block", err, errlen);
  PQclear(res);
  return rc;
}

int idx_store_model_block(idx_store_t *store, uint64_t chain_id, bool *found, uint64_t *block,
                          char *err, size_t errlen) {
  return chain_int8(store, chain_id, "SELECT block_number FROM model_cursor WHERE chain_id = $1",
                    "model_block", found, block, err, errlen);
}

int idx_store_writer_lock(idx_store_t *store, uint64_t chain_id, bool *got, char *err,
                          size_t errlen) {
  *got = false;
  int rc = call_begin(store, err, errlen);
  if (rc || (rc = check_chain(chain_id, err, errlen)) != 0)
    return rc;
  /* Two-key form: 'DIMO' in the first key keeps clear of other users of
   * advisory locks; the chain id (low 32 bits) in the second. */
  params_t p = {0};
  PGresult *res = NULL;
  par_int8(&p, (int64_t)(chain_id & 0x7fffffffu));
  rc = exec_params(store, "SELECT pg_try_advisory_lock(1145654607, $1::int4)", &p, &res,
                   "writer_lock", err, errlen);
  if (rc)
    return rc;
  if (PQntuples(res) != 1 || PQnfields(res) != 1) {
    PQclear(res);
    return bad_shape(err, errlen, "writer_lock");
  }
  /* Binary bool: one byte. */
  *got = PQgetlength(res, 0, 0) == 1 && PQgetvalue(res, 0, 0)[0] != 0;
  PQclear(res);
  return 0;
}

/* ---- the license model ------------------------------------------------------ */

/* An SQL NULL of the given type. */
static void par_null(params_t *p, Oid type) {
  int i = p->n++;
  p->types[i] = type;
  p->values[i] = NULL;
  p->lengths[i] = 0;
  p->formats[i] = 1;
}

/* A text parameter, or SQL NULL when s is NULL. */
static void par_text_or_null(params_t *p, const char *s) {
  if (s)
    par_bin(p, OID_TEXT, s, strlen(s));
  else
    par_null(p, OID_TEXT);
}

int idx_store_register_contracts(idx_store_t *store, uint64_t chain_id, const idx_network_t *net,
                                 char *err, size_t errlen) {
  static const char *const what = "register_contracts";
  int rc = call_begin(store, err, errlen);
  if (rc || (rc = check_chain(chain_id, err, errlen)) != 0)
    return rc;
  if ((rc = exec_simple(store, "BEGIN", what, err, errlen)) != 0)
    goto out;
  for (size_t i = 0; i < net->ncontracts && !rc; i++) {
    const idx_contract_t *c = &net->contracts[i];
    const char *role = idx_role_name(c->role);
    const char *cls = c->license_class == IDX_CLASS_NONE ? NULL : idx_class_name(c->license_class);
    params_t p = {0};
    par_int8(&p, (int64_t)chain_id);
    par_bin(&p, OID_BYTEA, c->address.b, sizeof c->address.b);
    par_text_or_null(&p, role);
    par_text_or_null(&p, cls);
    par_int8(&p, c->start_block > INT64_MAX ? INT64_MAX : (int64_t)c->start_block);
    rc = exec_params(store, "SELECT dimo_internal.register_contract($1, $2, $3, $4, $5)", &p, NULL,
                     what, err, errlen);
  }
  if (!rc) {
    /* The file's requirements (issue #23): written only when they changed,
     * which re-derives trust ratios and statuses. */
    params_t p = {0};
    par_int8(&p, (int64_t)chain_id);
    par_text_or_null(&p, net->requirements_json);
    rc = exec_params(store, "SELECT dimo_internal.set_requirements($1, $2::jsonb)", &p, NULL, what,
                     err, errlen);
  }
  if (!rc)
    rc = exec_simple(store, "COMMIT", what, err, errlen);
out:
  if (rc)
    tx_abort(store);
  return rc;
}

int idx_store_reorg_stats(idx_store_t *store, uint64_t chain_id, uint64_t *count,
                          uint64_t *max_depth, uint64_t *last_depth, char *err, size_t errlen) {
  *count = *max_depth = *last_depth = 0;
  PGresult *res = NULL;
  int rc =
      chain_query(store, chain_id,
                  "SELECT count(*), coalesce(max(depth), 0), coalesce((SELECT depth FROM reorgs "
                  "WHERE chain_id = $1 ORDER BY id DESC LIMIT 1), 0) FROM reorgs "
                  "WHERE chain_id = $1",
                  "reorg_stats", &res, err, errlen);
  if (rc)
    return rc;
  int64_t v[3];
  for (int c = 0; c < 3; c++) {
    if (PQntuples(res) != 1 || !res_int8(res, 0, c, &v[c]) || v[c] < 0) {
      PQclear(res);
      return bad_shape(err, errlen, "reorg_stats");
    }
  }
  PQclear(res);
  *count = (uint64_t)v[0];
  *max_depth = (uint64_t)v[1];
  *last_depth = (uint64_t)v[2];
  return 0;
}

/* ---- first sync: discovered starts, progress (issue #16, 014) ------------ */

int idx_store_discovered_starts(idx_store_t *store, uint64_t chain_id, idx_store_start_t *out,
                                size_t cap, size_t *n, char *err, size_t errlen) {
  *n = 0;
  PGresult *res = NULL;
  int rc = chain_query(store, chain_id,
                       "SELECT address, block_number, head FROM discovered_starts "
                       "WHERE chain_id = $1 ORDER BY address",
                       "discovered_starts", &res, err, errlen);
  if (rc)
    return rc;
  int rows = PQntuples(res);
  for (int i = 0; i < rows && *n < cap; i++) {
    int64_t block, head;
    if (PQgetisnull(res, i, 0) || PQgetlength(res, i, 0) != 20 || !res_int8(res, i, 1, &block) ||
        !res_int8(res, i, 2, &head) || block < 0 || head < block) {
      PQclear(res);
      return bad_shape(err, errlen, "discovered_starts");
    }
    memcpy(out[*n].address.b, PQgetvalue(res, i, 0), 20);
    out[*n].block = (uint64_t)block;
    out[*n].head = (uint64_t)head;
    (*n)++;
  }
  PQclear(res);
  return 0;
}

int idx_store_record_start(idx_store_t *store, uint64_t chain_id, const idx_store_start_t *start,
                           char *err, size_t errlen) {
  int rc = call_begin(store, err, errlen);
  if (rc || (rc = check_chain(chain_id, err, errlen)) != 0)
    return rc;
  if (start->block > INT64_MAX || start->head > INT64_MAX || start->head < start->block) {
    idx_set_err(err, errlen, "record_start: block %" PRIu64 " above head %" PRIu64, start->block,
                start->head);
    return IDX_ERR_INVAL;
  }
  params_t p = {0};
  par_int8(&p, (int64_t)chain_id);
  par_bin(&p, OID_BYTEA, start->address.b, sizeof start->address.b);
  par_int8(&p, (int64_t)start->block);
  par_int8(&p, (int64_t)start->head);
  return exec_params(store,
                     "INSERT INTO discovered_starts (chain_id, address, block_number, head) "
                     "VALUES ($1, $2, $3, $4) ON CONFLICT (chain_id, address) DO UPDATE SET "
                     "block_number = EXCLUDED.block_number, head = EXCLUDED.head, found_at = now()",
                     &p, NULL, "record_start", err, errlen);
}

int idx_store_set_progress(idx_store_t *store, uint64_t chain_id, const idx_store_progress_t *pr,
                           char *err, size_t errlen) {
  int rc = call_begin(store, err, errlen);
  if (rc || (rc = check_chain(chain_id, err, errlen)) != 0)
    return rc;
  uint64_t v[4] = {pr->start_block, pr->target, pr->blocks_per_s, pr->events_per_s};
  params_t p = {0};
  par_int8(&p, (int64_t)chain_id);
  for (size_t i = 0; i < IDX_ARRAY_LEN(v); i++)
    par_int8(&p, v[i] > INT64_MAX ? INT64_MAX : (int64_t)v[i]);
  par_int8(&p, pr->started_unix > INT64_MAX ? INT64_MAX : (int64_t)pr->started_unix);
  return exec_params(store,
                     "INSERT INTO sync_progress (chain_id, start_block, target, blocks_per_s, "
                     "events_per_s, started_at, updated_at) VALUES ($1, $2, $3, $4, $5, "
                     "to_timestamp($6), now()) ON CONFLICT (chain_id) DO UPDATE SET "
                     "start_block = EXCLUDED.start_block, target = EXCLUDED.target, "
                     "blocks_per_s = EXCLUDED.blocks_per_s, "
                     "events_per_s = EXCLUDED.events_per_s, started_at = EXCLUDED.started_at, "
                     "updated_at = now()",
                     &p, NULL, "set_progress", err, errlen);
}

int idx_store_progress(idx_store_t *store, uint64_t chain_id, bool *found, idx_store_progress_t *pr,
                       char *err, size_t errlen) {
  *found = false;
  memset(pr, 0, sizeof *pr);
  PGresult *res = NULL;
  int rc = chain_query(store, chain_id,
                       "SELECT start_block, target, blocks_per_s, events_per_s, "
                       "extract(epoch FROM started_at)::bigint, "
                       "greatest(extract(epoch FROM now() - updated_at), 0)::bigint "
                       "FROM sync_progress WHERE chain_id = $1",
                       "progress", &res, err, errlen);
  if (rc)
    return rc;
  if (PQntuples(res) == 1) {
    int64_t v[6];
    for (int c = 0; c < 6; c++) {
      if (!res_int8(res, 0, c, &v[c]) || v[c] < 0) {
        PQclear(res);
        return bad_shape(err, errlen, "progress");
      }
    }
    pr->start_block = (uint64_t)v[0];
    pr->target = (uint64_t)v[1];
    pr->blocks_per_s = (uint64_t)v[2];
    pr->events_per_s = (uint64_t)v[3];
    pr->started_unix = (uint64_t)v[4];
    pr->age_s = (uint64_t)v[5];
    *found = true;
  }
  PQclear(res);
  return 0;
}

/* ---- where the history starts (020, schema/functions/history.sql) -------- */

int idx_store_history(idx_store_t *store, uint64_t chain_id, idx_store_history_t *out, char *err,
                      size_t errlen) {
  memset(out, 0, sizeof *out);
  PGresult *res = NULL;
  int rc = chain_query(store, chain_id,
                       "SELECT first_block, source FROM history_start WHERE chain_id = $1",
                       "history", &res, err, errlen);
  if (rc)
    return rc;
  if (PQntuples(res) > 1) {
    PQclear(res);
    return bad_shape(err, errlen, "history");
  }
  if (PQntuples(res) == 1) {
    int64_t v = 0;
    out->found = true;
    out->known = !PQgetisnull(res, 0, 0);
    if ((out->known && (!res_int8(res, 0, 0, &v) || v < 0)) || PQgetisnull(res, 0, 1)) {
      PQclear(res);
      return bad_shape(err, errlen, "history");
    }
    out->first_block = (uint64_t)v;
    snprintf(out->source, sizeof out->source, "%s", PQgetvalue(res, 0, 1));
  }
  PQclear(res);
  return 0;
}

int idx_store_history_note_from(idx_store_t *store, uint64_t chain_id, uint64_t from,
                                idx_store_from_t *outcome, uint64_t *first_block, uint64_t *lowest,
                                char *err, size_t errlen) {
  *outcome = IDX_STORE_FROM_NONE;
  *first_block = *lowest = 0;
  int rc = call_begin(store, err, errlen);
  if (rc || (rc = check_chain(chain_id, err, errlen)) != 0)
    return rc;
  if (from > INT64_MAX) {
    idx_set_err(err, errlen, "history_note_from: block %" PRIu64 " out of range", from);
    return IDX_ERR_INVAL;
  }
  params_t p = {0};
  PGresult *res = NULL;
  par_int8(&p, (int64_t)chain_id);
  par_int8(&p, (int64_t)from);
  if ((rc = exec_params(store,
                        "SELECT outcome, first_block, lowest "
                        "FROM dimo_internal.history_note_from($1, $2)",
                        &p, &res, "history_note_from", err, errlen)) != 0)
    return rc;
  static const char *const names[] = {"none", "same", "differs", "adopted", "below"};
  int64_t v;
  bool ok = PQntuples(res) == 1 && !PQgetisnull(res, 0, 0);
  size_t k = 0;
  while (ok && k < IDX_ARRAY_LEN(names) && strcmp(PQgetvalue(res, 0, 0), names[k]) != 0)
    k++;
  ok = ok && k < IDX_ARRAY_LEN(names);
  if (ok && !PQgetisnull(res, 0, 1)) {
    ok = res_int8(res, 0, 1, &v) && v >= 0;
    *first_block = ok ? (uint64_t)v : 0;
  }
  if (ok && !PQgetisnull(res, 0, 2)) {
    ok = res_int8(res, 0, 2, &v) && v >= 0;
    *lowest = ok ? (uint64_t)v : 0;
  }
  PQclear(res);
  if (!ok)
    return bad_shape(err, errlen, "history_note_from");
  *outcome = (idx_store_from_t)k;
  return 0;
}

int idx_store_history_late(idx_store_t *store, uint64_t chain_id, idx_addr_t *out, size_t cap,
                           size_t *n, char *err, size_t errlen) {
  *n = 0;
  PGresult *res = NULL;
  int rc =
      chain_query(store, chain_id, "SELECT address FROM dimo_internal.history_late_contracts($1)",
                  "history_late", &res, err, errlen);
  if (rc)
    return rc;
  for (int i = 0; i < PQntuples(res) && *n < cap; i++) {
    if (PQgetisnull(res, i, 0) || PQgetlength(res, i, 0) != 20) {
      PQclear(res);
      *n = 0;
      return bad_shape(err, errlen, "history_late");
    }
    memcpy(out[(*n)++].b, PQgetvalue(res, i, 0), 20);
  }
  PQclear(res);
  return 0;
}
