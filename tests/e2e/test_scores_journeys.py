"""Journey (5) of issue 7: the office computes October, recomputes it,
publishes it, reads the bulletin and downloads it as xlsx; the spreadsheet's
units and ranks are the database's."""

import re
from decimal import Decimal

import pytest
from django.utils import translation
from openpyxl import load_workbook

from campaigns.models import Unit
from scores.models import MonthlyScore, ScoreMonth
from scores.views import bulletin_headers
from tests.factories import PASSWORD
from tests.scores import example
from tests.scores.helpers import OCT

from . import seed
from .conftest import DESKTOP

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _click(page, scope, name: str):
    with page.expect_navigation():
        scope.get_by_role("button", name=name, exact=True).click()


def test_supervisor_computes_publishes_and_downloads_the_bulletin(journey, city, personas, tmp_path):
    seed.name_personas(personas)
    ex = example.build(city, personas)  # the worked example of docs/scores.md: October 2026, nine units scored, eight ranked
    ex.campaign.name = "2026年度全国文明城市创建"
    ex.campaign.save(update_fields=["name"])

    j = journey(DESKTOP)
    j.login(personas.supervisor.username, PASSWORD)
    j.goto("/scores/")
    main = j.page.locator("main")
    assert main.get_by_role("heading", level=1).inner_text() == "文明指数排名"

    compute = main.locator("form").filter(has=j.page.get_by_role("button", name="计算", exact=True))
    compute.get_by_label("月份").fill("2026-10")
    _click(j.page, compute, "计算")
    assert re.search(r"[?&](month|period)=2026-10", j.page.url), j.page.url
    assert main.locator(".msg-success").count() == 1
    month = ScoreMonth.objects.get(campaign=ex.campaign, month=OCT)
    assert month.status == ScoreMonth.Status.DRAFT and month.computed_by == personas.supervisor
    first_computed = month.computed_at
    assert main.locator(".badge", has_text="草稿").count() == 1

    _click(j.page, main, "重新计算")
    month.refresh_from_db()
    assert month.status == ScoreMonth.Status.DRAFT and month.computed_at > first_computed

    _click(j.page, main, "发布")
    month.refresh_from_db()
    assert month.status == ScoreMonth.Status.PUBLISHED and month.published_by == personas.supervisor
    # Published: no more recompute or publish buttons.
    assert main.get_by_role("button", name="重新计算").count() == 0
    assert main.get_by_role("button", name="发布").count() == 0
    districts = [r.unit.name for r in MonthlyScore.objects.filter(campaign=ex.campaign, month=OCT, kind="district")
                 .select_related("unit").order_by("rank")]
    assert main.locator("tbody tr td:nth-child(2) > a:first-child").all_inner_texts() == districts  # the first peer group

    with j.page.expect_navigation():
        main.get_by_role("link", name="通报", exact=True).click()
    assert "/scores/bulletin/" in j.page.url
    bulletin = main.locator("article.bulletin")
    assert "2026年10月" in bulletin.get_by_role("heading", level=1).inner_text()
    assert "草稿" not in bulletin.inner_text()

    ranked = list(MonthlyScore.objects.filter(campaign=ex.campaign, month=OCT, rank__isnull=False)
                  .select_related("unit"))
    assert len(ranked) == 8  # 市交警支队 has tasks but no visits: scored, not ranked
    shown = {(row.get_attribute("data-unit"), int(row.locator("td").first.inner_text()))
             for row in bulletin.locator("tbody tr").all()}
    assert shown == {(r.unit.code, r.rank) for r in ranked}
    red = bulletin.get_by_role("heading", name="红榜").locator("xpath=following-sibling::p[1]").inner_text()
    black = bulletin.get_by_role("heading", name="黑榜").locator("xpath=following-sibling::p[1]").inner_text()
    assert "湖滨街道（100.00）" in red and "江北街道（64.50）" in black
    j.screenshot("bulletin")

    with j.page.expect_download() as info:
        main.get_by_role("link", name="导出 xlsx").click()
    download = info.value
    assert download.suggested_filename == "bulletin-2026-10.xlsx"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    sheet = load_workbook(path, read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    with translation.override("zh-hans"):
        assert list(rows[0]) == [str(h) for h in bulletin_headers()]
        street = str(Unit.Kind.STREET.label)
    got = [(code, name, rank, Decimal(str(total)).quantize(Decimal("0.01"))) for _g, rank, code, name, total, *_ in rows[1:]]
    want = {(r.unit.code, r.unit.name, r.rank, r.total) for r in ranked}
    assert len(got) == len(want) and set(got) == want
    streets_in_sheet = [(code, rank) for group, rank, code, *_ in rows[1:] if group == street]
    assert streets_in_sheet == [("C-A-2", 1), ("C-A-1", 2), ("C-B-1", 3), ("C-B-2", 4)]
