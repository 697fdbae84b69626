from django.conf import settings
from django.db import models


class Scenario(models.Model):
    """A test scenario: the seed's example domain whose changes people subscribe to."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="scenarios")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # Anyone may subscribe to a shared scenario's events; a private one's, its owner only.
    shared = models.BooleanField(default=False)
    execution_count = models.PositiveIntegerField(default=0)
    last_executed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return self.name
