"""Give dead deliveries (retries exhausted) a fresh start: `requeue_dead [--channel email] [--since 2h]`."""

import re
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.common.channels import EXTERNAL_CHANNELS
from apps.delivery.selectors import dead_delivery_ids
from apps.delivery.services import deliveries_requeue
from apps.delivery.tasks import requeues_enqueue

DURATION = re.compile(r"^(\d+)([smhd])$")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_since(value: str):
    """An ISO datetime, or a duration back from now such as 30m, 2h, 7d."""
    match = DURATION.match(value)
    if match:
        return timezone.now() - timedelta(**{UNITS[match[2]]: int(match[1])})
    moment = parse_datetime(value)
    if moment is None:
        raise CommandError(f"--since: '{value}' is neither a datetime nor a duration like 2h")
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


class Command(BaseCommand):
    help = "Requeue dead deliveries, optionally of one channel and only those that died since a moment."

    def add_arguments(self, parser):
        parser.add_argument("--channel", choices=EXTERNAL_CHANNELS)
        parser.add_argument("--since", help="ISO datetime or a duration back from now: 30m, 2h, 7d")

    def handle(self, *args, channel=None, since=None, **options):
        ids = dead_delivery_ids(channel=channel, since=parse_since(since) if since else None)
        count = 0
        for start in range(0, len(ids), 1000):
            count += requeues_enqueue(deliveries_requeue(delivery_ids=ids[start : start + 1000], by="requeue_dead"))
        self.stdout.write(f"Requeued {count} dead deliveries.")
