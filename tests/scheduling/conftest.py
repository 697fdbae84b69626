from .fixtures import news, no_periodic_locks, publish  # noqa: F401
