"""The admin follows the same rule as the API: closing an event type or a scenario
removes what people subscribed themselves to, and a removal is remembered."""

import pytest
from django.urls import reverse

from apps.scenarios.models import Scenario
from apps.subscriptions.models import Subscription, SubscriptionOptOut, SubscriptionOrigin

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "pw-123456789"))
    return client


def test_unticking_self_service_removes_peoples_own_subscriptions(staff_client, make_user, subscribe, event_types):
    created = event_types["scenario.created"]
    mine = subscribe(make_user(), created)
    managed = subscribe(make_user(), created, origin=SubscriptionOrigin.SERVICE)
    url = reverse("admin:events_eventtype_change", args=[created.pk])
    body = {
        "name": created.name,
        "description": "",
        "default_channels": "[]",
        "default_priority": "normal",
        "throttle_window_seconds": 3600,
        "throttle_overflow": "hold",
    }
    assert staff_client.post(url, body).status_code == 302
    created.refresh_from_db()
    assert created.self_service is False
    assert list(Subscription.objects.values_list("pk", flat=True)) == [managed.pk]
    assert not Subscription.objects.filter(pk=mine.pk).exists()


def test_unsharing_a_scenario_in_the_admin_removes_the_others(staff_client, make_user, subscribe, event_types):
    owner, other = make_user(), make_user()
    scenario = Scenario.objects.create(owner=owner, name="Board", shared=True)
    subject = {"subject_type": "scenarios.scenario", "subject_id": str(scenario.pk)}
    kept = subscribe(owner, event_types["scenario.executed"], **subject)
    subscribe(other, event_types["scenario.executed"], **subject)
    url = reverse("admin:scenarios_scenario_change", args=[scenario.pk])
    body = {"owner": owner.pk, "name": "Board", "description": "", "execution_count": 0}
    assert staff_client.post(url, body).status_code == 302
    assert list(Subscription.objects.values_list("pk", flat=True)) == [kept.pk]


def test_deleting_in_the_admin_is_remembered_as_a_removal(staff_client, make_user, subscribe, event_types):
    row = subscribe(make_user(), event_types["scenario.created"], channel="email")
    url = reverse("admin:subscriptions_subscription_changelist")
    body = {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"}
    assert staff_client.post(url, body).status_code == 302
    assert not Subscription.objects.exists()
    assert SubscriptionOptOut.objects.filter(user=row.user, event_type=row.event_type, channel="email").exists()
