from django.apps import AppConfig


class InboxConfig(AppConfig):
    """The web inbox: pages for a signed-in person and the live stream of new items."""

    name = "apps.inbox"
    label = "inbox"

    def ready(self):
        from . import receivers  # noqa: F401 (connects the receivers)
