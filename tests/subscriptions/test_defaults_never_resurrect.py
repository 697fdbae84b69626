"""A person's removal or disabling of a default subscription outlives every later
defaults sync: a change of the event type's defaults, the sync job on a real worker,
the defaults given to a person again."""

import threading

import pytest
from django.db import connection, transaction

from apps.events.models import EventType
from apps.subscriptions.defaults import subscriptions_defaults_for_user, subscriptions_defaults_sync
from apps.subscriptions.models import Subscription, SubscriptionOptOut
from apps.subscriptions.services import subscriptions_delete

from ..worker import wait_until


@pytest.fixture
def alerts(db):
    # Not self-service: people get it through its defaults only, and may still leave.
    return EventType.objects.create(key="build.failed", name="Build failed", default_channels=["in_app", "email"])


def channels(user, event_type, **filters):
    return set(
        Subscription.objects.filter(user=user, event_type=event_type, **filters).values_list("channel", flat=True)
    )


def resync(event_type, default_channels):
    event_type.default_channels = default_channels
    event_type.save(update_fields=["default_channels"])
    return subscriptions_defaults_sync(event_type_id=event_type.pk)


@pytest.mark.django_db
def test_removed_and_disabled_defaults_stay_so_through_every_sync(alerts, make_user, client_for):
    me, other = make_user(), make_user()
    client = client_for(me)
    rows = {s["channel"]: s for s in client.get("/api/v1/subscriptions/").json()["results"]}
    assert set(rows) == {"in_app", "email"} and rows["email"]["origin"] == "default"
    assert client.delete(f"/api/v1/subscriptions/{rows['email']['id']}/").status_code == 204
    patched = client.patch(f"/api/v1/subscriptions/{rows['in_app']['id']}/", {"enabled": False}, format="json")
    assert patched.status_code == 200

    # A new default channel, the removed one dropped and then brought back, the same
    # defaults again, the defaults given to the person again.
    assert resync(alerts, ["in_app", "email", "sms"]) == 2  # sms for both
    assert resync(alerts, ["in_app"]) == 0
    assert resync(alerts, ["in_app", "email", "sms"]) == 3  # email and sms for the other, sms for me
    assert subscriptions_defaults_sync(event_type_id=alerts.pk) == 0
    subscriptions_defaults_for_user(user=me)

    assert channels(me, alerts) == {"in_app", "sms"}
    assert channels(me, alerts, enabled=True) == {"sms"}
    assert channels(other, alerts, enabled=True) == {"in_app", "email", "sms"}


@pytest.mark.django_db
def test_opting_out_by_preferences_before_a_channel_is_a_default(alerts, make_user, client_for):
    """Push is no default yet, and people may not subscribe to this type themselves:
    the opt-out is kept as such (no row), and holds when push becomes a default."""
    me = make_user()
    body = {"subscriptions": [{"event_type": "build.failed", "channel": "push", "enabled": False}]}
    assert client_for(me).put("/api/v1/preferences/", body, format="json").status_code == 200
    assert not Subscription.objects.filter(user=me, channel="push").exists()
    resync(alerts, ["in_app", "email", "push"])
    assert channels(me, alerts) == {"in_app", "email"}


@pytest.mark.django_db
def test_a_service_removal_holds_and_a_new_subscription_lifts_the_opt_out(alerts, make_user, api_key_client):
    me = make_user()
    service = api_key_client(["users:write"])
    path = f"/api/v1/users/{me.pk}/subscriptions/"
    assert service.delete(f"{path}?event_type=build.failed&channel=email").json() == {"deleted": 1}
    resync(alerts, ["in_app", "email", "sms"])
    assert channels(me, alerts) == {"in_app", "sms"}

    again = service.post(path, {"event_type": "build.failed", "channel": "email"}, format="json")
    assert again.status_code == 201 and again.json()["origin"] == "service"
    assert not SubscriptionOptOut.objects.filter(user=me).exists()
    # The service's row is no default: a later sync leaves it alone.
    resync(alerts, ["in_app"])
    assert channels(me, alerts) == {"in_app", "email"}


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_the_sync_job_on_a_real_worker_does_not_bring_a_removal_back(celery_worker, make_user, client_for):
    alerts = EventType.objects.create(key="build.failed", name="Build failed", default_channels=["in_app", "email"])
    me, other = make_user(), make_user()
    email = Subscription.objects.get(user=me, event_type=alerts, channel="email")
    assert client_for(me).delete(f"/api/v1/subscriptions/{email.pk}/").status_code == 204

    # Saved outside a transaction: committed at once, and the receiver enqueues the job.
    alerts.default_channels = ["in_app", "email", "sms"]
    alerts.save(update_fields=["default_channels"])
    wait_until(lambda: channels(me, alerts) == {"in_app", "sms"}, message="the sync job")
    assert channels(other, alerts) == {"in_app", "email", "sms"}


@pytest.mark.django_db(transaction=True)
def test_a_sync_running_while_a_removal_commits_does_not_bring_it_back(make_user):
    """The removal holds its transaction open while a sync chunk starts; the chunk must
    wait for it and then see its opt-out, not re-insert the row once it is gone."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers")
    alerts = EventType.objects.create(key="build.failed", name="Build failed", default_channels=["in_app", "email"])
    me = make_user()
    removed, release, errors = threading.Event(), threading.Event(), []

    def remove():
        try:
            with transaction.atomic():
                subscriptions_delete(queryset=Subscription.objects.filter(user=me, channel="email"))
                removed.set()
                release.wait(10)
        except Exception as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)
        finally:
            removed.set()
            connection.close()

    def sync():
        try:
            subscriptions_defaults_sync(event_type_id=alerts.pk)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    remover = threading.Thread(target=remove)
    remover.start()
    assert removed.wait(10)
    syncer = threading.Thread(target=sync)
    syncer.start()
    # The chunk is waiting on the removal (on its lock, or without it on the row).
    wait_until(lambda: waiting_backends() > 0, timeout=10, message="the sync to wait")
    release.set()
    remover.join(10)
    syncer.join(10)
    assert not errors
    assert channels(me, alerts) == {"in_app"}


def waiting_backends() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]
