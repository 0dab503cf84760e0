"""回头看, stored: ``Finding.recurred_at`` — for a closed finding at a point, the observed_at of the
first counting finding (not void, not duplicate) of the same category at the same point observed
after its closure; NULL when none (and for findings not closed).

It depends only on the findings of one (point, category) pair, so every write that can change it —
a finding created (services, bulk intake, Open311, imports), closed, voided or marked duplicate —
calls ``refresh`` with the findings it wrote: one UPDATE recomputes the column for the closed
findings of their pairs (a few rows each). Writers at the same point are serialised by a
transaction-level advisory lock taken first (points sorted), so two transactions recording and
closing at one point at once cannot each miss the other's row. ``refresh`` also keeps the panel's
two summaries: ``RecurrenceTally`` (closures per campaign × month × unit × department × window,
with the campaign's totals at unit 0) and ``ChronicPoint`` (the 顽疾点位 of each panel window,
recomputed for the points and windows the write touched). Loaders that bypass the services (demo
data, the benchmark seeder) call ``refill`` (``rebuild_rollups`` does). docs/dashboards.md."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

from django.db import connection
from django.db.models import Case, Count, F, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from civportal.summaries import insert_select, upsert_sums

from .upserts import SHANGHAI, month_of, trunc_month

LOCK_SPACE = 0x7265_6375  # "recu": the advisory-lock key space of points
WINDOWS = (30, 60, 90)
NOT_BACK = 0
ALL_UNITS = 0  # RecurrenceTally rows of unit 0 (department 0): the campaign's totals
CHRONIC_MIN_RETURNS = 2  # 顽疾点位: a point where at least this many closed problems came back within 90 days
TALLY_KEY = ["campaign_key", "month", "unit_id", "department_id", "bucket"]
# Every closed finding's return in one set-based statement (a join of each (point, category) pair's
# findings with each other), whatever indexes exist: the benchmark seeder refills before it builds them.
REFILL_SQL = """
UPDATE inspections_finding SET recurred_at = back.at
FROM (SELECT c.id AS id, MIN(r.observed_at) AS at
      FROM inspections_finding c
      JOIN inspections_finding r ON r.point_id = c.point_id AND r.category_id = c.category_id
                                AND r.observed_at > c.closed_at AND r.status NOT IN ('void', 'duplicate')
      WHERE c.status = 'closed' AND c.closed_at IS NOT NULL AND c.point_id IS NOT NULL
      GROUP BY c.id) AS back
WHERE inspections_finding.id = back.id
"""


def window_start(month: dt.date) -> dt.date:
    """The first month of the recurrence panel's window that ends with ``month`` (its first day):
    the month 62 days before — the closures of the last three or four months."""
    return (month - dt.timedelta(days=62)).replace(day=1)


def add_months(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def windows_of(month: dt.date) -> list[dt.date]:
    """The panel windows (by last month) that hold the closures of ``month``."""
    return [end for end in (add_months(month, k) for k in range(4)) if window_start(end) <= month]


def bucket(closed_at: dt.datetime, recurred_at: dt.datetime | None) -> int:
    """30, 60 or 90: the first window the return lies in; 0 when not within 90 days (or none)."""
    if recurred_at is not None:
        for days in WINDOWS:
            if recurred_at <= closed_at + dt.timedelta(days=days):
                return days
    return NOT_BACK


def tally_key(campaign_id, unit_id, department_id, closed_at, recurred_at) -> tuple:
    return (campaign_id or 0, month_of(closed_at), unit_id, department_id or 0, bucket(closed_at, recurred_at))


def first_back(finding_model):
    """The subquery: the first counting finding of the outer row's point and category after its closure."""
    return (finding_model.objects.order_by()
            .filter(point_id=OuterRef("point_id"), category_id=OuterRef("category_id"),
                    observed_at__gt=OuterRef("closed_at"))
            .exclude(status__in=["void", "duplicate"])
            .order_by("observed_at").values("observed_at")[:1])


