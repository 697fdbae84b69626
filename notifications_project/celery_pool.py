"""Worker processes keep their PostgreSQL connection pool from one task to the next.

Celery's Django fixup closes each database connection at a task's start and end, which
with Django's pool (settings/database.py) hands the connection back, and then closes the
pool as well (celery/celery#10554, fix proposed in #10555). A prefork child so opened
two new PostgreSQL connections for every task: a backend started per range of a large
fan-out and per small event, and statements prepared on a connection (the delivery
acceptance record's) lost with it. This keeps the fixup and changes that one step: a
task's end returns the connection to the pool and keeps the pool. A freshly forked child
still drops the pool inherited from its parent (the fixup's own process-init step).
"""

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


def keep_database_pools(app: Celery) -> None:
    """Give `app`'s Django fixup the worker fixup above; call before a worker starts
    (the fixup installs its worker part at worker_init)."""
    for fixup in app._fixups:  # the fixup instances Celery keeps for the app
        if isinstance(fixup, DjangoFixup):
            fixup.worker_fixup = PoolKeepingWorkerFixup(app)
