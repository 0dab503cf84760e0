"""One FilterSet per list, shared by the HTML pages and the API.

Volunteers are searched by name only: a phone search would let viewers who
see masked numbers probe the full ones."""

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from campaigns.filtersets import UnitChoiceFilter
from civportal.filters import FilterSet, NamedRecordFilter, YesNoFilter

from .models import Activity, HourEntry, Team, Volunteer


def visible_teams(request):
    return Team.objects.visible_to(request.user) if request is not None else Team.objects.none()


def visible_volunteers(request):
    return Volunteer.objects.visible_to(request.user) if request is not None else Volunteer.objects.none()


class VolunteerFilterSet(FilterSet):  # built once per class (docs/performance.md)
    q = django_filters.CharFilter(method="search", label=_("Search by name"), max_length=50)
    status = django_filters.MultipleChoiceFilter(choices=Volunteer.Status.choices, label=_("Status"), distinct=False)
    within = UnitChoiceFilter(method="filter_within", label=_("Within unit (subtree)"))
    team = NamedRecordFilter(queryset=visible_teams, label=_("Team"), help_text=_("team name or number"))
    source = django_filters.ChoiceFilter(choices=Volunteer.Source.choices, label=_("Source"))

    class Meta:
        model = Volunteer
        fields = ["q", "status", "within", "team", "source"]

    def search(self, queryset, name, value):
        return queryset.filter(name__icontains=value)

    def filter_within(self, queryset, name, unit):
        return queryset.filter(unit_path__startswith=unit.path)  # the path column: no join


class TeamFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label=_("Search"), max_length=100)
    within = UnitChoiceFilter(method="filter_within", label=_("Within unit (subtree)"))
    active = YesNoFilter(label=_("Active"))

    class Meta:
        model = Team
        fields = ["q", "within", "active"]

    def filter_within(self, queryset, name, unit):
        return queryset.filter(unit__path__startswith=unit.path)


class ActivityFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"), max_length=100)
    category = django_filters.MultipleChoiceFilter(choices=Activity.Category.choices, label=_("Category"), distinct=False)
    status = django_filters.MultipleChoiceFilter(choices=Activity.Status.choices, label=_("Status"), distinct=False)
    within = UnitChoiceFilter(method="filter_within", label=_("Within unit (subtree)"))
    starts_after = django_filters.DateFilter(field_name="starts_at", lookup_expr="date__gte", label=_("Starts on or after"))
    starts_before = django_filters.DateFilter(field_name="starts_at", lookup_expr="date__lte",
                                              label=_("Starts on or before"))

    class Meta:
        model = Activity
        fields = ["q", "category", "status", "within", "starts_after", "starts_before"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(title__icontains=value) | Q(address__icontains=value))

    def filter_within(self, queryset, name, unit):
        return queryset.filter(unit__path__startswith=unit.path)


class HourEntryFilterSet(FilterSet):
    within = UnitChoiceFilter(method="filter_within", label=_("Volunteers within unit (subtree)"))
    volunteer = NamedRecordFilter(queryset=visible_volunteers, label=_("Volunteer"),
                                  help_text=_("volunteer's name or number"))
    served_after = django_filters.DateFilter(field_name="served_at", lookup_expr="date__gte", label=_("Served on or after"))
    served_before = django_filters.DateFilter(field_name="served_at", lookup_expr="date__lte",
                                              label=_("Served on or before"))

    class Meta:
        model = HourEntry
        fields = ["within", "volunteer", "served_after", "served_before"]

    def filter_within(self, queryset, name, unit):
        return queryset.filter(unit_path__startswith=unit.path)  # the path column: no join
