"""At phone width (390 px): the home workbench, the finding form, the
volunteer's report form and a task's actions fit the screen, every field has a label, and the grouped menu opens
and is followed with the keyboard alone."""

from __future__ import annotations

import time

import pytest

from tests.factories import PASSWORD, UserFactory
from tests.inspections.helpers import dispatched, world
from tests.volunteers.conftest import make_volunteer

from .conftest import PHONE

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NO_OVERFLOW = "document.documentElement.scrollWidth <= window.innerWidth"
UNLABELLED = """() => Array.from(document.querySelectorAll('main input, main select, main textarea'))
  .filter(el => el.type !== 'hidden' && !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
  .map(el => el.name || el.id)"""
TARGETS = ("main .btn, main button, header summary, header .usernav a, header .usernav button, "
           "main input:not([type=hidden]), main select")
SMALL_TARGETS = """() => Array.from(document.querySelectorAll('""" + TARGETS + """'))
  .filter(el => el.offsetParent !== null && el.getBoundingClientRect().height < 40)
  .map(el => el.outerHTML.slice(0, 80))"""


def fits(j, what):
    assert j.page.evaluate(NO_OVERFLOW), (what, j.page.evaluate("[document.documentElement.scrollWidth, innerWidth]"))
    assert j.page.evaluate(UNLABELLED) == [], what
    assert j.page.evaluate(SMALL_TARGETS) == [], what


def tab_to(page, selector, limit=12):
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_phone_layout_and_keyboard_menu(journey, city, personas):
    started = time.monotonic()
    w = world(city, personas)
    task = dispatched(w, personas)  # assigned to community A1: handler A's to accept

    inspector = journey(PHONE)
    inspector.login(personas.inspector.username, PASSWORD)
    inspector.goto(f"/findings/new/?visit={w.visit_a.pk}")
    fits(inspector, "finding form")
    inspector.screenshot("layout-phone-finding-form")

    volunteer = make_volunteer(city.community_a1, user=UserFactory(username="v_phone"))
    street = journey(PHONE)
    street.login(volunteer.user.username, PASSWORD)
    street.goto("/my-reports/new/")
    fits(street, "volunteer report form")

    j = journey(PHONE)
    j.login(personas.handler_a.username, PASSWORD)
    page = j.page
    assert page.url.rstrip("/") == j.base_url
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    fits(j, "home")
    # The menu is collapsed behind its button; the bell and logout stay in sight.
    assert not page.locator(".mainnav").is_visible()
    assert page.locator("header .bell").is_visible() and page.locator("header .usernav button[type=submit]").last.is_visible()
    assert page.locator(".wb-due_today .wb-count").inner_text() == "0"
    assert page.locator(".wb-awaiting .wb-count").inner_text() == "1"
    j.screenshot("layout-phone-home")

    # Keyboard only: Tab to the menu button, Enter opens it, Tab to the first group, Enter, Tab, Enter follows.
    page.locator("body").focus()
    tab_to(page, ".menu-btn")
    page.keyboard.press("Enter")
    assert page.locator(".mainnav").is_visible()
    tab_to(page, ".navgroup[data-group=loop] > summary")
    page.keyboard.press("Enter")
    assert page.locator(".navgroup[data-group=loop] .navmenu").is_visible()
    j.screenshot("layout-phone-menu")
    page.keyboard.press("Escape")
    assert not page.locator(".navgroup[data-group=loop] .navmenu").is_visible()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('href')") == "/workbench/"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/workbench/")
    fits(j, "workbench")
    j.screenshot("layout-phone-workbench")

    j.goto(f"/tasks/{task.pk}/")
    fits(j, "task detail")
    assert page.locator("button", has_text="签收任务").is_visible()
    j.screenshot("layout-phone-task-detail")

    assert j.console_errors == inspector.console_errors == street.console_errors == []
    assert time.monotonic() - started < 30
