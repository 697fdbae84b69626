"""The suppression list: addresses that must not be sent non-critical mail or SMS again.

Written by the one-click unsubscribe of a send to an address, and by provider callbacks
(SendGrid: hard bounce, dropped, spam report, unsubscribe, group unsubscribe; Twilio:
error 21610, the number replied STOP). Read by the delivery policy
(apps.subscriptions.policy), which cancels a non-critical delivery to a listed address
as "suppressed", whether the address is a direct send's or a person's own.
"""

import logging

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from apps.accounts.validators import validate_e164
from apps.common.channels import Channel

from .models import Delivery, Suppression, SuppressionReason

logger = logging.getLogger(__name__)

# SendGrid event → why its address is suppressed. A `bounce` suppresses only when hard
# (its type is "bounce"; "blocked" is the receiving server's refusal for now).
SENDGRID_SUPPRESSING = {
    "bounce": SuppressionReason.BOUNCED,
    "dropped": SuppressionReason.DROPPED,
    "spamreport": SuppressionReason.SPAM_REPORT,
    "unsubscribe": SuppressionReason.UNSUBSCRIBED,
    "group_unsubscribe": SuppressionReason.UNSUBSCRIBED,
}
# Twilio: "Attempt to send to unsubscribed recipient" (the number replied STOP).
TWILIO_OPTED_OUT = "21610"


def suppression_address(*, address: str, channel: str) -> str | None:
    """The address as the list keeps it (email lower-cased, phone E.164), or None when
    it is not one."""
    address = (address or "").strip()
    try:
        if channel == Channel.EMAIL:
            address = address.lower()
            validate_email(address)
        elif channel == Channel.SMS:
            validate_e164(address)
        else:
            return None
    except ValidationError:
        return None
    return address or None


def suppression_record(*, address: str, channel: str, reason: str, detail: dict | None = None) -> bool:
    """Put an address on the list (once: a second reason keeps the first). Returns
    whether it was added."""
    normalised = suppression_address(address=address, channel=channel)
    if normalised is None:
        return False
    _, created = Suppression.objects.get_or_create(
        address=normalised, channel=channel, defaults={"reason": reason, "detail": detail or {}}
    )
    if created:
        logger.info("suppressed %s address (%s)", channel, reason)
    return created


def sendgrid_suppressions_record(*, events: list[dict]) -> int:
    """The addresses a batch of SendGrid events says to stop mailing; returns how many
    were added."""
    added = 0
    for event in events:
        kind = str(event.get("event", ""))
        reason = SENDGRID_SUPPRESSING.get(kind)
        if reason is None or (kind == "bounce" and str(event.get("type", "bounce")) != "bounce"):
            continue
        detail = {"provider": "sendgrid", "provider_event": kind, "sg_event_id": str(event.get("sg_event_id", ""))}
        if event.get("reason"):
            detail["reason"] = str(event["reason"])[:500]
        added += suppression_record(
            address=str(event.get("email", "")), channel=Channel.EMAIL, reason=reason, detail=detail
        )
    return added


def _delivery_number(sid: str) -> str:
    """The number a Twilio message went to, from its delivery (a person's or an address's)."""
    row = (
        Delivery.objects.filter(provider_message_id=sid, channel=Channel.SMS)
        .values_list("notification__address", "notification__user__profile__phone")
        .first()
    )
    return (row[0] or row[1] or "") if row else ""


def twilio_suppressions_record(*, params: dict) -> bool:
    """A Twilio status callback whose error says the number opted out (STOP)."""
    if str(params.get("ErrorCode", "")) != TWILIO_OPTED_OUT:
        return False
    number = params.get("To") or _delivery_number(params.get("MessageSid", ""))
    detail = {"provider": "twilio", "sid": params.get("MessageSid", ""), "error_code": TWILIO_OPTED_OUT}
    return suppression_record(address=number, channel=Channel.SMS, reason=SuppressionReason.OPTED_OUT, detail=detail)
