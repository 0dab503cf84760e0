"""Completeness matrix against the database (acceptance 2) and M by hand (acceptance 4)."""

from __future__ import annotations

import datetime as dt
import io
import random
import re
from collections import Counter
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from openpyxl import load_workbook

from campaigns.models import Unit
from materials import selectors, services
from materials.models import MaterialSubmission
from scores import services as score_services
from scores.models import MonthlyScore

from ..factories import make_unit
from .helpers import open_calls, submit, world

OCT = dt.date(2026, 10, 1)


@pytest.fixture
def w(city, personas):
    return world(city, personas)


def _generate(w, city, personas, seed=7):
    """Six streets under A, four calls (two already past their deadline), random answers and reviews."""
    for i in range(4):
        make_unit(city.district_a, kind=Unit.Kind.STREET, name=f"街道{i}", code=f"C-A-S{i}")
    today = timezone.localdate()
    calls = open_calls(w, personas, city, codes=("1.1.1.1", "1.1.1.2"), deadline=today - dt.timedelta(days=2))
    calls += open_calls(w, personas, city, codes=("1.1.1.3", "2.1.1.1"), deadline=today + dt.timedelta(days=10))
    rng = random.Random(seed)
    for sub in MaterialSubmission.objects.select_related("unit", "call"):
        step = rng.choice(["none", "pending", "passed", "partial", "returned"])
        if step == "none":
            continue
        submit(sub, personas.handler_a)
        sub.refresh_from_db()
        if step == "passed":
            services.material_submission_review(actor=personas.supervisor, submission=sub)
        elif step == "partial":
            services.material_submission_review(actor=personas.supervisor, submission=sub, share="0.25")
        elif step == "returned":
            services.material_submission_return(actor=personas.supervisor, submission=sub, reason="不全")
    return calls, today


def test_matrix_counts_equal_the_database(w, city, personas):
    calls, today = _generate(w, city, personas)
    matrix = selectors.completeness(personas.supervisor, w.campaign, today)
    rows = list(MaterialSubmission.objects.select_related("call"))
    expected = {(s.call_id, s.unit_id): s.state(today) for s in rows}
    assert matrix.cells == expected
    assert len(matrix.units) == 6 and len(matrix.calls) == 4
    for call in calls:
        counts = Counter(s for (c, _u), s in expected.items() if c == call.pk)
        assert {k: v for k, v in matrix.row_counts[call.pk].items() if v} == dict(counts)
    for unit in matrix.units:
        counts = Counter(s for (_c, u), s in expected.items() if u == unit.pk)
        assert {k: v for k, v in matrix.col_counts[unit.pk].items() if v} == dict(counts)
    assert sum(matrix.totals.values()) == len(rows)
    # Every state occurs in the generated data, so each rule is exercised.
    assert set(expected.values()) == {"not_submitted", "pending", "passed", "returned", "overdue"}


def test_matrix_filters_by_subtree_and_section(w, city, personas):
    _calls, today = _generate(w, city, personas)
    section = w.ind["2"]
    matrix = selectors.completeness(personas.supervisor, w.campaign, today, within=city.street_a1, section=section)
    assert [c.indicator.code for c in matrix.calls] == ["2.1.1.1"]
    assert [u.pk for u in matrix.units] == [city.street_a1.pk]


def test_completeness_export_matches_the_page(w, city, personas, login, client):
    _generate(w, city, personas)
    login(personas.supervisor)
    url = f"/materials/campaigns/{w.campaign.pk}/completeness/"
    html = client.get(url).content.decode()
    page_cells = re.findall(r'<td><span class="badge state-(\w+)">', html)
    book = load_workbook(io.BytesIO(b"".join(client.get(url + "export.xlsx").streaming_content)), read_only=True)
    sheet = list(book.worksheets[0].iter_rows(values_only=True))
    labels = {str(label): value for value, label in MaterialSubmission.State.choices}
    units = len(re.findall(r'<th scope="col">', html)) - 1 - len(labels)
    export_cells = [labels[v] for row in sheet[1:5] for v in row[2:2 + units] if v]
    assert export_cells == page_cells and len(page_cells) == 24
    # Row counts (per state) and column counts equal the page's.
    page_counts = [int(n) for n in re.findall(r'<td class="count">(\d+)</td>', html)]
    export_counts = [v for row in sheet[1:5] for v in row[2 + units:]]
    assert export_counts == page_counts and sum(page_counts) == 24
    page_cols = [int(n) for n in re.findall(r'<td class="colcount">(\d+)</td>', html)]
    export_cols = [v for row in sheet[5:] for v in row[2:2 + units]]
    assert export_cols == page_cols and sum(page_cols) == 24


