from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "apps.subscriptions"
    label = "subscriptions"

    def ready(self):
        from django.core.checks import register

        from . import receivers  # noqa: F401
        from .throttles import throttle_settings_check

        register(throttle_settings_check)
