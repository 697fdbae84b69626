"""The templates API for services, and the admin's restore and preview."""

import pytest

from apps.templating.models import NotificationTemplate

pytestmark = pytest.mark.django_db

URL = "/api/v1/templates/"


@pytest.fixture
def client(api_key_client, event_types):
    return api_key_client(["templates:write"])


def create(client, **fields):
    payload = {"event_type": "scenario.created", "channel": "email", "locale": "pt_br", "subject": "S", "body": "B"}
    return client.post(URL, {**payload, **fields}, format="json")


def test_create_update_list_versions_and_delete(client):
    response = create(client)
    assert response.status_code == 201, response.content
    template = response.json()
    assert (template["locale"], template["version"]) == ("pt-BR", 1)

    response = client.put(
        f"{URL}{template['id']}/", {"subject": "S2", "body": "B2", "html": "<p>B2</p>"}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["version"], body["subject"], body["html"]) == (2, "S2", "<p>B2</p>")
    assert [v["number"] for v in body["versions"]] == [2, 1]
    assert [v["subject"] for v in client.get(f"{URL}{template['id']}/").json()["versions"]] == ["S2", "S"]
    assert [t["id"] for t in client.get(URL, {"channel": "email"}).json()["results"]] == [template["id"]]

    assert create(client).status_code == 409  # one per event type, channel and locale
    assert client.delete(f"{URL}{template['id']}/").status_code == 204
    assert not NotificationTemplate.objects.exists()


def test_a_template_that_does_not_compile_answers_400_naming_the_line(client):
    response = create(client, body="Hello\n{% for x in data.items %}\nno end")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_input" and "Line 2" in error["details"]["body"][0]
    response = create(client, html="<p>{{ data.name|nosuchfilter }}</p>")
    assert response.status_code == 400 and "Line 1" in response.json()["error"]["details"]["html"][0]
    assert not NotificationTemplate.objects.exists()


def test_bad_input_is_refused_and_identity_cannot_change(client):
    assert create(client, channel="fax").status_code == 400
    assert create(client, event_type="no.such").status_code == 400
    assert create(client, locale="not a locale").status_code == 400
    assert client.post(URL, ["a list"], format="json").status_code == 400
    template_id = create(client).json()["id"]
    response = client.put(f"{URL}{template_id}/", {"channel": "sms", "body": "x"}, format="json")
    assert response.status_code == 400 and "channel" in response.json()["error"]["details"]
    assert client.put(f"{URL}999999/", {"body": "x"}, format="json").status_code == 404


def test_email_tracking_is_set_per_template_and_left_as_is_when_a_put_omits_it(client):
    template = create(client).json()
    assert template["email_tracking"] is None  # follows the setting
    url = f"{URL}{template['id']}/"
    assert client.put(url, {"body": "B", "email_tracking": True}, format="json").json()["email_tracking"] is True
    assert client.put(url, {"body": "B2"}, format="json").json()["email_tracking"] is True
    assert client.put(url, {"body": "B3", "email_tracking": None}, format="json").json()["email_tracking"] is None
    assert create(client, locale="de", email_tracking=False).json()["email_tracking"] is False
    response = create(client, locale="fr", email_tracking="sometimes")
    assert response.status_code == 400 and "email_tracking" in response.json()["error"]["details"]
    assert NotificationTemplate.objects.get(pk=template["id"]).email_tracking is None


def test_the_scope_is_required(api_key_client, event_types):
    assert create(api_key_client(["events:write"])).status_code == 403
    reader = api_key_client(["read"])
    assert reader.get(URL).status_code == 200
    assert create(reader).status_code == 403


def test_admin_restores_a_version_and_previews(client, make_user):
    from django.test import Client

    template_id = create(client, subject="first {{ data.name }}").json()["id"]
    client.put(f"{URL}{template_id}/", {"subject": "second", "body": "B"}, format="json")
    template = NotificationTemplate.objects.get(pk=template_id)
    first = template.versions.get(number=1)

    staff = make_user("admin")
    staff.is_staff = staff.is_superuser = True
    staff.save(update_fields=["is_staff", "is_superuser"])
    browser = Client()
    browser.force_login(staff)
    restore = f"/admin/templating/notificationtemplate/{template_id}/restore/{first.pk}/"
    assert browser.get(restore).status_code == 200  # the confirmation page
    response = browser.post(restore)
    assert response.status_code == 302
    template.refresh_from_db()
    assert (template.current_version.number, template.current_version.subject) == (3, "first {{ data.name }}")

    page = browser.get(f"/admin/templating/notificationtemplate/{template_id}/preview/")
    assert page.status_code == 200 and b"first Sample" in page.content
    assert browser.get(f"/admin/templating/notificationtemplate/{template_id}/change/").status_code == 200


def test_admin_sets_email_tracking_without_a_new_version(client, admin_client):
    template_id = create(client, body="B").json()["id"]
    template = NotificationTemplate.objects.get(pk=template_id)
    change = f"/admin/templating/notificationtemplate/{template_id}/change/"
    page = admin_client.get(change)
    assert page.status_code == 200 and "As the EMAIL_TRACKING_ENABLED setting" in page.text
    # The version inline comes along as the admin's page sends it.
    versions = {
        "versions-TOTAL_FORMS": "1",
        "versions-INITIAL_FORMS": "1",
        "versions-0-id": template.current_version_id,
    }
    for choice, stored in (("True", True), ("False", False), ("", None)):
        response = admin_client.post(change, {"subject": "S", "body": "B", "email_tracking": choice, **versions})
        assert response.status_code == 302, response.content
        template.refresh_from_db()
        assert template.email_tracking is stored and template.versions.count() == 1
