"""回头看 (issue 18, acceptance 5): drawing re-checks by rule, recording a recurrence as a linked
repeat finding, and recurrence rates that equal a hand count."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from civportal.errors import Conflict
from inspections import rechecks, recurrence, services
from inspections.models import Finding, Point, Recheck, RecheckRule, RecheckRun

from .helpers import jpeg, world

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def closed(w, point, *, closed_days_ago: float, severity="moderate", category=None, observed_days_ago=None):
    """A closed finding at ``point`` written straight to the table (exact times)."""
    closed_at = NOW - dt.timedelta(days=closed_days_ago)
    observed = NOW - dt.timedelta(days=observed_days_ago if observed_days_ago is not None else closed_days_ago + 5)
    finding = Finding.objects.create(
        campaign=w.campaign, source=Finding.Source.INSPECTION, point=point, unit=point.unit,
        department=point.department, category=category or w.category, severity=severity, description="问题",
        observed_at=observed, status=Finding.Status.CLOSED, closed_at=closed_at)
    recurrence.refresh([finding])  # what the services do on every write
    return finding


def seen_again(w, original, *, days_after_closure: float, status=Finding.Status.NEW):
    finding = Finding.objects.create(
        campaign=w.campaign, source=Finding.Source.INSPECTION, point=original.point, unit=original.unit,
        department=original.department, category=original.category, severity="moderate", description="又出现",
        observed_at=original.closed_at + dt.timedelta(days=days_after_closure), status=status)
    recurrence.refresh([finding])
    return finding


@pytest.fixture
def w(city, personas):
    return world(city, personas)


@pytest.fixture
def rule(w, personas):
    return rechecks.rule_save(actor=personas.supervisor, campaign=w.campaign, name="二成回头看", share_percent=50,
                              closed_min_days=15, closed_max_days=30, include_severe=True)


def test_draw_takes_the_share_and_every_severe_one_and_replays_from_its_seed(w, personas, rule):
    inside = [closed(w, w.point_a if i % 2 else w.point_b, closed_days_ago=16 + i) for i in range(6)]
    severe = closed(w, w.point_a, closed_days_ago=20, severity="severe")
    closed(w, w.point_a, closed_days_ago=10)  # too recent
    closed(w, w.point_b, closed_days_ago=40)  # too old
    run = rechecks.rule_run(rule=rule, actor=personas.supervisor, now=NOW, seed=12345)
    drawn = set(Recheck.objects.filter(run=run).values_list("finding_id", flat=True))
    assert run.candidate_count == 7 and run.drawn_count == 4 == len(drawn)  # severe + ceil(50 % of 6)
    assert severe.pk in drawn and drawn <= {f.pk for f in inside} | {severe.pk}
    assert rechecks.replay(run) == sorted(drawn)
    assert rechecks.draw([(f.pk, f.severity) for f in [*inside, severe]], share_percent=50, include_severe=True,
                         seed=12345) == sorted(drawn)
    # The planned visits are inspections, one per district, over the area holding their points.
    planned = Recheck.objects.filter(run=run).select_related("inspection__unit", "point__unit")
    assert all(r.point.unit.path.startswith(r.inspection.unit.path) and r.inspection.campaign == w.campaign
               for r in planned)
    districts = {r.point.unit.path[:8] for r in planned}
    assert len({r.inspection_id for r in planned}) == len(districts)
    # A second run (the same day, by hand) finds the window covered: no finding twice.
    again = rechecks.rule_run(rule=rule, actor=personas.supervisor, now=NOW + dt.timedelta(minutes=5))
    assert again.drawn_count == 0 and Recheck.objects.count() == 4


def test_beat_runs_a_rule_once_a_day(w, personas, rule):
    closed(w, w.point_a, closed_days_ago=20)
    assert rechecks.run_active_rules(now=NOW) == 1
    assert rechecks.run_active_rules(now=NOW + dt.timedelta(hours=2)) == 0
    assert RecheckRun.objects.filter(trigger="beat").count() == 1 and Recheck.objects.count() == 1


def test_only_the_office_draws_and_bad_rules_are_refused(w, personas, rule):
    from django.core.exceptions import PermissionDenied, ValidationError

    with pytest.raises(PermissionDenied):
        rechecks.rule_run(rule=rule, actor=personas.handler_a, now=NOW)
    with pytest.raises(ValidationError):
        rechecks.rule_save(actor=personas.supervisor, campaign=w.campaign, name="坏", share_percent=20,
                           closed_min_days=30, closed_max_days=15)
    with pytest.raises(ValidationError):
        rechecks.rule_save(actor=personas.supervisor, campaign=w.campaign, name="坏", share_percent=0,
                           closed_min_days=1, closed_max_days=15)
    assert RecheckRule.objects.count() == 1 and not RecheckRun.objects.exists()


def test_a_recheck_finding_the_problem_back_creates_a_linked_repeat_finding(w, personas, rule):
    from scores import compute
    from scores.services import scheme_current

    original = closed(w, w.point_a, closed_days_ago=20, observed_days_ago=60, severity="severe")
    fixed_one = closed(w, w.point_b, closed_days_ago=21, severity="severe")
    run = rechecks.rule_run(rule=rule, actor=personas.supervisor, now=NOW, seed=1)
    back = Recheck.objects.get(run=run, finding=original)
    still = Recheck.objects.get(run=run, finding=fixed_one)

    done = rechecks.recheck_record(actor=personas.inspector, recheck=back, recurred=True,
                                   description="垃圾又堆起来了", photos_in=[jpeg()])
    new = done.recurrence
    assert done.status == Recheck.Status.RECURRED and done.visit.inspection == back.inspection
    assert (new.recurrence_of, new.point, new.category, new.severity) == (original, w.point_a, w.category, "severe")
    # Seen 60 days after the original (outside the 30-day window) and still a repeat, stored and scored.
    assert new.is_repeat
    is_repeat, _d = compute.finding_deduction(scheme_current())
    assert Finding.objects.annotate(rep=is_repeat).get(pk=new.pk).rep is True
    assert not done.visit.is_clean

    ok = rechecks.recheck_record(actor=personas.inspector, recheck=still, recurred=False)
    assert ok.status == Recheck.Status.FIXED and ok.visit.is_clean and ok.recurrence is None
    with pytest.raises(Conflict):
        rechecks.recheck_record(actor=personas.inspector, recheck=still, recurred=True, description="x",
                                photos_in=[jpeg()])

    # Should the original stop counting (a correction of the record), the stored flag follows.
    Finding.objects.filter(pk=original.pk).update(status=Finding.Status.VOID)
    original.refresh_from_db()
    services.findings_refresh_repeats(findings=[original])
    new.refresh_from_db()
    assert not new.is_repeat
    assert Finding.objects.annotate(rep=is_repeat).get(pk=new.pk).rep is False


def _rates_world(w, city):
    """Closed findings under district A (point_a, community A1) and B (point_b, street B1),
    returning after the given number of days (None: never). Each closed problem has its own
    category, so only its own return counts for it."""
    from inspections.models import FindingCategory

    plan = {
        w.point_a: [10, 45, 75, None, None],  # A: 5 closed: back ≤30: 1, ≤60: 2, ≤90: 3
        w.point_b: [29.5, None, 100],  # B: 3 closed: ≤30: 1, ≤60: 1, ≤90: 1
    }
    n = 0
    for point, delays in plan.items():
        for i, delay in enumerate(delays):
            n += 1
            cat = FindingCategory.objects.create(code=f"R-{n}", name=f"问题类{n}", deduction=Decimal("1"))
            f = closed(w, point, closed_days_ago=200 + 10 * i, category=cat)
            if delay is not None:
                seen_again(w, f, days_after_closure=delay)
    # Noise that must not count: a void return and a return of another category.
    f = closed(w, w.point_a, closed_days_ago=150)
    seen_again(w, f, days_after_closure=3, status=Finding.Status.VOID)
    other = FindingCategory.objects.create(code="HJ-02", name="占道经营", deduction=Decimal("1"))
    Finding.objects.filter(pk=seen_again(w, f, days_after_closure=2).pk).update(category=other)
    recurrence.refill()  # the category was changed behind the services' back


def test_a_units_recurrence_rate_equals_the_hand_count(w, city, personas):
    _rates_world(w, city)
    rng = rechecks.Range(w.campaign, dt.date(2026, 1, 1), dt.date(2026, 11, 30))
    a = rechecks.unit_recurrence(rng, personas.supervisor, city.district_a)
    # District A: 6 closed (5 planned + the noise one), back within 30/60/90: 1, 2, 3.
    assert (a["closed"], a["back_30"], a["back_60"], a["back_90"]) == (6, 1, 2, 3)
    assert (a["rate_30"], a["rate_60"], a["rate_90"]) == (Decimal("16.7"), Decimal("33.3"), Decimal("50.0"))
    b = rechecks.unit_recurrence(rng, personas.supervisor, city.district_b)
    assert (b["closed"], b["back_30"], b["back_60"], b["back_90"]) == (3, 1, 1, 1)
    units = {r["id"]: r for r in rechecks.by_unit(rng, personas.supervisor)}
    assert units[city.city.pk]["closed"] == 9 and units[city.city.pk]["back_90"] == 4
    assert units[city.district_a.pk]["back_60"] == 2 and units[city.street_b1.pk]["closed"] == 3
    # The department supervising point_a answers for its places.
    assert units[city.department.pk]["closed"] == 6
    # A handler of district B sees only B's part.
    mine = {r["id"] for r in rechecks.by_unit(rng, personas.handler_b)}
    assert city.district_a.pk not in mine and city.district_b.pk in mine
    chronic = [rechecks.point_row(r) for r in rechecks.by_point(rng, personas.supervisor, chronic=True)]
    assert [c["id"] for c in chronic] == [w.point_a.pk] and chronic[0]["back_90"] == 3
    cats = {c["name"]: (c["closed"], c["back_30"], c["back_90"]) for c in rechecks.by_category(rng, personas.supervisor)}
    assert cats["问题类1"] == (1, 1, 1) and cats["问题类3"] == (1, 0, 1) and cats["垃圾乱堆乱放"] == (1, 0, 0)
    assert sum(c[0] for c in cats.values()) == 9


def test_points_are_not_required_to_be_active_for_rates(w, city, personas):
    _rates_world(w, city)
    Point.objects.filter(pk=w.point_b.pk).update(active=False)
    rng = rechecks.default_range(w.campaign, today=dt.date(2026, 11, 20))
    assert rechecks.unit_recurrence(rng, personas.supervisor, city.city)["closed"] == 9


@pytest.mark.django_db(transaction=True)
def test_two_beats_racing_draw_each_finding_once(city, personas, on_postgresql):
    """Two scheduler runs of the same rule at the same moment (two beats, or a redelivered message):
    one run, each drawn finding planned once."""
    import threading

    from django.db import connections

    w = world(city, personas)
    rule = rechecks.rule_save(actor=personas.supervisor, campaign=w.campaign, name="全部", share_percent=100,
                              closed_min_days=15, closed_max_days=30)
    for i in range(5):
        closed(w, w.point_a, closed_days_ago=16 + i)
    barrier, made = threading.Barrier(2), []

    def beat():
        try:
            barrier.wait(timeout=10)
            made.append(rechecks.run_active_rules(now=NOW))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=beat) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(made) == [0, 1]
    assert RecheckRun.objects.filter(rule=rule).count() == 1
    assert Recheck.objects.count() == 5 == Recheck.objects.values("finding").distinct().count()
