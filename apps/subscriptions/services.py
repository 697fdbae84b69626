from django.db import IntegrityError, transaction

from apps.common.errors import Conflict
from apps.delivery.models import SuppressionReason
from apps.delivery.suppressions import suppression_record
from apps.events.event_types import event_type_update

from .access import subject_visible, subscription_access_check
from .defaults import defaults_lock
from .models import Preference, Subscription, SubscriptionOptOut, SubscriptionOrigin


def _opt_out_clear(*, user, event_type, channel, subject_type) -> None:
    """Subscribing anew takes back an earlier removal."""
    if not subject_type:
        SubscriptionOptOut.objects.filter(user=user, event_type=event_type, channel=channel).delete()


def subscription_create(
    *,
    user,
    event_type,
    channel,
    enabled=True,
    subject_type="",
    subject_id="",
    origin=SubscriptionOrigin.PERSON,
) -> Subscription:
    """A new subscription. A person's own must pass the access rule (403/404 and
    nothing written when not); a service's is trusted (see subscription_ensure)."""
    if origin == SubscriptionOrigin.PERSON:
        subscription_access_check(user=user, event_type=event_type, subject_type=subject_type, subject_id=subject_id)
    try:
        with transaction.atomic():
            subscription = Subscription.objects.create(
                user=user,
                event_type=event_type,
                channel=channel,
                enabled=enabled,
                subject_type=subject_type,
                subject_id=subject_id,
                origin=origin,
            )
            _opt_out_clear(user=user, event_type=event_type, channel=channel, subject_type=subject_type)
            return subscription
    except IntegrityError as exc:
        raise Conflict("You already have this subscription; change it with PATCH.") from exc


@transaction.atomic
def subscription_ensure(
    *, user, event_type, channel, enabled=True, subject_type="", subject_id=""
) -> tuple[Subscription, bool]:
    """A service subscribes a person (any event type, any subject): creates the row or
    takes over the existing one, which is the service's from then on."""
    subscription, created = Subscription.objects.update_or_create(
        user=user,
        event_type=event_type,
        channel=channel,
        subject_type=subject_type,
        subject_id=subject_id,
        defaults={"enabled": enabled, "is_default": False, "origin": SubscriptionOrigin.SERVICE},
    )
    _opt_out_clear(user=user, event_type=event_type, channel=channel, subject_type=subject_type)
    return subscription, created


def subscription_set_enabled(*, subscription: Subscription, enabled: bool) -> Subscription:
    """The person switches a subscription on or off. Switching one of their own on
    asks the access rule again: the event type or the subject may have been closed
    since (or the row predates the rule), and PATCH must not be a way around it."""
    if enabled and not subscription.enabled and subscription.origin == SubscriptionOrigin.PERSON:
        subscription_access_check(
            user=subscription.user,
            event_type=subscription.event_type,
            subject_type=subscription.subject_type,
            subject_id=subscription.subject_id,
        )
    subscription.enabled = enabled
    subscription.is_default = False  # the person's choice now: the defaults leave it alone
    subscription.save(update_fields=["enabled", "is_default", "updated_at"])
    return subscription


def subscriptions_set_enabled(*, queryset, enabled: bool) -> int:
    """Bulk enable/disable (admin action, one-click unsubscribe): staff and the
    person's own unsubscribe link, not the access rule's business."""
    return queryset.update(enabled=enabled, is_default=False)


@transaction.atomic
def subscriptions_delete(*, queryset) -> int:
    """Remove subscriptions, remembering each removal for any subject as an opt-out,
    so that no later defaults sync brings it back."""
    removed = list(queryset.filter(subject_type="").values_list("user_id", "event_type_id", "channel"))
    defaults_lock(event_type_ids=[e for _, e, _ in removed], shared=True)
    SubscriptionOptOut.objects.bulk_create(
        [SubscriptionOptOut(user_id=u, event_type_id=e, channel=c) for u, e, c in removed], ignore_conflicts=True
    )
    return queryset.delete()[1].get(Subscription._meta.label, 0)


# When the rule closes, it applies to the rows people made before: those that fail it
# are deleted (a disabled row still receives critical events). The person did not remove
# them, so no opt-out is recorded; services' and default rows stay.


