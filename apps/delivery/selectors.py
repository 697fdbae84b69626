from dataclasses import dataclass

from django.db.models import Count, Q, Sum

from .models import Delivery, DeliveryStatus, TrackedEmail
from .tracking import link_target

# The priority of a delivery's send (its event's): the queue it travels on.
PRIORITY = "notification__event__priority"


def delivery_routes(*, delivery_ids) -> dict[tuple[str, str], list[int]]:
    """(channel, priority) → ids of the given deliveries: the queue each goes on."""
    routes: dict[tuple[str, str], list[int]] = {}
    rows = Delivery.objects.filter(pk__in=list(delivery_ids)).order_by("pk").values_list("pk", "channel", PRIORITY)
    for pk, channel, priority in rows:
        routes.setdefault((channel, priority), []).append(pk)
    return routes


def delivery_list_for_send(*, delivery_ids: list[int]):
    """Claimed deliveries with everything a channel renders from, in one query."""
    return (
        Delivery.objects.filter(pk__in=delivery_ids, status=DeliveryStatus.SENDING)
        .select_related("notification__user__profile", "notification__event__event_type")
        .order_by("pk")
    )


def dead_delivery_ids(*, channel: str | None = None, since=None) -> list[int]:
    """Dead deliveries, optionally of one channel and gone dead at or after `since`."""
    queryset = Delivery.objects.filter(status=DeliveryStatus.DEAD)
    if channel:
        queryset = queryset.filter(channel=channel)
    if since is not None:
        queryset = queryset.filter(updated_at__gte=since)
    return list(queryset.order_by("pk").values_list("pk", flat=True))


def delivery_id_by_provider_id(*, provider_message_id: str, channel: str) -> int | None:
    return (
        Delivery.objects.filter(provider_message_id=provider_message_id, channel=channel)
        .values_list("pk", flat=True)
        .first()
    )


def tracked_email_exists(*, delivery_id: int) -> bool:
    return TrackedEmail.objects.filter(pk=delivery_id).exists()


def tracked_email_link(*, delivery_id: int, index: int) -> str | None:
    """Where link `index` of the delivery's tracked email leads, recording nothing."""
    links = TrackedEmail.objects.filter(pk=delivery_id).values_list("links", flat=True).first()
    return link_target(links, index) if links is not None else None


@dataclass(frozen=True)
class TemplateEngagement:
    """A stored template's tracked emails: how many were sent, how many of those were
    opened and clicked (each email once), and every open and click counted."""

    sent: int = 0
    opened: int = 0
    clicked: int = 0
    opens: int = 0
    clicks: int = 0

    @property
    def open_rate(self) -> float | None:
        return self.opened / self.sent if self.sent else None

    @property
    def click_rate(self) -> float | None:
        return self.clicked / self.sent if self.sent else None


def template_engagement(*, template_ids) -> dict[int, TemplateEngagement]:
    """Per template id, one grouped query over the tracked emails."""
    sent = Q(delivery__sent_at__isnull=False)
    rows = (
        TrackedEmail.objects.filter(sent, template_id__in=list(template_ids))
        .values("template_id")
        .order_by()
        .annotate(
            sent=Count("pk"),
            opened=Count("pk", filter=Q(opened_at__isnull=False)),
            clicked=Count("pk", filter=Q(clicked_at__isnull=False)),
            opens=Sum("opens"),
            clicks=Sum("clicks"),
        )
    )
    return {row.pop("template_id"): TemplateEngagement(**row) for row in rows}
