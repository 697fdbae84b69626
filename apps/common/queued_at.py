"""When the server queued a request: the time.monotonic() of the serving process, put
by the server where the application can read it. gunicorn's worker
(notifications_project/gunicorn_worker.py) puts it in the WSGI environ, the ASGI
application (notifications_project/asgi.py) in the scope. Importable before Django is
set up: gunicorn loads its worker class first."""

QUEUED_AT_KEY = "notifications.queued_at"


def queued_at(request) -> float | None:
    """The stamp of a Django request, or None when its server set none."""
    scope = getattr(request, "scope", None)  # ASGI
    return (scope or request.META).get(QUEUED_AT_KEY)
