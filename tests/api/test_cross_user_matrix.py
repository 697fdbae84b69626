"""No access across owners: every endpoint that takes an id answers 404 to anyone but
the owner, and changes nothing. The matrix must name every such route."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from apps.accounts.models import Device, PushSubscription, WebhookEndpoint
from apps.delivery.models import Delivery
from apps.events.models import Event
from apps.notifications.models import DirectSend, UserNotification
from apps.notifications.sends import direct_send_create
from apps.scenarios.models import Scenario
from apps.subscriptions.models import Subscription

pytestmark = pytest.mark.django_db

# route → (method, body); {id} is the owner's object.
PERSON_MATRIX = {
    "api/v1/inbox/<int:notification_id>/read/": ("post", None),
    "api/v1/inbox/<int:notification_id>/unread/": ("post", None),
    "api/v1/inbox/<int:notification_id>/archive/": ("post", None),
    "api/v1/inbox/<int:notification_id>/unarchive/": ("post", None),
    "api/v1/inbox/<int:notification_id>/snooze/": (
        "post",
        {"until": (datetime.now(UTC) + timedelta(days=1)).isoformat()},
    ),
    "api/v1/subscriptions/<int:subscription_id>/": [("get", None), ("patch", {"enabled": False}), ("delete", None)],
    "api/v1/scenarios/<int:scenario_id>/": [("get", None), ("patch", {"shared": True}), ("delete", None)],
    "api/v1/scenarios/<int:scenario_id>/execute/": ("post", None),
    "api/v1/push-subscriptions/<int:subscription_id>/": [("get", None), ("delete", None)],
    "api/v1/webhook-endpoints/<int:endpoint_id>/": [("get", None), ("delete", None)],
    "api/v1/webhook-endpoints/<int:endpoint_id>/rotate/": ("post", None),
    "api/v1/devices/<int:device_id>/": [("get", None), ("delete", None)],
}
# The web inbox's form actions (session sign-in, not the API): checked on their own below.
WEB_ACTION = "inbox/<int:notification_id>/<slug:action>/"
WEB_SNOOZE = "inbox/<int:notification_id>/snooze/"
WEB_MATRIX = {WEB_ACTION, WEB_SNOOZE}
SERVICE_MATRIX = {
    "api/v1/notifications/<int:send_id>/": ("get", None),
    "api/v1/notifications/<int:send_id>/cancel/": ("post", None),
}
# An API key's own, tried against another key over HTTP in tests/integrations/test_status_webhooks_api.py.
API_KEY_OWNED = {"api/v1/status-webhooks/<int:endpoint_id>/"}
# Service-wide by design: any key with the users scope manages every user and their
# preferences; templates are the service's configuration; the admin is staff-only.
SHARED = {
    "api/v1/users/<int:user_id>/",
    "api/v1/users/<int:user_id>/preferences/",
    "api/v1/users/<int:user_id>/subscriptions/",
    "api/v1/templates/<int:template_id>/",
    "admin/templating/notificationtemplate/<int:template_id>/preview/",
    "admin/templating/notificationtemplate/<int:template_id>/restore/<int:version_id>/",
    # Staff pages, permission-checked per operator group (tests/security/test_dashboard_access.py).
    "admin/dashboard/deliverydashboard/cancel/<int:delivery_id>/",
    "admin/dashboard/deliverydashboard/requeue/<int:delivery_id>/",
    "admin/dashboard/deliverydashboard/story/<int:notification_id>/",
}


def id_routes(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from id_routes(entry, route)
        elif isinstance(entry, URLPattern) and "<int:" in route:
            yield route


def test_the_matrix_covers_every_route_that_takes_an_id():
    assert set(id_routes()) == set(PERSON_MATRIX) | set(SERVICE_MATRIX) | WEB_MATRIX | API_KEY_OWNED | SHARED


def calls(matrix):
    for route, spec in matrix.items():
        for method, body in spec if isinstance(spec, list) else [spec]:
            yield route, method, body


def fill(route, object_id):
    head, _, rest = route.partition("<int:")
    return "/" + head + str(object_id) + rest.partition(">")[2]


@pytest.fixture
def owned(event_types, make_user):
    """Ann's inbox item, subscription and scenario."""
    ann, ben = make_user("ann"), make_user("ben")
    event = Event.objects.create(event_type=event_types["scenario.created"], data={})
    item = UserNotification.objects.create(event=event, user=ann, title="t", created_at=timezone.now())
    subscription = Subscription.objects.create(user=ann, event_type=event_types["scenario.created"], channel="email")
    scenario = Scenario.objects.create(owner=ann, name="Ann's")
    push = PushSubscription.objects.create(user=ann, endpoint="https://push.example.com/x", p256dh="k", auth="a")
    endpoint = WebhookEndpoint.objects.create(user=ann, url="https://hooks.example.com/in", secret="whsec_c2VjcmV0")
    device = Device.objects.create(user=ann, token="fcm-token-" + "a" * 150)
    ids = {
        "notification_id": item.pk,
        "subscription_id": subscription.pk,
        "scenario_id": scenario.pk,
        "endpoint_id": endpoint.pk,
        "device_id": device.pk,
    }
    # The subscriptions routes and the push-subscriptions route share the parameter name.
    ids["push_subscription_id"] = push.pk
    return ann, ben, ids


