"""The per-content MIME shortcut gives each recipient exactly their own message."""

from email import message_from_bytes
from email import policy as email_policy

from apps.delivery.channels.base import Message
from apps.delivery.channels.email_content import UNSUBSCRIBE_PLACEHOLDER
from apps.delivery.channels.email_mime import MimeTemplate, wire_emails
from apps.delivery.unsubscribe import unsubscribe_headers

CONTENT = (
    "Scenario “Checkout” created",
    f"Scenario “Checkout” created\n\nUnsubscribe: {UNSUBSCRIBE_PLACEHOLDER}",
    f'<p>Scenario “Checkout” created</p><a href="{UNSUBSCRIBE_PLACEHOLDER}">Unsubscribe</a>',
)


def message_for(delivery_id, to, content=CONTENT):
    link = f"https://notify.example.com/unsubscribe/token-{delivery_id}/"
    subject, text, html = content
    return Message(
        delivery_id=delivery_id,
        user_id=delivery_id,
        to=to,
        subject=subject,
        text=text.replace(UNSUBSCRIBE_PLACEHOLDER, link),
        html=html.replace(UNSUBSCRIBE_PLACEHOLDER, link),
        headers=unsubscribe_headers(link),
        extra={"template": content, "unsubscribe_url": link},
    )


def parsed(wire):
    return message_from_bytes(wire.data, policy=email_policy.default)


def body(email, kind):
    return email.get_body((kind,)).get_content().replace("\r\n", "\n").rstrip("\n")


def test_each_recipient_gets_their_address_id_and_link():
    assert MimeTemplate(CONTENT).usable  # the shortcut is taken for ordinary content
    messages = [message_for(1, "ann@example.com"), message_for(2, "bob@example.com")]
    first, second = wire_emails(messages)
    for wire, message in ((first, messages[0]), (second, messages[1])):
        email = parsed(wire)
        link = message.extra["unsubscribe_url"]
        assert wire.to_address == message.to and email["To"] == message.to
        assert email["Message-ID"] == wire.message_id
        assert email["Subject"] == "Scenario “Checkout” created"
        assert email["List-Unsubscribe"] == f"<{link}>"
        assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert body(email, "plain") == message.text
        assert body(email, "html") == message.html
        assert b"placeholder" not in wire.data and UNSUBSCRIBE_PLACEHOLDER.encode() not in wire.data
    assert first.message_id != second.message_id


def test_a_non_ascii_address_is_built_in_full():
    [wire] = wire_emails([message_for(3, "zoë@exämple.com")])
    email = parsed(wire)
    assert "xn--" in wire.to_address  # the domain in IDNA, as Django's backend sends it
    assert body(email, "plain").endswith("token-3/")


def test_a_body_the_encoder_would_wrap_is_not_templated():
    long_line = "x" * 1200 + UNSUBSCRIBE_PLACEHOLDER  # over 998 characters: quoted-printable
    content = ("Subject", long_line, "")
    assert MimeTemplate(content).usable is False
    [wire] = wire_emails([message_for(4, "cy@example.com", content)])
    text = body(parsed(wire), "plain")
    assert text.endswith("token-4/") and "placeholder" not in text


def test_a_line_the_links_push_past_the_limit_is_built_in_full():
    """Within the limit with the placeholder, over it with the link swapped in."""
    line = "x" * (998 - len(UNSUBSCRIBE_PLACEHOLDER) - 2) + UNSUBSCRIBE_PLACEHOLDER
    content = ("Subject", line, "")
    assert MimeTemplate(content).usable
    [wire] = wire_emails([message_for(5, "di@example.com", content)])
    assert max(map(len, wire.data.split(b"\r\n"))) <= 998
    text = body(parsed(wire), "plain")
    assert text.endswith("token-5/") and "placeholder" not in text
