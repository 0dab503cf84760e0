"""Pages of the loop. Views translate input and output; services decide."""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import Http404, HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from campaigns.filtersets import unit_label, with_active_campaign
from campaigns.models import Membership, Point
from campaigns.scope import has_role, scope_of, user_roles
from civportal.errors import Conflict
from civportal.forms import add_service_errors, form_error_lines
from civportal.pagination import paginate
from civportal.pwa import offline_page
from civportal.related import KeyedRows, RelatedReader, assign
from civportal.xlsx import ImportRejected, xlsx_response

from . import exports, page_rows, selectors, services, urgency
from .filtersets import FindingFilterSet, InspectionFilterSet, TaskFilterSet
from .forms import (
    CalendarImportForm, CalendarOverrideForm, CategoryForm, DeadlineRuleForm, DecideExtensionForm, DispatchForm, DuplicateForm,
    EscalateForm, ExtensionForm, FindingRecordForm, InspectionForm, NoteForm, ReasonForm, SubmitForm, VisitForm,
    VolunteerReportForm,
)
from . import deadlines
from .models import (CalendarOverride, DeadlineRule, ExtensionRequest, Finding, FindingPhoto, HolidaySchedule,
                     RectificationTask, Submission, SubmissionPhoto, TaskEvent, Visit)

Role = Membership.Role
UNIT_ROLES = [Role.HANDLER, Role.HEAD]


def _filtered(filterset):
    """The filtered rows; a bad filter value (e.g. a unit outside the scope) matches nothing."""
    if not filterset.is_bound:
        return filterset.queryset
    return filterset.qs if filterset.is_valid() else filterset.queryset.none()


def _is_office(user) -> bool:
    return Role.SUPERVISOR in user_roles(user)


def _error_text(exc) -> str:
    if isinstance(exc, Conflict):
        return exc.message
    if isinstance(exc, PermissionDenied):
        return str(exc) or _("You may not do this.")
    return " ".join(exc.messages)


# What a page shows of a person (User.__str__), and the columns of the timeline's and reports' rows.
USER_NAME_FIELDS = ("display_name", "first_name", "last_name", "username")
EVENT_FIELDS = ("task", "action", "from_status", "to_status", "note", "data", "created_at")
SUBMISSION_FIELDS = ("task", "round", "note", "submitted_at", "outcome", "reviewed_at", "review_note")


# The finding page's own columns, and what it shows or checks of its relations (triage reads the category's
# engineering flag for the rule's deadline, a role check the unit's path): read by a statement of scalar
# subqueries compiled once (civportal.related: the six joins took 2.4–3.7 ms to plan on bench-1M, the
# subqueries 0.3 ms).
FINDING_PAGE = RelatedReader(Finding, {
    "category": ("name", "engineering", "group_id"), "category__group": ("name",), "unit": ("name", "path"),
    "department": ("name",), "point": ("name",), "visit": ("inspection_id",),
})


def in_scope_or_404(reader: RelatedReader, user, pk: int):
    """A detail page's object with its relations (one statement compiled once), or 404 when there is no
    such row or it is outside the user's scope: the scope rule of the model's ``visible_to`` in Python
    (``Scope.covers`` over the row's path columns), as the task rows of the finding page are kept."""
    obj = reader.get(pk)
    if obj is None or not scope_of(user).covers(obj.unit_path, obj.department_path):
        raise Http404
    return obj


# The finding page's children: its photos, its tasks' timelines and reports with their photos (only the
# numbers of photos: the page links them), read as prefetches would give them, by statements compiled once.
FINDING_PHOTOS = KeyedRows(FindingPhoto, "finding", ())
TASK_EVENTS = KeyedRows(TaskEvent, "task", EVENT_FIELDS, relations={"actor": USER_NAME_FIELDS})
TASK_SUBMISSIONS = KeyedRows(Submission, "task", SUBMISSION_FIELDS, relations={"submitted_by": USER_NAME_FIELDS})
SUBMISSION_PHOTOS = KeyedRows(SubmissionPhoto, "submission", ())
# The finding page's tasks with what it shows of them (and their scope paths: the page keeps those in the
# user's scope, as TaskQuerySet.visible_to would).
FINDING_TASKS = KeyedRows(RectificationTask, "finding", ("unit_path", "department_path", "status", "due_at", "warn_at",
                                                      "rework_count", "dispatched_at"),
                          relations={"unit": ("name", "path")}, order_by=("dispatched_at", "id"))