def _answer(sub, personas, outcome, share=None):
    submit(sub, personas.handler_a)
    sub.refresh_from_db()
    if outcome == "passed":
        services.material_submission_review(actor=personas.supervisor, submission=sub)
    elif outcome == "partial":
        services.material_submission_review(actor=personas.supervisor, submission=sub, share=share)
    elif outcome == "returned":
        services.material_submission_return(actor=personas.supervisor, submission=sub, reason="缺页")


def test_m_equals_the_hand_computation_with_a_partial_pass_and_an_override(w, city, personas):
    calls = open_calls(w, personas, city, codes=("1.1.1.1", "1.1.1.2", "1.1.1.3", "2.1.1.1"),
                       deadline=dt.date(2026, 10, 20))
    # Due in November: not yet asked for October.
    services.material_call_create(actor=personas.supervisor, campaign=w.campaign, indicator=w.ind["1.1.1"],
                                  title="十一月", evidence="x", deadline=dt.date(2026, 11, 3), units=[city.street_a1])
    by_code = {c.indicator.code: c.submissions.get(unit=city.street_a1) for c in calls}
    _answer(by_code["1.1.1.1"], personas, "passed")             # 4 of 4
    _answer(by_code["1.1.1.2"], personas, "partial", "0.5")     # 1.5 of 3
    _answer(by_code["1.1.1.3"], personas, "returned")           # 0 of 3
    # 2.1.1.1 (5 points) not submitted: 0 of 5.
    # M = (4 + 1.5) / (4 + 3 + 3 + 5) × 100 = 5.5 / 15 × 100 = 36.67
    scores = selectors.materials_scores(w.campaign, OCT)
    assert scores[city.street_a1.path] == Decimal("36.67")
    assert scores[w.street_a2.path] == Decimal("0.00")
    assert city.street_b1.path not in scores
    breakdown = selectors.materials_breakdown(w.campaign, city.street_a1, OCT)
    assert (breakdown["asked"], breakdown["earned"], breakdown["score"]) == (Decimal(15), Decimal("5.5"), Decimal("36.67"))

    score_services.scores_recompute(actor=personas.supervisor, campaign=w.campaign, month=OCT)
    row = MonthlyScore.objects.get(campaign=w.campaign, unit=city.street_a1, month=OCT)
    assert row.materials_score == Decimal("36.67") and not row.materials_from_subtree
    # The district gets the mean of its streets, as for entered scores: (36.67 + 0) / 2.
    district = MonthlyScore.objects.get(campaign=w.campaign, unit=city.district_a, month=OCT)
    assert district.materials_score == Decimal("18.34") or district.materials_score == Decimal("18.33")

    # An override needs a reason, then wins.
    with pytest.raises(ValidationError):
        score_services.entered_score_set(actor=personas.supervisor, kind="materials", campaign=w.campaign,
                                         unit=city.street_a1, month=OCT, score=Decimal(80))
    score_services.entered_score_set(actor=personas.supervisor, kind="materials", campaign=w.campaign,
                                     unit=city.street_a1, month=OCT, score=Decimal(80), note="复核后更正")
    score_services.scores_recompute(actor=personas.supervisor, campaign=w.campaign, month=OCT)
    row.refresh_from_db()
    assert row.materials_score == Decimal("80.00")


def test_score_page_shows_the_materials_breakdown(w, city, personas, login, client):
    calls = open_calls(w, personas, city, codes=("1.1.1.1", "1.1.1.2"), deadline=dt.date(2026, 10, 20))
    _answer(calls[1].submissions.get(unit=city.street_a1), personas, "partial", "0.5")
    score_services.scores_recompute(actor=personas.supervisor, campaign=w.campaign, month=OCT)
    row = MonthlyScore.objects.get(campaign=w.campaign, unit=city.street_a1, month=OCT)
    login(personas.supervisor)
    html = client.get(f"/scores/{row.pk}/").content.decode()
    assert "1.1.1.2" in html and "21.43" in html  # 1.5 / 7 × 100
