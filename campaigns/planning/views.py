"""Planning pages. Views translate input and output; services decide."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q, Sum
from django.http import FileResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from civportal.errors import Conflict
from civportal.forms import add_service_errors, import_page
from civportal.pagination import paginate
from civportal.xlsx import ImportRejected, xlsx_response

from ..models import (
    Campaign, ImportJob, Indicator, IndicatorSystem, Point, PointType, ProgressAttachment, Unit, WorkItem,
)
from ..scope import has_role, user_roles
from . import background, indicator_io, ledger_io, selectors, services
from .filtersets import CampaignFilterSet, IndicatorSystemFilterSet, PointFilterSet, WorkItemFilterSet
from .forms import (
    CampaignForm, CopyForm, EditionImportForm, IndicatorForm, IndicatorSystemForm, LedgerImportForm, PointForm,
    PointTypeForm, ProgressForm, ReviewForm, WorkItemForm,
)

SUPERVISOR = "supervisor"


def _filtered(filterset):
    """The filtered rows; a bad filter value (e.g. a unit outside the scope) matches nothing."""
    if not filterset.is_bound:
        return filterset.queryset
    return filterset.qs if filterset.is_valid() else filterset.queryset.none()


def _is_office(user) -> bool:
    return SUPERVISOR in user_roles(user)


# --- campaigns -------------------------------------------------------------------------------------


@login_required
@permission_required("campaigns.view_campaign", raise_exception=True)
def campaign_list(request):
    qs = Campaign.objects.visible_to(request.user).select_related("indicator_system")
    filterset = CampaignFilterSet(request.GET or None, queryset=qs, request=request)
    page = paginate(request, _filtered(filterset))
    return render(request, "campaigns/campaign_list.html", {"filter": filterset, "page": page,
                                                            "can_edit": _is_office(request.user)})


@login_required
@permission_required("campaigns.view_campaign", raise_exception=True)
def campaign_detail(request, pk):
    campaign = get_object_or_404(Campaign.objects.visible_to(request.user).select_related("indicator_system"), pk=pk)
    today = timezone.localdate()
    return render(request, "campaigns/campaign_detail.html", {
        "campaign": campaign, "summary": selectors.ledger_summary(campaign, request.user, today),
        "statuses": WorkItem.Status.choices, "can_edit": _is_office(request.user),
    })


@login_required
@permission_required("campaigns.add_campaign", raise_exception=True)
def campaign_form(request, pk=None):
    campaign = get_object_or_404(Campaign, pk=pk) if pk else None
    form = CampaignForm(request.POST or None, instance=campaign)
    if request.method == "POST" and form.is_valid():
        try:
            if campaign is None:
                campaign = services.campaign_create(actor=request.user, **form.cleaned_data)
            else:
                campaign = services.campaign_update(actor=request.user, campaign=Campaign.objects.get(pk=pk),
                                                    **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Campaign saved."))
            return redirect("campaigns:campaign_detail", pk=campaign.pk)
    return render(request, "campaigns/campaign_form.html", {"form": form, "campaign": campaign})


# --- indicator editions ----------------------------------------------------------------------------


@login_required
@permission_required("campaigns.view_indicatorsystem", raise_exception=True)
def edition_list(request):
    qs = IndicatorSystem.objects.order_by("-effective_from", "name", "pk").annotate(
        indicator_count=Count("indicators"),
        total_points=Sum("indicators__points", filter=Q(indicators__level=Indicator.Level.CRITERION)),
    )
    filterset = IndicatorSystemFilterSet(request.GET or None, queryset=qs, request=request)
    page = paginate(request, _filtered(filterset))
    return render(request, "campaigns/edition_list.html", {"filter": filterset, "page": page,
                                                           "can_edit": _is_office(request.user)})


@login_required
@permission_required("campaigns.view_indicatorsystem", raise_exception=True)
def edition_detail(request, pk):
    system = get_object_or_404(IndicatorSystem, pk=pk)
    return render(request, "campaigns/edition_detail.html", {
        "system": system, "nodes": selectors.edition_tree(system), "frozen": services.edition_is_frozen(system),
        "can_edit": _is_office(request.user), "copy_form": CopyForm(initial={"name": f"{system.name} (2)"}),
    })


@login_required
@permission_required("campaigns.change_indicatorsystem", raise_exception=True)
def edition_edit(request, pk):
    system = get_object_or_404(IndicatorSystem, pk=pk)
    form = IndicatorSystemForm(request.POST or None, instance=system)
    if request.method == "POST" and form.is_valid():
        try:
            services.indicator_system_update(actor=request.user, system=IndicatorSystem.objects.get(pk=pk),
                                             **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Edition saved."))
            return redirect("campaigns:edition_detail", pk=pk)
    return render(request, "campaigns/simple_form.html", {"form": form, "title": _("Edit edition"),
                                                          "back": reverse("campaigns:edition_detail", args=[pk])})


@login_required
@permission_required("campaigns.change_indicator", raise_exception=True)
def indicator_edit(request, pk):
    indicator = get_object_or_404(Indicator.objects.select_related("system"), pk=pk)
    form = IndicatorForm(request.POST or None, instance=indicator)
    if request.method == "POST" and form.is_valid():
        try:
            services.indicator_update(actor=request.user, indicator=Indicator.objects.select_related("system").get(pk=pk),
                                      **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Indicator saved."))
            return redirect("campaigns:edition_detail", pk=indicator.system_id)
    return render(request, "campaigns/simple_form.html", {
        "form": form, "title": str(indicator), "back": reverse("campaigns:edition_detail", args=[indicator.system_id]),
    })


@login_required
@require_POST
@permission_required("campaigns.change_indicatorsystem", raise_exception=True)
def edition_publish(request, pk):
    system = get_object_or_404(IndicatorSystem, pk=pk)
    try:
        services.indicator_system_publish(actor=request.user, system=system)
    except (ValidationError, Conflict) as exc:
        messages.error(request, exc.message if isinstance(exc, Conflict) else " ".join(exc.messages))
    else:
        messages.success(request, _("Edition published."))
    return redirect("campaigns:edition_detail", pk=pk)


@login_required
@require_POST
@permission_required("campaigns.add_indicatorsystem", raise_exception=True)
def edition_copy(request, pk):
    system = get_object_or_404(IndicatorSystem, pk=pk)
    form = CopyForm(request.POST)
    if form.is_valid():
        try:
            copy = services.indicator_system_copy(actor=request.user, system=system, name=form.cleaned_data["name"])
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Edition copied."))
            return redirect("campaigns:edition_detail", pk=copy.pk)
    else:
        messages.error(request, _("Give the new edition a name."))
    return redirect("campaigns:edition_detail", pk=pk)


@login_required
@permission_required("campaigns.add_indicatorsystem", raise_exception=True)
def edition_import(request):
    form = EditionImportForm(request.POST or None, request.FILES or None)
    errors = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if data["file"].size > settings.INLINE_IMPORT_BYTES:
            job = background.import_job_start(
                actor=request.user, kind=ImportJob.Kind.INDICATORS, upload=data["file"],
                params={"name": data["name"], "layout": data["layout"], "is_sample": data["is_sample"],
                        "effective_from": data["effective_from"].isoformat() if data["effective_from"] else None})
            return redirect("campaigns:import_job", pk=job.pk)
        try:
            system, result = indicator_io.import_edition(
                actor=request.user, upload=data["file"], name=data["name"], layout=data["layout"],
                effective_from=data["effective_from"], is_sample=data["is_sample"],
            )
        except ImportRejected as exc:
            errors = exc.errors
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Edition imported: %(count)d indicators.") % {"count": result.created})
            return redirect("campaigns:edition_detail", pk=system.pk)
    status = 400 if errors or (request.method == "POST" and form.errors) else 200
    return render(request, "campaigns/edition_import.html", {"form": form, "errors": errors}, status=status)


@login_required
@permission_required("campaigns.view_indicatorsystem", raise_exception=True)
def edition_export(request, pk):
    system = get_object_or_404(IndicatorSystem, pk=pk)
    return xlsx_response(filename=f"edition-{system.pk}.xlsx", title=_("indicators"),
                         headers=indicator_io.export_headers(), rows=indicator_io.export_rows(system), user=request.user)


# --- point types and points ------------------------------------------------------------------------


@login_required
@permission_required("campaigns.view_pointtype", raise_exception=True)
def point_type_list(request, pk=None):
    point_type = get_object_or_404(PointType, pk=pk) if pk else None
    can_edit = request.user.has_perm("campaigns.change_pointtype")
    form = PointTypeForm(request.POST or None, instance=point_type)
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied
        if form.is_valid():
            try:
                services.point_type_save(actor=request.user, point_type=PointType.objects.get(pk=pk) if pk else None,
                                         **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Point type saved."))
                return redirect("campaigns:point_type_list")
    types = PointType.objects.annotate(point_count=Count("points", filter=Q(points__active=True)))
    return render(request, "campaigns/point_type_list.html", {"types": types, "form": form, "can_edit": can_edit,
                                                              "editing": point_type})


@login_required
@permission_required("campaigns.view_point", raise_exception=True)
def point_list(request):
    filterset = PointFilterSet(request.GET or None, queryset=selectors.points(request.user), request=request)
    page = paginate(request, _filtered(filterset))
    return render(request, "campaigns/point_list.html", {"filter": filterset, "page": page,
                                                         "can_edit": request.user.has_perm("campaigns.add_point")})


@login_required
@permission_required("campaigns.view_point", raise_exception=True)
def point_map(request):
    filterset = PointFilterSet(request.GET or None, queryset=selectors.points(request.user), request=request)
    points = _filtered(filterset).filter(latitude__isnull=False, longitude__isnull=False)[:2000]
    data = [{"id": p.pk, "name": p.name, "type": p.point_type.name, "unit": p.unit.name, "lat": float(p.latitude),
             "lng": float(p.longitude), "url": reverse("campaigns:point_detail", args=[p.pk])} for p in points]
    return render(request, "campaigns/point_map.html", {
        "filter": filterset, "points": data, "tile_url": settings.MAP_TILE_URL,
        "tile_attribution": getattr(settings, "MAP_TILE_ATTRIBUTION", ""),
    })


def get_point(user, pk) -> Point:
    return get_object_or_404(selectors.points(user), pk=pk)


@login_required
@permission_required("campaigns.view_point", raise_exception=True)
def point_detail(request, pk):
    point = get_point(request.user, pk)
    return render(request, "campaigns/point_detail.html", {
        "point": point, "can_edit": has_role(request.user, point.unit, [SUPERVISOR]),
        "history": point.history.select_related("history_user")[:20],
    })


@login_required
@permission_required("campaigns.add_point", raise_exception=True)
def point_form(request, pk=None):
    point = get_point(request.user, pk) if pk else None
    form = PointForm(request.POST or None, instance=point, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            if point is None:
                point = services.point_create(actor=request.user, **form.cleaned_data)
            else:
                point = services.point_update(actor=request.user, point=get_point(request.user, pk), **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Point saved."))
            return redirect("campaigns:point_detail", pk=point.pk)
    return render(request, "campaigns/simple_form.html", {
        "form": form, "title": _("Edit point") if point else _("New point"),
        "back": reverse("campaigns:point_detail", args=[pk]) if pk else reverse("campaigns:point_list"),
    })


@login_required
@require_POST
@permission_required("campaigns.change_point", raise_exception=True)
def point_set_active(request, pk):
    point = get_point(request.user, pk)
    services.point_set_active(actor=request.user, point=point, active=request.POST.get("active") == "1")
    messages.success(request, _("Point saved."))
    return redirect("campaigns:point_detail", pk=pk)


@login_required
@permission_required("campaigns.view_point", raise_exception=True)
def point_export(request):
    filterset = PointFilterSet(request.GET or None, queryset=Point.objects.visible_to(request.user), request=request)
    return xlsx_response(filename="points.xlsx", title=_("evaluation points"), headers=ledger_io.point_export_headers(),
                         rows=ledger_io.point_export_rows(_filtered(filterset)), user=request.user)


def _import_page(request, *, kind: str, template: str, run, params: dict, done_url: str, context: dict):
    """Small files import inline; large ones become a background job with a progress page."""
    return import_page(request, LedgerImportForm(request.POST or None, request.FILES or None), run,
                       template=template, next_url=done_url, background=background.job_page_starter(request, kind, params),
                       context=context)


@login_required
@permission_required("campaigns.add_point", raise_exception=True)
def point_import(request):
    return _import_page(
        request, kind=ImportJob.Kind.POINTS, template="campaigns/point_import.html",
        run=lambda upload: ledger_io.import_points(actor=request.user, upload=upload),
        params={}, done_url=reverse("campaigns:point_list"), context={},
    )


# --- work items ------------------------------------------------------------------------------------


def get_campaign(user, pk) -> Campaign:
    return get_object_or_404(Campaign.objects.visible_to(user).select_related("indicator_system"), pk=pk)


def get_work_item(user, pk) -> WorkItem:
    """The permission-checked fetch every work item view uses: 404 outside the user's scope."""
    return get_object_or_404(selectors.work_items(user).select_related("campaign__indicator_system"), pk=pk)


