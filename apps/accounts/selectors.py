from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone

from .models import Device, PushSubscription, WebhookEndpoint

User = get_user_model()


def user_for_token(*, key: str):
    """The user a person's API token belongs to, or None when there is no such token or
    it is older than PERSON_TOKEN_TTL_SECONDS.

    Every request of a person runs this. DRF's own lookup (a compiled ORM query, a
    Token and a User instance) was a fifth of an inbox page's CPU; one raw statement
    and one User instance cost about half as much. The expiry is part of that statement.
    """
    from rest_framework.authtoken.models import Token

    user, token = User._meta, Token._meta
    statement = (
        f"SELECT u.* FROM {user.db_table} u JOIN {token.db_table} t "  # noqa: S608 - table names from models
        f"ON t.{token.get_field('user').column} = u.{user.pk.column} "
        f"WHERE t.{token.pk.column} = %s AND t.{token.get_field('created').column} > %s"
    )
    oldest = timezone.now() - timedelta(seconds=settings.PERSON_TOKEN_TTL_SECONDS)
    return next(iter(User.objects.raw(statement, [key, oldest])), None)


def user_list():
    return User.objects.select_related("profile").order_by("id")


def push_subscription_list(*, user):
    return PushSubscription.objects.filter(user=user).order_by("id")


def push_subscription_get(*, user, subscription_id: int) -> PushSubscription:
    """The person's own subscription; anyone else's is DoesNotExist (a 404)."""
    return push_subscription_list(user=user).get(pk=subscription_id)


def device_list(*, user):
    return Device.objects.filter(user=user).order_by("id")


def device_get(*, user, device_id: int) -> Device:
    """The person's own device; anyone else's is DoesNotExist (a 404)."""
    return device_list(user=user).get(pk=device_id)


def webhook_endpoint_list(*, user):
    return WebhookEndpoint.objects.filter(user=user).order_by("id")


def webhook_endpoint_get(*, user, endpoint_id: int) -> WebhookEndpoint:
    return webhook_endpoint_list(user=user).get(pk=endpoint_id)


def webhook_endpoints_for_delivery(*, user_id: int, event_type_id: int) -> list[WebhookEndpoint]:
    """Where a webhook delivery goes: the person's active endpoints, and every active
    service endpoint that lists the event type."""
    return list(
        WebhookEndpoint.objects.filter(is_active=True)
        .filter(Q(user_id=user_id) | Q(user__isnull=True, event_types=event_type_id))
        .distinct()
        .order_by("id")
    )


def webhook_endpoint_secrets(*, endpoint: WebhookEndpoint, now=None) -> list[str]:
    """The secrets that sign now: the current one, and the previous one while its grace
    period lasts."""
    now = now or timezone.now()
    secrets = [endpoint.secret]
    if endpoint.previous_secret and endpoint.previous_secret_expires_at and endpoint.previous_secret_expires_at > now:
        secrets.append(endpoint.previous_secret)
    return secrets
