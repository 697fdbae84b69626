"""Dead letters (admin action, management command), the sweeper and unsubscribe links."""

from datetime import timedelta

import pytest
from django.core import signing
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.common.channels import Channel
from apps.delivery.models import Delivery, DeliveryStatus
from apps.delivery.recovery import deliveries_sweep_stuck
from apps.delivery.unsubscribe import unsubscribe_token, unsubscribe_url
from apps.subscriptions.models import Subscription

from .factories import make_delivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def dead(make_user, event_types):
    created = event_types["scenario.created"]
    return {
        "old_email": make_delivery(make_user(), created, Channel.EMAIL, status=DeliveryStatus.DEAD),
        "new_email": make_delivery(make_user(), created, Channel.EMAIL, status=DeliveryStatus.DEAD),
        "sms": make_delivery(make_user(), created, Channel.SMS, status=DeliveryStatus.DEAD),
        "sent": make_delivery(make_user(), created, Channel.EMAIL, status=DeliveryStatus.SENT),
    }


def enqueues(callbacks):
    """The on-commit callbacks that enqueue dispatch (others record metrics)."""
    return [c for c in callbacks if "enqueue" in c.__qualname__]


def statuses(deliveries):
    return {name: Delivery.objects.get(pk=d.pk).status for name, d in deliveries.items()}


def test_requeue_dead_by_channel_and_since_enqueues_after_commit(dead, django_capture_on_commit_callbacks):
    Delivery.objects.filter(pk=dead["old_email"].pk).update(updated_at=timezone.now() - timedelta(days=3))
    with django_capture_on_commit_callbacks() as callbacks:
        call_command("requeue_dead", channel="email", since="2d")
    assert statuses(dead) == {"old_email": "dead", "new_email": "pending", "sms": "dead", "sent": "sent"}
    assert len(enqueues(callbacks)) == 1  # one enqueue, for the email channel, once committed
    requeued = Delivery.objects.get(pk=dead["new_email"].pk)
    assert requeued.attempts == 0
    assert requeued.events.get().detail == {"requeued_by": "requeue_dead"}


def test_requeue_dead_rejects_a_bad_since(dead):
    with pytest.raises(CommandError):
        call_command("requeue_dead", since="yesterday-ish")
    assert statuses(dead)["new_email"] == "dead"


def test_admin_requeue_action_requeues_only_dead_or_failed(dead, admin_client, django_capture_on_commit_callbacks):
    ids = [d.pk for d in dead.values()]
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(
            reverse("admin:delivery_delivery_changelist"), {"action": "requeue", "_selected_action": ids}, follow=True
        )
    assert response.status_code == 200 and b"Requeued 3 deliveries" in response.content
    assert statuses(dead) == {"old_email": "pending", "new_email": "pending", "sms": "pending", "sent": "sent"}
    assert len(enqueues(callbacks)) == 2  # email and sms
    # The dead filter lists what is left to look at.
    listing = admin_client.get(reverse("admin:delivery_delivery_changelist") + "?status__exact=dead")
    assert listing.status_code == 200 and b"0 deliveries" in listing.content


def test_sweeper_takes_back_only_sendings_past_their_lease(make_user, event_types, settings):
    settings.DELIVERY_MAX_ATTEMPTS = {"email": 2}
    created = event_types["scenario.created"]
    stale = timezone.now() - timedelta(hours=1)
    stuck = make_delivery(make_user(), created, Channel.EMAIL, status=DeliveryStatus.SENDING)
    spent = make_delivery(make_user(), created, Channel.EMAIL, status=DeliveryStatus.SENDING)
    live = make_delivery(make_user(), created, Channel.EMAIL, status=DeliveryStatus.SENDING)
    Delivery.objects.filter(pk__in=[stuck.pk, spent.pk]).update(updated_at=stale)
    Delivery.objects.filter(pk=spent.pk).update(attempts=2)
    settings.DELIVERY_STUCK_SENDING_SECONDS = 900
    assert deliveries_sweep_stuck().recovered == 2
    assert Delivery.objects.get(pk=stuck.pk).status == DeliveryStatus.PENDING
    assert Delivery.objects.get(pk=spent.pk).status == DeliveryStatus.DEAD  # no attempts left
    assert Delivery.objects.get(pk=live.pk).status == DeliveryStatus.SENDING


def test_sweeper_is_on_the_beat_schedule():
    from django_celery_beat.models import PeriodicTask

    from apps.common.beat import periodic_tasks_ensure

    periodic_tasks_ensure()
    task = PeriodicTask.objects.get(task="delivery.sweep_stuck")
    assert task.queue == "maintenance" and task.enabled


@pytest.fixture
def email_subscription(make_user, event_types, subscribe):
    return subscribe(make_user(), event_types["scenario.created"], channel=Channel.EMAIL)


def path_for(subscription):
    token = unsubscribe_token(
        user_id=subscription.user_id, event_type_id=subscription.event_type_id, channel=subscription.channel
    )
    return reverse("unsubscribe", args=[token])


@pytest.mark.parametrize(
    "token",
    [
        "not-a-token",
        # Signed, but with another salt: not an unsubscribe token.
        signing.dumps([1, 1, "email"]),
    ],
)
def test_bad_unsubscribe_tokens_are_refused_and_write_nothing(email_subscription, token):
    for method in ("get", "post"):
        response = getattr(Client(), method)(reverse("unsubscribe", args=[token]))
        assert response.status_code == 400 and b"not valid" in response.content
    assert Subscription.objects.get(pk=email_subscription.pk).enabled


def test_unsubscribe_of_a_deleted_subscription_is_a_404(email_subscription):
    path = path_for(email_subscription)
    email_subscription.delete()
    assert Client().post(path).status_code == 404


def test_unsubscribe_link_names_the_public_host(email_subscription, settings):
    settings.PUBLIC_BASE_URL = "https://notify.example.com/"
    url = unsubscribe_url(user_id=1, event_type_id=2, channel="email")
    assert url.startswith("https://notify.example.com/unsubscribe/") and "//unsubscribe" not in url
