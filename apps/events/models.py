import uuid

from django.conf import settings
from django.db import models

from apps.common.priorities import NORMAL, PRIORITY_CHOICES


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
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            # The outbox relay's scan: only unfinished events, so it stays tiny.
            models.Index(
                fields=["created_at"],
                name="event_outbox_pending",
                condition=~models.Q(fanout_state="done"),
            ),
        ]

    def __str__(self):
        return f"{self.event_type_id}#{self.pk}"
