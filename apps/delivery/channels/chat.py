"""The `chat` channel: operators' chat and ops destinations (Microsoft Teams, Discord,
Telegram, Matrix, ntfy, Gotify, and the rest Apprise speaks), one Apprise URL each.

A delivery on this channel belongs to one destination (its inbox item's address is
`chat:<destination id>`, written by the fan-out, see apps/notifications/destinations.py).
Apprise answers only whether a notification went out; whether a failure is worth a
retry is read from what its plugin logged (Apprise's LogCapture): the HTTP status it
names (`error=503`), 408/425/429/5xx and no answer at all (connection refused, timeout)
being transient, any other status permanent.
"""

import re

import apprise
from django.conf import settings

from apps.common.links import link_or_empty

from ..chat_urls import apprise_plugin
from ..models import ChatDestination
from ..rendering import delivery_title_body
from .base import Message, Outcome, Report, SendResult, no_report
from .registry import register

DESTINATION_PREFIX = "chat:"
# Apprise's plugins end a failed request's log line with "error=<HTTP status>", or with
# the service's own code when it gives one; ntfy's codes are the status and two digits
# (40301 is a 403), so the first three digits are the status either way.
STATUS_IN_LOG = re.compile(r"error=(\d{3})\d*\b")
BODY_MAX = 4000


def destination_address(destination_id: int) -> str:
    return f"{DESTINATION_PREFIX}{destination_id}"


def status_outcome(status: int | None) -> Outcome:
    if status is None or status in (408, 425, 429) or status >= 500:
        return Outcome.TRANSIENT
    return Outcome.PERMANENT


class ChatChannel:
    key = "chat"
    batch_size = 20

    def render(self, delivery) -> Message | None:
        notification = delivery.notification
        if notification.user_id is not None or not notification.address.startswith(DESTINATION_PREFIX):
            return None
        destination = ChatDestination.objects.filter(
            pk=notification.address.removeprefix(DESTINATION_PREFIX), is_active=True
        ).first()
        if destination is None:
            return None
        title, body = delivery_title_body(delivery)
        url = link_or_empty(notification.url)
        text = "\n".join(part for part in (body, url) if part)
        return Message(
            delivery_id=delivery.pk,
            user_id=None,
            to=destination.name,
            subject=title,
            text=text[:BODY_MAX],
            url=url,
            extra={"apprise_url": destination.apprise_url, "destination_id": destination.pk},
        )

    def send_batch(self, messages: list[Message], report: Report = no_report) -> list[SendResult]:
        # One after the other: LogCapture listens to Apprise's one logger, so two
        # notifications in flight at once would mix their lines. Each answer is
        # reported before the next is sent.
        results = []
        for message in messages:
            result = self._notify(message)
            report(result)
            results.append(result)
        return results

    def _notify(self, message: Message) -> SendResult:
        plugin = apprise_plugin(message.extra["apprise_url"])
        detail = {"destination_id": message.extra["destination_id"]}
        if plugin is None:
            return SendResult(message.delivery_id, Outcome.PERMANENT, error="not an Apprise URL", detail=detail)
        detail["service"] = plugin.service_name
        plugin.socket_connect_timeout = plugin.socket_read_timeout = settings.CHAT_TIMEOUT_SECONDS
        with apprise.LogCapture(level=apprise.logging.WARNING) as log:
            sent = plugin.notify(body=message.text or message.subject, title=message.subject)
            lines = log.getvalue()
        if sent:
            return SendResult(message.delivery_id, Outcome.SENT, detail=detail)
        statuses = [int(code) for code in STATUS_IN_LOG.findall(lines)]
        status = statuses[-1] if statuses else None
        detail["status_code"] = status
        detail["log"] = lines[-500:]
        error = f"{plugin.service_name} answered {status}" if status else f"{plugin.service_name}: no answer"
        return SendResult(message.delivery_id, status_outcome(status), error=error, detail=detail)

    def classify(self, exc: Exception) -> Outcome:
        return Outcome.TRANSIENT


register(ChatChannel())
