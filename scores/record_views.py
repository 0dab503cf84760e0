"""Pages of issue 17 beyond the monthly ranking: a unit's record (单位档案: its
year of scores, ranks, red/black lists, appeals and accountability records —
the annual report's data, with its xlsx), the accountability records list
(问责记录) and the office's 曝光台. Views translate input and output;
``services`` decide. Every list's xlsx writes the rows its page filters."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from campaigns.models import Campaign, Unit
from civportal.errors import Conflict
from civportal.forms import add_service_errors
from civportal.pagination import paginate
from civportal.xlsx import xlsx_response

from . import selectors, services
from .exports import annual_report_xlsx
from .filtersets import AccountabilityRecordFilterSet, ExposureFilterSet
from .forms import AccountabilityRecordForm, ExposureForm
from .models import AccountabilityRecord, Appeal, Exposure, Grade, ListFlag
from .views import _error_text  # the same message for a refused action on every scores page


def _digits(raw: str) -> int | None:
    return int(raw) if raw and raw.isascii() and raw.isdigit() and len(raw) < 19 else None


def _filtered(filterset):
    """The filtered rows; an invalid filter shows its errors and no rows."""
    if not filterset.is_bound:
        return filterset.queryset
    return filterset.qs if filterset.is_valid() else filterset.queryset.none()


def _xlsx_query(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    query["format"] = "xlsx"
    return query.urlencode()


def _local(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


# --- 单位档案: a unit's record -----------------------------------------------------------------


@login_required
@permission_required("scores.view_monthlyscore", raise_exception=True)
def unit_record(request, unit_id: int):
    """A unit's year (``?campaign=&year=``) from ``services.annual_report``, the
    same data as the annual report API and its xlsx (``?format=xlsx``)."""
    unit = get_object_or_404(Unit.objects.visible_to(request.user), pk=unit_id)
    campaigns = Campaign.objects.visible_to(request.user)
    raw = request.GET.get("campaign", "")
    if raw:
        campaign = campaigns.filter(pk=_digits(raw)).first() if _digits(raw) else None
        if campaign is None:
            raise Http404
    else:
        campaign = selectors.default_campaign(request.user)
    if campaign is None:
        return render(request, "scores/unit_record.html", {"unit": unit, "campaign": None})
    years = list(range(campaign.starts_on.year, campaign.ends_on.year + 1))
    year = _digits(request.GET.get("year", ""))
    if year not in years:
        if request.GET.get("year"):
            raise Http404
        today = timezone.localdate().year
        year = today if today in years else years[-1]
    report = services.annual_report(user=request.user, campaign=campaign, year=year, unit=unit)
    if request.GET.get("format") == "xlsx":
        return annual_report_xlsx(report, user=request.user)
    query = urlencode({"campaign": campaign.pk, "year": year})
    flags, grades = dict(ListFlag.choices), dict(Grade.choices)
    months = [{**m, "flag_label": flags.get(m["list_flag"], "") if m["list_flag"] else "",
               "grade_label": grades.get(m["grade"], "")} for m in report["months"]]
    statuses, targets = dict(Appeal.Status.choices), dict(Appeal.Target.choices)
    resolutions, kinds = dict(Appeal.Resolution.choices), dict(AccountabilityRecord.Kind.choices)
    appeals = [{**a, "status_label": statuses.get(a["status"], ""), "target_label": targets.get(a["target"], ""),
                "resolution_label": resolutions.get(a["resolution"], "")} for a in report["appeals"]]
    records = [{**r, "kind_label": kinds.get(r["kind"], "")} for r in report["accountability_records"]]
    return render(request, "scores/unit_record.html", {
        "unit": unit, "campaign": campaign, "campaigns": campaigns.order_by("-starts_on", "-id")[:50], "year": year,
        "years": years, "report": report, "months": months, "appeals": appeals, "records": records,
        "listed": [m for m in months if m["list_flag"]], "query": query,
    })


# --- 问责记录: accountability records ----------------------------------------------------------

RECORD_HEADERS = [_lazy("number"), _lazy("unit code"), _lazy("unit"), _lazy("accountability measure"),
                  _lazy("date"),
                  _lazy("decision maker"), _lazy("document number"), _lazy("about"), _lazy("note"),
                  _lazy("recorded by")]


def record_about(r: AccountabilityRecord) -> str:
    parts = []
    if r.task_id:
        parts.append(_("task #%(id)s") % {"id": r.task_id})
    if r.finding_id:
        parts.append(_("finding #%(id)s") % {"id": r.finding_id})
    if r.score_id:
        parts.append(_("month's result #%(id)s") % {"id": r.score_id})
    return ", ".join(parts)


def _record_rows(records):
    for r in records:
        yield [r.pk, r.unit.code, r.unit.name, r.get_kind_display(), r.decided_on.isoformat(), r.decision_maker,
               r.document_number, record_about(r), r.note, str(r.created_by)]


@login_required
@permission_required("scores.view_accountabilityrecord", raise_exception=True)
def accountability_list(request):
    user = request.user
    filterset = AccountabilityRecordFilterSet(request.GET or None, queryset=selectors.accountability_records_for(user),
                                              request=request)
    rows = _filtered(filterset)
    if request.GET.get("format") == "xlsx":
        return xlsx_response(filename="accountability-records.xlsx", title=str(_("Accountability records")),
                             headers=RECORD_HEADERS, rows=_record_rows(rows.iterator(chunk_size=2000)), user=user)
    can_add = user.has_perm("scores.add_accountabilityrecord")
    form = AccountabilityRecordForm(request.POST or None, request.FILES or None, user=user) if can_add else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        if form.is_valid():
            try:
                record = services.accountability_record_create(actor=user, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            except PermissionDenied as exc:
                form.add_error(None, _error_text(exc))
            else:
                messages.success(request, _("Record #%(id)s saved.") % {"id": record.pk})
                return redirect(reverse("scores:accountability_list") + f"?within={record.unit_id}")
    page = paginate(request, rows, default=50)
    for r in page:
        r.about = record_about(r)
    return render(request, "scores/accountability_list.html", {
        "filter": filterset, "page": page, "form": form, "xlsx_query": _xlsx_query(request),
    })


@login_required
@permission_required("scores.view_accountabilityrecord", raise_exception=True)
def accountability_attachment(request, pk: int):
    """A record's attachment, served through the scope check only."""
    record = get_object_or_404(selectors.accountability_records_for(request.user), pk=pk)
    if not record.attachment:
        raise Http404
    try:
        handle = record.attachment.open("rb")
    except (FileNotFoundError, ValueError):
        raise Http404 from None
    return FileResponse(handle, as_attachment=True, filename=record.attachment.name.rsplit("/", 1)[-1])


