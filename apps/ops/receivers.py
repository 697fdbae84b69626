"""Metrics and correlation ids hooked on signals, so the code that does the work
(publishing, fan-out, delivery transitions) needs no metric code of its own.

Counters are incremented after commit: a rolled-back write counts nothing. A failure
here is logged and swallowed: observing must never break the work it observes.
"""

import logging
from collections import Counter

from django.db import transaction
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver
from django.utils import timezone

from apps.delivery.models import Delivery, DeliveryStatus
from apps.delivery.signals import delivery_history_recorded
from apps.events.models import Event
from apps.notifications.signals import fan_out_chunk_committed

from . import metrics
from .correlation import correlation_id_get

logger = logging.getLogger(__name__)


@receiver(pre_save, sender=Event, dispatch_uid="ops.event_correlation_id")
def stamp_correlation_id(sender, instance, raw=False, **kwargs):
    if instance._state.adding and not raw and not instance.correlation_id:
        instance.correlation_id = correlation_id_get()


@receiver(post_save, sender=Event, dispatch_uid="ops.event_published_metric")
def count_event_published(sender, instance, created, raw=False, **kwargs):
    if created and not raw:
        key = instance.event_type.key
        transaction.on_commit(lambda: metrics.EVENTS_PUBLISHED.labels(event_type=key).inc())


@receiver(fan_out_chunk_committed, dispatch_uid="ops.fan_out_metrics")
def observe_fan_out_chunk(sender, event_id, notifications_created, **kwargs):
    try:
        event = Event.objects.select_related("event_type").get(pk=event_id)
        event_type = event.event_type.key
        metrics.FANOUT_CHUNKS.labels(event_type=event_type).inc()
        metrics.EVENT_TO_INBOX_SECONDS.labels(event_type=event_type).observe(
            max((timezone.now() - event.created_at).total_seconds(), 0.0)
        )
        # A chunk commits once (the cursor moves with it): its count is each item once.
        metrics.NOTIFICATIONS_CREATED.labels(event_type=event_type).inc(notifications_created)
    except Exception:
        logger.exception("metrics for fan-out chunk of event %s failed", event_id)


@receiver(fan_out_chunk_committed, dispatch_uid="ops.muted_delivery_metric")
def count_muted_deliveries(sender, deliveries_muted=None, **kwargs):
    """Deliveries born cancelled by the policy (muted, opted out, suppressed): the
    fan-out writes their history in SQL."""
    for channel, count in (deliveries_muted or {}).items():
        metrics.delivery_transition_observe(channel=channel, status=DeliveryStatus.CANCELLED, count=count)


@receiver(delivery_history_recorded, dispatch_uid="ops.delivery_transition_metric")
def count_delivery_transitions(sender, events, **kwargs):
    """Sent after commit for every history row written, single or in bulk."""
    transitions = [e for e in events if e.status in DeliveryStatus.values]  # not opened/clicked/...
    if not transitions:
        return
    try:
        channels = dict(
            Delivery.objects.filter(pk__in={e.delivery_id for e in transitions}).values_list("pk", "channel")
        )
        counts = Counter((channels.get(e.delivery_id, "unknown"), e.status) for e in transitions)
        for (channel, status), count in counts.items():
            metrics.delivery_transition_observe(channel=channel, status=status, count=count)
    except Exception:
        logger.exception("metrics for %d delivery transitions failed", len(transitions))
