# Importing a channel module registers it.
from . import email, log, sms  # noqa: F401
