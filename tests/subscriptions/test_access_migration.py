"""The data migration that applies the access rule to rows written before it: the
people's rows that break it are deleted, defaults become origin "default" and stay."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [
    ("subscriptions", "0004_subscription_origin_and_opt_out"),
    ("scenarios", "0004_scenario_event_types_self_service"),
]
AFTER = [("subscriptions", "0005_subscriptions_access_cleanup")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_rows_that_break_the_rule_are_deleted_and_the_rest_stay():
    apps = migrate(BEFORE)
    User = apps.get_model("auth", "User")
    EventType = apps.get_model("events", "EventType")
    Scenario = apps.get_model("scenarios", "Scenario")
    Subscription = apps.get_model("subscriptions", "Subscription")
    alice, carol = User.objects.create(username="alice"), User.objects.create(username="carol")
    created = EventType.objects.get_or_create(key="scenario.created", defaults={"name": "c", "self_service": True})[0]
    reset = EventType.objects.create(key="account.password_reset", name="Reset")
    mine = Scenario.objects.create(owner=alice, name="Mine")

    def row(user, event_type, channel="in_app", **fields):
        return Subscription.objects.create(user=user, event_type=event_type, channel=channel, **fields).pk

    keep = {
        row(carol, created),  # self-service, any subject
        row(alice, created, subject_type="scenarios.scenario", subject_id=str(mine.pk)),  # her own
        row(carol, reset, channel="push", is_default=True),  # the event type's default: the service's choice
    }
    gone = {
        row(carol, reset),  # not self-service
        row(carol, reset, channel="sms", enabled=False),  # disabled: critical types reach those too
        row(carol, created, subject_type="scenarios.scenario", subject_id=str(mine.pk)),  # alice's, private
        row(carol, created, subject_type="scenarios.scenario", subject_id="x1"),
        row(carol, created, subject_type="accounts.user", subject_id=str(alice.pk)),  # unknown subject type
    }

    apps = migrate(AFTER)
    Subscription = apps.get_model("subscriptions", "Subscription")
    assert set(Subscription.objects.values_list("pk", flat=True)) == keep
    assert Subscription.objects.get(is_default=True).origin == "default"
    assert not gone & set(Subscription.objects.values_list("pk", flat=True))
