"""One FilterSet per list, shared by the HTML pages and the API."""

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from .models import ApiClient, Membership, Unit, User


def visible_units(request):
    if request is None:
        return Unit.objects.none()
    return Unit.objects.visible_to(request.user)


class UnitRefField(forms.ModelChoiceField):
    """A unit given by id or by code, typed into a text box: a city has tens of
    thousands of units, far too many for a <select>."""

    widget = forms.TextInput

    def to_python(self, value):
        if value in self.empty_values:
            return None
        value = str(value).strip()
        if "\x00" in value or len(value) > 40:
            raise forms.ValidationError(_("No unit with this id or code in your scope."), code="invalid_choice")
        lookup = {"pk": value} if value.isascii() and value.isdigit() and len(value) < 19 else {"code": value}
        try:
            return self.queryset.get(**lookup)
        except (ValueError, TypeError, self.queryset.model.DoesNotExist):
            raise forms.ValidationError(_("No unit with this id or code in your scope."), code="invalid_choice")

    def prepare_value(self, value):
        return getattr(value, "code", value)


@extend_schema_field(OpenApiTypes.STR)
class UnitChoiceFilter(django_filters.ModelChoiceFilter):
    """A unit id or code, limited to the requesting user's scope (an unknown or
    out-of-scope unit is a validation error, never a leak)."""

    field_class = UnitRefField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("queryset", visible_units)
        kwargs.setdefault("help_text", _("unit id or code"))
        super().__init__(*args, **kwargs)


class UnitFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"), max_length=100)
    kind = django_filters.MultipleChoiceFilter(distinct=False, choices=Unit.Kind.choices, label=_("Kind"))
    active = django_filters.BooleanFilter(label=_("Active"))
    within = UnitChoiceFilter(method="filter_within", label=_("Within unit (subtree)"))
    parent = UnitChoiceFilter(method="filter_parent", label=_("Parent unit"))

    class Meta:
        model = Unit
        fields = ["q", "kind", "active", "within", "parent"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(code__icontains=value))

    def filter_within(self, queryset, name, unit):
        return queryset.filter(path__startswith=unit.path)

    def filter_parent(self, queryset, name, unit):
        return queryset.filter(path__startswith=unit.path, depth=unit.depth + 1)


class MembershipFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"), max_length=100)
    role = django_filters.MultipleChoiceFilter(distinct=False, choices=Membership.Role.choices, label=_("Role"))
    active = django_filters.BooleanFilter(label=_("Active"))
    unit = UnitChoiceFilter(label=_("Unit"))
    within = UnitChoiceFilter(method="filter_within", label=_("Within unit (subtree)"))
    user = django_filters.ModelChoiceFilter(queryset=User.objects.all(), label=_("User"))

    class Meta:
        model = Membership
        fields = ["q", "role", "active", "unit", "within", "user"]

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(user__username__icontains=value) | Q(user__display_name__icontains=value) | Q(unit__name__icontains=value)
        )

    def filter_within(self, queryset, name, unit):
        return queryset.filter(unit__path__startswith=unit.path)


class ApiClientFilterSet(django_filters.FilterSet):
    STATES = [("active", _("active")), ("revoked", _("revoked")), ("expired", _("expired")), ("disabled", _("disabled"))]

    q = django_filters.CharFilter(method="search", label=_("Search"), max_length=100)
    role = django_filters.MultipleChoiceFilter(distinct=False, choices=Membership.Role.choices, label=_("Role"))
    state = django_filters.ChoiceFilter(choices=STATES, method="filter_state", label=_("State"))
    within = UnitChoiceFilter(method="filter_within", label=_("Within unit (subtree)"))

    class Meta:
        model = ApiClient
        fields = ["q", "role", "state", "within"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(prefix__icontains=value))

    def filter_state(self, queryset, name, value):
        now = timezone.now()
        not_expired = Q(expires_at__isnull=True) | Q(expires_at__gt=now)
        if value == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        if value == "expired":
            return queryset.filter(revoked_at__isnull=True, expires_at__lte=now)
        if value == "disabled":
            return queryset.filter(not_expired, revoked_at__isnull=True, has_membership=False)
        return queryset.filter(not_expired, revoked_at__isnull=True, has_membership=True)

    def filter_within(self, queryset, name, unit):
        return queryset.filter(unit__path__startswith=unit.path)
