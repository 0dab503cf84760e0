"""Reads for the planning pages: scoped querysets with everything a list row shows."""

from django.db.models import Count, Q

from ..models import Campaign, ImportJob, Indicator, Point, WorkItem


def work_items(user):
    return (
        WorkItem.objects.visible_to(user)
        .select_related("indicator", "lead_unit", "campaign")
        .prefetch_related("cooperating_units")
    )


def points(user):
    return Point.objects.visible_to(user).select_related("point_type", "unit", "department")


def ledger_summary(campaign: Campaign, user, today) -> dict:
    """Counts per status and overdue for the campaign's visible items (one query)."""
    rows = WorkItem.objects.visible_to(user).filter(campaign=campaign).aggregate(
        total=Count("pk"),
        overdue=Count("pk", filter=Q(deadline__lt=today, status__in=WorkItem.OPEN_STATUSES)),
        **{status: Count("pk", filter=Q(status=status)) for status in WorkItem.Status.values},
    )
    return rows


def edition_tree(system) -> list[Indicator]:
    """The whole tree in path order with rolled-up points (two queries)."""
    return list(system.indicators.with_rollup().prefetch_related("point_types").order_by("path"))


def import_jobs(user):
    jobs = ImportJob.objects.all()
    if not user.is_authenticated:
        return jobs.none()
    return jobs if user.is_superuser else jobs.filter(created_by=user)
