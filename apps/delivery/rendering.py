"""What an external channel sends for a delivery: the template of the delivery's
event type and channel, in the recipient's locale (see apps.templating.render)."""

import time

from apps.common.channels import Channel
from apps.events.selectors import batch_summary_of_notification
from apps.templating.context import event_context
from apps.templating.render import Rendered, template_render

from .models import DeliveryEvent
from .services import delivery_history_record


def render_delivery(delivery) -> Rendered:
    """Expects notification__user__profile and notification__event__event_type loaded
    (delivery_list_for_send does). `fallback_reason` is set when a template failed."""
    notification = delivery.notification
    user = notification.user
    profile = getattr(user, "profile", None)
    context = event_context(notification.event, recipient=user, data=notification.effective_data)
    # A batching window's one message: its templates read batch.count, batch.items, ...
    # (looked up only for events of a batching type: they carry their key).
    if notification.event.batch_key:
        context["batch"] = batch_summary_of_notification(notification_id=notification.pk)
    if user is None:
        # A send to an address that is no user: the template sees only the address.
        kind = "email" if delivery.channel == Channel.EMAIL else "phone"
        context["recipient"] = {kind: notification.address}
    return template_render(
        event_type=notification.event.event_type,
        channel=delivery.channel,
        locale=getattr(profile, "locale", None),
        context=context,
    )


# (event type id, channel) → (has stored templates, checked at): a worker rechecks
# after this many seconds, so a template an operator adds is used soon after.
STORED_TEMPLATE_CHECK_SECONDS = 30
_stored_seen: dict[tuple[int, str], tuple[bool, float]] = {}


def stored_template_render(delivery) -> Rendered | None:
    """The stored template's words for this delivery when the operator wrote one for its
    event type on its channel (any locale: the recipient's is then picked with the
    usual fallback); None to keep the inbox text in the channel's own layout, which
    costs nothing per message."""
    from apps.templating.models import NotificationTemplate

    key = (delivery.notification.event.event_type_id, delivery.channel)
    known = _stored_seen.get(key)
    if known is None or time.monotonic() - known[1] > STORED_TEMPLATE_CHECK_SECONDS:
        exists = NotificationTemplate.objects.filter(
            event_type_id=key[0], channel=key[1], current_version__isnull=False
        ).exists()
        known = _stored_seen[key] = (exists, time.monotonic())
    if not known[0]:
        return None
    rendered = render_delivery(delivery)
    if rendered.fallback_reason:
        _fallback_record(delivery, rendered.fallback_reason)
    return rendered


def _fallback_record(delivery, reason: str) -> None:
    """The operator's template failed or ran over its budget for this delivery: its
    history says so (as a digest's does), and the default template was sent instead."""
    delivery_history_record([DeliveryEvent(delivery=delivery, status="template_fallback", detail={"reason": reason})])


def delivery_title_body(delivery) -> tuple[str, str]:
    """Title and body for the channels that carry them as two fields (push, webhook):
    the stored template's subject and text when the operator wrote one, else the inbox's."""
    stored = stored_template_render(delivery)
    if stored:
        return stored.subject, stored.text
    return delivery.notification.title, delivery.notification.body
