"""Channels whose one delivery goes to several targets (a person's push subscriptions,
webhook endpoints): per-target results folded into the delivery's one SendResult.

A target that already took a delivery (recorded on an earlier DeliveryEvent) is not
sent it again when the delivery is retried or requeued.
"""

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

from django.conf import settings

from apps.common.net import UnsafeURL

from ..models import DeliveryEvent
from .base import Outcome, Report, SendResult, no_report
from .email_sendgrid import retry_after_seconds


@dataclass
class TargetResult:
    target: str  # "<kind>:<id>", e.g. "push:12", "webhook:7"
    outcome: Outcome
    status: int | None = None  # the HTTP status the target answered, if it answered
    error: str = ""
    provider_message_id: str = ""
    retry_after: float | None = None
    detail: dict = field(default_factory=dict)

    def as_detail(self) -> dict:
        data = asdict(self)
        data["outcome"] = str(self.outcome)
        return {k: v for k, v in data.items() if v not in (None, "", {})}


def delivered_targets(*, delivery_id: int) -> set[str]:
    """Targets an earlier attempt of this delivery already reached."""
    details = DeliveryEvent.objects.filter(delivery_id=delivery_id, detail__has_key="targets").values_list(
        "detail", flat=True
    )
    return {
        target["target"]
        for detail in details
        for target in detail.get("targets") or []
        if target.get("outcome") == Outcome.SENT
    }


def pending_targets(*, delivery_id: int, kind: str, items: Iterable, describe: Callable) -> tuple[list[dict], int]:
    """The targets of a delivery not yet reached, each `{"key": "<kind>:<pk>", **describe(item)}`,
    and how many an earlier attempt already reached: what a retry or requeue sends to."""
    done = delivered_targets(delivery_id=delivery_id)
    pending = [{"key": key, **describe(item)} for item in items if (key := f"{kind}:{item.pk}") not in done]
    return pending, len(done)


def fold(delivery_id: int, results: list[TargetResult], already_delivered: int = 0) -> SendResult:
    """One delivery's outcome from its targets' outcomes:
    any transient → transient (only the targets not yet reached get the retry);
    otherwise any target reached (now or before) → sent, the others' errors noted;
    otherwise → permanent."""
    transient = [r for r in results if r.outcome == Outcome.TRANSIENT]
    reached = [r for r in results if r.outcome == Outcome.SENT]
    if transient:
        outcome = Outcome.TRANSIENT
    elif reached or already_delivered:
        outcome = Outcome.SENT
    else:
        outcome = Outcome.PERMANENT
    errors = "; ".join(f"{r.target}: {r.error}" for r in results if r.outcome != Outcome.SENT)
    retry_afters = [r.retry_after for r in transient if r.retry_after is not None]
    detail = {"targets": [r.as_detail() for r in results]}
    if already_delivered:
        detail["already_delivered"] = already_delivered
    return SendResult(
        delivery_id,
        outcome,
        provider_message_id=next((r.provider_message_id for r in reached if r.provider_message_id), ""),
        error=errors,
        detail=detail,
        retry_after=max(retry_afters) if retry_afters else None,
    )


def run_parallel(send: Callable, jobs: Iterable) -> list:
    """send(job) for every job, OUTBOUND_HTTP_CONCURRENCY at a time: one slow receiver
    must not hold up the rest of the batch. `send` must not touch the database."""
    jobs = list(jobs)
    if len(jobs) <= 1:
        return [send(job) for job in jobs]
    with ThreadPoolExecutor(max_workers=min(settings.OUTBOUND_HTTP_CONCURRENCY, len(jobs))) as pool:
        return list(pool.map(send, jobs))


def batch_time_budget() -> float:
    """Seconds a batch may spend sending: half the task's soft time limit, so a batch of
    slow receivers ends with its results recorded instead of being cut off."""
    return settings.CELERY_TASK_SOFT_TIME_LIMIT / 2


def send_to_targets(
    messages: list, targets_key: str, send: Callable, report: Report = no_report
) -> tuple[list, list[SendResult]]:
    """send(message, target) for each target in message.extra[targets_key] (dicts with a
    "key"), in parallel; targets not started within the batch's time budget are left for
    the retry. Each message's folded result is reported as soon as its last target has
    answered. Returns ([(target, TargetResult)], one folded SendResult per message)."""
    deadline = time.monotonic() + batch_time_budget()
    by_delivery: dict[int, list[TargetResult]] = {m.delivery_id: [] for m in messages}
    remaining = {m.delivery_id: len(m.extra[targets_key]) for m in messages}
    folded: dict[int, SendResult] = {}
    lock = threading.Lock()

    def finish(message) -> None:
        result = fold(message.delivery_id, by_delivery[message.delivery_id], message.extra["already_delivered"])
        folded[message.delivery_id] = result
        report(result)

    def attempt(job):
        message, target = job
        if time.monotonic() > deadline:
            result = TargetResult(target["key"], Outcome.TRANSIENT, error="not attempted: the batch ran out of time")
        else:
            result = send(message, target)
        with lock:
            by_delivery[message.delivery_id].append(result)
            remaining[message.delivery_id] -= 1
            done = remaining[message.delivery_id] == 0
        if done:
            finish(message)
        return result

    for message in messages:
        if not remaining[message.delivery_id]:
            finish(message)
    jobs = [(message, target) for message in messages for target in message.extra[targets_key]]
    results = run_parallel(attempt, jobs)
    return (
        [(target, result) for (_, target), result in zip(jobs, results, strict=True)],
        [folded[m.delivery_id] for m in messages],
    )


def http_outcome(status: int) -> Outcome:
    """2xx reached; 408, 425, 429 and 5xx are worth a retry; anything else (other 4xx,
    and 3xx: redirects are never followed) fails for good."""
    if 200 <= status < 300:
        return Outcome.SENT
    if status in (408, 425, 429) or status >= 500:
        return Outcome.TRANSIENT
    return Outcome.PERMANENT


def response_result(target: str, response, *, detail: dict, error: str = "", message_id: str = "") -> TargetResult:
    """A target's answer as a TargetResult; `message_id` counts only when it was taken."""
    outcome = http_outcome(response.status_code)
    detail["response"] = response.text[:300]
    if not error and outcome != Outcome.SENT:
        error = f"answered {response.status_code}"
    return TargetResult(
        target,
        outcome,
        status=response.status_code,
        error=error,
        provider_message_id=message_id if outcome == Outcome.SENT else "",
        retry_after=retry_after_seconds(response.headers),
        detail=detail,
    )


class HttpTargetsChannel:
    """What channels that POST to targets through the guarded client share."""

    def classify(self, exc: Exception) -> Outcome:
        # A batch-wide failure.
        return request_error_outcome(exc)


def request_error_outcome(exc: Exception) -> Outcome:
    """A refused URL stays refused; anything else (DNS, connection, timeout) may pass later."""
    return Outcome.PERMANENT if isinstance(exc, UnsafeURL) else Outcome.TRANSIENT


def request_error_result(target: str, exc: Exception, detail: dict) -> TargetResult:
    """A request that got no answer."""
    return TargetResult(
        target, request_error_outcome(exc), error=f"{exc.__class__.__name__}: {exc}"[:500], detail=detail
    )
