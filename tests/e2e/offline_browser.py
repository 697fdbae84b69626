"""A browser page with every request that leaves the machine blocked and counted (the
`offline_page` fixture of tests/e2e/conftest.py)."""

from pathlib import Path
from urllib.parse import urlsplit

from ..worker import ROOT

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
