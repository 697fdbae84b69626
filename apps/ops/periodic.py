from django.conf import settings


def periodic_tasks():
    """This app's beat entries (see apps.common.beat): name → (task, seconds, queue)."""
    return {
        "Alerts: evaluate the operator alerts": (
            "ops.alerts_evaluate",
            settings.ALERT_EVALUATE_INTERVAL_SECONDS,
            "maintenance",
        ),
    }
