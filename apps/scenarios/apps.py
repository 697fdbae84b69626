from django.apps import AppConfig


class ScenariosConfig(AppConfig):
    name = "apps.scenarios"
    label = "scenarios"

    def ready(self):
        from apps.subscriptions.access import subject_visibility_register

        from . import receivers  # noqa: F401
        from .visibility import SCENARIO_SUBJECT_TYPE, scenario_visible

        subject_visibility_register(subject_type=SCENARIO_SUBJECT_TYPE, check=scenario_visible)
