from django.conf import settings
from django.db import models

from apps.common.channels import Channel
from apps.events.models import EventType


class Subscription(models.Model):
    """A person wants events of a type on a channel, for every subject or for one."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="subscriptions")
    event_type = models.ForeignKey(EventType, on_delete=models.CASCADE, related_name="subscriptions")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    # Empty means "any subject"; otherwise only events about this subject.
    subject_type = models.CharField(max_length=100, blank=True, default="")
    subject_id = models.CharField(max_length=64, blank=True, default="")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "event_type", "channel", "subject_type", "subject_id"],
                name="uniq_subscription",
            )
        ]
        indexes = [
            # Fan-out walks the enabled subscribers of one event type in user id order.
            models.Index(fields=["event_type", "user"], name="subscription_fanout", condition=models.Q(enabled=True)),
        ]

    def __str__(self):
        return f"{self.user_id}:{self.event_type_id}:{self.channel}"