PENDING_EXTENSIONS = KeyedRows(ExtensionRequest, "task", ("reason", "requested_due_at", "status"),
                               relations={"requested_by": USER_NAME_FIELDS},
                               where={"status": ExtensionRequest.Status.PENDING})
FINDING_HISTORY = KeyedRows(Finding.history.model, "id", ("history_date", "history_type", "status"),
                            relations={"history_user": USER_NAME_FIELDS}, order_by=("-history_date",), limit=20)


def _points(user):
    return Point.objects.visible_to(user).active().select_related("unit").order_by("name", "id")


# --- findings -------------------------------------------------------------------------------


@login_required
@permission_required("inspections.view_finding", raise_exception=True)
def finding_list(request):
    # The rows are read as values (page_rows.finding_values) with their tasks in one query: no prefetch.
    findings = selectors.findings_for(request.user, photos=False, lean=True, task_list=False)
    filterset = FindingFilterSet(with_active_campaign(request.GET), queryset=findings, request=request)
    as_map = request.GET.get("view") == "map"
    query = request.GET.copy()
    query.pop("view", None)
    query.pop("page", None)
    context = {"filter": filterset, "as_map": as_map, "query": query.urlencode(),
               "can_record": request.user.has_perm("inspections.add_finding"), "is_office": _is_office(request.user)}
    if as_map:
        context.update(tile_url=getattr(settings, "MAP_TILE_URL", ""),
                       tile_attribution=getattr(settings, "MAP_TILE_ATTRIBUTION", ""))
    else:
        context["page"] = paginate(request, page_rows.finding_values(_filtered(filterset)))
        context["rows"] = page_rows.finding_rows(context["page"])
    return render(request, "inspections/finding_list.html", context)


@login_required
@permission_required("inspections.view_finding", raise_exception=True)
def finding_map_data(request):
    """Findings with coordinates for the map (filtered like the list, at most 2,000)."""
    filterset = FindingFilterSet(with_active_campaign(request.GET), queryset=Finding.objects.visible_to(request.user),
                                 request=request)
    rows = (_filtered(filterset).filter(latitude__isnull=False, longitude__isnull=False)
            .values("pk", "latitude", "longitude", "status", "severity", "category__name", "unit__name")
            .order_by("-observed_at")[:2000])
    statuses, severities = dict(Finding.Status.choices), dict(Finding.severity.field.choices)
    data = [{"id": r["pk"], "lat": float(r["latitude"]), "lng": float(r["longitude"]), "status": r["status"],
             "label": f"#{r['pk']} {r['category__name']} · {severities.get(r['severity'], '')}",
             "detail": f"{r['unit__name']} · {statuses.get(r['status'], '')}",
             "url": reverse("inspections:finding_detail", args=[r["pk"]])} for r in rows]
    return JsonResponse({"findings": data})


def get_finding(user, pk) -> Finding:
    return get_object_or_404(selectors.findings_for(user), pk=pk)


@login_required
@permission_required("inspections.view_finding", raise_exception=True)
def finding_detail(request, pk):
    # The page reads the finding's tasks below (not its open task's prefetch), with their light
    # but not their pending extension requests: two queries less than get_finding and tasks_for.
    # The finding and its relations as subqueries (FINDING_PAGE), not the campaign. The tasks read their unit's
    # name only, their finding is this one; they, photos, events and submissions (with their people's names)
    # come from statements compiled once (FINDING_TASKS, FINDING_PHOTOS, TASK_EVENTS, …). Units' boundaries
    # (GeoJSON) are not shown: not read. Every SQL column and join costs Python to compile and convert, more than
    # the database to read (bench-1M: the page's queries take 1–2 ms to run).
    finding = in_scope_or_404(FINDING_PAGE, request.user, pk)
    assign([finding], "photos", FINDING_PHOTOS.fetch([finding.pk]), "finding_id")
    # The light from RectificationTask.light_at() in Python (the property falls back to it): the with_light()
    # CASE annotations cost more to compile than to compute. The tasks by a statement compiled once, kept to
    # the user's scope in Python (a finding has a few tasks; building the scoped query with its join took about
    # a fifth of the view's CPU).
    scope = scope_of(request.user)
    tasks = [task for task in FINDING_TASKS.fetch([finding.pk]) if scope.covers(task.unit_path, task.department_path)]
    for task in tasks:
        task.finding = finding
    ids = [task.pk for task in tasks]
    submissions = TASK_SUBMISSIONS.fetch(ids)
    assign(submissions, "photos", SUBMISSION_PHOTOS.fetch([s.pk for s in submissions]), "submission_id")
    assign(tasks, "submissions", submissions, "task_id")
    assign(tasks, "events", TASK_EVENTS.fetch(ids), "task_id")
    can_triage = finding.status == Finding.Status.NEW and has_role(request.user, finding.unit, [Role.SUPERVISOR])
    can_void = finding.is_open and has_role(request.user, finding.unit, [Role.SUPERVISOR])
    # The forms only where the page shows them.
    return render(request, "inspections/finding_detail.html", {
        "finding": finding, "tasks": tasks, "can_triage": can_triage, "can_void": can_void,
        "candidates": services.duplicate_candidates(finding) if can_triage else [],
        "dispatch_form": DispatchForm(user=request.user) if can_triage else None,
        "duplicate_form": DuplicateForm() if can_triage else None,
        "rule_deadline": _rule_deadline(finding) if can_triage else None,
        "void_form": ReasonForm() if can_void else None,
        "history": FINDING_HISTORY.fetch([finding.pk]),
    })


