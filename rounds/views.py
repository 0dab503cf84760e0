"""Evaluation round pages. Views translate input and output; services decide."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from campaigns.models import PointType
from civportal.forms import add_service_errors
from civportal.pagination import paginate
from civportal.xlsx import xlsx_response

from . import selectors, services
from .filtersets import InspectionScheduleFilterSet, PointDrawFilterSet
from .forms import DrawForm, ScheduleForm
from .models import PointDraw


def _filtered(filterset):
    if not filterset.is_bound:
        return filterset.queryset
    return filterset.qs if filterset.is_valid() else filterset.queryset.none()


def _rule_text(draw: PointDraw, type_names: dict[int, str]) -> str:
    rule = draw.rule
    if rule.get("mode") == PointDraw.Mode.COUNT:
        text = _("%(n)s points per type") % {"n": rule.get("value")}
    else:
        text = _("%(share)s %% of each type") % {"share": format(Decimal(rule.get("value", "0")) * 100, "f")
                                                 .rstrip("0").rstrip(".")}
    types = [type_names.get(t, str(t)) for t in rule.get("point_types") or []]
    if types:
        text += _(", types: %(types)s") % {"types": "、".join(types)}
    if rule.get("exclude_days"):
        text += _(", leaving out points visited in the last %(days)s days") % {"days": rule["exclude_days"]}
    return text


# --- point draws ----------------------------------------------------------------------------


@login_required
@permission_required("rounds.view_pointdraw", raise_exception=True)
def draw_list(request):
    filterset = PointDrawFilterSet(request.GET or None, queryset=selectors.draws_for(request.user), request=request)
    page = paginate(request, _filtered(filterset))
    return render(request, "rounds/draw_list.html", {
        "filter": filterset, "page": page, "can_create": request.user.has_perm("rounds.add_pointdraw")})


@login_required
@permission_required("rounds.view_pointdraw", raise_exception=True)
def draw_list_export(request):
    filterset = PointDrawFilterSet(request.GET or None, queryset=selectors.draws_for(request.user), request=request)
    types = dict(PointType.objects.values_list("pk", "name"))
    rows = ([d.title, d.campaign.name, d.area.name, _rule_text(d, types), d.seed, d.candidate_count, d.drawn,
             d.starts_on.isoformat(), d.ends_on.isoformat(), d.drawn_by.get_username(),
             timezone.localtime(d.created_at).strftime("%Y-%m-%d %H:%M")] for d in _filtered(filterset))
    return xlsx_response(filename="point-draws.xlsx", title=_("point draws"), user=request.user, headers=[
        _("title"), _("campaign"), _("area"), _("rule"), _("random seed"), _("candidates"), _("points drawn"),
        _("starts on"), _("ends on"), _("drawn by"), _("drawn at")], rows=rows)


@login_required
@permission_required("rounds.add_pointdraw", raise_exception=True)
def draw_create(request):
    form = DrawForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            draw = services.point_draw_create(
                actor=request.user, point_types=list(data.pop("point_types")), inspectors=list(data.pop("inspectors")),
                **data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error("area", str(exc))
        else:
            messages.success(request, _("Points drawn: the round is hidden from the units until it ends."))
            return redirect("rounds:draw_detail", pk=draw.pk)
    return render(request, "inspections/simple_form.html", {
        "form": form, "title": _("Draw points"), "back": reverse("rounds:draw_list")}, status=400 if form.errors else 200)


def _draw(request, pk):
    return get_object_or_404(selectors.draws_for(request.user), pk=pk)


@login_required
@permission_required("rounds.view_pointdraw", raise_exception=True)
def draw_detail(request, pk):
    draw = _draw(request, pk)
    stops = list(selectors.draw_stops(draw, request.user))
    types = dict(PointType.objects.values_list("pk", "name"))
    return render(request, "rounds/draw_detail.html", {
        "draw": draw, "stops": stops, "rule_text": _rule_text(draw, types),
        "done": sum(1 for s in stops if s.done)})


@login_required
@permission_required("rounds.view_pointdraw", raise_exception=True)
def draw_export(request, pk):
    draw = _draw(request, pk)
    rows = ([s.position, s.point.code, s.point.name, s.point.point_type.name, s.stratum.name if s.stratum else "",
             s.point.unit.name, s.point.address, s.point.latitude, s.point.longitude,
             s.inspector.get_username() if s.inspector else "", _("yes") if s.done else _("no")]
            for s in selectors.draw_stops(draw, request.user))
    return xlsx_response(filename=f"point-draw-{draw.pk}.xlsx", title=_("point draw"), user=request.user, headers=[
        _("order"), _("point code"), _("point"), _("point type"), _("stratum"), _("territorial unit"), _("address"),
        _("latitude"), _("longitude"), _("inspector"), _("visited")], rows=rows)


def _coordinate(value: str | None, limit: int) -> Decimal | None:
    try:
        number = Decimal(value or "")
    except InvalidOperation:
        return None
    return number if number.is_finite() and -limit <= number <= limit else None


@login_required
def my_round(request):
    """The inspector's own stops in running rounds, on the phone: nearest first once the browser gave its
    position (``?lat=&lng=``), else by district and name."""
    lat, lng = _coordinate(request.GET.get("lat"), 90), _coordinate(request.GET.get("lng"), 180)
    if lat is None or lng is None:
        lat = lng = None
    stops = selectors.my_stops(request.user, today=timezone.localdate(), latitude=lat, longitude=lng)
    page = paginate(request, stops)
    return render(request, "rounds/my_round.html", {"page": page, "located": lat is not None})


# --- schedules ------------------------------------------------------------------------------


@login_required
@permission_required("rounds.view_inspectionschedule", raise_exception=True)
def schedule_list(request):
    filterset = InspectionScheduleFilterSet(request.GET or None, queryset=selectors.schedules_for(request.user),
                                            request=request)
    page = paginate(request, _filtered(filterset))
    today = timezone.localdate()
    for schedule in page:
        schedule.upcoming = schedule.next_occurrences(today, 1) if schedule.active else []
    return render(request, "rounds/schedule_list.html", {
        "filter": filterset, "page": page,
        "can_create": request.user.has_perm("rounds.add_inspectionschedule")})


@login_required
@permission_required("rounds.view_inspectionschedule", raise_exception=True)
def schedule_export(request):
    filterset = InspectionScheduleFilterSet(request.GET or None, queryset=selectors.schedules_for(request.user),
                                            request=request)
    today = timezone.localdate()

    def rows():
        for s in _filtered(filterset):
            upcoming = s.next_occurrences(today, 1) if s.active else []
            yield [s.title, s.campaign.name, s.get_kind_display(), s.unit.name, s.get_frequency_display(),
                   s.interval, s.starts_on.isoformat(), s.until.isoformat() if s.until else "", s.duration_days,
                   "、".join(u.get_username() for u in s.inspectors.all()),
                   _("active") if s.active else _("paused"), s.occurrence_count,
                   upcoming[0].isoformat() if upcoming else ""]
    return xlsx_response(filename="inspection-schedules.xlsx", title=_("inspection schedules"), user=request.user,
                         headers=[_("title"), _("campaign"), _("kind"), _("area"), _("repeats"), _("every"),
                                  _("first occurrence on or after"), _("last occurrence on or before"),
                                  _("days per round"), _("inspectors"), _("status"), _("rounds created"),
                                  _("next round")], rows=rows())


@login_required
@permission_required("rounds.add_inspectionschedule", raise_exception=True)
def schedule_create(request):
    form = ScheduleForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            schedule = services.schedule_create(actor=request.user, inspectors=list(data.pop("inspectors")),
                                                points=list(data.pop("points")), **data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error("unit", str(exc))
        else:
            messages.success(request, _("Schedule saved."))
            return redirect("rounds:schedule_detail", pk=schedule.pk)
    return render(request, "inspections/simple_form.html", {
        "form": form, "title": _("New inspection schedule"), "back": reverse("rounds:schedule_list")},
        status=400 if form.errors else 200)


def _schedule(request, pk):
    return get_object_or_404(selectors.schedules_for(request.user), pk=pk)


@login_required
@permission_required("rounds.view_inspectionschedule", raise_exception=True)
def schedule_detail(request, pk):
    schedule = _schedule(request, pk)
    today = timezone.localdate()
    return render(request, "rounds/schedule_detail.html", {
        "schedule": schedule, "occurrences": selectors.occurrences(schedule)[:50],
        "upcoming": schedule.next_occurrences(today, 5) if schedule.active else [],
        "can_change": request.user.has_perm("rounds.change_inspectionschedule"),
    })


@login_required
@permission_required("rounds.change_inspectionschedule", raise_exception=True)
def schedule_edit(request, pk):
    schedule = _schedule(request, pk)
    form = ScheduleForm(request.POST or None, instance=schedule, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k not in ("inspectors", "points")}
        try:
            services.schedule_update(actor=request.user, schedule=schedule,
                                     inspectors=list(form.cleaned_data["inspectors"]),
                                     points=list(form.cleaned_data["points"]), **data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Schedule saved."))
            return redirect("rounds:schedule_detail", pk=pk)
    return render(request, "inspections/simple_form.html", {
        "form": form, "title": _("Edit inspection schedule"), "back": reverse("rounds:schedule_detail", args=[pk])},
        status=400 if form.errors else 200)


@login_required
@require_POST
@permission_required("rounds.change_inspectionschedule", raise_exception=True)
def schedule_active(request, pk):
    schedule = _schedule(request, pk)
    active = request.POST.get("active") == "1"
    try:
        services.schedule_set_active(actor=request.user, schedule=schedule, active=active)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Schedule resumed.") if active else _("Schedule paused."))
    return redirect("rounds:schedule_detail", pk=pk)
