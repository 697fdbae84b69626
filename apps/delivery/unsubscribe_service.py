from apps.subscriptions.models import Subscription
from apps.subscriptions.services import subscriptions_set_enabled

from .unsubscribe import UnsubscribeTarget


def subscription_unsubscribe(*, target: UnsubscribeTarget) -> bool:
    """Turn off the person's subscriptions to that event type on that channel (for any
    subject). False when there is none, e.g. it was deleted since."""
    queryset = Subscription.objects.filter(
        user_id=target.user_id, event_type_id=target.event_type_id, channel=target.channel
    )
    if not queryset.exists():
        return False
    subscriptions_set_enabled(queryset=queryset.filter(enabled=True), enabled=False)
    return True
