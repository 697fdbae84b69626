"""The API docs (Swagger UI at /api/docs/, Redoc at /api/redoc/) work with no internet:
every script and style comes from the project's static files (drf-spectacular-sidecar),
so the browser, with everything but the loopback blocked, never even tries elsewhere."""

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_swagger_ui_lists_the_operations_with_nothing_from_outside(offline_page, live_server):
    page = offline_page.page
    response = page.goto(f"{live_server.url}/api/docs/")
    assert response.status == 200
    assert "script-src 'self';" in response.headers["content-security-policy"]

    events_post = page.locator(".opblock-post").filter(has_text="/api/v1/events/").first
    events_post.wait_for()
    assert events_post.locator(".opblock-summary-method").inner_text() == "POST"
    assert events_post.locator(".opblock-summary-path").inner_text().strip() == "/api/v1/events/"
    assert page.locator(".opblock").count() > 20
    assert page.locator(".information-container .title").inner_text().startswith("Notification service API")

    events_post.locator(".opblock-summary").click()  # expands from the loaded schema
    events_post.locator(".opblock-body").wait_for()
    offline_page.screenshot("docs-swagger")
    assert offline_page.blocked == []
    assert offline_page.csp_refusals == []  # the whole UI runs under the strict policy


def test_redoc_lists_the_operations_with_nothing_from_outside(offline_page, live_server):
    page = offline_page.page
    response = page.goto(f"{live_server.url}/api/redoc/")
    assert response.status == 200
    assert "img-src 'self' data:;" in response.headers["content-security-policy"]

    page.locator("h1").filter(has_text="Notification service API").wait_for()
    operations = page.locator("[data-section-id^='operation/'] h2")
    operations.first.wait_for()
    assert operations.count() > 20
    # An operation without a summary is titled by its operationId.
    events_post = page.locator("[data-section-id='operation/v1_events_create']")
    assert events_post.locator("h2").inner_text() == "v1_events_create"
    assert "/api/v1/events/" in events_post.inner_text() and "post" in events_post.inner_text().lower()
    offline_page.screenshot("docs-redoc")
    assert offline_page.blocked == []
    # Redoc's sidebar asks for Redocly's logo on their CDN: the policy refuses it unfetched.
    assert all("cdn.redoc.ly/redoc/logo-mini.svg" in refusal for refusal in offline_page.csp_refusals)


def test_the_blocking_counts_what_a_page_tries_elsewhere(offline_page, live_server):
    """The guard of the two tests above: a page that asks a CDN is caught."""
    page = offline_page.page
    page.goto(f"{live_server.url}/health/")
    page.evaluate("fetch('https://cdn.jsdelivr.net/npm/swagger-ui-dist@latest/swagger-ui.css').catch(() => null)")
    page.wait_for_timeout(300)
    assert offline_page.blocked == ["https://cdn.jsdelivr.net/npm/swagger-ui-dist@latest/swagger-ui.css"]
