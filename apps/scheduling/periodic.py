from django.conf import settings

# The one release job: due scheduled sends, then due held deliveries.
RELEASE_DUE = "Release due: scheduled sends and held deliveries"


def periodic_tasks():
    """This app's beat entries (see apps.common.beat): name → (task, seconds, queue)."""
    return {
        RELEASE_DUE: (
            "scheduling.release_due",
            settings.SCHEDULED_RELEASE_INTERVAL_SECONDS,
            "maintenance",
        ),
        "Digests: build the closed windows": (
            "scheduling.digests_build",
            settings.DIGEST_INTERVAL_SECONDS,
            "maintenance",
        ),
        "Retention: purge old inbox items and delivery history": (
            "scheduling.retention_purge",
            settings.RETENTION_INTERVAL_SECONDS,
            "maintenance",
        ),
    }