def _rule_deadline(finding: Finding) -> dict:
    """The deadline a dispatch now would get by the rule, and whether it is provisional (a year the holiday
    library does not know and the office has not imported)."""
    now = timezone.now()
    due = deadlines.due_at_for(now, deadlines.allowance_for(finding.category, finding.severity))
    return {"due_at": due, "provisional": deadlines.deadline_is_provisional(now, due)}


@login_required
@permission_required("inspections.add_finding", raise_exception=True)
@offline_page
def finding_record(request):
    points = _points(request.user)
    initial = {key: request.GET[key] for key in ("visit", "point") if request.GET.get(key, "").isascii() and request.GET.get(key, "").isdigit()}
    point_units = {p.pk: unit_label(p.unit) for p in points}
    chosen = _chosen_point(request.user, initial)
    if chosen in point_units:  # the responsible unit starts as the point's territorial unit
        initial["unit"] = point_units[chosen]
    form = FindingRecordForm(request.POST or None, request.FILES or None, user=request.user, points=points,
                             initial=initial)
    # The phone's outbox (static/js/outbox.js) sends the same form and asks for JSON.
    wants_json = request.method == "POST" and "application/json" in request.headers.get("Accept", "")
    status = 200
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        dispatch_now = data.pop("dispatch_now", False)
        data["photos_in"] = data.pop("photos")
        data["severity"] = data["severity"] or None
        try:
            finding, created = services.finding_create(actor=request.user, **data)
            if dispatch_now and created:
                services.task_dispatch(actor=request.user, finding=finding)
        except (ValidationError, PermissionDenied, Conflict) as exc:
            if isinstance(exc, ValidationError):
                add_service_errors(form, exc)
            else:
                form.add_error(None, _error_text(exc))
            status = 409 if isinstance(exc, Conflict) else 403 if isinstance(exc, PermissionDenied) else 400
        else:
            url = reverse("inspections:finding_detail", args=[finding.pk])
            if "X-Outbox-User" not in request.headers:  # not a kept draft sent in the background
                if created:
                    messages.success(request, _("Finding #%(pk)s recorded.") % {"pk": finding.pk})
                else:
                    messages.info(request, _("Finding #%(pk)s had already been recorded from this form.")
                                  % {"pk": finding.pk})
            if wants_json:
                return JsonResponse({"id": finding.pk, "url": url, "created": created}, status=201 if created else 200)
            return redirect(url)
    elif request.method == "POST":
        status = 400
    if wants_json:
        return JsonResponse({"errors": form_error_lines(form)}, status=status)
    points_json = [{"id": p.pk, "lat": float(p.latitude), "lng": float(p.longitude)}
                   for p in points if p.latitude is not None and p.longitude is not None]
    return render(request, "inspections/finding_record.html", {"form": form, "points": points_json,
                                                               "point_units": point_units})


def _chosen_point(user, initial) -> int | None:
    """The point a new finding is recorded at when the link names it (``?point=``) or its visit (``?visit=``)."""
    if "point" in initial and len(initial["point"]) < 19:
        return int(initial["point"])
    if "visit" in initial and len(initial["visit"]) < 19:
        return Visit.objects.visible_to(user).filter(pk=initial["visit"]).values_list("point_id", flat=True).first()
    return None


