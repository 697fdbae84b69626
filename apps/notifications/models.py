from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from apps.common.priorities import NORMAL, PRIORITY_CHOICES
from apps.events.models import Event


class UserNotification(models.Model):
    """One event for one person: the inbox item, and the parent of its deliveries."""

    # Both foreign keys are covered by the indexes below, so they get no index of their
    # own, and no database constraint: PostgreSQL checks a constraint with a trigger per
    # row at commit, which took half of a fan-out's time. Rows come only from the
    # fan-out's SELECT over constrained subscriptions, and Django still cascades deletes.
    event = models.ForeignKey(
        Event, on_delete=models.CASCADE, related_name="notifications", db_index=False, db_constraint=False
    )
    # Null for a direct send to an address that is no user (see `address`).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        null=True,
        blank=True,
        db_index=False,
        db_constraint=False,
    )
    # The email address or E.164 number of a recipient that is no user: such an item is
    # never in an inbox and has one delivery, on the channel its address is for.
    address = models.CharField(max_length=254, blank=True, default="", db_default="")
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    # Null means "the event's data": copying it onto a million rows would cost for nothing.
    data = models.JSONField(null=True, blank=True)
    url = models.CharField(max_length=500, blank=True)
    # False when the person gets this event on other channels but not in the inbox.
    in_inbox = models.BooleanField(default=True)
    read_at = models.DateTimeField(null=True, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    # Hidden from the inbox list and the unread count until then; the queries compare it
    # with the time, so an item comes back by itself (no job per snoozed item).
    snoozed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "user"], name="uniq_notification_event_user"),
            models.UniqueConstraint(
                fields=["event", "address"], name="uniq_notification_event_address", condition=~Q(address="")
            ),
        ]
        indexes = [
            # The inbox list, newest first (cursor pagination on id).
            models.Index(fields=["user", "-id"], name="inbox_user_recent"),
            # Unread list and unread count: a partial index holds only unread rows; it
            # carries snoozed_until, so the count of awake items stays index-only.
            models.Index(
                fields=["user", "-id"],
                name="inbox_user_unread_awake",
                include=["snoozed_until"],
                condition=Q(in_inbox=True, read_at__isnull=True, archived_at__isnull=True),
            ),
        ]

    def __str__(self):
        return f"{self.title} → {self.user_id or self.address}"

    @property
    def is_read(self):
        return self.read_at is not None

    @property
    def is_archived(self):
        return self.archived_at is not None

    @property
    def is_snoozed(self):
        return self.snoozed_until is not None and self.snoozed_until > timezone.now()

    @property
    def effective_data(self):
        return self.event.data if self.data is None else self.data

    @property
    def actions(self):
        from .actions import inbox_actions

        return inbox_actions(self.effective_data)


class SendStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    QUEUED = "queued", "Queued"
    CANCELLED = "cancelled", "Cancelled"


class DirectSend(models.Model):
    """A service's request to notify named people: an Event with an explicit audience.

    The event carries the type, data and fan-out state (so the outbox relay re-drives it
    like any other); this row adds who asked, the priority, the channels and the time.
    """

    event = models.OneToOneField(Event, on_delete=models.CASCADE, related_name="direct_send")
    # The owner: the API key that asked, or the staff person who did.
    api_key = models.ForeignKey("common.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    priority = models.CharField(max_length=10, choices=PRIORITY_CHOICES, default=NORMAL)
    # Null: each recipient's enabled subscriptions for the event type decide.
    channels = models.JSONField(null=True, blank=True)
    scheduled_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=SendStatus.choices, default=SendStatus.QUEUED)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    recipient_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            # Beat's due scan reads only the sends still waiting.
            models.Index(fields=["scheduled_at"], name="direct_send_due", condition=Q(status="scheduled")),
        ]

    def __str__(self):
        return f"send #{self.pk} ({self.priority})"


class DirectSendRecipient(models.Model):
    """One person, or one address that is no user, a direct send is for. Fan-out reads
    the people in user id order and the addresses with its first chunk."""

    send = models.ForeignKey(DirectSend, on_delete=models.CASCADE, related_name="recipients", db_index=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # An email address (lower-cased) or an E.164 number; empty for a person.
    address = models.CharField(max_length=254, blank=True, default="", db_default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["send", "user"], name="uniq_direct_send_recipient"),
            models.UniqueConstraint(
                fields=["send", "address"], name="uniq_direct_send_address", condition=~Q(address="")
            ),
            models.CheckConstraint(
                condition=Q(user__isnull=True) ^ Q(address=""), name="direct_send_recipient_user_or_address"
            ),
        ]


class FanOutRange(models.Model):
    """One user id range of a large event's fan-out, (after_user_id, upto_user_id]
    (upto None: to the end). Any worker on any host takes one; its own cursor makes a
    re-run or a redelivery resume where it stopped, and the event is done when its
    last range is (fanout_ranges.py)."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="fanout_ranges", db_index=False)
    after_user_id = models.BigIntegerField()
    upto_user_id = models.BigIntegerField(null=True, blank=True)
    # Highest user id of the range already fanned out.
    cursor = models.BigIntegerField()
    notifications_created = models.PositiveIntegerField(default=0)
    # The worker that committed its last chunk (its Celery node name): where a range
    # went, for operators and for the test that spreads an event over hosts.
    taken_by = models.CharField(max_length=200, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # Also the index of an event's ranges (the completion check reads them all).
            models.UniqueConstraint(fields=["event", "after_user_id"], name="uniq_fanout_range_start"),
        ]

    def __str__(self):
        return f"{self.event_id}:({self.after_user_id}, {self.upto_user_id}]"
