"""The inbox grouped by subject: items of the same event type and subject make one line
("3 × Scenario executed: Checkout flow") that opens to show each of them.

Done in the database, set-based, in two queries per page whatever the inbox holds:
one GROUP BY gives the page's lines (each placed by its newest item, so lines page by
that id as the ungrouped list pages by item id), and one window query gives each
line's newest GROUP_ITEMS_MAX items. An item without a subject is a line of its own.
"""

from django.db.models import Case, CharField, Count, F, Max, Q, Value, When, Window
from django.db.models.functions import Cast, Concat, RowNumber

GROUP_ITEMS_MAX = 20  # items shown inside one line; `size` still counts them all


def _group_key():
    subject_key = Concat(
        Cast("event__event_type_id", CharField()),
        Value(":"),
        "event__subject_type",
        Value(":"),
        "event__subject_id",
        output_field=CharField(),
    )
    item_key = Concat(Value("item:"), Cast("id", CharField()), output_field=CharField())
    return Case(When(event__subject_id="", then=item_key), default=subject_key, output_field=CharField())


def _line_title(size: int, latest) -> str:
    if size == 1:
        return latest.title
    data = latest.effective_data if isinstance(latest.effective_data, dict) else {}
    subject_title = data.get("subject_title")
    if isinstance(subject_title, str) and subject_title.strip():
        return f"{size} × {latest.event.event_type.name}: {subject_title.strip()}"
    return f"{size} × {latest.title}"


def inbox_lines(items, *, before_id: int | None = None, limit: int) -> tuple[list[dict], bool]:
    """The next `limit` lines of `items` (an inbox queryset, filters applied), newest
    first, after the line whose newest item is `before_id`; and whether more follow.

    Each line: {"key", "size", "unread", "title", "latest_id", "items": [newest first]}.
    """
    lines = (
        items.annotate(group_key=_group_key())
        .order_by()
        .values("group_key")
        .annotate(latest_id=Max("id"), size=Count("id"), unread=Count("id", filter=Q(read_at__isnull=True)))
    )
    if before_id is not None:
        lines = lines.filter(latest_id__lt=before_id)
    lines = list(lines.order_by("-latest_id")[: limit + 1])
    has_more = len(lines) > limit
    lines = lines[:limit]
    if not lines:
        return [], False

    members = (
        items.annotate(
            group_key=_group_key(),
            rank=Window(RowNumber(), partition_by=[_group_key()], order_by=F("id").desc()),
        )
        .filter(group_key__in=[line["group_key"] for line in lines], rank__lte=GROUP_ITEMS_MAX)
        .order_by("-id")
    )
    by_key: dict[str, list] = {}
    for item in members:
        by_key.setdefault(item.group_key, []).append(item)
    return [
        {
            "key": line["group_key"],
            "size": line["size"],
            "unread": line["unread"],
            "latest_id": line["latest_id"],
            "title": _line_title(line["size"], by_key[line["group_key"]][0]),
            "items": by_key[line["group_key"]],
        }
        for line in lines
        if line["group_key"] in by_key  # an item deleted between the two queries
    ], has_more
