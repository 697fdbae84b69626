from django.conf import settings


def periodic_tasks():
    """This app's beat entries (see apps.common.beat): name → (task, seconds, queue)."""
    return {
        "Status webhooks: post due delivery status changes to services": (
            "integrations.status_webhooks_relay",
            settings.STATUS_WEBHOOK_RELAY_INTERVAL_SECONDS,
            "integrations",
        ),
    }
