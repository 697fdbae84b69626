"""Recording email opens and clicks seen by the service's own tracking (the pixel and
the signed redirect of tracking.py).

The first open of an email, and the first click on each of its links, are added to the
delivery's history as `opened` and `clicked`, like the same events a provider reports
(callbacks.py); repeats are counted on the TrackedEmail row only, so a mail client
that loads the pixel on every view does not flood the timeline. The delivery's status
stays as it is (sent, delivered): engagement is history, never a status.
"""

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .models import DeliveryEvent, TrackedEmail
from .services import delivery_history_record
from .tracking import link_target


def tracked_emails_record(*, emails: dict[int, dict]) -> None:
    """What each tracked email's links lead to (delivery id → template_id, links), in
    one statement for a batch, written before it is sent; a resend's links replace the
    earlier ones."""
    if not emails:
        return
    TrackedEmail.objects.bulk_create(
        [TrackedEmail(delivery_id=pk, template_id=e["template_id"], links=e["links"]) for pk, e in emails.items()],
        update_conflicts=True,
        unique_fields=["delivery"],
        update_fields=["template", "links"],
    )


@transaction.atomic
def email_open_record(*, delivery_id: int) -> bool:
    """Count an open; False when the delivery has no tracked email."""
    first = TrackedEmail.objects.filter(pk=delivery_id, opened_at__isnull=True).update(
        opened_at=timezone.now(), opens=F("opens") + 1
    )
    if first:
        delivery_history_record([DeliveryEvent(delivery_id=delivery_id, status="opened", detail={"source": "pixel"})])
        return True
    return bool(TrackedEmail.objects.filter(pk=delivery_id).update(opens=F("opens") + 1))


@transaction.atomic
def email_click_record(*, delivery_id: int, index: int) -> str | None:
    """Count a click on link `index` of the delivery's email and answer its URL; None
    (nothing recorded) when the email has no such link."""
    tracked = TrackedEmail.objects.select_for_update().filter(pk=delivery_id).first()
    url = link_target(tracked.links, index) if tracked is not None else None
    if url is None:
        return None
    first_on_link = index not in tracked.clicked_links
    TrackedEmail.objects.filter(pk=delivery_id).update(
        clicks=F("clicks") + 1,
        clicked_at=tracked.clicked_at or timezone.now(),
        clicked_links=sorted({*tracked.clicked_links, index}),
    )
    if first_on_link:
        detail = {"source": "link", "link": index, "url": url}
        delivery_history_record([DeliveryEvent(delivery_id=delivery_id, status="clicked", detail=detail)])
    return url
