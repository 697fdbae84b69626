"""The fan-out the architecture forbids, measured as a peer: one Celery task per
recipient, each creating one inbox row. Loaded by the benchmark's worker with
`--include bench.peers.per_recipient_tasks`; never part of the service."""

from celery import shared_task
from django.utils import timezone

QUEUE = "fanout"


@shared_task(name="bench.peers.fan_out_per_recipient")
def fan_out_per_recipient_task(event_id: int) -> int:
    """Walk the subscribers and enqueue one task each."""
    from apps.events.models import Event
    from apps.subscriptions.models import Subscription

    event = Event.objects.get(pk=event_id)
    user_ids = (
        Subscription.objects.filter(event_type_id=event.event_type_id, enabled=True)
        .order_by("user_id")
        .values_list("user_id", flat=True)
        .distinct()
    )
    count = 0
    for user_id in user_ids.iterator(chunk_size=5_000):
        inbox_item_create_task.apply_async((event_id, user_id), queue=QUEUE)
        count += 1
    return count


@shared_task(name="bench.peers.inbox_item_create")
def inbox_item_create_task(event_id: int, user_id: int) -> None:
    from apps.notifications.models import UserNotification

    UserNotification.objects.get_or_create(
        event_id=event_id, user_id=user_id, defaults={"title": "Bench", "created_at": timezone.now()}
    )
