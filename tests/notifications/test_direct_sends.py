"""Direct sends through the API, fanned out by a real worker on real Redis and PostgreSQL."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.delivery.models import Delivery, DeliveryStatus
from apps.events.models import Event, FanoutState
from apps.events.selectors import event_fanout_overdue
from apps.notifications.models import DirectSend, DirectSendRecipient, SendStatus, UserNotification
from apps.notifications.sends import scheduled_sends_release

from ..worker import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

URL = "/api/v1/notifications/"


def overdue_ids() -> list[int]:
    return [pk for ids in event_fanout_overdue().values() for pk in ids]


def fanned_out(send_id):
    send = DirectSend.objects.select_related("event").get(pk=send_id)
    return send.event.fanout_state == FanoutState.DONE


def test_send_on_requested_channels_reaches_exactly_those(celery_worker, event_types, make_user, api_key_client):
    ann, ben = make_user("ann"), make_user("ben")
    client = api_key_client(["notifications:write"])
    body = {
        "event_type": "scenario.executed",
        "recipients": [ann.pk, ben.pk, ann.pk],
        "channels": ["in_app", "email", "sms"],
        "data": {"name": "Checkout"},
        "priority": "high",
    }
    response = client.post(URL, body, format="json")
    assert response.status_code == 202, response.json()
    send_id = response.json()["id"]
    assert response.json()["status"] == "queued"
    wait_until(lambda: fanned_out(send_id), message="fan-out")

    items = UserNotification.objects.filter(event__direct_send=send_id)
    assert sorted(items.values_list("user_id", flat=True)) == [ann.pk, ben.pk]
    assert all(item.in_inbox for item in items)
    deliveries = Delivery.objects.filter(notification__in=items)
    assert sorted(deliveries.values_list("channel", flat=True)) == ["email", "email", "sms", "sms"]
    assert set(deliveries.values_list("status", flat=True)) == {DeliveryStatus.PENDING}

    detail = client.get(f"{URL}{send_id}/").json()
    assert detail["status"] == "fanned_out" and detail["priority"] == "high"
    assert detail["recipient_count"] == 2 and detail["delivery_counts"] == {"pending": 4}
    ann_row = next(r for r in detail["recipients"] if r["user_id"] == ann.pk)
    channels = {d["channel"]: d for d in ann_row["deliveries"]}
    assert set(channels) == {"in_app", "email", "sms"}
    assert [e["type"] for e in channels["email"]["events"]] == ["pending"]
    assert channels["in_app"]["status"] == "delivered"


def test_send_without_channels_follows_each_recipients_subscriptions(
    celery_worker, event_types, make_user, subscribe, api_key_client
):
    executed = event_types["scenario.executed"]
    ann, ben, cy = make_user("ann"), make_user("ben"), make_user("cy")
    subscribe(ann, executed, "in_app")
    subscribe(ann, executed, "email")
    subscribe(ben, executed, "sms")
    subscribe(cy, executed, "email", enabled=False)
    client = api_key_client(["notifications:write"])
    body = {"event_type": "scenario.executed", "recipients": [ann.pk, ben.pk, cy.pk]}
    send_id = client.post(URL, body, format="json").json()["id"]
    wait_until(lambda: fanned_out(send_id), message="fan-out")

    items = {n.user_id: n for n in UserNotification.objects.filter(event__direct_send=send_id)}
    assert items[ann.pk].in_inbox and not items[ben.pk].in_inbox
    deliveries = Delivery.objects.filter(notification__in=items.values())
    assert sorted(deliveries.values_list("notification__user_id", "channel", "status", "last_error")) == sorted(
        [
            (ann.pk, "email", DeliveryStatus.PENDING, ""),
            (ben.pk, "sms", DeliveryStatus.PENDING, ""),
            # cy's only subscription is off: named by the send, the reason is recorded.
            (cy.pk, "email", DeliveryStatus.CANCELLED, "opted_out"),
        ]
    )
    assert not items[cy.pk].in_inbox


def test_unknown_recipients_are_named_and_nothing_is_written(event_types, make_user, api_key_client):
    ann = make_user("ann")
    client = api_key_client(["notifications:write"])
    body = {"event_type": "scenario.executed", "recipients": [ann.pk, 99991, 99992]}
    response = client.post(URL, body, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert "99991" in error["details"]["recipients"][0] and "99992" in error["details"]["recipients"][0]
    assert not DirectSend.objects.exists() and not Event.objects.exists()

    bulk = {"notifications": [{"event_type": "scenario.executed", "recipients": [ann.pk]}] * 2}
    bulk["notifications"] = [*bulk["notifications"], {"event_type": "scenario.executed", "recipients": [424242]}]
    response = client.post(f"{URL}bulk/", bulk, format="json")
    assert response.status_code == 400
    assert "424242" in response.json()["error"]["details"]["notifications"]["2"][0]
    assert not DirectSend.objects.exists()


def test_bulk_sends_each_item_and_refuses_more_than_the_limit(celery_worker, event_types, make_user, api_key_client):
    users = [make_user() for _ in range(3)]
    client = api_key_client(["notifications:write"])
    items = [
        {"event_type": "scenario.created", "recipients": [user.pk], "channels": ["in_app"], "priority": "low"}
        for user in users
    ]
    response = client.post(f"{URL}bulk/", {"notifications": items}, format="json")
    assert response.status_code == 202
    ids = response.json()["ids"]
    assert len(ids) == 3 and [r["id"] for r in response.json()["results"]] == ids
    wait_until(lambda: all(fanned_out(i) for i in ids), message="three fan-outs")
    for send_id, user in zip(ids, users, strict=True):
        assert UserNotification.objects.get(event__direct_send=send_id).user_id == user.pk

    too_many = {"notifications": [items[0]] * 1001}
    response = client.post(f"{URL}bulk/", too_many, format="json")
    assert response.status_code == 400 and "notifications" in response.json()["error"]["details"]
    assert DirectSend.objects.count() == 3


def test_scheduled_send_waits_for_beat_and_cancel_stops_it(event_types, make_user, api_key_client):
    ann = make_user("ann")
    client = api_key_client(["notifications:write"])
    later = timezone.now() + timedelta(hours=2)
    body = {"event_type": "scenario.created", "recipients": [ann.pk], "scheduled_at": later.isoformat()}
    response = client.post(URL, body, format="json")
    assert response.status_code == 202 and response.json()["status"] == "scheduled"
    send = DirectSend.objects.get(pk=response.json()["id"])

    # Not late for the outbox relay, and not yet due for beat.
    Event.objects.filter(pk=send.event_id).update(created_at=timezone.now() - timedelta(hours=1))
    assert send.event_id not in overdue_ids()
    assert scheduled_sends_release() == {}

    cancel = client.post(f"{URL}{send.pk}/cancel/")
    assert cancel.status_code == 200 and cancel.json()["status"] == "cancelled"
    DirectSend.objects.filter(pk=send.pk).update(scheduled_at=timezone.now() - timedelta(seconds=1))
    assert scheduled_sends_release() == {}  # cancelled: never released
    assert not UserNotification.objects.exists()


def test_due_scheduled_send_is_released_by_beat_task(celery_worker, event_types, make_user, api_key_client):
    ann = make_user("ann")
    client = api_key_client(["notifications:write"])
    soon = timezone.now() + timedelta(seconds=1)
    body = {"event_type": "scenario.created", "recipients": [ann.pk], "channels": ["in_app"], "scheduled_at": soon}
    send_id = client.post(URL, body, format="json").json()["id"]
    assert DirectSend.objects.get(pk=send_id).status == SendStatus.SCHEDULED
    wait_until(lambda: timezone.now() > soon, timeout=5)
    from apps.scheduling.tasks import release_due_task

    release_due_task.delay()  # what beat does every SCHEDULED_RELEASE_INTERVAL_SECONDS
    wait_until(lambda: fanned_out(send_id), message="released fan-out")
    assert UserNotification.objects.filter(event__direct_send=send_id, user=ann).exists()


def test_cancel_moves_pending_deliveries_to_cancelled_with_history(
    celery_worker, event_types, make_user, api_key_client
):
    ann, ben = make_user("ann"), make_user("ben")
    client = api_key_client(["notifications:write"])
    # Channels the shared test worker does not dispatch: nothing is sent behind our back.
    body = {"event_type": "scenario.created", "recipients": [ann.pk, ben.pk], "channels": ["email", "sms"]}
    send_id = client.post(URL, body, format="json").json()["id"]
    wait_until(lambda: fanned_out(send_id), message="fan-out")
    sent = Delivery.objects.filter(notification__user=ann, channel="email").get()
    sent.status = DeliveryStatus.SENT
    sent.save(update_fields=["status"])

    response = client.post(f"{URL}{send_id}/cancel/")
    assert response.status_code == 200
    assert response.json()["cancelled_deliveries"] == 3
    statuses = dict(Delivery.objects.filter(pk=sent.pk).values_list("channel", "status"))
    assert statuses == {"email": "sent"}
    assert Delivery.objects.filter(status=DeliveryStatus.CANCELLED).count() == 3
    ben_row = next(r for r in response.json()["recipients"] if r["user_id"] == ben.pk)
    for delivery in ben_row["deliveries"]:
        assert [e["type"] for e in delivery["events"]] == ["pending", "cancelled"]
        assert delivery["events"][1]["detail"]["reason"] == "send cancelled"
    # Again: nothing more to cancel.
    assert client.post(f"{URL}{send_id}/cancel/").json()["cancelled_deliveries"] == 0


def test_recipient_rows_are_unique_per_send(event_types, make_user, api_key_client):
    ann = make_user("ann")
    client = api_key_client(["notifications:write"])
    body = {"event_type": "scenario.created", "recipients": [ann.pk, ann.pk, ann.pk]}
    send_id = client.post(URL, body, format="json").json()["id"]
    assert DirectSendRecipient.objects.filter(send_id=send_id).count() == 1


def test_oversized_data_is_refused_on_the_data_field(event_types, make_user, api_key_client):
    ann = make_user("ann")
    body = {"event_type": "scenario.created", "recipients": [ann.pk], "data": {"blob": "x" * 70_000}}
    response = api_key_client(["notifications:write"]).post(URL, body, format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["details"]) == ["data"]
    assert not DirectSend.objects.exists()


def test_admin_cancel_action_cancels_through_the_service(event_types, make_user, admin_client, api_key_client):
    ann = make_user("ann")
    later = (timezone.now() + timedelta(hours=1)).isoformat()
    body = {"event_type": "scenario.created", "recipients": [ann.pk], "scheduled_at": later}
    send_id = api_key_client(["notifications:write"]).post(URL, body, format="json").json()["id"]
    assert admin_client.get(f"/admin/notifications/directsend/{send_id}/change/").status_code == 200
    admin_client.post("/admin/notifications/directsend/", {"action": "cancel", "_selected_action": [send_id]})
    send = DirectSend.objects.get(pk=send_id)
    assert send.status == SendStatus.CANCELLED and send.cancelled_at is not None


def test_cancel_of_a_large_send_finishes_in_a_task(celery_worker, event_types, make_user, api_key_client, monkeypatch):
    from apps.notifications import sends

    monkeypatch.setattr(sends, "CANCEL_INLINE_LIMIT", 2)
    people = [make_user() for _ in range(4)]
    client = api_key_client(["notifications:write"])
    body = {"event_type": "scenario.created", "recipients": [p.pk for p in people], "channels": ["email", "sms"]}
    send_id = client.post(URL, body, format="json").json()["id"]
    wait_until(lambda: fanned_out(send_id), message="fan-out")
    response = client.post(f"{URL}{send_id}/cancel/")
    assert response.status_code == 200 and response.json()["cancelled_deliveries"] == 2
    cancelled = Delivery.objects.filter(notification__event__direct_send=send_id, status=DeliveryStatus.CANCELLED)
    wait_until(lambda: cancelled.count() == 8, message="the rest cancelled by the task")
    assert not Delivery.objects.filter(status=DeliveryStatus.PENDING).exists()


def test_send_by_template_uses_its_event_type_channel_and_text(celery_worker, event_types, make_user, api_key_client):
    from apps.templating.services import template_create

    template = template_create(
        event_type=event_types["scenario.executed"],
        channel="log",
        locale="en",
        subject="Run of {{ data.name }}",
        body="{{ data.name }} ran for {{ recipient.username }}.",
    )
    cai = make_user("cai")
    client = api_key_client(["notifications:write"])
    body = {"template": template.pk, "recipients": [cai.pk], "data": {"name": "Nightly"}}
    response = client.post(URL, body, format="json")
    assert response.status_code == 202, response.json()
    send_id = response.json()["id"]
    assert DirectSend.objects.get(pk=send_id).event.event_type.key == "scenario.executed"

    delivery = wait_until(
        lambda: Delivery.objects.filter(notification__event__direct_send=send_id, status=DeliveryStatus.SENT).first(),
        message="the log delivery sent",
    )
    assert delivery.channel == "log"  # the template's channel, no other
    assert Delivery.objects.filter(notification__event__direct_send=send_id).count() == 1
    log = celery_worker.log_path.read_text()
    assert "Nightly ran for cai." in log and "Run of Nightly" in log


def test_template_and_event_type_must_agree_and_one_is_needed(event_types, make_user, api_key_client):
    from apps.templating.services import template_create

    template = template_create(
        event_type=event_types["scenario.executed"], channel="log", locale="en", subject="s", body="b"
    )
    rita = make_user("rita")
    client = api_key_client(["notifications:write"])
    mismatch = {"template": template.pk, "event_type": "scenario.created", "recipients": [rita.pk]}
    response = client.post(URL, mismatch, format="json")
    assert response.status_code == 400 and "template" in response.json()["error"]["details"]
    neither = client.post(URL, {"recipients": [rita.pk]}, format="json")
    assert neither.status_code == 400 and "event_type" in neither.json()["error"]["details"]
    unknown = client.post(URL, {"template": 999999, "recipients": [rita.pk]}, format="json")
    assert unknown.status_code == 400 and "template" in unknown.json()["error"]["details"]
    assert DirectSend.objects.count() == 0


def test_an_inbox_opt_out_keeps_a_direct_send_out_of_the_inbox(
    celery_worker, event_types, make_user, subscribe, api_key_client
):
    quiet, other = make_user("quiet-inbox"), make_user("open-inbox")
    subscribe(quiet, event_types["scenario.executed"], channel="in_app", enabled=False)
    client = api_key_client(["notifications:write"])
    body = {"event_type": "scenario.executed", "recipients": [quiet.pk, other.pk], "channels": ["in_app"]}
    send_id = client.post(URL, body, format="json").json()["id"]
    wait_until(lambda: fanned_out(send_id), message="fan-out")

    assert not UserNotification.objects.filter(user=quiet, in_inbox=True).exists()
    assert UserNotification.objects.filter(user=other, in_inbox=True).count() == 1
    rows = {r["user_id"]: r["deliveries"] for r in client.get(f"{URL}{send_id}/").json()["recipients"]}
    [in_app] = rows[quiet.pk]
    assert (in_app["status"], in_app["events"][-1]["detail"]) == ("cancelled", {"reason": "opted_out"})
    assert rows[other.pk][0]["status"] == "delivered"
