"""Pages of the monthly index: the ranking per peer group, a unit's score
explained, the bulletin (通报) and its xlsx, and the office's tools (compute,
publish, survey/materials entry and import, adjustments, scheme versions).
Views translate input and output; services decide."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F
from django.http import FileResponse, Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _lazy
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from campaigns.models import Campaign, Membership, Unit
from campaigns.scope import has_role
from civportal.errors import Conflict
from civportal.forms import add_service_errors
from civportal.pagination import paginate
from civportal.xlsx import ImportRejected, xlsx_response
from inspections.rechecks import panel as recurrence_panel
from materials.selectors import materials_breakdown

from . import compute, selectors, services
from .filtersets import MonthField
from .forms import AdjustmentForm, AppealForm, EntryForm, EntryImportForm, ReasonForm, SchemeForm
from .filtersets import AppealFilterSet
from .models import Appeal, AppealAttachment, ListFlag, ScoreAdjustment, ScorePeriod, ScoringScheme
from .periods import Period

RANK_ORDER = (F("rank").asc(nulls_last=True), F("unit__path").asc())


def _error_text(exc) -> str:
    if isinstance(exc, Conflict):
        return exc.message
    if isinstance(exc, PermissionDenied):
        return str(exc) or _("You may not do this.")
    return " ".join(exc.messages)


def _month(value) -> dt.date | None:
    try:
        return MonthField(required=False).clean(value)
    except ValidationError:
        return None


def _period(value) -> Period | None:
    try:
        return Period.parse(value) if value else None
    except ValidationError:
        return None


def _campaign_and_month(request):
    """The campaign and the scored month — or quarter, half-year or year (``period``) — asked for
    (or the latest month the user may see). ``months`` holds the scored months and periods to choose from."""
    user = request.user
    # Every campaign the user may read, newest first, in one query: the page's campaign select lists them.
    campaigns = list(Campaign.objects.visible_to(user).order_by("-starts_on", "-id"))
    raw = request.GET.get("campaign", "")
    if raw:
        campaign = next((c for c in campaigns if str(c.pk) == raw), None)
        if campaign is None:
            raise Http404
    else:  # the newest active campaign, else the newest one (selectors.default_campaign)
        campaign = next((c for c in campaigns if c.status == Campaign.Status.ACTIVE), campaigns[0] if campaigns else None)
    months = list(selectors.months_for(user, campaign)) if campaign else []
    periods = list(selectors.periods_for(user, campaign)) if campaign else []
    wanted_period = _period(request.GET.get("period"))
    if request.GET.get("period") and wanted_period is None:
        raise Http404
    if wanted_period is not None and not wanted_period.is_month:
        current = next((p for p in periods if (p.kind, p.starts_on) == (wanted_period.kind, wanted_period.first_month)),
                       None)
        return campaign, months + periods, current, campaigns
    wanted = wanted_period.first_month if wanted_period is not None else _month(request.GET.get("month"))
    current = next((m for m in months if m.month == wanted), None) if wanted else (months[0] if months else None)
    return campaign, months + periods, current, campaigns


def label_of(current) -> str:
    """``2026-07`` for a scored month, ``2026-Q3`` … for a scored period."""
    return current.label if isinstance(current, ScorePeriod) else f"{current.month:%Y-%m}"


def _rows_of(user, campaign, current):
    if isinstance(current, ScorePeriod):
        return selectors.period_scores_for(user).filter(period=current)
    return selectors.scores_for(user).filter(campaign=campaign, month=current.month)


def _finding_link():
    """The loop's finding detail URL, when that page exists."""
    try:
        reverse("inspections:finding_detail", args=[1])
    except NoReverseMatch:
        return None
    return lambda pk: reverse("inspections:finding_detail", args=[pk])


@login_required
@permission_required("scores.view_monthlyscore", raise_exception=True)
def ranking(request):
    campaign, months, current, campaigns = _campaign_and_month(request)
    kind = request.GET.get("kind") or ""
    kinds = current.scheme.ranked_kinds if current and current.scheme else []
    if kind not in kinds:
        kind = kinds[0] if kinds else ""
    rows = selectors.scores_for(request.user).none()
    if current is not None:
        rows = _rows_of(request.user, campaign, current).filter(kind=kind)
        flag = request.GET.get("list_flag")
        if flag in (ListFlag.RED, ListFlag.BLACK):
            rows = rows.filter(list_flag=flag)
        rows = rows.order_by(*RANK_ORDER)
    page = paginate(request, rows)
    return render(request, "scores/ranking.html", {
        "campaign": campaign, "months": months, "current": current, "kind": kind,
        "campaigns": campaigns,
        "kinds": [(k, Unit.Kind(k).label) for k in kinds], "page": page,
        "is_office": services.is_city_supervisor(request.user),
        "base_query": urlencode({"campaign": campaign.pk, "period": label_of(current)}) if current else "",
        "current_label": label_of(current) if current else "", "is_period": isinstance(current, ScorePeriod),
        "choices": [(label_of(m), m) for m in months],
    })


