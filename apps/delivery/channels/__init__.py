# Importing a channel module registers it.
from . import log, push, webhook  # noqa: F401
