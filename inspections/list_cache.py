"""The API finding and task lists in the response cache (civportal/listcache.py,
docs/performance.md "Response cache"): which tables each answer reads, which
parameters depend on the clock, and when a page's traffic lights change.
Imported by the app's ready(), so every process (web, worker, commands)
watches these tables for writes."""

from __future__ import annotations

from datetime import datetime

from campaigns.models import Campaign, Indicator, Point, PointType, Unit
from civportal.listcache import ListCache

from .models import ExtensionRequest, Finding, FindingCategory, FindingPhoto, RectificationTask


def _get(row, name):
    return row.get(name) if isinstance(row, dict) else getattr(row, name, None)


def next_light_change(tasks, now: datetime) -> datetime | None:
    """The first instant after ``now`` at which one of ``tasks`` changes colour
    (green → yellow at ``warn_at``, yellow → red after ``due_at``; closed tasks never)."""
    changes = []
    for task in tasks:
        if _get(task, "status") not in RectificationTask.OPEN_STATUSES:
            continue
        warn_at, due_at = _get(task, "warn_at"), _get(task, "due_at")
        if warn_at is not None and now < warn_at:
            changes.append(warn_at)
        elif due_at is not None and now <= due_at:
            changes.append(due_at)
    return min(changes, default=None)


def _finding_rows_expire(rows, now):
    return next_light_change([t for row in rows for t in (_get(row, "task_list") or [])], now)


def _task_rows_expire(rows, now):
    return next_light_change(rows, now)


# ``overdue`` and ``light`` select by the clock; ``inspection`` by the caller's own
# inspector assignments (concealed rounds): such requests are always computed.
FINDINGS = ListCache(
    "findings",
    models=[Finding, FindingPhoto, RectificationTask, FindingCategory, Unit, Point, PointType, Campaign, Indicator],
    uncached_params=["overdue", "inspection"],
    expires=_finding_rows_expire,
)
TASKS = ListCache(
    "tasks",
    models=[RectificationTask, Finding, ExtensionRequest, FindingCategory, Unit, Point, Campaign],
    uncached_params=["overdue", "light"],
    expires=_task_rows_expire,
)