@login_required
@permission_required("scores.view_monthlyscore", raise_exception=True)
def score_detail(request, pk: int):
    score = get_object_or_404(selectors.scores_for(request.user).select_related("scheme", "score_month"), pk=pk)
    findings = paginate(request, selectors.costly_findings(score, request.user), default=20)
    link = _finding_link()
    for f in findings:
        f.url = link(f.pk) if link else ""
    is_office = services.is_city_supervisor(request.user)
    adjustments = ScoreAdjustment.objects.filter(campaign_id=score.campaign_id, unit_id=score.unit_id,
                                                 month=score.month).select_related("created_by", "withdrawn_by")
    can_adjust = has_role(request.user, score.unit, [Membership.Role.SUPERVISOR])
    # One query: the unit's appeals of the month (their attachments are on the appeals page).
    appeals = list(Appeal.objects.visible_to(request.user).filter(
        campaign_id=score.campaign_id, unit_id=score.unit_id, month=score.month).order_by("-created_at", "-id"))
    from . import lost

    start, end = compute.month_bounds(score.month)
    return render(request, "scores/score_detail.html", {
        # The unit's own losses by criterion (one grouped query); the full tree is on the lost-points page.
        "lost_criteria": lost.top_lost_criteria(request.user, score.campaign, start.date(), end.date(), limit=10,
                                                within=score.unit),
        "lost_query": urlencode({"campaign": score.campaign_id, "period": f"{score.month:%Y-%m}",
                                 "within": score.unit.code}),
        "score": score, "findings": findings, "is_office": is_office,
        "appeals": appeals, "appeal_counts": _appeal_counts(appeals),
        "can_appeal": _can_appeal(request.user, score), "appeal_form": AppealForm(),
        "adjustments": adjustments if can_adjust else [], "can_adjust": can_adjust and not score.is_published,
        "reason_form": ReasonForm(),
        "materials": (materials_breakdown(score.campaign, score.unit, score.month)
                      if score.materials_score is not None and not score.materials_from_subtree else None),
        "recurrence": recurrence_panel(request.user, score.campaign, score.unit,
                                       compute.next_month(score.month) - dt.timedelta(days=1)),
    })


def _bulletin_rows(request):
    campaign, months, current, _campaigns = _campaign_and_month(request)
    if current is None:
        raise Http404
    rows = list(_rows_of(request.user, campaign, current).filter(rank__isnull=False).order_by("kind", *RANK_ORDER))
    groups = defaultdict(list)
    for row in rows:
        groups[row.kind].append(row)
    kinds = current.scheme.ranked_kinds if current.scheme else sorted(groups)
    ordered = [(str(Unit.Kind(k).label), groups[k]) for k in kinds if groups.get(k)]
    return campaign, current, ordered, rows


@login_required
@permission_required("scores.view_monthlyscore", raise_exception=True)
def bulletin(request):
    campaign, current, groups, rows = _bulletin_rows(request)
    return render(request, "scores/bulletin.html", {
        "campaign": campaign, "current": current, "groups": groups,
        "red": [r for r in rows if r.list_flag == ListFlag.RED],
        "black": [r for r in rows if r.list_flag == ListFlag.BLACK],
        "query": urlencode({"campaign": campaign.pk, "period": label_of(current)}),
        "current_label": label_of(current), "is_period": isinstance(current, ScorePeriod),
    })


def bulletin_headers():
    return [_("peer group"), _("rank"), _("unit code"), _("unit"), _("total"), _("field score (F)"),
            _("rectification score (R)"), _("survey score (S)"), _("materials score (M)"), _("bonus"), _("penalty"),
            _("grade"), _("list")]


@login_required
@permission_required("scores.view_monthlyscore", raise_exception=True)
def bulletin_xlsx(request):
    campaign, current, groups, _rows = _bulletin_rows(request)

    def num(v):
        return None if v is None else float(v)

    rows = (
        [label, r.rank, r.unit.code, r.unit.name, num(r.total), num(r.field_score), num(r.rectification_score),
         num(r.survey_score), num(r.materials_score), num(r.bonus), num(r.penalty), r.get_grade_display(),
         r.get_list_flag_display() if r.list_flag else ""]
        for label, members in groups for r in members
    )
    return xlsx_response(filename=f"bulletin-{label_of(current)}.xlsx",
                         title=_("Bulletin %(month)s") % {"month": label_of(current)},
                         headers=bulletin_headers(), rows=rows, user=request.user)