def _ledger(request, *, queryset, template: str, context: dict, hide=("lead_unit",)):
    filterset = WorkItemFilterSet(request.GET or None, queryset=queryset, request=request)
    for name in hide:  # redundant on this page; each dropdown costs a query
        filterset.form.fields.pop(name, None)
    page = paginate(request, _filtered(filterset))
    return render(request, template, {"filter": filterset, "page": page, "today": timezone.localdate(), **context})


@login_required
@permission_required("campaigns.view_workitem", raise_exception=True)
def campaign_ledger(request, pk):
    campaign = get_campaign(request.user, pk)
    return _ledger(request, queryset=selectors.work_items(request.user).filter(campaign=campaign),
                   template="campaigns/workitem_list.html", hide=("campaign", "lead_unit"),
                   context={"campaign": campaign, "can_edit": request.user.has_perm("campaigns.add_workitem")})


@login_required
@permission_required("campaigns.view_workitem", raise_exception=True)
def unit_ledger(request, pk):
    unit = get_object_or_404(Unit.objects.visible_to(request.user), pk=pk)
    return _ledger(request, queryset=selectors.work_items(request.user).involving(unit),
                   template="campaigns/workitem_list.html", context={"unit": unit}, hide=("lead_unit", "within"))


@login_required
@permission_required("campaigns.view_workitem", raise_exception=True)
def ledger_export(request, pk):
    campaign = get_campaign(request.user, pk)
    filterset = WorkItemFilterSet(request.GET or None, queryset=WorkItem.objects.visible_to(request.user)
                                  .filter(campaign=campaign), request=request)
    return xlsx_response(filename=f"ledger-{campaign.pk}.xlsx", title=_("task ledger"), headers=ledger_io.ledger_headers(),
                         rows=ledger_io.ledger_rows(_filtered(filterset)), user=request.user)


