from django.apps import AppConfig


class DashboardConfig(AppConfig):
    """The delivery dashboard and a notification's story, in the admin, for staff."""

    name = "apps.dashboard"
    label = "dashboard"
    verbose_name = "Delivery health"
