"""Pages of 回头看: the re-checks (planned and recorded, xlsx), the office's rules and "draw now",
recording a re-check at the place, and the recurrence rates with the 顽疾点位 (xlsx)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from campaigns.models import Campaign
from civportal.errors import Conflict
from civportal.forms import add_service_errors
from civportal.pagination import paginate
from civportal.xlsx import xlsx_response

from . import rechecks
from .api.rechecks import RecheckFilterSet, RecurrenceQuerySerializer, recurrence_rows, rechecks_for
from .models import RecheckRule, RecheckRun, Severity


class RuleForm(forms.ModelForm):
    class Meta:
        model = RecheckRule
        fields = ["campaign", "name", "share_percent", "closed_min_days", "closed_max_days", "include_severe",
                  "active"]

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["campaign"].queryset = Campaign.objects.visible_to(user).order_by("-starts_on")


class RecordForm(forms.Form):
    recurred = forms.TypedChoiceField(
        label=gettext_lazy("Result"), coerce=lambda v: v == "1", widget=forms.RadioSelect,
        choices=[("0", gettext_lazy("Still fixed")), ("1", gettext_lazy("The problem came back"))])
    description = forms.CharField(label=gettext_lazy("What was found"), required=False, max_length=4000,
                                  widget=forms.Textarea(attrs={"rows": 3}))
    severity = forms.ChoiceField(label=gettext_lazy("Severity"), required=False,
                                 choices=[("", gettext_lazy("as the original"))] + list(Severity.choices))
    note = forms.CharField(label=gettext_lazy("Note"), required=False, max_length=2000)
    photos = forms.FileField(label=gettext_lazy("Photos (when the problem came back)"), required=False,
                             widget=forms.ClearableFileInput(attrs={"accept": "image/*"}))


def _error_text(exc) -> str:
    if isinstance(exc, Conflict):
        return exc.message
    if isinstance(exc, PermissionDenied):
        return str(exc) or _("You may not do this.")
    return " ".join(exc.messages)


RECHECK_HEADERS = [gettext_lazy("number"), gettext_lazy("campaign"), gettext_lazy("rule"), gettext_lazy("point"), gettext_lazy("responsible unit"),
                   gettext_lazy("category"), gettext_lazy("closed at"), gettext_lazy("severe"), gettext_lazy("status"), gettext_lazy("checked at"),
                   gettext_lazy("new finding")]


def _recheck_rows(qs):
    for r in qs:
        yield [r.pk, r.rule.campaign.name, r.rule.name, r.point.name, r.finding.unit.name, r.finding.category.name,
               timezone.localtime(r.finding.closed_at).strftime("%Y-%m-%d") if r.finding.closed_at else "",
               _("yes") if r.severe else "", r.get_status_display(),
               timezone.localtime(r.checked_at).strftime("%Y-%m-%d %H:%M") if r.checked_at else "",
               r.recurrence_id or ""]


@login_required
@permission_required("inspections.view_recheck", raise_exception=True)
def recheck_list(request):
    base = rechecks_for(request.user).select_related("rule__campaign")
    filterset = RecheckFilterSet(request.GET or None, queryset=base)
    rows = filterset.qs if filterset.is_bound and filterset.is_valid() else (
        base.none() if filterset.is_bound else base)
    rows = rows.order_by("-created_at", "-id")
    if request.GET.get("format") == "xlsx":
        return xlsx_response(filename="rechecks.xlsx", title=_("Re-checks"), headers=RECHECK_HEADERS,
                             rows=_recheck_rows(rows), user=request.user)
    query = request.GET.copy()
    query.pop("page", None)
    query["format"] = "xlsx"
    office = request.user.has_perm("inspections.add_recheckrule")
    rules = list(RecheckRule.objects.visible_to(request.user).select_related("campaign")) if office else []
    runs = list(RecheckRun.objects.filter(rule__in=rules).select_related("rule", "run_by")[:10]) if office else []
    return render(request, "inspections/recheck_list.html", {
        "filter": filterset, "page": paginate(request, rows, default=50), "xlsx_query": query.urlencode(),
        "rules": rules, "runs": runs, "office": office,
    })


@login_required
@permission_required("inspections.add_recheckrule", raise_exception=True)
def recheck_rule(request, pk: int | None = None):
    rule = get_object_or_404(RecheckRule.objects.visible_to(request.user), pk=pk) if pk else None
    form = RuleForm(request.POST or None, instance=rule, user=request.user)
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in RuleForm.Meta.fields}
        try:
            rechecks.rule_save(actor=request.user, rule=rule, **fields)
        except ValidationError as exc:
            add_service_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, _error_text(exc))
        else:
            messages.success(request, _("Re-check rule saved."))
            return redirect("inspections:recheck_list")
    return render(request, "inspections/simple_form.html", {
        "form": form, "title": _("Re-check rule") if rule else _("New re-check rule"),
        "back": reverse("inspections:recheck_list")})


@login_required
@require_POST
@permission_required("inspections.add_recheckrule", raise_exception=True)
def recheck_draw(request, pk: int):
    rule = get_object_or_404(RecheckRule.objects.visible_to(request.user), pk=pk)
    try:
        run = rechecks.rule_run(rule=rule, actor=request.user)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("%(drawn)d of %(candidates)d closed findings drawn for a re-check.")
                         % {"drawn": run.drawn_count, "candidates": run.candidate_count})
    return redirect("inspections:recheck_list")


@login_required
@permission_required("inspections.view_recheck", raise_exception=True)
def recheck_detail(request, pk: int):
    recheck = get_object_or_404(rechecks_for(request.user).select_related("inspection", "visit", "recurrence"),
                                pk=pk)
    can_record = request.user.has_perm("inspections.change_recheck") and recheck.status == "planned"
    form = RecordForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if not can_record:
            raise PermissionDenied
        if form.is_valid():
            d = form.cleaned_data
            try:
                rechecks.recheck_record(
                    actor=request.user, recheck=recheck, recurred=d["recurred"], description=d["description"],
                    severity=d["severity"] or None, note=d["note"], photos_in=request.FILES.getlist("photos"))
            except ValidationError as exc:
                add_service_errors(form, exc)
            except (PermissionDenied, Conflict) as exc:
                form.add_error(None, _error_text(exc))
            else:
                messages.success(request, _("Re-check recorded."))
                return redirect("inspections:recheck_detail", pk=recheck.pk)
    return render(request, "inspections/recheck_detail.html", {
        "recheck": recheck, "form": form, "can_record": can_record})


RECURRENCE_HEADERS = [gettext_lazy("name"), gettext_lazy("code"), gettext_lazy("closed findings"), gettext_lazy("came back within 30 days"),
                      gettext_lazy("came back within 60 days"), gettext_lazy("came back within 90 days"), gettext_lazy("rate 30 days (%)"),
                      gettext_lazy("rate 60 days (%)"), gettext_lazy("rate 90 days (%)")]


def _recurrence_cells(rows):
    def num(v):
        return None if v is None else float(v)

    for r in rows:
        yield [r["name"], r["code"], r["closed"], r["back_30"], r["back_60"], r["back_90"], num(r["rate_30"]),
               num(r["rate_60"]), num(r["rate_90"])]


@login_required
@permission_required("inspections.view_finding", raise_exception=True)
def recurrence(request):
    campaigns = Campaign.objects.visible_to(request.user).order_by("-starts_on", "-id")
    params = request.GET.copy()
    if not params.get("campaign"):
        default = campaigns.active().first() or campaigns.first()
        if default is None:
            return render(request, "inspections/recurrence.html", {"campaigns": []})
        params["campaign"] = str(default.pk)
    query = RecurrenceQuerySerializer(data={k: v for k, v in params.items() if k in RecurrenceQuerySerializer().fields})
    if not query.is_valid():
        messages.error(request, " ".join(str(e) for errors in query.errors.values() for e in errors))
        return redirect("inspections:recurrence")
    campaign = campaigns.filter(pk=query.validated_data["campaign"].pk).first()
    if campaign is None:
        raise Http404
    data = {**query.validated_data, "campaign": campaign}
    rng, rows, convert = recurrence_rows(request.user, data)
    group = data.get("group") or "unit"
    if request.GET.get("format") == "xlsx":
        cells = (convert(r) for r in rows) if convert else rows
        return xlsx_response(filename=f"recurrence-{group}.xlsx", title=_("Recurrence rates"),
                             headers=RECURRENCE_HEADERS, rows=_recurrence_cells(cells), user=request.user)
    page = paginate(request, rows, default=50)
    items = [convert(r) for r in page] if convert else list(page)
    chronic = [rechecks.point_row(r) for r in rechecks.by_point(rng, request.user, chronic=True)[:20]]
    xlsx = params.copy()
    xlsx.pop("page", None)
    xlsx["format"] = "xlsx"
    return render(request, "inspections/recurrence.html", {
        "campaigns": campaigns, "campaign": campaign, "rng": rng, "group": group, "page": page, "items": items,
        "chronic": chronic, "xlsx_query": xlsx.urlencode(), "chronic_min": rechecks.CHRONIC_MIN_RETURNS,
        "groups": [("unit", _("by unit")), ("point", _("by point")), ("category", _("by category"))],
    })
