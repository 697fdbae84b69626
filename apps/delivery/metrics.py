"""Dispatch's own metric: the time of each provider call. It lives with the code that
observes it (the other metrics are apps.ops.metrics, which observes the pipeline from
above); Prometheus's registry is process-wide, so /metrics exports it all the same."""

import time
from contextlib import contextmanager

from prometheus_client import Histogram

PROVIDER_CALL_SECONDS = Histogram(
    "notifications_provider_call_seconds",
    "Seconds spent in one call to a delivery provider.",
    ["channel", "provider", "outcome"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


@contextmanager
def observe_provider_call(channel: str, provider: str):
    """Time one provider call:

        with observe_provider_call("email", "smtp"):
            connection.send_messages(messages)

    The outcome label is `ok`, or `error` when the block raises (the error propagates).
    """
    started = time.perf_counter()
    outcome = "error"
    try:
        yield
        outcome = "ok"
    finally:
        PROVIDER_CALL_SECONDS.labels(channel=channel, provider=provider, outcome=outcome).observe(
            time.perf_counter() - started
        )
