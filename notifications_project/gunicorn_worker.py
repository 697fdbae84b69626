"""Gunicorn's gthread worker, telling the application how long each request queued.

A gthread process hands every accepted connection to its thread pool; when all threads
are busy the request waits in the pool's queue, where nothing in Django can see it. This
worker notes when a request was queued and puts that moment in the WSGI environ
(apps/common/queued_at.py), so the load shedder
(apps/common/load_shedding.py) answers 503 to a request that has already waited longer
than its budget instead of serving it seconds late.
"""

import threading
import time

from gunicorn.workers.gthread import ThreadWorker

from apps.common.queued_at import QUEUED_AT_KEY


class QueueTimedThreadWorker(ThreadWorker):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._handling = threading.local()

    def enqueue_req(self, conn):
        conn.queued_at = time.monotonic()
        super().enqueue_req(conn)

    def handle(self, conn):
        # Runs on the pool thread that then calls the application (see load_wsgi).
        self._handling.queued_at = conn.queued_at
        return super().handle(conn)

    def load_wsgi(self):
        super().load_wsgi()
        application = self.wsgi
        handling = self._handling

        def with_queued_at(environ, start_response):
            environ[QUEUED_AT_KEY] = handling.queued_at
            return application(environ, start_response)

        self.wsgi = with_queued_at
