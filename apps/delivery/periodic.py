from django.conf import settings


def periodic_tasks():
    """This app's beat entries (see apps.common.beat): name → (task, seconds, queue)."""
    return {
        "Delivery sweeper: recover stuck and stale deliveries": (
            "delivery.sweep_stuck",
            settings.DELIVERY_SWEEP_INTERVAL_SECONDS,
            "maintenance",
        ),
    }
