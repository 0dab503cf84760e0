"""Reads shared by the pages and the API: scoped querysets with everything a
list row shows loaded up front (no queries per row)."""

from __future__ import annotations

import datetime

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, Subquery
from django.utils import timezone

from campaigns.models import Point

from .models import (
    ExtensionRequest, Finding, FindingCategory, FindingPhoto, Inspection, RectificationTask, Submission,
    SubmissionPhoto, TaskEvent, Visit,
)


def categories():
    return FindingCategory.objects.select_related("group", "supervising_department")


def inspections_for(user):
    return (
        Inspection.objects.visible_to(user).select_related("campaign", "unit")
        .prefetch_related("inspectors")
        .annotate(visit_count=Count("visits", distinct=True),
                  finding_count=Count("visits__findings", distinct=True))
        .order_by("-starts_on", "-id")
    )


VISIT_UNCOUNTED = ("void", "duplicate")  # a visit's finding_count leaves these out


def visits_for(user, *, lean: bool = False):
    """Scoped visits. ``lean=True`` (the API list) leaves out the per-visit finding
    count: as an annotation it joins and groups every visit in scope before the page
    is cut (O(table) at bench-1M); the list counts the page's findings instead
    (``visit_finding_counts``)."""
    qs = Visit.objects.visible_to(user)
    if lean:
        return qs.select_related("point", "unit").order_by("-visited_at", "-id")
    return (
        qs.select_related("inspection", "point", "point__point_type", "unit", "inspector")
        .annotate(finding_count=Count("findings", filter=~Q(findings__status__in=VISIT_UNCOUNTED)))
        .order_by("-visited_at", "-id")
    )


def visit_finding_counts(visit_ids) -> dict[int, int]:
    """``finding_count`` of each of a page's visits (void and duplicate findings left out): one query."""
    return dict(Finding.objects.filter(visit_id__in=list(visit_ids)).exclude(status__in=VISIT_UNCOUNTED)
                .order_by().values("visit_id").annotate(n=Count("pk")).values_list("visit_id", "n"))


def open_task_prefetch():
    return Prefetch(
        # The light comes from RectificationTask.light_at() in Python: the with_light() CASE
        # annotations cost more to compile (Django hashes them per query) than to compute.
        "tasks", queryset=RectificationTask.objects.select_related("unit").order_by("-dispatched_at"),
        to_attr="task_list",
    )


# What list rows read (serializers, list templates): every further join multiplies the
# planner's work (bench, 7 joins: 47 ms planning for 2 ms execution; 3 joins: 0.8 ms).
FINDING_LIST_RELATED = ("category", "unit", "point")
FINDING_DETAIL_RELATED = ("category", "category__group", "unit", "department", "point", "visit")
TASK_LIST_RELATED = ("unit", "finding", "finding__category", "finding__point")


def findings_for(user, *, photos: bool = True, lean: bool = False, task_list: bool = True):
    """Scoped findings; list pages that show no photos pass ``photos=False`` (one query less),
    lists pass ``lean=True`` (join only what a list row reads); one that reads the tasks itself
    passes ``task_list=False`` (no prefetch of the open task). (The finding page reads its
    relations with the finding itself, as subqueries: ``views.FINDING_PAGE``.)"""
    related = FINDING_LIST_RELATED if lean else (*FINDING_DETAIL_RELATED, "campaign")
    qs = Finding.objects.visible_to(user).select_related(*related)
    if task_list:
        qs = qs.prefetch_related(open_task_prefetch())
    return qs.prefetch_related("photos") if photos else qs


def tasks_for(user, *, pending_rows: bool = True, lean: bool = False):
    """Scoped tasks with their light. ``pending_rows`` prefetches the pending
    extension request itself (API, detail); list pages only need the
    ``has_pending_extension`` flag, computed in the same query. Lists pass
    ``lean=True`` (join only what a list row reads)."""
    return _task_rows(RectificationTask.objects.visible_to(user), pending_rows=pending_rows, lean=lean)


