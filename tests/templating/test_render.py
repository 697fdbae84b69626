"""template_render: locale fallback, versions, restore and broken templates."""

import logging

import pytest

from apps.common.channels import Channel
from apps.delivery.models import Delivery
from apps.delivery.rendering import render_delivery
from apps.notifications.fanout import event_fan_out
from apps.notifications.models import UserNotification
from apps.notifications.publish import event_publish
from apps.templating.locales import locale_candidates
from apps.templating.models import TemplateVersion
from apps.templating.render import template_render
from apps.templating.services import template_create, template_restore, template_update

pytestmark = pytest.mark.django_db

CONTEXT = {"data": {"name": "Login flow"}, "event_type": {"key": "scenario.created", "name": "Scenario created"}}


def render(locale, channel=Channel.EMAIL, context=CONTEXT):
    return template_render(event_type="scenario.created", channel=channel, locale=locale, context=context)


def test_locale_candidates_go_from_region_to_language_to_default(settings):
    settings.NOTIFICATION_DEFAULT_LOCALE = "en"
    assert locale_candidates("pt_br") == ["pt-BR", "pt", "en"]
    assert locale_candidates("en-GB") == ["en-GB", "en"]
    assert locale_candidates(None) == ["en"]


def test_locale_falls_back_to_language_then_default_then_file(event_types):
    created = event_types["scenario.created"]
    # No stored template at all: the file default (the email channel's default.txt).
    from_file = render("pt-BR")
    assert from_file.template_version_id is None and from_file.fallback_reason is None
    assert from_file.subject == "Scenario created"

    english = template_create(
        event_type=created, channel=Channel.EMAIL, locale="en", subject="New: {{ data.name }}", body="Made."
    )
    portuguese = template_create(
        event_type=created, channel=Channel.EMAIL, locale="pt", subject="Novo: {{ data.name }}", body="Criado."
    )
    brazilian = render("pt-BR")  # no pt-BR template: its language, pt
    assert (brazilian.subject, brazilian.text) == ("Novo: Login flow", "Criado.")
    assert brazilian.template_version_id == portuguese.current_version_id
    french = render("fr")  # neither fr nor a language match: the default locale, en
    assert (french.subject, french.template_version_id) == ("New: Login flow", english.current_version_id)
    # Another channel has no stored template: its file default.
    assert render("pt-BR", channel=Channel.SMS).template_version_id is None


def test_every_change_is_a_version_and_restore_copies_an_old_one(event_types):
    template = template_create(
        event_type=event_types["scenario.created"], channel=Channel.EMAIL, locale="en", subject="v1", body="one"
    )
    template_update(template=template, subject="v2", body="two")
    template_update(template=template, subject="v3", body="three", html="<b>three</b>")
    assert list(template.versions.order_by("number").values_list("number", "subject")) == [
        (1, "v1"),
        (2, "v2"),
        (3, "v3"),
    ]
    assert render("en").subject == "v3"

    first = template.versions.get(number=1)
    restored = template_restore(version=first, created_by="ops")
    template.refresh_from_db()
    assert (restored.number, restored.restored_from_id, template.current_version_id) == (4, first.pk, restored.pk)
    assert (render("en").subject, render("en").text, render("en").html) == ("v1", "one", "")
    assert template.versions.count() == 4  # history is kept


def test_a_template_that_does_not_compile_is_refused_with_its_line(event_types):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as raised:
        template_create(
            event_type=event_types["scenario.created"],
            channel=Channel.EMAIL,
            locale="en",
            subject="ok",
            body="fine\n{% if data.name %}\nno end",
        )
    assert "Line 2" in raised.value.message_dict["body"][0]


