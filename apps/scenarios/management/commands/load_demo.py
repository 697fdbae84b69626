from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from apps.accounts.services import user_create
from apps.common.channels import Channel
from apps.events.models import EventType
from apps.scenarios.event_types import SCENARIO_EVENT_TYPES
from apps.scenarios.models import Scenario
from apps.scenarios.services import scenario_create
from apps.subscriptions.models import SubscriptionOrigin
from apps.subscriptions.selectors import subscription_list
from apps.subscriptions.services import subscription_create

DEMO_PASSWORD = "demo-password"
# username → (email, staff, {event type: enabled} on the in-app channel)
DEMO_USERS = {
    "admin": ("admin@example.com", True, {key: True for key in SCENARIO_EVENT_TYPES}),
    "alice": ("alice@example.com", False, {key: True for key in SCENARIO_EVENT_TYPES}),
    "bob": ("bob@example.com", False, {"scenario.created": True, "scenario.executed": True}),
    "carol": ("carol@example.com", False, {"scenario.created": False}),
}
# (username, event type): also by email, so `make run`'s mail catcher shows a real email
# (at /dev/mailbox/) once alice creates a scenario (README, "Try it").
DEMO_EMAIL_SUBSCRIPTIONS = [("bob", "scenario.created")]


class Command(BaseCommand):
    help = "Load demo users, subscriptions and a scenario. Safe to run again."

    def handle(self, *args, **options):
        # The demo's staff account has a published password: never on a real deployment.
        if not settings.DEBUG:
            raise CommandError("load_demo only runs with DEBUG=true: it creates a staff account with a known password.")
        self._load()

    @transaction.atomic
    def _load(self):
        User = get_user_model()
        for username, (email, staff, subscriptions) in DEMO_USERS.items():
            user = User.objects.filter(username=username).first()
            if user is None:
                user = user_create(username=username, email=email, password=DEMO_PASSWORD)
                if staff:
                    user.is_staff = user.is_superuser = True
                    user.save(update_fields=["is_staff", "is_superuser"])
            for key, enabled in subscriptions.items():
                event_type = EventType.objects.get(key=key)
                if not subscription_list(user=user).filter(event_type=event_type, channel=Channel.IN_APP).exists():
                    subscription_create(user=user, event_type=event_type, channel=Channel.IN_APP, enabled=enabled)
        for username, key in DEMO_EMAIL_SUBSCRIPTIONS:
            user, event_type = User.objects.get(username=username), EventType.objects.get(key=key)
            if not subscription_list(user=user).filter(event_type=event_type, channel=Channel.EMAIL).exists():
                # As bob would subscribe himself through the API: the access rule applies.
                subscription_create(
                    user=user, event_type=event_type, channel=Channel.EMAIL, origin=SubscriptionOrigin.PERSON
                )
        alice = User.objects.get(username="alice")
        if not Scenario.objects.filter(owner=alice, name="Checkout smoke test").exists():
            scenario_create(owner=alice, name="Checkout smoke test", description="Demo scenario.")
        logins = ", ".join(f"{name}/{DEMO_PASSWORD}" for name in DEMO_USERS)
        self.stdout.write(f"Demo data ready. Logins: {logins} (admin is staff).")
