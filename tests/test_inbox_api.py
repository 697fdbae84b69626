import pytest

from apps.events.models import Event
from apps.notifications.models import UserNotification

pytestmark = pytest.mark.django_db


@pytest.fixture
def inbox_of(event_types):
    """Give a user n inbox items of the given event type (oldest first)."""

    def inbox_of(user, n, key="scenario.created", in_inbox=True):
        items = []
        for i in range(n):
            event = Event.objects.create(event_type=event_types[key], data={"i": i})
            items.append(
                UserNotification.objects.create(
                    event=event, user=user, title=f"{key} {i}", in_inbox=in_inbox, created_at=event.created_at
                )
            )
        return items

    return inbox_of


def ids(response):
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


def test_list_is_newest_first_with_cursor_pages(make_user, client_for, inbox_of):
    user = make_user()
    items = inbox_of(user, 5)
    client = client_for(user)
    first = client.get("/api/v1/inbox/?limit=2").json()
    assert [i["id"] for i in first["results"]] == [items[4].pk, items[3].pk]
    second = client.get(first["next"]).json()
    assert [i["id"] for i in second["results"]] == [items[2].pk, items[1].pk]
    assert set(first["results"][0]) >= {
        "id",
        "event_type",
        "title",
        "body",
        "data",
        "url",
        "is_read",
        "read_at",
        "is_archived",
        "created_at",
    }


def test_list_items_are_the_item_serializers_output(make_user, client_for, inbox_of):
    """The list builds its items from rows (see inbox_item_rows): the same JSON as the
    serializer gives for one item, whichever data, read and archived states it has."""
    from apps.notifications.api import InboxItemOutput

    user = make_user()
    plain, own_data, read, archived = inbox_of(user, 4)
    UserNotification.objects.filter(pk=own_data.pk).update(data={"own": ["data", 1]}, url="/x")
    client = client_for(user)
    client.post(f"/api/v1/inbox/{read.pk}/read/")
    client.post(f"/api/v1/inbox/{archived.pk}/archive/")

    listed = (
        client.get("/api/v1/inbox/?status=all").json()["results"]
        + client.get("/api/v1/inbox/?archived=true").json()["results"]
    )
    by_id = {item["id"]: item for item in listed}
    assert set(by_id) == {plain.pk, own_data.pk, read.pk, archived.pk}
    for item in UserNotification.objects.filter(pk__in=by_id).select_related("event__event_type"):
        assert by_id[item.pk] == InboxItemOutput(item).data
    assert by_id[own_data.pk]["data"] == {"own": ["data", 1]}
    assert by_id[plain.pk]["data"] == {"i": 0}
    assert by_id[read.pk]["is_read"] and by_id[read.pk]["read_at"].endswith("Z")
    assert by_id[archived.pk]["is_archived"] and by_id[archived.pk]["archived_at"]


def test_filters_read_state_archive_and_event_type(make_user, client_for, inbox_of):
    user = make_user()
    created = inbox_of(user, 2)
    executed = inbox_of(user, 1, key="scenario.executed")
    inbox_of(user, 1, in_inbox=False)  # reached by another channel only: never listed
    client = client_for(user)
    client.post(f"/api/v1/inbox/{created[0].pk}/read/")
    client.post(f"/api/v1/inbox/{created[1].pk}/archive/")

    assert ids(client.get("/api/v1/inbox/")) == [executed[0].pk, created[0].pk]
    assert ids(client.get("/api/v1/inbox/?status=unread")) == [executed[0].pk]
    assert ids(client.get("/api/v1/inbox/?status=read")) == [created[0].pk]
    assert ids(client.get("/api/v1/inbox/?archived=true")) == [created[1].pk]
    assert ids(client.get("/api/v1/inbox/?event_type=scenario.executed")) == [executed[0].pk]
    assert client.get("/api/v1/inbox/unread-count/").json() == {"unread": 1}

    client.post(f"/api/v1/inbox/{created[1].pk}/unarchive/")
    assert client.get("/api/v1/inbox/unread-count/").json() == {"unread": 2}


def test_read_is_idempotent_and_keeps_the_first_read_time(make_user, client_for, inbox_of):
    user = make_user()
    (item,) = inbox_of(user, 1)
    client = client_for(user)
    first = client.post(f"/api/v1/inbox/{item.pk}/read/").json()
    again = client.post(f"/api/v1/inbox/{item.pk}/read/").json()
    assert first["is_read"] and again["read_at"] == first["read_at"]
    assert client.post(f"/api/v1/inbox/{item.pk}/unread/").json()["is_read"] is False


def test_read_all_touches_only_the_callers_unread_items(make_user, client_for, inbox_of):
    me, other = make_user(), make_user()
    inbox_of(me, 3)
    theirs = inbox_of(other, 2)
    response = client_for(me).post("/api/v1/inbox/read-all/")
    assert response.json() == {"updated": 3}
    assert client_for(me).get("/api/v1/inbox/unread-count/").json() == {"unread": 0}
    assert UserNotification.objects.filter(pk__in=[t.pk for t in theirs], read_at__isnull=True).count() == 2


def test_mark_read_over_get_is_not_allowed(make_user, client_for, inbox_of):
    user = make_user()
    (item,) = inbox_of(user, 1)
    assert client_for(user).get(f"/api/v1/inbox/{item.pk}/read/").status_code == 405
    item.refresh_from_db()
    assert item.read_at is None
