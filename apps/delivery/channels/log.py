"""The server log as a destination: one structured JSON line per notification."""

import json
import logging

from ..rendering import delivery_title_body
from .base import Message, Outcome, Report, SendResult, no_report
from .registry import register

logger = logging.getLogger("notifications.delivery.log")


class LogChannel:
    key = "log"
    batch_size = 500

    def render(self, delivery) -> Message:
        notification = delivery.notification
        subject, text = delivery_title_body(delivery)
        return Message(
            delivery_id=delivery.pk,
            user_id=notification.user_id,
            to=notification.user.get_username(),
            subject=subject,
            text=text,
            url=notification.url,
            data=notification.effective_data,
            extra={"event_type": notification.event.event_type.key, "event_id": notification.event_id},
        )

    def send_batch(self, messages: list[Message], report: Report = no_report) -> list[SendResult]:
        results = []
        for message in messages:
            line = {
                "delivery_id": message.delivery_id,
                "user_id": message.user_id,
                "user": message.to,
                "title": message.subject,
                "body": message.text,
                "url": message.url,
                "data": message.data,
                **message.extra,
            }
            logger.info(json.dumps(line, default=str, sort_keys=True))
            # Recorded before the next line is written: a crash repeats one line at most.
            result = SendResult(message.delivery_id, Outcome.SENT, detail={"logged": True})
            results.append(result)
            report(result)
        return results

    def classify(self, exc: Exception) -> Outcome:
        return Outcome.TRANSIENT


register(LogChannel())
