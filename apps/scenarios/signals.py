from django.dispatch import Signal

# Sent by scenario_execute with `scenario`, after the execution is saved.
scenario_executed = Signal()
