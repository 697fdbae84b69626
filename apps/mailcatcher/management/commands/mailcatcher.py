import signal
import threading
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from apps.mailcatcher.catcher import mail_catcher_controller


class Command(BaseCommand):
    help = "Run the development mail catcher: an SMTP server that keeps what it receives as .eml files."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=settings.MAIL_CATCHER_HOST)
        parser.add_argument("--port", type=int, default=settings.MAIL_CATCHER_PORT)

    def handle(self, *args, host, port, **options):
        directory = Path(settings.MAIL_CATCHER_DIR)
        controller = mail_catcher_controller(host=host, port=port, directory=directory, keep=settings.MAIL_CATCHER_KEEP)
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        controller.start()
        self.stdout.write(
            f"Mail catcher on smtp://{host}:{port}, keeping the newest {settings.MAIL_CATCHER_KEEP} in {directory}",
        )
        self.stdout.flush()
        try:
            stop.wait()
        finally:
            controller.stop()
