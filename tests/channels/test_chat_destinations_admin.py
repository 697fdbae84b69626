"""Chat destinations are the operators' alone, made in the admin: the Apprise URL is
checked, encrypted at rest, never shown again (the list shows it masked), and kept
when a change leaves the field empty."""

import pytest
from django.contrib.auth import get_user_model

from apps.delivery.models import ChatDestination

pytestmark = pytest.mark.django_db

SECRET_URL = "tgram://123456789:AAE-secret-bot-token/-100200300"


@pytest.fixture
def admin_client(client):
    staff = get_user_model().objects.create_superuser("root", "root@example.com", "root-pass-1")
    client.force_login(staff)
    return client


def test_a_destination_is_made_with_its_event_types_and_its_url_is_not_shown_again(admin_client, event_types):
    created = event_types["scenario.created"]
    response = admin_client.post(
        "/admin/delivery/chatdestination/add/",
        {"name": "ops telegram", "apprise_url": SECRET_URL, "event_types": [created.pk], "is_active": "on"},
        follow=True,
    )
    assert response.status_code == 200
    destination = ChatDestination.objects.get()
    assert destination.apprise_url == SECRET_URL
    assert list(destination.event_types.values_list("key", flat=True)) == ["scenario.created"]
    listing = admin_client.get("/admin/delivery/chatdestination/").content.decode()
    assert "secret-bot-token" not in listing and "tgram://" in listing
    page = admin_client.get(f"/admin/delivery/chatdestination/{destination.pk}/change/").content.decode()
    assert "secret-bot-token" not in page

    # A change that leaves the URL empty keeps it.
    admin_client.post(
        f"/admin/delivery/chatdestination/{destination.pk}/change/",
        {"name": "ops telegram (renamed)", "apprise_url": "", "event_types": [created.pk], "is_active": "on"},
    )
    destination.refresh_from_db()
    assert (destination.name, destination.apprise_url) == ("ops telegram (renamed)", SECRET_URL)


@pytest.mark.parametrize("url", ["https://not-an-apprise-scheme.example.com/x", "nosuchservice://a/b", ""])
def test_a_url_apprise_does_not_know_is_refused(admin_client, url):
    response = admin_client.post(
        "/admin/delivery/chatdestination/add/", {"name": "bad", "apprise_url": url, "is_active": "on"}
    )
    assert response.status_code == 200  # the form again, with the error
    assert "errornote" in response.content.decode()
    assert not ChatDestination.objects.exists()