def event_type_update_closing_access(*, event_type, data: dict):
    """Change an event type (apps.events.event_types.event_type_update); when it stops
    being self-service, the subscriptions people made to it go in the same transaction."""
    closing = event_type.self_service and data.get("self_service") is False
    with transaction.atomic():
        event_type = event_type_update(event_type=event_type, data=data)
        if closing:
            subscriptions_revoke_for_event_type(event_type=event_type)
    return event_type


def subscriptions_revoke_for_event_type(*, event_type) -> int:
    """The event type is no longer self-service: people's own subscriptions to it go."""
    if event_type.self_service:
        return 0
    return Subscription.objects.filter(origin=SubscriptionOrigin.PERSON, event_type=event_type).delete()[0]


def subscriptions_revoke_for_subject(*, subject_type: str, subject_id: str) -> int:
    """Who may see the subject changed (a scenario no longer shared): the people's own
    subscriptions to it that its visibility check now refuses go. One check per
    subscriber of that one subject."""
    rows = Subscription.objects.filter(
        origin=SubscriptionOrigin.PERSON, subject_type=subject_type, subject_id=subject_id
    ).select_related("user")
    failing = [
        row.pk for row in rows if not subject_visible(user=row.user, subject_type=subject_type, subject_id=subject_id)
    ]
    return Subscription.objects.filter(pk__in=failing).delete()[0]


def subscription_delete(*, subscription: Subscription) -> None:
    subscriptions_delete(queryset=Subscription.objects.filter(pk=subscription.pk))


def _subscription_choose(*, user, event_type, channel, enabled: bool, origin: str) -> None:
    """One preferences choice (for any subject), through the same rule as the
    subscriptions API: a person's new or re-enabled own row must pass it."""
    if origin == SubscriptionOrigin.SERVICE:
        subscription_ensure(user=user, event_type=event_type, channel=channel, enabled=enabled)
        return
    existing = (
        Subscription.objects.select_for_update()
        .filter(user=user, event_type=event_type, channel=channel, subject_type="", subject_id="")
        .first()
    )
    if existing is not None:
        subscription_set_enabled(subscription=existing, enabled=enabled)
    elif enabled or event_type.self_service:
        subscription_create(user=user, event_type=event_type, channel=channel, enabled=enabled)
    else:
        # Opting out of what only services subscribe one to: no row to write (a disabled
        # row still receives critical events), but the opt-out holds against defaults.
        defaults_lock(event_type_ids=[event_type.pk], shared=True)
        SubscriptionOptOut.objects.get_or_create(user=user, event_type=event_type, channel=channel)


_PREFERENCE_FIELDS = ("muted_channels", "mute_until", "quiet_start", "quiet_end", "digest", "digest_channels")


@transaction.atomic
def preference_update(*, user, data: dict, origin: str = SubscriptionOrigin.PERSON) -> Preference:
    """Change what `data` names, leave the rest. `data` may hold the Preference fields,
    `timezone` (the profile's) and `subscriptions`: [{event_type, channel, enabled}],
    each an explicit opt-in or opt-out for any subject. `origin` says who asks: the
    person (the access rule applies; one refusal writes nothing) or a service."""
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
        _subscription_choose(
            user=user,
            event_type=choice["event_type"],
            channel=choice["channel"],
            enabled=choice["enabled"],
            origin=origin,
        )
    return preference


def subscription_unsubscribe(*, target) -> bool:
    """Turn off the person's subscriptions to that event type on that channel (for any
    subject). False when there is none, e.g. it was deleted since. An address that is
    no user has no subscriptions: it goes on the suppression list instead."""
    if target.user_id is None:
        suppression_record(
            address=target.address,
            channel=target.channel,
            reason=SuppressionReason.UNSUBSCRIBED,
            detail={"via": "one-click", "event_type_id": target.event_type_id},
        )
        return True
    queryset = Subscription.objects.filter(
        user_id=target.user_id, event_type_id=target.event_type_id, channel=target.channel
    )
    if not queryset.exists():
        return False
    subscriptions_set_enabled(queryset=queryset.filter(enabled=True), enabled=False)
    return True
