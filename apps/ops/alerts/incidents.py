"""Incidents: one per condition key from the evaluation that first finds it to the one
that no longer does, announced once when it opens ("firing"), reminded every
ALERT_REMINDER_SECONDS while it holds, and announced once when it clears ("resolved").

No two messages about one key are closer than ALERT_COOLDOWN_SECONDS: a condition that
clears and comes back at once opens a new incident that stays quiet until the cool-down
since the last message has passed; if it clears before, nobody hears of it. A message
counts as sent only when a destination took it, so one that failed goes out at the
next evaluation. Each incident is decided and announced under its row lock, so two
evaluations at once cannot both announce it."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max

from ..models import AlertIncident
from .findings import Finding, condition_of
from .messages import FIRING, REMINDER, RESOLVED, AlertMessage, alert_message, finding_details

Send = Callable[[AlertMessage], bool]


@dataclass
class Outcome:
    sent: list[str] = field(default_factory=list)  # "firing:circuit_open:smtp", ...
    held: list[str] = field(default_factory=list)  # firing, kept quiet by the cool-down
    failed: list[str] = field(default_factory=list)  # every destination refused: next time


def _last_message_at(key: str) -> datetime | None:
    return AlertIncident.objects.filter(key=key).aggregate(last=Max("last_notified_at"))["last"]


def _firing_kind(incident: AlertIncident, now: datetime) -> str | None:
    """Which message an incident that holds is due now, if any."""
    if incident.announced:
        reminder = settings.ALERT_REMINDER_SECONDS
        if reminder > 0 and now - incident.last_notified_at >= timedelta(seconds=reminder):
            return REMINDER
        return None
    last = _last_message_at(incident.key)
    if last is not None and now - last < timedelta(seconds=settings.ALERT_COOLDOWN_SECONDS):
        return None
    return FIRING


def _open(finding: Finding, now: datetime) -> AlertIncident:
    incident = AlertIncident.objects.select_for_update().filter(key=finding.key, resolved_at__isnull=True).first()
    if incident is None:
        incident = AlertIncident(key=finding.key, opened_at=now)
    incident.title = finding.title[:300]
    incident.details = finding_details(finding)
    incident.save()
    return incident


def _notify(incident: AlertIncident, kind: str, now: datetime, send: Send, outcome: Outcome) -> bool:
    if not send(alert_message(kind, incident, now)):
        outcome.failed.append(f"{kind}:{incident.key}")
        return False
    incident.last_notified_at = now
    outcome.sent.append(f"{kind}:{incident.key}")
    return True


def incidents_advance(findings: list[Finding], evaluated: set[str], now: datetime, send: Send) -> Outcome:
    """Open, remind and resolve incidents for what the conditions found. Incidents of a
    condition not in `evaluated` (its source could not be read) are left as they are."""
    outcome = Outcome()
    firing = {finding.key: finding for finding in findings}
    for finding in firing.values():
        with transaction.atomic():
            incident = _open(finding, now)
            kind = _firing_kind(incident, now)
            if kind is None:
                if not incident.announced:
                    outcome.held.append(finding.key)
                continue
            if _notify(incident, kind, now, send, outcome):
                incident.announced = True
                incident.save(update_fields=["last_notified_at", "announced"])
    cleared = AlertIncident.objects.filter(resolved_at__isnull=True).exclude(key__in=firing).values_list("pk", "key")
    for pk, key in cleared:
        if condition_of(key) not in evaluated:
            continue
        with transaction.atomic():
            incident = AlertIncident.objects.select_for_update().filter(pk=pk, resolved_at__isnull=True).first()
            if incident is None:
                continue  # resolved by another evaluation meanwhile
            if incident.announced and not _notify(incident, RESOLVED, now, send, outcome):
                continue  # stays open: the resolved message goes out next time
            incident.resolved_at = now
            incident.save(update_fields=["last_notified_at", "resolved_at"])
    return outcome
