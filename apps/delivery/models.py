from django.core.exceptions import ValidationError
from django.db import models

from apps.common.channels import Channel
from apps.common.fields import EncryptedTextField

from .chat_urls import apprise_url_validate


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"
    DEAD = "dead", "Dead (retries exhausted)"
    CANCELLED = "cancelled", "Cancelled"


class Delivery(models.Model):
    """One notification on one external channel. The inbox item itself is the in-app
    delivery, so no row is written for `in_app`."""

    # Covered by the unique (notification, channel) constraint: no separate index.
    notification = models.ForeignKey(
        "notifications.UserNotification", on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    channel = models.CharField(max_length=16, choices=Channel.choices)
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    provider_message_id = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    # Held until then (quiet hours, scheduled sends, digests); beat releases due ones.
    not_before = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        # Checked by the admin's requeue and cancel actions and the delivery dashboard;
        # the "operator" group has them, "support" only views (apps/dashboard/groups.py).
        permissions = [
            ("requeue_delivery", "Can requeue dead or failed deliveries"),
            ("cancel_delivery", "Can cancel deliveries not yet sent"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["notification", "channel"], name="uniq_delivery_notification_channel")
        ]
        indexes = [
            models.Index(fields=["status", "channel", "updated_at"], name="delivery_status"),
            models.Index(
                fields=["not_before"],
                name="delivery_held",
                condition=models.Q(status="pending", not_before__isnull=False),
            ),
            models.Index(
                fields=["provider_message_id"], name="delivery_provider_id", condition=~models.Q(provider_message_id="")
            ),
            # The dashboard's windows (last hour, last day) by channel and status, read
            # from the index alone: the table's other columns are never visited. (Key
            # columns rather than INCLUDE, which SQLite lacks: same scan on PostgreSQL.)
            models.Index(fields=["created_at", "channel", "status"], name="delivery_created"),
            # Sent per minute: only rows that were sent are in it.
            models.Index(fields=["sent_at"], name="delivery_sent_at", condition=models.Q(sent_at__isnull=False)),
            # Failed per minute and the dead letters, newest first: the (status, channel,
            # updated_at) index cannot give one order across channels without a sort.
            models.Index(
                fields=["-updated_at", "-id", "status"],
                name="delivery_failed_recent",
                condition=models.Q(status__in=["failed", "dead"]),
            ),
        ]

    def __str__(self):
        return f"{self.channel} delivery #{self.pk} ({self.status})"


class DeliveryEvent(models.Model):
    """Append-only history of a delivery: every status change and provider answer."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(max_length=20)
    detail = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.delivery_id} → {self.status}"


class TrackedEmail(models.Model):
    """What open and click tracking knows of one email: the links it rewrote (a click
    token names the delivery and an index into `links`, so a redirect can only ever go
    to a URL that was in this email), the stored template it came from, and how often
    it was opened and clicked. The first open, and the first click on each link, are
    also the delivery's history (`opened`, `clicked`); repeats only count here."""

    delivery = models.OneToOneField(Delivery, primary_key=True, on_delete=models.CASCADE, related_name="tracking")
    # Null for an email from the file templates (or once its template is deleted).
    template = models.ForeignKey(
        "templating.NotificationTemplate", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    links = models.JSONField(default=list)
    # Indexes into `links` clicked at least once.
    clicked_links = models.JSONField(default=list)
    opens = models.PositiveIntegerField(default=0)
    clicks = models.PositiveIntegerField(default=0)
    opened_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"tracking of delivery {self.delivery_id}"


class EarlyProviderEvent(models.Model):
    """A provider callback that came before its send was recorded: the provider can
    answer (Twilio's status callbacks, SendGrid's events) before the worker that sent
    commits. Held here and applied once the send is recorded; purged by retention
    after EARLY_CALLBACK_KEEP_HOURS if it never is."""

    # One of the two names the delivery: ours when the provider echoes it back
    # (SendGrid's custom argument), else the provider's message id (Twilio's sid).
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    provider_message_id = models.CharField(max_length=200, blank=True, default="", db_index=True)
    status = models.CharField(max_length=20)
    detail = models.JSONField(default=dict)
    # The lookup that keeps a repeated callback from being recorded twice.
    dedupe = models.JSONField(default=dict)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self):
        return f"{self.delivery_id or self.provider_message_id} → {self.status} (early)"


class SuppressionReason(models.TextChoices):
    UNSUBSCRIBED = "unsubscribed", "Unsubscribed (one-click, or the provider's unsubscribe)"
    BOUNCED = "bounced", "Bounced hard"
    DROPPED = "dropped", "Dropped by the provider"
    SPAM_REPORT = "spam_report", "Reported as spam"
    OPTED_OUT = "opted_out", "Opted out at the carrier (STOP)"


class Suppression(models.Model):
    """An address that must not be sent non-critical mail or SMS again: it unsubscribed,
    bounced hard, reported spam or replied STOP. Users' own addresses are covered too.
    Deleting the row (admin) lifts it."""

    # Email addresses lower-cased, phone numbers in E.164 (see suppressions.py).
    address = models.CharField(max_length=254)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    reason = models.CharField(max_length=20, choices=SuppressionReason.choices)
    # What the provider said (event id, bounce reason), for the operator.
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["address", "channel"], name="uniq_suppression_address_channel")]

    def __str__(self):
        return f"{self.address} ({self.channel}: {self.reason})"


class ChatDestination(models.Model):
    """An operator's chat or ops destination (a Teams or Discord channel, a Telegram
    chat, an ntfy topic, ...) as an Apprise URL: the `chat` channel posts every event of
    the listed types there. Managed in the admin only: the URL carries credentials and
    may name any host, so people and services never supply one."""

    name = models.CharField(max_length=100, unique=True)
    # e.g. msteams://…, discord://…, tgram://…, ntfys://…; encrypted at rest (credentials).
    apprise_url = EncryptedTextField(help_text="An Apprise URL, e.g. ntfys://ntfy.example.com/ops")
    event_types = models.ManyToManyField("events.EventType", blank=True, related_name="chat_destinations")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return self.name

    def clean(self):
        try:
            apprise_url_validate(self.apprise_url)
        except ValidationError as exc:
            raise ValidationError({"apprise_url": exc.messages}) from exc
