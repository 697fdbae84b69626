"""Shared pieces of the provider integration tests: a worker of their own on the
fan-out and provider channel queues, pointed at local sinks, and a clean slate of
circuit breakers and rate limits in the test Redis."""

import contextlib

import pytest

from apps.common.priorities import priority_queues
from apps.common.redis_clients import redis_client
from apps.delivery.models import Delivery, DeliveryStatus

from ..worker import Worker, wait_until

# Every priority's queue, highest first, as the Procfile's worker reads them.
PROVIDER_WORKER_QUEUES = ",".join(priority_queues(["fanout", "email", "sms"]))
TWILIO_SID = "AC" + "0" * 32
TWILIO_TOKEN = "test-twilio-auth-token"


def reset_resilience_state() -> None:
    client = redis_client("circuits")
    keys = list(client.scan_iter("resilience:*"))
    if keys:
        client.delete(*keys)


def smtp_env(sink) -> dict:
    """A provider worker's environment for sending email over SMTP into `sink`."""
    return {"EMAIL_URL": sink.url, "EMAIL_PROVIDER": "smtp", "SENDGRID_API_KEY": ""}


@contextlib.contextmanager
def provider_worker(name: str, env: dict):
    reset_resilience_state()
    worker = Worker(name, queues=PROVIDER_WORKER_QUEUES, concurrency=2, env=env).start(exclusive=True)
    try:
        yield worker
    finally:
        worker.stop()


def smtp_worker_fixture(name: str):
    """A module's worker on the fan-out and provider queues, sending into its SMTP sink."""

    @pytest.fixture(scope="module")
    def smtp_worker(smtp_sink, django_db_setup, django_db_blocker):
        with django_db_blocker.unblock(), provider_worker(name, smtp_env(smtp_sink)) as worker:
            yield worker

    return smtp_worker


def wait_for_status(delivery_id: int, statuses, timeout: float = 30) -> Delivery:
    statuses = {statuses} if isinstance(statuses, str) else set(statuses)
    return wait_until(
        lambda: (d := Delivery.objects.get(pk=delivery_id)).status in statuses and d,
        timeout=timeout,
        message=f"delivery {delivery_id} in {statuses}",
    )


FINAL = [DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.DEAD, DeliveryStatus.DELIVERED]
