"""One FilterSet per scores list, shared by the pages and the API."""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from django.db import models
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from campaigns.filtersets import UnitChoiceFilter
from campaigns.models import Campaign, Unit
from civportal.filters import ModelChoiceFilter, YesNoFilter

from .models import RANKABLE_KINDS, AccountabilityRecord, Appeal, Exposure, ListFlag, MonthlyScore, ScoreMonth


class MonthField(forms.CharField):
    """A month as YYYY-MM (or any date in it, YYYY-MM-DD): its first day."""

    def to_python(self, value):
        value = super().to_python(value).strip()
        if not value:
            return None
        if len(value) > 10:
            raise forms.ValidationError(_("Enter a month as YYYY-MM."), code="invalid")
        try:
            if len(value) == 7:
                return dt.date.fromisoformat(f"{value}-01")
            return dt.date.fromisoformat(value).replace(day=1)
        except ValueError:
            raise forms.ValidationError(_("Enter a month as YYYY-MM."), code="invalid")


class PeriodField(forms.CharField):
    """A period: ``2026-07``, ``2026-Q3``, ``2026-H2`` or ``2026`` (scores.periods.Period)."""

    def to_python(self, value):
        from django.core.exceptions import ValidationError

        from .periods import Period

        value = super().to_python(value).strip()
        if not value:
            return None
        try:
            return Period.parse(value)
        except ValidationError as exc:
            raise forms.ValidationError(exc.message_dict["period"][0], code="invalid")


@extend_schema_field({"type": "string", "pattern": r"^\d{4}(-(\d{2}|Q[1-4]|H[12]))?$", "example": "2026-Q3"})
class PeriodFilter(django_filters.Filter):
    field_class = PeriodField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("help_text", _("period: 2026-07 (month), 2026-Q3, 2026-H2 or 2026"))
        super().__init__(*args, **kwargs)


@extend_schema_field(OpenApiTypes.STR)
class MonthFilter(django_filters.Filter):
    field_class = MonthField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("help_text", _("month, YYYY-MM"))
        super().__init__(*args, **kwargs)


KIND_CHOICES = [(k.value, k.label) for k in Unit.Kind if k.value in RANKABLE_KINDS]
FLAG_CHOICES = [(ListFlag.RED.value, ListFlag.RED.label), (ListFlag.BLACK.value, ListFlag.BLACK.label),
                ("none", _("none"))]


class MonthlyScoreFilterSet(django_filters.FilterSet):
    campaign = ModelChoiceFilter(queryset=Campaign.objects.all(), label=_("Campaign"))
    month = MonthFilter(label=_("Month"))
    unit = UnitChoiceFilter(label=_("Unit"))
    within = UnitChoiceFilter(method="filter_within", label=_("Within unit (subtree)"))
    kind = django_filters.ChoiceFilter(choices=KIND_CHOICES, label=_("Peer group"))
    list_flag = django_filters.ChoiceFilter(choices=FLAG_CHOICES, method="filter_flag", label=_("List"))
    status = django_filters.ChoiceFilter(choices=ScoreMonth.Status.choices, label=_("Status"))
    ranked = YesNoFilter(field_name="rank", lookup_expr="isnull", exclude=True, label=_("Ranked"))
    period = PeriodFilter(method="filter_period", label=_("Period"))

    class Meta:
        model = MonthlyScore
        fields = ["campaign", "month", "unit", "within", "kind", "list_flag", "status", "ranked", "period"]

    def filter_within(self, queryset, name, unit):
        return queryset.filter(unit__path__startswith=unit.path)

    def filter_flag(self, queryset, name, value):
        return queryset.filter(list_flag="" if value == "none" else value)

    def filter_period(self, queryset, name, period):
        # A month's rows live here; a longer period's in PeriodScore (PeriodScoreFilterSet).
        return queryset.filter(month=period.first_month) if period.is_month else queryset.none()


class PeriodScoreFilterSet(MonthlyScoreFilterSet):
    """The same filters over a quarter's, half-year's or year's rows (``period`` picks them)."""

    month = MonthFilter(method="filter_month", label=_("Month"))

    class Meta:
        from .models import PeriodScore

        model = PeriodScore
        fields = ["campaign", "month", "unit", "within", "kind", "list_flag", "status", "ranked", "period"]

    def filter_month(self, queryset, name, month):
        return queryset.filter(period__starts_on=month)

    def filter_period(self, queryset, name, period):
        return queryset.filter(period__kind=period.kind, period__starts_on=period.first_month)


class AppealFilterSet(django_filters.FilterSet):
    campaign = ModelChoiceFilter(queryset=Campaign.objects.all(), label=_("Campaign"))
    month = MonthFilter(label=_("Month"))
    unit = UnitChoiceFilter(label=_("Unit"))
    status = django_filters.ChoiceFilter(choices=Appeal.Status.choices, label=_("Status"))
    target = django_filters.ChoiceFilter(choices=Appeal.Target.choices, label=_("Appealed"))

    class Meta:
        model = Appeal
        fields = ["campaign", "month", "unit", "status", "target"]


class AccountabilityRecordFilterSet(django_filters.FilterSet):
    """Accountability records (问责记录): the office's list page, its xlsx and the API."""

    unit = UnitChoiceFilter(label=_("Unit"))
    within = UnitChoiceFilter(method="filter_within", label=_("Within unit (subtree)"))
    kind = django_filters.ChoiceFilter(choices=AccountabilityRecord.Kind.choices, label=_("Measure"))
    year = django_filters.NumberFilter(field_name="decided_on", lookup_expr="year", min_value=2000,
                                       max_value=2099, label=_("Year"))
    month = MonthFilter(method="filter_month", label=_("Month"))

    class Meta:
        model = AccountabilityRecord
        fields = ["unit", "within", "kind", "year", "month"]

    def filter_within(self, queryset, name, unit):
        return queryset.filter(unit__path__startswith=unit.path)

    def filter_month(self, queryset, name, month):
        end = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        return queryset.filter(decided_on__gte=month, decided_on__lt=end)


class ExposureFilterSet(django_filters.FilterSet):
    """The office's 曝光台 page and its xlsx: pending photo review, public, withdrawn."""

    class State(models.TextChoices):
        PENDING = "pending", _("awaiting photo review")
        PUBLIC = "public", _("public")
        WITHDRAWN = "withdrawn", _("withdrawn")

    state = django_filters.ChoiceFilter(choices=State.choices, method="filter_state", label=_("State"))
    unit = UnitChoiceFilter(method="filter_within", label=_("Within unit (subtree)"))

    class Meta:
        model = Exposure
        fields = ["state", "unit"]

    def filter_state(self, queryset, name, value):
        if value == self.State.PENDING:
            return queryset.filter(photos_reviewed_at__isnull=True, withdrawn_at__isnull=True)
        if value == self.State.PUBLIC:
            return queryset.public()
        return queryset.filter(withdrawn_at__isnull=False)

    def filter_within(self, queryset, name, unit):
        return queryset.filter(finding__unit__path__startswith=unit.path)
