import django_filters
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from civportal.filters import YesNoFilter

from ..filtersets import UnitChoiceFilter
from ..models import Membership, User


class AccountFilterSet(django_filters.FilterSet):
    """The staff account list, for pages and the API."""

    q = django_filters.CharFilter(method="search", label=_("Search"), max_length=100)
    unit = UnitChoiceFilter(method="filter_unit", label=_("Unit (subtree)"))
    role = django_filters.ChoiceFilter(method="filter_role", choices=Membership.Role.choices, label=_("Role"))
    is_active = YesNoFilter(label=_("Enabled"))
    must_change_password = YesNoFilter(label=_("Must change password"))

    class Meta:
        model = User
        fields = ["q", "unit", "role", "is_active", "must_change_password"]

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(
            Q(username__icontains=value) | Q(display_name__icontains=value) | Q(phone__icontains=value)
            | Q(email__icontains=value)
        ) if value else queryset

    def filter_unit(self, queryset, name, unit):
        return queryset.filter(Exists(Membership.objects.filter(
            user=OuterRef("pk"), active=True, unit__path__startswith=unit.path)))

    def filter_role(self, queryset, name, role):
        return queryset.filter(Exists(Membership.objects.filter(user=OuterRef("pk"), active=True, role=role)))
