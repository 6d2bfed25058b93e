# shellcheck shell=bash
# A throwaway PostgreSQL 15 server for the benchmarks, sourced by bench/delivery.sh and
# bench/cluster.sh: initdb in a temp dir (as the `postgres` OS user when run as root — initdb
# refuses root), Unix socket only (listen_addresses=''), fsync and synchronous_commit on (a
# 202 means committed, as in production), pg_stat_statements preloaded so the benchmark can
# count the statements each part cost.
#
#   pg_start            → sets PG_DIR, PG_PORT, PG_PID (the postmaster); waits until it answers
#   pg_sql DB SQL       → psql -XAtq as the superuser `postgres`; output: one row a line
#   pg_stop             → fast shutdown, then the temp dir removed
#   pg_url DB ROLE      → the libpq URL hookd gets with --db
#   pg_backend_pids     → the server's processes (postmaster's children), for CPU sampling
#
# Knobs: PG_BINDIR (/usr/lib/postgresql/15/bin), PG_CONF="-c shared_buffers=256MB …" (extra
# server settings, appended after the defaults below), PG_ENV="MALLOC_TRIM_THRESHOLD_=…" (the
# server's environment).
PG_BINDIR="${PG_BINDIR:-/usr/lib/postgresql/15/bin}"
PG_DIR="${PG_DIR:-}"
PG_PORT="${PG_PORT:-}"
PG_PID="${PG_PID:-}"
pg_as() {  # pg_as CMD… → CMD as the cluster's OS user (postgres when we are root)
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
pg_sql() { psql -XAtq -v ON_ERROR_STOP=1 -h "$PG_DIR" -p "$PG_PORT" -U postgres -d "$1" -c "$2"; }
pg_url() { echo "postgresql:///$1?host=$PG_DIR&port=$PG_PORT&user=$2"; }
pg_backend_pids() { pgrep -P "$PG_PID" | tr '\n' ' '; }
pg_start() {
  [ -x "$PG_BINDIR/initdb" ] || { echo "pg.sh: no PostgreSQL server in $PG_BINDIR (Debian: apt-get install postgresql)" >&2; return 2; }
  PG_DIR="$(mktemp -d /tmp/hookd-bench-pg.XXXXXX)"
  [ "$(id -u)" = 0 ] && chown postgres: "$PG_DIR"
  pg_as "$PG_BINDIR/initdb" -D "$PG_DIR/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 --no-sync \
    >"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log" >&2; return 1; }
  PG_PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  # shellcheck disable=SC2086  # PG_CONF: extra -c flags, split on spaces on purpose
  # shellcheck disable=SC2086  # PG_ENV: VAR=value words for the server's environment
  pg_as env ${PG_ENV:-} "$PG_BINDIR/postgres" -D "$PG_DIR/data" -k "$PG_DIR" -p "$PG_PORT" -c listen_addresses= \
    -c fsync=on -c synchronous_commit=on -c max_connections=200 \
    -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all \
    -c pg_stat_statements.max=5000 ${PG_CONF:-} >"$PG_DIR/server.log" 2>&1 &
  local launcher=$!
  for _ in $(seq 300); do
    if pg_sql postgres "SELECT 1" >/dev/null 2>&1; then
      PG_PID="$(head -n1 "$PG_DIR/data/postmaster.pid")"  # the postmaster, not runuser
      pg_sql postgres "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
      return 0
    fi
    kill -0 "$launcher" 2>/dev/null || { cat "$PG_DIR/server.log" >&2; return 1; }
    sleep 0.1
  done
  echo "pg.sh: the server did not answer in 30 s" >&2; return 1
}
pg_stop() {
  if [ -n "$PG_PID" ]; then
    kill -INT "$PG_PID" 2>/dev/null || true  # fast shutdown
    for _ in $(seq 200); do kill -0 "$PG_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$PG_PID" 2>/dev/null || true
    PG_PID=""
  fi
  case "$PG_DIR" in /tmp/hookd-bench-pg.*) rm -rf "$PG_DIR" ;; esac
  PG_DIR=""
}
