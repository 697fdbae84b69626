"""The ASGI application: the stream process in production (uvicorn, for
/api/v1/inbox/stream/), the whole web under `make run`."""

import os
import time

from django.core.asgi import get_asgi_application

from apps.common.queued_at import QUEUED_AT_KEY

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notifications_project.settings")
django_application = get_asgi_application()


async def application(scope, receive, send):
    # The moment the request arrived, for the load shedder: sync views wait for the
    # process's one request thread, and that wait counts against the queue budget.
    if scope["type"] == "http":
        scope = {**scope, QUEUED_AT_KEY: time.monotonic()}
    return await django_application(scope, receive, send)


from django.conf import settings  # noqa: E402 (after the app is set up)

if settings.DEBUG:
    # What runserver does in development: serve static files (the admin's) itself.
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    application = ASGIStaticFilesHandler(application)
