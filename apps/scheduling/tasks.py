"""Beat's periodic tasks. Each body runs under periodic_run: two beats, one run."""

from celery import shared_task
from django.conf import settings

from .digests import digests_build
from .locks import periodic_run
from .release import deliveries_release_due, sends_release_due
from .retention import retention_purge


def _once_per_slot(name: str, every_seconds: int, body) -> dict:
    with periodic_run(name, every_seconds) as owned:
        return body() if owned else {"skipped": True}


@shared_task(name="scheduling.release_due")
def release_due_task() -> dict:
    """Everything held that is due: scheduled direct sends, then held deliveries."""
    return _once_per_slot(
        "scheduling.release_due",
        settings.SCHEDULED_RELEASE_INTERVAL_SECONDS,
        lambda: {"sends": sends_release_due(), "released": deliveries_release_due()},
    )


@shared_task(name="scheduling.digests_build")
def digests_build_task() -> dict:
    return _once_per_slot(
        "scheduling.digests_build", settings.DIGEST_INTERVAL_SECONDS, lambda: {"digests": digests_build()}
    )


@shared_task(name="scheduling.retention_purge")
def retention_purge_task() -> dict:
    return _once_per_slot("scheduling.retention_purge", settings.RETENTION_INTERVAL_SECONDS, retention_purge)
