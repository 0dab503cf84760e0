"""Dashboard rollups: small summary tables kept right by the services.

``FindingTally`` counts findings per campaign × responsible unit × observed
month (Asia/Shanghai) × category × point type × status; ``ClosureTally``
holds the closure facts per campaign × unit × closure month (findings closed
by their responsible unit; tasks closed, on time, reworked and their summed
dispatch-to-close time by their assigned unit). Both are keyed by unit id, so
moving a unit needs no rewrite: the dashboards sum a subtree by joining the
small unit table. Each transition of inspections/services.py and the intake
paths adds its delta in the same transaction (``INSERT … ON CONFLICT DO
UPDATE n = n + delta`` on PostgreSQL and SQLite alike); ``rebuild`` (the
``rebuild_rollups`` command) recomputes both from the raw rows. docs/dashboards.md."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from django.db import connection, models, transaction
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from .models import ClosureTally, FindingTally
from .upserts import SHANGHAI, insert_select, month_of, upsert_sums
from .upserts import trunc_month as _month

NONE = 0  # campaign / point type key of findings without one
# Campaign-wide rows (unit 0): what the city dashboard reads when its root is the only root, so the
# most common page sums a few hundred rows, not one per grid. A unit move changes none of them.
ALL_UNITS = 0
ALL_CATEGORIES = 0
TOTAL_TYPE = -1  # with unit 0 and category 0: the campaign's totals per month and status


FINDING_KEY = ["campaign_key", "month", "unit_id", "category_id", "point_type_key", "status"]
CLOSURE_KEY = ["campaign_key", "month", "unit_id"]
CLOSURE_SUMS = ["findings_closed", "tasks_closed", "tasks_on_time", "tasks_reworked", "task_micros"]


def _point_type_key(finding) -> int:
    if finding.point_id is None:
        return NONE
    point = finding._state.fields_cache.get("point")
    if point is None:
        from campaigns.models import Point

        return Point.objects.filter(pk=finding.point_id).values_list("point_type_id", flat=True).first() or NONE
    return point.point_type_id


def finding_key(finding, status: str | None = None) -> tuple:
    return (finding.campaign_id or NONE, month_of(finding.observed_at), finding.unit_id, finding.category_id,
            _point_type_key(finding), status or finding.status)


def _add_finding_rows(deltas: Counter) -> None:
    """Upsert leaf deltas with their campaign-wide rows (by category × point type, and totals)."""
    rows = Counter()
    for (c, m, u, k, p, s), n in deltas.items():
        rows[(c, m, u, k, p, s)] += n
        rows[(c, m, ALL_UNITS, k, p, s)] += n
        rows[(c, m, ALL_UNITS, ALL_CATEGORIES, TOTAL_TYPE, s)] += n
    upsert_sums(FindingTally, FINDING_KEY, ["n"], {k: (n,) for k, n in rows.items()})


def _add_closure_rows(deltas: dict[tuple, tuple]) -> None:
    rows: dict[tuple, list] = {}
    for (c, m, u), values in deltas.items():
        for key in ((c, m, u), (c, m, ALL_UNITS)):
            rows[key] = [a + b for a, b in zip(rows.get(key, [0] * len(values)), values)]
    upsert_sums(ClosureTally, CLOSURE_KEY, CLOSURE_SUMS, {k: tuple(v) for k, v in rows.items()})


def findings_added(findings) -> None:
    """New findings (one, or a bulk intake batch) in their current status."""
    _add_finding_rows(Counter(finding_key(f) for f in findings))


def finding_moved(finding, old_status: str, new_status: str | None = None) -> None:
    """A finding went from ``old_status`` to its current (or ``new_status``)."""
    new_status = new_status or finding.status
    if old_status == new_status:
        return
    old, new = finding_key(finding, old_status), finding_key(finding, new_status)
    _add_finding_rows(Counter({old: -1, new: 1}))


def finding_closed(finding) -> None:
    """A finding was closed: it counts in the month of ``finding.closed_at``, for its responsible unit."""
    key = (finding.campaign_id or NONE, month_of(finding.closed_at), finding.unit_id)
    _add_closure_rows({key: (1, 0, 0, 0, 0)})


def task_closed(task) -> None:
    """A task passed verification: its closure facts count in the month of ``task.closed_at``, for
    its assigned unit. Nothing of a closed task changes afterwards (deadline, reworks, unit id)."""
    key = (task.campaign_id or NONE, month_of(task.closed_at), task.unit_id)
    micros = (task.closed_at - task.dispatched_at) // dt.timedelta(microseconds=1)
    facts = (0, 1, int(task.closed_at <= task.due_at), int(task.rework_count > 0), micros)
    _add_closure_rows({key: facts})


# --- rebuild --------------------------------------------------------------------------------


def rebuild(finding_model=None, task_model=None, tally_model=None, closure_model=None, *,
            recurrence_column: bool = True) -> dict:
    """Recompute both rollups from the findings and tasks (three INSERT … SELECT, one transaction),
    and, with the current models, the findings' stored recurrence (``recurrence.refill``; with
    ``recurrence_column=False`` only its tally, for a loader that wrote ``recurred_at`` itself).
    The models may be a migration's historical ones."""
    from . import recurrence
    from .models import Finding, RectificationTask

    current = finding_model is None

    finding_model, task_model = finding_model or Finding, task_model or RectificationTask
    tally_model, closure_model = tally_model or FindingTally, closure_model or ClosureTally
    with transaction.atomic():
        if current:
            if recurrence_column:
                recurrence.refill()  # Finding.recurred_at and RecurrenceTally
            else:
                recurrence.refill_tally()
        tally_model.objects.all().delete()
        closure_model.objects.all().delete()
        tally = (finding_model.objects.order_by()
                 .values(c=Coalesce("campaign_id", NONE), m=_month("observed_at"),
                         u=F("unit_id"), k=F("category_id"), p=Coalesce("point__point_type_id", NONE), s=F("status"))
                 .annotate(n=Count("pk")).values_list("c", "m", "u", "k", "p", "s", "n"))
        insert_select(tally_model, ["campaign_key", "month", "unit", "category", "point_type_key", "status", "n"],
                       tally)
        table = connection.ops.quote_name(tally_model._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (campaign_key, month, unit_id, category_id, point_type_key, status, n)"
                f" SELECT campaign_key, month, %s, category_id, point_type_key, status, SUM(n) FROM {table}"
                f" WHERE unit_id <> %s GROUP BY campaign_key, month, category_id, point_type_key, status",
                [ALL_UNITS, ALL_UNITS])
            cursor.execute(
                f"INSERT INTO {table} (campaign_key, month, unit_id, category_id, point_type_key, status, n)"
                f" SELECT campaign_key, month, %s, %s, %s, status, SUM(n) FROM {table}"
                f" WHERE unit_id <> %s GROUP BY campaign_key, month, status",
                [ALL_UNITS, ALL_CATEGORIES, TOTAL_TYPE, ALL_UNITS])
        closed_findings = (
            finding_model.objects.order_by().filter(status="closed", closed_at__isnull=False)
            .values(c=Coalesce("campaign_id", NONE), m=_month("closed_at"), u=F("unit_id"))
            .annotate(n=Count("pk")).values_list("c", "m", "u", "n"))
        closures: dict[tuple, list] = {}
        for c, m, u, n in closed_findings:
            closures[(c, _as_date(m), u)] = [n, 0, 0, 0, 0]
        closed_tasks = (
            task_model.objects.order_by().filter(status="closed", closed_at__isnull=False)
            .values(c=Coalesce("campaign_id", NONE), m=_month("closed_at"), u=F("unit_id"))
            .annotate(n=Count("pk"), on_time=Count("pk", filter=Q(closed_at__lte=F("due_at"))),
                      reworked=Count("pk", filter=Q(rework_count__gt=0)),
                      spent=Sum(F("closed_at") - F("dispatched_at")))
            .values_list("c", "m", "u", "n", "on_time", "reworked", "spent"))
        for c, m, u, n, on_time, reworked, spent in closed_tasks:
            row = closures.setdefault((c, _as_date(m), u), [0, 0, 0, 0, 0])
            row[1:] = [n, on_time, reworked, (spent or dt.timedelta()) // dt.timedelta(microseconds=1)]
        for (c, m, u), values in list(closures.items()):
            total = closures.setdefault((c, m, ALL_UNITS), [0, 0, 0, 0, 0])
            total[:] = [a + b for a, b in zip(total, values)]
        closure_model.objects.bulk_create(
            [closure_model(campaign_key=c, month=m, unit_id=u, **dict(zip(CLOSURE_SUMS, v)))
             for (c, m, u), v in closures.items()], batch_size=2000)
    return {"finding_rows": tally_model.objects.count(), "closure_rows": len(closures)}


def _as_date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return timezone.localtime(value, SHANGHAI).date() if timezone.is_aware(value) else value.date()
    return value