def refresh(findings, *, closed=()) -> None:
    """Recompute ``recurred_at`` for the closed findings sharing a (point, category) with ``findings``
    (just created, closed, voided or marked duplicate), move their RecurrenceTally counts and
    recompute the ChronicPoint rows of their points' windows; ``closed``: those of them closed just
    now (not yet counted). Four statements whatever the batch, three more when a count moved."""
    from .models import Finding, RecurrenceTally

    pairs = sorted({(f.point_id, f.category_id) for f in findings if f.point_id is not None})
    if not pairs:
        return
    if connection.vendor == "postgresql":  # SQLite (the embedded default) has one writer at a time anyway
        # By point, not pair: the 顽疾点位 rows of a point sum all its categories.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(k) FROM unnest(%s::bigint[]) AS k ORDER BY k",
                           [sorted({LOCK_SPACE * 2 ** 32 + p % 2 ** 31 for p, _c in pairs})])
    match = Q()
    for point_id, category_id in pairs:
        match |= Q(point_id=point_id, category_id=category_id)
    rows = (Finding.objects.order_by().filter(match, status=Finding.Status.CLOSED, closed_at__isnull=False)
            .annotate(now=Subquery(first_back(Finding)))
            .values_list("pk", "campaign_id", "unit_id", "department_id", "point_id", "closed_at", "recurred_at", "now"))
    new = {f.pk for f in closed}
    deltas, changed, touched = Counter(), [], set()
    for pk, campaign_id, unit_id, department_id, point_id, closed_at, before, after in rows:
        if pk not in new and before == after:
            continue
        changed.append(pk)
        if pk not in new:
            deltas[tally_key(campaign_id, unit_id, department_id, closed_at, before)] -= 1
        deltas[tally_key(campaign_id, unit_id, department_id, closed_at, after)] += 1
        touched.add((campaign_id or 0, point_id, month_of(closed_at)))
    if not changed:
        return
    Finding.objects.filter(pk__in=changed).update(recurred_at=Subquery(first_back(Finding)))
    upsert_sums(RecurrenceTally, TALLY_KEY, ["n"], {k: (n,) for k, n in with_totals(deltas).items()})
    refresh_chronic(touched)


def with_totals(deltas: Counter) -> Counter:
    """Leaf deltas with the campaign-wide rows (unit 0, department 0) they move."""
    rows = Counter()
    for (c, m, u, d, b), n in deltas.items():
        rows[(c, m, u, d, b)] += n
        rows[(c, m, ALL_UNITS, 0, b)] += n
    return rows


def refresh_chronic(touched: set[tuple]) -> None:
    """Recompute the ChronicPoint rows of the panel windows holding the closures ``touched``
    ((campaign key, point, closure month)), from those points' closed findings (one read, one
    delete, one insert)."""
    from .models import ChronicPoint, Finding

    targets = {(c, p, end) for c, p, m in touched for end in windows_of(m)}
    first = min(window_start(end) for _c, _p, end in targets)
    last = max(end for _c, _p, end in targets)
    start = dt.datetime.combine(first, dt.time(), tzinfo=SHANGHAI)
    stop = dt.datetime.combine(add_months(last, 1), dt.time(), tzinfo=SHANGHAI)
    cells = Counter()
    closures = (Finding.objects.order_by()
                .filter(point_id__in={p for _c, p, _e in targets}, status=Finding.Status.CLOSED,
                        closed_at__gte=start, closed_at__lt=stop)
                .values_list("campaign_id", "point_id", "unit_id", "department_id", "closed_at", "recurred_at"))
    for campaign_id, point_id, unit_id, department_id, closed_at, recurred_at in closures:
        cells[(campaign_id or 0, month_of(closed_at), point_id, unit_id, department_id or 0,
               bucket(closed_at, recurred_at))] += 1
    rows = chronic_rows(cells, keep=targets)
    gone = Q()
    for c, p, end in sorted(targets):
        gone |= Q(campaign_key=c, point_id=p, month=end)
    ChronicPoint.objects.filter(gone).delete()
    ChronicPoint.objects.bulk_create([ChronicPoint(**row) for row in rows])


