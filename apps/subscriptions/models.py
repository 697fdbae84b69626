from django.conf import settings
from django.db import models

from apps.common.channels import Channel
from apps.events.models import EventType


class SubscriptionOrigin(models.TextChoices):
    """Who made a subscription: a person's own ones must keep passing the access rule
    (apps.subscriptions.access) whenever they are switched on again."""

    PERSON = "person", "The person"
    SERVICE = "service", "A service on the person's behalf"
    DEFAULT = "default", "The event type's default channels"


class Subscription(models.Model):
    """A person wants events of a type on a channel, for every subject or for one."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="subscriptions")
    event_type = models.ForeignKey(EventType, on_delete=models.CASCADE, related_name="subscriptions")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    # Empty means "any subject"; otherwise only events about this subject.
    subject_type = models.CharField(max_length=100, blank=True, default="")
    subject_id = models.CharField(max_length=64, blank=True, default="")
    enabled = models.BooleanField(default=True)
    # Created from the event type's default channels and never changed by the person:
    # removing the channel from the defaults removes the row (see defaults.py).
    # A database default too: bulk SQL inserts (benchmarks, data loads) may leave it out.
    is_default = models.BooleanField(default=False, db_default=False)
    # Unlike is_default, kept when the person changes the row. Raw inserts without it
    # (benchmarks, data loads) count as the person's own: the strict choice.
    origin = models.CharField(
        max_length=10, choices=SubscriptionOrigin.choices, default=SubscriptionOrigin.PERSON, db_default="person"
    )
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
            # Whether any subscription of a fan-out's place is on an external channel: found
            # at once, where the index above reads every in-app row to find none.
            models.Index(
                fields=["event_type", "user"], name="subscription_external", condition=~models.Q(channel="in_app")
            ),
        ]

    def __str__(self):
        return f"{self.user_id}:{self.event_type_id}:{self.channel}"


class SubscriptionOptOut(models.Model):
    """A person removed their subscription to this event type on this channel (for any
    subject): the defaults never bring it back (apps.subscriptions.defaults). Removed
    again when the person, or a service for them, subscribes anew."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    event_type = models.ForeignKey(EventType, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "event_type", "channel"], name="uniq_subscription_opt_out")
        ]

    def __str__(self):
        return f"{self.user_id}:{self.event_type_id}:{self.channel} removed"


class DigestFrequency(models.TextChoices):
    OFF = "off", "Off (send each one)"
    HOURLY = "hourly", "Hourly"
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"


class Preference(models.Model):
    """How a person wants to be reached, beyond the per event type × channel opt-ins
    (those are Subscription rows). Critical event types ignore all of it."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    # Channels that get nothing at all (their deliveries are cancelled as "muted").
    muted_channels = models.JSONField(default=list, blank=True)
    # Every external channel is muted until then.
    mute_until = models.DateTimeField(null=True, blank=True)
    # Local wall-clock times in Profile.timezone; both set or both empty.
    quiet_start = models.TimeField(null=True, blank=True)
    quiet_end = models.TimeField(null=True, blank=True)
    # The digest frequency of every external channel, unless digest_channels names it.
    digest = models.CharField(max_length=10, choices=DigestFrequency.choices, default=DigestFrequency.OFF)
    digest_channels = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"preferences of {self.user_id}"

    def digest_for(self, channel: str) -> str:
        return self.digest_channels.get(channel, self.digest)


class ThrottleCounter(models.Model):
    """How many deliveries one person was written on one channel in one fixed window,
    for one throttle scope (an event type's id, or 0 for THROTTLE_LIMITS, every type).
    Counted by the fan-out's own statements (apps.subscriptions.throttles), so a limit
    costs no round trip per recipient; rows of past windows are purged by retention."""

    user_id = models.BigIntegerField()
    channel = models.CharField(max_length=16)
    scope = models.BigIntegerField()
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user_id", "channel", "scope", "window_start"], name="uniq_throttle_counter"
            )
        ]
        indexes = [models.Index(fields=["window_start"], name="throttle_counter_window")]

    def __str__(self):
        return f"{self.user_id} {self.channel} [{self.scope}] {self.window_start}: {self.count}"
