from django.apps import AppConfig


class ScenariosConfig(AppConfig):
    name = "apps.scenarios"
    label = "scenarios"

    def ready(self):
        from . import receivers  # noqa: F401
