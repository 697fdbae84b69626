import base64
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .models import Device, Profile, PushSubscription, WebhookEndpoint

User = get_user_model()


@transaction.atomic
def user_create(
    *,
    username: str,
    email: str,
    password: str | None = None,
    phone: str = "",
    timezone: str = "UTC",
    locale: str = "en",
    slack_id: str = "",
):
    user = User(username=username, email=email)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    Profile.objects.update_or_create(
        user=user, defaults={"phone": phone, "timezone": timezone, "locale": locale, "slack_id": slack_id}
    )
    return user


def profile_ensure(*, user) -> Profile:
    profile, _ = Profile.objects.get_or_create(user=user)
    return profile


_USER_FIELDS = {"email", "first_name", "last_name"}
_PROFILE_FIELDS = {"phone", "timezone", "locale", "slack_id"}


@transaction.atomic
def user_password_set(*, user, password: str) -> None:
    # save() runs the password_changed hooks, which revoke the person's tokens.
    user.set_password(password)
    user.save(update_fields=["password"])


def user_update(*, user, data: dict):
    if "password" in data:
        user_password_set(user=user, password=data["password"])
    user_fields = [f for f in data if f in _USER_FIELDS]
    for field in user_fields:
        setattr(user, field, data[field])
    if user_fields:
        user.save(update_fields=user_fields)
    profile_fields = [f for f in data if f in _PROFILE_FIELDS]
    if profile_fields:
        profile = profile_ensure(user=user)
        for field in profile_fields:
            setattr(profile, field, data[field])
        profile.save(update_fields=profile_fields)
    return user


# Bounds on what one person can register: each is a request per delivery.
MAX_PUSH_SUBSCRIPTIONS_PER_USER = 20
MAX_WEBHOOK_ENDPOINTS_PER_USER = 10
MAX_DEVICES_PER_USER = 20


def push_subscription_register(
    *, user, endpoint: str, p256dh: str, auth: str, user_agent: str = ""
) -> tuple[PushSubscription, bool]:
    """Save a browser's subscription; registering the same endpoint again refreshes its
    keys. Returns (subscription, created)."""
    with transaction.atomic():
        existing = PushSubscription.objects.select_for_update().filter(user=user, endpoint=endpoint).first()
        if existing:
            existing.p256dh, existing.auth, existing.user_agent = p256dh, auth, user_agent
            existing.save(update_fields=["p256dh", "auth", "user_agent", "updated_at"])
            return existing, False
        if PushSubscription.objects.filter(user=user).count() >= MAX_PUSH_SUBSCRIPTIONS_PER_USER:
            raise ValidationError(
                f"At most {MAX_PUSH_SUBSCRIPTIONS_PER_USER} push subscriptions per person; remove an old one first."
            )
        subscription = PushSubscription.objects.create(
            user=user, endpoint=endpoint, p256dh=p256dh, auth=auth, user_agent=user_agent
        )
    return subscription, True


def push_subscription_delete(*, subscription: PushSubscription) -> None:
    subscription.delete()


def push_subscriptions_expire(*, subscription_ids: list[int]) -> int:
    """Drop subscriptions the push service called gone (404/410)."""
    deleted, _ = PushSubscription.objects.filter(pk__in=subscription_ids).delete()
    return deleted


def device_register(*, user, token: str, platform: str, name: str = "") -> tuple[Device, bool]:
    """Save an app install's FCM token; registering the same token again updates its
    platform and name. Returns (device, created)."""
    with transaction.atomic():
        existing = Device.objects.select_for_update().filter(user=user, token=token).first()
        if existing:
            existing.platform, existing.name = platform, name
            existing.save(update_fields=["platform", "name", "updated_at"])
            return existing, False
        if Device.objects.filter(user=user).count() >= MAX_DEVICES_PER_USER:
            raise ValidationError(f"At most {MAX_DEVICES_PER_USER} devices per person; remove an old one first.")
        device = Device.objects.create(user=user, token=token, platform=platform, name=name)
    return device, True


def device_delete(*, device: Device) -> None:
    device.delete()


def devices_expire(*, device_ids: list[int]) -> int:
    """Drop devices whose token FCM no longer knows (app removed, token rotated)."""
    deleted, _ = Device.objects.filter(pk__in=device_ids).delete()
    return deleted


def webhook_secret_generate() -> str:
    """A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def webhook_endpoint_create(
    *, user=None, url: str, description: str = "", event_types=(), is_active: bool = True
) -> WebhookEndpoint:
    """A person's endpoint (user) or a service endpoint (no user, with event types).
    The new secret is on the returned endpoint; show it to its owner once."""
    with transaction.atomic():
        if user is not None:
            # Locks the person's row so two concurrent creates cannot both pass the limit.
            get_user_model().objects.select_for_update().filter(pk=user.pk).first()
            if WebhookEndpoint.objects.filter(user=user).count() >= MAX_WEBHOOK_ENDPOINTS_PER_USER:
                raise ValidationError(f"At most {MAX_WEBHOOK_ENDPOINTS_PER_USER} webhook endpoints per person.")
        endpoint = WebhookEndpoint.objects.create(
            user=user, url=url, description=description, is_active=is_active, secret=webhook_secret_generate()
        )
        if event_types:
            endpoint.event_types.set(event_types)
    return endpoint


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    endpoint.delete()


def webhook_endpoint_rotate_secret(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """A new secret; the current one keeps signing (beside the new) for the grace period
    so receivers can switch without a gap. A second rotation within the grace period
    retires the oldest secret at once."""
    now = timezone.now()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = now + timedelta(seconds=settings.WEBHOOK_SECRET_ROTATION_GRACE_SECONDS)
        endpoint.secret = webhook_secret_generate()
        endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
    return endpoint
