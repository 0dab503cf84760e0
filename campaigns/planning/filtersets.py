"""One FilterSet per planning list, shared by the pages and the API."""

import django_filters
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from civportal.filters import FilterSet, ModelChoiceFilter, YesNoFilter

from ..filtersets import UnitChoiceFilter
from ..models import Campaign, Indicator, IndicatorSystem, Point, PointType, WorkItem


class CampaignFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label=_("Search"), max_length=100)
    status = django_filters.MultipleChoiceFilter(distinct=False, choices=Campaign.Status.choices, label=_("Status"))

    class Meta:
        model = Campaign
        fields = ["q", "status", "indicator_system"]


class IndicatorSystemFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label=_("Search"), max_length=100)
    status = django_filters.MultipleChoiceFilter(distinct=False, choices=IndicatorSystem.Status.choices, label=_("Status"))

    class Meta:
        model = IndicatorSystem
        fields = ["q", "status", "is_sample"]


class IndicatorFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"), max_length=100)
    level = django_filters.MultipleChoiceFilter(distinct=False, choices=Indicator.Level.choices, label=_("Level"))
    method = django_filters.MultipleChoiceFilter(distinct=False, choices=Indicator.Method.choices, label=_("Evaluation method"))
    code = django_filters.CharFilter(label=_("Code"), max_length=40)

    class Meta:
        model = Indicator
        fields = ["system", "q", "level", "method", "code", "parent"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(code__istartswith=value))


class PointTypeFilterSet(django_filters.FilterSet):
    class Meta:
        model = PointType
        fields = ["active"]


class PointFilterSet(FilterSet):  # built once per class (docs/performance.md)
    q = django_filters.CharFilter(method="search", label=_("Search"), max_length=100)
    point_type = django_filters.ModelMultipleChoiceFilter(distinct=False, queryset=PointType.objects.all(), label=_("Type"))
    within = UnitChoiceFilter(method="filter_within", label=_("Within unit (subtree)"))
    department = UnitChoiceFilter(label=_("Supervising department"))
    active = YesNoFilter(label=_("Active"))

    class Meta:
        model = Point
        fields = ["q", "point_type", "within", "department", "active"]

    def filter_queryset(self, queryset):
        # ``within`` first: on the bare scoped queryset it stands in for the scope it implies
        # (PointQuerySet.within); the other filters follow in their order.
        for name, value in sorted(self.form.cleaned_data.items(), key=lambda item: item[0] != "within"):
            queryset = self.filters[name].filter(queryset, value)
        return queryset

    def search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(code__iexact=value) | Q(address__icontains=value))

    def filter_within(self, queryset, name, unit):
        return queryset.within(unit)  # the path column: no join


class WorkItemFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="title", lookup_expr="icontains", label=_("Search"), max_length=100)
    campaign = ModelChoiceFilter(queryset=Campaign.objects.all(), label=_("Campaign"))
    within = UnitChoiceFilter(method="filter_within", label=_("Lead or cooperating unit (subtree)"))
    lead_unit = UnitChoiceFilter(label=_("Lead unit"))
    indicator = django_filters.CharFilter(method="filter_indicator", label=_("Indicator code (and below)"), max_length=40)
    status = django_filters.MultipleChoiceFilter(distinct=False, choices=WorkItem.Status.choices, label=_("Status"))
    overdue = YesNoFilter(method="filter_overdue", label=_("Overdue"))

    class Meta:
        model = WorkItem
        fields = ["q", "campaign", "within", "lead_unit", "indicator", "status", "overdue"]

    def filter_within(self, queryset, name, unit):
        return queryset.involving(unit)

    def filter_indicator(self, queryset, name, value):
        return queryset.filter(Q(indicator__code=value) | Q(indicator__code__startswith=f"{value}."))

    def filter_overdue(self, queryset, name, value):
        today = timezone.localdate()
        return queryset.overdue(today) if value else queryset.not_overdue(today)
