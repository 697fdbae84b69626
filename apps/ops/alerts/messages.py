"""An alert as an operator reads it: what, since when, the figures, what to check and
where to look; the same content as text (email, Slack) and as JSON (webhook)."""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.utils.dateparse import parse_datetime

from ..models import AlertIncident
from .findings import Finding, duration_text

FIRING, REMINDER, RESOLVED = "firing", "reminder", "resolved"
HEADLINES = {FIRING: "FIRING", REMINDER: "STILL FIRING", RESOLVED: "RESOLVED"}


@dataclass(frozen=True)
class AlertMessage:
    kind: str
    incident_id: int
    key: str
    subject: str
    text: str
    payload: dict


def finding_details(finding: Finding) -> dict:
    """What an incident keeps of its latest finding (JSON), for its messages."""
    return {
        "since": finding.since.isoformat() if finding.since else None,
        "figures": finding.figures,
        "checks": finding.checks,
        "links": finding.links,
    }


def _absolute(link: str) -> str:
    return link if link.startswith(("http://", "https://")) else settings.PUBLIC_BASE_URL.rstrip("/") + link


def _at(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


def _opening(kind: str, incident: AlertIncident, now: datetime) -> str:
    since = parse_datetime(incident.details.get("since") or "") or incident.opened_at
    if kind == RESOLVED:
        return (
            f"Cleared at {_at(now)}; it had held since {_at(since)} ({duration_text((now - since).total_seconds())})."
        )
    return f"Since {_at(since)} ({duration_text((now - since).total_seconds())} ago)."


def alert_message(kind: str, incident: AlertIncident, now: datetime) -> AlertMessage:
    details = incident.details
    links = {label: _absolute(link) for label, link in details.get("links", {}).items()}
    links["this incident"] = _absolute(f"/admin/ops/alertincident/{incident.pk}/change/")
    subject = f"[notifications] {HEADLINES[kind]}: {incident.title}"
    lines = [f"{HEADLINES[kind]}: {incident.title}", _opening(kind, incident, now), ""]
    figures = details.get("figures", {})
    if figures:
        heading = "Last figures while it held:" if kind == RESOLVED else "Figures:"
        lines += [heading, *(f"  {label}: {value}" for label, value in figures.items()), ""]
    if kind != RESOLVED and details.get("checks"):
        lines += ["What to check:", *(f"  - {check}" for check in details["checks"]), ""]
    lines += ["Links:", *(f"  {label}: {url}" for label, url in links.items()), ""]
    closing = "This was the incident's last message." if kind == RESOLVED else "A message follows when it clears."
    lines.append(f"Incident {incident.pk} ({incident.key}). {closing}")
    payload = {
        "type": f"alert.{kind}",
        "incident": incident.pk,
        "key": incident.key,
        "title": incident.title,
        "opened_at": incident.opened_at.isoformat(),
        "since": details.get("since"),
        "at": now.isoformat(),
        "figures": figures,
        "checks": details.get("checks", []),
        "links": links,
    }
    return AlertMessage(kind, incident.pk, incident.key, subject, "\n".join(lines), payload)
