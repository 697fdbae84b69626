"""Secrets at rest, tried as someone holding a copy of the database would: the columns
hold Fernet tokens only, the service still signs and encrypts with the secrets, keys
rotate, and a send's status shows the calling service nothing of a person's receivers."""

import base64
import json
from io import StringIO

import pytest
import requests
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from standardwebhooks import Webhook

from apps.accounts.models import PushSubscription, WebhookEndpoint
from apps.accounts.services import webhook_endpoint_create
from apps.common.channels import Channel
from apps.common.services import api_key_create
from apps.delivery.dispatch import deliveries_dispatch
from apps.delivery.models import Delivery, DeliveryStatus

from ..delivery.factories import make_delivery
from ..http_receiver import Answer, Receiver
from ..web_push_browser import Browser
from ..worker import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

KEY_A, KEY_B = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def person_session(live_server, user) -> requests.Session:
    session = requests.Session()
    response = session.post(
        live_server.url + "/api/v1/auth/token/", json={"username": user.username, "password": "secret-pass-1"}
    )
    assert response.status_code == 200, response.text
    session.headers["Authorization"] = f"Token {response.json()['token']}"
    return session


def raw_columns(table: str, pk: int, *columns: str) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(columns)} FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()


def dispatch(channel, *deliveries):
    return deliveries_dispatch(channel_key=channel, delivery_ids=[d.pk for d in deliveries]).steps


def test_webhook_secret_is_a_token_in_the_column_and_still_signs_at_a_real_receiver(
    live_server, make_user, event_types, settings
):
    settings.FIELD_ENCRYPTION_KEYS = [KEY_A]
    ann = make_user("ann")
    with Receiver() as receiver:
        created = person_session(live_server, ann).post(
            live_server.url + "/api/v1/webhook-endpoints/", json={"url": receiver.url()}
        )
        assert created.status_code == 201, created.text
        secret = created.json()["secret"]
        (stored,) = raw_columns("accounts_webhookendpoint", created.json()["id"], "secret")
        assert secret.startswith("whsec_")
        assert secret not in stored and secret.removeprefix("whsec_") not in stored
        assert Fernet(KEY_A).decrypt(stored.encode()).decode() == secret  # a token of the configured key

        delivery = make_delivery(ann, event_types["scenario.created"], Channel.WEBHOOK, status=DeliveryStatus.PENDING)
        assert dispatch("webhook", delivery)["sent"] == [delivery.pk]

    [request] = receiver.requests
    payload = Webhook(secret).verify(request.body, request.headers)
    assert payload["data"]["delivery_id"] == delivery.pk


def test_push_keys_are_tokens_in_the_columns_and_the_browser_still_reads_the_push(
    live_server, make_user, event_types, settings
):
    settings.FIELD_ENCRYPTION_KEYS = [KEY_A]
    bob = make_user("bob")
    browser = Browser()
    with Receiver(Answer(201, body=b"")) as push_service:
        response = person_session(live_server, bob).post(
            live_server.url + "/api/v1/push-subscriptions/",
            json={"endpoint": push_service.url("/push/dev-1"), "keys": browser.keys},
        )
        assert response.status_code == 201, response.text
        subscription = PushSubscription.objects.get(user=bob)
        p256dh, auth = raw_columns("accounts_pushsubscription", subscription.pk, "p256dh", "auth")
        assert browser.keys["p256dh"] not in p256dh and browser.keys["auth"] not in auth
        assert Fernet(KEY_A).decrypt(auth.encode()).decode() == browser.keys["auth"]

        delivery = make_delivery(bob, event_types["scenario.created"], Channel.PUSH, status=DeliveryStatus.PENDING)
        assert dispatch("push", delivery)["sent"] == [delivery.pk]

    [request] = push_service.requests
    assert browser.decrypt(request.body)["notification_id"] == delivery.notification_id


def test_rotation_re_encrypts_under_the_new_key_and_the_old_key_can_go(make_user, settings):
    settings.FIELD_ENCRYPTION_KEYS = [KEY_A]
    endpoint = webhook_endpoint_create(user=make_user("carol"), url="http://localhost:9/hook")
    secret = endpoint.secret
    (before,) = raw_columns("accounts_webhookendpoint", endpoint.pk, "secret")

    settings.FIELD_ENCRYPTION_KEYS = [KEY_B, KEY_A]  # the new key first; both decrypt
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == secret
    out = StringIO()
    call_command("encryption_keys_rotate", stdout=out)
    assert "accounts_webhookendpoint: 1 values re-encrypted" in out.getvalue()
    (after,) = raw_columns("accounts_webhookendpoint", endpoint.pk, "secret")
    assert after != before
    assert Fernet(KEY_B).decrypt(after.encode()).decode() == secret

    settings.FIELD_ENCRYPTION_KEYS = [KEY_B]  # the old key removed
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == secret

    # The check can fail: a value made under a key no longer configured does not read.
    settings.FIELD_ENCRYPTION_KEYS = [KEY_A]
    with pytest.raises(ImproperlyConfigured, match="does not decrypt"):
        WebhookEndpoint.objects.get(pk=endpoint.pk)


