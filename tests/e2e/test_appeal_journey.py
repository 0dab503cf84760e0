"""Issue 17, acceptance 3 (browser): a unit head, on a phone, appeals a finding
of the draft month with a reason and an attachment and sees it pending; the
campaign office accepts it at a desk; the head sees the result. The appeal
pages fit 390 px. The screenshots illustrate the help pages (static/help/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from inspections.models import Finding
from scores import services
from scores.models import Appeal, MonthlyScore
from tests.factories import PASSWORD
from tests.scores import helpers as h
from tests.scores.helpers import OCT, at

from . import seed
from .conftest import DESKTOP, PHONE

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

HELP_SHOTS = Path(__file__).resolve().parents[2] / "static" / "help"
NO_OVERFLOW = "document.documentElement.scrollWidth <= window.innerWidth"


def shot(j, name: str) -> None:
    """A screen-sized screenshot for the help pages."""
    HELP_SHOTS.mkdir(parents=True, exist_ok=True)
    j.page.screenshot(path=str(HELP_SHOTS / name))


def fits(j, what: str) -> None:
    width = j.page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert j.page.evaluate(NO_OVERFLOW), (what, width)


def test_a_head_appeals_on_a_phone_and_the_office_accepts(journey, city, personas):
    seed.name_personas(personas)
    camp = h.campaign(name="2026年度全国文明城市创建")
    street = h.point_type("T1", "背街小巷", 1)
    cat = h.category("C1", "垃圾乱堆乱放", 10)
    visit = h.visit(h.inspection(camp, city.city), h.point(city.street_a1, street, name="人民路背街"), at(10, 12))
    finding = h.finding(camp, cat, "moderate", visit_=visit)
    services.scores_recompute(actor=personas.supervisor, campaign=camp, month=OCT)
    services.score_month_open_review(actor=personas.supervisor, campaign=camp, month=OCT)
    score = MonthlyScore.objects.get(campaign=camp, unit=city.district_a, month=OCT)

    head = journey(PHONE)
    head.login(personas.head_a.username, PASSWORD)
    head.goto(f"/scores/{score.pk}/")
    fits(head, "score page")
    form = head.page.locator("#appeal-form")
    form.locator("[name=target]").select_option("finding")
    form.locator("[name=object_id]").fill(str(finding.pk))
    form.locator("[name=reason]").fill("该处垃圾为当晚临时堆放，次日清晨已清运，附清运记录。")
    form.locator("input[type=file]").set_input_files(
        files=[{"name": "清运记录.jpg", "mimeType": "image/jpeg", "buffer": seed.photo_bytes()}])
    form.locator("[name=reason]").scroll_into_view_if_needed()
    shot(head, "head-appeal.png")
    with head.page.expect_navigation():
        form.get_by_role("button", name="提交申诉").click()
    main = head.page.locator("main")
    assert main.locator(".msg-success").inner_text() == "申诉已提交创城办。"
    appeal = Appeal.objects.get()
    assert (appeal.unit, appeal.finding, appeal.status) == (city.district_a, finding, Appeal.Status.OPEN)
    assert appeal.attachments.get().original_name == "清运记录.jpg"
    appeals = main.locator("#appeals")
    assert "待处理 1 件" in appeals.locator("[data-appeal-counts]").inner_text()
    assert "待处理" in appeals.locator("li").first.inner_text()
    fits(head, "score page after appealing")
    head.goto("/scores/appeals/")
    assert f"#{appeal.pk}" in head.page.locator("main table").inner_text()
    fits(head, "appeals list")

    office = journey(DESKTOP)
    office.login(personas.supervisor.username, PASSWORD)
    office.goto(f"/scores/appeals/?campaign={camp.pk}&month=2026-10&status=open")
    row = office.page.locator("main tbody tr", has_text=f"#{appeal.pk}")
    assert "清运记录.jpg" in row.inner_text()
    accept = row.locator("form", has=office.page.get_by_role("button", name="采纳"))
    accept.locator("[name=note]").fill("核实属实，当晚已清运")
    shot(office, "supervisor-appeals.png")
    with office.page.expect_navigation():
        accept.get_by_role("button", name="采纳").click()
    assert office.page.locator("main .msg-success").count() == 1
    appeal.refresh_from_db()
    assert (appeal.status, appeal.resolution, appeal.decided_by) == ("accepted", "void", personas.supervisor)
    assert Finding.objects.get(pk=finding.pk).status == Finding.Status.VOID

    head.goto(f"/scores/{score.pk}/")
    item = head.page.locator("#appeals li").first
    assert "已采纳" in item.inner_text() and "核实属实" in item.inner_text()
    assert "已采纳 1 件" in head.page.locator("[data-appeal-counts]").inner_text()
    fits(head, "score page with the decision")
    head.page.locator("#appeals").scroll_into_view_if_needed()
    shot(head, "head-appeal-result.png")
    head.goto("/")
    assert head.page.locator(".bell-count").count() == 1  # the decision is in the head's inbox
