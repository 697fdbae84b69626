# Importing a channel module registers it.
from . import log  # noqa: F401
