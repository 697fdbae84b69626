from django.db import models

from apps.common.fields import EncryptedTextField


class StatusWebhookEndpoint(models.Model):
    """A URL of a service (an API key) that receives the delivery status changes of the
    sends and events that key made, in signed batches (Standard Webhooks).

    The relay reads the delivery history after `cursor` (a DeliveryEvent id): the
    cursor moves only once the receiver answered 2xx, so nothing is skipped, and each
    endpoint keeps its own place and its own backoff, so a failing receiver delays no
    other."""

    api_key = models.ForeignKey("common.ApiKey", on_delete=models.CASCADE, related_name="status_webhooks")
    url = models.URLField(max_length=2048)
    # `whsec_` + base64, encrypted at rest (signing needs it back, so it is not hashed).
    secret = EncryptedTextField()
    # The last DeliveryEvent id this receiver has (or that was none of its business).
    cursor = models.BigIntegerField(default=0)
    # While a batch is failing: the DeliveryEvent id it ends at, so every retry sends the
    # very same changes under the same webhook-id (receivers drop what they already took).
    pending_upto = models.BigIntegerField(null=True, blank=True)
    # Failed attempts of the pending batch, and when the next one may start.
    attempts = models.PositiveIntegerField(default=0)
    next_try_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    # A run holds the endpoint until then: two workers never post for one endpoint at once.
    leased_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.url} (API key {self.api_key_id})"
