from django.apps import AppConfig


class MailcatcherConfig(AppConfig):
    """The development mail catcher: an SMTP server `make run` starts, and a staff page
    that shows what it caught."""

    name = "apps.mailcatcher"
    label = "mailcatcher"
    verbose_name = "Mail catcher (development)"
