"""The stored recurrence (``Finding.recurred_at``, inspections/recurrence.py) kept by the services
equals the old per-row subquery — the raw reference kept here — on generated histories with
voids, duplicates, failed verifications (closed later) and problems that come back several times;
and every figure of the recurrence pages reads the same numbers as that reference."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from decimal import Decimal

import pytest
import time_machine
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from inspections import rechecks, recurrence, rollups, services
from campaigns.services import unit_move
from inspections.models import (ChronicPoint, Finding, FindingCategory, Inspection, RectificationTask,
                                 RecurrenceTally)

from .helpers import jpeg, world

pytestmark = pytest.mark.django_db
START = dt.datetime(2026, 2, 2, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def reference_closed_findings(rng: rechecks.Range, user):
    """The computation the column replaced: a correlated subquery per closed finding."""
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(rng.closed_from, dt.time(), tzinfo=tz)
    end = dt.datetime.combine(rng.closed_to + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    back = (Finding.objects.counting()
            .filter(point_id=OuterRef("point_id"), category_id=OuterRef("category_id"),
                    observed_at__gt=OuterRef("closed_at"))
            .order_by("observed_at").values("observed_at")[:1])
    return (Finding.objects.visible_to(user)
            .filter(campaign=rng.campaign, status=Finding.Status.CLOSED, point__isnull=False,
                    closed_at__gte=start, closed_at__lt=end)
            .annotate(back_at=Subquery(back)))


def generate(w, personas, city, *, seed: int, steps: int) -> None:
    """A random history through the services, a few hours apart: findings recorded at two points in
    two categories, dispatched and closed (some after a failed verification), voided, marked duplicate."""
    rnd = random.Random(seed)
    other = FindingCategory.objects.create(code="HJ-09", name="占道经营", deduction=Decimal("1"))
    inspection = Inspection.objects.create(campaign=w.campaign, title="全年巡查", kind=Inspection.Kind.UNANNOUNCED,
                                           unit=city.city, starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 12, 31))
    handler = {w.point_a.pk: personas.handler_a, w.point_b.pk: personas.handler_b}
    now = START
    for _step in range(steps):
        now += dt.timedelta(hours=rnd.choice([3, 20, 70, 200]))
        with time_machine.travel(now, tick=False):
            new = list(Finding.objects.filter(status=Finding.Status.NEW, campaign=w.campaign).order_by("pk"))
            tasks = list(RectificationTask.objects.filter(status__in=RectificationTask.OPEN_STATUSES).order_by("pk")
                         .select_related("finding"))
            roll = rnd.random()
            if roll < 0.3 or not (new or tasks):
                point = rnd.choice([w.point_a, w.point_b])
                visit = services.visit_create(actor=personas.inspector, inspection=inspection, point=point)
                services.finding_create(actor=personas.inspector, source=Finding.Source.INSPECTION,
                                        category=rnd.choice([w.category, other]), description="又有垃圾",
                                        visit=visit, photos_in=[jpeg()])
            elif roll < 0.45 and new:
                services.task_dispatch(actor=personas.supervisor, finding=rnd.choice(new))
            elif roll < 0.5 and new:
                services.finding_void(actor=personas.supervisor, finding=rnd.choice(new), reason="误报")
            elif roll < 0.55 and len(new) > 1:
                dup, original = rnd.sample(new, 2)
                services.finding_mark_duplicate(actor=personas.supervisor, finding=dup, original=original)
            elif tasks:
                task = tasks[0] if rnd.random() < 0.6 else rnd.choice(tasks)
                who = handler[task.finding.point_id]
                if task.status == RectificationTask.Status.ASSIGNED:
                    services.task_accept(actor=who, task=task)
                elif task.status in (RectificationTask.Status.IN_PROGRESS, RectificationTask.Status.RETURNED):
                    services.task_submit(actor=who, task=task, note="已整改", photos_in=[jpeg("after.jpg")])
                else:
                    services.task_verify(actor=personas.supervisor, task=task, passed=task.rework_count > 0 or rnd.random() < 0.5,
                                         note="复查未通过")


def assert_same_as_reference(w, city, personas, rng: rechecks.Range) -> None:
    for user in (personas.supervisor, personas.handler_b):
        new = dict(rechecks.closed_findings(rng, user).values_list("pk", "back_at"))
        old = dict(reference_closed_findings(rng, user).values_list("pk", "back_at"))
        assert new == old
        for unit in (city.city, city.district_a, city.district_b, city.department):
            assert rechecks.unit_recurrence(rng, user, unit) == rechecks.with_rates(
                rechecks._within(reference_closed_findings(rng, user), unit).order_by().aggregate(**rechecks.counts()))
    # Every closed finding's column, whatever its range, equals the subquery; open ones are NULL.
    everything = dict(Finding.objects.filter(status=Finding.Status.CLOSED).annotate(
        ref=Subquery(recurrence.first_back(Finding))).values_list("pk", "ref"))
    assert dict(Finding.objects.filter(status=Finding.Status.CLOSED).values_list("pk", "recurred_at")) == everything
    assert not Finding.objects.exclude(status=Finding.Status.CLOSED).filter(recurred_at__isnull=False).exists()


@pytest.mark.parametrize("seed", [1, 2])
def test_the_stored_recurrence_equals_the_subquery_on_a_generated_history(w, city, personas, seed):
    generate(w, personas, city, seed=seed, steps=150)
    closed = Finding.objects.filter(status=Finding.Status.CLOSED)
    assert closed.count() >= 5 and closed.filter(recurred_at__isnull=False).exists()
    assert Finding.objects.filter(status__in=[Finding.Status.VOID, Finding.Status.DUPLICATE]).exists()
    assert RectificationTask.objects.filter(status=RectificationTask.Status.CLOSED, rework_count__gt=0).exists()
    rng = rechecks.Range(w.campaign, dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    assert_same_as_reference(w, city, personas, rng)
    # The pages' other figures, summed, agree with the reference too.
    ref = rechecks.with_rates(reference_closed_findings(rng, personas.supervisor).order_by()
                              .aggregate(**rechecks.counts()))
    cats = rechecks.by_category(rng, personas.supervisor)
    assert sum(c["closed"] for c in cats) == ref["closed"] and sum(c["back_90"] for c in cats) == ref["back_90"]
    points = list(rechecks.by_point(rng, personas.supervisor))
    assert sum(p["back_30"] for p in points) == ref["back_30"]
    # A rebuild (what demo loaders and the seeder rely on) gives the same column.
    before = dict(Finding.objects.values_list("pk", "recurred_at"))
    Finding.objects.update(recurred_at=None)
    rollups.rebuild()
    assert dict(Finding.objects.values_list("pk", "recurred_at")) == before


@pytest.fixture
def w(city, personas):
    return world(city, personas)


def test_a_void_or_duplicate_return_gives_way_to_the_next_one(w, city, personas):
    """The closed problem came back twice; voiding the first return makes the second the return,
    marking it duplicate too leaves the finding not come back."""
    inspection = Inspection.objects.create(campaign=w.campaign, title="全年巡查", kind=Inspection.Kind.UNANNOUNCED,
                                           unit=city.city, starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 12, 31))

    def record(at):
        with time_machine.travel(at, tick=False):
            visit = services.visit_create(actor=personas.inspector, inspection=inspection, point=w.point_a)
            return services.finding_create(actor=personas.inspector, source=Finding.Source.INSPECTION,
                                           category=w.category, description="垃圾", visit=visit,
                                           photos_in=[jpeg()])[0]

    first = record(START)
    with time_machine.travel(START + dt.timedelta(days=1), tick=False):
        task = services.task_dispatch(actor=personas.supervisor, finding=first)
        services.task_accept(actor=personas.handler_a, task=task)
        services.task_submit(actor=personas.handler_a, task=task, note="已清理", photos_in=[jpeg("after.jpg")])
        services.task_verify(actor=personas.supervisor, task=task, passed=True)
    first.refresh_from_db()
    assert first.recurred_at is None
    again = record(START + dt.timedelta(days=20))
    later = record(START + dt.timedelta(days=50))
    first.refresh_from_db()
    assert first.recurred_at == again.observed_at
    services.finding_void(actor=personas.supervisor, finding=again, reason="误报")
    first.refresh_from_db()
    assert first.recurred_at == later.observed_at
    services.finding_mark_duplicate(actor=personas.supervisor, finding=later, original=first)
    first.refresh_from_db()
    assert first.recurred_at is None


def reference_panel(user, campaign, unit, last_day) -> dict:
    """The panel as it was computed before RecurrenceTally: from the findings, with the subquery."""
    first = (last_day.replace(day=1) - dt.timedelta(days=62)).replace(day=1)
    rng = rechecks.Range(campaign, first, last_day)
    qs = rechecks._within(reference_closed_findings(rng, user), unit)
    rows = (qs.order_by().values("point_id", "point__name", "point__code").annotate(**rechecks.counts())
            .filter(back_90__gte=rechecks.CHRONIC_MIN_RETURNS).order_by("-back_90", "-closed", "point_id"))
    return {"range": rng, "rates": rechecks.with_rates(qs.order_by().aggregate(**rechecks.counts())),
            "chronic": [rechecks.point_row(r) for r in rows[:5]]}


def tally_rows() -> dict:
    """The panel's two summaries as kept (zero counts left by the upserts aside)."""
    tally = {k[:-1]: k[-1] for k in RecurrenceTally.objects.exclude(n=0).values_list(
        "campaign_key", "month", "unit_id", "department_id", "bucket", "n")}
    chronic = {k[:5]: k[5:] for k in ChronicPoint.objects.values_list(
        "campaign_key", "month", "point_id", "unit_id", "department_id", "closed", "back_30", "back_60", "back_90")}
    return {"tally": tally, "chronic": chronic}


