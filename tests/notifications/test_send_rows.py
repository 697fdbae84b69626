"""The one-statement insert of direct sends writes exactly the rows bulk_create writes."""

from datetime import timedelta

import pytest
from django.db import connection
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.common.auth import ServicePrincipal
from apps.common.services import api_key_create
from apps.events.models import Event
from apps.notifications import send_rows
from apps.notifications.models import DirectSend, DirectSendRecipient
from apps.notifications.sends import direct_sends_create

pytestmark = pytest.mark.django_db

# Differ between any two sends by construction: keys, generated keys and clocks.
UNIQUE_OR_CLOCK = {"id", "event", "send", "idempotency_key", "created_at"}


def _requests(event_types, users):
    ann, ben, cy = users
    return [
        {"event_type": event_types["scenario.created"], "recipients": [ann.pk, ben.pk], "data": {"n": 1}},
        {
            "event_type": event_types["scenario.executed"],
            "recipients": [cy.pk, {"email": "Ops@Example.com"}, {"phone": "+15551234567"}],
            "channels": ["in_app", "email", "sms"],
            "priority": "high",
            "data": {"nested": {"list": [1, "two", None], "quote": 'say "hi"'}},
        },
        {
            "event_type": event_types["scenario.deleted"],
            "recipients": [ann.pk],
            "scheduled_at": timezone.now() + timedelta(hours=1),
        },
    ]


def _rows(sends: list[DirectSend]) -> list[dict]:
    """Every stored column of each send, its event and its recipients, but those that
    differ between any two writes."""
    rows = []
    for send in DirectSend.objects.filter(pk__in=[s.pk for s in sends]).order_by("pk"):
        rows.append(
            {
                "event": _stored(Event.objects.get(pk=send.event_id)),
                "send": _stored(send),
                "recipients": sorted(
                    (_stored(r) for r in DirectSendRecipient.objects.filter(send=send)),
                    key=lambda r: (r["user"] or 0, r["address"]),
                ),
            }
        )
    return rows


def _stored(obj) -> dict:
    names = [f.name for f in obj._meta.concrete_fields if f.name not in UNIQUE_OR_CLOCK]
    return model_to_dict(obj, fields=names)


def test_one_statement_writes_what_bulk_create_writes(event_types, make_user, monkeypatch):
    users = [make_user("ann"), make_user("ben"), make_user("cy")]
    key, _ = api_key_create(name="rows", scopes=["notifications:write"])
    caller = ServicePrincipal(key)
    requests = _requests(event_types, users)
    with CaptureQueriesContext(connection) as statements:
        fast = direct_sends_create(caller=caller, requests=requests)
    inserts = [q["sql"] for q in statements.captured_queries if "INSERT" in q["sql"]]
    assert len(inserts) == 1, inserts

    monkeypatch.setattr("apps.notifications.sends.send_rows_insert", send_rows.send_rows_insert_orm)
    orm = direct_sends_create(caller=caller, requests=requests)

    assert _rows(fast) == _rows(orm)
    assert [s.status for s in fast] == ["queued", "queued", "scheduled"]
    # The instances carry their new keys, as bulk_create's do.
    for send in fast:
        stored = DirectSend.objects.get(pk=send.pk)
        assert stored.event_id == send.event_id and stored.status == send.status
    assert DirectSendRecipient.objects.filter(send__in=fast).count() == 6


def test_each_send_gets_its_own_recipients_in_a_large_bulk(event_types, make_user):
    """Rows find their parents by key, not by position: 300 sends of different sizes,
    each with exactly the recipients it named."""
    people = [make_user(f"p{n}") for n in range(40)]
    wanted = [sorted({people[(i * 7 + j) % 40].pk for j in range(i % 13 + 1)}) for i in range(300)]
    requests = [
        {"event_type": event_types["scenario.created"], "recipients": ids, "data": {"i": i}}
        for i, ids in enumerate(wanted)
    ]
    sends = direct_sends_create(caller=people[0], requests=requests)

    for i, send in enumerate(sends):
        stored = DirectSend.objects.select_related("event").get(pk=send.pk)
        assert stored.event.data == {"i": i} and stored.event_id == send.event_id
        assert stored.recipient_count == len(wanted[i])
        assert sorted(DirectSendRecipient.objects.filter(send=send).values_list("user_id", flat=True)) == wanted[i]
