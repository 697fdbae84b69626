"""The few threads where the stream process runs its blocking database work (admission,
catch-up), so the event loop never waits on the ORM.

Not Django's default for sync_to_async in a request (a thread per request, each with
its own database connection): a thousand streams opening at once would then open a
thousand connections (PostgreSQL refused them: "too many clients"). A small pool bounds
the stream process's connections to its size, and each call is wrapped like a request
(close_old_connections before and after) so CONN_MAX_AGE and health checks still apply.
"""

from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async
from django.db import close_old_connections

DB_THREADS = 4
_executor = ThreadPoolExecutor(max_workers=DB_THREADS, thread_name_prefix="inbox-stream-db")


def _as_a_request(func, args, kwargs):
    close_old_connections()
    try:
        return func(*args, **kwargs)
    finally:
        close_old_connections()


async def in_db_thread(func, *args, **kwargs):
    """func(*args, **kwargs) on one of the pool's threads."""
    return await sync_to_async(_as_a_request, thread_sensitive=False, executor=_executor)(func, args, kwargs)
