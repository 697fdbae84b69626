"""A worker killed mid-send leaves its delivery in `sending`; the sweeper hands it to
another worker, which sends it. On RabbitMQ the dead worker's message comes back at
once instead, flagged redelivered, and the worker that takes it recovers the delivery
itself: sent once either way."""

import pytest

from apps.common.channels import Channel
from apps.delivery.models import Delivery, DeliveryStatus
from apps.delivery.tasks import sweep_stuck_deliveries_task
from apps.notifications.publish import event_publish

from ..broker import on_rabbitmq
from ..sinks import SmtpSink
from ..worker import Worker, wait_until
from .providers import PROVIDER_WORKER_QUEUES, reset_resilience_state, wait_for_status

pytestmark = [pytest.mark.integration, pytest.mark.both_brokers, pytest.mark.django_db(transaction=True)]


def test_delivery_of_a_killed_worker_is_recovered_and_sent_once(event_types, make_user, subscribe, settings):
    reset_resilience_state()
    sink = SmtpSink().start()
    env = {"EMAIL_URL": sink.url, "EMAIL_PROVIDER": "smtp", "SENDGRID_API_KEY": ""}
    try:
        user = make_user("stall-1")
        subscribe(user, event_types["scenario.created"], channel=Channel.EMAIL)
        first = Worker("doomed", queues=PROVIDER_WORKER_QUEUES, env=env).start(exclusive=True)
        event, _ = event_publish(event_type="scenario.created", data={"name": "Stuck"})
        delivery = wait_until(lambda: Delivery.objects.filter(notification__event=event).first(), message="delivery")
        wait_until(lambda: "stall-1@example.com" in sink.stalled, message="the send to hang")
        first.kill()
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.SENDING and delivery.attempts == 1

        second = Worker("rescuer", queues=PROVIDER_WORKER_QUEUES, env=env).start()
        try:
            if not on_rabbitmq():
                # Redis holds the dead worker's message for its visibility timeout: the
                # delivery stays claimed until a lease shorter than its age lets the
                # sweeper take it back.
                settings.DELIVERY_STUCK_SENDING_SECONDS = 3600
                assert sweep_stuck_deliveries_task()["recovered"] == 0
                settings.DELIVERY_STUCK_SENDING_SECONDS = 0
                assert sweep_stuck_deliveries_task()["recovered"] == 1
            delivery = wait_for_status(delivery.pk, DeliveryStatus.SENT)
        finally:
            second.stop()
        assert [e.status for e in delivery.events.all()] == ["pending", "sent"]
        assert delivery.events.first().detail["error"] == "worker lost while sending"
        assert delivery.attempts == 2
        assert len(sink.received("stall-1@example.com")) == 1
    finally:
        sink.stop()
