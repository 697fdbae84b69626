"""The preference center (/inbox/preferences/) through Django's test client: what it
lists, what a plain form POST saves (through the preferences API's service), and how
it answers bad input. The forged-POST attack runs against a live server in
tests/security/test_preference_center_forgery.py; the browser in tests/e2e."""

from datetime import UTC, datetime

import pytest

from apps.accounts.models import Profile
from apps.common.channels import Channel
from apps.events.event_types import event_type_ensure
from apps.subscriptions.models import Preference, Subscription, SubscriptionOrigin

pytestmark = pytest.mark.django_db

URL = "/inbox/preferences/"


@pytest.fixture
def reset_type(db):
    return event_type_ensure(key="account.password_reset", name="Password reset link", self_service=False)


def form(**fields):
    """A full POST of the form as a browser sends it (unchecked boxes are absent)."""
    base = {"timezone": "UTC", "digest": "off", "quiet_start": "", "quiet_end": "", "mute_until": ""}
    return {**base, **fields}


def test_anonymous_is_sent_to_the_sign_in_page(client):
    for response in (client.get(URL), client.post(URL, form())):
        assert response.status_code == 302
        assert response["Location"] == f"/accounts/login/?next={URL}"


def test_lists_only_self_service_types_each_channel_a_labelled_toggle(signed_in, event_types, reset_type):
    page = signed_in.get(URL).content.decode()
    assert "Test scenario created" in page
    assert 'value="scenario.created:email"' in page
    # Every channel a person can link is offered: Slack and mobile push included.
    for channel in ("in_app", "sms", "push", "mobile_push", "slack", "webhook"):
        assert f'value="scenario.created:{channel}"' in page
    assert 'value="scenario.created:log"' not in page and 'value="scenario.created:chat"' not in page
    assert '<label for="sub-scenario-created-email"><input type="checkbox" name="subscription"' in page
    assert "Password reset link" not in page and "account.password_reset" not in page
    assert "<legend>Quiet hours</legend>" in page and '<label for="timezone">Time zone</label>' in page
    assert "<option selected>UTC</option>" in page and "<option>Europe/Lisbon</option>" in page
    assert 'role="status" aria-live="polite" id="save-status"' in page
    for value in ("off", "hourly", "daily", "weekly"):
        assert f'id="digest-{value}" value="{value}"' in page


def test_the_quiet_hours_hint_names_the_channels_that_wait(signed_in, settings):
    settings.QUIET_HOURS_CHANNELS = ["email", "webhook"]
    page = signed_in.get(URL).content.decode()
    assert '<p class="hint" id="quiet-hint">Email, Webhook wait until the quiet hours end' in page


def test_the_inbox_header_links_to_it(signed_in):
    page = signed_in.get("/inbox/").content.decode()
    assert f'<a href="{URL}" id="preferences-link">Preferences</a>' in page


def test_toggles_show_the_saved_state_and_a_save_writes_only_what_changed(signed_in, alice, event_types, subscribe):
    created = event_types["scenario.created"]
    subscribe(alice, created, channel=Channel.IN_APP)
    subscribe(alice, created, channel=Channel.EMAIL)
    page = signed_in.get(URL).content.decode()
    assert 'value="scenario.created:email" checked' in page
    assert 'value="scenario.created:sms">' in page

    # Email off, SMS on for scenario.executed; the in-app box stays checked.
    response = signed_in.post(
        URL, form(subscription=["scenario.created:in_app", "scenario.executed:sms", "scenario.executed:slack"])
    )
    assert response.status_code == 302 and response["Location"] == URL

    rows = {
        (s.event_type.key, s.channel): (s.enabled, s.origin, s.is_default)
        for s in Subscription.objects.filter(user=alice).select_related("event_type")
    }
    assert rows == {
        ("scenario.created", "in_app"): (True, SubscriptionOrigin.PERSON, False),
        ("scenario.created", "email"): (False, SubscriptionOrigin.PERSON, False),
        ("scenario.executed", "sms"): (True, SubscriptionOrigin.PERSON, False),
        ("scenario.executed", "slack"): (True, SubscriptionOrigin.PERSON, False),
    }  # no rows for the boxes left unchecked
    after = signed_in.get(URL).content.decode()
    assert "Preferences saved." in after
    assert 'value="scenario.created:email">' in after and 'value="scenario.executed:sms" checked' in after


def test_quiet_hours_time_zone_mutes_and_digest_are_saved_and_shown_back(signed_in, alice, event_types):
    response = signed_in.post(
        URL,
        form(
            quiet_start="22:00",
            quiet_end="07:30",
            timezone="America/New_York",
            muted_channels=["sms", "webhook"],
            mute_until="2026-12-24T18:00",
            digest="daily",
        ),
    )
    assert response.status_code == 302
    preference = Preference.objects.get(user=alice)
    assert (preference.quiet_start.isoformat(), preference.quiet_end.isoformat()) == ("22:00:00", "07:30:00")
    assert preference.muted_channels == ["sms", "webhook"]
    assert preference.digest == "daily"
    # The local time is read in the zone saved with it: 18:00 in New York is 23:00 UTC.
    assert preference.mute_until == datetime(2026, 12, 24, 23, 0, tzinfo=UTC)
    assert Profile.objects.get(user=alice).timezone == "America/New_York"

    page = signed_in.get(URL).content.decode()
    assert 'id="quiet_start" value="22:00"' in page and 'id="quiet_end" value="07:30"' in page
    assert "<option selected>America/New_York</option>" in page
    assert 'id="mute_until" value="2026-12-24T18:00"' in page
    assert 'value="sms" checked' in page and 'value="email">' in page
    assert 'value="daily" checked' in page and 'value="off" checked' not in page

    # Both times emptied: quiet hours off.
    signed_in.post(URL, form(timezone="America/New_York"))
    preference.refresh_from_db()
    assert preference.quiet_start is None and preference.quiet_end is None and preference.mute_until is None


