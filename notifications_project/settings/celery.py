"""Celery: the broker (Redis, or RabbitMQ when CELERY_BROKER_URL is amqp://), the task
queues (derived from the priorities by notifications_project/queues.py, which the
Procfile and compose use too), the routes and how workers take and acknowledge work."""

from notifications_project import queues

from .environment import env
from .redis import REDIS_URL

# Redis (REDIS_URL) unless given: Redis stays the cache, the limits and the live inbox's
# pub/sub either way.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
BROKER_IS_RABBITMQ = queues.is_rabbitmq(CELERY_BROKER_URL)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=600)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=540)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"

# Publishing must not hang the web request while the broker is down: one quick retry,
# then the error goes to event_publish's robust on_commit hook, the event stays in the
# outbox and the relay on beat fans it out once the broker is back.
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=2.0)
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": env.int("CELERY_PUBLISH_MAX_RETRIES", default=1),
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}

# Redis: unacknowledged messages come back after this many seconds (a worker died
# holding them). It must exceed the longest countdown any task is given: long delays go
# through scheduled_at and beat instead. RabbitMQ needs no such timeout: it hands a
# dead worker's messages out again the moment its connection drops.
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
_REDIS_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    # How often a worker looks for such messages: every interval × throttle seconds.
    "unacked_restore_interval": env.int("CELERY_UNACKED_RESTORE_INTERVAL", default=10),
    "unacked_restore_throttle": env.int("CELERY_UNACKED_RESTORE_THROTTLE", default=3),
    # The restore takes a Redis lock that expires after this many seconds (kombu's 300): a
    # worker killed while holding it keeps every other worker from restoring until then.
    "unacked_mutex_expire": env.int("CELERY_UNACKED_MUTEX_EXPIRE", default=300),
    "socket_connect_timeout": CELERY_BROKER_CONNECTION_TIMEOUT,
    # Kombu's Redis transport polls a worker's queues in the listed order, so within one
    # worker higher priorities are served first; separate workers give the hard guarantee.
    "queue_order_strategy": "priority",
}
# RabbitMQ: a publish returns once the broker has taken the message (publisher
# confirms), so a message the broker refused or lost on the way fails its sender,
# whose on_commit hook leaves the event to the outbox relay.
_RABBITMQ_TRANSPORT_OPTIONS = {"confirm_publish": True}
CELERY_BROKER_TRANSPORT_OPTIONS = _RABBITMQ_TRANSPORT_OPTIONS if BROKER_IS_RABBITMQ else _REDIS_TRANSPORT_OPTIONS

NOTIFICATION_CHANNELS = list(queues.CHANNELS)
# Priority queues: `<kind>.<priority>` (normal keeps the plain name), kind = fanout or a channel.
CELERY_TASK_DEFAULT_QUEUE = "default"
# On RabbitMQ, quorum queues on a topic exchange (queues.task_queues says why). Workers
# see the quorum queues and take per-consumer prefetch (worker_detect_quorum_queues, on
# by default), and declare every queue when they start (apps/ops/celery_signals.py).
CELERY_TASK_QUEUES = queues.task_queues(rabbitmq=BROKER_IS_RABBITMQ)
CELERY_TASK_ROUTES = {
    "notifications.fan_out": {"queue": "fanout"},
    "notifications.fan_out_range": {"queue": "fanout"},
    "notifications.in_app.*": {"queue": "in_app"},
    "events.*": {"queue": "maintenance"},
    "delivery.*": {"queue": "default"},  # dispatch picks the channel's queue itself
    "scheduling.*": {"queue": "maintenance"},
    "subscriptions.*": {"queue": "maintenance"},
    "ops.*": {"queue": "maintenance"},
    "integrations.*": {"queue": queues.INTEGRATIONS},
    # The batch of a bulk send goes where its priority says (apply_async(queue=...)); by
    # default, to the normal fan-out queue.
    "notifications.fan_out_batch": {"queue": "fanout"},
    "notifications.batches_close": {"queue": "maintenance"},
}
