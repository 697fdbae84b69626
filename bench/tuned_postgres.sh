#!/usr/bin/env bash
# A private PostgreSQL cluster with the fan-out settings of docs/operations.md, for
# measuring them beside the machine's own server (bench/sql_ceiling.py --label tuned,
# bench/fanout_ranges.py). Durable as deployed: fsync, full_page_writes and
# synchronous_commit stay on.
#
#   bench/tuned_postgres.sh [dir] [port]     (defaults: /tmp/pg-tuned, 55432)
#   DATABASE_URL=postgres://postgres@127.0.0.1:55432/<db> python bench/...
#   bench/tuned_postgres.sh stop [dir]
set -euo pipefail
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)}
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

if [ "${1:-}" = stop ]; then
  as_postgres "$PG_BIN/pg_ctl" -D "${2:-/tmp/pg-tuned}/data" -m fast stop
  exit
fi
DIR=${1:-/tmp/pg-tuned}
PORT=${2:-55432}
mkdir -p "$DIR"
[ "$(id -u)" = 0 ] && chown postgres "$DIR"
[ -d "$DIR/data" ] || as_postgres "$PG_BIN/initdb" -D "$DIR/data" -U postgres --auth=trust -E UTF8 >/dev/null
as_postgres "$PG_BIN/pg_ctl" -D "$DIR/data" -l "$DIR/postgres.log" -w -o \
  "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c shared_buffers=6GB -c wal_buffers=64MB \
   -c wal_writer_delay=10ms -c max_wal_size=16GB -c min_wal_size=4GB -c checkpoint_timeout=30min" start
