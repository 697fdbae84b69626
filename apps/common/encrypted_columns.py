"""Bulk work on the stored values of encrypted fields, column by column in raw SQL, so
values that are not (or not yet) tokens of the current keys can be read and rewritten."""

from collections.abc import Callable

from django.apps import apps as global_apps

from .fields import EncryptedTextField

BATCH_SIZE = 500


def encrypted_columns(apps=global_apps) -> list[tuple[str, list[str]]]:
    """(table, [column, ...]) of every model with encrypted fields."""
    found = []
    for model in apps.get_models():
        columns = [f.column for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if columns:
            found.append((model._meta.db_table, columns))
    return found


def column_values_transform(*, connection, table: str, columns: list[str], transform: Callable[[str], str]) -> int:
    """Rewrite each non-empty stored value v of those columns as transform(v); returns
    how many values changed. Reads and writes in primary-key batches (tables keyed by
    `id`, as every model with encrypted fields is)."""
    quote = connection.ops.quote_name
    select_list = ", ".join(quote(c) for c in columns)
    changed, last_pk = 0, None
    with connection.cursor() as cursor:
        while True:
            where = "" if last_pk is None else f"WHERE {quote('id')} > %s"
            cursor.execute(
                f"SELECT {quote('id')}, {select_list} FROM {quote(table)} {where} ORDER BY {quote('id')} LIMIT %s",
                ([] if last_pk is None else [last_pk]) + [BATCH_SIZE],
            )
            rows = cursor.fetchall()
            if not rows:
                return changed
            for pk, *values in rows:
                new = [transform(v) if v else v for v in values]
                if new != values:
                    assignments = ", ".join(f"{quote(c)} = %s" for c in columns)
                    cursor.execute(f"UPDATE {quote(table)} SET {assignments} WHERE {quote('id')} = %s", [*new, pk])
                    changed += sum(a != b for a, b in zip(new, values, strict=True))
            last_pk = rows[-1][0]
