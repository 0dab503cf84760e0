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
from django.db.models import Count, F, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from civportal.summaries import insert_select, upsert_sums

from .models import ClosureTally, FindingTally
from .upserts import SHANGHAI, month_of
from .upserts import trunc_month as _month

NONE = 0  # campaign / point type key of findings without one
# Campaign-wide rows (unit 0): what the city dashboard reads when its root is the only root, so the
# most common page sums a few hundred rows, not one per grid. A unit move changes none of them.
ALL_UNITS = 0
ALL_CATEGORIES = 0
TOTAL_TYPE = -1  # with unit 0 and category 0: the campaign's totals per month and status


FINDING_KEY = ["campaign_key", "month", "unit_id", "category_id", "point_type_key", "status", "below"]
CLOSURE_KEY = ["campaign_key", "month", "unit_id", "below"]
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


MAX_DEPTH = 12  # deeper units than this have no "below" rows for their ancestors past it (the tree has five levels)


def ancestors(unit_ids) -> dict[int, list[int]]:
    """Each unit's proper ancestors (ids), by the units' current paths: one query."""
    from campaigns.models import Unit

    unit_ids = sorted({u for u in unit_ids if u})
    if not unit_ids:
        return {}
    table = connection.ops.quote_name(Unit._meta.db_table)
    prefixes = ", ".join(f"SUBSTR(u.path, 1, {Unit.steplen * k})" for k in range(1, MAX_DEPTH))
    out: dict[int, list[int]] = {u: [] for u in unit_ids}
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT u.id, a.id FROM {table} u JOIN {table} a ON a.path IN ({prefixes}) AND a.depth < u.depth"
                       f" WHERE u.id IN ({', '.join(['%s'] * len(unit_ids))})", unit_ids)
        for unit_id, ancestor_id in cursor.fetchall():
            out[unit_id].append(ancestor_id)
    return out


def _add_finding_rows(deltas: Counter) -> None:
    """Upsert leaf deltas with their ancestors' "below" rows and their campaign-wide rows (by category ×
    point type, and totals)."""
    above = ancestors(u for (_c, _m, u, _k, _p, _s) in deltas)
    rows = Counter()
    for (c, m, u, k, p, s), n in deltas.items():
        rows[(c, m, u, k, p, s, False)] += n
        for a in above.get(u, ()):
            rows[(c, m, a, k, p, s, True)] += n
        rows[(c, m, ALL_UNITS, k, p, s, False)] += n
        rows[(c, m, ALL_UNITS, ALL_CATEGORIES, TOTAL_TYPE, s, False)] += n
    upsert_sums(FindingTally, FINDING_KEY, ["n"], {k: (n,) for k, n in rows.items()})


def _add_closure_rows(deltas: dict[tuple, tuple]) -> None:
    above = ancestors(u for (_c, _m, u) in deltas)
    rows: dict[tuple, list] = {}
    for (c, m, u), values in deltas.items():
        keys = [(c, m, u, False), (c, m, ALL_UNITS, False), *[(c, m, a, True) for a in above.get(u, ())]]
        for key in keys:
            rows[key] = [a + b for a, b in zip(rows.get(key, [0] * len(values)), values)]
    upsert_sums(ClosureTally, CLOSURE_KEY, CLOSURE_SUMS, {k: tuple(v) for k, v in rows.items()})


def subtree_moved(unit_id: int, old_ancestors: list[int], new_ancestors: list[int]) -> None:
    """A unit moved with its subtree: its rows (own and below) leave the "below" rows of the ancestors
    it had and join those of the ancestors it has (set-based, one statement per table and side)."""
    gone = sorted(set(old_ancestors) - set(new_ancestors))
    came = sorted(set(new_ancestors) - set(old_ancestors))
    for model, key, sums in ((FindingTally, FINDING_KEY, ["n"]), (ClosureTally, CLOSURE_KEY, CLOSURE_SUMS)):
        for ids, sign in ((gone, -1), (came, 1)):
            if ids:
                add_subtree(model, key, sums, unit_id, ids, sign)


