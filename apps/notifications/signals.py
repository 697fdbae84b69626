from django.dispatch import Signal

# Sent after each committed fan-out chunk with event_id, after_user_id, upto_user_id
# (None: to the end), notifications_created, deliveries_created, deliveries_muted
# ({channel: count} of deliveries born cancelled by a mute) and priority
# (critical|high|normal|low). For observers only (metrics, the live inbox): the
# chunk's deliveries are handed to dispatch by the fan-out task (tasks.py), never here.
fan_out_chunk_committed = Signal()

# Sent after a committed fan-out chunk of a batching event type whose event joined open
# windows, with event_type_id, batch_key, after_user_id and upto_user_id: the inbox
# items of the open windows of that key in that range have new words. For observers only (the live inbox).
batch_items_updated = Signal()
