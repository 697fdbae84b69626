import logging

from django.dispatch import receiver

from apps.notifications.signals import batch_items_updated, fan_out_chunk_committed

from .live import inbox_live_publish_batch_updates, inbox_live_publish_chunk

logger = logging.getLogger(__name__)


@receiver(fan_out_chunk_committed, dispatch_uid="inbox.live_publish")
def publish_new_items(sender, event_id, after_user_id, upto_user_id, notifications_created, **kwargs):
    if not notifications_created:
        return  # a re-run chunk or a chunk of other channels only: nothing new to show
    # Live updates are a convenience: the items are committed and on the page at the
    # next load, so a Redis hiccup is logged, never raised into the fan-out.
    try:
        inbox_live_publish_chunk(event_id=event_id, after_user_id=after_user_id, upto_user_id=upto_user_id)
    except Exception:
        logger.exception("live publish of event %s failed", event_id)


@receiver(batch_items_updated, dispatch_uid="inbox.live_publish_batch")
def publish_updated_batch_items(sender, event_type_id, batch_key, **kwargs):
    try:
        inbox_live_publish_batch_updates(event_type_id=event_type_id, batch_key=batch_key)
    except Exception:
        logger.exception("live publish of the batches of %s:%s failed", event_type_id, batch_key)
