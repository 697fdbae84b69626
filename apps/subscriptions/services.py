from django.db import IntegrityError, transaction

from apps.common.errors import Conflict

from .models import Subscription


def subscription_create(*, user, event_type, channel, enabled=True, subject_type="", subject_id="") -> Subscription:
    try:
        with transaction.atomic():
            return Subscription.objects.create(
                user=user,
                event_type=event_type,
                channel=channel,
                enabled=enabled,
                subject_type=subject_type,
                subject_id=subject_id,
            )
    except IntegrityError as exc:
        raise Conflict("You already have this subscription; change it with PATCH.") from exc


def subscription_set_enabled(*, subscription: Subscription, enabled: bool) -> Subscription:
    subscription.enabled = enabled
    subscription.save(update_fields=["enabled", "updated_at"])
    return subscription


def subscriptions_set_enabled(*, queryset, enabled: bool) -> int:
    """Bulk enable/disable (admin action)."""
    return queryset.update(enabled=enabled)


def subscription_delete(*, subscription: Subscription) -> None:
    subscription.delete()
