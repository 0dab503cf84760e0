"""Quarter, half-year and year indexes (issue 18, acceptance 6): computed over the period's own
records with the monthly rules, ranked, listed and frozen on publishing.

The quarter by hand (2026-Q3, street A1 and street B1; types T1 weight 1, T2 weight 2):
  07-10 v1 pA (T1, community A1): f1 C1 (2) moderate → 98
  08-20 v2 pA: f2 C2 (4) severe ×2 → 92
  09-05 v3 pB (T2, street B1): clean → 100
  06-30 and 10-01 visits with findings are outside the quarter.
  Street A1: F = (98 + 92) / 2 = 95
    tasks: t1 due 07-15 closed 07-14 → 1; t2 due 09-20 open at the quarter's end → 0 → R = 50
    survey entered 80 (July) and 90 (September) → S = mean 85; no M
    bonus +1 (August)
    total = (.6·95 + .2·50 + .1·85) / .9 + 1 = 75.5 / .9 + 1 = 84.8889 → 84.89
  Street B1: F = 100, nothing else → 100.00
  Streets: n = 2, k = 1: B1 rank 1 red (≥ 90); A1 rank 2 (no bottom list under 3 units)
  District A = street A1's subtree: F 95, R 50, S 85 (from the subtree), no bonus (the street's)
    total = 75.5 / .9 = 83.8889 → 83.89
A monthly average would differ: July alone gives street A1 F = 98, R = 100."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from civportal.errors import Conflict
from scores import services
from scores.models import MonthlyScore, PeriodScore, ScoreAdjustment, ScorePeriod, SurveyScore
from scores.periods import Period

from . import helpers as h

pytestmark = pytest.mark.django_db
D = Decimal
Q3 = Period.parse("2026-Q3")


@pytest.fixture
def quarter(city, personas):
    camp = h.campaign()
    t1, t2 = h.point_type("T1", "背街小巷", 1), h.point_type("T2", "农贸市场", 2)
    c1, c2 = h.category("C1", "垃圾乱堆", 2), h.category("C2", "设施破损", 4)
    pa, pb = h.point(city.community_a1, t1), h.point(city.street_b1, t2)
    insp = h.inspection(camp, city.city)
    h.finding(camp, c1, "moderate", visit_=h.visit(insp, pa, h.at(7, 10)))
    h.finding(camp, c2, "severe", visit_=h.visit(insp, pa, h.at(8, 20)))
    h.visit(insp, pb, h.at(9, 5))
    h.finding(camp, c2, "severe", visit_=h.visit(insp, pb, h.at(6, 30)))
    h.finding(camp, c2, "severe", visit_=h.visit(insp, pb, h.at(10, 1)))
    h.task(camp, c1, city.street_a1, due=h.at(7, 15), closed=h.at(7, 14))
    h.task(camp, c1, city.street_a1, due=h.at(9, 20))
    for month, score in ((7, "80"), (9, "90")):
        SurveyScore.objects.create(campaign=camp, unit=city.street_a1, month=dt.date(2026, month, 1), score=D(score))
    ScoreAdjustment.objects.create(campaign=camp, unit=city.street_a1, month=dt.date(2026, 8, 1),
                                   kind=ScoreAdjustment.Kind.BONUS, points=D(1), reason="上级表扬",
                                   created_by=personas.supervisor)
    return camp


def rows(camp, period):
    return {r.unit.code: r for r in PeriodScore.objects.filter(
        campaign=camp, period__kind=period.kind, period__starts_on=period.first_month).select_related("unit")}


def test_a_quarter_equals_the_hand_computation(quarter, city, personas):
    services.period_recompute(actor=personas.supervisor, campaign=quarter, period=Q3)
    r = rows(quarter, Q3)
    a1, b1, a = r["C-A-1"], r["C-B-1"], r["C-A"]
    assert (a1.field_score, a1.rectification_score, a1.survey_score, a1.materials_score) == (
        D("95.00"), D("50.00"), D("85.00"), None)
    assert (a1.bonus, a1.total, a1.rank, a1.list_flag, a1.ranked_count) == (D("1.00"), D("84.89"), 2, "", 2)
    assert (a1.visit_count, a1.finding_count, a1.severe_finding_count, a1.task_count) == (2, 2, 1, 2)
    assert (b1.field_score, b1.total, b1.rank, b1.list_flag) == (D("100.00"), D("100.00"), 1, "red")
    assert (a.field_score, a.survey_score, a.survey_from_subtree, a.total) == (D("95.00"), D("85.00"), True,
                                                                               D("83.89"))
    # Recomputing gives the same rows; the months' own rows are not touched.
    services.period_recompute(actor=personas.supervisor, campaign=quarter, period=Q3)
    assert rows(quarter, Q3)["C-A-1"].total == D("84.89") and PeriodScore.objects.count() == len(r)
    assert not MonthlyScore.objects.exists()
    # Not an average of months: July alone scores street A1 differently.
    services.scores_recompute(actor=personas.supervisor, campaign=quarter, month=dt.date(2026, 7, 1))
    july = MonthlyScore.objects.get(unit=city.street_a1)
    assert (july.field_score, july.rectification_score) == (D("98.00"), D("100.00"))


def test_half_year_and_year_cover_their_months(quarter, city, personas):
    for text, visits in (("2026-H2", 2 + 1 + 1), ("2026", 2 + 1 + 2)):
        period = Period.parse(text)
        services.period_recompute(actor=personas.supervisor, campaign=quarter, period=period)
        assert sum(r.visit_count for code, r in rows(quarter, period).items() if code in ("C-A-1", "C-B-1")) == visits
    assert set(ScorePeriod.objects.values_list("kind", flat=True)) == {"half", "year"}


def test_publishing_freezes_the_quarter(quarter, city, personas):
    services.period_recompute(actor=personas.supervisor, campaign=quarter, period=Q3)
    services.period_publish(actor=personas.supervisor, campaign=quarter, period=Q3)
    before = {code: (r.total, r.rank, r.status) for code, r in rows(quarter, Q3).items()}
    assert {s for _t, _r, s in before.values()} == {"published"}
    h.finding(quarter, h.category("C3", "新问题", 10), "severe",
              visit_=h.visit(h.inspection(quarter, city.city), h.point(city.street_a1, h.point_type("T3", "x", 1)),
                             h.at(8, 1)))
    with pytest.raises(Conflict):
        services.period_recompute(actor=personas.supervisor, campaign=quarter, period=Q3)
    with pytest.raises(Conflict):
        services.period_publish(actor=personas.supervisor, campaign=quarter, period=Q3)
    assert {code: (r.total, r.rank, r.status) for code, r in rows(quarter, Q3).items()} == before


def test_the_api_takes_periods_and_refuses_bad_ones(quarter, city, personas, api, django_assert_max_num_queries):
    client = api(personas.supervisor)
    url = "/api/v1/scores/"
    answer = client.post(f"{url}recompute/", {"campaign": quarter.pk, "period": "2026-Q3"}, format="json")
    assert answer.status_code == 200, answer.content
    assert (answer.json()["period"], answer.json()["month"], answer.json()["status"]) == ("2026-Q3", "2026-07", "draft")
    listed = client.get(url, {"campaign": quarter.pk, "period": "2026-Q3", "kind": "street"}).json()["results"]
    assert [(r["unit_code"], r["total"], r["rank"], r["period"]) for r in listed] == [
        ("C-B-1", "100.00", 1, "2026-Q3"), ("C-A-1", "84.89", 2, "2026-Q3")]
    with django_assert_max_num_queries(8):
        assert client.get(url, {"campaign": quarter.pk, "period": "2026-Q3", "limit": 1}).status_code == 200
    # A month given as a period still works, and so does month=.
    assert client.post(f"{url}recompute/", {"campaign": quarter.pk, "period": "2026-07"},
                       format="json").json()["period"] == "2026-07"
    assert client.post(f"{url}recompute/", {"campaign": quarter.pk, "month": "2026-08"},
                       format="json").status_code == 200
    assert client.get(url, {"period": "2026-07"}).json()["count"] == MonthlyScore.objects.filter(
        month=dt.date(2026, 7, 1)).count()
    for bad in ("2026-Q5", "2026-H3", "26", "2026-13", "2026Q3", "２０２６", "2026-Q3\x00", "9999-Q1"):
        for answer in (client.get(url, {"period": bad}),
                       client.post(f"{url}recompute/", {"campaign": quarter.pk, "period": bad}, format="json"),
                       client.post(f"{url}publish/", {"campaign": quarter.pk, "period": bad}, format="json")):
            assert answer.status_code == 400, (bad, answer.content)
    both = client.post(f"{url}recompute/", {"campaign": quarter.pk, "period": "2026-Q3", "month": "2026-07"},
                       format="json")
    assert both.status_code == 400
    outside = client.post(f"{url}recompute/", {"campaign": quarter.pk, "period": "2027-Q1"}, format="json")
    assert outside.status_code == 400
    review = client.post(f"{url}open-review/", {"campaign": quarter.pk, "period": "2026-Q3"}, format="json")
    assert review.status_code == 400
    published = client.post(f"{url}publish/", {"campaign": quarter.pk, "period": "2026-Q3"}, format="json")
    assert published.status_code == 200 and published.json()["status"] == "published"
    again = client.post(f"{url}recompute/", {"campaign": quarter.pk, "period": "2026-Q3"}, format="json")
    assert again.status_code == 409
    # Scope: a handler sees published period rows (as months), nobody sees another campaign's drafts.
    handler = api(personas.handler_b).get(url, {"period": "2026-Q3"}).json()
    assert handler["count"] == PeriodScore.objects.filter(period__kind="quarter").count()
    assert api(personas.outsider).get(url, {"period": "2026-Q3"}).status_code in (200, 403)


def test_ranking_and_bulletin_pages_choose_a_period(quarter, city, personas, login):
    import io

    from openpyxl import load_workbook

    client = login(personas.supervisor)
    # The office computes a quarter from the ranking page; a bad period is a message, not a 500.
    assert client.post("/scores/month/recompute/", {"campaign": quarter.pk, "period": "2026-Q9"}).status_code == 302
    assert not ScorePeriod.objects.exists()
    assert client.post("/scores/month/recompute/", {"campaign": quarter.pk, "period": "2026-Q3"}).status_code == 302
    page = client.get("/scores/", {"campaign": quarter.pk, "period": "2026-Q3", "kind": "street"})
    assert page.status_code == 200 and page.context["is_period"] and page.context["current_label"] == "2026-Q3"
    assert [r.unit.code for r in page.context["page"]] == ["C-B-1", "C-A-1"]
    assert 'value="2026-Q3" selected' in page.content.decode()
    bulletin = client.get("/scores/bulletin/", {"campaign": quarter.pk, "period": "2026-Q3"})
    assert bulletin.status_code == 200 and "2026-Q3" in bulletin.content.decode()
    red = [r.unit.code for r in bulletin.context["red"]]
    assert "C-B-1" in red and "C-A-1" not in red
    xlsx = client.get("/scores/bulletin.xlsx", {"campaign": quarter.pk, "period": "2026-Q3"})
    sheet = load_workbook(io.BytesIO(b"".join(xlsx.streaming_content))).active
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    a1 = next(row for row in cells if "C-A-1" in row)
    assert 84.89 in a1 and xlsx["Content-Disposition"].endswith('bulletin-2026-Q3.xlsx"')
    # Publishing from the page freezes it; open-review and announcing are monthly only.
    assert client.post("/scores/month/open-review/", {"campaign": quarter.pk, "period": "2026-Q3"}).status_code == 404
    client.post("/scores/month/publish/", {"campaign": quarter.pk, "period": "2026-Q3"})
    assert ScorePeriod.objects.get().is_published
    # Others see the published quarter; an unknown or unscored period is 404.
    assert login(personas.handler_b).get("/scores/bulletin/", {"campaign": quarter.pk,
                                                              "period": "2026-Q3"}).status_code == 200
    assert client.get("/scores/bulletin/", {"campaign": quarter.pk, "period": "2026-H1"}).status_code == 404
    assert client.get("/scores/bulletin/", {"campaign": quarter.pk, "period": "x"}).status_code == 404
