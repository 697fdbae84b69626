from django.dispatch import Signal

# Sent once the transaction that wrote them commits, with `events`: the DeliveryEvent
# rows just recorded (one or a batch). Metrics count transitions from here, whatever
# wrote them (single transition, a batch's results, a sweep, a digest).
delivery_history_recorded = Signal()
