"""Builders for score tests: facts written straight to the tables with exact
times (the loop's services stamp "now"), in Asia/Shanghai."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from zoneinfo import ZoneInfo

from campaigns.models import Campaign, Point, PointType
from inspections.models import (
    ExtensionRequest, Finding, FindingCategory, Inspection, RectificationTask, TaskEvent, Visit,
)
from inspections.services import _is_repeat, findings_refresh_repeats

SH = ZoneInfo("Asia/Shanghai")
OCT = dt.date(2026, 10, 1)
_n = itertools.count(1)


def at(month: int, day: int, hour: int = 10, minute: int = 0, year: int = 2026) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=SH)


def campaign(**kw) -> Campaign:
    defaults = {"name": f"2026创城{next(_n)}", "starts_on": dt.date(2026, 1, 1), "ends_on": dt.date(2026, 12, 31),
                "status": Campaign.Status.ACTIVE}
    return Campaign.objects.create(**{**defaults, **kw})


def point_type(code: str, name: str, weight) -> PointType:
    return PointType.objects.create(code=code, name=name, weight=Decimal(str(weight)))


def category(code: str, name: str, deduction) -> FindingCategory:
    return FindingCategory.objects.create(code=code, name=name, deduction=Decimal(str(deduction)))


def point(unit, ptype, *, department=None, name=None) -> Point:
    return Point.objects.create(name=name or f"点位{next(_n)}", point_type=ptype, unit=unit, department=department)


def inspection(camp, unit) -> Inspection:
    return Inspection.objects.create(campaign=camp, title=f"暗访{next(_n)}", kind=Inspection.Kind.UNANNOUNCED,
                                     unit=unit, starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 12, 31))


def visit(insp, pt, when) -> Visit:
    return Visit.objects.create(inspection=insp, point=pt, unit=pt.unit, visited_at=when)


def finding(camp, cat, severity, *, visit_=None, unit=None, when=None, status=Finding.Status.NEW,
            source=None, **kw) -> Finding:
    pt = visit_.point if visit_ else None
    observed_at = when or visit_.visited_at
    # The stored repeat flag as finding_create keeps it: set on the new finding, refreshed on the later ones.
    kw.setdefault("is_repeat", _is_repeat(point=pt, category=cat, observed_at=observed_at,
                                          recurrence_of=kw.get("recurrence_of")))
    f = Finding.objects.create(
        campaign=camp, source=source or (Finding.Source.INSPECTION if visit_ else Finding.Source.HOTLINE),
        visit=visit_, point=pt, unit=unit or pt.unit, department=pt.department if pt else None, category=cat,
        severity=severity, description="问题", observed_at=observed_at, status=status, **kw,
    )
    findings_refresh_repeats(findings=[f])
    return f


def task(camp, cat, unit, *, due, dispatched=None, closed=None, status=None, reworks=(), extension=None,
         voided=False) -> RectificationTask:
    """A task on a fresh hotline finding. ``reworks``: times of verify-fail
    events; ``extension``: (decided_at, new due) of an approved extension."""
    f = finding(camp, cat, "moderate", unit=unit, when=(dispatched or due) - dt.timedelta(days=1))
    dispatched = dispatched or due - dt.timedelta(days=3)
    original_due = due
    if extension is not None:
        due = extension[1]
    if status is None:
        status = RectificationTask.Status.VOID if voided else (
            RectificationTask.Status.CLOSED if closed else RectificationTask.Status.IN_PROGRESS)
    t = RectificationTask.objects.create(
        finding=f, unit=unit, dispatched_at=dispatched, original_due_at=original_due, due_at=due, warn_at=due,
        status=status, closed_at=closed, rework_count=len(reworks), extension_count=1 if extension else 0,
    )
    for when in reworks:
        TaskEvent.objects.create(task=t, action=TaskEvent.Action.VERIFY_FAIL, from_status="submitted",
                                 to_status="returned", created_at=when)
    if extension is not None:
        from campaigns.models import User

        requester = User.objects.order_by("pk").first()
        ExtensionRequest.objects.create(
            task=t, reason="需要时间", requested_due_at=extension[1], previous_due_at=original_due,
            requested_by=requester, requested_at=extension[0] - dt.timedelta(hours=1),
            status=ExtensionRequest.Status.APPROVED, decided_by=requester, decided_at=extension[0],
        )
    return t