def test_the_migration_encrypts_rows_stored_in_plain_text(settings, make_user):
    """Rows written before encryption (accounts 0002) come out of 0004 as tokens."""
    settings.FIELD_ENCRYPTION_KEYS = [KEY_A]
    user = make_user("dora")
    executor = MigrationExecutor(connection)
    executor.migrate([("accounts", "0002_push_subscription_webhook_endpoint")])
    plain = "whsec_" + base64.b64encode(b"k" * 32).decode()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO accounts_webhookendpoint (user_id, url, description, is_active, secret, previous_secret,"
            " created_at, updated_at) VALUES (%s, 'http://localhost:9/h', '', true, %s, '', now(), now())"
            " RETURNING id",
            [user.pk, plain],
        )
        (pk,) = cursor.fetchone()
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    secret, previous = raw_columns("accounts_webhookendpoint", pk, "secret", "previous_secret")
    assert plain not in secret and Fernet(KEY_A).decrypt(secret.encode()).decode() == plain
    assert previous == ""
    assert WebhookEndpoint.objects.get(pk=pk).secret == plain


def test_send_status_shows_no_webhook_url_or_receiver_answer(live_server, celery_worker, make_user, event_types):
    """A service sends to two people through their webhooks; one receiver answers with a
    secret in its body, the other redirects to a secret location. The service's view of
    the send says what happened, not where or what was answered."""
    eve, fay = make_user("eve"), make_user("fay")
    leak_body = b'{"session": "rcv-secret-body-7731"}'
    leak_location = "https://internal.example.com/secret-path-9911"
    _, key = api_key_create(name="shop", scopes=["notifications:write"])
    service = requests.Session()
    service.headers["Authorization"] = f"Bearer {key}"
    with (
        Receiver(default=Answer(200, body=leak_body)) as eves,
        Receiver(default=Answer(302, headers={"Location": leak_location}, body=leak_body)) as fays,
    ):
        eve_endpoint = webhook_endpoint_create(user=eve, url=eves.url("/hooks/eve-private-path"))
        webhook_endpoint_create(user=fay, url=fays.url("/hooks/fay-private-path"))
        sent = service.post(
            live_server.url + "/api/v1/notifications/",
            json={
                "event_type": "scenario.created",
                "recipients": [eve.pk, fay.pk],
                "channels": ["webhook"],
                "data": {"name": "Checkout"},
            },
        )
        assert sent.status_code == 202, sent.text
        send_id = sent.json()["id"]

        def settled():
            statuses = set(
                Delivery.objects.filter(notification__event__direct_send=send_id).values_list("status", flat=True)
            )
            return statuses == {DeliveryStatus.SENT, DeliveryStatus.FAILED}

        wait_until(settled, timeout=60, message="both webhook deliveries to settle")

    # Eve's receiver got a delivery it can verify with her secret.
    Webhook(eve_endpoint.secret).verify(eves.requests[0].body, eves.requests[0].headers)
    # What operators keep still holds the full record (so the check below can fail).
    stored = json.dumps(list(Delivery.objects.filter(channel="webhook").values_list("events__detail", flat=True)))
    assert "rcv-secret-body-7731" in stored and "eve-private-path" in stored and "secret-path-9911" in stored

    status = service.get(f"{live_server.url}/api/v1/notifications/{send_id}/")
    assert status.status_code == 200
    text = status.text
    for leak in ("rcv-secret-body-7731", "private-path", "secret-path-9911", "internal.example.com", str(eves.port)):
        assert leak not in text, leak
    deliveries = {r["user_id"]: r["deliveries"][0] for r in status.json()["recipients"]}
    assert deliveries[eve.pk]["status"] == "sent"
    [eve_target] = next(e for e in deliveries[eve.pk]["events"] if e["type"] == "sent")["detail"]["targets"]
    assert eve_target["outcome"] == "sent" and eve_target["status"] == 200
    assert deliveries[fay.pk]["status"] == "failed"
    assert "permanent (answered 302)" in deliveries[fay.pk]["last_error"]
