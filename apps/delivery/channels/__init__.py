# Importing a channel module registers it.
from . import email, log, push, sms, webhook  # noqa: F401
