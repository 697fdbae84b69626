from django.db import models


class Channel(models.TextChoices):
    """Every way a notification can reach a person. `in_app` is the inbox itself."""

    IN_APP = "in_app", "In-app inbox"
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    PUSH = "push", "Web push"
    WEBHOOK = "webhook", "Webhook"
    LOG = "log", "Server log"
    SLACK = "slack", "Slack"
    # Operator-managed chat and ops destinations (Teams, Discord, ntfy, ...) through Apprise.
    CHAT = "chat", "Chat destinations"
    MOBILE_PUSH = "mobile_push", "Mobile push (FCM)"


# Channels whose delivery leaves the service and so gets a Delivery row; the inbox
# item itself is the in-app delivery.
EXTERNAL_CHANNELS = [c for c in Channel.values if c != Channel.IN_APP]

# Channels a person (or a direct send to people) can be reached on: `chat` reaches only
# the operators' destinations, which the fan-out adds for themselves.
PERSON_CHANNEL_CHOICES = [(value, label) for value, label in Channel.choices if value != Channel.CHAT]
