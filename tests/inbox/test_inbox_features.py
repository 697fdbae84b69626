"""The inbox's snooze, actions and grouped lines: the API through HTTP against a live
server as the person (a token), the grouping selector against PostgreSQL, and the
page's snooze form."""

import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
from django.db import connection
from django.utils import timezone
from rest_framework.authtoken.models import Token

from apps.events.models import Event
from apps.inbox.snooze_times import snooze_until
from apps.notifications import grouping
from apps.notifications.grouping import inbox_lines
from apps.notifications.models import UserNotification
from apps.notifications.selectors import inbox_awake, inbox_unread_count, inbox_visible_list

SUBJECT = "scenarios.scenario"


@pytest.fixture
def item_for(event_types):
    """An inbox item of `user`; `subject` names a subject id, `data` the event's data."""

    def item_for(user, title="Hello", *, key="scenario.executed", subject="", data=None, **fields):
        event = Event.objects.create(
            event_type=event_types[key],
            subject_type=SUBJECT if subject else "",
            subject_id=subject,
            data=data or {},
        )
        return UserNotification.objects.create(event=event, user=user, title=title, created_at=timezone.now(), **fields)

    return item_for


class Person:
    """A person calling the API over HTTP with their own token."""

    def __init__(self, base_url, user):
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {Token.objects.create(user=user).key}"

    def get(self, path, **params):
        return self.session.get(self.base_url + path, params=params, timeout=10)

    def post(self, path, body=None, **kwargs):
        return self.session.post(self.base_url + path, json=body, timeout=10, **kwargs)

    def listed_ids(self, **params):
        response = self.get("/api/v1/inbox/", **params)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["results"]]

    def unread(self):
        return self.get("/api/v1/inbox/unread-count/").json()["unread"]


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


@pytest.mark.django_db(transaction=True)
class TestSnoozeApi:
    def test_snoozed_item_is_hidden_then_back_unread(self, live_server, make_user, item_for):
        alice = make_user("alice")
        kept = item_for(alice, "Kept")
        snoozed = item_for(alice, "Later", read_at=timezone.now())  # read, and snoozed anyway
        person = Person(live_server.url, alice)
        assert person.unread() == 1

        until = timezone.now() + timedelta(hours=3)
        response = person.post(f"/api/v1/inbox/{snoozed.pk}/snooze/", {"until": iso(until)})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["id"] == snoozed.pk and body["is_read"] is False
        assert datetime.fromisoformat(body["snoozed_until"]) == until.replace(microsecond=until.microsecond)

        # Hidden from the list in every view and from the count; the other item is not.
        assert person.listed_ids() == [kept.pk]
        assert snoozed.pk not in person.listed_ids(status="unread")
        assert snoozed.pk not in person.listed_ids(status="all")
        assert person.unread() == 1
        assert person.get("/api/v1/inbox/", group="subject").json()["results"][0]["items"][0]["id"] == kept.pk
        # "Mark all read" is about what the person sees: the snoozed one stays unread.
        assert person.post("/api/v1/inbox/read-all/").json() == {"updated": 1}
        assert person.unread() == 0

        # Time passes: the snooze ends by the comparison alone, no job runs.
        UserNotification.objects.filter(pk=snoozed.pk).update(snoozed_until=timezone.now() - timedelta(seconds=1))
        assert person.listed_ids() == [snoozed.pk, kept.pk]
        assert person.unread() == 1
        back = person.get("/api/v1/inbox/", status="unread").json()["results"]
        assert [item["id"] for item in back] == [snoozed.pk]

    def test_a_snooze_of_a_second_ends_on_its_own(self, live_server, make_user, item_for):
        alice = make_user("alice")
        item = item_for(alice)
        person = Person(live_server.url, alice)
        until = timezone.now() + timedelta(seconds=1.5)
        assert person.post(f"/api/v1/inbox/{item.pk}/snooze/", {"until": iso(until)}).status_code == 200
        assert person.listed_ids() == [] and person.unread() == 0
        time.sleep(max(0.0, (until - timezone.now()).total_seconds()) + 0.2)
        assert person.listed_ids() == [item.pk] and person.unread() == 1

    @pytest.mark.parametrize(
        "body, field",
        [
            ({"until": "past"}, "until"),
            ({"until": "2020-01-01T09:00:00Z"}, "until"),
            ({"until": "next tuesday"}, "until"),
            ({"until": 1700000000}, "until"),
            ({"until": None}, "until"),
            ({}, "until"),
            ({"until": "far"}, "until"),
        ],
    )
    def test_a_bad_time_is_400_and_changes_nothing(self, live_server, make_user, item_for, body, field):
        alice = make_user("alice")
        item = item_for(alice, read_at=timezone.now())
        if body.get("until") == "past":
            body = {"until": iso(timezone.now() - timedelta(minutes=1))}
        elif body.get("until") == "far":
            body = {"until": iso(timezone.now() + timedelta(days=400))}
        response = Person(live_server.url, alice).post(f"/api/v1/inbox/{item.pk}/snooze/", body)
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["code"] and error["message"] and field in error["details"]
        item.refresh_from_db()
        assert item.snoozed_until is None and item.read_at is not None

    def test_a_body_that_is_no_object_is_400(self, live_server, make_user, item_for):
        alice = make_user("alice")
        item = item_for(alice)
        person = Person(live_server.url, alice)
        for body in (["2030-01-01T00:00:00Z"], "2030-01-01T00:00:00Z"):
            response = person.post(f"/api/v1/inbox/{item.pk}/snooze/", body)
            assert response.status_code == 400 and "error" in response.json()
        item.refresh_from_db()
        assert item.snoozed_until is None

    def test_someone_elses_item_is_404_and_unchanged(self, live_server, make_user, item_for):
        bobs = item_for(make_user("bob"), read_at=timezone.now())
        response = Person(live_server.url, make_user("alice")).post(
            f"/api/v1/inbox/{bobs.pk}/snooze/", {"until": iso(timezone.now() + timedelta(hours=1))}
        )
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
        bobs.refresh_from_db()
        assert bobs.snoozed_until is None and bobs.read_at is not None


