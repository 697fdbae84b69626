"""Who may subscribe a person to what: the one rule every write path asks.

An event's data may be meant for its subject alone (a password-reset link for alice),
so a person subscribes themselves only

- to event types that say people may (`EventType.self_service`); every other one is
  managed by services on a person's behalf (/api/v1/users/{id}/subscriptions/), and
- to one subject only when they may see it: each subject type registers its own check
  (the scenarios app: the owner, or anyone when shared); an unknown type is refused.

Refusals are 403 (the event type is not self-service) or 404 (the subject is not
visible or not known: the same answer either way, so nobody learns what exists).
The rule is enforced when a subscription is written (and by the migration that
applied it to older rows); the fan-out trusts what is written.
"""

from collections.abc import Callable

from rest_framework.exceptions import NotFound, PermissionDenied

# (person, subject id) → whether that person may see the subject.
SubjectCheck = Callable[[object, str], bool]

_subject_checks: dict[str, SubjectCheck] = {}


def subject_visibility_register(*, subject_type: str, check: SubjectCheck) -> None:
    """Register the check of one subject type (from an app's ready())."""
    _subject_checks[subject_type] = check


def subject_visible(*, user, subject_type: str, subject_id: str) -> bool:
    check = _subject_checks.get(subject_type)
    return check is not None and bool(check(user, subject_id))


def subscription_access_check(*, user, event_type, subject_type: str = "", subject_id: str = "") -> None:
    """Raise unless the person may subscribe themselves to this event type (and
    subject). Services skip it: they manage subscriptions for people."""
    if not event_type.self_service:
        raise PermissionDenied(
            f"People cannot subscribe themselves to '{event_type.key}': a service manages these subscriptions."
        )
    if subject_type and not subject_visible(user=user, subject_type=subject_type, subject_id=subject_id):
        raise NotFound("No such subject, or not one you may see.")
