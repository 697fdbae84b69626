from django.conf import settings
from django.db import models
from django.db.models import Q

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
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        db_index=False,
        db_constraint=False,
    )
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    # Null means "the event's data": copying it onto a million rows would cost for nothing.
    data = models.JSONField(null=True, blank=True)
    url = models.CharField(max_length=500, blank=True)
    # False when the person gets this event on other channels but not in the inbox.
    in_inbox = models.BooleanField(default=True)
    read_at = models.DateTimeField(null=True, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["event", "user"], name="uniq_notification_event_user")]
        indexes = [
            # The inbox list, newest first (cursor pagination on id).
            models.Index(fields=["user", "-id"], name="inbox_user_recent"),
            # Unread list and unread count: a partial index holds only unread rows.
            models.Index(
                fields=["user", "-id"],
                name="inbox_user_unread",
                condition=Q(in_inbox=True, read_at__isnull=True, archived_at__isnull=True),
            ),
        ]

    def __str__(self):
        return f"{self.title} → {self.user_id}"

    @property
    def is_read(self):
        return self.read_at is not None

    @property
    def is_archived(self):
        return self.archived_at is not None

    @property
    def effective_data(self):
        return self.event.data if self.data is None else self.data
