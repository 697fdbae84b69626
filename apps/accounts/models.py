from django.conf import settings
from django.db import models

from apps.common.fields import EncryptedTextField

from .validators import validate_slack_id


class Profile(models.Model):
    """What the service needs to reach a person, beside the auth user's email."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    phone = models.CharField(max_length=20, blank=True, help_text="E.164, e.g. +14155550100")
    timezone = models.CharField(max_length=64, default="UTC")
    locale = models.CharField(max_length=16, default="en")
    # Where the `slack` channel posts: the person's member id (a direct message from the
    # service's bot) or a channel id.
    # db_default too: set-based loads (benchmarks, bulk SQL) leave the column out.
    slack_id = models.CharField(
        max_length=32,
        blank=True,
        default="",
        db_default="",
        validators=[validate_slack_id],
        help_text="U0123ABCD or C0123ABCD",
    )

    def __str__(self):
        return f"profile of {self.user}"


class PushSubscription(models.Model):
    """One browser's Web Push subscription (PushSubscription.toJSON() in the browser)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_subscriptions")
    endpoint = models.URLField(max_length=2048)
    # Base64url keys from the browser: the P-256 public key and the 16-byte auth secret.
    # Encrypted at rest: with them anyone could write to this browser as the service.
    p256dh = EncryptedTextField()
    auth = EncryptedTextField()
    user_agent = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "endpoint"], name="uniq_push_subscription_user_endpoint")
        ]

    def __str__(self):
        return f"push subscription #{self.pk} of {self.user_id}"


class WebhookEndpoint(models.Model):
    """A URL the `webhook` channel POSTs signed deliveries to (Standard Webhooks).

    With a user it receives that person's webhook deliveries; without one it is a
    service endpoint (managed in the admin) that receives every webhook delivery of the
    event types it lists."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="webhook_endpoints",
    )
    url = models.URLField(max_length=2048)
    description = models.CharField(max_length=200, blank=True)
    event_types = models.ManyToManyField(
        "events.EventType",
        blank=True,
        related_name="webhook_endpoints",
        help_text="Service endpoints only: the event types it receives.",
    )
    is_active = models.BooleanField(default=True)
    # `whsec_` + base64, encrypted at rest (signing needs it back, so it is not hashed).
    secret = EncryptedTextField()
    # Still signs until previous_secret_expires_at, so receivers can switch without downtime.
    previous_secret = EncryptedTextField(blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["user", "is_active"], name="webhook_endpoint_user_active")]

    def __str__(self):
        return f"{self.url} ({'user ' + str(self.user_id) if self.user_id else 'service'})"


class DevicePlatform(models.TextChoices):
    ANDROID = "android", "Android"
    IOS = "ios", "iOS"
    WEB = "web", "Web (FCM JS SDK)"


class Device(models.Model):
    """One app install's Firebase Cloud Messaging registration token: the `mobile_push`
    channel sends to each of the person's devices. FCM reports a token it no longer
    knows (app uninstalled, token rotated) and the device is then removed."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="devices")
    # FCM registration tokens are about 160 characters; 4096 leaves room for any format change.
    token = models.CharField(max_length=4096)
    platform = models.CharField(max_length=10, choices=DevicePlatform.choices, default=DevicePlatform.ANDROID)
    name = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "token"], name="uniq_device_user_token")]

    def __str__(self):
        return f"{self.platform} device #{self.pk} of {self.user_id}"
