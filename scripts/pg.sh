#!/usr/bin/env bash
# pg.sh: a throwaway PostgreSQL 15 cluster for tests, demos and benchmarks.
#
#   scripts/pg.sh start DIR [PORT]   initdb into DIR/data (once), start the
#                                    server on 127.0.0.1:PORT (default: a free
#                                    port) with its unix socket in DIR/sock,
#                                    create database `dimo`, and print its libpq
#                                    conninfo (also written to DIR/conninfo).
#                                    On a running cluster it only prints it.
#   scripts/pg.sh stop DIR           fast shutdown; waits until it is down.
#   scripts/pg.sh createdb DIR NAME  creates database NAME (if missing) and
#                                    prints its conninfo.
#   scripts/pg.sh standby DIR PRIMARY_DIR [PORT]
#                                    a hot standby of the running cluster in
#                                    PRIMARY_DIR: pg_basebackup -R into DIR/data
#                                    (streaming replication), started like
#                                    `start`; prints its conninfo (database dimo).
#   scripts/pg.sh promote DIR        promotes the standby in DIR (pg_ctl promote,
#                                    waits until it accepts writes).
#
# Only the conninfo goes to stdout; progress and errors go to stderr, the
# server log to DIR/postgres.log. As root, initdb and pg_ctl refuse to run,
# so they run as the `postgres` user and DIR is handed to it. fsync and
# synchronous_commit stay on: crash-consistency tests need real durability.
#
# Environment: PG_BIN (default /usr/lib/postgresql/15/bin).
set -euo pipefail

pg_bin=${PG_BIN:-/usr/lib/postgresql/15/bin}

say() { printf 'pg.sh: %s\n' "$*" >&2; }
die() {
  say "$*"
  exit 1
}