@login_required
@permission_required("campaigns.add_workitem", raise_exception=True)
def ledger_import(request, pk):
    campaign = get_campaign(request.user, pk)
    return _import_page(
        request, kind=ImportJob.Kind.WORK_ITEMS, template="campaigns/workitem_import.html",
        run=lambda upload: ledger_io.import_work_items(actor=request.user, upload=upload, campaign=campaign),
        params={"campaign": campaign.pk}, done_url=reverse("campaigns:campaign_ledger", args=[pk]),
        context={"campaign": campaign},
    )


@login_required
@permission_required("campaigns.view_workitem", raise_exception=True)
def work_item_detail(request, pk):
    item = get_work_item(request.user, pk)
    reports = item.progress_reports.select_related("author", "unit").prefetch_related("attachments")
    lead_roles = has_role(request.user, item.lead_unit, services.UNIT_ROLES)
    any_roles = lead_roles or any(has_role(request.user, u, services.UNIT_ROLES) for u in item.cooperating_units.all())
    return render(request, "campaigns/workitem_detail.html", {
        "item": item, "reports": reports, "today": timezone.localdate(),
        "history": item.history.select_related("history_user").order_by("-history_date")[:30],
        "can_report": any_roles and item.status in WorkItem.OPEN_STATUSES,
        "can_submit": lead_roles and item.status in WorkItem.OPEN_STATUSES,
        "can_review": has_role(request.user, item.lead_unit, [SUPERVISOR]) and item.status == WorkItem.Status.SUBMITTED,
        "can_edit": has_role(request.user, item.lead_unit, [SUPERVISOR]),
        "progress_form": ProgressForm(), "review_form": ReviewForm(),
    })