def _task_rows(qs, *, pending_rows: bool, lean: bool):
    pending = ExtensionRequest.objects.filter(status=ExtensionRequest.Status.PENDING)
    related = TASK_LIST_RELATED if lean else (*TASK_LIST_RELATED, "finding__unit")
    qs = qs.select_related(*related)
    if not lean:  # lists annotate the light only to filter or sort by it (TaskFilterSet, pages)
        qs = qs.with_light()
    if pending_rows:
        return qs.prefetch_related(Prefetch("extension_requests", queryset=pending, to_attr="pending_extensions"))
    return qs.annotate(has_pending_extension=Exists(pending.filter(task=OuterRef("pk"))))


def workbench_rows(user, *, open_only: bool = True):
    """The workbench's rows, unordered: open tasks assigned to a unit where the
    user acts on tasks (handler, head or supervisor over it). Units a user only
    reads (an assigned leader's, an inspector's) give no rows: nothing there is
    theirs to do. Pages read them in urgency order with ``urgency.urgency_page``
    (indexed slices, keyset pages), whose open slices already keep open tasks
    only: they pass ``open_only=False`` rather than repeat the status test.

    The acting units are units of the user's own memberships, so inside their
    scope: the rows are filtered by those units' paths alone, not also by the
    scope rule (``unit_path LIKE p OR department_path LIKE p``). Repeating a test
    the planner cannot see is implied makes it multiply the two selectivities,
    underestimate a district's open tasks a hundredfold and sort all of them
    instead of reading the deadline index in order (bench-1M: 64 ms instead of 1)."""
    from campaigns.models import Membership
    from campaigns.scope import scope_of

    scope = scope_of(user)
    if scope.paths is None:  # everything: the scope rule filters nothing
        qs = tasks_for(user, pending_rows=False, lean=True)
    else:
        acting = scope.role_paths([Membership.Role.HANDLER, Membership.Role.HEAD, Membership.Role.SUPERVISOR])
        within = Q(pk__in=[])
        for path in acting:
            within |= Q(unit_path__startswith=path)
        qs = _task_rows(RectificationTask.objects.filter(within), pending_rows=False, lean=True)
    return qs.open() if open_only else qs


def workbench_tasks(user):
    """``workbench_rows`` most urgent first (red, yellow, green; then by deadline),
    as one sorted queryset (the ``with_light()`` CASE: fine for a few rows of a
    filtered section, not for pages: those use ``urgency.urgency_page``)."""
    return workbench_rows(user).with_light().order_by("urgency", "due_at", "id")


# The home page's sections: (key, filter on workbench_tasks, query string of the same filter on the workbench).
def workbench_sections(now=None):
    now = now or timezone.now()
    today = timezone.localdate(now)
    start = timezone.make_aware(datetime.datetime.combine(today, datetime.time.min))
    end = start + datetime.timedelta(days=1)
    S = RectificationTask.Status
    day = today.isoformat()
    return [
        ("due_today", Q(due_at__gte=start, due_at__lt=end), f"due_from={day}&due_to={day}"),
        ("overdue", Q(due_at__lt=now), "overdue=true"),
        ("returned", Q(status=S.RETURNED), f"status={S.RETURNED}"),
        ("awaiting", Q(status=S.ASSIGNED), f"status={S.ASSIGNED}"),
        ("extension", Q(has_pending_extension=True), "extension_pending=true"),
        ("submitted", Q(status=S.SUBMITTED), f"status={S.SUBMITTED}"),
    ]