@pytest.mark.django_db(transaction=True)
class TestActionsAndGroupsApi:
    def test_actions_are_listed_and_unsafe_ones_left_out(self, live_server, make_user, item_for):
        alice = make_user("alice")
        data = {
            "actions": [
                {"label": "Open the run", "url": "https://ci.example.com/runs/7"},
                {"label": "Mute", "url": "/inbox/preferences/"},
                {"label": "Third", "url": "/ignored/"},
            ]
        }
        good = item_for(alice, "Good", data=data)
        bad = item_for(
            alice,
            "Bad",
            data={"actions": [{"label": "Click", "url": "javascript:alert(1)"}, {"label": "Ok", "url": "/ok/"}]},
        )
        odd = item_for(alice, "Odd", data={"actions": [{"label": "", "url": "/x/"}, "nope", {"label": "No url"}]})
        response = Person(live_server.url, alice).get("/api/v1/inbox/")
        by_id = {item["id"]: item for item in response.json()["results"]}
        assert by_id[good.pk]["actions"] == [
            {"kind": "primary", "label": "Open the run", "url": "https://ci.example.com/runs/7"},
            {"kind": "secondary", "label": "Mute", "url": "/inbox/preferences/"},
        ]
        assert by_id[bad.pk]["actions"] == [{"kind": "secondary", "label": "Ok", "url": "/ok/"}]
        assert by_id[odd.pk]["actions"] == []
        assert "javascript" not in response.text.replace("javascript:alert(1)", "", 1)  # only in `data`

    def test_grouped_lines_page_by_cursor(self, live_server, make_user, item_for):
        alice = make_user("alice")
        comments = [
            item_for(alice, f"Comment {n}", subject="7", data={"subject_title": "Checkout flow"}) for n in range(3)
        ]
        loose = item_for(alice, "No subject")
        other = item_for(alice, "Other scenario", subject="8")
        person = Person(live_server.url, alice)

        first = person.get("/api/v1/inbox/", group="subject", limit=2).json()
        assert [line["title"] for line in first["results"]] == ["Other scenario", "No subject"]
        assert first["previous"] is None and first["next"]
        second = person.session.get(first["next"], timeout=10).json()
        assert second["next"] is None
        [line] = second["results"]
        assert line["title"] == "3 × Test scenario executed: Checkout flow"
        assert line["size"] == 3 and line["unread"] == 3
        assert [item["id"] for item in line["items"]] == [c.pk for c in reversed(comments)]
        assert {"actions", "snoozed_until", "is_read"} <= set(line["items"][0])
        assert first["results"][1]["items"][0]["id"] == loose.pk
        assert first["results"][0]["key"] != line["key"] and other.pk == first["results"][0]["items"][0]["id"]

        # The filters work the same way grouped: only the unread ones of the line.
        person.post(f"/api/v1/inbox/{comments[0].pk}/read/")
        unread = person.get("/api/v1/inbox/", group="subject", status="unread").json()["results"]
        assert [line["size"] for line in unread if line["key"] == first["results"][0]["key"]] == [1]
        assert [line["size"] for line in unread if line["title"].startswith("2 ×")] == [2]

    def test_bad_group_or_cursor_is_400(self, live_server, make_user):
        person = Person(live_server.url, make_user("alice"))
        for params in (
            {"group": "type"},
            {"group": "subject", "cursor": "bm9wZQ=="},
            {"group": "subject", "cursor": "!"},
        ):
            response = person.get("/api/v1/inbox/", **params)
            assert response.status_code == 400, (params, response.text)
            assert set(response.json()["error"]["details"]) & {"group", "cursor"}


