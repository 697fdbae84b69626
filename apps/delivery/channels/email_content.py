"""What an email says, rendered through django-templated-mail from
templates/email/<event type key>.html or templates/email/notification.html (blocks
subject, text_body, html_body).

Every recipient of one event reads the same words; only the unsubscribe link differs.
So the template is rendered once per event with a placeholder for that link, and each
message swaps its own link in: rendering per recipient would cost more than sending.
"""

from functools import lru_cache

from django.template.loader import select_template
from templated_mail.mail import BaseEmailMessage

from apps.common.links import link_or_empty

from ..unsubscribe import unsubscribe_headers, unsubscribe_url
from .base import Message

# A placeholder no template text contains; the signed link replaces it per message.
UNSUBSCRIBE_PLACEHOLDER = "%%unsubscribe_url%%"


class NotificationEmail(BaseEmailMessage):
    template_name = "email/notification.html"


@lru_cache(maxsize=32)
def _template_name(event_type_key: str) -> str:
    return select_template([f"email/{event_type_key}.html", "email/notification.html"]).template.name


def render_content(notification) -> tuple[str, str, str]:
    """(subject, text, html) with UNSUBSCRIBE_PLACEHOLDER where the link goes."""
    event = notification.event
    email = NotificationEmail(
        template_name=_template_name(event.event_type.key),
        context={
            "title": notification.title,
            "body": notification.body,
            "url": link_or_empty(notification.url),
            "data": notification.effective_data,
            "event_type": event.event_type,
            "unsubscribe_url": UNSUBSCRIBE_PLACEHOLDER,
        },
    )
    email.render()
    return " ".join(email.subject.split()), email.body, email.html or ""


class ContentCache:
    """Rendered content per event, for the notifications that share the event's
    content (no per-person data). Small and per process."""

    def __init__(self, size: int = 64):
        self.size = size
        self._items: dict[tuple, tuple[str, str, str]] = {}

    def get(self, notification) -> tuple[str, str, str]:
        if notification.data is not None:  # personal data: render for this one
            return render_content(notification)
        key = (notification.event_id, notification.title, notification.body, notification.url)
        content = self._items.get(key)
        if content is None:
            if len(self._items) >= self.size:
                self._items.pop(next(iter(self._items)))
            content = self._items[key] = render_content(notification)
        return content


def stored_content(rendered) -> tuple[str, str, str]:
    """(subject, text, html) of an operator's stored template, with the unsubscribe link
    added below the text (and the HTML) like the file layout has it."""
    footer = f"\n\n--\nUnsubscribe: {UNSUBSCRIBE_PLACEHOLDER}"
    html = rendered.html
    if html:
        html += f'<p><a href="{UNSUBSCRIBE_PLACEHOLDER}">Unsubscribe</a></p>'
    return rendered.subject, rendered.text + footer, html


def message_substitutions(message: Message) -> dict[str, str]:
    """Placeholder → this message's value, for a provider or a MIME template that sends
    one content to many: the unsubscribe link, and the tracked links when tracked."""
    return {UNSUBSCRIBE_PLACEHOLDER: message.extra.get("unsubscribe_url", ""), **message.extra.get("substitutions", {})}


def email_address(notification) -> str:
    """Where the email goes: the address it was sent to, or the person's email."""
    if notification.user_id is None:
        return notification.address
    return notification.user.email or ""


def email_message(delivery, content: tuple[str, str, str]) -> Message:
    notification = delivery.notification
    subject, text, html = content
    link = unsubscribe_url(
        user_id=notification.user_id,
        event_type_id=notification.event.event_type_id,
        channel=delivery.channel,
        address=notification.address,
    )
    return Message(
        delivery_id=delivery.pk,
        user_id=notification.user_id,
        to=email_address(notification),
        subject=subject,
        text=text.replace(UNSUBSCRIBE_PLACEHOLDER, link),
        html=html.replace(UNSUBSCRIBE_PLACEHOLDER, link),
        url=link_or_empty(notification.url),
        headers=unsubscribe_headers(link),
        # The unrendered form lets a provider send one body for many recipients
        # (message_substitutions gives each its own values).
        extra={"template": content, "unsubscribe_url": link},
    )