@login_required
@require_POST
@permission_required("scores.change_monthlyscore", raise_exception=True)
def month_action(request, action: str):
    service = {"recompute": services.scores_recompute, "publish": services.scores_publish,
               "open-review": services.score_month_open_review, "announce": services.score_month_announce}.get(action)
    if service is None:
        raise Http404
    raw = request.POST.get("campaign") or ""
    month = _month(request.POST.get("month"))
    period = _period(request.POST.get("period")) if request.POST.get("period") else None
    if month is not None and period is None:
        period = Period("month", month.year, month.month)
    if not (raw.isascii() and raw.isdigit() and len(raw) < 19):
        raise Http404
    campaign = get_object_or_404(Campaign.objects.visible_to(request.user), pk=raw)
    back = reverse("scores:ranking")
    if period is None:
        messages.error(request, _("Enter a period as 2026-07 (month), 2026-Q3 (quarter), 2026-H2 (half-year) or "
                                  "2026 (year)."))
        return redirect(f"{back}?{urlencode({'campaign': campaign.pk})}")
    if not period.is_month:
        # Quarters, half-years and years are computed and published; review and announcement are monthly.
        service = {"recompute": services.period_recompute, "publish": services.period_publish}.get(action)
        if service is None:
            raise Http404
    extra = {"override_reason": request.POST.get("override_reason", "")[:4000]} if action == "publish" else {}
    try:
        if period.is_month:
            service(actor=request.user, campaign=campaign, month=period.first_month, **extra)
        else:
            service(actor=request.user, campaign=campaign, period=period, **extra)
    except (ValidationError, PermissionDenied, Conflict) as exc:
        messages.error(request, _error_text(exc))
    else:
        done = {"recompute": _("Scores of %(month)s computed."), "publish": _("Scores of %(month)s published."),
                "open-review": _("%(month)s is open for review: unit heads may appeal its deductions."),
                "announce": _("%(month)s is announced to the public.")}
        messages.success(request, done[action] % {"month": str(period)})
    return redirect(f"{back}?{urlencode({'campaign': campaign.pk, 'period': str(period)})}")


@login_required
@permission_required("scores.add_surveyscore", raise_exception=True)
def entries(request):
    """Survey and materials scores (one at a time or from xlsx) and adjustments."""
    user, errors = request.user, []
    entry_form = EntryForm(request.POST if request.POST.get("form") == "entry" else None, user=user, prefix="e")
    import_form = EntryImportForm(request.POST if request.POST.get("form") == "import" else None,
                                  request.FILES or None, user=user, prefix="i")
    adjust_form = AdjustmentForm(request.POST if request.POST.get("form") == "adjust" else None, user=user, prefix="a")
    form = {"entry": entry_form, "import": import_form, "adjust": adjust_form}.get(request.POST.get("form"))
    if request.method == "POST" and form is not None and form.is_valid():
        d = form.cleaned_data
        try:
            if form is entry_form:
                services.entered_score_set(actor=user, kind=d["kind"], campaign=d["campaign"], unit=d["unit"],
                                           month=d["month"], score=d["score"], note=d["note"])
                messages.success(request, _("Score saved."))
            elif form is import_form and d["file"].size > settings.INLINE_IMPORT_BYTES:
                job = services.entered_scores_import_start(actor=user, kind=d["kind"], campaign=d["campaign"],
                                                           month=d["month"], upload=d["file"])
                return redirect("campaigns:import_job", pk=job.pk)
            elif form is import_form:
                result = services.entered_scores_import(actor=user, kind=d["kind"], campaign=d["campaign"],
                                                        month=d["month"], upload=d["file"])
                messages.success(request, _("Imported: %(created)d new, %(updated)d updated.")
                                 % {"created": result.created, "updated": result.updated})
            else:
                services.adjustment_add(actor=user, campaign=d["campaign"], unit=d["unit"], month=d["month"],
                                        kind=d["kind"], points=d["points"], reason=d["reason"])
                messages.success(request, _("Adjustment saved."))
            return redirect("scores:entries")
        except ImportRejected as exc:
            errors = exc.errors
        except ValidationError as exc:
            add_service_errors(form, exc)
        except (PermissionDenied, Conflict) as exc:
            form.add_error(None, _error_text(exc))
    return render(request, "scores/entries.html", {"entry_form": entry_form, "import_form": import_form,
                                                   "adjust_form": adjust_form, "errors": errors})


