from django.dispatch import Signal

# Sent after each committed fan-out chunk with event_id, after_user_id, upto_user_id
# (None: to the end), notifications_created, deliveries_created, deliveries_muted
# ({channel: count} of deliveries born cancelled by a mute) and priority
# (critical|high|normal|low). For observers only (metrics, the live inbox): the
# chunk's deliveries are handed to dispatch by the fan-out task (tasks.py), never here.
fan_out_chunk_committed = Signal()

# Sent after the refresh (batch_refresh.py) rewrote the inbox items of open batching
# windows, with event_type_id and batch_key: those items have new words (a count, a
# list). For observers only (the live inbox).
batch_items_updated = Signal()