def workbench_summary(user, *, rows: int = 3, now=None) -> dict:
    """Capped counts of every section in one query (``urgency.capped_counts``: each
    stops after ``COUNT_CAP`` + 1 rows; ``more`` says it did), then at most ``rows``
    rows of each non-empty section in urgency order (``urgency.urgency_page``: one
    query each, reading indexed slices: at most 7 in all, whatever the number of tasks)."""
    from .urgency import COUNT_CAP, OPEN, capped_counts, urgency_page

    now = now or timezone.now()
    tasks = workbench_rows(user)
    sections = workbench_sections(now)
    counts = capped_counts({"total": tasks, **{key: tasks.filter(q) for key, q, _query in sections}})

    def shown(n: int) -> dict:
        return {"count": min(n, COUNT_CAP), "more": n > COUNT_CAP, "label": f"{COUNT_CAP}+" if n > COUNT_CAP else str(n)}

    result = {**shown(counts["total"]), "total": min(counts["total"], COUNT_CAP), "sections": []}
    for key, q, query in sections:
        result["sections"].append({
            "key": key, "query": query, **shown(counts[key]),
            "rows": list(urgency_page(tasks.filter(q), per_page=rows, slices=OPEN, now=now, count=False))
            if counts[key] else [],
        })
    return result


def task_timeline(task: RectificationTask):
    return task.events.select_related("actor").order_by("created_at", "id")


def task_submissions(task: RectificationTask):
    return (task.submissions.select_related("submitted_by", "reviewed_by")
            .prefetch_related(Prefetch("photos", queryset=SubmissionPhoto.objects.order_by("id"))))


def triage_queue(user):
    """New findings awaiting dispatch, duplicate marking or voiding; oldest first."""
    return findings_for(user, photos=False).filter(status=Finding.Status.NEW).order_by("observed_at", "id")


def volunteer_reports(user):
    """The findings a user reported as a volunteer, newest first, with their
    tasks' status and light: a volunteer sees only their own reports."""
    return (
        Finding.objects.filter(reporter=user, source=Finding.Source.VOLUNTEER)
        .select_related("category", "unit", "point")
        .prefetch_related(open_task_prefetch())
        .order_by("-observed_at", "-id")
    )


def volunteer_report_points(volunteer):
    """Points a volunteer may pick: active points in the street around their community."""
    unit = volunteer.unit
    base = unit.path[: -unit.steplen] if unit.depth > 1 else unit.path
    return Point.objects.active().filter(unit__path__startswith=base).select_related("unit").order_by("name", "id")


def visible_photo(user, kind: str, pk: int):
    """The photo if the user may see its finding (else None: answer 404)."""
    if kind == "finding":
        return FindingPhoto.objects.filter(pk=pk, finding__in=Finding.objects.visible_to(user)).first()
    if kind == "submission":
        tasks = RectificationTask.objects.visible_to(user)
        return SubmissionPhoto.objects.filter(pk=pk, submission__task__in=tasks).first()
    return None


__all__ = ["TaskEvent", "Submission"]


def inspector_home(user, *, rows: int = 5, today=None) -> dict:
    """An inspector's home: the inspection rounds they are on that are still to
    come or under way, and the findings they recorded (counts and the newest).
    Three queries, whatever the number of rows."""
    today = today or timezone.localdate()
    visits = Visit.objects.filter(inspection_id=OuterRef("pk")).order_by().values("inspection_id")
    planned = list(
        Inspection.objects.filter(inspectors=user, ends_on__gte=today,
                                  status__in=[Inspection.Status.PLANNED, Inspection.Status.IN_PROGRESS])
        .select_related("unit", "campaign")
        .annotate(visit_count=Subquery(visits.annotate(n=Count("pk")).values("n")))
        .order_by("starts_on", "id")[:rows]
    )
    mine = Finding.objects.filter(reporter=user).exclude(source=Finding.Source.VOLUNTEER)
    counts = mine.order_by().aggregate(total=Count("pk"), open=Count("pk", filter=Q(status__in=Finding.OPEN_STATUSES)))
    recent = list(mine.select_related("category", "unit", "point").order_by("-created_at", "-id")[:rows]) \
        if counts["total"] else []
    return {"planned": planned, "findings": recent, "finding_count": counts["total"],
            "open_finding_count": counts["open"]}
