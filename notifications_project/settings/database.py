"""The database: any django-environ URL (PostgreSQL in production), and PostgreSQL's
connection pool (psycopg_pool through Django's `OPTIONS["pool"]`).

Each process keeps at most DATABASE_POOL_MAX_SIZE connections: a gunicorn process
shares them among its threads (a request holds one only while it runs), a Celery pool
process uses one. A request that waits longer than DATABASE_POOL_TIMEOUT_SECONDS for
one, or that PostgreSQL refuses, is answered 503 with Retry-After
(DATABASE_UNAVAILABLE_RETRY_AFTER_SECONDS). docs/operations.md adds up the processes
against max_connections.
"""

from .environment import BASE_DIR, env
from .security import DEBUG

DATABASE_POOL_MIN_SIZE = env.int("DATABASE_POOL_MIN_SIZE", default=1)
DATABASE_POOL_MAX_SIZE = env.int("DATABASE_POOL_MAX_SIZE", default=8)
DATABASE_POOL_TIMEOUT_SECONDS = env.float("DATABASE_POOL_TIMEOUT_SECONDS", default=5.0)
DATABASE_UNAVAILABLE_RETRY_AFTER_SECONDS = env.int("DATABASE_UNAVAILABLE_RETRY_AFTER_SECONDS", default=5)


# Without the pool, Django keeps a connection per thread. Development servers run
# requests on threads that come and go, so kept connections pile up until PostgreSQL
# refuses more: with DEBUG each request closes its own.
_CONN_MAX_AGE = env.int("CONN_MAX_AGE", default=0 if DEBUG else 60)


def _default_database() -> dict:
    database = env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
    # With the pool, each connection is checked as it is handed out, so one cut by a
    # restart or failover is replaced before a request uses it.
    database["CONN_HEALTH_CHECKS"] = True
    if database["ENGINE"] == "django.db.backends.sqlite3":
        database["CONN_MAX_AGE"] = _CONN_MAX_AGE
        # A file, not memory, so a Celery worker process can share the test database.
        database["TEST"] = {"NAME": str(BASE_DIR / "test_db.sqlite3")}
        database.setdefault("OPTIONS", {}).update({"timeout": 30})
    elif DATABASE_POOL_MAX_SIZE > 0:
        # The pool keeps the connections: Django requires CONN_MAX_AGE 0 with it.
        database["CONN_MAX_AGE"] = 0
        database.setdefault("OPTIONS", {}).update(
            {
                "pool": {
                    "min_size": min(DATABASE_POOL_MIN_SIZE, DATABASE_POOL_MAX_SIZE),
                    "max_size": DATABASE_POOL_MAX_SIZE,
                    "timeout": DATABASE_POOL_TIMEOUT_SECONDS,
                }
            }
        )
    else:  # no pool (PgBouncer in transaction mode in front, say): plain connections
        database["CONN_MAX_AGE"] = _CONN_MAX_AGE
        # A server-side cursor outlives a transaction, which a transaction pooler breaks.
        database["DISABLE_SERVER_SIDE_CURSORS"] = True
    return database


DATABASES = {"default": _default_database()}