usage() {
  sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

is_root() { [[ $(id -u) -eq 0 ]]; }

# Runs a server-side tool, as the postgres user when we are root (from /,
# so that a private working directory does not trouble it).
as_pg() {
  if is_root; then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

# Absolute path of an existing directory.
abs_dir() { (cd "$1" && pwd -P); }

# Single-quotes a value for postgresql.conf.
conf_quote() { printf "'%s'" "${1//\'/\'\'}"; }

# True when something already listens on 127.0.0.1:port.
port_busy() {
  local port=$1
  if command -v ss >/dev/null 2>&1; then
    [[ -n $(ss -Hltn "sport = :$port" 2>/dev/null) ]]
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
  fi
}

# Picks a port in 20000..59999 that nothing listens on (a race remains; the
# caller retries when the server cannot bind).
free_port() {
  local i port
  for ((i = 0; i < 200; i++)); do
    port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
    if ! port_busy "$port"; then
      echo "$port"
      return 0
    fi
  done
  die "no free TCP port found"
}

conninfo_for() { printf 'host=127.0.0.1 port=%s user=postgres dbname=%s\n' "$1" "$2"; }

# The port the cluster is configured for (from our include file).
configured_port() {
  [[ -f $1/data/dimo_test.conf ]] || return 0
  sed -n "s/^port = \([0-9]*\)$/\1/p" "$1/data/dimo_test.conf" | tail -n 1
}

write_conf() {
  local dir=$1 port=$2
  {
    echo "# Written by scripts/pg.sh; rewritten on every start."
    echo "port = $port"
    echo "listen_addresses = '127.0.0.1'"
    echo "unix_socket_directories = $(conf_quote "$dir/sock")"
    echo "fsync = on"
    echo "synchronous_commit = on"
    echo "timezone = 'UTC'"
    echo "log_timezone = 'UTC'"
    echo "max_connections = 100"
    echo "log_line_prefix = '%m [%p] %q%a '"
  } >"$dir/data/dimo_test.conf"
  if is_root; then
    chown postgres: "$dir/data/dimo_test.conf"
  fi
}

is_running() {
  local dir=$1
  [[ -f $dir/data/PG_VERSION ]] || return 1
  as_pg "$pg_bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1
}

psql_admin() {
  local port=$1
  shift
  "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres "$@"
}

ensure_db() {
  local port=$1 name=$2
  local exists
  # psql interpolates :'name' (quoted safely) only in script input, not -c.
  exists=$(echo "SELECT 1 FROM pg_database WHERE datname = :'name'" |
    psql_admin "$port" -tA -v name="$name") || die "cannot query the server"
  if [[ $exists != 1 ]]; then
    "$pg_bin/createdb" -h 127.0.0.1 -p "$port" -U postgres "$name" >&2 ||
      die "createdb $name failed"
  fi
}

cmd_start() {
  local dir=$1 want_port=${2:-}
  if [[ -n $want_port ]] && ! [[ $want_port =~ ^[0-9]+$ && $want_port -ge 1024 && $want_port -le 65535 ]]; then
    die "bad port: $want_port (1024..65535)"
  fi
  mkdir -p "$dir"
  dir=$(abs_dir "$dir")

  if is_running "$dir"; then
    local port
    port=$(configured_port "$dir")
    [[ -n $port ]] || die "$dir/data is running but has no dimo_test.conf"
    if [[ -n $want_port && $want_port != "$port" ]]; then
      say "already running on port $port (asked for $want_port)"
    fi
    ensure_db "$port" dimo
    conninfo_for "$port" dimo | tee "$dir/conninfo"
    return 0
  fi

  # The socket path must fit in sockaddr_un (107 bytes with ".s.PGSQL.NNNNN").
  if ((${#dir} + 20 > 107)); then
    die "$dir is too long for a unix socket path; use a shorter directory"
  fi

  mkdir -p "$dir/data" "$dir/sock"
  touch "$dir/postgres.log"
  if is_root; then
    chown postgres: "$dir" "$dir/data" "$dir/sock" "$dir/postgres.log"
    chmod 700 "$dir/data"
    runuser -u postgres -- test -w "$dir/sock" ||
      die "the postgres user cannot reach $dir (check the parent directories' permissions)"
  fi

  if [[ ! -f $dir/data/PG_VERSION ]]; then
    say "initdb $dir/data"
    as_pg "$pg_bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C \
      --no-instructions --no-sync >"$dir/initdb.log" 2>&1 ||
      {
        cat "$dir/initdb.log" >&2
        die "initdb failed"
      }
    echo "include_if_exists = 'dimo_test.conf'" >>"$dir/data/postgresql.conf"
  fi

  # A restarted cluster keeps its port when it is still free, so that a
  # conninfo handed out before stays valid.
  local attempt port prev
  prev=$(configured_port "$dir")
  if [[ -z $want_port && -n $prev ]] && ! port_busy "$prev"; then
    want_port=$prev
  fi
  for ((attempt = 1; attempt <= 5; attempt++)); do
    port=${want_port:-$(free_port)}
    write_conf "$dir" "$port"
    local mark
    mark=$(wc -l <"$dir/postgres.log")
    if as_pg "$pg_bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 start >/dev/null; then
      break
    fi
    # Retry on another port only when ours was taken between check and bind.
    if [[ -z $want_port ]] && tail -n +"$((mark + 1))" "$dir/postgres.log" | grep -q 'could not bind\|Address already in use'; then
      say "port $port taken meanwhile; retrying"
      # The failed start's FATAL stays in a log of its own, so that the
      # server's log holds only the server that runs (tests grep it).
      mv "$dir/postgres.log" "$dir/postgres-port-$port-taken.log"
      touch "$dir/postgres.log"
      if is_root; then chown postgres: "$dir/postgres.log"; fi
      continue
    fi
    tail -n 20 "$dir/postgres.log" >&2
    die "the server did not start (log: $dir/postgres.log)"
  done
  is_running "$dir" || die "the server did not start (log: $dir/postgres.log)"

  "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -t 30 || die "the server is not ready on port $port"
  ensure_db "$port" dimo
  conninfo_for "$port" dimo | tee "$dir/conninfo"
}

cmd_stop() {
  local dir=$1
  [[ -d $dir ]] || return 0
  dir=$(abs_dir "$dir")
  if ! is_running "$dir"; then
    say "not running: $dir"
    return 0
  fi
  as_pg "$pg_bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null ||
    die "pg_ctl stop failed (log: $dir/postgres.log)"
}

cmd_createdb() {
  local dir=$1 name=$2
  [[ $name =~ ^[A-Za-z_][A-Za-z0-9_]{0,62}$ ]] || die "bad database name: $name"
  dir=$(abs_dir "$dir")
  is_running "$dir" || die "not running: $dir (use: pg.sh start $dir)"
  local port
  port=$(configured_port "$dir")
  ensure_db "$port" "$name"
  conninfo_for "$port" "$name"
}

# A hot standby: a base backup of the primary over its replication
# protocol (initdb's trust rules admit replication from 127.0.0.1), with -R
# writing standby.signal and primary_conninfo; then our own port and socket.
cmd_standby() {
  local dir=$1 primary=$2 want_port=${3:-}
  primary=$(abs_dir "$primary")
  is_running "$primary" || die "not running: $primary"
  local pport
  pport=$(configured_port "$primary")
  mkdir -p "$dir"
  dir=$(abs_dir "$dir")
  if [[ ! -f $dir/data/PG_VERSION ]]; then
    mkdir -p "$dir/data"
    if is_root; then
      chown postgres: "$dir" "$dir/data"
    fi
    chmod 700 "$dir/data"
    say "pg_basebackup from port $pport into $dir/data"
    as_pg "$pg_bin/pg_basebackup" -h 127.0.0.1 -p "$pport" -U postgres -D "$dir/data" -R \
      -X stream -c fast --no-sync >"$dir/basebackup.log" 2>&1 ||
      {
        cat "$dir/basebackup.log" >&2
        die "pg_basebackup failed"
      }
    # The primary's include file came along: cmd_start rewrites it.
    rm -f "$dir/data/dimo_test.conf" "$dir/data/postmaster.pid"
  fi
  cmd_start "$dir" "$want_port"
}

cmd_promote() {
  local dir=$1
  dir=$(abs_dir "$dir")
  as_pg "$pg_bin/pg_ctl" -D "$dir/data" -w -t 60 promote >/dev/null ||
    die "pg_ctl promote failed (log: $dir/postgres.log)"
}

[[ $# -ge 2 ]] || usage
[[ -x $pg_bin/initdb ]] || die "PostgreSQL binaries not found in $pg_bin (set PG_BIN)"
case $1 in
start)
  [[ $# -le 3 ]] || usage
  cmd_start "$2" "${3:-}"
  ;;
stop)
  [[ $# -eq 2 ]] || usage
  cmd_stop "$2"
  ;;
createdb)
  [[ $# -eq 3 ]] || usage
  cmd_createdb "$2" "$3"
  ;;
standby)
  [[ $# -ge 3 && $# -le 4 ]] || usage
  cmd_standby "$2" "$3" "${4:-}"
  ;;
promote)
  [[ $# -eq 2 ]] || usage
  cmd_promote "$2"
  ;;
*) usage ;;
esac
