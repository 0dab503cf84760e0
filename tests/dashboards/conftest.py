"""Hand-built facts for the dashboard tests (docs/dashboards.md has the definitions).

October 2026 in 东湖区 (district A, street A1 points p1 of type 市场, p2 of type 背街):
  f1  observed Oct 5, category 垃圾 (in group 环境卫生), at p1, dispatched; its open task r1 is overdue (red)
  f2  observed Oct 6, category 秩序 (top level), at p2, awaiting triage (grey on the map)
  f3  observed Oct 7, 秩序, hotline (no point), closed Oct 20
  f4  observed Oct 8, void (never counted)
  g1..g3 observed in September, closed in October through tasks t1..t3:
    t1 dispatched Oct 1, due Oct 10, closed Oct 8   (on time, no rework, 7 days)
    t2 dispatched Oct 1, due Oct 10, closed Oct 15  (late, 1 rework, 14 days)
    t3 dispatched Oct 2, due Oct 12 10:00, closed at that very minute (on time, 2 reworks, 10 days)
  g4 observed in September, closed in September through t4 (not an October closure)
  h2, h3 observed in September, dispatched, open tasks r2 (yellow) and r3 (green), with coordinates
西江区 (district B): f5 observed Oct 9, 垃圾, awaiting triage; t5 closed in October (late).
Scores (published): October A 90 (rank 2), B 95 (rank 1, red list); September A 80, B 70 (black list).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.utils import timezone

from inspections import rollups
from inspections.models import Finding, FindingCategory, RectificationTask, TaskEvent
from scores.models import MonthlyScore, ScoreMonth
from scores.services import scheme_current
from tests.scores.helpers import SH, campaign, inspection, point, point_type, visit

OCT = dt.date(2026, 10, 1)
SEP = dt.date(2026, 9, 1)


def at(month, day, hour=10, minute=0):
    return dt.datetime(2026, month, day, hour, minute, tzinfo=SH)


def make_finding(camp, cat, unit, when, *, status=Finding.Status.NEW, pt=None, insp=None, closed=None, lat=None):
    v = visit(insp, pt, when) if pt is not None else None
    f = Finding.objects.create(
        campaign=camp, source=Finding.Source.INSPECTION if v else Finding.Source.HOTLINE, visit=v,
        point=pt, unit=unit, category=cat, severity="moderate", description="问题", observed_at=when, status=status,
        closed_at=closed, latitude=lat, longitude=Decimal("120.1") if lat is not None else None,
    )
    # These rows bypass the services: add their share of the dashboards' rollups as the services do.
    rollups.findings_added([f])
    if closed is not None and status == Finding.Status.CLOSED:
        rollups.finding_closed(f)
    return f


def make_task(f, *, dispatched, due, warn=None, closed=None, reworks=0, unit=None):
    status = RectificationTask.Status.CLOSED if closed else RectificationTask.Status.IN_PROGRESS
    t = RectificationTask.objects.create(
        finding=f, unit=unit or f.unit, dispatched_at=dispatched, original_due_at=due, due_at=due,
        warn_at=warn or due, status=status, closed_at=closed, rework_count=reworks,
    )
    if closed:
        rollups.task_closed(t)
    for n in range(reworks):
        TaskEvent.objects.create(task=t, action=TaskEvent.Action.VERIFY_FAIL, from_status="submitted",
                                 to_status="returned", created_at=dispatched + dt.timedelta(days=1, hours=n))
    return t


def make_score(camp, unit, month, total, rank, count, flag=""):
    scheme = scheme_current()
    sm, _ = ScoreMonth.objects.get_or_create(campaign=camp, month=month, defaults={
        "status": ScoreMonth.Status.PUBLISHED, "scheme": scheme})
    return MonthlyScore.objects.create(
        campaign=camp, unit=unit, month=month, score_month=sm, scheme=scheme, kind=unit.kind,
        status=ScoreMonth.Status.PUBLISHED, total=Decimal(total), rank=rank, ranked_count=count, list_flag=flag,
    )


@pytest.fixture
def facts(city, personas):
    now = timezone.now()
    camp = campaign()
    group = FindingCategory.objects.create(code="G-ENV", name="环境卫生")
    rubbish = FindingCategory.objects.create(code="ENV-1", name="垃圾", group=group, deduction=Decimal(2))
    order = FindingCategory.objects.create(code="ORD", name="秩序", deduction=Decimal(1))
    market, lane = point_type("MKT", "市场", 1), point_type("LANE", "背街", 1)
    a, b = city.street_a1, city.street_b1
    p1, p2 = point(a, market), point(a, lane)
    insp = inspection(camp, city.city)
    D = Finding.Status
    f1 = make_finding(camp, rubbish, a, at(10, 5), status=D.DISPATCHED, pt=p1, insp=insp, lat=Decimal("30.1"))
    f2 = make_finding(camp, order, a, at(10, 6), pt=p2, insp=insp, lat=Decimal("30.2"))
    f3 = make_finding(camp, order, a, at(10, 7), status=D.CLOSED, closed=at(10, 20))
    f4 = make_finding(camp, order, a, at(10, 8), status=D.VOID)
    r1 = make_task(f1, dispatched=now - dt.timedelta(days=6), due=now - dt.timedelta(days=2))
    closed = []
    for dispatched, due, done, reworks in [(at(10, 1), at(10, 10), at(10, 8), 0), (at(10, 1), at(10, 10), at(10, 15), 1),
                                           (at(10, 2), at(10, 12), at(10, 12), 2)]:
        g = make_finding(camp, rubbish, a, at(9, 20), status=D.CLOSED, closed=done)
        closed.append(make_task(g, dispatched=dispatched, due=due, closed=done, reworks=reworks))
    g4 = make_finding(camp, rubbish, a, at(9, 2), status=D.CLOSED, closed=at(9, 9))
    t4 = make_task(g4, dispatched=at(9, 3), due=at(9, 10), closed=at(9, 9))
    h2 = make_finding(camp, order, a, at(9, 21), status=D.DISPATCHED, lat=Decimal("30.3"))
    r2 = make_task(h2, dispatched=now - dt.timedelta(days=8), due=now + dt.timedelta(days=2),
                   warn=now - dt.timedelta(hours=1))
    h3 = make_finding(camp, order, a, at(9, 22), status=D.DISPATCHED, lat=Decimal("30.4"))
    r3 = make_task(h3, dispatched=now - dt.timedelta(days=1), due=now + dt.timedelta(days=10),
                   warn=now + dt.timedelta(days=5))
    f5 = make_finding(camp, rubbish, b, at(10, 9))
    g5 = make_finding(camp, order, b, at(9, 25), status=D.CLOSED, closed=at(10, 25))
    t5 = make_task(g5, dispatched=at(10, 1), due=at(10, 5), closed=at(10, 25))
    da, db = city.district_a, city.district_b
    scores = SimpleNamespace(
        a_oct=make_score(camp, da, OCT, "90", 2, 2), b_oct=make_score(camp, db, OCT, "95", 1, 2, "red"),
        a_sep=make_score(camp, da, SEP, "80", 1, 2), b_sep=make_score(camp, db, SEP, "70", 2, 2, "black"),
    )
    return SimpleNamespace(
        camp=camp, group=group, rubbish=rubbish, order=order, market=market, lane=lane, p1=p1, p2=p2,
        f1=f1, f2=f2, f3=f3, f4=f4, f5=f5, r1=r1, r2=r2, r3=r3, closed=closed, t4=t4, t5=t5, h2=h2, h3=h3,
        scores=scores, insp=insp,
    )


def october(camp, **extra) -> dict:
    return {"campaign": camp.pk, "month": "2026-10", **extra}
