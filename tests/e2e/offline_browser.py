"""Headless Chromium for the browser tests: launched as tests/e2e/test_inbox_browser.py
does it, with every request that leaves the machine blocked and counted."""

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.db import connections

from ..worker import ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = ROOT / ".pytest_cache" / "screenshots"
LOOPBACK_HOSTS = {"127.0.0.1", "localhost"}


class OfflinePage:
    """A page whose requests to any host but the loopback are aborted, and remembered."""

    def __init__(self, page):
        self.page = page
        self.blocked: list[str] = []
        # What the page's Content-Security-Policy refused (the browser reports it on the console).
        self.csp_refusals: list[str] = []
        page.route("**/*", self._route)
        page.on("console", self._console)

    def _console(self, message):
        if "Content Security Policy" in message.text:
            self.csp_refusals.append(message.text)

    def _route(self, route):
        url = route.request.url
        scheme, host = urlsplit(url).scheme, urlsplit(url).hostname
        if scheme in ("data", "blob") or host in LOOPBACK_HOSTS:
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        print(f"screenshot: {path}")
        return path


@pytest.fixture
def offline_page(monkeypatch):
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls between
    # browser steps are ordinary blocking calls.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    connections.close_all()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.set_default_timeout(20_000)
            yield OfflinePage(page)
        finally:
            browser.close()
            connections.close_all()
