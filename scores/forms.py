from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from campaigns.filtersets import UnitRefField
from campaigns.models import Campaign, Unit

from .filtersets import MonthField
from .models import COMPONENTS, RANKABLE_KINDS, Appeal, Grade, ScoreAdjustment, ScoringScheme

ENTRY_KINDS = [("survey", _("survey score (S)")), ("materials", _("materials score (M)"))]
COMPONENT_LABELS = {"F": _("field"), "R": _("rectification"), "S": _("survey"), "M": _("materials")}
KIND_LABELS = dict(Unit.Kind.choices)


class _MonthForm(forms.Form):
    campaign = forms.ModelChoiceField(queryset=Campaign.objects.all(), label=_("Campaign"))
    month = MonthField(label=_("Month"), help_text=_("YYYY-MM"))

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["campaign"].queryset = Campaign.objects.visible_to(user)
        if "unit" in self.fields:
            self.fields["unit"].queryset = Unit.objects.visible_to(user)


class EntryForm(_MonthForm):
    kind = forms.ChoiceField(choices=ENTRY_KINDS, label=_("Component"))
    unit = UnitRefField(queryset=Unit.objects.none(), label=_("Unit (code)"))
    score = forms.DecimalField(label=_("Score"), min_value=0, max_value=100, max_digits=5, decimal_places=2)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class EntryImportForm(_MonthForm):
    kind = forms.ChoiceField(choices=ENTRY_KINDS, label=_("Component"))
    file = forms.FileField(label=_("Excel file (.xlsx)"))


class AdjustmentForm(_MonthForm):
    unit = UnitRefField(queryset=Unit.objects.none(), label=_("Unit (code)"))
    kind = forms.ChoiceField(choices=ScoreAdjustment.Kind.choices, label=_("Kind"))
    points = forms.DecimalField(label=_("Points"), min_value=Decimal("0.01"), max_value=100, max_digits=5,
                                decimal_places=2)
    reason = forms.CharField(label=_("Reason"), max_length=300)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300)


class SchemeForm(forms.Form):
    """The scheme as flat fields; saving creates the next version."""

    name = forms.CharField(label=_("Name"), max_length=100)
    ranked_kinds = forms.MultipleChoiceField(
        label=_("Ranked unit kinds"), widget=forms.CheckboxSelectMultiple,
        choices=[(k, KIND_LABELS[k]) for k in RANKABLE_KINDS],
    )
    sev_minor = forms.DecimalField(label=_("Severity factor: minor"), min_value=0, max_digits=4, decimal_places=2)
    sev_moderate = forms.DecimalField(label=_("Severity factor: moderate"), min_value=0, max_digits=4,
                                      decimal_places=2)
    sev_severe = forms.DecimalField(label=_("Severity factor: severe"), min_value=0, max_digits=4, decimal_places=2)
    field_mode = forms.ChoiceField(label=_("Field scoring"), choices=ScoringScheme.FieldMode.choices,
                                   initial=ScoringScheme.FieldMode.DEDUCTION, required=False)
    repeat_window_days = forms.IntegerField(label=_("Repeat window (days)"), min_value=1, max_value=365)
    repeat_factor = forms.DecimalField(label=_("Repeat factor"), min_value=1, max_digits=4, decimal_places=2)
    list_share = forms.DecimalField(label=_("List share"), min_value=Decimal("0.01"), max_value=1, max_digits=4,
                                    decimal_places=2)
    red_min_total = forms.DecimalField(label=_("Red list minimum total"), min_value=0, max_value=100,
                                       max_digits=5, decimal_places=2)
    black_below_total = forms.DecimalField(label=_("Black list below total"), min_value=0, max_value=100,
                                           max_digits=5, decimal_places=2)
    black_bottom_min_group = forms.IntegerField(label=_("Smallest group with a bottom black list"), min_value=1,
                                                max_value=1000)
    bottom_list_ceiling = forms.DecimalField(label=_("Bottom black list ceiling"), min_value=0, max_value=100,
                                             max_digits=5, decimal_places=2, initial=90)
    appeal_window_days = forms.IntegerField(label=_("Appeal window (working days)"), min_value=1, max_value=30,
                                            initial=3)
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for kind in RANKABLE_KINDS:
            for c in COMPONENTS:
                self.fields[f"w_{kind}_{c}"] = forms.DecimalField(
                    label=f"{KIND_LABELS[kind]} · {COMPONENT_LABELS[c]} ({c})", min_value=0, max_value=1,
                    max_digits=4, decimal_places=2, required=False)
        for grade in Grade.values[:-1]:
            self.fields[f"band_{grade}"] = forms.DecimalField(
                label=_("Minimum total: %(grade)s") % {"grade": Grade(grade).label}, min_value=0, max_value=100,
                max_digits=5, decimal_places=2)

    @classmethod
    def initial_from(cls, scheme: ScoringScheme) -> dict:
        initial = {
            "name": scheme.name, "ranked_kinds": scheme.ranked_kinds, "field_mode": scheme.field_mode,
            "repeat_window_days": scheme.repeat_window_days, "repeat_factor": scheme.repeat_factor,
            "list_share": scheme.list_share, "red_min_total": scheme.red_min_total,
            "black_below_total": scheme.black_below_total, "black_bottom_min_group": scheme.black_bottom_min_group,
            "bottom_list_ceiling": scheme.bottom_list_ceiling, "appeal_window_days": scheme.appeal_window_days,
            "notes": "",
        }
        for sev in ("minor", "moderate", "severe"):
            initial[f"sev_{sev}"] = scheme.severity_factor(sev)
        for kind, row in scheme.weights.items():
            for c in COMPONENTS:
                initial[f"w_{kind}_{c}"] = row.get(c)
        for grade, minimum in scheme.bands():
            initial[f"band_{grade}"] = minimum
        return initial

    def clean(self):
        data = super().clean()
        for kind in data.get("ranked_kinds") or []:
            if any(data.get(f"w_{kind}_{c}") is None for c in COMPONENTS):
                raise forms.ValidationError(_("Give the four weights of every ranked kind."))
        return data

    def service_kwargs(self) -> dict:
        d = self.cleaned_data
        weights = {
            kind: {c: str(d[f"w_{kind}_{c}"]) for c in COMPONENTS}
            for kind in RANKABLE_KINDS if all(d.get(f"w_{kind}_{c}") is not None for c in COMPONENTS)
        }
        return {
            "name": d["name"], "weights": weights, "ranked_kinds": list(d["ranked_kinds"]),
            "severity_factors": {s: str(d[f"sev_{s}"]) for s in ("minor", "moderate", "severe")},
            "repeat_window_days": d["repeat_window_days"], "repeat_factor": d["repeat_factor"],
            "list_share": d["list_share"], "red_min_total": d["red_min_total"],
            "black_below_total": d["black_below_total"], "black_bottom_min_group": d["black_bottom_min_group"],
            "bottom_list_ceiling": d["bottom_list_ceiling"], "appeal_window_days": d["appeal_window_days"],
            "grade_bands": [[g, str(d[f"band_{g}"])] for g in Grade.values[:-1]] + [[Grade.POOR.value, "0"]],
            "notes": d.get("notes") or "", "field_mode": d.get("field_mode") or ScoringScheme.FieldMode.DEDUCTION,
        }


class AppealForm(forms.Form):
    target = forms.ChoiceField(choices=Appeal.Target.choices, label=_("Appealed"))
    object_id = forms.IntegerField(min_value=1, max_value=2**62, label=_("Record number"))
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=4000, label=_("Reason"))
