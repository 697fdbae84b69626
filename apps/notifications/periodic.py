from django.conf import settings


def periodic_tasks():
    """This app's beat entries (see apps.common.beat): name → (task, seconds, queue)."""
    return {
        "Outbox relay: re-drive unfinished fan-outs": (
            "events.outbox_relay",
            settings.OUTBOX_RELAY_INTERVAL_SECONDS,
            "maintenance",
        ),
        "Batching: refresh open items, close the windows due": (
            "notifications.batches_close",
            settings.BATCH_CLOSE_INTERVAL_SECONDS,
            "maintenance",
        ),
    }
