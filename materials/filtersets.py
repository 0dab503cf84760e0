"""One FilterSet per materials list, shared by the pages and the API."""

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from campaigns.filtersets import UnitChoiceFilter
from campaigns.models import Campaign
from civportal.filters import ModelChoiceFilter

from .models import MaterialCall, MaterialSubmission


class MaterialCallFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"), max_length=100)
    campaign = ModelChoiceFilter(queryset=Campaign.objects.all(), label=_("Campaign"))
    status = django_filters.MultipleChoiceFilter(distinct=False, choices=MaterialCall.Status.choices,
                                                 label=_("Status"))

    class Meta:
        model = MaterialCall
        fields = ["q", "campaign", "status"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(title__icontains=value) | Q(indicator__code__istartswith=value))


class MaterialSubmissionFilterSet(django_filters.FilterSet):
    call = ModelChoiceFilter(queryset=MaterialCall.objects.all(), label=_("Materials call"))
    status = django_filters.MultipleChoiceFilter(distinct=False, choices=MaterialSubmission.Status.choices,
                                                 label=_("Status"))
    within = UnitChoiceFilter(method="filter_within", label=_("Within unit (subtree)"))

    class Meta:
        model = MaterialSubmission
        fields = ["call", "status", "within"]

    def filter_within(self, queryset, name, unit):
        return queryset.filter(unit__path__startswith=unit.path)
