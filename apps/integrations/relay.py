"""The status webhook relay: one run posts an endpoint's next batches of delivery status
changes, signed per Standard Webhooks, through the outbound address guard.

Nothing on the delivery path knows about it: it reads the history (DeliveryEvent) that
every status change already writes. A batch is at least once: the cursor moves only on
a 2xx, and a failed batch is sent again, the same changes under the same `webhook-id`,
after a backoff that only this endpoint waits out.
"""

import json
import logging
import time
from dataclasses import dataclass

import requests
from django.conf import settings
from django.utils import timezone

from apps.common.net import GuardedClient, UnsafeURL
from apps.delivery.channels.webhook import webhook_sign

from .models import StatusWebhookEndpoint
from .selectors import BATCH_SIZE, StatusBatch, status_batch_next, status_history_horizon
from .services import status_webhook_advance, status_webhook_fail, status_webhook_release

logger = logging.getLogger(__name__)

USER_AGENT = "notification-service-status-webhooks/1"
PAYLOAD_TYPE = "delivery.status_changes"


@dataclass
class RunResult:
    requests: int = 0
    changes: int = 0
    failed: bool = False

    def as_dict(self) -> dict:
        return {"requests": self.requests, "changes": self.changes, "failed": self.failed}


def status_batch_body(batch: StatusBatch) -> bytes:
    """The same bytes for the same batch, so a retried one is the very same message."""
    body = {"type": PAYLOAD_TYPE, "data": batch.changes}
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


def _post(client: GuardedClient, endpoint: StatusWebhookEndpoint, batch: StatusBatch) -> str:
    """Post the batch; returns why it failed, or "" when the receiver took it (2xx)."""
    body, timestamp = status_batch_body(batch), int(time.time())
    try:
        signature = webhook_sign(secret=endpoint.secret, msg_id=batch.webhook_id, timestamp=timestamp, body=body)
    except ValueError as exc:  # a stored secret that is not base64
        return f"bad signing secret: {exc}"
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": batch.webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }
    try:
        response = client.post(endpoint.url, data=body, headers=headers)
    except (UnsafeURL, OSError, requests.RequestException) as exc:
        return f"{type(exc).__name__}: {exc}"
    if 200 <= response.status_code < 300:
        return ""
    return f"answered {response.status_code}: {response.text[:200]}"


def status_webhook_run(*, endpoint_id: int) -> RunResult:
    """Post the endpoint's due batches, up to STATUS_WEBHOOK_BATCHES_PER_RUN, then let
    the endpoint go. The caller holds its lease (services.status_webhooks_lease)."""
    result = RunResult()
    endpoint = StatusWebhookEndpoint.objects.filter(pk=endpoint_id).first()
    if endpoint is None:  # removed since it was found due
        return result
    client = GuardedClient()
    try:
        horizon = status_history_horizon(now=timezone.now())
        for _ in range(settings.STATUS_WEBHOOK_BATCHES_PER_RUN):
            batch = status_batch_next(endpoint=endpoint, horizon=horizon)
            if batch is None:
                break
            if batch.changes:
                error = _post(client, endpoint, batch)
                if error:
                    wait = status_webhook_fail(endpoint=endpoint, after=batch.after, upto=batch.upto, error=error)
                    logger.warning("status webhook %s failed (%s); next try in %.1f s", endpoint.pk, error, wait)
                    result.failed = True
                    break
                result.requests += 1
                result.changes += len(batch.changes)
            if not status_webhook_advance(endpoint=endpoint, after=batch.after, upto=batch.upto):
                break  # another run has it now
            if len(batch.changes) < BATCH_SIZE and batch.upto >= horizon:
                break
    finally:
        client.close()
        status_webhook_release(endpoint_id=endpoint_id)
    return result
