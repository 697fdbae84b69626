"""The demo subscribes bob to scenario.created by email too, as bob himself would
through the API (a person's subscription, under the access rule), once however often
it is loaded."""

import pytest
from django.core.management import call_command

from apps.common.channels import Channel
from apps.subscriptions.models import Subscription, SubscriptionOrigin

pytestmark = pytest.mark.django_db


def test_bob_is_subscribed_by_email_once_as_a_person(settings, event_types):
    settings.DEBUG = True
    call_command("load_demo")
    call_command("load_demo")

    [subscription] = Subscription.objects.filter(channel=Channel.EMAIL)
    assert subscription.user.username == "bob" and subscription.user.email == "bob@example.com"
    assert subscription.event_type.key == "scenario.created"
    assert subscription.enabled and subscription.origin == SubscriptionOrigin.PERSON
