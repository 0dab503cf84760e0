"""Issue 17, acceptance 6: accountability records, suggestions, and the annual
export of a unit matching its scores, ranks, lists, appeals and records."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from inspections.models import RectificationTask
from scores import services
from scores.models import AccountabilityRecord, Appeal, MonthlyScore

from . import helpers as h
from .helpers import OCT, at

pytestmark = pytest.mark.django_db
NOV = dt.date(2026, 11, 1)


@pytest.fixture
def year(city, personas):
    """Street B1 scores below 70 (black) in October and November; street A1 100 (red)."""
    camp = h.campaign()
    t1 = h.point_type("T1", "背街小巷", 1)
    cat = h.category("C1", "垃圾乱堆", 50)
    insp = h.inspection(camp, city.city)
    pb, pa = h.point(city.street_b1, t1), h.point(city.street_a1, t1)
    for month in (10, 11):
        v = h.visit(insp, pb, at(month, 5))
        h.finding(camp, cat, "moderate", visit_=v)
        h.visit(insp, pa, at(month, 5))
    task = h.task(camp, cat, city.street_b1, due=at(10, 20), closed=at(10, 19))
    for month in (OCT, NOV):
        services.scores_recompute(actor=personas.supervisor, campaign=camp, month=month)
        services.score_month_open_review(actor=personas.supervisor, campaign=camp, month=month) if month == OCT \
            else None
        services.scores_publish(actor=personas.supervisor, campaign=camp, month=month)
    return camp, task


def test_black_twice_in_a_row_and_listed_tasks_are_suggested_not_created(api, personas, city, year):
    camp, task = year
    RectificationTask.objects.filter(pk=task.pk).update(supervision=RectificationTask.Supervision.LISTED)
    r = api(personas.supervisor).get("/api/v1/accountability-records/suggestions/", {"campaign": camp.pk})
    assert r.status_code == 200, r.content
    reasons = {(s["reason"], s["unit"]) for s in r.json()}
    # Street B1 and its district (whose only visits are B1's) are black in October and November.
    assert reasons == {("black_twice", city.street_b1.pk), ("black_twice", city.district_b.pk),
                       ("listed_task", city.street_b1.pk)}
    assert not AccountabilityRecord.objects.exists()


def test_the_annual_export_matches_scores_ranks_lists_appeals_and_records(api, personas, city, year):
    camp, task = year
    office = api(personas.supervisor)
    nov = MonthlyScore.objects.get(campaign=camp, unit=city.street_b1, month=NOV)
    r = office.post("/api/v1/accountability-records/", {
        "unit": city.street_b1.pk, "kind": "interview", "decided_on": "2026-12-03", "decision_maker": "市创城办",
        "document_number": "明创城办〔2026〕12号", "score": nov.pk}, format="multipart")
    assert r.status_code == 201, r.content
    appeal = Appeal.objects.create(campaign=camp, unit=city.street_b1, month=OCT, score_month=nov.score_month,
                                   target="task", task=task, reason="r", status="rejected",
                                   submitted_by=personas.supervisor)
    params = {"campaign": camp.pk, "year": 2026, "unit": city.street_b1.pk}
    report = office.get("/api/v1/annual-reports/", params).json()
    rows = MonthlyScore.objects.filter(campaign=camp, unit=city.street_b1).order_by("month")
    assert [(m["month"], m["total"], m["rank"], m["list_flag"]) for m in report["months"]] == [
        (f"{s.month:%Y-%m}", str(s.total), s.rank, s.list_flag) for s in rows]
    assert [m["list_flag"] for m in report["months"]] == ["black", "black"] and report["black_months"] == 2
    assert report["months"][0]["rectification_rate"] == "100.00"
    assert [a["id"] for a in report["appeals"]] == [appeal.pk]
    assert [(x["kind"], x["document_number"]) for x in report["accountability_records"]] == [
        ("interview", "明创城办〔2026〕12号")]
    export = office.get("/api/v1/annual-reports/", {**params, "export": "xlsx"})
    assert export.status_code == 200
    book = load_workbook(io.BytesIO(b"".join(export.streaming_content)))
    sheets = [list(ws.iter_rows(values_only=True)) for ws in book.worksheets]
    assert [row[1] for row in sheets[0][1:]] == ["2026-10", "2026-11"]
    assert [Decimal(row[2]) for row in sheets[0][1:]] == [s.total for s in rows]
    assert sheets[1][1][0] == appeal.pk and sheets[2][1][4] == "明创城办〔2026〕12号"


def test_scope_404_and_only_supervisors_record(api, personas, city, year):
    camp, _task = year
    params = {"campaign": camp.pk, "year": 2026, "unit": city.street_a1.pk}
    assert api(personas.handler_b).get("/api/v1/annual-reports/", params).status_code == 404
    assert api(personas.handler_a).get("/api/v1/annual-reports/", params).status_code == 200
    r = api(personas.head_a).post("/api/v1/accountability-records/", {
        "unit": city.street_a1.pk, "kind": "criticism", "decided_on": "2026-12-03", "decision_maker": "x"})
    assert r.status_code == 403
    assert api(personas.handler_b).get("/api/v1/annual-reports/", {**params, "year": "abc"}).status_code == 400
