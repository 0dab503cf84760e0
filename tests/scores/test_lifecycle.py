"""Acceptance 2 and 3: idempotent and concurrency-safe recomputation, frozen
published months, Asia/Shanghai month boundaries; the monthly job."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import translation

from civportal.errors import Conflict
from scores import services, tasks
from scores.compute import Result, _rank
from scores.models import MonthlyScore, ScoreAdjustment, ScoreMonth, ScoringScheme, SurveyScore

from . import example
from . import helpers as h
from .helpers import OCT, at

FIELDS = [f.attname for f in MonthlyScore._meta.concrete_fields]


def snapshot(campaign):
    return list(MonthlyScore.objects.filter(campaign=campaign).order_by("unit_id").values_list(*FIELDS))


def test_recomputing_a_draft_twice_leaves_identical_rows(city, personas):
    ex = example.build(city, personas)
    services.scores_recompute(actor=personas.supervisor, campaign=ex.campaign, month=OCT)
    first = snapshot(ex.campaign)
    services.scores_recompute(actor=personas.supervisor, campaign=ex.campaign, month=OCT)
    assert snapshot(ex.campaign) == first
    assert len(first) == 9  # 2 districts, 4 streets, 1 community, 2 departments
    assert ScoreMonth.objects.filter(campaign=ex.campaign, month=OCT).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_threads_recomputing_at_once_leave_identical_rows(on_postgresql, city, personas):
    ex = example.build(city, personas)
    services.scores_recompute(actor=personas.supervisor, campaign=ex.campaign, month=OCT)
    expected = snapshot(ex.campaign)
    MonthlyScore.objects.all().delete()
    ScoreMonth.objects.all().delete()
    errors, barrier = [], threading.Barrier(2)

    def run():
        try:
            barrier.wait()
            services.scores_recompute(actor=personas.supervisor, campaign=ex.campaign, month=OCT)
        except Exception as exc:  # noqa: BLE001 — reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    rows = snapshot(ex.campaign)
    # Same values as a single run (ids of score rows and their month row are new after the reset).
    strip = [FIELDS.index("id"), FIELDS.index("score_month_id")]
    assert [tuple(v for i, v in enumerate(r) if i not in strip) for r in rows] == [
        tuple(v for i, v in enumerate(r) if i not in strip) for r in expected]
    assert ScoreMonth.objects.filter(campaign=ex.campaign, month=OCT).count() == 1


def test_recompute_of_a_published_month_is_refused_and_changes_nothing(city, personas):
    ex = example.build(city, personas)
    services.scores_recompute(actor=personas.supervisor, campaign=ex.campaign, month=OCT)
    services.scores_publish(actor=personas.supervisor, campaign=ex.campaign, month=OCT)
    frozen = snapshot(ex.campaign)
    assert {r[FIELDS.index("status")] for r in frozen} == {"published"}
    # New facts arrive after publication …
    h.visit(ex.insp, ex.pb1, at(10, 30))
    with translation.override("en"), pytest.raises(Conflict, match="frozen"):
        services.scores_recompute(actor=personas.supervisor, campaign=ex.campaign, month=OCT)
    with pytest.raises(Conflict):
        services.adjustment_add(actor=personas.supervisor, campaign=ex.campaign, unit=city.street_a1, month=OCT,
                                kind="bonus", points=Decimal(1), reason="表扬")
    with pytest.raises(Conflict):
        services.entered_score_set(actor=personas.supervisor, kind="survey", campaign=ex.campaign,
                                   unit=city.street_a1, month=OCT, score=Decimal(10))
    with pytest.raises(Conflict):
        services.scores_publish(actor=personas.supervisor, campaign=ex.campaign, month=OCT)
    assert snapshot(ex.campaign) == frozen
    assert SurveyScore.objects.get(unit=city.street_a1).score == Decimal(80)


def test_publishing_pins_the_scheme_version_and_a_new_version_leaves_it_alone(city, personas):
    ex = example.build(city, personas)
    services.scores_recompute(actor=personas.supervisor, campaign=ex.campaign, month=OCT)
    month = services.scores_publish(actor=personas.supervisor, campaign=ex.campaign, month=OCT)
    v1 = month.scheme
    defaults = ScoringScheme.defaults()
    v2 = services.scheme_create(actor=personas.supervisor, name="2027版", weights=defaults["weights"],
                                severity_factors={"minor": "1", "moderate": "2", "severe": "4"},
                                repeat_window_days=60, repeat_factor=Decimal(3), list_share=Decimal("0.2"),
                                red_min_total=Decimal(95), black_below_total=Decimal(75), black_bottom_min_group=3,
                                grade_bands=defaults["grade_bands"], ranked_kinds=defaults["ranked_kinds"])
    assert v2.version == v1.version + 1
    assert ScoringScheme.objects.current() == v2
    month.refresh_from_db()
    assert month.scheme == v1
    assert set(MonthlyScore.objects.filter(campaign=ex.campaign).values_list("scheme_id", flat=True)) == {v1.pk}


def test_scheme_with_bad_weights_is_refused(personas):
    defaults = ScoringScheme.defaults()
    with pytest.raises(ValidationError):
        services.scheme_create(actor=personas.supervisor, name="坏", weights={"street": {"F": "0", "R": "1"}},
                               severity_factors=defaults["severity_factors"], repeat_window_days=30,
                               repeat_factor=Decimal(2), list_share=Decimal("0.1"), red_min_total=Decimal(90),
                               black_below_total=Decimal(70), black_bottom_min_group=3,
                               grade_bands=defaults["grade_bands"], ranked_kinds=["street"])
    assert not ScoringScheme.objects.filter(name="坏").exists()


def test_only_the_city_office_recomputes_and_publishes(city, personas):
    camp = h.campaign()
    for user in (personas.head_a, personas.handler_a, personas.leader, personas.inspector, personas.outsider):
        with pytest.raises(PermissionDenied):
            services.scores_recompute(actor=user, campaign=camp, month=OCT)
        with pytest.raises(PermissionDenied):
            services.scores_publish(actor=user, campaign=camp, month=OCT)
    assert not ScoreMonth.objects.exists()


def test_publishing_needs_a_computed_month_that_has_ended(city, personas):
    camp = h.campaign(ends_on=dt.date(2099, 12, 31))
    with translation.override("en"):
        with pytest.raises(ValidationError, match="Compute"):
            services.scores_publish(actor=personas.supervisor, campaign=camp, month=OCT)
        with pytest.raises(ValidationError, match="not ended"):
            services.scores_publish(actor=personas.supervisor, campaign=camp, month=dt.date(2099, 1, 1))
        with pytest.raises(ValidationError, match="outside"):
            services.scores_recompute(actor=personas.supervisor, campaign=camp, month=dt.date(2025, 12, 1))


def test_publishing_calls_the_hook_after_commit(city, personas, django_capture_on_commit_callbacks, monkeypatch):
    ex = example.build(city, personas)
    calls = []
    monkeypatch.setattr("scores.hooks.scores_published", lambda *a, **kw: calls.append(a))
    services.scores_recompute(actor=personas.supervisor, campaign=ex.campaign, month=OCT)
    with django_capture_on_commit_callbacks(execute=True):
        services.scores_publish(actor=personas.supervisor, campaign=ex.campaign, month=OCT)
    (campaign_id, month, unit_ids), = calls
    assert (campaign_id, month) == (ex.campaign.pk, OCT)
    assert set(unit_ids) == set(MonthlyScore.objects.filter(campaign=ex.campaign).values_list("unit_id", flat=True))


# --- acceptance 3: month boundaries ------------------------------------------------------------


def _one_street(city, personas, when):
    camp = h.campaign()
    t = h.point_type("TB", "主次干道", 1)
    cat = h.category("CB", "乱贴乱画", 10)
    pt = h.point(city.street_b1, t)
    v = h.visit(h.inspection(camp, city.city), pt, when)
    h.finding(camp, cat, "moderate", visit_=v)
    services.scores_recompute(actor=personas.supervisor, campaign=camp, month=OCT)
    return MonthlyScore.objects.get(campaign=camp, unit=city.street_b1, month=OCT)


def test_a_finding_at_23_30_on_the_last_day_counts_in_that_month(city, personas):
    row = _one_street(city, personas, at(10, 31, 23, 30))
    assert (row.visit_count, row.finding_count, row.field_score) == (1, 1, Decimal("90.00"))


def test_a_finding_at_00_30_on_the_next_day_does_not(city, personas):
    row = _one_street(city, personas, at(11, 1, 0, 30))
    assert (row.visit_count, row.finding_count, row.field_score, row.total) == (0, 0, None, None)


def test_a_task_due_at_23_30_on_the_last_day_is_due_in_that_month_not_the_next(city, personas):
    camp = h.campaign()
    cat = h.category("CT", "乱停乱放", 1)
    h.task(camp, cat, city.street_b1, due=at(10, 31, 23, 30), closed=at(10, 31, 23, 0))
    h.task(camp, cat, city.street_b1, due=at(11, 1, 0, 30), closed=at(10, 30))
    services.scores_recompute(actor=personas.supervisor, campaign=camp, month=OCT)
    row = MonthlyScore.objects.get(campaign=camp, unit=city.street_b1, month=OCT)
    assert (row.task_count, row.task_on_time_count) == (1, 1)


# --- ranking rules --------------------------------------------------------------------------


def _results(*rows):
    out = []
    for i, (total, f, r, severe) in enumerate(rows):
        out.append(Result(i, "street", {
            "total": None if total is None else Decimal(total), "field_score": None if f is None else Decimal(f),
            "rectification_score": None if r is None else Decimal(r), "severe_finding_count": severe}))
    return out


def test_competition_ranking_with_the_tie_breaks_f_then_r_then_fewer_severe(db):
    scheme = services.scheme_current()
    rs = _results(
        ("95", "90", "80", 0),  # 0: rank 1
        ("88", "92", "70", 0),  # 1: equal total, higher F → 2
        ("88", "90", "75", 0),  # 2: equal total and F, higher R → 3
        ("88", "90", "70", 1),  # 3: fewer severe than 4 → 4
        ("88", "90", "70", 2),  # 4: → 5
        ("88", "90", "70", 2),  # 5: equal on everything → shares 5
        ("60", "60", None, 0),  # 6: → 7
        (None, None, "100", 0),  # 7: no total → not ranked
    )
    _rank(rs, scheme)
    assert [r.values["rank"] for r in rs] == [1, 2, 3, 4, 5, 5, 7, None]
    # n = 7, k = 1: red = top 1 with ≥ 90; black = < 70 plus the bottom 1.
    assert [r.values["list_flag"] for r in rs] == ["red", "", "", "", "", "", "black", ""]


def test_ties_at_the_bottom_are_all_blacklisted_and_red_needs_90(db):
    scheme = services.scheme_current()
    rs = _results(("89.99", "90", "90", 0), ("80", "80", "80", 0), ("75", "75", "75", 0), ("75", "75", "75", 0))
    _rank(rs, scheme)
    assert [r.values["rank"] for r in rs] == [1, 2, 3, 3]
    assert [r.values["list_flag"] for r in rs] == ["", "", "black", "black"]


def test_small_groups_have_no_bottom_black_list_but_low_totals_are_black(db):
    scheme = services.scheme_current()
    rs = _results(("95", "95", None, 0), ("71", "71", None, 0))
    _rank(rs, scheme)
    assert [r.values["list_flag"] for r in rs] == ["red", ""]
    rs = _results(("95", "95", None, 0), ("69.99", "70", None, 0))
    _rank(rs, scheme)
    assert [r.values["list_flag"] for r in rs] == ["red", "black"]


# --- the monthly job ------------------------------------------------------------------------


def test_the_monthly_job_computes_the_previous_month_for_active_campaigns_twice_safely(city, personas):
    ex = example.build(city, personas)
    closed = h.campaign(status="closed")
    now = at(11, 1, 2, 0)
    services.scores_compute_previous_month(now=now)
    first = snapshot(ex.campaign)
    services.scores_compute_previous_month(now=now)
    assert snapshot(ex.campaign) == first
    month = ScoreMonth.objects.get(campaign=ex.campaign)
    assert (month.month, month.status, month.computed_by) == (OCT, "draft", None)
    assert not ScoreMonth.objects.filter(campaign=closed).exists()


def test_the_monthly_job_leaves_a_published_month_alone(city, personas):
    ex = example.build(city, personas)
    services.scores_recompute(actor=personas.supervisor, campaign=ex.campaign, month=OCT)
    services.scores_publish(actor=personas.supervisor, campaign=ex.campaign, month=OCT)
    frozen = snapshot(ex.campaign)
    assert services.scores_compute_previous_month(now=at(11, 1, 2, 0)) == []
    assert snapshot(ex.campaign) == frozen


def test_the_celery_task_is_named_and_scheduled_at_two_on_the_first(settings, city, personas):
    entry = settings.CELERY_BEAT_SCHEDULE["scores-previous-month"]
    assert entry["task"] == tasks.compute_previous_month.name == "scores.compute_previous_month"
    schedule = entry["schedule"]
    assert (schedule.minute, schedule.hour, schedule.day_of_month) == ({0}, {2}, {1})
    assert entry["options"]["expires"] > 0
    ex = example.build(city, personas)
    tasks.recompute_month.apply(kwargs={"campaign_id": ex.campaign.pk, "month": "2026-10-01",
                                        "actor_id": personas.supervisor.pk}).get()
    assert MonthlyScore.objects.filter(campaign=ex.campaign, month=OCT).count() == 9


def test_withdrawn_adjustments_no_longer_count(city, personas):
    ex = example.build(city, personas)
    adj = ScoreAdjustment.objects.get(unit=city.street_b1)
    services.adjustment_withdraw(actor=personas.supervisor, adjustment=adj, reason="核实有误")
    services.scores_recompute(actor=personas.supervisor, campaign=ex.campaign, month=OCT)
    assert MonthlyScore.objects.get(campaign=ex.campaign, unit=city.street_b1).total == Decimal("84.50")
    with pytest.raises(Conflict):
        services.adjustment_withdraw(actor=personas.supervisor, adjustment=adj, reason="again")


def test_a_visit_never_scores_below_zero(city, personas):
    camp = h.campaign()
    t = h.point_type("TZ", "公共厕所", 1)
    big = h.category("CZ", "严重脏乱", 30)
    insp = h.inspection(camp, city.city)
    pt = h.point(city.street_b1, t)
    v1 = h.visit(insp, pt, at(10, 2))
    for _ in range(3):  # 3 × 30 × 2 = 180 (the 2nd and 3rd are also repeats: 60 + 120 + 120 = 300)
        h.finding(camp, big, "severe", visit_=v1)
    v2 = h.visit(insp, pt, at(10, 3))
    h.finding(camp, h.category("CY", "轻微", 10), "moderate", visit_=v2)
    services.scores_recompute(actor=personas.supervisor, campaign=camp, month=OCT)
    row = MonthlyScore.objects.get(campaign=camp, unit=city.street_b1, month=OCT)
    # v1 scores max(0, 100 − 60 − 60 − 60) = 0 (same timestamp: no earlier finding, so no repeat); v2 scores 90.
    assert (row.field_score, row.visit_count, row.clean_visit_count, row.deduction_total) == (
        Decimal("45.00"), 2, 0, Decimal("190.00"))


def test_publishing_notifies_the_units_in_their_inbox(city, personas, django_capture_on_commit_callbacks):
    from notifications.models import Notification

    ex = example.build(city, personas)
    services.scores_recompute(actor=personas.supervisor, campaign=ex.campaign, month=OCT)
    with django_capture_on_commit_callbacks(execute=True):
        services.scores_publish(actor=personas.supervisor, campaign=ex.campaign, month=OCT)
    told = Notification.objects.filter(event="score.published")
    recipients = set(told.values_list("recipient__username", flat=True))
    # The district heads/handlers and leader hear about it; the publisher does not.
    assert {personas.head_a.username, personas.handler_a.username, personas.leader.username} <= recipients
    assert personas.supervisor.username not in recipients
    assert all("2026-10" in n.title for n in told)
