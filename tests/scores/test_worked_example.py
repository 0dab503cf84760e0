"""Acceptance 1: the worked example (see example.py for the hand computation)."""

from decimal import Decimal

import pytest

from scores import services
from scores.models import MonthlyScore

from . import example
from .helpers import OCT

D = Decimal


@pytest.fixture
def worked(city, personas):
    ex = example.build(city, personas)
    services.scores_recompute(actor=personas.supervisor, campaign=ex.campaign, month=OCT)
    ex.scores = {s.unit.code: s for s in MonthlyScore.objects.filter(campaign=ex.campaign, month=OCT)
                 .select_related("unit")}
    return ex


def test_street_components_totals_ranks_and_lists_match_the_hand_computation(worked):
    s = worked.scores
    expected = {
        # code: (F, R, S, M, total, rank, list)
        "C-A-1": (D("97.83"), D("56.25"), D("80.00"), D("90.00"), D("86.95"), 2, ""),
        "C-A-2": (D("100.00"), None, None, None, D("100.00"), 1, "red"),
        "C-B-1": (D("96.00"), D("50.00"), None, None, D("83.00"), 3, ""),
        "C-B-2": (D("86.00"), D("0.00"), None, None, D("64.50"), 4, "black"),
    }
    for code, (f, r, sv, m, total, rank, flag) in expected.items():
        row = s[code]
        assert (row.field_score, row.rectification_score, row.survey_score, row.materials_score) == (f, r, sv, m), code
        assert (row.total, row.rank, row.list_flag, row.ranked_count) == (total, rank, flag, 4), code


def test_districts_roll_up_their_subtrees_and_round_half_up(worked):
    a, b = worked.scores["C-A"], worked.scores["C-B"]
    assert (a.field_score, a.rectification_score, a.survey_score, a.materials_score) == (
        D("98.56"), D("56.25"), D("80.00"), D("90.00"))
    assert a.survey_from_subtree and a.materials_from_subtree
    assert (a.total, a.rank, a.list_flag) == (D("87.38"), 1, "")
    assert (b.field_score, b.rectification_score, b.total, b.rank, b.list_flag) == (
        D("92.67"), D("37.50"), D("78.88"), 2, "")


def test_community_and_departments(worked):
    c = worked.scores["C-A-1-1"]
    assert (c.field_score, c.rectification_score, c.survey_score, c.materials_score, c.total, c.rank, c.list_flag) == (
        D("93.50"), D("87.50"), None, D("90.00"), D("91.78"), 1, "red")
    cgj = worked.scores["C-CGJ"]
    assert (cgj.field_score, cgj.rectification_score, cgj.total, cgj.rank, cgj.list_flag) == (
        D("100.00"), D("100.00"), D("100.00"), 1, "red")
    traffic = worked.scores["C-JJ"]
    assert (traffic.field_score, traffic.rectification_score, traffic.total, traffic.rank) == (
        None, D("100.00"), None, None)


def test_counts_and_breakdown_explain_the_score(worked):
    a1 = worked.scores["C-A-1"]
    assert (a1.visit_count, a1.clean_visit_count, a1.finding_count, a1.severe_finding_count,
            a1.repeat_finding_count, a1.deduction_total) == (3, 1, 3, 1, 1, D("13.00"))
    assert (a1.task_count, a1.task_on_time_count, a1.task_late_count, a1.task_open_count, a1.rework_count) == (
        4, 2, 1, 1, 1)
    by_type = {t["name"]: (t["visits"], t["mean"]) for t in a1.breakdown["point_types"]}
    assert by_type == {"背街小巷": (2, "93.50"), "农贸市场": (1, "100.00")}
    by_cat = {c["name"]: (c["findings"], c["deduction"]) for c in a1.breakdown["categories"]}
    assert by_cat == {"设施破损": (1, "8.00"), "垃圾乱堆": (2, "5.00")}
    b1 = worked.scores["C-B-1"]
    assert (b1.visit_count, b1.finding_count, b1.task_count, b1.task_on_time_count, b1.task_late_count,
            b1.task_open_count, b1.rework_count, b1.penalty) == (1, 1, 3, 1, 1, 1, 0, D("1.50"))
    b2 = worked.scores["C-B-2"]
    assert (b2.finding_count, b2.severe_finding_count, b2.repeat_finding_count, b2.deduction_total) == (
        3, 3, 1, D("28.00"))


def test_grades_follow_the_bands(worked):
    s = worked.scores
    assert [s[c].grade for c in ("C-A-2", "C-A-1", "C-B-1", "C-B-2")] == ["excellent", "good", "good", "poor"]