@login_required
@require_POST
@permission_required("scores.change_scoreadjustment", raise_exception=True)
def adjustment_withdraw(request, pk: int):
    adjustment = get_object_or_404(ScoreAdjustment.objects.visible_to(request.user).select_related(
        "unit", "campaign"), pk=pk)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Please give a reason."))
    else:
        try:
            services.adjustment_withdraw(actor=request.user, adjustment=adjustment, reason=form.cleaned_data["reason"])
            messages.success(request, _("Adjustment withdrawn; recompute the month to apply it."))
        except (ValidationError, PermissionDenied, Conflict) as exc:
            messages.error(request, _error_text(exc))
    return redirect(request.POST.get("next") if (request.POST.get("next") or "").startswith("/scores/")
                    else reverse("scores:ranking"))


@login_required
@permission_required("scores.view_scoringscheme", raise_exception=True)
def scheme_list(request):
    page = paginate(request, ScoringScheme.objects.select_related("created_by").order_by("-version"))
    return render(request, "scores/scheme_list.html", {"page": page,
                                                       "is_office": services.is_city_supervisor(request.user)})


@login_required
@permission_required("scores.add_scoringscheme", raise_exception=True)
def scheme_create(request):
    current = services.scheme_current()
    form = SchemeForm(request.POST or None, initial=SchemeForm.initial_from(current))
    if request.method == "POST" and form.is_valid():
        try:
            scheme = services.scheme_create(actor=request.user, **form.service_kwargs())
        except ValidationError as exc:
            add_service_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, _error_text(exc))
        else:
            messages.success(request, _("Scheme version %(version)d saved; the next computation uses it.")
                             % {"version": scheme.version})
            return redirect("scores:scheme_list")
    return render(request, "scores/scheme_form.html", {"form": form, "current": current})


# --- appeals (申诉) ---------------------------------------------------------------------------


def _appeal_counts(appeals) -> dict:
    counts = {status: 0 for status in Appeal.Status.values}
    for appeal in appeals:
        counts[appeal.status] += 1
    return counts


def _can_appeal(user, score) -> bool:
    month = score.score_month
    return (not score.is_published and month.review_opened_at is not None
            and (month.appeal_deadline is None or timezone.now() <= month.appeal_deadline)
            and has_role(user, score.unit, [Membership.Role.HEAD]))


@login_required
@require_POST
@permission_required("scores.add_appeal", raise_exception=True)
def appeal_create(request, pk: int):
    """The head appeals one deduction from the score page (a finding, a visit or a task)."""
    from inspections.models import Finding, RectificationTask, Visit

    score = get_object_or_404(selectors.scores_for(request.user).select_related("score_month"), pk=pk)
    form = AppealForm(request.POST, request.FILES)
    url = reverse("scores:score_detail", args=[score.pk])
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect(url)
    d = form.cleaned_data
    model = {"finding": Finding, "visit": Visit, "task": RectificationTask}[d["target"]]
    try:
        services.appeal_submit(actor=request.user, score=score, target=d["target"],
                               obj=model.objects.filter(pk=d["object_id"]).first(), reason=d["reason"],
                               files=request.FILES.getlist("files"))
    except (ValidationError, PermissionDenied, Conflict) as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("Appeal sent to the campaign office."))
    return redirect(url)


def _appeal_rows(queryset):
    for a in queryset.order_by("-created_at", "-id"):
        yield [a.pk, a.unit.name, f"{a.month:%Y-%m}", a.get_target_display(),
               (a.finding_id or a.visit_id or a.task_id), a.reason, a.get_status_display(),
               a.get_resolution_display(), a.decision_note,
               timezone.localtime(a.created_at).strftime("%Y-%m-%d %H:%M"),
               timezone.localtime(a.decided_at).strftime("%Y-%m-%d %H:%M") if a.decided_at else ""]


APPEAL_HEADERS = [_lazy("number"), _lazy("unit"), _lazy("month"), _lazy("appealed"), _lazy("record number"),
                  _lazy("reason"), _lazy("status"), _lazy("correction"), _lazy("decision"), _lazy("submitted at"),
                  _lazy("decided at")]


