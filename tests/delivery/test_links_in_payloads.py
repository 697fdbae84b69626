"""A link stored before the link rule never leaves the service: push and webhook
payloads, SMS text and email carry it as no link; an allowed one goes out as is."""

import json

import pytest

from apps.delivery.channels import push, webhook
from apps.delivery.channels.email_content import render_content
from apps.delivery.models import Delivery

from .factories import make_delivery

pytestmark = pytest.mark.django_db


def delivery_with_link(user, event_type, channel, link):
    delivery = make_delivery(user, event_type, channel)
    delivery.notification.url = link
    delivery.notification.save(update_fields=["url"])
    return Delivery.objects.select_related("notification__event__event_type", "notification__user").get(pk=delivery.pk)


@pytest.mark.parametrize(("link", "shown"), [("javascript:alert(1)", ""), ("//evil.com", ""), ("/inbox/", "/inbox/")])
def test_push_webhook_and_email_carry_only_allowed_links(make_user, event_types, link, shown):
    created = event_types["scenario.created"]
    pushed = delivery_with_link(make_user(), created, "push", link)
    assert json.loads(push._payload(pushed, "t", "b"))["url"] == shown
    hooked = delivery_with_link(make_user(), created, "webhook", link)
    assert json.loads(webhook._payload(hooked, "t", "b"))["data"]["url"] == shown
    mailed = delivery_with_link(make_user(), created, "email", link)
    _, text, html = render_content(mailed.notification)
    assert (">Open</a>" in html) == bool(shown) and ("evil" not in text and "javascript" not in text + html)
    if shown:
        assert f'href="{shown}"' in html and shown in text
