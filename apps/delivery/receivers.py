from django.dispatch import receiver

from apps.notifications.signals import fan_out_chunk_committed

from .dispatch import enqueue_chunk_deliveries


@receiver(fan_out_chunk_committed, dispatch_uid="delivery.enqueue_chunk")
def enqueue_fanned_out_deliveries(sender, event_id, after_user_id, upto_user_id, deliveries_created=None, **kwargs):
    if deliveries_created == 0:
        return
    enqueue_chunk_deliveries(event_id=event_id, after_user_id=after_user_id, upto_user_id=upto_user_id)