def month_ends(first: dt.date, last: dt.date) -> list[dt.date]:
    out, day = [], first
    while day <= last:
        nxt = (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        out.append(nxt - dt.timedelta(days=1))
        day = nxt
    return out


def test_the_recurrence_tally_equals_a_rebuild_and_the_panel_the_raw_reference(w, city, personas,
                                                                                django_assert_max_num_queries):
    generate(w, personas, city, seed=3, steps=150)
    kept = tally_rows()
    closed = Finding.objects.filter(status=Finding.Status.CLOSED).count()
    leaves = {k: n for k, n in kept["tally"].items() if k[2] != recurrence.ALL_UNITS}
    assert sum(leaves.values()) == closed and sum(kept["tally"].values()) == 2 * closed  # + the campaign's totals
    assert any(k[-1] != 0 for k in leaves)  # some came back
    assert kept["chronic"]  # some points are 顽疾点位 in some window
    rollups.rebuild()
    assert tally_rows() == kept
    ends = month_ends(dt.date(2026, 2, 1), timezone.localdate(Finding.objects.order_by("-closed_at")
                                                              .values_list("closed_at", flat=True).first()))

    def compare():
        seen = 0
        for last_day in ends:
            for user, unit in [(personas.supervisor, city.city), (personas.supervisor, city.district_a),
                               (personas.supervisor, city.district_b), (personas.supervisor, city.department),
                               (personas.handler_b, city.district_b), (personas.handler_b, city.city)]:
                # The rates and the 顽疾点位; once per unit object, whether it is the only root.
                with django_assert_max_num_queries(2 if hasattr(unit, "dash_everything") else 3):
                    got = rechecks.panel(user, w.campaign, unit, last_day)
                assert got == reference_panel(user, w.campaign, unit, last_day)
                seen += got["rates"]["closed"]
        assert seen > 0

    compare()
    # A unit move changes the paths, not the tally: the panel follows the units' current paths.
    unit_move(actor=personas.supervisor, unit=city.street_a1, new_parent=city.district_b)
    city.district_b.refresh_from_db()
    assert tally_rows() == kept
    compare()
    # A void of a return, and a closure after a failed verification, through the services.
    with time_machine.travel(timezone.now() + dt.timedelta(days=400), tick=False):
        new = Finding.objects.filter(status=Finding.Status.NEW).order_by("pk").first()
        if new is not None:
            services.finding_void(actor=personas.supervisor, finding=new, reason="误报")
        task = RectificationTask.objects.filter(status=RectificationTask.Status.SUBMITTED).order_by("pk").first()
        if task is not None:
            who = personas.handler_a if task.unit.path.startswith(city.district_a.path) else personas.handler_b
            services.task_verify(actor=personas.supervisor, task=task, passed=False, note="未整改")
            services.task_submit(actor=who, task=task, note="已整改", photos_in=[jpeg("after.jpg")])
            services.task_verify(actor=personas.supervisor, task=task, passed=True)
    kept = tally_rows()
    rollups.rebuild()
    assert tally_rows() == kept
    compare()


def test_a_closure_counts_in_exactly_the_panel_windows_that_hold_its_month():
    """``windows_of`` is the inverse of the panel's range (``window_start`` … the month): over four years,
    a month's closures are in a window exactly when the panel for that window's last month reads them."""
    months = [recurrence.add_months(dt.date(2024, 1, 1), k) for k in range(48)]
    for end in months:
        last_day = recurrence.add_months(end, 1) - dt.timedelta(days=1)
        assert recurrence.window_start(end) == (last_day.replace(day=1) - dt.timedelta(days=62)).replace(day=1)
    for month in months:
        assert recurrence.windows_of(month) == [end for end in recurrence_months(month)
                                                if recurrence.window_start(end) <= month <= end]
    # September's window is July–September (July and August hold 62 days): June's closures are in three.
    assert recurrence.windows_of(dt.date(2025, 6, 1)) == [dt.date(2025, 6, 1), dt.date(2025, 7, 1), dt.date(2025, 8, 1)]
    assert len(recurrence.windows_of(dt.date(2025, 3, 1))) == 4


def recurrence_months(month):
    return [recurrence.add_months(month, k) for k in range(-2, 8)]


def test_a_point_whose_returns_lie_with_two_units_is_chronic_with_a_row_for_each():
    """Two returns, one under each responsible unit: the point is a 顽疾点位 of the window (2 ≥ the
    threshold) with one row per unit, so that a scope holding only one of them sums only its return;
    a single return is no row at all."""
    june, july = dt.date(2025, 6, 1), dt.date(2025, 7, 1)
    cells = Counter({(1, june, 7, 11, 0, 30): 1, (1, june, 7, 12, 0, 60): 1, (1, june, 7, 12, 0, 0): 3,
                     (1, july, 8, 11, 0, 90): 1, (2, june, 7, 11, 0, 30): 1})
    rows = {(r["campaign_key"], r["month"], r["point_id"], r["unit_id"]): (r["closed"], r["back_30"], r["back_60"],
                                                                           r["back_90"])
            for r in recurrence.chronic_rows(cells)}
    for end in recurrence.windows_of(june):
        assert rows[(1, end, 7, 11)] == (1, 1, 1, 1) and rows[(1, end, 7, 12)] == (4, 0, 1, 1)
    assert not any(k[2] == 8 or k[0] == 2 for k in rows)  # one return only: not chronic
    # Keeping only some (campaign, point, window) triples, as the services' refresh does.
    kept = recurrence.chronic_rows(cells, keep={(1, 7, june)})
    assert {(r["month"], r["unit_id"]) for r in kept} == {(june, 11), (june, 12)}
