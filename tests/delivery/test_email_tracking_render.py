"""Which emails are tracked and what tracking changes in them, rendered as dispatch
renders them (the whole flow, through a worker and a client, is in
tests/integration/test_email_tracking.py)."""

from email import message_from_bytes
from email import policy as email_policy

import pytest
from bs4 import BeautifulSoup

from apps.delivery import rendering
from apps.delivery.channels.email_content import message_substitutions
from apps.delivery.channels.email_mime import MimeTemplate, wire_emails
from apps.delivery.channels.email_sendgrid import SendGridProvider
from apps.delivery.channels.registry import get_channel
from apps.delivery.models import Delivery, DeliveryStatus, TrackedEmail
from apps.templating.services import template_create, template_email_tracking_set

from .factories import make_delivery

pytestmark = pytest.mark.django_db

PUBLIC = "https://notify.example.com"
HTML = (
    '<p><a href=" https://shop.example.com/o/1?a=1&amp;b=2 ">order</a> <a href="mailto:help@example.com">help</a>'
    ' <a href="javascript:alert(1)">x</a> <a href="/relative">r</a> <a href="//evil.example/">e</a>'
    ' <area href="http://map.example.com/"></p>'
)


@pytest.fixture(autouse=True)
def fresh(settings):
    settings.PUBLIC_BASE_URL = PUBLIC
    rendering._stored_seen.clear()
    yield
    rendering._stored_seen.clear()


def rendered(user, event_type):
    delivery = make_delivery(user, event_type, "email", status=DeliveryStatus.SENDING)
    loaded = Delivery.objects.select_related("notification__user__profile", "notification__event__event_type").get(
        pk=delivery.pk
    )
    channel = get_channel("email")
    message = channel.render(loaded)
    channel.messages_prepare([message])  # as dispatch does once the batch is rendered
    return delivery, message


def stored(event_type, html=HTML, **fields):
    return template_create(
        event_type=event_type,
        channel="email",
        locale="en",
        subject="S",
        body="Text https://shop.example.com/o/1",
        html=html,
        **fields,
    )


def test_tracking_is_off_by_default(make_user, event_types):
    stored(event_types["scenario.executed"])
    delivery, message = rendered(make_user("ann"), event_types["scenario.executed"])
    assert "/email/" not in message.html and "<img" not in message.html
    assert not TrackedEmail.objects.filter(pk=delivery.pk).exists()


def test_the_setting_tracks_http_links_only_and_leaves_the_text_alone(settings, make_user, event_types):
    settings.EMAIL_TRACKING_ENABLED = True
    template = stored(event_types["scenario.executed"])
    delivery, message = rendered(make_user("bea"), event_types["scenario.executed"])

    soup = BeautifulSoup(message.html, "html.parser")
    hrefs = [a["href"] for a in soup.find_all(["a", "area"])]
    assert hrefs[0].startswith(f"{PUBLIC}/email/click/") and hrefs[5].startswith(f"{PUBLIC}/email/click/")
    assert hrefs[1:5] == ["mailto:help@example.com", "javascript:alert(1)", "/relative", "//evil.example/"]
    assert hrefs[6] == message.extra["unsubscribe_url"]  # the unsubscribe link as it was
    assert soup.find("img")["src"].startswith(f"{PUBLIC}/email/open/")
    assert message.text.startswith("Text https://shop.example.com/o/1") and "/email/" not in message.text

    tracked = TrackedEmail.objects.get(pk=delivery.pk)
    assert tracked.links == ["https://shop.example.com/o/1?a=1&b=2", "http://map.example.com/"]
    assert tracked.template_id == template.pk
    # What goes over SMTP is this message's own tracked HTML.
    [wire] = wire_emails([message])
    assert hrefs[0].encode() in wire.data


def test_tracked_recipients_of_one_content_share_one_mime_template(settings, make_user, event_types):
    settings.EMAIL_TRACKING_ENABLED = True
    stored(event_types["scenario.executed"])
    messages = [rendered(make_user(name), event_types["scenario.executed"])[1] for name in ("gus", "hal")]
    content = messages[0].extra["template"]
    assert content == messages[1].extra["template"] and "%%tracked_link_0%%" in content[2]
    assert MimeTemplate(content, tuple(message_substitutions(messages[0]))).usable
    for wire, message in zip(wire_emails(messages), messages, strict=True):
        email = message_from_bytes(wire.data, policy=email_policy.default)
        html = email.get_body(("html",)).get_content().replace("\r\n", "\n").rstrip("\n")
        assert html == message.html and b"%%" not in wire.data
    assert messages[0].html != messages[1].html  # each has its own signed links


def test_sendgrid_gets_one_tracked_content_and_each_recipient_its_links(settings, make_user, event_types):
    settings.EMAIL_TRACKING_ENABLED = True
    settings.SENDGRID_API_KEY = "SG.test"
    stored(event_types["scenario.executed"])
    messages = [rendered(make_user(name), event_types["scenario.executed"])[1] for name in ("ida", "jon")]
    body = SendGridProvider()._request_body(messages[0].extra["template"], messages)
    html = body["content"][1]["value"]
    for personalization, message in zip(body["personalizations"], messages, strict=True):
        filled = html
        for placeholder, value in personalization["substitutions"].items():
            filled = filled.replace(placeholder, value)
        assert filled == message.html


def test_a_template_overrides_the_setting_either_way(settings, make_user, event_types):
    executed = event_types["scenario.executed"]
    template = stored(executed, email_tracking=True)
    delivery, message = rendered(make_user("cat"), executed)
    assert f"{PUBLIC}/email/open/" in message.html and TrackedEmail.objects.filter(pk=delivery.pk).exists()

    settings.EMAIL_TRACKING_ENABLED = True
    template_email_tracking_set(template=template, email_tracking=False)
    delivery, message = rendered(make_user("dan"), executed)
    assert "/email/" not in message.html and not TrackedEmail.objects.filter(pk=delivery.pk).exists()


def test_file_templates_follow_the_setting_and_text_only_emails_are_not_tracked(settings, make_user, event_types):
    settings.EMAIL_TRACKING_ENABLED = True
    delivery, message = rendered(make_user("eve"), event_types["scenario.created"])
    assert f"{PUBLIC}/email/open/" in message.html
    assert TrackedEmail.objects.get(pk=delivery.pk).template_id is None

    rendering._stored_seen.clear()
    stored(event_types["scenario.deleted"], html="")
    delivery, message = rendered(make_user("fay"), event_types["scenario.deleted"])
    assert message.html == "" and not TrackedEmail.objects.filter(pk=delivery.pk).exists()
