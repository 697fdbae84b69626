"""One run per schedule slot, whatever the number of beat processes.

Two beats running at once (a deploy overlap, a second host) both send every periodic
task. Each run first takes a Redis lock named by task and slot (the slot is the
interval the run belongs to) and never releases it, so it expires on its own and the
second sender of the same slot finds it taken and skips. A second lock per task, held
while the body runs and released after, keeps a slow run and the next slot's run from
overlapping. Both locks have timeouts, so a crashed run blocks nothing for long.
"""

import time
from contextlib import contextmanager, suppress

from django.conf import settings
from redis.exceptions import LockError

from apps.common.redis_clients import redis_client


@contextmanager
def periodic_run(name: str, every_seconds: int):
    """Yields True when this process owns the run of `name` for the current slot."""
    client = redis_client("locks")
    every = max(int(every_seconds), 1)
    slot = int(time.time() // every)
    slot_lock = client.lock(f"periodic:{name}:slot:{slot}", timeout=2 * every)
    if not slot_lock.acquire(blocking=False):
        yield False
        return
    running = client.lock(f"periodic:{name}:running", timeout=settings.PERIODIC_LOCK_TIMEOUT_SECONDS)
    if not running.acquire(blocking=False):
        yield False
        return
    try:
        yield True
    finally:
        with suppress(LockError):  # expired meanwhile: nothing left to release
            running.release()
