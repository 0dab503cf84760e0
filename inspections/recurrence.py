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

from django.db import connection
from django.db.models import OuterRef, Q, Subquery

LOCK_SPACE = 0x7265_6375  # "recu": the advisory-lock key space of (point, category) pairs


def first_back(finding_model):
    """The subquery: the first counting finding of the outer row's point and category after its closure."""
    return (finding_model.objects.order_by()
            .filter(point_id=OuterRef("point_id"), category_id=OuterRef("category_id"),
                    observed_at__gt=OuterRef("closed_at"))
            .exclude(status__in=["void", "duplicate"])
            .order_by("observed_at").values("observed_at")[:1])


def refresh(findings) -> None:
    """Recompute ``recurred_at`` for the closed findings sharing a (point, category) with ``findings``
    (just created, closed, voided or marked duplicate). Two statements whatever the batch size."""
    from .models import Finding

    pairs = sorted({(f.point_id, f.category_id) for f in findings if f.point_id is not None})
    if not pairs:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(k) FROM unnest(%s::bigint[]) AS k ORDER BY k",
                       [[LOCK_SPACE * 2 ** 32 + (p * 7919 + c) % 2 ** 31 for p, c in pairs]])
    match = Q()
    for point_id, category_id in pairs:
        match |= Q(point_id=point_id, category_id=category_id)
    (Finding.objects.order_by().filter(match, status=Finding.Status.CLOSED, closed_at__isnull=False)
     .update(recurred_at=Subquery(first_back(Finding))))


def refill(finding_model=None) -> int:
    """Recompute the column for every finding (one UPDATE); the model may be a migration's."""
    from .models import Finding

    finding_model = finding_model or Finding
    finding_model.objects.order_by().filter(~Q(status="closed") | Q(closed_at__isnull=True) | Q(point__isnull=True),
                                            recurred_at__isnull=False).update(recurred_at=None)
    return (finding_model.objects.order_by().filter(status="closed", closed_at__isnull=False, point__isnull=False)
            .update(recurred_at=Subquery(first_back(finding_model))))