@login_required
@permission_required("scores.view_appeal", raise_exception=True)
def appeal_list(request):
    filterset = AppealFilterSet(request.GET or None, queryset=selectors.appeals_for(request.user), request=request)
    rows = filterset.qs if filterset.is_bound and filterset.is_valid() else (
        filterset.queryset.none() if filterset.is_bound else filterset.queryset)
    if request.GET.get("format") == "xlsx":
        return xlsx_response(filename="appeals.xlsx", title=str(_("Appeals")), headers=APPEAL_HEADERS,
                             rows=_appeal_rows(rows.select_related(None).select_related("unit")), user=request.user)
    page = paginate(request, rows.order_by("-created_at", "-id"), default=50)
    query = request.GET.copy()
    query.pop("page", None)
    query["format"] = "xlsx"
    return render(request, "scores/appeal_list.html", {
        "filter": filterset, "page": page, "is_office": services.is_city_supervisor(request.user),
        "xlsx_query": query.urlencode(), "severities": [("minor", _("minor")), ("moderate", _("moderate")),
                                                         ("severe", _("severe"))],
    })


@login_required
@require_POST
@permission_required("scores.change_appeal", raise_exception=True)
def appeal_decide(request, pk: int, action: str):
    appeal = get_object_or_404(selectors.appeals_for(request.user), pk=pk)
    try:
        if action == "accept":
            services.appeal_accept(actor=request.user, appeal=appeal, note=request.POST.get("note", ""),
                                   resolution=request.POST.get("resolution", ""),
                                   severity=request.POST.get("severity") or None)
            messages.success(request, _("Appeal accepted; recompute the draft to see its effect."))
        elif action == "reject":
            services.appeal_reject(actor=request.user, appeal=appeal, reason=request.POST.get("reason", ""))
            messages.success(request, _("Appeal rejected."))
        else:
            raise Http404
    except (ValidationError, PermissionDenied, Conflict) as exc:
        messages.error(request, _error_text(exc))
    return redirect("scores:appeal_list")


@login_required
@permission_required("scores.view_appeal", raise_exception=True)
def appeal_attachment(request, pk: int):
    """Attachments are served through the scope check, never as public media URLs."""
    attachment = get_object_or_404(AppealAttachment.objects.filter(appeal__in=selectors.appeals_for(request.user)),
                                   pk=pk)
    return FileResponse(attachment.file.open("rb"), as_attachment=True, filename=attachment.original_name)


# --- lost points by criterion (失分项分析, docs/scores.md) ----------------------------------------


def _lost_points_query(request):
    """The filters, the campaign and the period asked for (defaults: the newest active campaign,
    the current month) and the nodes; a bad filter is a form error and shows nothing."""
    from . import lost

    form = lost.LostPointsForm(request.GET or None, user=request.user)
    ok = form.is_valid() if form.is_bound else True
    data = form.cleaned_data if form.is_bound and ok else {}
    campaign = data.get("campaign") or (selectors.default_campaign(request.user) if ok else None)
    period = data.get("period") or f"{timezone.localdate():%Y-%m}"
    start, end = lost.period_bounds(period)
    nodes = (lost.lost_points(request.user, campaign, start, end, within=data.get("within"),
                              point_type=data.get("point_type")) if campaign is not None and ok else [])
    return form, campaign, period, start, end, nodes


@login_required
@permission_required("scores.view_monthlyscore", raise_exception=True)
def lost_points(request):
    from . import lost

    form, campaign, period, start, end, nodes = _lost_points_query(request)
    drill = {"date_from": f"{start:%Y-%m-%d}", "date_to": f"{end - dt.timedelta(days=1):%Y-%m-%d}"}
    if campaign is not None:
        drill["campaign"] = campaign.pk
    for key in ("within", "point_type"):
        if form.is_bound and form.is_valid() and form.cleaned_data.get(key) is not None:
            drill[key] = request.GET.get(key)
    try:
        findings_url = reverse("inspections:finding_list")
    except NoReverseMatch:
        findings_url = ""
    for node in nodes:
        node.drill = f"{findings_url}?{urlencode({**drill, 'indicator': node.indicator.pk})}" if findings_url else ""
    return render(request, "scores/lost_points.html", {
        "form": form, "campaign": campaign, "period": period, "nodes": nodes, "headers": lost.headers(),
        "export_query": request.GET.urlencode(), "status": 200,
    }, status=200 if not form.is_bound or form.is_valid() else 400)


@login_required
@permission_required("scores.view_monthlyscore", raise_exception=True)
def lost_points_xlsx(request):
    from . import lost

    form, campaign, period, start, end, nodes = _lost_points_query(request)
    if form.is_bound and not form.is_valid():
        messages.error(request, " ".join(str(e) for errs in form.errors.values() for e in errs))
        return redirect("scores:lost_points")
    return xlsx_response(filename=f"lost-points-{period}.xlsx", title=_("Lost points"), headers=lost.headers(),
                         rows=lost.rows(nodes), user=request.user)
