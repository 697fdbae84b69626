from django.core.management.base import BaseCommand

from apps.delivery.channels.push import vapid_keys_generate


class Command(BaseCommand):
    help = "Print a new VAPID key pair for web push, as lines for the environment (.env)."

    def handle(self, *args, **options):
        public, private = vapid_keys_generate()
        self.stdout.write(f"VAPID_PUBLIC_KEY={public}\nVAPID_PRIVATE_KEY={private}\n")
