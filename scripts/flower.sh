#!/bin/sh
# Flower, protected by basic auth from FLOWER_BASIC_AUTH ("user:password[,user2:password2]").
# Without it, Flower listens on 127.0.0.1 only: fine for development, never for a server.
# With it, on FLOWER_ADDRESS (127.0.0.1 unless set; the compose file sets 0.0.0.0).
set -e
# Flower's own figures stay out of the service's multiprocess metrics.
unset PROMETHEUS_MULTIPROC_DIR
PORT="${FLOWER_PORT:-5555}"
unset FLOWER_PORT
if [ -n "${FLOWER_BASIC_AUTH:-}" ]; then
  exec celery -A notifications_project flower --port="$PORT" --address="${FLOWER_ADDRESS:-127.0.0.1}"
fi
# An empty FLOWER_BASIC_AUTH would make Flower ask for credentials no one has.
unset FLOWER_BASIC_AUTH
echo "flower: FLOWER_BASIC_AUTH is not set; listening on 127.0.0.1 only" >&2
exec celery -A notifications_project flower --port="$PORT" --address=127.0.0.1
