from django.db import IntegrityError, transaction

from apps.common.errors import Conflict

from .models import Preference, Subscription


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
    subscription.is_default = False  # the person's choice now: the defaults leave it alone
    subscription.save(update_fields=["enabled", "is_default", "updated_at"])
    return subscription


def subscriptions_set_enabled(*, queryset, enabled: bool) -> int:
    """Bulk enable/disable (admin action)."""
    return queryset.update(enabled=enabled, is_default=False)


def subscription_delete(*, subscription: Subscription) -> None:
    subscription.delete()


_PREFERENCE_FIELDS = ("muted_channels", "mute_until", "quiet_start", "quiet_end", "digest", "digest_channels")


@transaction.atomic
def preference_update(*, user, data: dict) -> Preference:
    """Change what `data` names, leave the rest. `data` may hold the Preference fields,
    `timezone` (the profile's) and `subscriptions`: [{event_type, channel, enabled}],
    each an explicit opt-in or opt-out for any subject."""
    from apps.accounts.services import user_update

    preference, _ = Preference.objects.select_for_update().get_or_create(user=user)
    fields = [f for f in _PREFERENCE_FIELDS if f in data]
    for field in fields:
        setattr(preference, field, data[field])
    if fields:
        preference.save(update_fields=[*fields, "updated_at"])
    if "timezone" in data:
        user_update(user=user, data={"timezone": data["timezone"]})
    for choice in data.get("subscriptions", []):
        Subscription.objects.update_or_create(
            user=user,
            event_type=choice["event_type"],
            channel=choice["channel"],
            subject_type="",
            subject_id="",
            defaults={"enabled": choice["enabled"], "is_default": False},
        )
    return preference


def subscription_unsubscribe(*, target) -> bool:
    """Turn off the person's subscriptions to that event type on that channel (for any
    subject). False when there is none, e.g. it was deleted since."""
    queryset = Subscription.objects.filter(
        user_id=target.user_id, event_type_id=target.event_type_id, channel=target.channel
    )
    if not queryset.exists():
        return False
    subscriptions_set_enabled(queryset=queryset.filter(enabled=True), enabled=False)
    return True
