import uuid
from datetime import timedelta

import pytest
import redis
from celery import shared_task
from django.conf import settings
from django.utils import timezone
from kombu import Queue
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from apps.common.channels import Channel
from apps.delivery.channels.base import Message, Outcome, SendResult, no_report
from apps.delivery.metrics import observe_provider_call
from apps.delivery.models import Delivery, DeliveryStatus
from apps.delivery.services import delivery_transition
from apps.events.models import Event
from apps.notifications.models import UserNotification
from apps.ops.broker import redis_queue_depths

pytestmark = pytest.mark.django_db


def value(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0


def scrape(client):
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def pending_delivery(make_user, event_types, channel=Channel.EMAIL, age_seconds=0):
    event = Event.objects.create(event_type=event_types["scenario.created"], data={})
    item = UserNotification.objects.create(event=event, user=make_user(), title="t", created_at=timezone.now())
    at = timezone.now() - timedelta(seconds=age_seconds)
    return Delivery.objects.create(notification=item, channel=channel, created_at=at, updated_at=at)


def test_provider_call_time_is_observed_with_its_outcome():
    labels = {"channel": "sms", "provider": "twilio"}
    ok_before = value("notifications_provider_call_seconds_count", **labels, outcome="ok")
    error_before = value("notifications_provider_call_seconds_count", **labels, outcome="error")
    with observe_provider_call("sms", "twilio"):
        pass
    with pytest.raises(ConnectionError), observe_provider_call("sms", "twilio"):
        raise ConnectionError("provider down")
    assert value("notifications_provider_call_seconds_count", **labels, outcome="ok") == ok_before + 1
    assert value("notifications_provider_call_seconds_count", **labels, outcome="error") == error_before + 1


def test_queue_depth_adds_up_the_priority_lists():
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete("ops-depth", "ops-depth\x06\x166", "ops-empty")
    client.rpush("ops-depth", "a", "b")
    client.rpush("ops-depth\x06\x166", "c")
    assert redis_queue_depths(client, ["ops-depth", "ops-empty"]) == {"ops-depth": 3, "ops-empty": 0}
    client.delete("ops-depth", "ops-depth\x06\x166")


def test_scrape_has_http_metrics_queue_depth_and_pending_age(client, settings, make_user, event_types):
    settings.CELERY_TASK_QUEUES = [*settings.CELERY_TASK_QUEUES, Queue("ops-probe")]
    broker = redis.Redis.from_url(settings.REDIS_URL)
    broker.delete("ops-probe")
    broker.rpush("ops-probe", "m1", "m2")
    pending_delivery(make_user, event_types, Channel.SMS, age_seconds=120)
    pending_delivery(make_user, event_types, Channel.SMS, age_seconds=5)
    client.get("/health/")

    found = scrape(client)
    broker.delete("ops-probe")
    assert found[("celery_queue_length", (("queue", "ops-probe"),))] == 2
    assert ("celery_queue_length", (("queue", "fanout"),)) in found
    assert 120 <= found[("notifications_oldest_pending_delivery_seconds", (("channel", "sms"),))] < 180
    assert found[("notifications_oldest_pending_delivery_seconds", (("channel", "email"),))] == 0
    assert found[("notifications_scrape_error", (("source", "broker"),))] == 0
    # django-prometheus's request metrics are part of the same scrape.
    assert any(name == "django_http_requests_total_by_view_transport_method_total" for name, _ in found)


def test_scrape_answers_when_the_broker_is_down(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    found = scrape(client)
    assert found[("notifications_scrape_error", (("source", "broker"),))] == 1
    assert not any(name == "celery_queue_length" for name, _ in found)


@pytest.mark.django_db(transaction=True)
def test_delivery_transitions_and_dead_letters_are_counted_after_commit(make_user, event_types):
    delivery = pending_delivery(make_user, event_types, Channel.WEBHOOK)
    sent_before = value("notifications_delivery_transitions_total", channel="webhook", status="sending")
    dead_before = value("notifications_dead_letters_total", channel="webhook")

    assert delivery_transition(delivery_id=delivery.pk, to_status=DeliveryStatus.SENDING)
    assert delivery_transition(delivery_id=delivery.pk, to_status=DeliveryStatus.DEAD, from_statuses=["sending"])
    # A transition that does not happen counts nothing.
    assert not delivery_transition(delivery_id=delivery.pk, to_status=DeliveryStatus.SENT, from_statuses=["sending"])

    assert value("notifications_delivery_transitions_total", channel="webhook", status="sending") == sent_before + 1
    assert value("notifications_dead_letters_total", channel="webhook") == dead_before + 1


@pytest.mark.django_db(transaction=True)
def test_deliveries_born_muted_are_counted_as_cancelled(make_user, event_types, subscribe):
    from apps.notifications.fanout import event_fan_out
    from apps.notifications.publish import event_publish
    from apps.subscriptions.models import Preference

    created = event_types["scenario.created"]
    muted, heard = make_user(), make_user()
    for person in (muted, heard):
        subscribe(person, created, Channel.EMAIL)
        subscribe(person, created, Channel.SMS)
    Preference.objects.create(user=muted, muted_channels=["email"])
    before = {
        c: value("notifications_delivery_transitions_total", channel=c, status="cancelled") for c in ("email", "sms")
    }

    event, _ = event_publish(event_type=created, data={})
    event_fan_out(event_id=event.pk)

    assert Delivery.objects.filter(status=DeliveryStatus.CANCELLED).count() == 1
    after = {
        c: value("notifications_delivery_transitions_total", channel=c, status="cancelled") for c in ("email", "sms")
    }
    assert after == {"email": before["email"] + 1, "sms": before["sms"]}


@shared_task(bind=True, name="tests.ops.flaky_task", max_retries=2, default_retry_delay=0)
def flaky_task(self):
    raise self.retry(exc=ConnectionError("transient"))


def test_task_retries_are_counted():
    before = value("notifications_task_retries_total", task="tests.ops.flaky_task")
    result = flaky_task.apply()  # eager: the task, its two retries, then the error
    assert isinstance(result.result, ConnectionError)
    assert value("notifications_task_retries_total", task="tests.ops.flaky_task") == before + 2


class _StubProvider:
    """A provider whose every other batch raises, so both outcomes are observed."""

    batch_size = 1

    def __init__(self):
        self.name, self.calls = f"stub-{uuid.uuid4().hex[:6]}", 0

    def send_batch(self, messages, report=no_report):
        self.calls += 1
        if self.calls % 2 == 0:
            raise ConnectionError("provider down")
        return [SendResult(m.delivery_id, Outcome.SENT, provider_message_id="x") for m in messages]

    def classify(self, exc):
        return Outcome.TRANSIENT


def test_every_provider_call_is_timed_by_dispatch(make_user, event_types, monkeypatch):
    from apps.delivery import dispatch

    provider = _StubProvider()

    class StubChannel:
        key = Channel.LOG

        def render(self, delivery):
            return Message(delivery_id=delivery.pk, user_id=0, to="x", subject="", text="")

        def providers(self):
            return [provider]

    monkeypatch.setattr(dispatch, "get_channel", lambda key: StubChannel())
    ids = [pending_delivery(make_user, event_types, Channel.LOG).pk for _ in range(2)]
    dispatch.deliveries_dispatch(channel_key=Channel.LOG, delivery_ids=ids)

    labels = {"channel": "log", "provider": provider.name}
    assert value("notifications_provider_call_seconds_count", **labels, outcome="ok") == 1
    assert value("notifications_provider_call_seconds_count", **labels, outcome="error") == 1