@login_required
@permission_required("campaigns.add_workitem", raise_exception=True)
def work_item_form(request, campaign_pk=None, pk=None):
    item = get_work_item(request.user, pk) if pk else None
    campaign = item.campaign if item else get_campaign(request.user, campaign_pk)
    form = WorkItemForm(request.POST or None, instance=item, user=request.user, campaign=campaign)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if item is None:
                item = services.work_item_create(actor=request.user, campaign=campaign, **data)
            else:
                item = services.work_item_update(actor=request.user, item=get_work_item(request.user, pk), **data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Work item saved."))
            return redirect("campaigns:work_item_detail", pk=item.pk)
    back = reverse("campaigns:work_item_detail", args=[pk]) if pk else reverse("campaigns:campaign_ledger", args=[campaign.pk])
    return render(request, "campaigns/simple_form.html", {
        "form": form, "title": _("Edit work item") if pk else _("New work item"), "back": back,
    })


@login_required
@require_POST
@permission_required("campaigns.view_workitem", raise_exception=True)
def work_item_action(request, pk, action):
    item = get_work_item(request.user, pk)
    form = ProgressForm(request.POST, request.FILES) if action in {"progress", "submit"} else ReviewForm(request.POST)
    if action == "submit":
        form.fields["text"].required = False
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect("campaigns:work_item_detail", pk=pk)
    text, files = form.cleaned_data["text"], request.FILES.getlist("files")
    try:
        if action == "progress":
            services.work_item_report_progress(actor=request.user, item=item, text=text, files=files)
        elif action == "submit":
            services.work_item_submit(actor=request.user, item=item, text=text, files=files)
        else:
            services.work_item_verify(actor=request.user, item=item, accept=action == "verify", text=text)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Saved."))
    return redirect("campaigns:work_item_detail", pk=pk)


@login_required
@permission_required("campaigns.view_workitem", raise_exception=True)
def attachment_download(request, pk):
    """Attachments are served through the scope check, never as public media URLs."""
    attachment = get_object_or_404(
        ProgressAttachment.objects.filter(report__work_item__in=WorkItem.objects.visible_to(request.user)), pk=pk
    )
    return FileResponse(attachment.file.open("rb"), as_attachment=True, filename=attachment.original_name)


# --- background import jobs ------------------------------------------------------------------------


def get_job(user, pk) -> ImportJob:
    return get_object_or_404(selectors.import_jobs(user), pk=pk)


@login_required
def import_job(request, pk):
    job = get_job(request.user, pk)
    return render(request, "campaigns/import_job.html", {"job": job})


@login_required
def import_job_status(request, pk):
    job = get_job(request.user, pk)
    return JsonResponse({
        "status": job.status, "status_display": job.get_status_display(), "progress": job.progress,
        "finished": job.finished, "created": job.created_count, "errors": job.error_count, "message": job.message,
    })


@login_required
def import_job_report(request, pk):
    job = get_job(request.user, pk)
    if job.report:  # more errors than the job keeps: the full report written when it finished
        return FileResponse(job.report.open("rb"), as_attachment=True, filename=f"import-{job.pk}-report.xlsx",
                            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    rows = [[e["row"] or "", e["column"], e["message"]] for e in job.errors]
    if not rows:
        rows = [["", "", job.message or _("Imported: %(count)d rows.") % {"count": job.created_count}]]
    return xlsx_response(filename=f"import-{job.pk}-report.xlsx", title=_("import report"),
                         headers=[_("row"), _("column"), _("problem")], rows=rows, user=request.user)