def add_subtree(model, key: list[str], sums: list[str], unit_id: int, targets: list[int], sign: int) -> None:
    """Add ``sign`` × the subtree rows of ``unit_id`` (own and below) to the "below" rows of ``targets``."""
    from campaigns.models import Unit

    table = connection.ops.quote_name(model._meta.db_table)
    units = connection.ops.quote_name(Unit._meta.db_table)
    rest = [c for c in key if c not in ("unit_id", "below")]
    cols = ", ".join(rest)
    totals = ", ".join(f"{sign} * SUM(t.{c})" for c in sums)
    sets = ", ".join(f"{c} = {table}.{c} + EXCLUDED.{c}" for c in sums)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({cols}, unit_id, below, {', '.join(sums)})"
            f" SELECT {', '.join('t.' + c for c in rest)}, a.id, %s, {totals} FROM {table} t, {units} a"
            f" WHERE t.unit_id = %s AND a.id IN ({', '.join(['%s'] * len(targets))})"
            f" GROUP BY {', '.join('t.' + c for c in rest)}, a.id ORDER BY {', '.join('t.' + c for c in rest)}, a.id"
            f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET {sets}", [True, unit_id, *targets])


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
    # A migration before 0021 (the "below" rows) passes models without the column.
    below = any(f.name == "below" for f in tally_model._meta.get_fields())
    own = {"b": Value(False)} if below else {}
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
                         u=F("unit_id"), k=F("category_id"), p=Coalesce("point__point_type_id", NONE), s=F("status"),
                         **own)
                 .annotate(n=Count("pk")).values_list("c", "m", "u", "k", "p", "s", *own, "n"))
        insert_select(tally_model, ["campaign_key", "month", "unit", "category", "point_type_key", "status",
                                    *(["below"] if below else []), "n"], tally)
        table = connection.ops.quote_name(tally_model._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (campaign_key, month, unit_id, category_id, point_type_key, status, n"
                f"{', below' if below else ''})"
                f" SELECT campaign_key, month, %s, category_id, point_type_key, status, SUM(n)"
                f"{', %s' if below else ''} FROM {table}"
                f" WHERE unit_id <> %s GROUP BY campaign_key, month, category_id, point_type_key, status",
                [ALL_UNITS, *([False] if below else []), ALL_UNITS])
            cursor.execute(
                f"INSERT INTO {table} (campaign_key, month, unit_id, category_id, point_type_key, status, n"
                f"{', below' if below else ''})"
                f" SELECT campaign_key, month, %s, %s, %s, status, SUM(n){', %s' if below else ''} FROM {table}"
                f" WHERE unit_id <> %s GROUP BY campaign_key, month, status",
                [ALL_UNITS, ALL_CATEGORIES, TOTAL_TYPE, *([False] if below else []), ALL_UNITS])
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
        if below:
            fill_below(tally_model, FINDING_KEY, ["n"])
            fill_below(closure_model, CLOSURE_KEY, CLOSURE_SUMS)
    return {"finding_rows": tally_model.objects.count(), "closure_rows": closure_model.objects.count()}


def fill_below(model, key: list[str], sums: list[str]) -> None:
    """The "below" rows from the own rows: for each depth, every unit deeper than it adds its own rows
    to its ancestor at that depth (one INSERT … SELECT per depth, an equality join on the path prefix)."""
    from campaigns.models import Unit

    table = connection.ops.quote_name(model._meta.db_table)
    units = connection.ops.quote_name(Unit._meta.db_table)
    rest = [c for c in key if c not in ("unit_id", "below")]
    group = ", ".join(f"t.{c}" for c in rest)
    deepest = Unit.objects.aggregate(d=models.Max("depth"))["d"] or 0
    with connection.cursor() as cursor:
        for depth in range(1, deepest):
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(rest)}, unit_id, below, {', '.join(sums)})"
                f" SELECT {group}, a.id, %s, {', '.join(f'SUM(t.{c})' for c in sums)}"
                f" FROM {table} t JOIN {units} u ON u.id = t.unit_id"
                f" JOIN {units} a ON a.path = SUBSTR(u.path, 1, %s) AND a.depth = %s"
                f" WHERE u.depth > %s AND t.below = %s GROUP BY {group}, a.id",
                [True, Unit.steplen * depth, depth, depth, False])


def _as_date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return timezone.localtime(value, SHANGHAI).date() if timezone.is_aware(value) else value.date()
    return value
