"""The API finding and task lists in the response cache (civportal/listcache.py,
docs/performance.md "Response cache"): which tables each answer reads, which
parameters depend on the clock, and when a page's traffic lights change.
Imported by the app's ready(), so every process (web, worker, commands)
watches these tables for writes."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Min

from campaigns.models import Campaign, Indicator, Point, PointType, Unit
from civportal.listcache import ListCache, watch

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


def next_deadline(tasks, params, now: datetime) -> datetime | None:
    """The first instant after ``now`` at which a selection by ``params`` (``overdue``:
    open and ``due_at < now``; ``light``: also yellow from ``warn_at``) over the open
    tasks of ``tasks`` changes by itself: the nearest ``due_at`` (and, for ``light``,
    ``warn_at``) still to come. One index range each (the open tasks' partial indexes
    on ``due_at``; ``task_status_warn_idx``); None when no deadline is ahead."""
    open_tasks = tasks.filter(status__in=RectificationTask.OPEN_STATUSES).order_by()
    changes = [open_tasks.filter(due_at__gte=now).aggregate(at=Min("due_at"))["at"]]
    if "light" in params:
        changes.append(open_tasks.filter(warn_at__gt=now).aggregate(at=Min("warn_at"))["at"])
    return min((c for c in changes if c is not None), default=None)


def _task_clock(request, params, now):
    # The caller's tasks (the list's scope): another scope's deadlines do not end this entry.
    return next_deadline(RectificationTask.objects.visible_to(request.user), params, now)


def _finding_clock(request, params, now):
    # A finding is overdue through any of its tasks, whichever unit a task went to: every
    # open task's deadline counts (one probe of task_open_due_idx).
    return next_deadline(RectificationTask.objects.all(), params, now)


# ``overdue`` and ``light`` select by the clock: such answers are kept until the next
# deadline of an open task (``next_deadline``), so never past the instant they change.
# ``inspection`` selects by the caller's own inspector assignments (concealed rounds):
# always computed.
FINDINGS = ListCache(
    "findings",
    models=[Finding, FindingPhoto, RectificationTask, FindingCategory, Unit, Point, PointType, Campaign, Indicator],
    uncached_params=["inspection"],
    expires=_finding_rows_expire,
    clock_params=["overdue"],
    clock_changes=_finding_clock,
)
TASKS = ListCache(
    "tasks",
    models=[RectificationTask, Finding, ExtensionRequest, FindingCategory, Unit, Point, Campaign],
    expires=_task_rows_expire,
    clock_params=["overdue", "light"],
    clock_changes=_task_clock,
)
# The filter forms' option lists (civportal/filters.py, ``record_options``): kept under these tables'
# generations, so every process that may write them must watch them.
OPTIONS = watch(Campaign, FindingCategory)
