"""The inbox's first page, unfiltered: what nearly every inbox load asks for, read with
a statement compiled once per process.

Building and compiling the ORM query took as much CPU as PostgreSQL's work for it, and
turning its rows into dicts as much again; the statement is the same for every person
but for two parameters. It is compiled from the very queryset the list uses
(inbox_item_rows over inbox_visible_list, archived items hidden), so it cannot drift
from it, and the parameters are found by value, so a change of that queryset that moved
them fails at once (tests/notifications/test_inbox_first_page.py compares the two).
"""

import functools
import json
from datetime import UTC, datetime

from django.db import connection
from django.utils import timezone

from .selectors import inbox_awake, inbox_item_rows, inbox_list

# Values no real call has: where they land among the compiled parameters is where the
# person and the time go.
_USER_ID = -918_273_645
_NOW = datetime(1901, 2, 3, 4, 5, 6, tzinfo=UTC)
ORDERING = ("-id",)


@functools.cache
def _statement(limit: int) -> tuple[str, tuple]:
    items = inbox_awake(inbox_list(user=_USER_ID), now=_NOW).filter(archived_at__isnull=True)
    sql, params = inbox_item_rows(items).order_by(*ORDERING)[:limit].query.sql_with_params()
    if params.count(_USER_ID) != 1 or params.count(_NOW) != 1:
        raise RuntimeError(f"The inbox page's statement changed its parameters: {params}")
    return sql, params


def inbox_first_page_rows(*, user_id: int, limit: int) -> list[dict]:
    """The first `limit` rows of inbox_item_rows for the person's visible, unarchived
    items, newest first: the same dicts the queryset gives."""
    sql, params = _statement(limit)
    now = timezone.now()
    bound = [user_id if value == _USER_ID else now if value == _NOW else value for value in params]
    with connection.cursor() as cursor:
        cursor.execute(sql, bound)
        names = [column.name for column in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    for row in rows:
        # jsonb comes as text through Django's connection; JSONField would decode it so.
        if isinstance(row["effective_data"], str):
            row["effective_data"] = json.loads(row["effective_data"])
    return rows


class FirstPage:
    """What CursorPagination asks of a queryset for a page without a cursor (its
    ordering, then a slice from 0), answered by the compiled statement."""

    def __init__(self, *, user_id: int):
        self.user_id = user_id

    def order_by(self, *ordering):
        if tuple(ordering) != ORDERING:
            raise ValueError(f"The first page is ordered by {ORDERING}, not {ordering}")
        return self

    def __getitem__(self, window: slice) -> list[dict]:
        if window.start not in (0, None) or window.stop is None:
            raise ValueError("The first page is a slice from 0")
        return inbox_first_page_rows(user_id=self.user_id, limit=window.stop)
