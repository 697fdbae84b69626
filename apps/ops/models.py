from django.db import models


class AlertIncident(models.Model):
    """One spell of one alert condition, from the evaluation that first saw it to the one
    that saw it clear. Kept in the database so "announced once" survives restarts and
    holds across several beats."""

    # The condition and what it is about: "circuit_open:smtp", "queue_age:email".
    key = models.CharField(max_length=200)
    title = models.CharField(max_length=300)
    # The figures of the latest evaluation that saw it (what the messages quote).
    details = models.JSONField(default=dict, blank=True)
    opened_at = models.DateTimeField()
    # The latest message about it, firing, reminder or resolved; null: none sent yet
    # (held by the cool-down, or every destination failed: the next evaluation retries).
    last_notified_at = models.DateTimeField(null=True, blank=True)
    announced = models.BooleanField(default=False)  # a "firing" message went out
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["key"], condition=models.Q(resolved_at__isnull=True), name="alert_incident_one_open_per_key"
            )
        ]
        indexes = [models.Index(fields=["key", "-opened_at"], name="alert_incident_key_recent")]

    def __str__(self):
        return f"{self.key} ({'resolved' if self.resolved_at else 'open'})"


class PeriodicHeartbeat(models.Model):
    """When each beat job last finished without an error: the "has not run on time"
    alert compares it with the job's interval (beat's own last_run_at says only when
    beat sent it, not that a worker ran it)."""

    task = models.CharField(max_length=200, unique=True)
    last_success_at = models.DateTimeField()

    def __str__(self):
        return f"{self.task} at {self.last_success_at:%Y-%m-%d %H:%M:%S}"
