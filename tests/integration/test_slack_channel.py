"""The `slack` channel through slack-sdk's WebClient against a local server speaking
Slack's Web API, with a real worker: Block Kit posted with the bot token, rate limits
deferred with Slack's Retry-After, 5xx retried, Slack's refusals failed at once."""

import pytest

from apps.accounts.models import Profile
from apps.common.channels import Channel
from apps.common.models import ApiKeyScope
from apps.delivery.models import Delivery, DeliveryStatus
from apps.notifications.publish import event_publish

from ..worker import wait_until
from .chat_providers import SlackApi, channel_worker
from .providers import FINAL, wait_for_status

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def slack():
    server = SlackApi().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def slack_worker(slack, django_db_setup, django_db_blocker):
    env = {
        "SLACK_BOT_TOKEN": SlackApi.TOKEN,
        "SLACK_API_BASE_URL": f"{slack.url}/api/",
        "PROVIDER_HTTP_TIMEOUT_SECONDS": "1",
    }
    with django_db_blocker.unblock(), channel_worker("slack", env) as worker:
        yield worker


def slack_delivery(event_types, make_user, subscribe, name: str, slack_id: str) -> Delivery:
    user = make_user(name, slack_id=slack_id)
    subscribe(user, event_types["scenario.created"], channel=Channel.SLACK)
    event, _ = event_publish(event_type="scenario.created", data={"name": f"for {name}"})
    return wait_until(
        lambda: Delivery.objects.filter(notification__event=event, channel=Channel.SLACK).first(),
        message="the slack delivery",
    )


def history(delivery):
    return [
        (e.status, e.detail.get("status_code"), e.detail.get("slack_error")) for e in delivery.events.order_by("id")
    ]


def test_a_member_gets_block_kit_from_the_bot_and_the_ts_is_recorded(
    slack_worker, slack, event_types, make_user, subscribe
):
    delivery = wait_for_status(slack_delivery(event_types, make_user, subscribe, "sl-ok", "U0SLACKOK1").pk, FINAL)

    assert delivery.status == DeliveryStatus.SENT
    [call] = slack.calls_for("U0SLACKOK1", "channel")
    assert call.path == "/api/chat.postMessage"
    assert call.headers["authorization"] == f"Bearer {SlackApi.TOKEN}"
    header, section = call.body["blocks"][:2]
    assert header == {"type": "header", "text": {"type": "plain_text", "text": 'Scenario "for sl-ok" created'}}
    assert section["type"] == "section" and section["text"]["type"] == "plain_text"
    assert call.body["text"].startswith('Scenario "for sl-ok" created')
    # Slack's ts names the message: kept as the provider's id.
    assert delivery.provider_message_id and delivery.provider_message_id == delivery.events.get().detail["ts"]
    assert delivery.attempts == 1


def test_a_link_becomes_a_button(slack_worker, slack, event_types, make_user, subscribe):
    user = make_user("sl-link", slack_id="C0SLACKLNK")
    subscribe(user, event_types["scenario.executed"], channel=Channel.SLACK)
    event, _ = event_publish(
        event_type="scenario.executed", data={"name": "Linked", "url": "https://app.example.com/s/1"}
    )
    delivery = wait_until(lambda: Delivery.objects.filter(notification__event=event).first(), message="delivery")
    assert wait_for_status(delivery.pk, FINAL).status == DeliveryStatus.SENT
    [call] = slack.calls_for("C0SLACKLNK", "channel")
    [actions] = [b for b in call.body["blocks"] if b["type"] == "actions"]
    [button] = actions["elements"]
    assert (button["type"], button["url"]) == ("button", "https://app.example.com/s/1")


def test_a_rate_limit_defers_with_retry_after_and_uses_no_attempt(
    slack_worker, slack, event_types, make_user, subscribe
):
    slack.plan("U0SLACKRL1", [429])
    delivery = wait_for_status(slack_delivery(event_types, make_user, subscribe, "sl-rl", "U0SLACKRL1").pk, FINAL)

    assert delivery.status == DeliveryStatus.SENT
    assert len(slack.calls_for("U0SLACKRL1", "channel")) == 2
    deferred, sent = delivery.events.order_by("id")
    assert deferred.status == "deferred" and deferred.detail["reason"] == "rate_limited"
    assert deferred.detail["status_code"] == 429
    assert sent.status == "sent"
    assert delivery.attempts == 1  # the deferral gave its attempt back


def test_5xx_is_retried_until_slack_takes_it(slack_worker, slack, event_types, make_user, subscribe):
    slack.plan("U0SLACK5XX", [500, 503])
    delivery = wait_for_status(slack_delivery(event_types, make_user, subscribe, "sl-5xx", "U0SLACK5XX").pk, FINAL)

    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 3
    assert [status for status, _, _ in history(delivery)] == ["pending", "pending", "sent"]
    assert [code for _, code, _ in history(delivery)] == [500, 503, 200]


def test_a_timeout_is_retried(slack_worker, slack, event_types, make_user, subscribe):
    slack.plan("U0SLACKSLOW", [("slow", 2.5)])
    delivery = wait_for_status(slack_delivery(event_types, make_user, subscribe, "sl-slow", "U0SLACKSLOW").pk, FINAL)

    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 2
    timed_out, sent = delivery.events.order_by("id")
    assert timed_out.status == "pending" and "timed out" in timed_out.detail["error"].lower()
    assert sent.status == "sent"


@pytest.mark.parametrize("error", ["channel_not_found", "not_in_channel", "account_inactive"])
def test_slacks_refusal_fails_at_once(slack_worker, slack, event_types, make_user, subscribe, error):
    slack_id = f"C0{error.upper().replace('_', '')[:8]}"
    slack.plan(slack_id, [error])
    delivery = wait_for_status(slack_delivery(event_types, make_user, subscribe, f"sl-{error}", slack_id).pk, FINAL)

    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 1
    assert len(slack.calls_for(slack_id, "channel")) == 1
    assert history(delivery) == [("failed", 200, error)]
    assert error in delivery.last_error


def test_a_person_without_a_slack_id_fails_without_a_request(slack_worker, slack, event_types, make_user, subscribe):
    before = len(slack.calls)
    delivery = wait_for_status(slack_delivery(event_types, make_user, subscribe, "sl-none", "").pk, FINAL)
    assert delivery.status == DeliveryStatus.FAILED
    assert "no valid slack address" in delivery.last_error
    assert len(slack.calls) == before


def test_services_link_a_slack_id_through_the_users_api(api_key_client, make_user):
    user = make_user("sl-api")
    client = api_key_client(scopes=[ApiKeyScope.USERS_WRITE])

    response = client.patch(f"/api/v1/users/{user.pk}/", {"slack_id": "W0ENTERPRISE"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["slack_id"] == "W0ENTERPRISE"
    assert Profile.objects.get(user=user).slack_id == "W0ENTERPRISE"

    refused = client.patch(f"/api/v1/users/{user.pk}/", {"slack_id": "#general"}, format="json")
    assert refused.status_code == 400
    assert "slack_id" in refused.json()["error"]["details"]
    assert Profile.objects.get(user=user).slack_id == "W0ENTERPRISE"
