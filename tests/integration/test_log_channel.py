"""The dispatch path end to end with the `log` channel: fan-out → delivery batch → sent."""

import re

import pytest

from apps.common.channels import Channel
from apps.delivery.models import Delivery, DeliveryStatus
from apps.notifications.publish import event_publish

from ..worker import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_log_deliveries_are_sent_once_with_history(celery_worker, event_types, make_user, subscribe):
    users = [make_user() for _ in range(3)]
    for user in users:
        subscribe(user, event_types["scenario.executed"], Channel.LOG)
    event, _ = event_publish(event_type="scenario.executed", data={"name": "Nightly"})

    deliveries = Delivery.objects.filter(notification__event=event)
    wait_until(lambda: deliveries.filter(status=DeliveryStatus.SENT).count() == 3, message="3 sent")
    for delivery in deliveries:
        assert delivery.attempts == 1 and delivery.sent_at is not None
        assert [e.status for e in delivery.events.all()] == ["sent"]

    # Dispatching the same ids again sends nothing: they are no longer pending.
    from apps.delivery.tasks import dispatch_batch_task

    result = dispatch_batch_task.apply(args=("log", [d.pk for d in deliveries])).get()
    assert not any(result.values())  # nothing sent, retried, failed or deferred
    assert sum(d.events.count() for d in deliveries) == 3
    log = celery_worker.log_path.read_text()
    # The JSON line sits inside the worker's own JSON log record, its quotes escaped.
    assert all(re.search(rf'delivery_id\\?": {d.pk}\b', log) for d in deliveries)
