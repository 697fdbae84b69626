"""The inbox's unfiltered first page comes from a statement compiled once
(apps/notifications/inbox_first_page.py): the same rows as the list's queryset, and
through the API the same answer as the filtered path, whatever state the items are in."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.events.models import Event
from apps.notifications.filters import InboxFilter
from apps.notifications.inbox_first_page import inbox_first_page_rows
from apps.notifications.models import UserNotification
from apps.notifications.selectors import inbox_item_rows, inbox_visible_list

pytestmark = pytest.mark.django_db


@pytest.fixture
def mixed_inbox(make_user, event_types):
    """A person's items in every state, and items that are not theirs to list."""
    person, other = make_user("first-page"), make_user("someone-else")
    now = timezone.now()
    states = [
        {},
        {"data": {"own": True, "actions": [{"label": "Open", "url": "https://example.com/x"}]}},
        {"read_at": now},
        {"archived_at": now},  # hidden
        {"snoozed_until": now + timedelta(hours=1)},  # hidden until then
        {"snoozed_until": now - timedelta(hours=1)},  # back
        {"in_inbox": False},  # not an inbox item
        {"url": "javascript:alert(1)"},  # shown without its link
    ]
    for n, state in enumerate(states):
        event = Event.objects.create(event_type=event_types["scenario.created"], data={"n": n})
        UserNotification.objects.create(event=event, user=person, title=f"t{n}", created_at=now, **state)
        UserNotification.objects.create(event=event, user=other, title="not hers", created_at=now)
    UserNotification.objects.create(event=event, address="x@example.com", title="an address", created_at=now)
    return person


def orm_rows(person, limit):
    items = InboxFilter.hide_archived(inbox_visible_list(user=person)).order_by("-id")
    return list(inbox_item_rows(items)[:limit])


@pytest.mark.parametrize("limit", [51, 3, 1])
def test_the_statement_gives_the_querysets_rows(mixed_inbox, limit):
    rows = inbox_first_page_rows(user_id=mixed_inbox.pk, limit=limit)
    assert rows == orm_rows(mixed_inbox, limit)
    assert len(rows) == min(limit, 5)  # 8 states less archived, snoozed ahead, not in the inbox


def test_the_api_answers_the_first_page_as_the_filtered_path_does(mixed_inbox, client_for):
    client = client_for(mixed_inbox)
    statements = []

    def record(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        fast = client.get("/api/v1/inbox/?limit=2").json()
    # ?status=all is the default, so the same items, through the ORM and the filter form.
    filtered = client.get("/api/v1/inbox/?limit=2&status=all").json()
    assert fast["results"] == filtered["results"]
    assert len(fast["results"]) == 2 and fast["previous"] is None
    assert any("snoozed_until" in sql for sql in statements)  # the page came from the database
    # Its next link leads on, through the cursor path, to every item once.
    seen = [item["id"] for item in fast["results"]]
    page = fast
    while page["next"]:
        page = client.get(page["next"]).json()
        seen += [item["id"] for item in page["results"]]
    assert seen == [row["id"] for row in orm_rows(mixed_inbox, 51)]
