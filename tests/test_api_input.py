"""Bad input answers 4xx in the error envelope and writes nothing."""

import pytest

from apps.events.models import Event
from apps.notifications.models import UserNotification
from apps.scenarios.models import Scenario
from apps.subscriptions.models import Subscription

pytestmark = pytest.mark.django_db


def assert_envelope(response, status, code=None):
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["message"]
    if code:
        assert error["code"] == code
    return error


@pytest.fixture
def publisher(api_key_client, event_types):
    return api_key_client(["events:write"])


@pytest.mark.parametrize(
    "body, bad_field",
    [
        ({"event_type": "no.such.type", "data": {}}, "event_type"),
        ({"data": {}}, "event_type"),
        ({"event_type": "scenario.created", "data": ["not", "an", "object"]}, "data"),
        ({"event_type": "scenario.created", "data": "text"}, "data"),
        ({"event_type": "scenario.created", "subject": {"type": "x"}}, "subject"),
        ({"event_type": "scenario.created", "subject": "scenarios.scenario:1"}, "subject"),
        ({"event_type": "scenario.created", "actor": "alice"}, "actor"),
        ({"event_type": "scenario.created", "actor": 99999999}, "actor"),
        ({"event_type": ["scenario.created"]}, "event_type"),
    ],
)
def test_bad_event_fields_are_named_and_nothing_is_written(publisher, body, bad_field):
    error = assert_envelope(publisher.post("/api/v1/events/", body, format="json"), 400, "invalid_input")
    assert bad_field in error["details"]
    assert Event.objects.count() == 0


@pytest.mark.parametrize("raw", [b"{", b"not json", b'{"event_type": "scenario.created",}', b"\xff\xfe"])
def test_malformed_json_is_400(publisher, raw):
    response = publisher.post("/api/v1/events/", raw, content_type="application/json")
    assert_envelope(response, 400, "parse_error")
    assert Event.objects.count() == 0


def test_a_json_array_body_is_400(publisher):
    assert_envelope(publisher.post("/api/v1/events/", [1, 2], format="json"), 400)


def test_oversized_body_is_413(publisher, settings):
    body = {"event_type": "scenario.created", "data": {"blob": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)}}
    assert_envelope(publisher.post("/api/v1/events/", body, format="json"), 413, "request_too_large")
    assert Event.objects.count() == 0


def test_event_data_over_its_own_limit_is_400(publisher, settings):
    settings.EVENT_DATA_MAX_BYTES = 100
    body = {"event_type": "scenario.created", "data": {"blob": "x" * 200}}
    error = assert_envelope(publisher.post("/api/v1/events/", body, format="json"), 400)
    assert "data" in error["details"]
    assert Event.objects.count() == 0


def test_form_encoded_body_is_415(publisher):
    response = publisher.post("/api/v1/events/", {"event_type": "scenario.created"})
    assert_envelope(response, 415, "unsupported_media_type")


def test_reusing_an_idempotency_key_with_another_body_is_422(publisher):
    first = publisher.post(
        "/api/v1/events/",
        {"event_type": "scenario.created", "data": {"a": 1}},
        format="json",
        HTTP_IDEMPOTENCY_KEY="same",
    )
    assert first.status_code == 202
    other = publisher.post(
        "/api/v1/events/",
        {"event_type": "scenario.created", "data": {"a": 2}},
        format="json",
        HTTP_IDEMPOTENCY_KEY="same",
    )
    assert_envelope(other, 422)
    assert Event.objects.count() == 1


def test_no_credentials_is_401_and_a_bad_key_is_401(client, api_key_client):
    assert_envelope(client.get("/api/v1/inbox/"), 401)
    client.defaults["HTTP_AUTHORIZATION"] = "Bearer nsk_nope_nope"
    assert_envelope(client.get("/api/v1/event-types/"), 401)