@pytest.mark.django_db
class TestGroupingSelector:
    def test_same_type_and_subject_make_one_line_newest_first(self, make_user, item_for, django_assert_num_queries):
        alice = make_user("alice")
        first = item_for(alice, "Run 1", subject="7", read_at=timezone.now())
        item_for(alice, "Created", key="scenario.created", subject="7")  # another type: its own line
        second = item_for(alice, "Run 2", subject="7")
        item_for(alice, "Other scenario", subject="8")
        loose_a, loose_b = item_for(alice, "Loose A"), item_for(alice, "Loose B")  # no subject: never grouped
        third = item_for(alice, "Run 3", subject="7")
        item_for(make_user("bob"), "Bob's run", subject="7")

        with django_assert_num_queries(2):
            lines, more = inbox_lines(inbox_visible_list(user=alice), limit=10)
        assert more is False
        assert [line["title"] for line in lines] == [
            "3 × Run 3",  # no subject_title in the data: the latest item's title
            "Loose B",
            "Loose A",
            "Other scenario",
            "Created",
        ]
        runs = lines[0]
        assert runs["size"] == 3 and runs["unread"] == 2 and runs["latest_id"] == third.pk
        assert [item.pk for item in runs["items"]] == [third.pk, second.pk, first.pk]
        assert {lines[1]["key"], lines[2]["key"]} == {f"item:{loose_a.pk}", f"item:{loose_b.pk}"}

        page, more = inbox_lines(inbox_visible_list(user=alice), limit=2)
        assert more is True and len(page) == 2
        rest, more = inbox_lines(inbox_visible_list(user=alice), before_id=page[-1]["latest_id"], limit=10)
        assert more is False
        assert [line["title"] for line in rest] == ["Loose A", "Other scenario", "Created"]

    def test_a_line_shows_its_newest_items_and_counts_all(self, make_user, item_for, monkeypatch):
        monkeypatch.setattr(grouping, "GROUP_ITEMS_MAX", 2)
        alice = make_user("alice")
        items = [item_for(alice, f"Run {n}", subject="7", data={"subject_title": "Checkout"}) for n in range(4)]
        [line], _ = inbox_lines(inbox_visible_list(user=alice), limit=5)
        assert line["size"] == 4 and [item.pk for item in line["items"]] == [items[3].pk, items[2].pk]
        assert line["title"] == "4 × Test scenario executed: Checkout"

    def test_snoozed_items_are_not_in_a_line(self, make_user, item_for):
        alice = make_user("alice")
        item_for(alice, "Run 1", subject="7")
        item_for(alice, "Run 2", subject="7", snoozed_until=timezone.now() + timedelta(hours=1))
        [line], _ = inbox_lines(inbox_visible_list(user=alice), limit=5)
        assert line["size"] == 1 and line["title"] == "Run 1"


