"""template_render: the one way a notification's text is produced.

Order: the stored template for the best locale (pt-BR → pt → default locale), else the
file default templates/notifications/<channel>/<event type>.txt (or default.txt, plus
an optional .html), else a minimal built-in text. A template that fails never loses the
notification: the next step is used, the failure logged, and `fallback_reason` says why.
File templates hold the subject on their first line and the text below it.
"""

import logging
from dataclasses import dataclass, replace

from django.template import Context, TemplateDoesNotExist

from . import engines
from .budget import budget_active, render_budgeted
from .locales import locale_candidates
from .models import NotificationTemplate

logger = logging.getLogger(__name__)

SUBJECT_MAX = 300


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str = ""
    template_version_id: int | None = None
    # The stored template it came from, and that template's email tracking choice
    # (None: the EMAIL_TRACKING_ENABLED setting decides).
    template_id: int | None = None
    email_tracking: bool | None = None
    fallback_reason: str | None = None


def _subject(text: str) -> str:
    return " ".join(text.split())[:SUBJECT_MAX]


def _stored_template(event_type_key: str, channel: str, locale: str | None):
    candidates = locale_candidates(locale)
    rows = {
        t.locale: t
        for t in NotificationTemplate.objects.filter(
            event_type__key=event_type_key, channel=channel, locale__in=candidates, current_version__isnull=False
        ).select_related("current_version")
    }
    return next((rows[c] for c in candidates if c in rows), None)


def _render_stored(template, context: dict) -> Rendered:
    """The three fields share one budget (time and size): over it, BudgetExceeded."""
    version = template.current_version

    def render(field):
        source = getattr(version, field)
        if not source:
            return ""
        return render_budgeted(engines.stored_compiled(version.pk, field, source), context)

    with budget_active():
        return Rendered(
            subject=_subject(render("subject")),
            text=render("body").strip(),
            html=render("html").strip(),
            template_version_id=version.pk,
            template_id=template.pk,
            email_tracking=template.email_tracking,
        )


def _render_files(event_type_key: str, channel: str, context: dict) -> Rendered:
    names = [f"notifications/{channel}/{event_type_key}", f"notifications/{channel}/default"]
    text_template = engines.file_text.select_template([f"{n}.txt" for n in names])
    text = text_template.render(Context(context, autoescape=False)).strip()
    try:
        html_template = engines.file_html.select_template([f"{n}.html" for n in names])
    except TemplateDoesNotExist:
        html = ""
    else:
        html = html_template.render(Context(context, autoescape=True)).strip()
    subject, _, body = text.partition("\n")
    return Rendered(subject=_subject(subject), text=body.strip(), html=html)


def _render_builtin(context: dict) -> Rendered:
    event_type = context.get("event_type") or {}
    data = context.get("data") if isinstance(context.get("data"), dict) else {}
    subject = str(data.get("title") or event_type.get("name") or event_type.get("key") or "Notification")
    return Rendered(subject=_subject(subject), text=str(data.get("message", "")))


def template_render(*, event_type, channel: str, locale: str | None, context: dict) -> Rendered:
    """Render what `event_type` (an EventType or its key) says on `channel` for `locale`."""
    key = event_type if isinstance(event_type, str) else event_type.key
    reasons = []
    stored = _stored_template(key, channel, locale)
    if stored is not None:
        try:
            return _render_stored(stored, context)
        except Exception as exc:  # any failure of a stored template falls back, never loses the message
            logger.exception("template %s v%s failed; using the file default", stored, stored.current_version.number)
            reasons.append(f"template {stored.pk} v{stored.current_version.number} failed: {type(exc).__name__}: {exc}")
    try:
        rendered = _render_files(key, channel, context)
    except Exception as exc:
        logger.exception("file template for %s on %s failed; using the built-in text", key, channel)
        reasons.append(f"file template failed: {type(exc).__name__}: {exc}")
        rendered = _render_builtin(context)
    if reasons:
        return replace(rendered, fallback_reason="; ".join(reasons)[:1000])
    return rendered
