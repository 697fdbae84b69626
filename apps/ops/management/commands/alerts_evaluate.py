import json

from django.core.management.base import BaseCommand

from apps.ops.tasks import alerts_evaluate_task


class Command(BaseCommand):
    help = (
        "Evaluate the operator alerts once, in this process: for a cron job or timer beside beat, so a"
        " stopped beat or maintenance worker is reported too. Shares beat's slot lock: never twice a slot."
    )

    def handle(self, *args, **options):
        # Called, not sent: runs here, without a broker round trip or a worker.
        self.stdout.write(json.dumps(alerts_evaluate_task()))
