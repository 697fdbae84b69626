from django.core.management.base import BaseCommand

from apps.common.beat import periodic_tasks_ensure


class Command(BaseCommand):
    help = "Create the default periodic tasks that are missing; existing ones keep their edits."

    def handle(self, *args, **options):
        created = periodic_tasks_ensure()
        self.stdout.write(f"{created} periodic tasks created.")
