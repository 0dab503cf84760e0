"""Issue 17's remaining pages: a unit's record (单位档案) showing the annual
report's data with its xlsx, the accountability records list (问责记录) with
filters and an xlsx that matches it, and the office's 曝光台 page with its
actions and an xlsx that matches it. Each page is scoped and its query count
pinned and independent of the number of rows."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from campaigns.models import Membership
from scores import services
from scores.models import AccountabilityRecord, Appeal, Exposure, MonthlyScore
from tests.factories import make_member
from tests.inspections.helpers import finding, world

from .helpers import OCT
from .test_accountability import NOV, year  # noqa: F401 (the fixture: two published months, B1 black twice)

pytestmark = pytest.mark.django_db


def _rows(response) -> list[list]:
    assert response.status_code == 200, response.content[:300]
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True).worksheets[0]
    return [list(r) for r in sheet.iter_rows(values_only=True)]


def _queries(client, url, params=None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200, response.content[:300]
    return len(ctx.captured_queries)


def _record(unit, actor, day, kind="criticism", **kw) -> AccountabilityRecord:
    return services.accountability_record_create(actor=actor, unit=unit, kind=kind, decided_on=day,
                                                 decision_maker="市创城办", document_number=f"明创〔2026〕{day.day}号",
                                                 **kw)


# --- 单位档案 -------------------------------------------------------------------------------------


def test_the_unit_record_shows_the_annual_reports_months_lists_appeals_and_records(login, api, personas, city,
                                                                                    year):  # noqa: F811
    camp, task = year
    nov = MonthlyScore.objects.get(campaign=camp, unit=city.street_b1, month=NOV)
    record = _record(city.street_b1, personas.supervisor, dt.date(2026, 12, 3), kind="interview", score=nov)
    appeal = Appeal.objects.create(campaign=camp, unit=city.street_b1, month=OCT, score_month=nov.score_month,
                                   target="task", task=task, reason="r", status="rejected",
                                   submitted_by=personas.supervisor)
    client = login(personas.supervisor)
    url = f"/scores/units/{city.street_b1.pk}/record/"
    response = client.get(url, {"campaign": camp.pk, "year": 2026})
    assert response.status_code == 200
    report = api(personas.supervisor).get("/api/v1/annual-reports/", {
        "campaign": camp.pk, "year": 2026, "unit": city.street_b1.pk}).json()
    # The page renders the service's report: the same as the API's JSON.
    assert response.context["report"] == report
    page = response.content.decode()
    for m in report["months"]:
        assert f'data-month="{m["month"]}"' in page and f'/scores/{m["score"]}/' in page
    assert [m["month"] for m in response.context["listed"]] == ["2026-10", "2026-11"]
    assert page.count("badge list-black") == 4  # two months in the table and in the lists box
    assert f"#{appeal.pk}" in page and "约谈" in page and record.document_number in page
    assert f'href="?campaign={camp.pk}&amp;year=2026&amp;format=xlsx"' in page
    # The xlsx link gives the annual report's workbook.
    sheet = _rows(client.get(url, {"campaign": camp.pk, "year": 2026, "format": "xlsx"}))
    assert [r[1] for r in sheet[1:]] == ["2026-10", "2026-11"] and sheet[1][5] == "black"


def test_the_score_and_ranking_pages_link_to_the_unit_record(login, personas, city, year):  # noqa: F811
    camp, _task = year
    score = MonthlyScore.objects.get(campaign=camp, unit=city.street_b1, month=NOV)
    client = login(personas.head_a)
    link = f"/scores/units/{city.street_b1.pk}/record/?campaign={camp.pk}&amp;year=2026"
    assert link in client.get(f"/scores/{score.pk}/").content.decode()
    ranking = client.get("/scores/", {"campaign": camp.pk, "month": "2026-11", "kind": "street"}).content.decode()
    assert link in ranking


def test_the_unit_record_is_scoped_and_refuses_bad_input(login, personas, city, year):  # noqa: F811
    camp, _task = year
    client = login(personas.handler_a)
    assert client.get(f"/scores/units/{city.street_b1.pk}/record/", {"campaign": camp.pk}).status_code == 404
    assert client.get(f"/scores/units/{city.street_a1.pk}/record/", {"campaign": camp.pk}).status_code == 200
    for bad in ({"campaign": "x"}, {"campaign": camp.pk, "year": "1999"}, {"campaign": camp.pk, "year": "２０２６"},
                {"campaign": "9" * 30}):
        assert client.get(f"/scores/units/{city.street_a1.pk}/record/", bad).status_code == 404, bad
    assert login(personas.outsider).get(f"/scores/units/{city.street_a1.pk}/record/").status_code == 403


def test_the_unit_record_query_count_is_pinned(login, personas, city, year):  # noqa: F811
    camp, task = year
    client = login(personas.supervisor)
    url = f"/scores/units/{city.street_b1.pk}/record/"
    small = _queries(client, url, {"campaign": camp.pk, "year": 2026})
    nov = MonthlyScore.objects.get(campaign=camp, unit=city.street_b1, month=NOV)
    for day in range(1, 9):
        _record(city.street_b1, personas.supervisor, dt.date(2026, 12, day))
        Appeal.objects.create(campaign=camp, unit=city.street_b1, month=NOV, score_month=nov.score_month,
                              target="task", task=task, reason="r", status="rejected",
                              submitted_by=personas.supervisor)
    large = _queries(client, url, {"campaign": camp.pk, "year": 2026})
    # session, user, scope memberships, unit, campaign, months, appeals, records, campaign list, bell, notices
    assert small == large <= 12, (small, large)


# --- 问责记录 -------------------------------------------------------------------------------------


@pytest.fixture
def records(city, personas):
    sup = personas.supervisor
    return {
        "a1_oct": _record(city.street_a1, sup, dt.date(2026, 10, 9), kind="criticism"),
        "a1_nov": _record(city.community_a1, sup, dt.date(2026, 11, 4), kind="interview"),
        "a_dec": _record(city.district_a, sup, dt.date(2026, 12, 1), kind="accountability"),
        "b1_nov": _record(city.street_b1, sup, dt.date(2026, 11, 20), kind="interview"),
        "a1_2025": _record(city.street_a1, sup, dt.date(2025, 11, 4), kind="interview"),
    }


def _ids(response) -> list[int]:
    return [r.pk for r in response.context["page"]]


def test_records_are_filtered_by_subtree_year_month_and_kind_and_the_xlsx_matches(login, personas, city, records):
    client = login(personas.supervisor)
    params = {"within": city.street_a1.code, "year": "2026"}
    response = client.get("/scores/accountability/", params)
    assert _ids(response) == [records["a1_nov"].pk, records["a1_oct"].pk]
    sheet = _rows(client.get("/scores/accountability/", {**params, "format": "xlsx"}))
    assert [r[0] for r in sheet[1:]] == _ids(response)
    assert sheet[1][2] == "春晖社区" and sheet[1][3] == "约谈（interview）" or "约谈" in sheet[1][3]
    assert _ids(client.get("/scores/accountability/", {"month": "2026-11"})) == [records["b1_nov"].pk,
                                                                                  records["a1_nov"].pk]
    kind = {"kind": "interview", "within": city.district_a.pk}
    assert _ids(client.get("/scores/accountability/", kind)) == [records["a1_nov"].pk, records["a1_2025"].pk]
    assert [r[0] for r in _rows(client.get("/scores/accountability/", {**kind, "format": "xlsx"}))[1:]] == [
        records["a1_nov"].pk, records["a1_2025"].pk]
    # A bad filter shows its error and no rows, never a 500 or the full list.
    bad = client.get("/scores/accountability/", {"year": "99999", "month": "2026-13"})
    assert bad.status_code == 200 and _ids(bad) == [] and bad.context["filter"].errors


def test_records_are_scoped_and_out_of_scope_units_are_refused(login, api, personas, city, records):
    client = login(personas.head_a)
    assert set(_ids(client.get("/scores/accountability/"))) == {
        records[k].pk for k in ("a1_oct", "a1_nov", "a_dec", "a1_2025")}
    sheet = _rows(client.get("/scores/accountability/", {"format": "xlsx"}))
    assert records["b1_nov"].pk not in [r[0] for r in sheet[1:]] and len(sheet) == 5
    assert _ids(client.get("/scores/accountability/", {"within": city.street_b1.pk})) == []
    assert api(personas.head_a).get("/api/v1/accountability-records/", {"within": city.street_b1.pk}).status_code \
        == 400
    assert login(personas.handler_a).get("/scores/accountability/").status_code == 403


def test_the_office_records_a_measure_on_the_page(login, personas, city):
    client = login(personas.supervisor)
    response = client.post("/scores/accountability/", {
        "unit": city.street_b1.code, "kind": "written_review", "decided_on": "2026-12-02",
        "decision_maker": "市创城办", "document_number": "明创〔2026〕30号", "note": "连续两月上黑榜"})
    assert response.status_code == 302
    record = AccountabilityRecord.objects.get()
    assert (record.unit, record.kind, record.created_by) == (city.street_b1, "written_review", personas.supervisor)
    assert record.history.count() == 1
    # Bad input: a clear error, nothing saved.
    response = client.post("/scores/accountability/", {"unit": "no-such-unit", "kind": "x", "decided_on": "soon"})
    assert response.status_code == 200 and AccountabilityRecord.objects.count() == 1
    assert response.context["form"].errors.keys() >= {"unit", "kind", "decided_on", "decision_maker"}
    # A head reads the list but may not record.
    head = login(personas.head_a)
    assert head.get("/scores/accountability/").context["form"] is None
    assert head.post("/scores/accountability/", {"unit": city.district_a.pk}).status_code == 403


def test_the_records_page_query_count_does_not_grow(login, personas, city, records):
    client = login(personas.supervisor)
    small = _queries(client, "/scores/accountability/", {"per_page": 1})
    for day in range(1, 20):
        _record(city.street_a1, personas.supervisor, dt.date(2026, 9, day))
    large = _queries(client, "/scores/accountability/", {"per_page": 50})
    assert small == large <= 8, (small, large)


# --- 曝光台管理 -----------------------------------------------------------------------------------


@pytest.fixture
def w(city, personas, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    w = world(city, personas)
    w.fa = finding(w, personas, severity="severe", description="菜场门口污水横流")
    w.fb = finding(w, personas, visit=w.visit_b, description="解放路垃圾")
    w.fc = finding(w, personas, description="已撤下")
    return w


def _state(client, state, **extra):
    return client.get("/scores/exposures/", {"state": state, **extra})


def test_the_office_exposes_confirms_and_withdraws_on_the_page(login, personas, w):
    client = login(personas.supervisor)
    response = client.post("/scores/exposures/", {"finding": w.fa.pk, "note": "逾期未整改"})
    assert response.status_code == 302 and response["Location"].endswith("?state=pending")
    exposure = Exposure.objects.get(finding=w.fa)
    assert not exposure.is_public
    pending = _state(client, "pending")
    assert _ids(pending) == [exposure.pk]
    page = pending.content.decode()
    assert f'/photos/finding/{w.fa.photos.get().pk}/thumb/' in page and "逾期未整改" in page
    assert _ids(_state(client, "public")) == []
    client.post(f"/scores/exposures/{exposure.pk}/confirm/", {"state": "pending"})
    assert Exposure.objects.get(pk=exposure.pk).is_public and _ids(_state(client, "public")) == [exposure.pk]
    # Withdrawing needs a reason: without one nothing changes.
    client.post(f"/scores/exposures/{exposure.pk}/withdraw/", {"reason": " "})
    assert Exposure.objects.get(pk=exposure.pk).withdrawn_at is None
    client.post(f"/scores/exposures/{exposure.pk}/withdraw/", {"reason": "已整改到位"})
    assert _ids(_state(client, "withdrawn")) == [exposure.pk] and _ids(_state(client, "public")) == []
    assert Exposure.objects.get(pk=exposure.pk).history.count() == 3
    # A second active exposure of one finding is refused with a message; unknown findings too.
    client.post("/scores/exposures/", {"finding": w.fb.pk, "photos_reviewed": "on"})
    again = client.post("/scores/exposures/", {"finding": w.fb.pk})
    assert again.status_code == 200 and again.context["form"].non_field_errors()
    assert client.post("/scores/exposures/", {"finding": 10**12}).context["form"].errors["finding"]
    assert Exposure.objects.count() == 2
    assert client.post(f"/scores/exposures/{exposure.pk}/explode/").status_code == 404


def test_the_exposure_xlsx_matches_each_state_of_the_page(login, personas, w):
    sup = personas.supervisor
    pending = services.exposure_create(actor=sup, finding=w.fa)
    public = services.exposure_create(actor=sup, finding=w.fb, photos_reviewed=True)
    withdrawn = services.exposure_create(actor=sup, finding=w.fc)
    services.exposure_withdraw(actor=sup, exposure=withdrawn, reason="重复")
    client = login(sup)
    for state, expected in (("pending", pending), ("public", public), ("withdrawn", withdrawn)):
        response = _state(client, state)
        assert _ids(response) == [expected.pk], state
        sheet = _rows(_state(client, state, format="xlsx"))
        assert [r[0] for r in sheet[1:]] == _ids(response), state
        assert sheet[1][1] == expected.finding_id
    row = _rows(_state(client, "public", format="xlsx"))[1]
    assert row[4] == "解放街道" and row[5] == "解放路菜场" and row[8] == 1


def test_the_exposure_page_is_scoped_to_the_supervisors_subtree(login, personas, city, w):
    services.exposure_create(actor=personas.supervisor, finding=w.fa)
    b = services.exposure_create(actor=personas.supervisor, finding=w.fb)
    district_b_office = make_member(city.district_b, Membership.Role.SUPERVISOR, "p_sup_b")
    client = login(district_b_office)
    assert _ids(_state(client, "pending")) == [b.pk]
    assert [r[0] for r in _rows(_state(client, "pending", format="xlsx"))[1:]] == [b.pk]
    foreign = Exposure.objects.get(finding=w.fa)
    assert client.post(f"/scores/exposures/{foreign.pk}/withdraw/", {"reason": "x"}).status_code == 404
    assert login(personas.head_a).get("/scores/exposures/").status_code == 403


def test_the_exposure_page_query_count_does_not_grow(login, personas, w):
    client = login(personas.supervisor)
    services.exposure_create(actor=personas.supervisor, finding=w.fa)
    small = _queries(client, "/scores/exposures/", {"state": "pending"})
    services.exposure_create(actor=personas.supervisor, finding=w.fb)
    for _i in range(5):
        services.exposure_create(actor=personas.supervisor, finding=finding(w, personas))
    large = _queries(client, "/scores/exposures/", {"state": "pending"})
    assert small == large <= 9, (small, large)


def test_the_record_exports_never_hold_formulas(login, personas, city, year):  # noqa: F811
    camp, _task = year
    services.accountability_record_create(actor=personas.supervisor, unit=city.street_b1, kind="criticism",
                                          decided_on=dt.date(2026, 12, 1), decision_maker='=HYPERLINK("x","y")',
                                          document_number="+1+1")
    client = login(personas.supervisor)
    for url, params in ((f"/scores/units/{city.street_b1.pk}/record/", {"campaign": camp.pk, "year": 2026}),
                        ("/scores/accountability/", {})):
        response = client.get(url, {**params, "format": "xlsx"})
        book = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
        cells = [c for sheet in book.worksheets for row in sheet.iter_rows() for c in row]
        assert [c.value for c in cells if c.data_type == "f"] == [], url
        assert any(c.value == '=HYPERLINK("x","y")' and c.data_type == "s" for c in cells), url


def test_the_finding_page_offers_the_office_to_expose_it(login, personas, w):
    page = login(personas.supervisor).get(f"/findings/{w.fa.pk}/").content.decode()
    assert 'action="/scores/exposures/"' in page and f'name="finding" value="{w.fa.pk}"' in page
    assert 'action="/scores/exposures/"' not in login(personas.handler_a).get(f"/findings/{w.fa.pk}/").content.decode()
