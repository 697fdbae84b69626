"""The admin's "restore version", attacked as a forged cross-site request would: a GET
(an <img> tag, a link scanner) and a POST without the CSRF token change nothing; only
the confirmation form's POST restores. Against a live server with a signed-in staff
browser (requests), and through Django's client with CSRF checks on."""

import pytest
from django.test import Client

from apps.templating.models import NotificationTemplate, TemplateVersion
from apps.templating.services import template_create, template_update

from .signing_in import admin_signed_in, form_token

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def template(event_types):
    template = template_create(
        event_type=event_types["scenario.created"], channel="email", locale="en", subject="first", body="one"
    )
    template_update(template=template, subject="second", body="two")
    return NotificationTemplate.objects.get(pk=template.pk)


@pytest.fixture
def staff(make_user):
    user = make_user("ops")
    user.is_staff = user.is_superuser = True
    user.save(update_fields=["is_staff", "is_superuser"])
    return user


def restore_path(template) -> str:
    first = template.versions.get(number=1)
    return f"/admin/templating/notificationtemplate/{template.pk}/restore/{first.pk}/"


def versions(template) -> tuple:
    """(current version number, its subject), number of versions."""
    template.refresh_from_db()
    return (template.current_version.number, template.current_version.subject), TemplateVersion.objects.count()


def test_get_shows_a_confirmation_and_changes_nothing(live_server, template, staff):
    browser = admin_signed_in(live_server, staff)
    before = versions(template)
    page = browser.get(live_server.url + restore_path(template), allow_redirects=False)
    assert page.status_code == 200
    assert 'method="post"' in page.text and "csrfmiddlewaretoken" in page.text
    assert versions(template) == before == ((2, "second"), 2)


def test_post_without_the_token_is_refused(live_server, template, staff):
    browser = admin_signed_in(live_server, staff)
    url = live_server.url + restore_path(template)
    # The session cookie goes along, as it would from a forging page; the token cannot.
    refused = browser.post(url, data={}, headers={"Referer": url}, allow_redirects=False)
    assert refused.status_code == 403
    forged_token = browser.post(url, data={"csrfmiddlewaretoken": "x" * 64}, headers={"Referer": url})
    assert forged_token.status_code == 403
    assert versions(template) == ((2, "second"), 2)


def test_post_with_the_token_from_another_origin_is_refused(live_server, template, staff):
    browser = admin_signed_in(live_server, staff)
    url = live_server.url + restore_path(template)
    token = form_token(browser.get(url).text)
    response = browser.post(
        url, data={"csrfmiddlewaretoken": token}, headers={"Origin": "https://evil.example"}, allow_redirects=False
    )
    assert response.status_code == 403
    assert versions(template) == ((2, "second"), 2)


def test_the_confirmation_forms_post_restores(live_server, template, staff):
    browser = admin_signed_in(live_server, staff)
    url = live_server.url + restore_path(template)
    token = form_token(browser.get(url).text)
    response = browser.post(url, data={"csrfmiddlewaretoken": token}, headers={"Referer": url}, allow_redirects=False)
    assert response.status_code == 302
    assert versions(template) == ((3, "first"), 3)


def test_django_client_with_csrf_checks(template, staff):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    path = restore_path(template)
    assert client.get(path).status_code == 200
    assert client.post(path).status_code == 403
    assert versions(template) == ((2, "second"), 2)
    token = form_token(client.get(path).content.decode())
    assert client.post(path, {"csrfmiddlewaretoken": token}).status_code == 302
    assert versions(template) == ((3, "first"), 3)
