"""The ASGI application: the stream process in production (uvicorn, for
/api/v1/inbox/stream/), the whole web under `make run`."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notifications_project.settings")
application = get_asgi_application()

from django.conf import settings  # noqa: E402 (after the app is set up)

if settings.DEBUG:
    # What runserver does in development: serve static files (the admin's) itself.
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    application = ASGIStaticFilesHandler(application)
