"""The alert conditions. Each reads the shared state (PostgreSQL, Redis) and returns a
Finding for every subject it holds for now; a condition whose threshold is 0 is off."""

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import Count, Max, Min, Q

from apps.delivery.models import Delivery, DeliveryStatus
from apps.delivery.resilience.circuit import CLOSED, OPEN

from .. import broker
from ..collectors import oldest_pending_ages
from ..readings import circuit_readings, periodic_readings
from .findings import Finding, duration_text

logger = logging.getLogger(__name__)

DASHBOARD = "/admin/dashboard/deliverydashboard/"
# More pending deliveries than this are reported as "more than".
PENDING_COUNT_CAP = 10_000


def _deliveries_link(status: str, channel: str) -> str:
    return f"/admin/delivery/delivery/?status__exact={status}&channel__exact={channel}"


def dead_deliveries(now: datetime) -> list[Finding]:
    threshold, window = settings.ALERT_DEAD_DELIVERIES_THRESHOLD, settings.ALERT_DEAD_DELIVERIES_WINDOW_SECONDS
    if threshold <= 0:
        return []
    recent = Delivery.objects.filter(status=DeliveryStatus.DEAD, updated_at__gte=now - timedelta(seconds=window))
    findings = []
    counts = recent.values("channel").annotate(dead=Count("id"), first=Min("updated_at"), last=Max("updated_at"))
    for row in counts.order_by("channel"):
        if row["dead"] < threshold:
            continue
        channel = row["channel"]
        error = recent.filter(channel=channel).order_by("-updated_at").values_list("last_error", flat=True).first()
        findings.append(
            Finding(
                key=f"dead_deliveries:{channel}",
                title=f"{row['dead']} {channel} deliveries went dead in the last {duration_text(window)}",
                since=row["first"],
                figures={
                    "dead in the window": f"{row['dead']} (alert at {threshold} in {duration_text(window)})",
                    "latest went dead": f"{row['last']:%Y-%m-%d %H:%M:%S} UTC",
                    "its last error": (error or "(none recorded)")[:300],
                },
                checks=[
                    "The last error above: is the provider refusing every message (credentials, quota, sender"
                    " domain) or only some addresses?",
                    "The provider's circuit and rate limit on the delivery dashboard.",
                    "Once the cause is fixed, requeue the dead letters from the dashboard.",
                ],
                links={"dead deliveries": _deliveries_link("dead", channel), "delivery dashboard": DASHBOARD},
            )
        )
    return findings


def circuit_open(now: datetime) -> list[Finding]:
    if not settings.ALERT_CIRCUIT_OPEN:
        return []
    findings = []
    for reading in circuit_readings():
        if reading.state == CLOSED:
            continue
        since = datetime.fromtimestamp(reading.opened_at, UTC) if reading.opened_at else None
        state = (
            "open: no calls until the cool-down has passed"
            if reading.state == OPEN
            else "half-open: the cool-down has passed, the next call is a probe that closes it when it succeeds"
        )
        channels = ", ".join(reading.channels) or "(none)"
        findings.append(
            Finding(
                key=f"circuit_open:{reading.provider}",
                title=f"The circuit breaker of provider {reading.provider} is open ({channels})",
                since=since,
                figures={
                    "state": state,
                    "consecutive failed calls": str(reading.failures),
                    "channels sent through it": channels,
                    "cool-down": f"{settings.CIRCUIT_COOLDOWN_SECONDS:g} s, then one probe",
                },
                checks=[
                    f"Is {reading.provider} up and reachable from the workers' host (status page; for smtp, a"
                    " connection to the server of EMAIL_URL)? Are its credentials still valid?",
                    "Deliveries wait deferred meanwhile without using up their attempts; a second provider of"
                    " the channel, if configured, takes over.",
                    "It closes by itself when a probe succeeds: a resolved message follows.",
                ],
                links={"delivery dashboard": DASHBOARD},
            )
        )
    return findings


