from django.dispatch import Signal

# Sent after each committed fan-out chunk with event_id, after_user_id, upto_user_id
# (None: to the end), notifications_created and deliveries_created. Channels enqueue
# their dispatch from here.
fan_out_chunk_committed = Signal()
