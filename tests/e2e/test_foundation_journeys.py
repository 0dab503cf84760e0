import re

import pytest

from tests.factories import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CJK = re.compile(r"[\u3400-\u9fff]")
UI_CHROME = ("header nav a, header .usernav a, header .usernav button, main h1, main h2, main th, main label, "
             "main .btn, main button, footer")


def ui_texts(page) -> list[str]:
    return [t.strip() for t in page.locator(UI_CHROME).all_inner_texts() if t.strip()]


def test_login_tree_and_language_switch_round_trip(journey, personas, city):
    j = journey()
    j.goto("/accounts/login/")
    assert j.page.locator("main h1").inner_text() == "登录"
    j.login(personas.supervisor.username, PASSWORD)
    j.goto(f"/units/tree/?root={city.city.pk}")
    assert j.page.locator("main h1").inner_text() == "单位树"
    assert j.page.locator("table tbody tr").count() == 3

    with j.page.expect_navigation():
        j.page.click("header .langform button[value=en]")
    texts = ui_texts(j.page)
    assert texts and j.page.locator("main h1").inner_text() == "Unit tree"
    chinese = [t for t in texts if CJK.search(t)]
    # The only Chinese left is data (unit names) and the other language's own name.
    assert all(t == "简体中文" or city.city.name in t for t in chinese), chinese

    with j.page.expect_navigation():
        j.page.click("header .langform button[value=zh-hans]")
    assert j.page.locator("main h1").inner_text() == "单位树"


def test_api_docs_render_from_local_assets(journey, personas):
    j = journey()
    j.login(personas.supervisor.username, PASSWORD)
    j.goto("/api/v1/docs/")
    j.page.wait_for_selector(".swagger-ui .information-container", timeout=15_000)
    assert "civportal API" in j.page.inner_text(".swagger-ui .information-container")
    assert j.console_errors == []