def test_snooze_choices_are_times_in_the_persons_zone():
    now = datetime(2026, 12, 4, 22, 30, tzinfo=UTC)  # a Friday; 23:30 in Berlin
    assert snooze_until("hour", now=now, tz="Europe/Berlin") == now + timedelta(hours=1)
    tomorrow = snooze_until("tomorrow", now=now, tz="Europe/Berlin")
    assert tomorrow.isoformat() == "2026-12-05T09:00:00+01:00"
    assert snooze_until("next-week", now=now, tz="Europe/Berlin").isoformat() == "2026-12-07T09:00:00+01:00"
    # Already Saturday in Tokyo: tomorrow is Sunday there.
    assert snooze_until("tomorrow", now=now, tz="Asia/Tokyo").isoformat() == "2026-12-06T09:00:00+09:00"
    assert snooze_until("tomorrow", now=now, tz="Not/AZone").isoformat() == "2026-12-05T09:00:00+00:00"
    assert snooze_until("forever", now=now, tz="UTC") is None


@pytest.mark.django_db
class TestPage:
    def test_page_groups_shows_actions_and_snoozes_without_script(self, client, make_user, item_for):
        alice = make_user("alice")
        for n in range(3):
            item_for(alice, f"Comment {n}", subject="7", data={"subject_title": "Checkout flow"})
        item = item_for(
            alice,
            "Deploy",
            data={
                "actions": [
                    {"label": "View", "url": "https://ci.example.com/7"},
                    {"label": "Evil", "url": "javascript:x"},
                ]
            },
        )
        client.force_login(alice)
        page = client.get("/inbox/").content.decode()
        assert "<details>" in page and "3 × Test scenario executed: Checkout flow" in page
        assert '<a class="action action-primary" href="https://ci.example.com/7">View</a>' in page
        assert "javascript:x" not in page and "Evil" not in page

        response = client.post(f"/inbox/{item.pk}/snooze/", {"choice": "tomorrow", "next": "/inbox/"})
        assert response.status_code == 302 and response["Location"] == "/inbox/"
        item.refresh_from_db()
        assert item.snoozed_until > timezone.now() + timedelta(hours=0)
        assert timezone.localtime(item.snoozed_until, timezone=UTC).hour == 9  # the profile's zone is UTC
        assert "Deploy" not in client.get("/inbox/").content.decode()

        unknown = client.post(f"/inbox/{item.pk}/snooze/", {"choice": "forever"}, HTTP_ACCEPT="application/json")
        assert unknown.status_code == 400 and unknown.json()["error"]["details"]["choice"]

    def test_page_pages_by_cursor_without_script(self, client, make_user, item_for, monkeypatch):
        from apps.inbox import views

        monkeypatch.setattr(views, "PAGE_SIZE", 2)
        alice = make_user("alice")
        items = [item_for(alice, f"Item {n}") for n in range(3)]
        client.force_login(alice)
        first = client.get("/inbox/")
        cursor = first.context["next_cursor"]
        assert cursor and "Item 2" in first.content.decode() and "Item 0" not in first.content.decode()
        second = client.get("/inbox/", {"cursor": cursor}).content.decode()
        assert "Item 0" in second and "Item 2" not in second and f'data-id="{items[0].pk}"' in second
        assert client.get("/inbox/", {"cursor": "garbage"}).status_code == 200  # a mangled cursor: page one


@pytest.mark.django_db
def test_the_unread_count_with_snoozes_is_an_index_only_scan(make_user, item_for):
    """The count of awake unread items reads the partial index alone, which carries
    snoozed_until (the planner is told to avoid a sequential scan of the tiny table)."""
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL plan")
    alice = make_user("alice")
    item_for(alice, "Awake")
    item_for(alice, "Asleep", snoozed_until=timezone.now() + timedelta(hours=1))
    assert inbox_unread_count(user=alice) == 1
    queryset = UserNotification.objects.filter(
        user=alice, in_inbox=True, read_at__isnull=True, archived_at__isnull=True
    )
    sql, params = inbox_awake(queryset).values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN SELECT COUNT(*) FROM ({sql}) AS counted", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Only Scan using inbox_user_unread_awake" in plan, plan
