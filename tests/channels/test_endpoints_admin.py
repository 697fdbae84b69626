"""Service webhook endpoints are managed in the admin: the secret is made by the
service code and shown once; rotation is an admin action."""

import pytest
from django.contrib.auth import get_user_model

from apps.accounts.models import WebhookEndpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    staff = get_user_model().objects.create_superuser("root", "root@example.com", "root-pass-1")
    client.force_login(staff)
    return client


def shown_messages(response):
    return [str(m) for m in response.context["messages"]]


def test_a_service_endpoint_is_created_with_its_event_types_and_the_secret_shown_once(admin_client, event_types):
    created, deleted = event_types["scenario.created"], event_types["scenario.deleted"]
    response = admin_client.post(
        "/admin/accounts/webhookendpoint/add/",
        {
            "url": "http://localhost:9/ops",
            "description": "ops",
            "event_types": [created.pk, deleted.pk],
            "is_active": "on",
        },
        follow=True,
    )
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.user is None and endpoint.secret.startswith("whsec_")
    assert set(endpoint.event_types.values_list("key", flat=True)) == {"scenario.created", "scenario.deleted"}
    assert any(endpoint.secret in message for message in shown_messages(response))
    # The change page does not show it again.
    page = admin_client.get(f"/admin/accounts/webhookendpoint/{endpoint.pk}/change/")
    assert page.status_code == 200 and endpoint.secret not in page.content.decode()


def test_a_private_url_is_refused_in_the_admin_too(admin_client):
    response = admin_client.post(
        "/admin/accounts/webhookendpoint/add/", {"url": "http://169.254.169.254/latest", "is_active": "on"}
    )
    assert response.status_code == 200  # the form again, with the error
    assert "cloud metadata" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_the_rotate_action_keeps_the_old_secret_for_the_grace_period(admin_client):
    endpoint = WebhookEndpoint.objects.create(url="http://localhost:9/ops", secret="whsec_b2xk")
    response = admin_client.post(
        "/admin/accounts/webhookendpoint/",
        {"action": "rotate_secret", "_selected_action": [endpoint.pk]},
        follow=True,
    )
    endpoint.refresh_from_db()
    assert endpoint.previous_secret == "whsec_b2xk" and endpoint.secret != "whsec_b2xk"
    assert any(endpoint.secret in message for message in shown_messages(response))
