"""Worker processes keep their PostgreSQL connection pool from one task to the next.

Celery's Django fixup closes each database connection at a task's start and end, which
with Django's pool (settings/database.py) hands the connection back, and then closes the
pool as well (celery/celery#10554, fix proposed in #10555). A prefork child so opened
two new PostgreSQL connections for every task: a backend started per range of a large
fan-out and per small event, and statements prepared on a connection (the delivery
acceptance record's) lost with it. This is Celery's fixup with that one step changed: a
task's end returns the connection to the pool and keeps the pool. A freshly forked child
still drops the pool inherited from its parent (the fixup's own process-init step).

Installed by name, in place of Celery's (`Celery(fixups=[...])`, notifications_project/
celery.py); like Celery's, its worker part is made only when a worker starts, so that
importing the app reads no settings.
"""

import os

from celery import Celery
from celery.fixups.django import DjangoFixup, DjangoWorkerFixup


class PoolKeepingWorkerFixup(DjangoWorkerFixup):
    def close_database(self, **kwargs) -> None:
        """At a task's start and end: each connection back to its pool, the pool kept
        (without a pool, the connection is closed, as the fixup does)."""
        for conn in self._db.connections.all(initialized_only=True):
            try:
                conn.close()
            except self.interface_errors:
                pass
            except self.DatabaseError as exc:
                if "closed" not in str(exc) and "not connected" not in str(exc):
                    raise


class PoolKeepingFixup(DjangoFixup):
    @property
    def worker_fixup(self) -> DjangoWorkerFixup:
        if self._worker_fixup is None:
            self._worker_fixup = PoolKeepingWorkerFixup(self.app)
        return self._worker_fixup

    @worker_fixup.setter
    def worker_fixup(self, value: DjangoWorkerFixup) -> None:
        self._worker_fixup = value


def fixup(app: Celery, env: str = "DJANGO_SETTINGS_MODULE") -> PoolKeepingFixup | None:
    """What celery.fixups.django.fixup does, with the fixup above."""
    if os.environ.get(env) and "django" not in app.loader_cls.lower():
        return PoolKeepingFixup(app).install()
    return None
