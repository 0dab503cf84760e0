"""回头看, stored: ``Finding.recurred_at`` — for a closed finding at a point, the observed_at of the
first counting finding (not void, not duplicate) of the same category at the same point observed
after its closure; NULL when none (and for findings not closed).

It depends only on the findings of one (point, category) pair, so every write that can change it —
a finding created (services, bulk intake, Open311, imports), closed, voided or marked duplicate —
calls ``refresh`` with the findings it wrote: one UPDATE recomputes the column for the closed
findings of their pairs (a few rows each). Writers of the same pair are serialised by a
transaction-level advisory lock taken first (pairs sorted), so two transactions recording and
closing at one point at once cannot each miss the other's row. Loaders that bypass the services
(demo data, the benchmark seeder) call ``refill`` (``rebuild_rollups`` does). docs/dashboards.md."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from django.db import connection
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from .rollups import SHANGHAI, _upsert

LOCK_SPACE = 0x7265_6375  # "recu": the advisory-lock key space of (point, category) pairs
WINDOWS = (30, 60, 90)
NOT_BACK = 0
TALLY_KEY = ["campaign_key", "closed_on", "unit_id", "department_id", "point_id", "bucket"]
# The whole RecurrenceTally from the findings (rebuild; the migration that made the table has a copy).
TALLY_SQL = """
INSERT INTO inspections_recurrencetally (campaign_key, closed_on, unit_id, department_id, point_id, bucket, n)
SELECT COALESCE(campaign_id, 0), (closed_at AT TIME ZONE 'Asia/Shanghai')::date, unit_id, department_id, point_id,
       CASE WHEN recurred_at <= closed_at + interval '30 days' THEN 30
            WHEN recurred_at <= closed_at + interval '60 days' THEN 60
            WHEN recurred_at <= closed_at + interval '90 days' THEN 90 ELSE 0 END AS bucket, COUNT(*)
FROM inspections_finding
WHERE status = 'closed' AND closed_at IS NOT NULL AND point_id IS NOT NULL
GROUP BY 1, 2, 3, 4, 5, 6
"""


def bucket(closed_at: dt.datetime, recurred_at: dt.datetime | None) -> int:
    """30, 60 or 90: the first window the return lies in; 0 when not within 90 days (or none)."""
    if recurred_at is not None:
        for days in WINDOWS:
            if recurred_at <= closed_at + dt.timedelta(days=days):
                return days
    return NOT_BACK


def tally_key(campaign_id, unit_id, department_id, point_id, closed_at, recurred_at) -> tuple:
    return (campaign_id or 0, timezone.localtime(closed_at, SHANGHAI).date(), unit_id, department_id, point_id,
            bucket(closed_at, recurred_at))


def first_back(finding_model):
    """The subquery: the first counting finding of the outer row's point and category after its closure."""
    return (finding_model.objects.order_by()
            .filter(point_id=OuterRef("point_id"), category_id=OuterRef("category_id"),
                    observed_at__gt=OuterRef("closed_at"))
            .exclude(status__in=["void", "duplicate"])
            .order_by("observed_at").values("observed_at")[:1])


def refresh(findings, *, closed=()) -> None:
    """Recompute ``recurred_at`` for the closed findings sharing a (point, category) with ``findings``
    (just created, closed, voided or marked duplicate) and move their RecurrenceTally counts;
    ``closed``: those of them closed just now (not yet counted). Four statements whatever the batch."""
    from .models import Finding, RecurrenceTally

    pairs = sorted({(f.point_id, f.category_id) for f in findings if f.point_id is not None})
    if not pairs:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(k) FROM unnest(%s::bigint[]) AS k ORDER BY k",
                       [[LOCK_SPACE * 2 ** 32 + (p * 7919 + c) % 2 ** 31 for p, c in pairs]])
    match = Q()
    for point_id, category_id in pairs:
        match |= Q(point_id=point_id, category_id=category_id)
    rows = (Finding.objects.order_by().filter(match, status=Finding.Status.CLOSED, closed_at__isnull=False)
            .annotate(now=Subquery(first_back(Finding)))
            .values_list("pk", "campaign_id", "unit_id", "department_id", "point_id", "closed_at", "recurred_at", "now"))
    new = {f.pk for f in closed}
    deltas, changed = Counter(), []
    for pk, campaign_id, unit_id, department_id, point_id, closed_at, before, after in rows:
        if pk not in new and before == after:
            continue
        changed.append(pk)
        if pk not in new:
            deltas[tally_key(campaign_id, unit_id, department_id, point_id, closed_at, before)] -= 1
        deltas[tally_key(campaign_id, unit_id, department_id, point_id, closed_at, after)] += 1
    if not changed:
        return
    Finding.objects.filter(pk__in=changed).update(recurred_at=Subquery(first_back(Finding)))
    _upsert(RecurrenceTally, TALLY_KEY, ["n"], {k: (n,) for k, n in deltas.items()})


def refill() -> int:
    """Recompute the column for every finding (one UPDATE) and RecurrenceTally from it."""
    from .models import Finding, RecurrenceTally

    Finding.objects.order_by().filter(~Q(status="closed") | Q(closed_at__isnull=True) | Q(point__isnull=True),
                                      recurred_at__isnull=False).update(recurred_at=None)
    n = (Finding.objects.order_by().filter(status="closed", closed_at__isnull=False, point__isnull=False)
         .update(recurred_at=Subquery(first_back(Finding))))
    RecurrenceTally.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute(TALLY_SQL)
    return n
