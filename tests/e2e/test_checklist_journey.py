"""Issue 18: the checklist at a visit on a phone — the inspector judges the 农贸市场 criteria, one 不达标 with
a photo, and the finding arrives linked to its criterion; the page fits the phone's width."""

from types import SimpleNamespace

import pytest

from inspections import services
from inspections.models import Finding, VisitCheck
from tests.factories import PASSWORD
from tests.inspections.checks_helpers import edition

from . import seed
from .conftest import PHONE

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_inspector_fills_a_checklist_on_a_phone(journey, city, personas, tmp_path):
    w = seed.world(city, personas)
    ed = edition(SimpleNamespace(point_type=w.points.market.point_type, campaign=w.campaign))
    visit = services.visit_create(actor=personas.inspector, inspection=w.inspection, point=w.points.market)
    picture = seed.photo_file(tmp_path, "摊位.jpg", colour=(120, 90, 60))
    j = journey(PHONE)
    j.login(personas.inspector.username, PASSWORD)
    j.goto(f"/visits/{visit.pk}/checks/")
    main = j.page.locator("main")
    assert main.locator("fieldset.check").count() == len(ed.market_codes)
    assert j.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    failed = main.locator(f"#check-{ed.by_code['1.1.1.2'].pk}")
    failed.get_by_label("不达标", exact=True).check()
    failed.get_by_label("备注").fill("部分摊位越线经营")
    failed.get_by_label("类别").select_option(str(w.categories["GGZX-02"].pk))
    failed.get_by_label("照片").set_input_files(str(picture))
    for code in ("1.1.1.1", "1.1.1.3", "2.1.1.1"):
        main.locator(f"#check-{ed.by_code[code].pk}").get_by_label("达标", exact=True).check()
    j.screenshot("checklist-phone")
    with j.page.expect_navigation():
        main.get_by_role("button", name="保存检查表").click()
    assert "检查表已保存" in j.page.locator("body").inner_text()
    finding = Finding.objects.get(visit=visit)
    assert finding.indicator_id == ed.by_code["1.1.1.2"].pk and finding.photos.count() == 1
    assert finding.description == "部分摊位越线经营"
    assert VisitCheck.objects.filter(visit=visit, result="met").count() == 3
