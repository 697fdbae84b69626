from django.core.management.base import BaseCommand
from django.db import connection, transaction

from apps.common.crypto import token_rotate
from apps.common.encrypted_columns import column_values_transform, encrypted_columns


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted field under the first of FIELD_ENCRYPTION_KEYS. Run it after "
        "putting a new key first; once it has run, the older keys can be removed."
    )

    def handle(self, *args, **options):
        total = 0
        for table, columns in encrypted_columns():
            # Per table, all or nothing: a value no key decrypts stops the run, that table unchanged.
            with transaction.atomic():
                changed = column_values_transform(
                    connection=connection, table=table, columns=columns, transform=token_rotate
                )
            self.stdout.write(f"{table}: {changed} values re-encrypted")
            total += changed
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {total} values under the newest key."))