def test_a_mute_of_the_log_set_through_the_api_survives_a_save_of_the_page(signed_in, alice, event_types):
    Preference.objects.create(user=alice, muted_channels=["log"])
    signed_in.post(URL, form(muted_channels=["email"]))
    assert Preference.objects.get(user=alice).muted_channels == ["email", "log"]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"quiet_start": "22:00"}, "quiet_end", "This field is required."),
        ({"quiet_start": "22:00", "quiet_end": "22:00"}, "quiet_hours", "start and end must differ"),
        ({"quiet_start": "25:00", "quiet_end": "07:00"}, "quiet_start", "Time has wrong format"),
        ({"timezone": "Mars/Olympus"}, "timezone", "Unknown time zone"),
        ({"digest": "yearly"}, "digest", "is not a valid choice"),
        ({"mute_until": "soon"}, "mute_until", "Datetime has wrong format"),
        ({"subscription": ["no.such.type:email"]}, "subscriptions", "does not exist"),
    ],
)
def test_bad_input_is_shown_next_to_its_field_kept_as_typed_and_writes_nothing(
    signed_in, alice, event_types, fields, field, message
):
    response = signed_in.post(URL, form(**{"muted_channels": ["sms"], **fields}))
    assert response.status_code == 400
    page = response.content.decode()
    box = page.split(f'id="error-{field}"', 1)[1].split("</div>", 1)[0]
    assert message in box
    assert 'value="sms" checked' in page  # what was typed is shown back, not lost
    assert not Preference.objects.filter(user=alice).exists()
    assert Profile.objects.get(user=alice).timezone == "UTC"


def test_the_script_gets_json_the_envelope_for_errors(signed_in, alice, event_types):
    ok = signed_in.post(URL, form(digest="weekly"), HTTP_ACCEPT="application/json")
    assert ok.status_code == 200 and ok.json() == {"saved": True, "message": "Preferences saved."}
    bad = signed_in.post(URL, form(timezone="Nowhere"), HTTP_ACCEPT="application/json")
    assert bad.status_code == 400
    error = bad.json()["error"]
    assert error["code"] == "bad_request" and "Unknown time zone" in error["details"]["timezone"][0]
    assert Preference.objects.get(user=alice).digest == "weekly"


def test_a_forged_toggle_of_a_type_that_is_not_self_service_is_refused(signed_in, alice, event_types, reset_type):
    response = signed_in.post(URL, form(digest="hourly", subscription=["account.password_reset:email"]))
    assert response.status_code == 403
    assert "a service manages these subscriptions" in response.content.decode()
    assert not Subscription.objects.filter(user=alice).exists()
    assert not Preference.objects.filter(user=alice).exists()  # the digest in the same POST neither


def test_the_service_worker_is_served_under_the_inbox_scope(client):
    response = client.get("/inbox/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    body = response.content.decode()
    assert 'addEventListener("push"' in body and 'addEventListener("notificationclick"' in body


def test_the_push_button_carries_the_vapid_key_and_the_api_address(signed_in, settings):
    page = signed_in.get(URL).content.decode()
    assert f'data-vapid-key="{settings.VAPID_PUBLIC_KEY}"' in page
    assert 'data-register-url="/api/v1/push-subscriptions/"' in page
    assert 'data-worker-url="/inbox/sw.js"' in page and 'data-scope="/inbox/"' in page


@pytest.mark.parametrize(
    "fields",
    [
        {"mute_until": "2026-13-45T99:99"},
        {"subscription": ["no-separator"]},
        {"subscription": ["scenario.created:carrier-pigeon"]},
        {"muted_channels": ["in_app"]},
        {"quiet_start": "ab:cd", "quiet_end": "\x00"},
        {"timezone": "x" * 10_000},
        {"digest": ""},
    ],
)
def test_hostile_input_gets_a_400_never_a_500(signed_in, alice, event_types, fields):
    response = signed_in.post(URL, form(**fields))
    assert response.status_code == 400
    assert 'class="field-error"' in response.content.decode()
    assert not Preference.objects.filter(user=alice).exists()
    assert not Subscription.objects.filter(user=alice).exists()


def test_too_many_fields_get_the_error_envelope(signed_in, alice, event_types):
    response = signed_in.post(URL, form(subscription=[f"scenario.created:{n}" for n in range(1001)]))
    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_request"
    assert not Subscription.objects.filter(user=alice).exists()


@pytest.mark.parametrize(
    ("local", "zone"),
    [("0001-01-01T00:00", "Pacific/Kiritimati"), ("9999-12-31T23:59", "Etc/GMT+12")],  # past year 1 / 9999 in UTC
)
def test_a_pause_at_the_ends_of_the_calendar_never_breaks_the_page(signed_in, event_types, local, zone):
    response = signed_in.post(URL, form(mute_until=local, timezone=zone))
    assert response.status_code in (302, 400)
    assert signed_in.get(URL).status_code == 200


def test_a_pause_set_through_the_api_at_year_one_shows_in_a_zone_behind_utc(signed_in, alice, event_types):
    Preference.objects.create(user=alice, mute_until=datetime(1, 1, 1, tzinfo=UTC))
    Profile.objects.filter(user=alice).update(timezone="America/New_York")
    page = signed_in.get(URL)
    assert page.status_code == 200 and 'id="mute_until" value="0001-01-01T00:00"' in page.content.decode()
