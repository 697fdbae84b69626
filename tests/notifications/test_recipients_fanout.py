"""The explicit-audience fan-out: keyset chunks over the recipient rows, idempotent re-runs,
and the chunk signal carrying the send's priority."""

import pytest

from apps.delivery.models import Delivery
from apps.events.models import Event, FanoutState
from apps.notifications.fanout import event_fan_out
from apps.notifications.models import UserNotification
from apps.notifications.sends import direct_send_create
from apps.notifications.signals import fan_out_chunk_committed

# Not transactional: the send's own enqueue (on commit) never happens, so this test
# alone fans out, and the chunk signals (also on commit) are run by the capture below.
pytestmark = pytest.mark.django_db


def test_chunks_rerun_and_signal(event_types, make_user, django_capture_on_commit_callbacks):
    people = [make_user() for _ in range(7)]
    send = direct_send_create(
        caller=make_user("staff"),
        event_type=event_types["scenario.created"],
        recipients=[p.pk for p in people],
        channels=["in_app", "email", "push"],
        priority="critical",
    )
    chunks = []

    def record(sender, **kwargs):
        chunks.append(kwargs)

    fan_out_chunk_committed.connect(record)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            assert event_fan_out(event_id=send.event_id, chunk_size=3) == 7
    finally:
        fan_out_chunk_committed.disconnect(record)
    ids = sorted(p.pk for p in people)
    assert [(c["after_user_id"], c["upto_user_id"]) for c in chunks] == [(0, ids[2]), (ids[2], ids[5]), (ids[5], None)]
    assert {c["priority"] for c in chunks} == {"critical"}
    assert UserNotification.objects.filter(event_id=send.event_id, in_inbox=True).count() == 7
    assert Delivery.objects.filter(notification__event_id=send.event_id).count() == 14

    # A full re-run (redelivery, relay) inserts nothing twice.
    Event.objects.filter(pk=send.event_id).update(fanout_state=FanoutState.PENDING, fanout_cursor=0)
    assert event_fan_out(event_id=send.event_id, chunk_size=3) == 0
    assert UserNotification.objects.filter(event_id=send.event_id).count() == 7
    assert Delivery.objects.filter(notification__event_id=send.event_id).count() == 14


def test_channels_without_in_app_keep_the_item_out_of_the_inbox(event_types, make_user, client_for):
    ann = make_user("ann")
    send = direct_send_create(
        caller=make_user("staff"), event_type=event_types["scenario.created"], recipients=[ann.pk], channels=["sms"]
    )
    event_fan_out(event_id=send.event_id)
    item = UserNotification.objects.get(event_id=send.event_id)
    assert not item.in_inbox and list(item.deliveries.values_list("channel", flat=True)) == ["sms"]
    assert client_for(ann).get("/api/v1/inbox/").json()["results"] == []