def snapshot():
    return [
        list(model.objects.order_by("pk").values())
        for model in (
            UserNotification,
            Subscription,
            Scenario,
            DirectSend,
            Delivery,
            PushSubscription,
            WebhookEndpoint,
            Device,
        )
    ]


@pytest.mark.parametrize(("route", "method", "body"), list(calls(PERSON_MATRIX)))
def test_a_person_cannot_reach_another_persons_object(owned, client_for, route, method, body):
    ann, ben, ids = owned
    name = route.split("<int:")[1].split(">")[0]
    if route.startswith("api/v1/push-subscriptions/"):
        name = "push_subscription_id"
    url = fill(route, ids[name])
    before = snapshot()
    response = getattr(client_for(ben), method)(url, body, format="json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert snapshot() == before
    # The owner reaches it.
    assert getattr(client_for(ann), method)(url, body, format="json").status_code in (200, 204)


@pytest.mark.parametrize(("route", "method", "body"), list(calls(SERVICE_MATRIX)))
def test_an_api_key_cannot_reach_another_keys_send(event_types, make_user, api_key_client, route, method, body):
    from apps.common.auth import ServicePrincipal
    from apps.common.models import ApiKey

    recipient = make_user("rita")
    owner_client, other_client = api_key_client(["notifications:write"]), api_key_client(["notifications:write"])
    owner_key = ApiKey.objects.order_by("pk").first()
    send = direct_send_create(
        caller=ServicePrincipal(owner_key), event_type=event_types["scenario.created"], recipients=[recipient.pk]
    )
    url = fill(route, send.pk)
    before = snapshot()
    response = getattr(other_client, method)(url, body, format="json")
    assert response.status_code == 404
    assert snapshot() == before
    assert getattr(owner_client, method)(url, body, format="json").status_code == 200


def test_a_staff_persons_send_is_theirs_alone(event_types, make_user, client_for):
    recipient = make_user("rita")
    alice, bob = make_user("alice"), make_user("bob")
    for staff in (alice, bob):
        staff.is_staff = True
        staff.save(update_fields=["is_staff"])
    response = client_for(alice).post(
        "/api/v1/notifications/", {"event_type": "scenario.created", "recipients": [recipient.pk]}, format="json"
    )
    assert response.status_code == 202
    send_id = response.json()["id"]
    assert client_for(bob).get(f"/api/v1/notifications/{send_id}/").status_code == 404
    assert client_for(alice).get(f"/api/v1/notifications/{send_id}/").status_code == 200


@pytest.mark.parametrize("action", ["read", "unread", "archive", "unarchive"])
def test_the_web_inbox_cannot_act_on_another_persons_item(owned, client, action):
    ann, ben, ids = owned
    url = fill(WEB_ACTION, ids["notification_id"]).replace("<slug:action>", action)
    before = snapshot()
    client.force_login(ben)
    assert client.post(url).status_code == 404
    assert snapshot() == before
    client.force_login(ann)
    assert client.post(url).status_code in (200, 302)


def test_the_web_inbox_cannot_snooze_another_persons_item(owned, client):
    ann, ben, ids = owned
    url = fill(WEB_SNOOZE, ids["notification_id"])
    before = snapshot()
    client.force_login(ben)
    assert client.post(url, {"choice": "tomorrow"}).status_code == 404
    assert snapshot() == before
    client.force_login(ann)
    assert client.post(url, {"choice": "tomorrow"}).status_code == 302
