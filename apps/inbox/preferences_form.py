"""Between the preference center's HTML form and the preferences API's input.

The page does not validate or write anything itself: a POST becomes the body a
PUT /api/v1/preferences/ would send (PreferencesInput checks it, preference_update
writes it), so the page and the API cannot drift apart. This module only reads the
person's current state as GET /api/v1/preferences/ answers it, and turns the
form's fields into that body."""

import contextlib
import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

from apps.common.channels import Channel
from apps.events.selectors import event_type_list
from apps.subscriptions.models import DigestFrequency
from apps.subscriptions.preferences_api import preferences_output
from apps.subscriptions.selectors import preference_get, subscription_channel_list

# The channels a person chooses on the page. The server log is the operators' channel:
# a person's choices about it (made through the API) are kept as they are.
PAGE_CHANNELS = [
    Channel.IN_APP,
    Channel.EMAIL,
    Channel.SMS,
    Channel.PUSH,
    Channel.MOBILE_PUSH,
    Channel.SLACK,
    Channel.WEBHOOK,
]
MUTABLE_CHANNELS = [c for c in PAGE_CHANNELS if c != Channel.IN_APP]  # the inbox itself is never muted


@cache
def timezone_choices() -> list[str]:
    return sorted(zoneinfo.available_timezones())


def self_service_event_types():
    """The event types people may subscribe to themselves (apps.subscriptions.access):
    the only ones the page offers."""
    return event_type_list().filter(self_service=True)


def toggle_name(event_type_key: str, channel: str) -> str:
    return f"{event_type_key}:{channel}"


@dataclass
class FormState:
    """What the form shows: the saved preferences, or what was just posted."""

    subscriptions: set[str] = field(default_factory=set)  # toggle names that are on
    muted_channels: list[str] = field(default_factory=list)
    mute_until: str = ""  # local wall-clock time, as datetime-local shows it
    quiet_start: str = ""
    quiet_end: str = ""
    timezone: str = "UTC"
    digest: str = DigestFrequency.OFF


def saved_toggles(*, user) -> dict[str, bool]:
    """The person's opt-ins for any subject, by toggle name."""
    return {toggle_name(s.event_type.key, s.channel): s.enabled for s in subscription_channel_list(user=user)}


def _local(moment: datetime, zone: str) -> str:
    """As <input type="datetime-local"> shows it (isoformat: strftime's %Y drops the
    zeros of years before 1000)."""
    # A pause at the very end of the calendar has no local time there: shown in UTC.
    with contextlib.suppress(OverflowError):
        moment = moment.astimezone(zoneinfo.ZoneInfo(zone))
    return moment.replace(tzinfo=None).isoformat(timespec="minutes")


def saved_state(*, user) -> FormState:
    """What GET /api/v1/preferences/ answers, in the form's terms."""
    saved = preferences_output(user)
    zone = saved["timezone"] or "UTC"
    quiet = saved["quiet_hours"] or {"start": "", "end": ""}
    return FormState(
        subscriptions={toggle_name(s["event_type"], s["channel"]) for s in saved["subscriptions"] if s["enabled"]},
        muted_channels=list(saved["muted_channels"]),
        mute_until=_local(datetime.fromisoformat(saved["mute_until"]), zone) if saved["mute_until"] else "",
        quiet_start=quiet["start"],
        quiet_end=quiet["end"],
        timezone=zone,
        digest=saved["digest"],
    )


def posted_state(post) -> FormState:
    """The posted fields as they were typed, to show them back next to their errors."""
    return FormState(
        subscriptions=set(post.getlist("subscription")),
        muted_channels=post.getlist("muted_channels"),
        mute_until=post.get("mute_until", "").strip(),
        quiet_start=post.get("quiet_start", "").strip(),
        quiet_end=post.get("quiet_end", "").strip(),
        timezone=post.get("timezone", "").strip(),
        digest=post.get("digest", ""),
    )


def _aware_mute_until(text: str, zone: str) -> str | None:
    """The page's local time, in the zone being saved, as ISO 8601 with its offset.
    Anything else goes to the serializer unchanged, which refuses it with its message."""
    if not text:
        return None
    try:
        local = datetime.fromisoformat(text)
        tz = zoneinfo.ZoneInfo(zone if zone in timezone_choices() else "UTC")
    except ValueError:
        return text
    return (local if local.tzinfo else local.replace(tzinfo=tz)).isoformat()


def api_input(*, posted: FormState, user, shown_toggles: list[str]) -> dict:
    """The PUT body of /api/v1/preferences/ that the posted form means.

    Only changed toggles are sent: an untouched unchecked box must not become a row.
    A toggle the page did not offer (a forged POST naming an event type that is not
    self-service) is sent as an opt-in, so the service's access rule refuses it (403,
    nothing written) exactly as it refuses the same PUT from the API."""
    saved = saved_toggles(user=user)
    entries = []
    for name in shown_toggles:
        enabled = name in posted.subscriptions
        if enabled != saved.get(name, False):
            entries.append((name, enabled))
    entries += [(name, True) for name in sorted(posted.subscriptions - set(shown_toggles))]
    subscriptions = []
    for name, enabled in entries:
        event_type, _, channel = name.rpartition(":")
        subscriptions.append({"event_type": event_type, "channel": channel, "enabled": enabled})

    # Mutes of channels the page does not show (the log) stay as they were.
    kept = [c for c in preference_get(user=user).muted_channels if c not in MUTABLE_CHANNELS]
    quiet = None
    if posted.quiet_start or posted.quiet_end:
        # A missing half is left out, so the serializer says that field is required.
        parts = {"start": posted.quiet_start[:5], "end": posted.quiet_end[:5]}
        quiet = {part: value for part, value in parts.items() if value}
    return {
        "subscriptions": subscriptions,
        "muted_channels": [*posted.muted_channels, *kept],
        "mute_until": _aware_mute_until(posted.mute_until, posted.timezone),
        "quiet_hours": quiet,
        "timezone": posted.timezone,
        "digest": posted.digest,
    }


def field_errors(errors: dict) -> dict[str, list[str]]:
    """The serializer's errors by form field: nested ones (quiet_hours.start, one
    subscription entry) flattened into messages a person can read."""

    def messages(value) -> list[str]:
        if isinstance(value, dict):
            return [m for v in value.values() for m in messages(v)]
        if isinstance(value, list):
            return [m for v in value for m in messages(v)]
        return [str(value)]

    by_field: dict[str, list[str]] = {}
    for name, value in errors.items():
        if name == "quiet_hours" and isinstance(value, dict):
            for part, nested in value.items():
                target = {"start": "quiet_start", "end": "quiet_end"}.get(part, "quiet_hours")
                by_field.setdefault(target, []).extend(messages(nested))
        else:
            by_field.setdefault(name, []).extend(messages(value))
    return by_field
