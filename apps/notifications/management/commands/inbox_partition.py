"""`manage.py inbox_partition create|backfill|swap|sql`: the inbox table's move to hash
partitions by person (apps/notifications/partitioning.py, docs/scaling.md)."""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from apps.notifications import partitioning


class Command(BaseCommand):
    help = "Move the inbox table to hash partitions by user: create, backfill, swap (or print the SQL)."

    def add_arguments(self, parser):
        parser.add_argument("step", choices=["create", "backfill", "swap", "sql"])
        parser.add_argument("--partitions", type=int, default=64)
        parser.add_argument("--batch", type=int, default=50_000, help="ids a backfill transaction copies")

    def handle(self, *args, step, partitions, batch, **options):
        if connection.vendor != "postgresql":
            raise CommandError("Partitioning is PostgreSQL's: this database is " + connection.vendor)
        if step == "sql":
            with connection.cursor() as cursor:
                swap = partitioning.swap_statements(cursor)
            for statement in [*partitioning.create_statements(partitions), partitioning.BACKFILL, *swap]:
                self.stdout.write(statement.strip() + ";\n")
        elif step == "create":
            partitioning.create(partitions=partitions)
            self.stdout.write(f"{partitioning.NEW}: {partitions} partitions, writes now copied")
        elif step == "backfill":

            def report(after, last, copied):
                self.stdout.write(f"ids up to {min(after, last)} of {last}: {copied} rows copied")

            partitioning.backfill(batch=batch, report=report)
        else:
            partitioning.swap()
            self.stdout.write(f"{partitioning.OLD} is partitioned; the old table is {partitioning.RETIRED}")
