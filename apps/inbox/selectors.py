from apps.notifications.selectors import inbox_list

PAGE_SIZE = 30
SHOW_CHOICES = ("all", "unread", "archived")


def inbox_page_get(*, user, show: str = "all", before_id: int | None = None) -> dict:
    """One page of the web inbox: items newest first, and the id to page on from."""
    items = inbox_list(user=user)
    if show == "archived":
        items = items.filter(archived_at__isnull=False)
    else:
        items = items.filter(archived_at__isnull=True)
        if show == "unread":
            items = items.filter(read_at__isnull=True)
    if before_id is not None:
        items = items.filter(pk__lt=before_id)
    page = list(items[: PAGE_SIZE + 1])
    older = page[PAGE_SIZE - 1].pk if len(page) > PAGE_SIZE else None
    return {"items": page[:PAGE_SIZE], "older_before_id": older}


def inbox_newest_id(*, user) -> int:
    """The newest item's id, whatever its state: the live stream starts after it."""
    return inbox_list(user=user).values_list("pk", flat=True).first() or 0
