"""The `chat` channel: operators' destinations through Apprise, tested with an ntfy
destination against a local server speaking ntfy's publish API and a real worker.
A published event reaches each active destination of its type once, whoever else is
subscribed; 5xx is retried, a 4xx fails at once; the Apprise URL is encrypted at rest."""

import pytest
from django.db import connection

from apps.common.channels import Channel
from apps.delivery.models import ChatDestination, Delivery, DeliveryStatus
from apps.notifications.publish import event_publish

from ..sinks import free_port
from ..worker import wait_until
from .chat_providers import NtfyServer, channel_worker
from .providers import FINAL, wait_for_status

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def ntfy():
    server = NtfyServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def chat_worker(ntfy, django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), channel_worker("chat", {}) as worker:
        yield worker


def destination(ntfy, name, topic, event_types, is_active=True) -> ChatDestination:
    made = ChatDestination.objects.create(
        name=name, apprise_url=f"ntfy://127.0.0.1:{ntfy.port}/{topic}", is_active=is_active
    )
    made.event_types.set(event_types)
    return made


def chat_deliveries(event):
    return Delivery.objects.filter(notification__event=event, channel=Channel.CHAT)


def publish(key, name):
    event, _ = event_publish(event_type=key, data={"name": name, "url": "https://app.example.com/runs/1"})
    wait_until(lambda: chat_deliveries(event).exists(), message="the chat delivery")
    return event


def test_an_event_reaches_each_destination_of_its_type_once(chat_worker, ntfy, event_types):
    ops = destination(ntfy, "ops", "ops-alerts", [event_types["scenario.created"]])
    destination(ntfy, "other type", "other-topic", [event_types["scenario.deleted"]])
    destination(ntfy, "switched off", "off-topic", [event_types["scenario.created"]], is_active=False)

    event = publish("scenario.created", "Nightly")
    [delivery] = chat_deliveries(event)
    delivery = wait_for_status(delivery.pk, FINAL)

    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 1
    assert delivery.notification.user_id is None and delivery.notification.address == f"chat:{ops.pk}"
    assert not delivery.notification.in_inbox
    [post] = ntfy.posts_to("ops-alerts")
    assert post.body["title"] == 'Scenario "Nightly" created'
    assert "https://app.example.com/runs/1" in post.body["message"]
    assert ntfy.posts_to("other-topic") == [] and ntfy.posts_to("off-topic") == []
    assert delivery.events.get().detail["service"] == "ntfy"


def test_5xx_is_retried_until_the_destination_takes_it(chat_worker, ntfy, event_types):
    destination(ntfy, "flaky", "flaky-topic", [event_types["scenario.executed"]])
    ntfy.plan("flaky-topic", [500, 503])

    [delivery] = chat_deliveries(publish("scenario.executed", "Flaky"))
    delivery = wait_for_status(delivery.pk, FINAL)

    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 3
    assert len(ntfy.posts_to("flaky-topic")) == 3
    history = [(e.status, e.detail.get("status_code")) for e in delivery.events.order_by("id")]
    assert history == [("pending", 500), ("pending", 503), ("sent", None)]


def test_a_4xx_fails_at_once(chat_worker, ntfy, event_types):
    destination(ntfy, "refusing", "refusing-topic", [event_types["scenario.deleted"]])
    ntfy.plan("refusing-topic", [403])

    [delivery] = chat_deliveries(publish("scenario.deleted", "Refused"))
    delivery = wait_for_status(delivery.pk, FINAL)

    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 1
    assert len(ntfy.posts_to("refusing-topic")) == 1
    assert delivery.events.get().detail["status_code"] == 403


def test_the_apprise_url_is_encrypted_at_rest(db, event_types):
    url = "tgram://123456789:AAE-secret-bot-token/-100200300"
    made = ChatDestination.objects.create(name="telegram", apprise_url=url)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT apprise_url FROM {ChatDestination._meta.db_table} WHERE id = %s", [made.pk])
        [stored] = cursor.fetchone()
    assert "secret-bot-token" not in stored
    assert ChatDestination.objects.get(pk=made.pk).apprise_url == url


def test_a_destination_that_does_not_answer_is_retried_until_dead(chat_worker, event_types):
    dark = ChatDestination.objects.create(name="dark", apprise_url=f"ntfy://127.0.0.1:{free_port()}/nobody-listens")
    dark.event_types.set([event_types["scenario.executed"]])

    [delivery] = chat_deliveries(publish("scenario.executed", "Dark"))
    delivery = wait_for_status(delivery.pk, FINAL)

    # No HTTP status at all (connection refused) is worth a retry, up to the attempts.
    assert delivery.status == DeliveryStatus.DEAD and delivery.attempts == 3
    assert all(e.detail.get("status_code") is None for e in delivery.events.all())
    assert "no answer" in delivery.last_error