def _require_volunteer(user):
    from volunteers.models import volunteer_of

    volunteer = volunteer_of(user)
    if volunteer is None:
        raise PermissionDenied(_("Only active registered volunteers with a login account may report problems here."))
    return volunteer


@login_required
def volunteer_report(request):
    """A volunteer reports a problem from the street (GPS from the phone)."""
    volunteer = _require_volunteer(request.user)
    points = selectors.volunteer_report_points(volunteer)
    form = VolunteerReportForm(request.POST or None, request.FILES or None, points=points)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = dict(form.cleaned_data)
            data["photos_in"] = data.pop("photos")
            try:
                finding = services.finding_report_by_volunteer(actor=request.user, **data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Thank you. Your report #%(pk)s was sent to the campaign office.")
                                 % {"pk": finding.pk})
                return redirect("inspections:my_report_detail", pk=finding.pk)
        status = 400
    points_json = [{"id": p.pk, "lat": float(p.latitude), "lng": float(p.longitude)}
                   for p in points if p.latitude is not None and p.longitude is not None]
    return render(request, "inspections/volunteer_report.html", {"form": form, "points": points_json},
                  status=status)


@login_required
def my_reports(request):
    _require_volunteer(request.user)
    page = paginate(request, selectors.volunteer_reports(request.user))
    return render(request, "inspections/my_reports.html", {"page": page})


@login_required
def my_report_detail(request, pk):
    """One of the user's own reports (anyone else's answers 404)."""
    finding = get_object_or_404(selectors.volunteer_reports(request.user).prefetch_related("photos"), pk=pk)
    return render(request, "inspections/my_report_detail.html", {"finding": finding})


@login_required
@require_POST
@permission_required("inspections.change_finding", raise_exception=True)
def finding_action(request, pk, action):
    finding = get_finding(request.user, pk)
    try:
        if action == "dispatch":
            form = DispatchForm(request.POST, user=request.user)
            if not form.is_valid():
                raise ValidationError(list(form.errors.values())[0])
            task = services.task_dispatch(actor=request.user, finding=finding, **form.cleaned_data)
            messages.success(request, _("Dispatched to %(unit)s, due %(due)s.") % {
                "unit": task.unit, "due": timezone.localtime(task.due_at).strftime("%Y-%m-%d %H:%M")})
        elif action == "duplicate":
            form = DuplicateForm(request.POST)
            if not form.is_valid():
                raise ValidationError(_("Give the number of the original finding."))
            original = Finding.objects.visible_to(request.user).filter(pk=form.cleaned_data["original"]).first()
            if original is None:
                raise ValidationError(_("No such finding in your scope."))
            services.finding_mark_duplicate(actor=request.user, finding=finding, original=original,
                                            note=form.cleaned_data["note"])
            messages.success(request, _("Marked as a duplicate of #%(pk)s.") % {"pk": original.pk})
        elif action == "void":
            form = ReasonForm(request.POST)
            if not form.is_valid():
                raise ValidationError(_("Please give a reason."))
            services.finding_void(actor=request.user, finding=finding, reason=form.cleaned_data["reason"])
            messages.success(request, _("Finding voided."))
        else:
            raise Http404
    except (ValidationError, PermissionDenied, Conflict) as exc:
        messages.error(request, _error_text(exc))
    next_url = request.POST.get("next", "")
    if next_url == "triage":
        return redirect("inspections:triage_queue")
    return redirect("inspections:finding_detail", pk=pk)


@login_required
@permission_required("inspections.change_finding", raise_exception=True)
def triage_queue(request):
    filterset = FindingFilterSet(request.GET or None, queryset=selectors.triage_queue(request.user), request=request)
    page = paginate(request, _filtered(filterset))
    return render(request, "inspections/triage_queue.html", {"filter": filterset, "page": page})


@login_required
@permission_required("inspections.view_finding", raise_exception=True)
def finding_export(request):
    filterset = FindingFilterSet(with_active_campaign(request.GET), queryset=Finding.objects.visible_to(request.user),
                                 request=request)
    return xlsx_response(filename="findings.xlsx", title=_("findings"), headers=exports.finding_headers(),
                         rows=exports.finding_rows(_filtered(filterset)), user=request.user)


# --- tasks ----------------------------------------------------------------------------------


