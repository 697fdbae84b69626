"""The delivery dashboard's requeue and cancel, attacked over HTTP against a live
server: support staff (view only), staff in neither group, people who are not staff,
nobody signed in, a forged cross-site POST without the CSRF token and a GET. Each is
refused, and the dead letter stays dead, gains no history and nothing is enqueued."""

import base64
import json

import pytest
import redis
import requests
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.utils import timezone

from apps.dashboard.groups import staff_groups_ensure
from apps.delivery.models import Delivery, DeliveryEvent, DeliveryStatus
from apps.events.models import Event
from apps.notifications.models import UserNotification

from .signing_in import admin_signed_in, form_token

pytestmark = pytest.mark.django_db(transaction=True)

DASHBOARD = "/admin/dashboard/deliverydashboard/"


@pytest.fixture
def person(django_user_model):
    # A transactional test's flush removed the migration's groups: make them again.
    staff_groups_ensure(group_model=Group, permission_model=Permission)

    def person(username, *, group=None, is_staff=True):
        user = django_user_model.objects.create_user(
            username, f"{username}@example.com", "secret-pass-1", is_staff=is_staff
        )
        if group:
            user.groups.add(Group.objects.get(name=group))
        return user

    return person


@pytest.fixture
def dead(make_user, event_types):
    event = Event.objects.create(event_type=event_types["scenario.created"])
    now = timezone.now()
    item = UserNotification.objects.create(event=event, user=make_user("dora"), title="t", created_at=now)
    return Delivery.objects.create(
        notification=item,
        # sms: a queue no shared test worker consumes, so what is enqueued stays to be seen.
        channel="sms",
        status=DeliveryStatus.DEAD,
        attempts=5,
        last_error="timed out",
        created_at=now,
        updated_at=now,
    )


def signed_in(live_server, user) -> tuple[requests.Session, str]:
    """A browser signed in through the admin's form, and a valid CSRF form token."""
    browser = admin_signed_in(live_server, user)
    return browser, browser.cookies["csrftoken"]


QUEUE = "sms"


