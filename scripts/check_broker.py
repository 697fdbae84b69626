"""Exit non-zero with one clear line when the RabbitMQ named on the command line (an
amqp:// URL, its vhost included) does not answer."""

import sys

import kombu
from kombu.utils.url import maybe_sanitize_url

url = sys.argv[1]
try:
    with kombu.Connection(url, connect_timeout=2) as connection:
        connection.connect()
except Exception as exc:  # any failure to connect: say which and how to fix it
    sys.exit(
        f"RabbitMQ is unreachable at {maybe_sanitize_url(url)} ({exc.__class__.__name__}: {exc}). "
        "Start it (`rabbitmq-server -detached`), create the vhost (`rabbitmqctl add_vhost …` and "
        "`rabbitmqctl set_permissions -p … guest '.*' '.*' '.*'`) or set TEST_RABBITMQ_URL."
    )
