"""Dispatch: pending deliveries → channel batches → provider → recorded outcome.

Tasks carry only a channel key and delivery ids. Every delivery is claimed
(pending → sending) before it is sent, so a repeated or concurrent dispatch sends
nothing twice. Transient failures are retried by re-enqueueing only their ids with
exponential, jittered backoff (or the provider's Retry-After when longer, see retry.py);
permanent ones fail at once; a delivery out of attempts goes dead. This module decides;
the task (tasks.py) puts what comes next back on the queue.

Channels with providers (email, sms) go through the first provider whose shared
circuit breaker is not open, within its shared rate limit. Deliveries no provider may
take now are deferred: back to pending, the attempt given back, re-enqueued later.

Each acceptance is recorded while the batch is still being sent (acceptance.py): a
worker killed mid-batch resends at most DELIVERY_ACCEPTANCE_WINDOW messages per open
connection. The task's
soft time limit ends the batch, not the deliveries: what was accepted stays sent, the
messages not answered go back to pending with their attempt given back.
"""

import logging
from dataclasses import dataclass, field

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction

from .acceptance import AcceptanceRecorder
from .callbacks import CALLBACK_CHANNELS, early_provider_events_apply
from .channels.base import BATCH_STOPS, Message, Outcome, Report, SendResult
from .channels.registry import get_channel
from .metrics import observe_provider_call
from .models import Delivery, DeliveryEvent
from .resilience.circuit import provider_circuit
from .resilience.ratelimit import provider_take
from .retry import max_attempts, retry_countdown
from .selectors import delivery_list_for_send
from .services import deliveries_claim, deliveries_record_results
from .signals import delivery_history_recorded

logger = logging.getLogger(__name__)


@dataclass
class DispatchPlan:
    """What happened to a batch, and what comes next."""

    steps: dict[str, list[int]] = field(
        default_factory=lambda: {k: [] for k in ("sent", "retry", "failed", "dead", "deferred")}
    )
    # The longest Retry-After a provider asked for among the retried deliveries.
    retry_after: float = 0.0
    # When the retried deliveries go again: the backoff of their attempts (not the
    # task's own retries: a batch may mix deliveries at different attempts, and a
    # requeued delivery starts again), never shorter than retry_after.
    retry_in: float = 0.0
    # When the deferred deliveries may be tried again.
    defer_for: float = 0.0

    def counts(self) -> dict[str, int]:
        return {step: len(ids) for step, ids in self.steps.items()}


def _failed_batch(sender, messages: list[Message], exc: Exception, provider: str = "") -> list[SendResult]:
    """The whole call failed: classify once for all its messages."""
    outcome = sender.classify(exc)
    # A provider has a name, a channel without providers a key (getattr's default would
    # be read eagerly, and providers have no key).
    sender_name = getattr(sender, "name", None) or sender.key
    logger.warning("%s batch of %d failed (%s): %s", sender_name, len(messages), outcome, exc)
    error = f"{exc.__class__.__name__}: {exc}"
    detail = {"provider": provider} if provider else {}
    return [SendResult(m.delivery_id, outcome, error=error, detail=dict(detail)) for m in messages]


def _send_through(channel_key: str, provider, messages: list[Message], report: Report) -> list[SendResult]:
    def report_named(*answers: SendResult) -> None:
        # Recorded now, so named now: the history says which provider took it.
        for answer in answers:
            answer.detail.setdefault("provider", provider.name)
        report(*answers)

    results = []
    for start in range(0, len(messages), provider.batch_size):
        part = messages[start : start + provider.batch_size]
        try:
            with observe_provider_call(channel_key, provider.name):
                results.extend(provider.send_batch(part, report=report_named))
        except BATCH_STOPS:
            raise
        except Exception as exc:  # noqa: BLE001 - a provider failure is classified, not raised
            results.extend(_failed_batch(provider, part, exc, provider.name))
    for result in results:
        result.detail.setdefault("provider", provider.name)
    return results


def _provider_answered(results: list[SendResult]) -> bool:
    """A call counts as a provider failure when nothing in it got a real answer:
    every message transient (5xx, timeouts, connection refused). A refused address
    is the provider working."""
    return any(r.outcome in (Outcome.SENT, Outcome.PERMANENT) for r in results)


def _deferred(messages: list[Message], reason: str, wait: float, **detail) -> list[SendResult]:
    return [
        SendResult(m.delivery_id, Outcome.DEFERRED, detail={"reason": reason, **detail}, retry_after=wait)
        for m in messages
    ]