@login_required
@permission_required("inspections.view_rectificationtask", raise_exception=True)
def task_list(request):
    """Scoped tasks, most urgent first (red, yellow, green, finished; then by deadline),
    in keyset pages (``?after=``/``?before=`` cursors; an old ``?page=`` shows the first page)."""
    filterset = TaskFilterSet(with_active_campaign(request.GET), queryset=selectors.tasks_for(request.user, pending_rows=False,
                                                                                lean=True), request=request)
    tasks = _filtered(filterset)
    page = urgency.page_from_request(request, page_rows.task_values(tasks), count_from=tasks)
    return render(request, "inspections/task_list.html", {"filter": filterset, "page": page,
                                                          "rows": page_rows.task_rows(page),
                                                          "title": _("Rectification tasks")})


@login_required
@permission_required("inspections.view_rectificationtask", raise_exception=True)
def workbench(request):
    """A unit's open tasks, most urgent first (red, yellow, green; then by deadline);
    the light counts are capped (``urgency.capped_counts``: one query, never a full count)."""
    filterset = TaskFilterSet(request.GET or None, queryset=selectors.workbench_rows(request.user, open_only=False),
                              request=request)
    rows = _filtered(filterset)
    now = timezone.now()
    counts = urgency.capped_counts({light: rows.in_urgency(u, now) for u, light in urgency.LIGHTS.items() if light})
    page = urgency.page_from_request(request, page_rows.task_values(rows), slices=urgency.OPEN, now=now, count=False,
                                     count_from=rows)
    return render(request, "inspections/workbench.html", {"filter": filterset, "page": page, "counts": counts,
                                                          "rows": page_rows.task_rows(page),
                                                          "count_cap": urgency.COUNT_CAP})


# What the task page shows of its unit, finding, category and point (a role check reads the unit's path).
TASK_PAGE = RelatedReader(RectificationTask, {
    "unit": ("name", "path"), "finding": ("description", "address", "severity", "category_id", "point_id"),
    "finding__category": ("name",), "finding__point": ("name",),
})


def get_task(user, pk) -> RectificationTask:
    return get_object_or_404(selectors.tasks_for(user), pk=pk)


@login_required
@permission_required("inspections.view_rectificationtask", raise_exception=True)
def task_detail(request, pk):
    # What the page reads, no more (as on the finding page): the light from light_at() in Python, not the
    # with_light() CASE; the task and its relations as the finding page reads its own (TASK_PAGE), not units'
    # boundaries; people by the names they show as.
    task = in_scope_or_404(TASK_PAGE, request.user, pk)
    pending = next(iter(PENDING_EXTENSIONS.fetch([task.pk])), None)  # the first in the model's order
    submissions = TASK_SUBMISSIONS.fetch([task.pk])  # (read as the finding page reads them)
    assign(submissions, "photos", SUBMISSION_PHOTOS.fetch([s.pk for s in submissions]), "submission_id")
    user = request.user
    is_unit = has_role(user, task.unit, UNIT_ROLES)
    is_office = has_role(user, task.unit, [Role.SUPERVISOR])
    S = RectificationTask.Status
    can = {
        "can_accept": is_unit and task.status in (S.ASSIGNED, S.RETURNED),
        "can_submit": is_unit and task.status in (S.IN_PROGRESS, S.RETURNED),
        "can_extend": is_unit and task.status in (S.ASSIGNED, S.IN_PROGRESS, S.RETURNED) and pending is None,
        "can_verify": is_office and task.status == S.SUBMITTED,
        "can_decide": is_office and pending is not None and task.is_open,
        "can_escalate": is_office and task.is_open and task.supervision != RectificationTask.Supervision.LISTED,
        "can_void": is_office and task.is_open,
    }
    # Several forms on one page: each gets its own id prefix, so every label points at its own field; only
    # the forms the page shows are built.
    forms = {  # (the form, the permission that shows it)
        "accept_form": ("can_accept", lambda: NoteForm(initial={"expected_status": task.status},
                                                       auto_id="id_accept_%s")),
        "verify_form": ("can_verify", lambda: NoteForm(initial={"expected_status": task.status},
                                                       auto_id="id_verify_%s")),
        "submit_form": ("can_submit", lambda: SubmitForm(initial={"expected_status": task.status},
                                                         auto_id="id_submit_%s")),
        "extension_form": ("can_extend", lambda: ExtensionForm(auto_id="id_extension_%s")),
        "escalate_form": ("can_escalate", lambda: EscalateForm(auto_id="id_escalate_%s")),
        "void_form": ("can_void", lambda: ReasonForm(auto_id="id_void_%s")),
        "decide_form": ("can_decide", lambda: DecideExtensionForm(initial={"request": pending.pk},
                                                                  auto_id="id_decide_%s")),
    }
    return render(request, "inspections/task_detail.html", {
        "task": task, "finding": task.finding,
        "before_photos": FINDING_PHOTOS.fetch([task.finding_id]),
        "events": TASK_EVENTS.fetch([task.pk]),
        "submissions": submissions,
        "pending": pending,
        "due_provisional": task.is_open and deadlines.deadline_is_provisional(task.dispatched_at, task.due_at),
        **can,
        **{name: make() if can[shown] else None for name, (shown, make) in forms.items()},
    })


