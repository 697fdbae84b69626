from django.utils import timezone

from apps.delivery.models import Delivery, DeliveryStatus
from apps.events.models import Event
from apps.notifications.models import UserNotification


def make_delivery(user, event_type, channel, status=DeliveryStatus.SENT, provider_message_id="", **fields):
    """A delivery as dispatch leaves it, without going through a worker."""
    now = timezone.now()
    event = Event.objects.create(event_type=event_type, data={"name": "x"})
    notification = UserNotification.objects.create(event=event, user=user, title="t", created_at=now)
    return Delivery.objects.create(
        notification=notification,
        channel=channel,
        status=status,
        attempts=1,
        provider_message_id=provider_message_id,
        created_at=now,
        updated_at=now,
        **fields,
    )