def queued() -> list:
    """(channel, delivery ids, priority) of each dispatch message waiting in the sms queue."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    return [json.loads(base64.b64decode(json.loads(raw)["body"]))[0] for raw in client.lrange(QUEUE, 0, -1)]


@pytest.fixture(autouse=True)
def _leave_the_queue_as_found():
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    found = set(client.lrange(QUEUE, 0, -1))
    yield
    for raw in set(client.lrange(QUEUE, 0, -1)) - found:
        client.lrem(QUEUE, 0, raw)


def assert_untouched(delivery, queue_before):
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == (DeliveryStatus.DEAD, 5, "timed out")
    assert not DeliveryEvent.objects.filter(delivery=delivery).exists()
    assert queued() == queue_before


def post(live_server, browser, path, token):
    url = live_server.url + path
    return browser.post(url, data={"csrfmiddlewaretoken": token}, headers={"Referer": url}, allow_redirects=False)


@pytest.mark.parametrize("action", ["requeue", "cancel"])
def test_support_is_refused_with_403(live_server, person, dead, action):
    browser, token = signed_in(live_server, person("sue", group="support"))
    assert browser.get(live_server.url + DASHBOARD).status_code == 200
    before = queued()
    response = post(live_server, browser, f"{DASHBOARD}{action}/{dead.pk}/", token)
    assert response.status_code == 403
    assert response.json()["error"]["code"]
    assert_untouched(dead, before)


def test_support_cannot_use_the_admin_list_action_either(live_server, person, dead):
    browser, token = signed_in(live_server, person("sue", group="support"))
    before = queued()
    url = live_server.url + "/admin/delivery/delivery/"
    browser.post(
        url,
        data={"csrfmiddlewaretoken": token, "action": "requeue", "_selected_action": [dead.pk]},
        headers={"Referer": url},
        allow_redirects=False,
    )
    assert_untouched(dead, before)


def test_staff_in_neither_group_sees_nothing_and_changes_nothing(live_server, person, dead):
    browser, token = signed_in(live_server, person("stan"))
    before = queued()
    assert browser.get(live_server.url + DASHBOARD, allow_redirects=False).status_code == 403
    story = f"{DASHBOARD}story/{dead.notification_id}/"
    assert browser.get(live_server.url + story, allow_redirects=False).status_code == 403
    assert post(live_server, browser, f"{DASHBOARD}requeue/{dead.pk}/", token).status_code == 403
    assert_untouched(dead, before)


def test_nobody_signed_in_is_sent_to_the_sign_in_page(live_server, dead):
    browser = requests.Session()
    token = form_token(browser.get(live_server.url + "/admin/login/").text)
    before = queued()
    for response in (
        browser.get(live_server.url + DASHBOARD, allow_redirects=False),
        post(live_server, browser, f"{DASHBOARD}requeue/{dead.pk}/", token),
    ):
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/admin/login/")
    assert_untouched(dead, before)


def test_a_person_who_is_not_staff_is_sent_to_the_sign_in_page(live_server, person, dead, client):
    # The admin's form refuses people who are not staff: sign in as the inbox would.
    client.force_login(person("pat", is_staff=False))
    browser = requests.Session()
    browser.cookies.set("sessionid", client.cookies["sessionid"].value)
    token = form_token(browser.get(live_server.url + "/admin/login/").text)
    before = queued()
    response = post(live_server, browser, f"{DASHBOARD}requeue/{dead.pk}/", token)
    assert response.status_code == 302 and response.headers["Location"].startswith("/admin/login/")
    assert_untouched(dead, before)


def test_a_forged_post_without_the_csrf_token_is_refused(live_server, person, dead):
    browser, _ = signed_in(live_server, person("opal", group="operator"))
    before = queued()
    url = live_server.url + f"{DASHBOARD}requeue/{dead.pk}/"
    response = browser.post(url, headers={"Referer": "https://evil.example/"}, allow_redirects=False)
    assert response.status_code == 403
    assert_untouched(dead, before)


def test_a_get_to_requeue_changes_nothing(live_server, person, dead):
    browser, _ = signed_in(live_server, person("opal", group="operator"))
    before = queued()
    response = browser.get(live_server.url + f"{DASHBOARD}requeue/{dead.pk}/", allow_redirects=False)
    assert response.status_code == 405
    assert_untouched(dead, before)


def test_the_operator_requeues_through_http(live_server, person, dead):
    browser, token = signed_in(live_server, person("opal", group="operator"))
    before = queued()
    response = post(live_server, browser, f"{DASHBOARD}requeue/{dead.pk}/", token)
    assert response.status_code == 302 and response.headers["Location"] == DASHBOARD
    dead.refresh_from_db()
    assert (dead.status, dead.attempts) == (DeliveryStatus.PENDING, 0)
    # Kombu pushes new messages at the head of the list.
    assert queued() == [["sms", [dead.pk], "normal"], *before]  # (channel, ids, priority)


def test_unknown_ids_answer_404_or_nothing_not_500(live_server, person, dead):
    browser, token = signed_in(live_server, person("opal", group="operator"))
    assert browser.get(live_server.url + f"{DASHBOARD}story/999999/", allow_redirects=False).status_code == 404
    response = post(live_server, browser, f"{DASHBOARD}requeue/999999/", token)
    assert response.status_code == 302
    assert browser.get(live_server.url + f"{DASHBOARD}?page=abc").status_code == 200


@pytest.mark.parametrize(
    "target", ["https://evil.example/admin/", "//evil.example/admin/", "/inbox/", "\\\\evil.example/admin/"]
)
def test_next_cannot_send_the_operator_off_the_admin(live_server, person, dead, target):
    browser, token = signed_in(live_server, person("opal", group="operator"))
    url = live_server.url + f"{DASHBOARD}requeue/{dead.pk}/"
    response = browser.post(
        url, data={"csrfmiddlewaretoken": token, "next": target}, headers={"Referer": url}, allow_redirects=False
    )
    assert response.status_code == 302
    assert response.headers["Location"] == DASHBOARD


def test_requeue_from_the_story_returns_to_the_story(live_server, person, dead):
    browser, token = signed_in(live_server, person("opal", group="operator"))
    story = f"{DASHBOARD}story/{dead.notification_id}/"
    assert f'aria-label="Requeue delivery {dead.pk}"' in browser.get(live_server.url + story).text
    url = live_server.url + f"{DASHBOARD}requeue/{dead.pk}/"
    response = browser.post(
        url, data={"csrfmiddlewaretoken": token, "next": story}, headers={"Referer": url}, allow_redirects=False
    )
    assert response.headers["Location"] == story
    dead.refresh_from_db()
    assert dead.status == DeliveryStatus.PENDING
