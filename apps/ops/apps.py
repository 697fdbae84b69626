from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Operations: health check, metrics, correlation ids and structured logs."""

    name = "apps.ops"
    label = "ops"

    def ready(self):
        from . import celery_signals, receivers  # noqa: F401 (connects the receivers)