def queue_age(now: datetime) -> list[Finding]:
    limit = settings.ALERT_QUEUE_AGE_SECONDS
    if limit <= 0:
        return []
    queues = [queue.name for queue in settings.CELERY_TASK_QUEUES]
    ages = broker.queue_oldest_ages(queues, now=now.timestamp())
    if ages is None:  # RabbitMQ: its own metrics carry the age (docs/alerts.yml)
        return []
    late = [queue for queue in queues if ages[queue] >= limit]
    depths = broker.queue_depths(late) if late else {}
    return [
        Finding(
            key=f"queue_age:{queue}",
            title=f"Queue {queue}: its oldest message has waited {duration_text(ages[queue])}",
            since=now - timedelta(seconds=ages[queue]),
            figures={
                "oldest message waited": f"{duration_text(ages[queue])} (alert at {duration_text(limit)})",
                "messages waiting": str(depths[queue]),
            },
            checks=[
                f"Is a worker consuming {queue}? `celery -A notifications_project inspect active_queues`, or Flower.",
                "Enough workers for the load (docs/operations.md, Queues and scaling workers)?",
                "A provider slowing every send down (an open circuit, a rate limit) on the dashboard?",
            ],
            links={"delivery dashboard": DASHBOARD},
        )
        for queue in late
    ]


def pending_age(now: datetime) -> list[Finding]:
    limit = settings.ALERT_PENDING_AGE_SECONDS
    if limit <= 0:
        return []
    findings = []
    due = Q(not_before__isnull=True) | Q(not_before__lte=now)
    for channel, age in oldest_pending_ages(now).items():
        if age < limit:
            continue
        waiting = Delivery.objects.filter(due, status=DeliveryStatus.PENDING, channel=channel)[: PENDING_COUNT_CAP + 1]
        count = waiting.count()
        findings.append(
            Finding(
                key=f"pending_age:{channel}",
                title=f"A {channel} delivery has been pending for {duration_text(age)}",
                since=now - timedelta(seconds=age),
                figures={
                    "oldest pending for": f"{duration_text(age)} (alert at {duration_text(limit)})",
                    "pending and due": f"more than {PENDING_COUNT_CAP}" if count > PENDING_COUNT_CAP else str(count),
                },
                checks=[
                    f"Are workers running on the {channel} queues, and is the queue's oldest message old too?",
                    "Is the channel's provider circuit open or its rate limit exhausted (dashboard)?",
                    "The sweeper (beat job delivery.sweep_stuck) re-sends pending deliveries older than"
                    " DELIVERY_STALE_PENDING_SECONDS: is it running?",
                ],
                links={"pending deliveries": _deliveries_link("pending", channel), "delivery dashboard": DASHBOARD},
            )
        )
    return findings


def periodic_late(now: datetime) -> list[Finding]:
    factor, grace = settings.ALERT_PERIODIC_LATE_FACTOR, settings.ALERT_PERIODIC_GRACE_SECONDS
    if factor <= 0:
        return []
    findings = []
    for job in periodic_readings():
        allowed = job.interval_seconds * factor + grace
        reference = job.last_success_at or job.created_at
        if (now - reference).total_seconds() <= allowed:
            continue
        last = f"{job.last_success_at:%Y-%m-%d %H:%M:%S} UTC" if job.last_success_at else "never"
        sent_recently = job.last_sent_at is not None and (now - job.last_sent_at).total_seconds() <= allowed
        if sent_recently:
            cause = (
                f"Beat sends it (last at {job.last_sent_at:%H:%M:%S} UTC) but no run has succeeded: is a worker"
                " consuming the maintenance queue? Its errors are in the worker's log."
            )
        else:
            cause = "Beat has not sent it lately either: is the one beat process running (docs/operations.md)?"
        findings.append(
            Finding(
                key=f"periodic_late:{job.task}",
                title=f"Beat job {job.task} has not run on time",
                since=reference,
                figures={
                    "job": job.name,
                    "last success": last,
                    "runs every": duration_text(job.interval_seconds),
                    "late after": duration_text(allowed),
                },
                checks=[cause, "Is the job enabled and its schedule as intended (admin, Periodic tasks)?"],
                links={"the job": f"/admin/django_celery_beat/periodictask/{job.pk}/change/"},
            )
        )
    return findings


# Name → check; the name is the first part of each finding's key.
CONDITIONS: dict[str, Callable[[datetime], list[Finding]]] = {
    "dead_deliveries": dead_deliveries,
    "circuit_open": circuit_open,
    "queue_age": queue_age,
    "pending_age": pending_age,
    "periodic_late": periodic_late,
}


def conditions_evaluate(now: datetime) -> tuple[list[Finding], set[str]]:
    """(what holds now, the conditions that could be read). A condition whose source
    failed says nothing: its open incidents stay open rather than resolve falsely."""
    findings, evaluated = [], set()
    for name, check in CONDITIONS.items():
        try:
            findings.extend(check(now))
        except Exception:  # one unreadable source must not silence the other conditions
            logger.exception("alert condition %s could not be evaluated", name)
            continue
        evaluated.add(name)
    return findings, evaluated
