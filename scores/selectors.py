"""Reads for the score pages, the bulletin and the API."""

from __future__ import annotations

from django.db.models import OuterRef, Subquery

from campaigns.models import Campaign
from inspections.models import Finding

from . import compute
from .models import MonthlyScore, ScoreMonth
from .services import is_city_supervisor


def scores_for(user):
    """Scores the user may read, with their unit and the previous scored
    month's total and rank (as the user may see them) for the trend arrows."""
    visible = MonthlyScore.objects.visible_to(user)
    before = visible.filter(campaign_id=OuterRef("campaign_id"), unit_id=OuterRef("unit_id"),
                            month__lt=OuterRef("month")).order_by("-month")
    return visible.select_related("unit", "campaign").annotate(
        previous_total=Subquery(before.values("total")[:1]), previous_rank=Subquery(before.values("rank")[:1]),
    )


def appeals_for(user):
    """Appeals the user may read (their units' scope), with what the list shows."""
    from .models import Appeal

    return Appeal.objects.visible_to(user).select_related("unit").prefetch_related("attachments")


def months_for(user, campaign: Campaign):
    """Scored months of a campaign the user may see: published ones, and drafts for the city office."""
    months = ScoreMonth.objects.filter(campaign=campaign).select_related("scheme")
    return months if is_city_supervisor(user) else months.published()


def default_campaign(user) -> Campaign | None:
    """The newest active campaign, else the newest one."""
    visible = Campaign.objects.visible_to(user).order_by("-starts_on", "-id")
    return visible.active().first() or visible.first()


def costly_findings(score: MonthlyScore, user):
    """The findings that cost this unit field points in the month (those the user may see), with their deduction."""
    start, end = compute.month_bounds(score.month)
    scheme = score.scheme
    is_repeat, deduction = compute.finding_deduction(scheme)
    rows = compute.month_visit_findings(score.campaign, start, end)
    if score.kind == "department":
        rows = rows.filter(visit__point__department_id=score.unit_id)
    else:
        rows = rows.filter(visit__unit__path__startswith=score.unit.path)
    return (
        (rows & Finding.objects.visible_to(user))
        .select_related("category", "point__point_type", "unit")
        .annotate(repeat=is_repeat, deduction=deduction)
        .order_by("-deduction", "-observed_at", "-id")
    )


def peers(score: MonthlyScore, user):
    return scores_for(user).filter(campaign_id=score.campaign_id, month=score.month, kind=score.kind)


def accountability_records_for(user):
    """Accountability records of the units in the user's scope, with what the list shows."""
    from .models import AccountabilityRecord

    return AccountabilityRecord.objects.visible_to(user).select_related("unit", "created_by").order_by(
        "-decided_on", "-id")


def exposures_for(user):
    """Exposures of findings in the user's scope, with the finding's place, unit, category, the deadline and
    state of its current task and its number of before photos (one query for a page)."""
    from django.db.models import Count

    from inspections.models import FindingPhoto, RectificationTask

    from .models import Exposure

    task = RectificationTask.objects.filter(finding_id=OuterRef("finding_id")).exclude(status="void").order_by("-pk")
    return (Exposure.objects.filter(finding__in=Finding.objects.visible_to(user))
            .select_related("finding__category", "finding__point", "finding__unit", "created_by",
                            "photos_reviewed_by", "withdrawn_by")
            .annotate(task_due_at=Subquery(task.values("due_at")[:1]),
                      task_status=Subquery(task.values("status")[:1]),
                      photo_count=Subquery(FindingPhoto.objects.filter(finding_id=OuterRef("finding_id"))
                                           .order_by().values("finding_id").annotate(n=Count("pk")).values("n")))
            .order_by("-created_at", "-id"))


def period_scores_for(user):
    """Quarter, half-year and year scores the user may read, with their unit and period."""
    from .models import PeriodScore

    return PeriodScore.objects.visible_to(user).select_related("unit", "campaign", "period")


def periods_for(user, campaign: Campaign):
    """Scored quarters, half-years and years of a campaign the user may see (drafts for the city office)."""
    from .models import ScorePeriod

    periods = ScorePeriod.objects.filter(campaign=campaign).select_related("scheme")
    return periods if is_city_supervisor(user) else periods.published()
