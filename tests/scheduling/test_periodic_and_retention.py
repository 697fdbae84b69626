"""The beat schedule is created idempotently and keeps operators' edits; retention."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from apps.delivery.models import Delivery, DeliveryEvent, DeliveryStatus
from apps.notifications.models import UserNotification
from apps.scheduling.retention import retention_purge

pytestmark = pytest.mark.django_db

OURS = {"scheduling.release_due", "scheduling.digests_build", "scheduling.retention_purge", "events.outbox_relay"}


def test_periodic_tasks_exist_after_migrate_and_the_command_keeps_edits(capsys):
    assert set(PeriodicTask.objects.values_list("task", flat=True)) >= OURS
    # No schedule for a task that does not exist in this installation.
    registered = PeriodicTask.objects.filter(task="delivery.sweep_stuck").exists()
    from notifications_project.celery import app

    assert registered == ("delivery.sweep_stuck" in app.tasks)

    release = PeriodicTask.objects.get(task="scheduling.release_due")
    slow, _ = IntervalSchedule.objects.get_or_create(every=17, period="seconds")
    release.interval = slow
    release.save(update_fields=["interval"])
    PeriodicTask.objects.filter(task="scheduling.retention_purge").delete()

    call_command("ensure_periodic_tasks")
    assert "1 periodic tasks created" in capsys.readouterr().out
    assert PeriodicTask.objects.get(task="scheduling.release_due").interval.every == 17  # the edit stays
    assert PeriodicTask.objects.filter(task="scheduling.retention_purge").count() == 1
    call_command("ensure_periodic_tasks")
    assert "0 periodic tasks created" in capsys.readouterr().out


def test_retention_deletes_old_finished_things_only(news, make_user, publish, settings):
    settings.RETENTION_DAYS = 30
    user = make_user()
    old, recent = publish(news), publish(news)
    long_ago = timezone.now() - timedelta(days=31)
    for event in (old, recent):
        UserNotification.objects.filter(event=event).update(read_at=timezone.now(), archived_at=timezone.now())
    UserNotification.objects.filter(event=old).update(created_at=long_ago)
    Delivery.objects.filter(notification__event=old).update(status=DeliveryStatus.SENT, updated_at=long_ago)
    DeliveryEvent.objects.create(delivery=Delivery.objects.get(notification__event=old), status="sent")
    unread_old = publish(news)
    UserNotification.objects.filter(event=unread_old).update(created_at=long_ago)

    counts = retention_purge(batch_size=1)
    assert counts == {
        "deliveries": 1,
        "inbox_items": 1,
        "delivery_only_items": 0,
        "early_callbacks": 0,
        "idempotency_records": 0,
        "closed_batches": 0,
        "throttle_counters": 0,
    }
    assert not UserNotification.objects.filter(event=old).exists()
    assert not DeliveryEvent.objects.exists()
    assert UserNotification.objects.filter(user=user).count() == 2  # recent, and old but unread
    assert Delivery.objects.filter(notification__event__in=[recent, unread_old]).count() == 2


def test_retention_deletes_idempotency_answers_past_their_ttl(db, settings):
    from apps.common.models import IdempotencyRecord

    settings.IDEMPOTENCY_TTL_SECONDS = 3600
    old, fresh = (
        IdempotencyRecord.objects.create(caller="key:1", key_digest=d, fingerprint="f", status_code=202, body={})
        for d in ("old", "fresh")
    )
    IdempotencyRecord.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=2))
    assert retention_purge()["idempotency_records"] == 1
    assert list(IdempotencyRecord.objects.values_list("pk", flat=True)) == [fresh.pk]
