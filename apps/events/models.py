import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from apps.common.priorities import NORMAL, PRIORITY_CHOICES

# The longest batching window or throttle window.
WEEK = 7 * 24 * 3600


class EventType(models.Model):
    """A kind of event people can subscribe to, e.g. `scenario.created`."""

    key = models.SlugField(max_length=100, unique=True, allow_unicode=False)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # Critical events pass opt-outs and quiet hours.
    critical = models.BooleanField(default=False)
    # Channels a person gets this event on until they choose otherwise (materialised as
    # subscriptions: see apps.subscriptions.defaults).
    default_channels = models.JSONField(default=list, blank=True)
    # Whether people may subscribe to it themselves (the scenario events of a team).
    # When not, only a service subscribes them (/api/v1/users/{id}/subscriptions/):
    # its events may carry what only their subject may read (a reset link).
    self_service = models.BooleanField(
        default=False, help_text="People may subscribe themselves; otherwise only services subscribe them."
    )
    # The priority its subscriber fan-outs travel at (a direct send names its own).
    default_priority = models.CharField(max_length=10, choices=PRIORITY_CHOICES, default=NORMAL)
    # Batching: the first event of a key opens a window of this many seconds per
    # recipient; the key's later events join it and, once it closes, each recipient gets
    # one notification per channel for all of them (apps.notifications.batching). Null:
    # every event is its own notification. Critical types are never batched.
    batch_window_seconds = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(WEEK)],
        help_text="Collapse a key's events within this many seconds into one notification.",
    )
    # The data field whose value is the key; empty: the event's subject. (Database
    # defaults on these: raw inserts, like data loads and older migrations, leave them out.)
    batch_key = models.CharField(
        max_length=100, blank=True, db_default="", help_text="The data field that groups events; empty: the subject."
    )
    # What a batch counts, in the plural ("comments"): "3 new comments on Checkout flow".
    batch_noun = models.CharField(max_length=60, blank=True, db_default="", help_text='Plural noun, e.g. "comments".')
    # Throttle: at most this many of its deliveries per recipient and channel in each
    # window of throttle_window_seconds; the rest are held for the next window or put
    # in the person's digest (apps.subscriptions.throttles). Null: no limit of its own
    # (THROTTLE_LIMITS of the settings may still apply to every type).
    throttle_limit = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="At most this many deliveries per recipient and channel in a window.",
    )
    throttle_window_seconds = models.PositiveIntegerField(
        default=3600,
        db_default=3600,
        validators=[MinValueValidator(1), MaxValueValidator(WEEK)],
        help_text="The throttle's window.",
    )
    throttle_overflow = models.CharField(
        max_length=10,
        choices=[("hold", "Hold for the next window"), ("digest", "Put in the digest")],
        default="hold",
        db_default="hold",
        help_text="What becomes of a delivery over the limit.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["key"]

    def __str__(self):
        return self.key


class FanoutState(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"


def new_idempotency_key():
    return uuid.uuid4().hex


class Event(models.Model):
    """Something that happened. Its row is the outbox: fan-out state lives on it, so a
    committed event whose fan-out never ran is found and re-driven."""

    event_type = models.ForeignKey(EventType, on_delete=models.PROTECT, related_name="events")
    # The subject is named by type and id rather than a foreign key: events come from
    # other applications whose models this service does not have. Local models use
    # their content-type label ("scenarios.scenario").
    subject_type = models.CharField(max_length=100, blank=True)
    subject_id = models.CharField(max_length=64, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The API key that published it (POST /api/v1/events/): its status webhooks receive
    # this event's delivery status changes. A direct send names its key on DirectSend.
    api_key = models.ForeignKey("common.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    data = models.JSONField(default=dict, blank=True)
    idempotency_key = models.CharField(max_length=200, unique=True, default=new_idempotency_key)
    fanout_state = models.CharField(max_length=10, choices=FanoutState.choices, default=FanoutState.PENDING)
    # Highest user id already fanned out: a re-run resumes after it.
    fanout_cursor = models.BigIntegerField(default=0)
    fanout_heartbeat_at = models.DateTimeField(null=True, blank=True)
    fanned_out_at = models.DateTimeField(null=True, blank=True)
    # The outbox relay's turn: how often it re-drove this event, and when it may again.
    # Never relayed (null) comes first, then the longest waiting, so events that stay
    # stuck go to the back of the line and never starve newer ones.
    relay_attempts = models.PositiveIntegerField(default=0)
    relay_next_at = models.DateTimeField(null=True, blank=True)
    recipient_count = models.PositiveIntegerField(default=0)
    # The priority of its send, fixed when recorded: the type's default for a publish,
    # the request's for a direct send. Every queue its work goes on follows it.
    priority = models.CharField(max_length=10, choices=PRIORITY_CHOICES, default=NORMAL)
    # The X-Request-ID of the request (or the id of the task) that published it; its
    # notifications and deliveries are traced back to it through the event.
    correlation_id = models.CharField(max_length=100, null=True, blank=True, db_index=True)
    # Its batch key (EventType.batch_key) when its type batches: a batch lists the events
    # of its key between its first and its last.
    batch_key = models.CharField(max_length=200, blank=True, default="", db_default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["event_type", "batch_key", "id"], name="event_batch_items", condition=~models.Q(batch_key="")
            ),
            # The outbox relay's scan: only unfinished events, so it stays tiny.
            models.Index(
                fields=["created_at"],
                name="event_outbox_pending",
                condition=~models.Q(fanout_state="done"),
            ),
        ]

    def __str__(self):
        return f"{self.event_type_id}#{self.pk}"


class EventBatch(models.Model):
    """One recipient's window over one batch key of one event type: the events that
    joined it and the one inbox item that stands for them. Open while closed_at is
    null (at most one per key and person); beat closes it at closes_at and only then
    writes its deliveries (apps.notifications.batch_close)."""

    # No database constraints (the fan-out writes these in bulk, like its inbox items):
    # rows come only from the fan-out's SELECT over constrained subscriptions.
    event_type = models.ForeignKey(EventType, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    batch_key = models.CharField(max_length=200)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    notification = models.OneToOneField(
        "notifications.UserNotification",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="batch",
        db_constraint=False,
    )
    count = models.PositiveIntegerField(default=1)
    # The count its inbox item's words show: the refresh rewrites them while it lags.
    shown_count = models.PositiveIntegerField(default=1, db_default=1)
    first_event = models.ForeignKey(
        Event, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    last_event = models.ForeignKey(
        Event, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    # The priority its deliveries travel at (its first event's).
    priority = models.CharField(max_length=10, choices=PRIORITY_CHOICES, default=NORMAL)
    opened_at = models.DateTimeField()
    closes_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    # What its templates see once closed (`batch` in their context): count, first,
    # last, items, actors. Written by the close, one value per distinct window.
    summary = models.JSONField(null=True, blank=True)

    class Meta:
        constraints = [
            # The one open window per key and person the fan-out joins (ON CONFLICT).
            models.UniqueConstraint(
                fields=["event_type", "batch_key", "user"],
                name="uniq_open_batch",
                condition=models.Q(closed_at__isnull=True),
            )
        ]
        indexes = [
            # Beat's scan for windows due to close: open ones only.
            models.Index(fields=["closes_at"], name="batch_due", condition=models.Q(closed_at__isnull=True)),
        ]

    def __str__(self):
        return f"batch {self.event_type_id}:{self.batch_key} → {self.user_id} ({self.count})"