@login_required
@require_POST
@permission_required("inspections.view_rectificationtask", raise_exception=True)
def task_action(request, pk, action):
    task = get_task(request.user, pk)
    user = request.user
    try:
        if action in ("accept", "verify", "return"):
            form = NoteForm(request.POST)
            form.is_valid()
            note = form.cleaned_data.get("note", "")
            expected = form.cleaned_data.get("expected_status") or None
            if action == "accept":
                services.task_accept(actor=user, task=task, note=note, expected_status=expected)
                messages.success(request, _("Task accepted."))
            else:
                services.task_verify(actor=user, task=task, passed=action == "verify", note=note,
                                     expected_status=expected)
                messages.success(request, _("Task closed.") if action == "verify" else _("Task returned for rework."))
        elif action == "submit":
            form = SubmitForm(request.POST, request.FILES)
            if not form.is_valid():
                raise ValidationError([e for errors in form.errors.values() for e in errors])
            services.task_submit(actor=user, task=task, note=form.cleaned_data["note"],
                                 photos_in=form.cleaned_data["photos"],
                                 expected_status=form.cleaned_data.get("expected_status") or None)
            messages.success(request, _("Submitted for verification."))
        elif action == "extension":
            form = ExtensionForm(request.POST)
            if not form.is_valid():
                raise ValidationError([e for errors in form.errors.values() for e in errors])
            services.task_request_extension(actor=user, task=task, **form.cleaned_data)
            messages.success(request, _("Extension requested."))
        elif action == "decide":
            form = DecideExtensionForm(request.POST)
            if not form.is_valid():
                raise ValidationError(_("Choose approve or refuse."))
            extension = get_object_or_404(ExtensionRequest.objects.select_related("task__unit"),
                                          pk=form.cleaned_data["request"], task=task)
            services.task_decide_extension(actor=user, request=extension, approve=form.cleaned_data["approve"],
                                           note=form.cleaned_data["note"])
            messages.success(request, _("Decision recorded."))
        elif action == "escalate":
            form = EscalateForm(request.POST)
            form.is_valid()
            services.task_escalate(actor=user, task=task, note=form.cleaned_data.get("note", ""))
            messages.success(request, _("Supervision level raised."))
        elif action == "void":
            form = ReasonForm(request.POST)
            if not form.is_valid():
                raise ValidationError(_("Please give a reason."))
            services.task_void(actor=user, task=task, reason=form.cleaned_data["reason"])
            messages.success(request, _("Task voided."))
        else:
            raise Http404
    except PermissionDenied:
        raise
    except (ValidationError, Conflict) as exc:
        messages.error(request, _error_text(exc))
    return redirect("inspections:task_detail", pk=pk)


@login_required
@permission_required("inspections.view_rectificationtask", raise_exception=True)
def task_export(request):
    filterset = TaskFilterSet(with_active_campaign(request.GET), queryset=RectificationTask.objects.visible_to(request.user)
                              .with_light(), request=request)
    return xlsx_response(filename="tasks.xlsx", title=_("rectification tasks"), headers=exports.task_headers(),
                         rows=exports.task_rows(_filtered(filterset)), user=request.user)


# --- inspections ----------------------------------------------------------------------------


@login_required
@permission_required("inspections.view_inspection", raise_exception=True)
def inspection_list(request):
    filterset = InspectionFilterSet(with_active_campaign(request.GET), queryset=selectors.inspections_for(request.user),
                                    request=request)
    page = paginate(request, _filtered(filterset))
    return render(request, "inspections/inspection_list.html", {
        "filter": filterset, "page": page, "can_create": request.user.has_perm("inspections.add_inspection")})


