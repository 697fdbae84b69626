from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "apps.delivery"
    label = "delivery"

    def ready(self):
        from . import channels  # noqa: F401  (channels register on import)
