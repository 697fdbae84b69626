"""The database: any django-environ URL (PostgreSQL in production)."""

from .environment import BASE_DIR, env
from .security import DEBUG


def _default_database() -> dict:
    database = env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
    # Django keeps a connection per thread. Development servers (runserver, uvicorn) run
    # requests on threads that come and go, so kept connections pile up until PostgreSQL
    # refuses more: with DEBUG each request closes its own. gunicorn's fixed gthread
    # threads (workers x threads) bound the kept ones in production.
    database["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0 if DEBUG else 60)
    database["CONN_HEALTH_CHECKS"] = True
    if database["ENGINE"] == "django.db.backends.sqlite3":
        # A file, not memory, so a Celery worker process can share the test database.
        database["TEST"] = {"NAME": str(BASE_DIR / "test_db.sqlite3")}
        database.setdefault("OPTIONS", {}).update({"timeout": 30})
    return database


DATABASES = {"default": _default_database()}
