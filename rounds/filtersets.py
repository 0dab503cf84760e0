"""One FilterSet per rounds list, shared by the pages and the API."""

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from campaigns.filtersets import UnitChoiceFilter
from campaigns.models import Campaign
from inspections.models import Inspection

from .models import InspectionSchedule, PointDraw


class PointDrawFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"), max_length=100)
    campaign = django_filters.ModelChoiceFilter(queryset=Campaign.objects.all(), label=_("Campaign"))
    within = UnitChoiceFilter(method="filter_within", label=_("Within unit (subtree)"))

    class Meta:
        model = PointDraw
        fields = ["q", "campaign", "within"]

    def search(self, queryset, name, value):
        return queryset.filter(title__icontains=value)

    def filter_within(self, queryset, name, unit):
        return queryset.filter(area__path__startswith=unit.path)


class InspectionScheduleFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"), max_length=100)
    campaign = django_filters.ModelChoiceFilter(queryset=Campaign.objects.all(), label=_("Campaign"))
    kind = django_filters.MultipleChoiceFilter(distinct=False, choices=Inspection.Kind.choices, label=_("Kind"))
    active = django_filters.BooleanFilter(label=_("Active"))
    within = UnitChoiceFilter(method="filter_within", label=_("Within unit (subtree)"))

    class Meta:
        model = InspectionSchedule
        fields = ["q", "campaign", "kind", "active", "within"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(title__icontains=value) | Q(unit__name__icontains=value))

    def filter_within(self, queryset, name, unit):
        return queryset.filter(unit__path__startswith=unit.path)
