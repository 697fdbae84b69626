"""The service's own Prometheus metrics.

Counters and histograms are updated in whichever process does the work (web or
Celery worker). With PROMETHEUS_MULTIPROC_DIR set, every process writes its figures to
files in that directory and /metrics adds them up, so one scrape of the web shows the
workers' counts too. Gauges that describe shared state (queue depth, oldest pending
delivery) are computed at scrape time instead (see collectors.py).
"""

from prometheus_client import Counter, Gauge, Histogram

EVENTS_PUBLISHED = Counter("notifications_events_published_total", "Events recorded by event_publish.", ["event_type"])
NOTIFICATIONS_CREATED = Counter(
    "notifications_created_total", "Inbox items created by fan-out (one per recipient).", ["event_type"]
)
FANOUT_CHUNKS = Counter("notifications_fanout_chunks_total", "Committed fan-out chunks.", ["event_type"])
DELIVERY_TRANSITIONS = Counter(
    "notifications_delivery_transitions_total",
    "Delivery status changes recorded in the delivery history, by channel and new status.",
    ["channel", "status"],
)
DEAD_LETTERS = Counter("notifications_dead_letters_total", "Deliveries that exhausted their retries.", ["channel"])
TASK_RETRIES = Counter("notifications_task_retries_total", "Celery task retries scheduled.", ["task"])

# Open streams of the stream processes (coroutines, not threads): the figure to size them by.
INBOX_STREAMS_OPEN = Gauge(
    "notifications_inbox_streams_open", "Live inbox streams open now.", multiprocess_mode="livesum"
)

# From the event's creation to the moment a chunk of its inbox items is committed.
EVENT_TO_INBOX_SECONDS = Histogram(
    "notifications_event_to_inbox_seconds",
    "Seconds from an event's creation to the commit of each fan-out chunk of its inbox items.",
    ["event_type"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
)


def delivery_transition_observe(*, channel: str, status: str, count: int = 1) -> None:
    """Count delivery transitions; for code that writes DeliveryEvent rows in bulk
    (bulk_create sends no post_save)."""
    DELIVERY_TRANSITIONS.labels(channel=channel, status=status).inc(count)
    if status == "dead":
        DEAD_LETTERS.labels(channel=channel).inc(count)
