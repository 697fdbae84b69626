from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class ApiKeyScope(models.TextChoices):
    EVENTS_WRITE = "events:write", "Publish events"
    NOTIFICATIONS_WRITE = "notifications:write", "Send notifications"
    USERS_WRITE = "users:write", "Manage users"
    TEMPLATES_WRITE = "templates:write", "Manage templates and event types"
    READ = "read", "Read"


class ApiKey(models.Model):
    """A service's credential. Only a SHA-256 of the secret is stored; the key is shown once."""

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True, help_text="Public part, used to find the key.")
    key_hash = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"

    def __str__(self):
        return f"{self.name} ({self.prefix})"

    @property
    def is_active(self):
        return self.revoked_at is None

    def has_scope(self, scope):
        return scope in self.scopes


class IdempotencyRecord(models.Model):
    """The first successful answer to an `Idempotency-Key`, per caller, written in the
    transaction of the request's own writes: committed together or not at all, so it
    outlives Redis and a crash between the commit and the answer."""

    caller = models.CharField(max_length=64)
    key_digest = models.CharField(max_length=64, help_text="SHA-256 of the key.")
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the method, path and body.")
    status_code = models.PositiveSmallIntegerField()
    body = models.JSONField(encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["caller", "key_digest"], name="idempotency_key_per_caller")]

    def __str__(self):
        return f"{self.caller} {self.key_digest[:12]}"