def _send_with_providers(channel, messages: list[Message], report: Report) -> list[SendResult]:
    """Through the first provider whose circuit allows a call, within its rate limit."""
    shortest_wait = None
    for provider in channel.providers():
        circuit = provider_circuit(provider.name)
        permit = circuit.allow()
        if not permit.allowed:
            shortest_wait = permit.retry_after if shortest_wait is None else min(shortest_wait, permit.retry_after)
            continue
        grant = provider_take(provider.name, len(messages))
        now, later = messages[: grant.granted], messages[grant.granted :]
        results = _deferred(later, "rate_limited", grant.retry_after, provider=provider.name)
        if now:
            sent = _send_through(channel.key, provider, now, report)
            if _provider_answered(sent):
                circuit.record_success()
            else:
                circuit.record_failure()
            results.extend(sent)
        return results
    logger.warning("%s: every provider's circuit is open; deferring %d", channel.key, len(messages))
    return _deferred(messages, "circuit_open", shortest_wait or settings.CIRCUIT_COOLDOWN_SECONDS)


def _send(channel, deliveries, report: Report) -> list[SendResult]:
    """Render and send; a message that cannot be rendered fails permanently."""
    messages, results = [], []
    for delivery in deliveries:
        try:
            message = channel.render(delivery)
        except Exception as exc:  # a broken render must not hold up the batch
            logger.exception("rendering delivery %s failed", delivery.pk)
            message, error = None, f"render failed: {exc.__class__.__name__}: {exc}"
        else:
            error = f"no valid {channel.key} address for this person"
        if message is None:
            results.append(SendResult(delivery.pk, Outcome.PERMANENT, error=error))
        else:
            messages.append(message)
    if not messages:
        return results
    if hasattr(channel, "messages_prepare"):
        channel.messages_prepare(messages)
    if hasattr(channel, "providers"):
        results.extend(_send_with_providers(channel, messages, report))
        return results
    try:
        results.extend(channel.send_batch(messages, report=report))
    except BATCH_STOPS:
        raise
    except Exception as exc:  # noqa: BLE001 - the whole batch failed
        results.extend(_failed_batch(channel, messages, exc))
    return results


def _send_recording(channel, deliveries, claimed: list[int]) -> tuple[list[SendResult], AcceptanceRecorder]:
    """Send with each acceptance recorded as it comes; returns every answer and the
    recorder (what it already wrote). On the soft time limit, the deliveries without
    an answer are deferred: pending again, their attempt given back."""
    with AcceptanceRecorder() as recorder:
        try:
            results = _send(channel, deliveries, recorder)
        except SoftTimeLimitExceeded:
            recorder.close()
            answered = {r.delivery_id for r in recorder.results}
            logger.warning(
                "%s: soft time limit hit; %d answered, %d left pending",
                channel.key,
                len(answered),
                len(set(claimed) - answered),
            )
            wait = settings.DELIVERY_RETRY_BACKOFF_SECONDS
            results = list(recorder.results) + [
                SendResult(pk, Outcome.DEFERRED, detail={"reason": "time_limit"}, retry_after=wait)
                for pk in claimed
                if pk not in answered
            ]
    return results, recorder


def deliveries_dispatch(*, channel_key: str, delivery_ids: list[int]) -> DispatchPlan:
    """Claim, send and record one batch; the caller re-enqueues retry and deferred."""
    channel = get_channel(channel_key)
    plan = DispatchPlan()
    claimed = deliveries_claim(delivery_ids=delivery_ids)
    if not claimed:
        return plan
    deliveries = delivery_list_for_send(delivery_ids=claimed)
    if hasattr(channel, "narrow_queryset"):
        deliveries = channel.narrow_queryset(deliveries)
    results, recorded = _send_recording(channel, list(deliveries), claimed)
    plan.steps = deliveries_record_results(
        results=[r for r in results if r.delivery_id not in recorded.recorded], max_attempts=max_attempts(channel_key)
    )
    plan.steps["sent"] = sorted(recorded.recorded) + plan.steps["sent"]
    if recorded.history:
        history = recorded.history
        transaction.on_commit(lambda: delivery_history_recorded.send(sender=DeliveryEvent, events=history))
    if channel_key in CALLBACK_CHANNELS:
        early_provider_events_apply(delivery_ids=plan.steps["sent"])
    retried, deferred = set(plan.steps["retry"]), set(plan.steps["deferred"])
    plan.retry_after = max((r.retry_after or 0 for r in results if r.delivery_id in retried), default=0.0)
    plan.defer_for = max((r.retry_after or 0 for r in results if r.delivery_id in deferred), default=0.0)
    if retried:
        attempts = max(Delivery.objects.filter(pk__in=retried).values_list("attempts", flat=True), default=1)
        plan.retry_in = retry_countdown(attempts=attempts, at_least=plan.retry_after)
    return plan