# --- 曝光台管理: the office's exposure board --------------------------------------------------------

EXPOSURE_HEADERS = [_lazy("number"), _lazy("finding"), _lazy("category"), _lazy("severity"), _lazy("responsible unit"),
                    _lazy("point"), _lazy("deadline"), _lazy("rectified"), _lazy("before photos"), _lazy("state"),
                    _lazy("public note"), _lazy("exposed by"), _lazy("exposed at"), _lazy("photos reviewed at"),
                    _lazy("withdrawn at"), _lazy("reason for withdrawal")]


def exposure_state(e: Exposure) -> str:
    if e.withdrawn_at is not None:
        return str(ExposureFilterSet.State.WITHDRAWN.label)
    if e.photos_reviewed_at is None:
        return str(ExposureFilterSet.State.PENDING.label)
    return str(ExposureFilterSet.State.PUBLIC.label)


def _exposure_rows(exposures):
    for e in exposures:
        f = e.finding
        yield [e.pk, f.pk, f.category.name, f.get_severity_display(), f.unit.name,
               f.point.name if f.point_id else "", _local(e.task_due_at),
               _("yes") if e.task_status == "closed" else _("no"), e.photo_count or 0, exposure_state(e), e.note,
               str(e.created_by), _local(e.created_at), _local(e.photos_reviewed_at), _local(e.withdrawn_at),
               e.withdraw_reason]


@login_required
@permission_required("scores.view_exposure", raise_exception=True)
def exposure_list(request):
    """Pending photo review, public and withdrawn exposures; the office confirms, withdraws or exposes a finding."""
    from inspections.models import Finding, FindingPhoto

    user = request.user
    data = request.GET.copy()
    data.setdefault("state", ExposureFilterSet.State.PENDING)
    filterset = ExposureFilterSet(data, queryset=selectors.exposures_for(user), request=request)
    rows = _filtered(filterset)
    if request.GET.get("format") == "xlsx":
        return xlsx_response(filename="exposures.xlsx", title=str(_("Exposure board")), headers=EXPOSURE_HEADERS,
                             rows=_exposure_rows(rows), user=user)
    form = ExposureForm(request.POST or None) if user.has_perm("scores.add_exposure") else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        if form.is_valid():
            d = form.cleaned_data
            finding = Finding.objects.visible_to(user).filter(pk=d["finding"]).first()
            if finding is None:
                form.add_error("finding", _("No such finding in your scope."))
            else:
                try:
                    exposure = services.exposure_create(actor=user, finding=finding, note=d["note"],
                                                        photos_reviewed=d["photos_reviewed"])
                except (ValidationError, PermissionDenied, Conflict) as exc:
                    form.add_error(None, _error_text(exc))
                else:
                    messages.success(request, _("Finding #%(id)s selected for the exposure board.")
                                     % {"id": finding.pk})
                    state = "public" if exposure.is_public else "pending"
                    return redirect(reverse("scores:exposure_list") + f"?state={state}")
    page = paginate(request, rows.prefetch_related(
        Prefetch("finding__photos", queryset=FindingPhoto.objects.order_by("pk").only("pk", "finding_id"))),
        default=20)
    return render(request, "scores/exposure_list.html", {
        "filter": filterset, "page": page, "form": form, "state": filterset.form.cleaned_data.get("state")
        if filterset.is_valid() else "", "states": ExposureFilterSet.State.choices,
        "xlsx_query": urlencode({**{k: v for k, v in data.items() if k != "page"}, "format": "xlsx"}),
        "can_change": user.has_perm("scores.change_exposure"),
    })


@login_required
@require_POST
@permission_required("scores.change_exposure", raise_exception=True)
def exposure_action(request, pk: int, action: str):
    exposure = get_object_or_404(selectors.exposures_for(request.user), pk=pk)
    try:
        if action == "confirm":
            services.exposure_confirm_review(actor=request.user, exposure=exposure)
            messages.success(request, _("Photos confirmed as reviewed: the exposure is public."))
        elif action == "withdraw":
            services.exposure_withdraw(actor=request.user, exposure=exposure, reason=request.POST.get("reason", ""))
            messages.success(request, _("Exposure withdrawn."))
        else:
            raise Http404
    except (ValidationError, PermissionDenied, Conflict) as exc:
        messages.error(request, _error_text(exc))
    state = request.POST.get("state", "")
    return redirect(reverse("scores:exposure_list")
                    + (f"?state={state}" if state in ExposureFilterSet.State.values else ""))
