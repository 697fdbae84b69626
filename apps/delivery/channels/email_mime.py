"""The bytes of each email, built by Django's EmailMultiAlternatives.

Recipients of one event get the same message but for the To address, the Message-ID
and the unsubscribe link. Building and folding a MIME tree costs far more than sending
it, so a batch builds the tree once per content with placeholders and each message
swaps in its own values. Whatever the shortcut cannot do exactly (a non-ASCII address,
a body the encoder wrapped through a placeholder) is built in full instead.
"""

from dataclasses import dataclass
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import sanitize_address
from django.core.mail.utils import DNS_NAME

from ..unsubscribe import unsubscribe_headers
from .base import Message
from .email_content import UNSUBSCRIBE_PLACEHOLDER, message_substitutions

TO_PLACEHOLDER = "recipient@placeholder.invalid"
MESSAGE_ID_PLACEHOLDER = "<message-id@placeholder.invalid>"
# RFC 5322's limit on a line, CRLF aside (what Django's own build checks for).
MAX_LINE_BYTES = 998


@dataclass
class WireEmail:
    """What goes over SMTP for one message."""

    message: Message
    from_address: str
    to_address: str
    data: bytes
    message_id: str


def delivery_message_id(delivery_id: int) -> str:
    """The Message-ID of a delivery's email: the same on every resend (a retry, a
    recovery after a crash), so a receiving server or client can drop the second copy.
    EMAIL_MESSAGE_ID_DOMAIN (default: the From address's domain) keeps it unique to
    this installation."""
    domain = settings.EMAIL_MESSAGE_ID_DOMAIN or parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2]
    return f"<delivery-{delivery_id}@{domain or DNS_NAME}>"


def _build(subject: str, text: str, html: str, to: str, headers: dict) -> EmailMultiAlternatives:
    email = EmailMultiAlternatives(
        subject=subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL, to=[to], headers=headers
    )
    if html:
        email.attach_alternative(html, "text/html")
    return email


def django_email(message: Message) -> tuple[EmailMultiAlternatives, str]:
    """The message as Django's email object, and its Message-ID."""
    message_id = delivery_message_id(message.delivery_id)
    headers = {**message.headers, "Message-ID": message_id}
    return _build(message.subject, message.text, message.html, message.to, headers), message_id


def full_email(message: Message) -> WireEmail:
    email, message_id = django_email(message)
    encoding = email.encoding or settings.DEFAULT_CHARSET
    return WireEmail(
        message=message,
        from_address=sanitize_address(email.from_email, encoding),
        to_address=sanitize_address(message.to, encoding),
        data=email.message().as_bytes(linesep="\r\n"),
        message_id=message_id,
    )


class MimeTemplate:
    """One content's message with placeholders, or `usable` False when the encoded
    bytes do not hold the bodies verbatim and each placeholder exactly where expected.
    `placeholders` are the per-message values of the bodies (message_substitutions)."""

    def __init__(self, content: tuple[str, str, str], placeholders: tuple[str, ...] = (UNSUBSCRIBE_PLACEHOLDER,)):
        subject, text, html = content
        headers = {**unsubscribe_headers(UNSUBSCRIBE_PLACEHOLDER), "Message-ID": MESSAGE_ID_PLACEHOLDER}
        email = _build(subject, text, html, TO_PLACEHOLDER, headers)
        self.data = email.message().as_bytes(linesep="\r\n")
        self.from_address = sanitize_address(email.from_email, email.encoding or settings.DEFAULT_CHARSET)
        self.placeholders = placeholders
        # Where each is expected: the bodies, and the unsubscribe link in its header too.
        expected = {p: text.count(p) + html.count(p) + (p == UNSUBSCRIBE_PLACEHOLDER) for p in placeholders}
        # Bodies sent as they are (8bit), not quoted-printable or base64, where a
        # swapped-in link would break the encoding.
        verbatim = all(body.replace("\n", "\r\n").encode() in self.data for body in (text, html) if body)
        self.usable = (
            verbatim
            and UNSUBSCRIBE_PLACEHOLDER in placeholders
            and self.data.count(TO_PLACEHOLDER.encode()) == 1
            and self.data.count(MESSAGE_ID_PLACEHOLDER.encode()) == 1
            and all(self.data.count(p.encode()) == n for p, n in expected.items())
        )

    def fill(self, message: Message) -> WireEmail:
        message_id = delivery_message_id(message.delivery_id)
        data = self.data.replace(TO_PLACEHOLDER.encode(), message.to.encode()).replace(
            MESSAGE_ID_PLACEHOLDER.encode(), message_id.encode()
        )
        for placeholder, value in message_substitutions(message).items():
            data = data.replace(placeholder.encode(), value.encode())
        # An 8bit line must stay within SMTP's limit once the links are in: else the
        # full build, which encodes such a body.
        if max(map(len, data.split(b"\r\n"))) > MAX_LINE_BYTES:
            return full_email(message)
        return WireEmail(message, self.from_address, message.to, data, message_id)


def wire_emails(messages: list[Message]) -> list[WireEmail]:
    templates: dict[tuple, MimeTemplate] = {}
    wire = []
    for message in messages:
        content = message.extra.get("template")
        values = message_substitutions(message)
        if content is None or not (message.to.isascii() and all(v.isascii() for v in values.values())):
            wire.append(full_email(message))
            continue
        key = (content, tuple(values))
        template = templates.get(key)
        if template is None:
            template = templates[key] = MimeTemplate(content, tuple(values))
        wire.append(template.fill(message) if template.usable else full_email(message))
    return wire
