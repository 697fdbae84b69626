from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max

from apps.common.errors import Conflict

from .engines import sources_validate
from .locales import locale_normalize
from .models import NotificationTemplate, TemplateVersion


def _version_add(*, template, subject, body, html, created_by, restored_from=None) -> TemplateVersion:
    # The row lock numbers concurrent edits of one template one after the other.
    NotificationTemplate.objects.select_for_update().filter(pk=template.pk).first()
    number = (template.versions.aggregate(most=Max("number"))["most"] or 0) + 1
    version = TemplateVersion.objects.create(
        template=template,
        number=number,
        subject=subject,
        body=body,
        html=html,
        created_by=created_by[:150],
        restored_from=restored_from,
    )
    template.current_version = version
    template.save(update_fields=["current_version", "updated_at"])
    return version


def template_create(
    *,
    event_type,
    channel: str,
    locale: str,
    subject: str,
    body: str,
    html: str = "",
    created_by: str = "",
    email_tracking: bool | None = None,
) -> NotificationTemplate:
    sources_validate(subject=subject, body=body, html=html)
    try:
        with transaction.atomic():
            template = NotificationTemplate.objects.create(
                event_type=event_type, channel=channel, locale=locale_normalize(locale), email_tracking=email_tracking
            )
            _version_add(template=template, subject=subject, body=body, html=html, created_by=created_by)
    except IntegrityError as exc:
        raise Conflict("A template for this event type, channel and locale exists; change it with PUT.") from exc
    return template


@transaction.atomic
def template_update(*, template, subject: str, body: str, html: str = "", created_by: str = "") -> TemplateVersion:
    """Every change is a new version; the old ones stay restorable."""
    sources_validate(subject=subject, body=body, html=html)
    return _version_add(template=template, subject=subject, body=body, html=html, created_by=created_by)


@transaction.atomic
def template_restore(*, version: TemplateVersion, created_by: str = "") -> TemplateVersion:
    """Make an old version current again, as a new version copying it (history stays linear)."""
    if version.template.current_version_id == version.pk:
        raise ValidationError("This version is already the current one.")
    return _version_add(
        template=version.template,
        subject=version.subject,
        body=version.body,
        html=version.html,
        created_by=created_by,
        restored_from=version,
    )


def template_email_tracking_set(*, template, email_tracking: bool | None) -> None:
    """Turn email tracking on or off for this template, or back to the setting (None).
    Not content: no version is added."""
    template.email_tracking = email_tracking
    template.save(update_fields=["email_tracking", "updated_at"])


def template_delete(*, template) -> None:
    template.delete()