def test_a_broken_stored_template_falls_back_to_the_file_and_says_why(event_types, caplog):
    template = template_create(
        event_type=event_types["scenario.created"], channel=Channel.EMAIL, locale="en", subject="ok", body="ok"
    )
    # Stored before validation existed (or written around it): it no longer compiles.
    broken = TemplateVersion.objects.create(template=template, number=2, subject="{% bogus %}", body="x")
    template.current_version = broken
    template.save(update_fields=["current_version"])

    with caplog.at_level(logging.ERROR, logger="apps.templating.render"):
        rendered = render("en")
    assert rendered.subject == "Scenario created"  # the file default
    assert rendered.template_version_id is None
    assert (
        "TemplateSyntaxError" in rendered.fallback_reason and f"template {template.pk} v2" in rendered.fallback_reason
    )
    assert any("failed" in record.message for record in caplog.records)


def test_without_any_template_the_built_in_text_is_used(event_types):
    rendered = template_render(
        event_type="scenario.created", channel="fax", locale="en", context={**CONTEXT, "data": {"message": "Hi"}}
    )
    assert (rendered.subject, rendered.text) == ("Scenario created", "Hi")
    assert "TemplateDoesNotExist" in rendered.fallback_reason


def test_inbox_items_and_deliveries_render_through_the_templates(event_types, make_user, subscribe):
    created = event_types["scenario.created"]
    template_create(
        event_type=created, channel=Channel.IN_APP, locale="en", subject="Inbox: {{ data.name }}", body="by template"
    )
    template_create(
        event_type=created,
        channel=Channel.EMAIL,
        locale="de",
        subject="Neu: {{ data.name }} für {{ recipient.username }}",
        body="Hallo",
    )
    reader = make_user("klaus", locale="de-AT")
    subscribe(reader, created, Channel.IN_APP)
    subscribe(reader, created, Channel.EMAIL)
    event, _ = event_publish(event_type=created, data={"name": "Nightly"})
    event_fan_out(event_id=event.pk)

    item = UserNotification.objects.get(event=event)
    assert (item.title, item.body) == ("Inbox: Nightly", "by template")
    delivery = Delivery.objects.select_related("notification__user__profile", "notification__event__event_type").get(
        notification=item, channel=Channel.EMAIL
    )
    rendered = render_delivery(delivery)
    assert (rendered.subject, rendered.text) == ("Neu: Nightly für klaus", "Hallo")


def test_inbox_items_are_rendered_once_per_locale_and_follow_the_fallback(event_types, make_user, subscribe):
    created = event_types["scenario.created"]
    for locale, word in (("en", "New"), ("pt", "Novo"), ("pt-BR", "Novinho")):
        template_create(
            event_type=created, channel=Channel.IN_APP, locale=locale, subject=f"{word}: {{{{ data.name }}}}", body=word
        )
    people = {locale: make_user(locale=locale) for locale in ("en", "pt-PT", "pt_BR", "fr", "ptx")}
    for person in people.values():
        subscribe(person, created)
    event, _ = event_publish(event_type=created, data={"name": "Nightly"})
    event_fan_out(event_id=event.pk, chunk_size=2)

    titles = dict(UserNotification.objects.filter(event=event).values_list("user_id", "title"))
    assert {locale: titles[person.pk] for locale, person in people.items()} == {
        "en": "New: Nightly",
        "pt-PT": "Novo: Nightly",  # its language
        "pt_BR": "Novinho: Nightly",  # its own region
        "fr": "New: Nightly",  # the default locale
        "ptx": "New: Nightly",  # another language that merely starts alike
    }


def test_text_is_not_escaped_and_html_is(event_types):
    template_create(
        event_type=event_types["scenario.created"],
        channel=Channel.EMAIL,
        locale="en",
        subject="{{ data.name }}",
        body="{{ data.name }}",
        html="<p>{{ data.name }}</p>",
    )
    rendered = render("en", context={**CONTEXT, "data": {"name": "<b>Tom & Jerry</b>"}})
    assert (rendered.subject, rendered.text) == ("<b>Tom & Jerry</b>", "<b>Tom & Jerry</b>")
    assert rendered.html == "<p>&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;</p>"
