import pytest
from django.utils import timezone

from apps.events.models import Event
from apps.notifications.models import UserNotification

pytestmark = pytest.mark.django_db


@pytest.fixture
def item_for(event_types):
    def item_for(user, title="Hello", **fields):
        event = Event.objects.create(event_type=event_types["scenario.created"], data={})
        return UserNotification.objects.create(event=event, user=user, title=title, created_at=timezone.now(), **fields)

    return item_for


def test_anonymous_is_sent_to_the_sign_in_page(client):
    response = client.get("/inbox/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/inbox/"


def test_sign_in_page_has_labelled_fields_and_signs_in(client, alice):
    page = client.get("/accounts/login/?next=/inbox/").content.decode()
    assert '<label for="id_username">Username</label>' in page
    assert '<label for="id_password">Password</label>' in page
    response = client.post("/accounts/login/", {"username": "alice", "password": "secret-pass-1", "next": "/inbox/"})
    assert response.status_code == 302 and response["Location"] == "/inbox/"
    client.logout()
    wrong = client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    assert wrong.status_code == 200 and 'role="alert"' in wrong.content.decode()


def test_inbox_lists_own_items_with_the_unread_count(signed_in, alice, make_user, item_for):
    item_for(alice, "First")
    item_for(alice, "Second", read_at=timezone.now())
    item_for(alice, "Gone", archived_at=timezone.now())
    item_for(make_user("bob"), "Bob's own")

    page = signed_in.get("/inbox/").content.decode()
    assert 'id="unread-count" data-count="1">1<' in page
    assert "First" in page and "Second" in page
    assert "Gone" not in page and "Bob&#x27;s own" not in page
    assert 'aria-live="polite"' in page
    assert page.index("Second") < page.index("First")  # newest first

    unread_only = signed_in.get("/inbox/?show=unread").content.decode()
    assert "First" in unread_only and "Second" not in unread_only
    archived = signed_in.get("/inbox/?show=archived").content.decode()
    assert "Gone" in archived and "First" not in archived


def test_titles_are_escaped(signed_in, alice, item_for):
    item_for(alice, "<script>alert(1)</script>")
    page = signed_in.get("/inbox/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_mark_read_answers_json_to_the_script_and_redirects_a_plain_form(signed_in, alice, item_for):
    item = item_for(alice)
    response = signed_in.post(f"/inbox/{item.pk}/read/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    body = response.json()
    assert body["unread"] == 0 and body["item"]["is_read"] is True and body["item"]["id"] == item.pk

    response = signed_in.post(f"/inbox/{item.pk}/unread/", {"next": "/inbox/?show=unread"})
    assert response.status_code == 302 and response["Location"] == "/inbox/?show=unread"
    item.refresh_from_db()
    assert item.read_at is None

    # An outside "next" is not followed.
    response = signed_in.post(f"/inbox/{item.pk}/archive/", {"next": "https://evil.example/"})
    assert response["Location"] == "/inbox/"
    item.refresh_from_db()
    assert item.archived_at is not None


def test_someone_elses_item_is_404_and_unchanged(signed_in, make_user, item_for):
    other = item_for(make_user("bob"))
    assert signed_in.post(f"/inbox/{other.pk}/read/", HTTP_ACCEPT="application/json").status_code == 404
    other.refresh_from_db()
    assert other.read_at is None


def test_unknown_action_and_get_are_refused(signed_in, alice, item_for):
    item = item_for(alice)
    assert signed_in.post(f"/inbox/{item.pk}/delete/").status_code == 404
    assert signed_in.get(f"/inbox/{item.pk}/read/").status_code == 405  # no mark-read over GET
    item.refresh_from_db()
    assert item.read_at is None


def test_mark_all_read(signed_in, alice, item_for):
    for index in range(3):
        item_for(alice, f"Item {index}")
    response = signed_in.post("/inbox/read-all/", HTTP_ACCEPT="application/json")
    assert response.json() == {"updated": 3, "unread": 0}
    assert signed_in.get("/api/v1/inbox/unread-count/").json() == {"unread": 0}


# Committed: the stream admits callers on its own database threads, which do not see
# a test's open transaction.
@pytest.mark.django_db(transaction=True)
def test_stream_refuses_anonymous_and_service_keys(client, api_key_client):
    response = client.get("/api/v1/inbox/stream/", HTTP_ACCEPT="text/event-stream")
    assert response.status_code in (401, 403)
    assert response.json()["error"]["code"] in ("not_authenticated", "permission_denied")
    assert api_key_client().get("/api/v1/inbox/stream/", HTTP_ACCEPT="text/event-stream").status_code == 403
