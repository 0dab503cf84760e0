"""Materials pages. Views translate input and output; services decide."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db.models import Count, Q
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from campaigns.models import Campaign, Indicator
from campaigns.scope import has_role, scope_paths, scope_q, user_roles
from civportal.errors import Conflict, PermissionDenied, ValidationError
from civportal.forms import add_service_errors
from civportal.pagination import paginate
from civportal.xlsx import xlsx_response

from . import selectors, services
from .filtersets import MaterialCallFilterSet
from .forms import ArchiveForm, CallForm, CompletenessForm, ReviewForm, SubmitForm
from .models import ArchiveJob, MaterialCall, MaterialFile, MaterialSubmission
from .uploads import content_type

SOON_DAYS = 3


def _filtered(filterset):
    if not filterset.is_bound:
        return filterset.queryset
    return filterset.qs if filterset.is_valid() else filterset.queryset.none()


def light(deadline: dt.date, owed: int, overdue: int, today: dt.date) -> str:
    """Traffic light of a call for the units in view: red overdue, yellow due soon, green otherwise."""
    if overdue:
        return "red"
    if owed and deadline <= today + dt.timedelta(days=SOON_DAYS):
        return "yellow"
    return "green"


def _call_rows(user, today):
    mine = scope_q(user, "submissions__unit__path") if scope_paths(user) is not None else Q()
    S = MaterialSubmission.Status
    return selectors.calls(user).annotate(
        asked=Count("submissions", filter=mine),
        owed=Count("submissions", filter=mine & Q(submissions__status__in=MaterialSubmission.OWED)),
        pending=Count("submissions", filter=mine & Q(submissions__status=S.PENDING)),
        approved=Count("submissions", filter=mine & Q(submissions__status__in=MaterialSubmission.APPROVED)),
    ).order_by("deadline", "id")


@login_required
@permission_required("materials.view_materialcall", raise_exception=True)
def call_list(request):
    today = timezone.localdate()
    filterset = MaterialCallFilterSet(request.GET or None, queryset=_call_rows(request.user, today), request=request)
    page = paginate(request, _filtered(filterset))
    for call in page:
        overdue = call.owed if call.deadline < today else 0
        call.light = light(call.deadline, call.owed, overdue, today)
    return render(request, "materials/call_list.html", {
        "filter": filterset, "page": page, "today": today,
        "can_create": request.user.has_perm("materials.add_materialcall"),
    })


@login_required
@permission_required("materials.view_materialcall", raise_exception=True)
def call_export(request):
    today = timezone.localdate()
    filterset = MaterialCallFilterSet(request.GET or None, queryset=_call_rows(request.user, today), request=request)
    rows = ([c.campaign.name, c.indicator.code, c.indicator.name, c.title, c.deadline.isoformat(),
             c.get_status_display(), c.asked, c.owed, c.pending, c.approved] for c in _filtered(filterset))
    return xlsx_response(filename="material-calls.xlsx", title=_("materials calls"), user=request.user,
                         headers=[_("campaign"), _("indicator code"), _("indicator"), _("title"), _("deadline"),
                                  _("status"), _("asked"), _("owed"), _("awaiting review"), _("approved")], rows=rows)


@login_required
@permission_required("materials.add_materialcall", raise_exception=True)
def call_create(request):
    form = CallForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        campaign = data["campaign"]
        indicator = Indicator.objects.filter(system_id=campaign.indicator_system_id,
                                             code=data["indicator_code"].strip()).first()
        if indicator is None:
            form.add_error("indicator_code", _("No indicator with this code in the campaign's edition."))
        else:
            try:
                call = services.material_call_create(
                    actor=request.user, campaign=campaign, indicator=indicator, title=data["title"],
                    evidence=data["evidence"], deadline=data["deadline"], units=data["unit_codes"],
                    kind=data["kind"], within=data["within"])
            except ValidationError as exc:
                add_service_errors(form, exc)
            except PermissionDenied as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("Call opened."))
                return redirect("materials:call_detail", pk=call.pk)
    return render(request, "materials/call_form.html", {"form": form})


@login_required
@permission_required("materials.view_materialcall", raise_exception=True)
def call_detail(request, pk):
    call = get_object_or_404(selectors.calls(request.user), pk=pk)
    today = timezone.localdate()
    qs = selectors.submissions(request.user).filter(call=call).with_state(today)
    page = paginate(request, qs)
    return render(request, "materials/call_detail.html", {"call": call, "page": page, "today": today})


def get_submission(user, pk) -> MaterialSubmission:
    return get_object_or_404(selectors.submissions(user), pk=pk)


@login_required
@permission_required("materials.view_materialsubmission", raise_exception=True)
def submission_detail(request, pk):
    submission = get_submission(request.user, pk)
    user = request.user
    can_submit = (submission.status in MaterialSubmission.OWED and
                  has_role(user, submission.unit, services.UNIT_ROLES))
    can_review = (submission.status == MaterialSubmission.Status.PENDING and
                  has_role(user, submission.unit, [services.Role.SUPERVISOR]))
    submit_form = SubmitForm(prefix="s") if can_submit else None
    review_form = ReviewForm(prefix="r") if can_review else None
    if request.method == "POST":
        try:
            if request.POST.get("action") == "submit" and can_submit:
                submit_form = SubmitForm(request.POST, request.FILES, prefix="s")
                if submit_form.is_valid():
                    services.material_submission_submit(
                        actor=user, submission=submission, description=submit_form.cleaned_data["description"],
                        files=submit_form.cleaned_data["files"])
                    messages.success(request, _("Submitted for review."))
                    return redirect("materials:submission_detail", pk=pk)
            elif request.POST.get("action") == "review" and can_review:
                review_form = ReviewForm(request.POST, prefix="r")
                if review_form.is_valid():
                    data = review_form.cleaned_data
                    if data["decision"] == "return":
                        services.material_submission_return(actor=user, submission=submission, reason=data["note"])
                    elif data["decision"] == "partial":
                        services.material_submission_review(actor=user, submission=submission,
                                                            share=data["share"] if data["share"] is not None else "",
                                                            note=data["note"])
                    else:
                        services.material_submission_review(actor=user, submission=submission, note=data["note"])
                    messages.success(request, _("Review saved."))
                    return redirect("materials:submission_detail", pk=pk)
            else:
                raise PermissionDenied
        except ValidationError as exc:
            add_service_errors(submit_form if request.POST.get("action") == "submit" else review_form, exc)
        except Conflict as exc:
            messages.error(request, exc.message)
            return redirect("materials:submission_detail", pk=pk)
    return render(request, "materials/submission_detail.html", {
        "s": submission, "state": submission.state(timezone.localdate()),
        "files": submission.files.select_related("uploaded_by"),
        "events": submission.events.select_related("actor"),
        "submit_form": submit_form, "review_form": review_form,
    })


@login_required
@permission_required("materials.view_materialsubmission", raise_exception=True)
def file_download(request, pk):
    """Evidence is served only here: scope-checked, as a download, never rendered by the browser."""
    f = get_object_or_404(MaterialFile.objects.filter(submission__in=MaterialSubmission.objects.visible_to(request.user)),
                          pk=pk)
    response = FileResponse(f.file.open("rb"), as_attachment=True, filename=f.original_name,
                            content_type=content_type(f.kind))
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@login_required
@permission_required("materials.view_materialsubmission", raise_exception=True)
def owed(request):
    today = timezone.localdate()
    page = paginate(request, selectors.owed(request.user, today))
    return render(request, "materials/owed.html", {"page": page, "today": today})


@login_required
@permission_required("materials.view_materialsubmission", raise_exception=True)
def owed_export(request):
    today = timezone.localdate()
    States = {value: str(label) for value, label in MaterialSubmission.State.choices}
    rows = ([s.call.title, s.call.indicator.code, s.unit.code, s.unit.name, s.call.deadline.isoformat(),
             States[s.state], s.reason] for s in selectors.owed(request.user, today))
    return xlsx_response(filename="materials-owed.xlsx", title=_("materials owed"), user=request.user,
                         headers=[_("materials call"), _("indicator code"), _("unit code"), _("unit"), _("deadline"),
                                  _("state"), _("review note")], rows=rows)


def _matrix(request, pk):
    campaign = get_object_or_404(Campaign.objects.visible_to(request.user), pk=pk)
    form = CompletenessForm(request.GET or None, user=request.user)
    within = section = None
    empty = False
    if form.is_bound:
        if form.is_valid():
            within = form.cleaned_data["within"]
            code = form.cleaned_data["section"].strip()
            if code:
                section = Indicator.objects.filter(system_id=campaign.indicator_system_id, code=code).first()
                empty = section is None
        else:
            empty = True
    today = timezone.localdate()
    matrix = selectors.completeness(request.user, campaign, today, within=within, section=section)
    if empty:
        matrix = selectors.Matrix(calls=[], units=[])
    return campaign, form, matrix


@login_required
@permission_required("materials.view_materialsubmission", raise_exception=True)
def completeness(request, pk):
    campaign, form, matrix = _matrix(request, pk)
    return render(request, "materials/completeness.html", {
        "campaign": campaign, "form": form, "matrix": matrix, "states": MaterialSubmission.State.choices,
        "labels": dict(MaterialSubmission.State.choices),
    })


@login_required
@permission_required("materials.view_materialsubmission", raise_exception=True)
def completeness_export(request, pk):
    campaign, form, matrix = _matrix(request, pk)
    labels = {value: str(label) for value, label in MaterialSubmission.State.choices}
    states = MaterialSubmission.State.values
    headers = [_("indicator code"), _("indicator"), *[f"{u.code} {u.name}" for u in matrix.units],
               *[labels[s] for s in states]]
    rows = []
    for call, cells, counts in matrix.rows():
        rows.append([call.indicator.code, call.indicator.name, *[labels.get(c, "") for c in cells],
                     *[counts.get(s, 0) for s in states]])
    for s in states:
        rows.append(["", labels[s], *[matrix.col_counts.get(u.pk, {}).get(s, 0) for u in matrix.units],
                     *["" for _s in states]])
    return xlsx_response(filename=f"materials-completeness-{campaign.pk}.xlsx", title=_("completeness"),
                         user=request.user, headers=headers, rows=rows)


# --- archives ---------------------------------------------------------------------------------------


@login_required
@permission_required("materials.view_archivejob", raise_exception=True)
def archive_list(request):
    form = ArchiveForm(request.POST or None, user=request.user)
    if request.method == "POST":
        if not request.user.has_perm("materials.add_archivejob"):
            raise PermissionDenied
        if form.is_valid():
            try:
                job = services.archive_job_start(actor=request.user, campaign=form.cleaned_data["campaign"],
                                                 unit=form.cleaned_data["unit"])
            except PermissionDenied as exc:
                form.add_error(None, str(exc))
            else:
                return redirect("materials:archive_detail", pk=job.pk)
    page = paginate(request, ArchiveJob.objects.visible_to(request.user).select_related("campaign", "unit"))
    return render(request, "materials/archive_list.html", {
        "form": form, "page": page, "can_create": request.user.has_perm("materials.add_archivejob")})


def _job(user, pk) -> ArchiveJob:
    return get_object_or_404(ArchiveJob.objects.visible_to(user).select_related("campaign", "unit"), pk=pk)


@login_required
def archive_detail(request, pk):
    return render(request, "materials/archive_detail.html", {"job": _job(request.user, pk)})


@login_required
def archive_status(request, pk):
    job = _job(request.user, pk)
    return JsonResponse({"status": job.status, "status_display": job.get_status_display(), "progress": job.progress,
                         "files": job.file_count, "message": job.message})


def may_download(user, job: ArchiveJob) -> bool:
    """Only who sees every unit whose files are inside."""
    roots = scope_paths(user)
    return roots is None or all(any(p.startswith(r) for r in roots) for p in job.unit_paths)


@login_required
def archive_download(request, pk):
    job = _job(request.user, pk)
    if job.status != ArchiveJob.Status.DONE or not job.archive:
        raise Http404
    if not may_download(request.user, job):
        raise PermissionDenied(_("The archive holds files of units outside your scope."))
    response = FileResponse(job.archive.open("rb"), as_attachment=True, filename=job.archive.name.rsplit("/", 1)[-1],
                            content_type="application/zip")
    response["X-Content-Type-Options"] = "nosniff"
    return response
