"""What an external channel sends for a delivery: the template of the delivery's
event type and channel, in the recipient's locale (see apps.templating.render)."""

from apps.templating.context import event_context
from apps.templating.render import Rendered, template_render


def render_delivery(delivery) -> Rendered:
    """Expects notification__user__profile and notification__event__event_type loaded
    (delivery_list_for_send does). `fallback_reason` is set when a template failed."""
    notification = delivery.notification
    user = notification.user
    profile = getattr(user, "profile", None)
    return template_render(
        event_type=notification.event.event_type,
        channel=delivery.channel,
        locale=getattr(profile, "locale", None),
        context=event_context(notification.event, recipient=user, data=notification.effective_data),
    )
