import pytest
from django.contrib import admin
from django.urls import reverse

from apps.common.models import ApiKey
from apps.delivery.models import Delivery, DeliveryEvent, DeliveryStatus
from apps.events.models import Event
from apps.notifications.models import UserNotification
from apps.subscriptions.models import Subscription

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.com", "pw-123456789")
    client.force_login(user)
    return client


def test_every_admin_changelist_and_add_page_loads(staff_client):
    for model in admin.site._registry:
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        assert staff_client.get(url).status_code == 200, url


def test_bulk_disable_and_enable_subscriptions(staff_client, make_user, subscribe, event_types):
    subs = [subscribe(make_user(), event_types["scenario.created"]) for _ in range(3)]
    url = reverse("admin:subscriptions_subscription_changelist")
    staff_client.post(url, {"action": "disable", "_selected_action": [s.pk for s in subs[:2]]})
    assert list(Subscription.objects.order_by("pk").values_list("enabled", flat=True)) == [False, False, True]


def test_dead_delivery_requeue_action_records_history(staff_client, make_user, event_types):
    event = Event.objects.create(event_type=event_types["scenario.created"])
    item = UserNotification.objects.create(event=event, user=make_user(), title="t", created_at=event.created_at)
    delivery = Delivery.objects.create(
        notification=item,
        channel="log",
        status=DeliveryStatus.DEAD,
        attempts=5,
        created_at=event.created_at,
        updated_at=event.created_at,
    )
    staff_client.post(
        reverse("admin:delivery_delivery_changelist"), {"action": "requeue", "_selected_action": [delivery.pk]}
    )
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 0)
    assert DeliveryEvent.objects.get(delivery=delivery).detail == {"requeued_by": "root"}
    page = staff_client.get(reverse("admin:delivery_delivery_change", args=[delivery.pk]))
    assert b"requeued_by" in page.content


def test_api_key_created_in_admin_is_shown_once_and_stored_hashed(staff_client):
    response = staff_client.post(
        reverse("admin:common_apikey_add"), {"name": "billing", "scopes": '["read"]'}, follow=True
    )
    assert response.status_code == 200
    (message,) = [str(m) for m in response.context["messages"] if "shown this once" in str(m)]
    raw = message.rsplit(" ", 1)[-1]
    key = ApiKey.objects.get(name="billing")
    assert raw.startswith(f"nsk_{key.prefix}_") and raw.split("_", 2)[2] not in key.key_hash


def test_suppressions_are_listed_and_deleting_one_lifts_it(staff_client):
    from apps.delivery.models import Suppression
    from apps.delivery.suppressions import suppression_record

    suppression_record(address="Gone@Example.com", channel="email", reason="bounced")
    suppression_record(address="+14155550123", channel="sms", reason="opted_out")
    changelist = reverse("admin:delivery_suppression_changelist")
    page = staff_client.get(changelist, {"q": "gone@"})
    assert page.status_code == 200 and b"gone@example.com" in page.content and b"+14155550123" not in page.content
    gone = Suppression.objects.get(channel="email")
    response = staff_client.post(
        changelist, {"action": "delete_selected", "_selected_action": [gone.pk], "post": "yes"}
    )
    assert response.status_code == 302
    assert list(Suppression.objects.values_list("address", flat=True)) == ["+14155550123"]


def test_event_type_added_in_admin_gets_a_default_priority(staff_client):
    from apps.events.models import EventType

    url = reverse("admin:events_eventtype_add")
    # The form posts its initial priority (normal) unless the operator picks another,
    # and its initial throttle window and overflow.
    common = {
        "description": "",
        "default_channels": "[]",
        "default_priority": "normal",
        "throttle_window_seconds": 3600,
        "throttle_overflow": "hold",
    }
    staff_client.post(url, {**common, "key": "pager-fired", "name": "Pager", "critical": "on"})
    staff_client.post(url, {**common, "key": "news", "name": "News"})
    staff_client.post(
        url, {**common, "key": "pager-low", "name": "Low pager", "critical": "on", "default_priority": "low"}
    )
    priorities = dict(EventType.objects.values_list("key", "default_priority"))
    # A critical type is critical unless a priority was chosen.
    assert {k: priorities.get(k) for k in ("pager-fired", "news", "pager-low")} == {
        "pager-fired": "critical",
        "news": "normal",
        "pager-low": "low",
    }


def test_a_status_webhook_shows_why_it_fails_but_never_its_secret(staff_client):
    from apps.common.services import api_key_create
    from apps.integrations.services import status_webhook_create

    api_key, _ = api_key_create(name="shop")
    endpoint = status_webhook_create(api_key=api_key, url="https://hooks.example.com/status")
    type(endpoint).objects.filter(pk=endpoint.pk).update(attempts=3, last_error="answered 503: down")
    page = staff_client.get(reverse("admin:integrations_statuswebhookendpoint_change", args=[endpoint.pk]))
    assert page.status_code == 200
    assert "answered 503: down" in page.text and endpoint.secret not in page.text
    assert staff_client.get(reverse("admin:integrations_statuswebhookendpoint_add")).status_code == 403


def test_batching_and_throttle_set_in_the_admin_and_bad_values_refused(staff_client):
    from apps.events.models import EventType

    url = reverse("admin:events_eventtype_add")
    form = {
        "key": "comment-added",
        "name": "Comment added",
        "description": "",
        "default_channels": "[]",
        "default_priority": "normal",
        "throttle_window_seconds": 3600,
        "throttle_overflow": "hold",
    }
    refused = staff_client.post(url, {**form, "batch_window_seconds": 0, "throttle_limit": 0})
    assert refused.status_code == 200  # the form again, with its errors
    assert set(refused.context["adminform"].form.errors) == {"batch_window_seconds", "throttle_limit"}
    assert not EventType.objects.filter(key="comment-added").exists()

    saved = staff_client.post(url, {**form, "batch_window_seconds": 300, "batch_noun": "comments", "throttle_limit": 3})
    assert saved.status_code == 302
    event_type = EventType.objects.get(key="comment-added")
    assert (event_type.batch_window_seconds, event_type.batch_noun, event_type.throttle_limit) == (300, "comments", 3)