@login_required
@permission_required("inspections.add_inspection", raise_exception=True)
def inspection_create(request):
    form = InspectionForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            inspection = services.inspection_create(actor=request.user, **form.cleaned_data)
        except (ValidationError, PermissionDenied) as exc:
            if isinstance(exc, ValidationError):
                add_service_errors(form, exc)
            else:
                form.add_error(None, _error_text(exc))
        else:
            messages.success(request, _("Inspection created."))
            return redirect("inspections:inspection_detail", pk=inspection.pk)
    return render(request, "inspections/simple_form.html", {
        "form": form, "title": _("New inspection"), "back": reverse("inspections:inspection_list")})


@login_required
@permission_required("inspections.view_inspection", raise_exception=True)
def inspection_detail(request, pk):
    inspection = get_object_or_404(selectors.inspections_for(request.user), pk=pk)
    visits = selectors.visits_for(request.user).filter(inspection=inspection).order_by("visited_at", "id")
    can_visit = request.user.has_perm("inspections.add_visit")
    return render(request, "inspections/inspection_detail.html", {
        "inspection": inspection, "visits": visits, "can_visit": can_visit,
        "visit_form": VisitForm(points=_points(request.user).filter(unit__path__startswith=inspection.unit.path))
        if can_visit else None,
    })


@login_required
@require_POST
@permission_required("inspections.add_visit", raise_exception=True)
def visit_create(request, pk):
    inspection = get_object_or_404(selectors.inspections_for(request.user), pk=pk)
    form = VisitForm(request.POST, points=_points(request.user))
    if form.is_valid():
        data = dict(form.cleaned_data)
        data["clean"] = data.pop("is_clean")
        try:
            visit = services.visit_create(actor=request.user, inspection=inspection, **data)
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, _error_text(exc))
        else:
            messages.success(request, _("Visit recorded."))
            if not visit.is_clean and inspection.campaign.indicator_system_id is not None:
                return redirect("inspections:visit_checks", pk=visit.pk)  # judge the edition's criteria
            if not visit.is_clean:
                return redirect(f"{reverse('inspections:finding_record')}?visit={visit.pk}&point={visit.point_id}")
    else:
        messages.error(request, _("Choose a point in your scope."))
    return redirect("inspections:inspection_detail", pk=pk)


# --- taxonomy and calendar ------------------------------------------------------------------


