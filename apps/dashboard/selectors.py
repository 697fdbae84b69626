"""What the delivery dashboard reads from the database. Every query is bounded by a
time window or a page and aggregated in SQL, each on an index made for it (see the
Delivery model's indexes), so the page costs the same with a million rows as with ten."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.db.models.functions import TruncMinute

from apps.common.channels import EXTERNAL_CHANNELS
from apps.delivery.models import Delivery, DeliveryStatus
from apps.ops.collectors import oldest_pending_ages

SERIES_MINUTES = 60
FAILED_STATUSES = [DeliveryStatus.FAILED, DeliveryStatus.DEAD]


@dataclass(frozen=True)
class ChannelCounts:
    channel: str
    # status → count, every status present (0 when none)
    last_hour: dict[str, int]
    last_day: dict[str, int]

    @property
    def cells(self) -> list[tuple[str, int, int]]:
        """(status, last hour, last day) in the order of DeliveryStatus."""
        return [(status, self.last_hour[status], self.last_day[status]) for status in DeliveryStatus.values]


def status_counts(*, now: datetime) -> list[ChannelCounts]:
    """Per external channel, deliveries created in the last hour and the last day by
    their status now. One pass over the day's rows of the (created_at) INCLUDE
    (channel, status) index: an index-only scan, the table itself is not read."""
    hour_ago, day_ago = now - timedelta(hours=1), now - timedelta(days=1)
    rows = (
        Delivery.objects.filter(created_at__gt=day_ago, created_at__lte=now)
        .values("channel", "status")
        .annotate(day=Count("*"), hour=Count("created_at", filter=Q(created_at__gt=hour_ago)))
        .order_by()
    )
    statuses = DeliveryStatus.values
    hour = {channel: dict.fromkeys(statuses, 0) for channel in EXTERNAL_CHANNELS}
    day = {channel: dict.fromkeys(statuses, 0) for channel in EXTERNAL_CHANNELS}
    for row in rows:
        if row["channel"] in hour:
            hour[row["channel"]][row["status"]] = row["hour"]
            day[row["channel"]][row["status"]] = row["day"]
    return [ChannelCounts(channel, hour[channel], day[channel]) for channel in EXTERNAL_CHANNELS]


@dataclass(frozen=True)
class MinuteSeries:
    # The start of each minute, oldest first; the last one is the current minute.
    minutes: list[datetime]
    sent: list[int]
    failed: list[int]

    @property
    def busy_minutes(self) -> list[tuple[datetime, int, int]]:
        """(minute, sent, failed) of the minutes with any, for the chart's table."""
        rows = zip(self.minutes, self.sent, self.failed, strict=True)
        return [(minute, sent, failed) for minute, sent, failed in rows if sent or failed]


def _per_minute(queryset, field: str, start: datetime) -> dict[datetime, int]:
    rows = (
        queryset.filter(**{f"{field}__gte": start})
        .annotate(minute=TruncMinute(field))
        .values("minute")
        .annotate(count=Count("*"))
        .order_by()
    )
    return {row["minute"]: row["count"] for row in rows}


def sent_failed_per_minute(*, now: datetime) -> MinuteSeries:
    """Sent (by sent_at, delivered ones included) and failed or dead (by when they
    became so: updated_at) per minute over the last SERIES_MINUTES minutes."""
    current = now.replace(second=0, microsecond=0)
    minutes = [current - timedelta(minutes=back) for back in range(SERIES_MINUTES - 1, -1, -1)]
    sent = _per_minute(Delivery.objects.filter(sent_at__isnull=False), "sent_at", minutes[0])
    failed = _per_minute(Delivery.objects.filter(status__in=FAILED_STATUSES), "updated_at", minutes[0])
    return MinuteSeries(minutes, [sent.get(m, 0) for m in minutes], [failed.get(m, 0) for m in minutes])


def dead_letters_page(*, page: int | str | None, per_page: int = 25):
    """Dead deliveries, newest first, one page (Django's Paginator: an invalid or too
    large page number gives the last page)."""
    queryset = (
        Delivery.objects.filter(status=DeliveryStatus.DEAD)
        .select_related("notification__event__event_type", "notification__user")
        .order_by("-updated_at", "-id")
    )
    return Paginator(queryset, per_page).get_page(page)


def oldest_pending_seconds(*, now: datetime) -> dict[str, float]:
    """Per channel, the age of the oldest pending delivery (the metrics scrape's
    figure: one index seek per channel)."""
    return oldest_pending_ages(now)
