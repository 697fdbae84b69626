"""Headless Chromium for every browser test: one launch (arguments, and the rule that a
missing browser skips locally and fails on CI), with the pages the tests drive built on it."""

import os
from pathlib import Path

import pytest
from django.db import connections

from .offline_browser import OfflinePage

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


@pytest.fixture
def chromium(monkeypatch):
    """The launched browser; closed, with the database connections, after the test."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls
    # are ordinary blocking calls between browser steps.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    # Django keeps a connection per context and the browser's loop makes a new context:
    # close the connections of both, or one stays open past the database teardown.
    connections.close_all()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
            connections.close_all()


def page_open(browser, *, width: int, height: int):
    page = browser.new_page(viewport={"width": width, "height": height})
    page.set_default_timeout(20_000)
    return page


@pytest.fixture
def browser_page(chromium):
    return page_open(chromium, width=1000, height=700)


@pytest.fixture
def offline_page(chromium):
    """A page whose requests to any host but the loopback are aborted and counted."""
    return OfflinePage(page_open(chromium, width=1200, height=900))
