"""Browser journeys: Playwright drives Debian's Chromium (never a downloaded
browser) against a live server. Every journey records every request the
page makes and fails if any goes to a host other than the live server, fails
on any console error or uncaught page error, and fails if it takes longer
than ``JOURNEY_LIMIT`` seconds from its first page to its end."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest


SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
JOURNEY_LIMIT = 30.0  # seconds, from the first page a journey opens to its end (issue 7, acceptance 1)


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    """Evidence photos uploaded in a journey go to the test's own temporary folder."""
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread for the
    # whole session; the ORM calls tests and fixtures make meanwhile are plain
    # synchronous code, so Django's async guard is lifted while it runs.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.fail("Debian's chromium is not installed (apt-get install chromium fonts-noto-cjk)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--no-first-run", "--disable-sync"],
        )
        yield browser
        browser.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


class Journey:
    """A browser context on the live server that remembers foreign requests."""

    def __init__(self, browser, base_url: str, viewport: dict, **context_options):
        """``context_options`` go to ``browser.new_context`` (e.g. ``geolocation``,
        ``permissions``, ``locale``)."""
        self.base_url = base_url
        self.host = urlparse(base_url).netloc
        self.foreign: list[str] = []
        self.console_errors: list[str] = []
        self.started: float | None = None  # monotonic time of the first page
        options = {"locale": "zh-CN", "accept_downloads": True, **context_options}
        self.context = browser.new_context(viewport=viewport, **options)
        self.context.set_default_timeout(10_000)
        self.context.on("request", self._record)  # every page of the context, new tabs included
        self.page = self.context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text))
        self.page.on("pageerror", lambda exc: self.console_errors.append(f"uncaught: {exc}"))

    def _record(self, request):
        url = urlparse(request.url)
        if url.scheme in ("data", "blob", "about"):
            return
        if url.netloc != self.host:
            self.foreign.append(request.url)

    def goto(self, path: str):
        if self.started is None:
            self.started = time.monotonic()
        response = self.page.goto(self.base_url + path)
        assert response is not None and response.status < 400, (path, response and response.status)
        return response

    def login(self, username: str, password: str):
        self.goto("/accounts/login/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", password)
        with self.page.expect_navigation():
            self.page.click("main button[type=submit]")
        assert "/accounts/login/" not in self.page.url, "login failed"

    def screenshot(self, name: str):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def journey(request, browser, live_server):
    """``journey(viewport=DESKTOP, **context_options)`` starts a browser context.
    At the end: no foreign requests, no console errors, and the test's
    journeys took at most ``JOURNEY_LIMIT`` seconds from the first page."""
    journeys: list[Journey] = []

    def start(viewport: dict = DESKTOP, **context_options) -> Journey:
        j = Journey(browser, live_server.url, viewport, **context_options)
        journeys.append(j)
        return j

    yield start
    ended = time.monotonic()
    for j in journeys:
        j.context.close()
    starts = [j.started for j in journeys if j.started is not None]
    seconds = ended - min(starts) if starts else 0.0
    # Listed at the end of the run by tests/conftest.py (from the test's report: also under xdist).
    request.node.user_properties.append(("journey_seconds", round(seconds, 1)))
    foreign = [url for j in journeys for url in j.foreign]
    assert foreign == [], f"pages requested other hosts: {foreign}"
    errors = [e for j in journeys for e in j.console_errors]
    assert errors == [], f"console errors: {errors}"
    assert seconds <= JOURNEY_LIMIT, f"the journey took {seconds:.1f} s (limit {JOURNEY_LIMIT:.0f} s)"
