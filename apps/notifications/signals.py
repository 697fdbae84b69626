from django.dispatch import Signal

# Sent after each committed fan-out chunk with event_id, after_user_id, upto_user_id
# (None: to the end), notifications_created, deliveries_created, deliveries_muted
# ({channel: count} of deliveries born cancelled by a mute) and priority
# (critical|high|normal|low: enqueue on apps.common.priorities.queue_for(channel,
# priority)). Channels enqueue their dispatch from here.
fan_out_chunk_committed = Signal()
