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
from django.db.models import Case, Count, F, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from .upserts import SHANGHAI, insert_select, upsert_sums

LOCK_SPACE = 0x7265_6375  # "recu": the advisory-lock key space of (point, category) pairs
WINDOWS = (30, 60, 90)
NOT_BACK = 0
TALLY_KEY = ["campaign_key", "closed_on", "unit_id", "department_id", "point_id", "bucket"]
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


def bucket(closed_at: dt.datetime, recurred_at: dt.datetime | None) -> int:
    """30, 60 or 90: the first window the return lies in; 0 when not within 90 days (or none)."""
    if recurred_at is not None:
        for days in WINDOWS:
            if recurred_at <= closed_at + dt.timedelta(days=days):
                return days
    return NOT_BACK


def tally_key(campaign_id, unit_id, department_id, point_id, closed_at, recurred_at) -> tuple:
    return (campaign_id or 0, timezone.localtime(closed_at, SHANGHAI).date(), unit_id, department_id or 0, point_id,
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
    if connection.vendor == "postgresql":  # SQLite (the embedded default) has one writer at a time anyway
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
    upsert_sums(RecurrenceTally, TALLY_KEY, ["n"], {k: (n,) for k, n in deltas.items()})


def tally_rows(finding_model):
    """RecurrenceTally's rows from the findings' stored recurrence, as a queryset (portable SQL)."""
    def within(days: int) -> Q:
        return Q(recurred_at__lte=F("closed_at") + dt.timedelta(days=days))

    return (finding_model.objects.order_by()
            .filter(status="closed", closed_at__isnull=False, point__isnull=False)
            .values(c=Coalesce("campaign_id", Value(0)), d=TruncDate("closed_at", tzinfo=SHANGHAI),
                    u=F("unit_id"), dp=Coalesce("department_id", Value(0)), p=F("point_id"),
                    b=Case(*[When(within(days), then=Value(days)) for days in WINDOWS], default=Value(NOT_BACK)))
            .annotate(n=Count("pk")).values_list("c", "d", "u", "dp", "p", "b", "n"))


def refill() -> int:
    """Recompute the column for every finding and RecurrenceTally from it: one statement clears the
    column, one set-based UPDATE sets it, one INSERT … SELECT fills the tally."""
    from .models import Finding, RecurrenceTally

    Finding.objects.order_by().filter(recurred_at__isnull=False).update(recurred_at=None)
    with connection.cursor() as cursor:
        cursor.execute(REFILL_SQL)
        n = cursor.rowcount
    refill_tally()
    return n


def refill_tally() -> None:
    """RecurrenceTally from the findings' stored ``recurred_at`` (a loader that wrote the column itself,
    such as the benchmark seeder, needs only this)."""
    from .models import Finding, RecurrenceTally

    RecurrenceTally.objects.all().delete()
    insert_select(RecurrenceTally, ["campaign_key", "closed_on", "unit", "department", "point", "bucket", "n"],
                   tally_rows(Finding))
