# Importing a channel module registers it.
from . import chat, email, log, mobile_push, push, slack, sms, webhook  # noqa: F401
