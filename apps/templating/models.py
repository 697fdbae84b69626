from django.db import models

from apps.common.channels import Channel
from apps.events.models import EventType


class NotificationTemplate(models.Model):
    """What one event type says on one channel in one locale. Its content lives in
    versions: every change adds one, and the template points at the current one."""

    event_type = models.ForeignKey(EventType, on_delete=models.CASCADE, related_name="templates")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    # Normalised: language lower case, region upper case ("pt-BR", "pt", "en").
    locale = models.CharField(max_length=16)
    current_version = models.ForeignKey(
        "TemplateVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Email open and click tracking for what this template sends: None follows the
    # EMAIL_TRACKING_ENABLED setting, True or False overrides it for this template.
    email_tracking = models.BooleanField(
        null=True,
        blank=True,
        default=None,
        choices=[(None, "As the EMAIL_TRACKING_ENABLED setting"), (True, "On"), (False, "Off")],
        help_text="Email only: rewrite links through a signed redirect and add an open pixel.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["event_type__key", "channel", "locale"]
        constraints = [
            models.UniqueConstraint(
                fields=["event_type", "channel", "locale"], name="uniq_template_type_channel_locale"
            )
        ]

    def __str__(self):
        return f"{self.event_type.key} / {self.channel} / {self.locale}"


class TemplateVersion(models.Model):
    """One immutable state of a template."""

    template = models.ForeignKey(NotificationTemplate, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    subject = models.TextField(blank=True)
    body = models.TextField()
    html = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=150, blank=True)
    restored_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["template", "-number"]
        constraints = [models.UniqueConstraint(fields=["template", "number"], name="uniq_template_version_number")]

    def __str__(self):
        return f"{self.template} v{self.number}"