@login_required
@permission_required("inspections.view_findingcategory", raise_exception=True)
def category_list(request):
    form = CategoryForm(request.POST or None)
    if request.method == "POST":
        if not request.user.has_perm("inspections.add_findingcategory"):
            raise PermissionDenied
        if form.is_valid():
            try:
                services.category_save(actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Category saved."))
                return redirect("inspections:category_list")
    categories = selectors.categories().annotate(finding_count=Count("findings")).order_by(
        "group__sort_order", "group__code", "sort_order", "code")
    return render(request, "inspections/category_list.html", {
        "categories": categories, "form": form, "can_edit": request.user.has_perm("inspections.add_findingcategory")})


@login_required
@permission_required("inspections.view_calendaroverride", raise_exception=True)
def calendar(request):
    year = _calendar_year(request)
    if year is None:
        return HttpResponseBadRequest(_("Give the year as four digits between 2000 and 2099."))
    override_form = CalendarOverrideForm(request.POST if request.POST.get("form") == "override" else None,
                                         prefix="o")
    rule_form = DeadlineRuleForm(request.POST if request.POST.get("form") == "rule" else None, prefix="r")
    import_form = CalendarImportForm(request.POST if request.POST.get("form") == "import" else None,
                                     request.FILES or None, prefix="i")
    import_errors = []
    if request.method == "POST":
        try:
            if import_form.is_bound and import_form.is_valid():
                schedule = services.calendar_year_import(actor=request.user, upload=import_form.cleaned_data["file"])
                messages.success(request, _("The %(year)s schedule is imported: %(off)d days off, %(work)d make-up "
                                            "working days. Deadlines set from now on follow it.")
                                 % {"year": schedule.year, "off": schedule.holiday_count,
                                    "work": schedule.workday_count})
                return redirect(f"{reverse('inspections:calendar')}?year={schedule.year}")
            if override_form.is_bound and override_form.is_valid():
                services.calendar_override_set(actor=request.user, **override_form.cleaned_data)
                messages.success(request, _("Calendar updated; deadlines set from now on follow it."))
                return redirect("inspections:calendar")
            if rule_form.is_bound and rule_form.is_valid():
                services.deadline_rule_save(actor=request.user, **rule_form.cleaned_data)
                messages.success(request, _("Deadline rule saved."))
                return redirect("inspections:calendar")
        except ImportRejected as exc:
            import_errors = exc.errors
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, _error_text(exc))
    return render(request, "inspections/calendar.html", {
        "overrides": CalendarOverride.objects.filter(date__year=year).select_related("created_by"),
        "rules": DeadlineRule.objects.select_related("category"),
        "override_form": override_form, "rule_form": rule_form, "import_form": import_form,
        "import_errors": import_errors, "year": year, "months": deadlines.year_calendar(year),
        "provisional": bool(deadlines.provisional_years(dt.date(year, 1, 1), dt.date(year, 1, 1))),
        "library_knows": deadlines.library_knows(year), "schedules": HolidaySchedule.objects.order_by("-year"),
        "previous_year": year - 1, "next_year": year + 1,
        "weekdays": [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")],
    })


def _calendar_year(request) -> int | None:
    raw = request.GET.get("year")
    if raw in (None, ""):
        return timezone.localdate().year
    return int(raw) if raw.isascii() and raw.isdigit() and 2000 <= int(raw) <= 2099 else None


# --- the checklist at a visit (docs/field-evaluation.md) -------------------------------------


@login_required
@permission_required("inspections.view_visit", raise_exception=True)
@offline_page
def visit_checks(request, pk):
    """The criteria that apply to the visit's point type, grouped by section and item:
    达标 / 不达标 / 不适用 with a note; a 不达标 becomes a finding linked to its criterion.
    POST takes the fields documented in docs/field-evaluation.md (the API takes the same)."""
    from . import checklist

    visit = get_object_or_404(selectors.visits_for(request.user).select_related("inspection__campaign"), pk=pk)
    can_record = request.user.has_perm("inspections.add_visit") and has_role(request.user, visit.unit,
                                                                              services.RECORDERS)
    errors, status, posted = {}, 200, {}
    if request.method == "POST":
        if not can_record:
            raise PermissionDenied(_("Only inspectors and the campaign office may record checklists here."))
        try:
            submission = checklist.parse(request.POST, request.FILES)
            fresh = checklist.record(actor=request.user, visit=visit, submission=submission)
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
            status, posted = 400, request.POST
        except PermissionDenied as exc:
            errors, status = {"__all__": [_error_text(exc)]}, 403
        else:
            url = reverse("inspections:visit_checks", args=[visit.pk])
            if "X-Outbox-User" not in request.headers:  # not a kept draft sent in the background
                messages.success(request, _("Checklist saved.") if fresh else _("This checklist was already received."))
            if "application/json" in request.headers.get("Accept", ""):  # the phone's outbox (docs/offline.md)
                return JsonResponse({"id": visit.pk, "url": url, "created": fresh}, status=201 if fresh else 200)
            return redirect(url)
        if "application/json" in request.headers.get("Accept", ""):
            return JsonResponse({"errors": [m for msgs in errors.values() for m in msgs]}, status=status)
    groups, counts = checklist.checklist(visit)
    rows = []
    for group in groups:
        for criterion, check in group.rows:
            key = f"c-{criterion.pk}"
            rows.append(criterion.pk)
            criterion.current = check
            criterion.field = key
            criterion.errors = errors.get(f"{key}-result", [])
            criterion.posted = {name: posted.get(f"{key}-{name}", "") for name in ("result", "note", "category",
                                                                                   "severity")}
    other_errors = [m for k, msgs in errors.items() if not k.startswith("c-") for m in msgs]
    categories = selectors.categories().filter(active=True, group__isnull=False).order_by(
        "group__sort_order", "sort_order", "code")
    return render(request, "inspections/visit_checks.html", {
        "visit": visit, "groups": groups, "counts": counts, "can_record": can_record, "errors": other_errors,
        "categories": categories, "severities": Finding._meta.get_field("severity").choices,
        "results": checklist.Result.choices, "client_id": uuid.uuid4(), "clean_client_id": uuid.uuid4(),
        "has_edition": visit.inspection.campaign.indicator_system_id is not None,
    }, status=status)
