"""Issue 18, acceptance 1 (scoring): in ``criteria`` mode a visit scores the points of the criteria met ÷ the
points of the criteria judged × 100, with the repeat rule on a criterion failed again at the same point;
F stays the weighted mean over point types. The same facts in ``deduction`` mode score as before."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from campaigns.models import Indicator, IndicatorSystem
from campaigns.planning.indicator_io import Node, store_nodes
from inspections.models import VisitCheck
from scores import compute
from scores.models import ScoringScheme, q2

from .helpers import at, campaign, category, finding, inspection, point, point_type, visit

pytestmark = pytest.mark.django_db
D = Decimal
OCT = dt.date(2026, 10, 1)


@pytest.fixture
def facts(city):
    market, lane = point_type("M", "农贸市场", "1.5"), point_type("L", "背街小巷", "1.0")
    system = IndicatorSystem.objects.create(name="体系", status=IndicatorSystem.Status.PUBLISHED)
    store_nodes(system, [
        Node(0, "1", "", "公共环境", D(0), ""), Node(0, "1.1", "1", "农贸市场", D(0), ""),
        Node(0, "1.1.1", "1.1", "要求", D(0), ""),
        Node(0, "A", "1.1.1", "环境整洁", D("2"), "field", [market]),
        Node(0, "B", "1.1.1", "摊位整齐", D("1"), "field", [market]),
        Node(0, "C", "1.1.1", "公厕干净", D("1.5"), "field", [market]),
        Node(0, "D", "1.1.1", "诚信公示", D("0.5"), "field", [market, lane]),
        Node(0, "E", "1.1.1", "路面平整", D("1"), "field", [lane]),
    ])
    ind = {i.code: i for i in Indicator.objects.filter(system=system)}
    camp = campaign(indicator_system=system)
    cat = category("X", "环境问题", "5")
    insp = inspection(camp, city.city)
    p_market, p_lane = point(city.community_a1, market), point(city.community_a1, lane)

    def checked(v, results: dict):
        for code, result in results.items():
            f = finding(camp, cat, "moderate", visit_=v, indicator=ind[code]) if result == "failed" else None
            VisitCheck.objects.create(visit=v, indicator=ind[code], result=result, finding=f)

    v1 = visit(insp, p_market, at(10, 5))
    checked(v1, {"A": "failed", "B": "met", "C": "met", "D": "na"})
    v2 = visit(insp, p_market, at(10, 20))
    checked(v2, {"A": "failed", "B": "met", "C": "failed", "D": "met"})
    v3 = visit(insp, p_lane, at(10, 8))  # no checklist: scores by deductions in either mode
    finding(camp, category("Y", "路面问题", "3"), "moderate", visit_=v3)
    v4 = visit(insp, p_lane, at(10, 9))
    checked(v4, {"E": "met", "D": "failed"})
    return camp


def _street(camp, city, mode):
    scheme = ScoringScheme.objects.create(version=1, field_mode=mode, **ScoringScheme.defaults())
    results = {r.unit_id: r.values for r in compute.compute(camp, OCT, scheme)}
    return results[city.street_a1.pk]


def test_criteria_mode_visit_scores_equal_the_hand_computation(facts, city):
    # v1: met B+C = 2.5 of stake A+B+C = 4.5 (D not applicable)            → 55.56
    # v2: A failed again within 30 days at the same point: 2 × 2 = 4 lost, C 1.5 lost, of stake 5 → below 0 → 0
    # v3 (no checklist): 100 − 3                                              → 97
    # v4: E met (1) of stake 1.5                                              → 66.67
    market = (D(100) * D("2.5") / D("4.5") + D(0)) / 2
    lane = (D(97) + D(100) * D(1) / D("1.5")) / 2
    expected_f = q2((D("1.5") * market + D("1.0") * lane) / D("2.5"))
    values = _street(facts, city, ScoringScheme.FieldMode.CRITERIA)
    assert values["field_score"] == expected_f == D("49.40")
    types = {t["name"]: t for t in values["breakdown"]["point_types"]}
    assert types["农贸市场"]["mean"] == str(q2(market)) and types["背街小巷"]["mean"] == str(q2(lane))
    assert values["visit_count"] == 4 and values["clean_visit_count"] == 0
    assert values["finding_count"] == 5  # findings still counted, their deductions not applied to checked visits


def test_deduction_mode_keeps_todays_rule_on_the_same_facts(facts, city):
    # v1: 100 − 5; v2: two findings of the category seen at the point within 30 days: 100 − 2 × (5 × 2);
    # v3: 100 − 3; v4: 100 − 5.
    market = (D(95) + D(80)) / 2
    lane = (D(97) + D(95)) / 2
    values = _street(facts, city, ScoringScheme.FieldMode.DEDUCTION)
    assert values["field_score"] == q2((D("1.5") * market + lane) / D("2.5")) == D("90.90")


def test_a_new_scheme_defaults_to_deduction():
    assert ScoringScheme().field_mode == ScoringScheme.FieldMode.DEDUCTION
