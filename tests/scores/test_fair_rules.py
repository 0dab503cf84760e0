"""Issue 17, acceptance 1 and 2: the fair list, repeat, month-boundary and
tie-break rules of DESIGN §6 — each at the boundary the old rules got wrong."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from inspections.models import Finding
from scores import services
from scores.compute import Result, _rank
from scores.models import MonthlyScore
from tests.factories import make_unit
from tests.inspections.helpers import jpeg

from . import helpers as h
from .helpers import OCT, at

pytestmark = pytest.mark.django_db


def _results(*rows):
    """(total, F, R, severe) per unit of one group."""
    return [Result(i, "street", {
        "total": None if total is None else Decimal(total), "field_score": None if f is None else Decimal(f),
        "rectification_score": None if r is None else Decimal(r), "severe_finding_count": severe})
        for i, (total, f, r, severe) in enumerate(rows)]


def _flags(rs):
    return [r.values["list_flag"] for r in rs]


def _ranks(rs):
    return [r.values["rank"] for r in rs]


# --- lists ----------------------------------------------------------------------------------


def test_a_month_where_everyone_scores_100_has_no_black_list_and_red_by_the_rule(db):
    rs = _results(*[("100", "100", None, 0)] * 5)
    _rank(rs, services.scheme_current())
    assert _ranks(rs) == [1] * 5
    assert _flags(rs) == ["red"] * 5  # all rank 1 ≤ k with ≥ 90; nobody is the bottom


def test_a_unit_at_95_in_the_bottom_k_is_not_black_listed(db):
    rs = _results(("100", "100", None, 0), ("98", "98", None, 0), ("95", "95", None, 0))
    _rank(rs, services.scheme_current())
    assert _flags(rs) == ["red", "", ""]


def test_the_ceiling_is_a_scheme_setting_and_strictly_below(db):
    scheme = services.scheme_current()
    rs = _results(("100", "100", None, 0), ("98", "98", None, 0), ("90", "90", None, 0))
    _rank(rs, scheme)
    assert _flags(rs) == ["red", "", ""]  # 90 is not below 90
    scheme.bottom_list_ceiling = Decimal("90.01")
    _rank(rs, scheme)
    assert _flags(rs) == ["red", "", "black"]


def test_units_tied_at_the_bottom_below_90_are_all_black_listed(db):
    rs = _results(("100", "100", None, 0), ("95", "95", None, 0), ("85", "85", None, 0), ("85", "85", None, 0))
    _rank(rs, services.scheme_current())
    assert _ranks(rs) == [1, 2, 3, 3]
    assert _flags(rs) == ["red", "", "black", "black"]


def test_a_unit_tied_with_the_best_total_is_never_the_bottom_even_when_the_tie_break_separates_it(db):
    # Equal totals below 90, separated by F: the last one is the bottom by rank but ties the best total.
    rs = _results(("85", "90", None, 0), ("85", "80", None, 0), ("85", "70", None, 0))
    _rank(rs, services.scheme_current())
    assert _ranks(rs) == [1, 2, 3]
    assert _flags(rs) == ["", "", ""]


def test_everyone_tied_below_70_is_still_black_by_the_floor(db):
    rs = _results(*[("60", "60", None, 0)] * 3)
    _rank(rs, services.scheme_current())
    assert _flags(rs) == ["black"] * 3


# --- tie-break ------------------------------------------------------------------------------


def test_r_is_compared_only_when_both_units_have_one(db):
    # Before: the unit whose only task was open (R = 0) ranked above the equal unit with nothing to fix.
    rs = _results(("88", "90", None, 0), ("88", "90", "0", 0), ("88", "90", "50", 0), ("100", "100", None, 0))
    _rank(rs, services.scheme_current())
    # No-R ties with both; R 50 beats R 0.
    assert _ranks(rs) == [2, 3, 2, 1]


def test_severe_key_counts_severe_findings_of_every_source_in_the_units_scope(city, personas):
    camp = h.campaign()
    t1 = h.point_type("T1", "背街小巷", 1)
    cat = h.category("C1", "垃圾乱堆", 2)
    street_a2 = make_unit(city.district_a, kind="street", name="湖滨街道", code="C-A-2")
    street_a3 = make_unit(city.district_a, kind="street", name="湖心街道", code="C-A-3")
    insp = h.inspection(camp, city.city)
    for unit in (city.street_a1, street_a2, street_a3, city.street_b1):
        h.visit(insp, h.point(unit, t1), at(10, 5))  # clean → 100 each
    # A severe hotline finding (no visit) in community A1, inside street A1's scope, observed in October.
    h.finding(camp, cat, "severe", unit=city.community_a1, when=at(10, 9))
    # Not counted: a voided severe finding, one from September, a moderate one.
    h.finding(camp, cat, "severe", unit=street_a2, when=at(10, 9), status=Finding.Status.VOID, void_reason="误报")
    h.finding(camp, cat, "severe", unit=street_a2, when=at(9, 29))
    h.finding(camp, cat, "moderate", unit=street_a2, when=at(10, 9))
    services.scores_recompute(actor=personas.supervisor, campaign=camp, month=OCT)
    rows = {r.unit.code: r for r in MonthlyScore.objects.filter(campaign=camp, unit__kind="street")
            .select_related("unit")}
    assert rows["C-A-1"].severe_finding_count == 1 and rows["C-A-2"].severe_finding_count == 0
    assert {code: (r.total, r.rank) for code, r in rows.items()} == {
        "C-A-1": (Decimal("100.00"), 4), "C-A-2": (Decimal("100.00"), 1), "C-A-3": (Decimal("100.00"), 1),
        "C-B-1": (Decimal("100.00"), 1)}
    # Tied with the best total: not black even though it is alone at the bottom.
    assert rows["C-A-1"].list_flag == ""


# --- repeats ---------------------------------------------------------------------------------


def test_repeats_count_only_earlier_counting_findings(city, personas):
    camp = h.campaign()
    t1 = h.point_type("T1", "背街小巷", 1)
    cat = h.category("C1", "垃圾乱堆", 10)
    insp = h.inspection(camp, city.city)
    pt = h.point(city.street_a1, t1)
    v0 = h.visit(insp, pt, at(10, 2))
    h.finding(camp, cat, "moderate", visit_=v0, status=Finding.Status.VOID, void_reason="误报")
    v1 = h.visit(insp, pt, at(10, 3))
    original = h.finding(camp, cat, "moderate", visit_=v1, status=Finding.Status.VOID, void_reason="误报")
    h.finding(camp, cat, "moderate", visit_=v1, status=Finding.Status.DUPLICATE, duplicate_of=original)
    v2 = h.visit(insp, pt, at(10, 10))
    h.finding(camp, cat, "moderate", visit_=v2)  # no counting finding before → not a repeat: 90
    services.scores_recompute(actor=personas.supervisor, campaign=camp, month=OCT)
    row = MonthlyScore.objects.get(campaign=camp, unit=city.street_a1, month=OCT)
    assert row.repeat_finding_count == 0
    assert row.field_score == Decimal("96.67")  # (100 + 100 + 90) / 3


# --- month boundary: a finding on a visit counts with the visit ------------------------------


def test_a_night_visit_on_the_31st_uploaded_on_the_1st_deducts_in_the_visits_month(city, personas, api):
    camp = h.campaign()
    t1 = h.point_type("T1", "背街小巷", 1)
    cat = h.category("C1", "垃圾乱堆", 10)
    insp = h.inspection(camp, city.city)
    pt = h.point(city.street_b1, t1)
    inspector, office = api(personas.inspector), api(personas.supervisor)
    r = inspector.post("/api/v1/visits/", {"inspection": insp.pk, "point": pt.pk,
                                           "visited_at": "2026-10-31T23:40:00+08:00"}, format="json")
    assert r.status_code == 201, r.content
    visit_id = r.json()["id"]
    with time_machine.travel(at(11, 1, 8, 0), tick=False):
        r = inspector.post("/api/v1/findings/", {"visit": visit_id, "category": cat.pk, "description": "夜间垃圾堆积",
                                                 "severity": "moderate", "photos": [jpeg()]}, format="multipart")
        assert r.status_code == 201, r.content
        assert dt.datetime.fromisoformat(r.json()["observed_at"]) == at(10, 31, 23, 40)
        r = office.post("/api/v1/scores/recompute/", {"campaign": camp.pk, "month": "2026-10"}, format="json")
        assert r.status_code == 200, r.content
    row = MonthlyScore.objects.get(campaign=camp, unit=city.street_b1, month=OCT)
    assert (row.visit_count, row.finding_count, row.field_score) == (1, 1, Decimal("90.00"))


def test_a_finding_on_a_visit_given_an_observed_time_keeps_it_within_the_visits_day(city, personas, api):
    camp = h.campaign()
    t1 = h.point_type("T1", "背街小巷", 1)
    cat = h.category("C1", "垃圾乱堆", 10)
    insp = h.inspection(camp, city.city)
    visit = h.visit(insp, h.point(city.street_b1, t1), at(10, 31, 23, 40))
    inspector = api(personas.inspector)

    def post(observed_at):
        return inspector.post("/api/v1/findings/", {
            "visit": visit.pk, "category": cat.pk, "description": "夜间垃圾", "observed_at": observed_at,
            "photos": [jpeg()]}, format="multipart")

    refused = post("2026-11-01T00:00:00+08:00")
    assert refused.status_code == 400, refused.content
    assert "observed_at" in refused.json()["errors"]
    assert not Finding.objects.exists()
    kept = post("2026-10-31T23:59:00+08:00")
    assert kept.status_code == 201, kept.content
    assert dt.datetime.fromisoformat(kept.json()["observed_at"]) == at(10, 31, 23, 59)
