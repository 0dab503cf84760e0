"""Browser journeys: Playwright drives Debian's Chromium (never a downloaded
browser) against a live server. Every journey records every request the
page makes and fails if any goes to a host other than the live server."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import urlparse

import pytest


SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}


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

    def __init__(self, browser, base_url: str, viewport: dict):
        self.base_url = base_url
        self.host = urlparse(base_url).netloc
        self.foreign: list[str] = []
        self.console_errors: list[str] = []
        self.context = browser.new_context(viewport=viewport, locale="zh-CN", accept_downloads=True)
        self.context.set_default_timeout(10_000)
        self.page = self.context.new_page()
        self.page.on("request", self._record)
        self.page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text))

    def _record(self, request):
        url = urlparse(request.url)
        if url.scheme in ("data", "blob", "about"):
            return
        if url.netloc != self.host:
            self.foreign.append(request.url)

    def goto(self, path: str):
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
def journey(browser, live_server):
    journeys: list[Journey] = []

    def start(viewport: dict = DESKTOP) -> Journey:
        j = Journey(browser, live_server.url, viewport)
        journeys.append(j)
        return j

    yield start
    for j in journeys:
        j.context.close()
    foreign = [url for j in journeys for url in j.foreign]
    assert foreign == [], f"pages requested other hosts: {foreign}"
