from apps.notifications.selectors import inbox_list, inbox_visible_list

PAGE_SIZE = 30
SHOW_CHOICES = ("all", "unread", "archived")
# The inbox API's filters for each view of the page: "Load more" asks the API for the
# same items the page shows.
SHOW_API_FILTERS = {"all": "", "unread": "status=unread", "archived": "archived=true"}


def inbox_page_items(*, user, show: str = "all"):
    """The items one view of the web inbox shows (snoozed ones left out), newest first."""
    items = inbox_visible_list(user=user)
    if show == "archived":
        return items.filter(archived_at__isnull=False)
    items = items.filter(archived_at__isnull=True)
    if show == "unread":
        items = items.filter(read_at__isnull=True)
    return items


def inbox_newest_id(*, user) -> int:
    """The newest item's id, whatever its state: the live stream starts after it."""
    return inbox_list(user=user).values_list("pk", flat=True).first() or 0