def test_a_persons_token_works_until_deleted_or_the_person_is_deactivated(client, make_user, event_types):
    from rest_framework.authtoken.models import Token

    person, other = make_user(), make_user()
    event = Event.objects.create(event_type=event_types["scenario.created"], data={})
    mine = UserNotification.objects.create(event=event, user=person, title="mine", created_at=event.created_at)
    UserNotification.objects.create(event=event, user=other, title="theirs", created_at=event.created_at)
    token = Token.objects.create(user=person)
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {token.key}"
    assert [item["id"] for item in client.get("/api/v1/inbox/").json()["results"]] == [mine.pk]

    person.is_active = False
    person.save(update_fields=["is_active"])
    assert_envelope(client.get("/api/v1/inbox/"), 401)

    person.is_active = True
    person.save(update_fields=["is_active"])
    token.delete()
    assert_envelope(client.get("/api/v1/inbox/"), 401)
    client.defaults["HTTP_AUTHORIZATION"] = "Token " + "0" * 40
    assert_envelope(client.get("/api/v1/inbox/"), 401)


def test_missing_scope_is_403(api_key_client, event_types):
    reader = api_key_client(["read"])
    assert reader.get("/api/v1/event-types/").status_code == 200
    assert_envelope(reader.post("/api/v1/events/", {"event_type": "scenario.created"}, format="json"), 403)
    assert Event.objects.count() == 0


def test_people_cannot_use_service_endpoints_nor_services_the_inbox(client_for, make_user, api_key_client):
    assert_envelope(client_for(make_user()).post("/api/v1/events/", {}, format="json"), 403)
    assert_envelope(api_key_client().get("/api/v1/inbox/"), 403)


def test_unknown_path_is_a_json_404(client):
    assert_envelope(client.get("/api/v1/nothing-here/"), 404)


def test_bad_inbox_filters_are_400(client_for, make_user):
    client = client_for(make_user())
    assert_envelope(client.get("/api/v1/inbox/?status=maybe"), 400)
    assert_envelope(client.get("/api/v1/inbox/?archived=perhaps"), 400)
    assert_envelope(client.get("/api/v1/inbox/?cursor=garbage"), 400)


class TestOtherPeoplesIds:
    """Another person's id answers 404 and changes nothing."""

    @pytest.fixture
    def setup(self, event_types, make_user, subscribe, client_for):
        owner, intruder = make_user("owner"), make_user("intruder")
        subscription = subscribe(owner, event_types["scenario.created"])
        scenario = Scenario.objects.create(owner=owner, name="Mine")
        event = Event.objects.create(event_type=event_types["scenario.created"])
        item = UserNotification.objects.create(event=event, user=owner, title="t", created_at=event.created_at)
        return client_for(intruder), subscription, scenario, item

    def test_inbox_items(self, setup):
        client, _, _, item = setup
        for action in ("read", "unread", "archive", "unarchive"):
            assert_envelope(client.post(f"/api/v1/inbox/{item.pk}/{action}/"), 404)
        item.refresh_from_db()
        assert item.read_at is None and item.archived_at is None
        assert client.post("/api/v1/inbox/read-all/").json() == {"updated": 0}

    def test_subscriptions(self, setup):
        client, subscription, _, _ = setup
        assert_envelope(client.get(f"/api/v1/subscriptions/{subscription.pk}/"), 404)
        assert_envelope(
            client.patch(f"/api/v1/subscriptions/{subscription.pk}/", {"enabled": False}, format="json"), 404
        )
        assert_envelope(client.delete(f"/api/v1/subscriptions/{subscription.pk}/"), 404)
        assert Subscription.objects.get(pk=subscription.pk).enabled is True

    def test_scenarios(self, setup):
        client, _, scenario, _ = setup
        assert_envelope(client.get(f"/api/v1/scenarios/{scenario.pk}/"), 404)
        assert_envelope(client.post(f"/api/v1/scenarios/{scenario.pk}/execute/"), 404)
        assert_envelope(client.delete(f"/api/v1/scenarios/{scenario.pk}/"), 404)
        scenario.refresh_from_db()
        assert scenario.execution_count == 0
