"""Planning pages: they render, forms go through services, bad uploads never 500."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from campaigns.models import Campaign, IndicatorSystem, Point, WorkItem

from .planning_helpers import planned, xlsx
from .test_planning_imports import OFFICE_SAMPLE


@pytest.fixture
def plan(city, personas):
    return planned(city)


def test_supervisor_pages_render(plan, personas, login, city):
    client = login(personas.supervisor)
    for url in ["/campaigns/", f"/campaigns/{plan.campaign.pk}/", f"/campaigns/{plan.campaign.pk}/ledger/",
                "/editions/", f"/editions/{plan.system.pk}/", "/points/", "/points/map/", "/point-types/",
                f"/points/{plan.point_a.pk}/", f"/work-items/{plan.item_a.pk}/", "/campaigns/new/", "/points/new/",
                f"/campaigns/{plan.campaign.pk}/work-items/new/", "/editions/import/", "/points/import/",
                f"/campaigns/{plan.campaign.pk}/ledger/import/", f"/units/{city.district_a.pk}/work-items/",
                f"/points/{plan.point_a.pk}/edit/", f"/work-items/{plan.item_a.pk}/edit/"]:
        response = client.get(url)
        assert response.status_code == 200, url


def test_map_page_works_without_tiles_and_uses_the_configured_tile_url(plan, personas, login, settings):
    client = login(personas.supervisor)
    settings.MAP_TILE_URL = ""
    page = client.get("/points/map/").content.decode()
    assert "vendor/leaflet/leaflet.js" in page and 'data-tile-url=""' in page and "春晖农贸市场" in page
    assert "<script>" not in page  # CSP: no inline scripts, the data is a JSON block
    settings.MAP_TILE_URL = "https://tiles.example.org/{z}/{x}/{y}.png"
    assert "tiles.example.org" in client.get("/points/map/").content.decode()


def test_ledger_page_filters_by_status_and_overdue(plan, personas, login):
    client = login(personas.supervisor)
    page = client.get(f"/campaigns/{plan.campaign.pk}/ledger/?overdue=true").content.decode()
    assert "B 牵头 A 配合" in page and "A 牵头</a>" not in page


def test_campaign_create_page(plan, personas, login):
    client = login(personas.supervisor)
    response = client.post("/campaigns/new/", {"name": "新创建周期", "starts_on": "2027-01-01", "ends_on": "2027-12-31",
                                                "status": "draft", "indicator_system": plan.system.pk})
    assert response.status_code == 302
    assert Campaign.objects.filter(name="新创建周期", created_by=personas.supervisor).exists()


def test_edition_import_page_imports_the_office_sample(personas, login):
    from .planning_helpers import point_types

    point_types()
    client = login(personas.supervisor)
    with OFFICE_SAMPLE.open("rb") as f:
        response = client.post("/editions/import/", {"file": f, "name": "页面导入", "layout": "auto"})
    assert response.status_code == 302
    assert IndicatorSystem.objects.get(name="页面导入").indicators.count() > 40


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_bad_edition_uploads_change_nothing_and_report_in_the_users_language(personas, login, language):
    client = login(personas.supervisor)
    client.cookies["django_language"] = language
    bad = xlsx([["编码", "上级编码", "名称", "分值"], ["1", "", "环境", "abc"], ["1.1", "7", "市容", "1"]])
    response = client.post("/editions/import/", {"file": bad, "name": "坏的", "layout": "portal"},
                           HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 400
    page = response.content.decode()
    if language == "en":
        assert "abc is not a number of points." in page and "Unknown parent indicator code 7." in page
    else:
        assert "“abc”不是有效的分值。" in page and "上级指标编码 7 不存在。" in page
    not_xlsx = SimpleUploadedFile("a.xlsx", b"plain text")
    response = client.post("/editions/import/", {"file": not_xlsx, "name": "非表格", "layout": "auto"},
                           HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 400
    assert not IndicatorSystem.objects.exists()


def test_small_point_import_runs_inline_with_row_errors(plan, personas, login, city):
    client = login(personas.supervisor)
    bad = xlsx([["点位名称", "点位类型", "属地单位"], ["x", "车站", "不存在的社区"]])
    response = client.post("/points/import/", {"file": bad})
    assert response.status_code == 400 and "不存在的社区" in response.content.decode()
    good = xlsx([["点位名称", "点位类型", "属地单位"], ["新车站", "车站", city.street_a1.code]])
    assert client.post("/points/import/", {"file": good}).status_code == 302
    assert Point.objects.filter(name="新车站").exists()


def test_work_item_page_actions(plan, personas, login):
    client = login(personas.handler_a)
    url = f"/work-items/{plan.item_a.pk}/"
    assert "报送进展" in client.get(url).content.decode()
    upload = SimpleUploadedFile("照片.jpg", b"jpegdata")
    client.post(url + "progress/", {"text": "推进中", "files": upload})
    client.post(url + "submit/", {"text": ""})
    assert WorkItem.objects.get(pk=plan.item_a.pk).status == WorkItem.Status.SUBMITTED
    assert client.post(url + "verify/", {"text": ""}).status_code == 403  # only the office verifies
    assert WorkItem.objects.get(pk=plan.item_a.pk).status == WorkItem.Status.SUBMITTED
    client = login(personas.supervisor)
    client.post(url + "verify/", {"text": "通过"})
    assert WorkItem.objects.get(pk=plan.item_a.pk).status == WorkItem.Status.VERIFIED
    with translation.override("zh-hans"):
        assert "已核验" in client.get(url).content.decode()


GARBAGE = {
    "empty": b"",
    "text": "编码,名称\n1,环境\n".encode(),
    "fake-zip": b"PK\x03\x04 definitely not a workbook",
}


@pytest.mark.parametrize("kind", ["empty", "text", "fake-zip", "title-only", "header-only", "office-no-section"])
def test_untidy_or_broken_uploads_never_500_and_change_nothing(plan, personas, login, api, kind):
    if kind in GARBAGE:
        make = lambda: SimpleUploadedFile("x.xlsx", GARBAGE[kind])  # noqa: E731
    elif kind == "title-only":
        make = lambda: xlsx([["2026年测评体系"]])  # noqa: E731
    elif kind == "header-only":
        make = lambda: xlsx([["编码", "上级编码", "名称", "分值"]])  # noqa: E731
    else:
        make = lambda: xlsx([["版块", "测评项目", "测评内容", "测评标准", "分值", "测评方法"],  # noqa: E731
                             ["", "市容", "道路", "无垃圾", "2", "实地考察"]])
    counts = (IndicatorSystem.objects.count(), Point.objects.count(), WorkItem.objects.count())
    client = login(personas.supervisor)
    for url, data in [("/editions/import/", {"name": f"坏{kind}", "layout": "auto"}), ("/points/import/", {}),
                      (f"/campaigns/{plan.campaign.pk}/ledger/import/", {})]:
        response = client.post(url, {"file": make(), **data})
        assert response.status_code == 400, (url, response.status_code)
    rest = api(personas.supervisor)
    for url, data in [("/api/v1/indicator-systems/import/", {"name": f"坏{kind}"}), ("/api/v1/points/import/", {}),
                      ("/api/v1/work-items/import/", {"campaign": plan.campaign.pk})]:
        response = rest.post(url, {"file": make(), **data}, format="multipart")
        assert response.status_code == 400, (url, response.status_code, response.content[:300])
        assert response.json()["code"] == "invalid"
    assert (IndicatorSystem.objects.count(), Point.objects.count(), WorkItem.objects.count()) == counts