def chronic_rows(cells: Counter, *, keep=None) -> list[dict]:
    """ChronicPoint rows from closure counts {(campaign key, month, point, unit, department, bucket): n}:
    for every panel window, the points whose returns within 90 days reach CHRONIC_MIN_RETURNS, one row
    per unit and department. ``keep``: only these (campaign key, point, window) triples."""
    windows: dict[tuple, dict[tuple, list]] = defaultdict(dict)
    for (c, m, p, u, d, b), n in cells.items():
        for end in windows_of(m):
            if keep is not None and (c, p, end) not in keep:
                continue
            sums = windows[(c, end, p)].setdefault((u, d), [0, 0, 0, 0])
            sums[0] += n
            for i, days in enumerate(WINDOWS, start=1):
                if b != NOT_BACK and b <= days:
                    sums[i] += n
    return [{"campaign_key": c, "month": end, "point_id": p, "unit_id": u, "department_id": d, "closed": s[0],
             "back_30": s[1], "back_60": s[2], "back_90": s[3]}
            for (c, end, p), by_unit in windows.items()
            if sum(s[3] for s in by_unit.values()) >= CHRONIC_MIN_RETURNS
            for (u, d), s in by_unit.items()]


def _bucket_case() -> Case:
    def within(days: int) -> Q:
        return Q(recurred_at__lte=F("closed_at") + dt.timedelta(days=days))

    return Case(*[When(within(days), then=Value(days)) for days in WINDOWS], default=Value(NOT_BACK))


def _closed_at_points(finding_model):
    return finding_model.objects.order_by().filter(status="closed", closed_at__isnull=False, point__isnull=False)


def tally_rows(finding_model):
    """RecurrenceTally's unit rows from the findings' stored recurrence, as a queryset (portable SQL)."""
    return (_closed_at_points(finding_model)
            .values(c=Coalesce("campaign_id", Value(0)), m=trunc_month("closed_at"),
                    u=F("unit_id"), dp=Coalesce("department_id", Value(0)), b=_bucket_case())
            .annotate(n=Count("pk")).values_list("c", "m", "u", "dp", "b", "n"))


def refill() -> int:
    """Recompute the column for every finding and the summaries from it: one statement clears the
    column, one set-based UPDATE sets it, then ``refill_tally``."""
    from .models import Finding

    Finding.objects.order_by().filter(recurred_at__isnull=False).update(recurred_at=None)
    with connection.cursor() as cursor:
        cursor.execute(REFILL_SQL)
        n = cursor.rowcount
    refill_tally()
    return n


def refill_tally(finding_model=None, tally_model=None, chronic_model=None) -> None:
    """RecurrenceTally and ChronicPoint from the findings' stored ``recurred_at`` (a loader that wrote
    the column itself, such as the benchmark seeder, needs only this): two INSERT … SELECT for the
    tally; one grouped read per (campaign, month, point, unit, department, window) for the 顽疾点位,
    whose windows are summed here. The models may be a migration's historical ones."""
    from .models import ChronicPoint, Finding, RecurrenceTally

    finding_model = finding_model or Finding
    tally_model, chronic_model = tally_model or RecurrenceTally, chronic_model or ChronicPoint
    tally_model.objects.all().delete()
    chronic_model.objects.all().delete()
    insert_select(tally_model, ["campaign_key", "month", "unit", "department", "bucket", "n"],
                  tally_rows(finding_model))
    table = connection.ops.quote_name(tally_model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (campaign_key, month, unit_id, department_id, bucket, n)"
            f" SELECT campaign_key, month, %s, 0, bucket, SUM(n) FROM {table}"
            f" WHERE unit_id <> %s GROUP BY campaign_key, month, bucket", [ALL_UNITS, ALL_UNITS])
    cells = Counter()
    per_point = (_closed_at_points(finding_model)
                 .values(c=Coalesce("campaign_id", Value(0)), m=trunc_month("closed_at"), p=F("point_id"),
                         u=F("unit_id"), dp=Coalesce("department_id", Value(0)), b=_bucket_case())
                 .annotate(n=Count("pk")).values_list("c", "m", "p", "u", "dp", "b", "n"))
    for c, m, p, u, d, b, n in per_point.iterator(chunk_size=10000):
        cells[(c, _as_date(m), p, u, d, b)] += n
    chronic_model.objects.bulk_create([chronic_model(**row) for row in chronic_rows(cells)], batch_size=2000)


def _as_date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return timezone.localtime(value, SHANGHAI).date() if timezone.is_aware(value) else value.date()
    return value
