"""The rollups give every dashboard figure exactly what the raw rows give (acceptance of issue 13).

A generated history goes through the real services (intake, dispatch, accept, submit, verify pass and
fail, extension approved, duplicate, void of a finding and of a task) over three months with a moving
clock; a street then moves to another district and more transitions follow. Every figure of
``dashboards.selectors`` (rollups) is compared with ``tests/dashboards/raw.py`` (the same figure from
the findings and tasks) for several roots and months, and the incremental rollups with a rebuild."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command
from django.db.models import Sum

from campaigns.models import Campaign, Point, PointType, Unit
from campaigns.services import unit_move
from dashboards import selectors
from inspections import services
from inspections.models import ClosureTally, Finding, FindingCategory, FindingTally, RectificationTask
from scores.compute import SHANGHAI, month_bounds
from tests.factories import make_unit
from tests.inspections.helpers import jpeg
from volunteers import services as volunteer_services

from . import raw

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 8, 28, 9, 0, tzinfo=SHANGHAI)
MONTHS = [dt.date(2026, 8, 1), dt.date(2026, 9, 1), dt.date(2026, 10, 1), dt.date(2026, 11, 1)]


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"


class Clock:
    """Moves ``timezone.now()`` forward in hours; services stamp their times with it."""

    def __init__(self):
        self.now = T0
        self.traveller = time_machine.travel(self.now, tick=False)
        self.coordinates = self.traveller.start()

    def advance(self, hours: float) -> dt.datetime:
        self.now += dt.timedelta(hours=hours)
        self.coordinates.move_to(self.now)
        return self.now

    def stop(self):
        self.traveller.stop()


def world(city):
    camp = Campaign.objects.create(name="2026创城", starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 12, 31),
                                   status=Campaign.Status.ACTIVE)
    group = FindingCategory.objects.create(code="G", name="环境卫生")
    cats = [FindingCategory.objects.create(code="G-1", name="垃圾", group=group, deduction=Decimal(2)),
            FindingCategory.objects.create(code="G-2", name="积水", group=group),
            FindingCategory.objects.create(code="ORD", name="秩序")]
    t1 = PointType.objects.create(code="T1", name="农贸市场")
    t2 = PointType.objects.create(code="T2", name="背街小巷")
    points = [
        Point.objects.create(name="春晖市场", point_type=t1, unit=city.community_a1, latitude=Decimal("29.87"),
                             longitude=Decimal("121.55")),
        Point.objects.create(name="人民路", point_type=t2, unit=city.street_a1, latitude=Decimal("29.86"),
                             longitude=Decimal("121.54")),
        Point.objects.create(name="解放路", point_type=t2, unit=city.street_b1),  # no coordinates: not on the map
    ]
    return camp, cats, points


def has_a(task, personas):
    from campaigns.scope import has_role

    return has_role(personas.handler_a, task.unit, ["handler"])


def close(task, personas, clock, *, fail_first=False, hours=30):
    handler = personas.handler_a if has_a(task, personas) else personas.handler_b
    task = services.task_accept(actor=handler, task=task)
    rounds = [False, True] if fail_first else [True]
    for passed in rounds:
        clock.advance(hours / len(rounds))
        services.task_submit(actor=handler, task=task, note="已整改", photos_in=[jpeg("after.jpg")])
        task = services.task_verify(actor=personas.supervisor, task=RectificationTask.objects.get(pk=task.pk),
                                    passed=passed, note="" if passed else "未整改到位")
    return task


def generate(city, personas, clock):
    """About 40 findings over August to November through the services, every kind of transition."""
    rng = random.Random(13)
    camp, cats, points = world(city)
    sup, insp = personas.supervisor, personas.inspector
    # Registered volunteers in the two districts (the volunteer tally), one of them suspended.
    community_b1 = make_unit(city.street_b1, kind=Unit.Kind.COMMUNITY, name="解放社区", code="C-B-1-1")
    people = [volunteer_services.volunteer_create(actor=sup, name=f"志愿者{i}", phone=f"1380000{i:04d}",
                                                  unit=[city.community_a1, community_b1][i % 2]) for i in range(5)]
    volunteer_services.volunteer_set_status(actor=sup, volunteer=people[0], status="suspended", reason="外出")
    findings = []
    for i in range(40):
        clock.advance(rng.choice([6, 20, 40]))
        point = points[i % 4] if i % 4 < 3 else None
        finding, _ = services.finding_create(
            actor=insp, source=Finding.Source.HOTLINE, category=cats[i % 3], description=f"问题{i}",
            campaign=camp, point=point, unit=None if point else [city.street_a1, city.district_b][i % 2],
            observed_at=clock.now - dt.timedelta(hours=rng.choice([0, 3, 30])),
        )
        findings.append(finding)
        earlier = findings[rng.randrange(len(findings))]
        earlier.refresh_from_db()
        step = i % 8
        if earlier.status != Finding.Status.NEW:
            continue
        if step in (0, 1, 2, 3):
            task = services.task_dispatch(actor=sup, finding=earlier, due_at=clock.now + dt.timedelta(days=step + 1))
            if step == 0:
                close(task, personas, clock, hours=10)  # on time
            elif step == 1:
                close(task, personas, clock, fail_first=True, hours=24 * 5)  # late, reworked
            elif step == 2:
                handler = personas.handler_a if has_a(task, personas) else personas.handler_b
                request = services.task_request_extension(actor=handler, task=task, reason="需要采购",
                                                          requested_due_at=task.due_at + dt.timedelta(days=6))
                services.task_decide_extension(actor=sup, request=request, approve=True)
                close(task, personas, clock, hours=24 * 4)  # after the first deadline, before the new one
        elif step == 4:
            services.finding_void(actor=sup, finding=earlier, reason="不属实")
        elif step == 5:
            original = findings[0]
            original.refresh_from_db()
            if original.status not in (Finding.Status.VOID, Finding.Status.DUPLICATE) and original.pk != earlier.pk:
                services.finding_mark_duplicate(actor=sup, finding=earlier, original=original)
        elif step == 6:
            task = services.task_dispatch(actor=sup, finding=earlier)
            services.task_void(actor=sup, task=task, reason="派错单位")
    return camp, findings


def figures(user, camp, root, month, now):
    """Every figure of the dashboards, from the rollups (``selectors``) and from the raw rows (``raw``)."""
    out = {}
    for name, module in (("rollups", selectors), ("raw", raw)):
        root.dash_everything = module.covers_everything(root)
        start, end = month_bounds(month)
        months = module.months_back(month, 12)
        tasks = module.month_task_counts(camp, root, start, end)
        avg = tasks.pop("avg_duration")
        out[name] = {
            "findings": {**module.finding_counts(camp, root), **module.month_finding_counts(camp, root, start, end)},
            "tasks": tasks,
            "avg_ms": None if avg is None else round(avg.total_seconds() * 1000),
            "lights": module.task_lights(camp, root, now),
            "by_category": sorted((r["top"], r["name"], r["n"]) for r in module.by_category(camp, root, start, end)),
            "by_point_type": sorted((r["type"] or 0, r["name"] or "", r["n"])
                                    for r in module.by_point_type(camp, root, start, end)),
            "overdue": [t.pk for t in module.most_overdue(camp, root, now)],
            "map": [(r["pk"], r["light"]) for r in module.map_rows(camp, root, now)],
            "flow": module.monthly_flow(camp, root, months),
            "volunteers": (selectors.volunteer_totals(root, now=now).registered if module is selectors
                           else raw.registered_volunteers(root)),
        }
    return out["rollups"], out["raw"]


def assert_figures_match(city, personas, camp, now):
    roots = [city.city, city.district_a, city.district_b, city.street_a1, city.community_a1]
    for root in roots:
        root.refresh_from_db()
        for month in MONTHS:
            from_rollups, from_raw = figures(personas.supervisor, camp, root, month, now)
            assert from_rollups == from_raw, (root.code, month)


def tally_snapshot(below=None):
    """The rollups' non-zero rows (``below``: only the own rows, False, or only the descendants' rows, True)."""
    only = {} if below is None else {"below": below}
    rows = (FindingTally.objects.filter(**only).values("campaign_key", "month", "unit_id", "category_id",
                                                       "point_type_key", "status", "below")
            .annotate(total=Sum("n")).filter(total__gt=0))
    closures = (ClosureTally.objects.filter(**only).values("campaign_key", "month", "unit_id", "below")
                .annotate(f=Sum("findings_closed"), t=Sum("tasks_closed"), o=Sum("tasks_on_time"),
                          r=Sum("tasks_reworked"), d=Sum("task_micros")))
    return sorted(map(repr, rows)), sorted(map(repr, (c for c in closures if any(c[k] for k in "ftord"))))


def test_every_figure_from_the_rollups_equals_the_raw_figure(city, personas):
    clock = Clock()
    try:
        camp, findings = generate(city, personas, clock)
        statuses = set(Finding.objects.values_list("status", flat=True))
        assert statuses >= {"new", "dispatched", "closed", "void", "duplicate"}, statuses
        closed = RectificationTask.objects.filter(status="closed")
        assert closed.filter(rework_count__gt=0).exists() and closed.filter(extension_count__gt=0).exists()
        assert closed.filter(closed_at__gt=dt.datetime(2026, 1, 1, tzinfo=SHANGHAI)).count() >= 5
        assert RectificationTask.objects.filter(status="void").exists()
        assert not RectificationTask.objects.filter(campaign__isnull=True).exists()
        assert_figures_match(city, personas, camp, clock.now)
        assert selectors.volunteer_totals(city.district_a, now=clock.now).registered == 2

        # A street moves to the other district with its subtree: no unit's own row changes; the rows "below"
        # of district A lose the street's counts and those of district B gain them; the figures follow.
        before, below_before = tally_snapshot(below=False), tally_snapshot(below=True)
        unit_move(actor=personas.supervisor, unit=city.street_a1, new_parent=city.district_b)
        assert tally_snapshot(below=False) == before and tally_snapshot(below=True) != below_before
        assert_figures_match(city, personas, camp, clock.now)
        assert selectors.volunteer_totals(city.district_b, now=clock.now).registered == 4  # A1's two came along
        moved = tally_snapshot()
        call_command("rebuild_rollups", stdout=open("/dev/null", "w"))
        assert tally_snapshot() == moved

        # After the move: a void and an extension approved, then a late closure of the extended task.
        open_new = Finding.objects.filter(status="new").order_by("pk")
        services.finding_void(actor=personas.supervisor, finding=open_new[0], reason="重复来电")
        task = services.task_dispatch(actor=personas.supervisor, finding=open_new[0],
                                      due_at=clock.now + dt.timedelta(days=1))
        handler = personas.handler_a if has_a(task, personas) else personas.handler_b
        request = services.task_request_extension(actor=handler, task=task, reason="雨天",
                                                  requested_due_at=task.due_at + dt.timedelta(days=2))
        services.task_decide_extension(actor=personas.supervisor, request=request, approve=True)
        clock.advance(24 * 4)
        close(task, personas, clock, hours=1)
        assert_figures_match(city, personas, camp, clock.now)
        assert_figures_match(city, personas, camp, clock.now + dt.timedelta(days=3))  # lights move with time

        # The incremental rollups equal a rebuild from scratch.
        incremental = tally_snapshot()
        call_command("rebuild_rollups", stdout=open("/dev/null", "w"))
        assert tally_snapshot() == incremental
    finally:
        clock.stop()


def test_rollup_month_follows_shanghai(city, personas):
    """A finding at 23:30 on the 31st (Asia/Shanghai) counts in that month, also in the rollups."""
    camp, cats, points = world(city)
    when = dt.datetime(2026, 10, 31, 23, 30, tzinfo=SHANGHAI)
    services.finding_create(actor=personas.inspector, source=Finding.Source.HOTLINE, category=cats[0],
                            description="深夜", campaign=camp, unit=city.street_a1, observed_at=when)
    row = FindingTally.objects.get(unit=city.street_a1)
    assert (row.month, row.n, row.status) == (dt.date(2026, 10, 1), 1, "new")
    # The campaign-wide rows (by category and point type; totals) and the rows "below" of the street's
    # district and city follow the same month.
    october = dt.date(2026, 10, 1)
    expected = {(october, city.street_a1.pk, 0, False, 1), (october, 0, 0, False, 1), (october, 0, -1, False, 1),
                (october, city.district_a.pk, 0, True, 1), (october, city.city.pk, 0, True, 1)}
    assert set(FindingTally.objects.values_list("month", "unit_id", "point_type_key", "below", "n")) == expected
    call_command("rebuild_rollups", stdout=open("/dev/null", "w"))
    assert set(FindingTally.objects.values_list("month", "unit_id", "point_type_key", "below", "n")) == expected
