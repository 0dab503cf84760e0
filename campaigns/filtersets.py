"""One FilterSet per list, shared by the HTML pages and the API."""

import re

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from civportal import listcache
from civportal.filters import LazyRecordsMixin, NamedRecordField, NamedRecordFilter, YesNoFilter

from .models import ApiClient, Campaign, Membership, Unit, User
from .scope import scope_q

listcache.watch(Campaign)  # with_active_campaign keeps its answer under the table's generation


def visible_people(request):
    """Users holding a role in the requesting user's scope."""
    if request is None:
        return User.objects.none()
    return User.objects.filter(Exists(Membership.objects.filter(scope_q(request.user, "unit__path"), user=OuterRef("pk"))))


def visible_units(request):
    if request is None:
        return Unit.objects.none()
    return Unit.objects.visible_to(request.user)


UNIT_CODE_IN_TEXT = re.compile(r"[（(]\s*([^（）()\s]{1,40})\s*[）)]\s*$")


class UnitPicker(forms.TextInput):
    """A text box for a unit that accepts its name, its code or "name（code）", with
    suggestions from the user's scope (``/units/lookup/``, js/unit-picker.js fills a
    <datalist>). Without the script it is a plain text box that takes the same input."""

    def __init__(self, attrs=None):
        super().__init__({"autocomplete": "off", "spellcheck": "false", **(attrs or {})})

    def render(self, name, value, attrs=None, renderer=None):
        options = f"{(attrs or {}).get('id') or self.attrs.get('id') or name}-units"
        attrs = {**(attrs or {}), "list": options, "data-unit-lookup": reverse("campaigns:unit_lookup")}
        return super().render(name, value, attrs, renderer) + format_html('<datalist id="{}"></datalist>', options)


def unit_label(unit) -> str:
    """How a unit is written back into a unit box: its name with its code, both accepted as input."""
    return f"{unit.name}（{unit.code}）"


class UnitRefField(NamedRecordField):
    """A unit given by name, code or id, typed into a text box with suggestions: a city
    has tens of thousands of units, far too many for a <select>. Only the queryset's
    units (the user's scope) are accepted; a name shared by two units asks for the code."""

    widget = UnitPicker
    text_fields = ("code", "name")
    unique_first = True
    default_error_messages = {
        "invalid_choice": _("No unit with this name, code or id in your scope."),
        "ambiguous": _("Several units in your scope are named “%(name)s”: choose one from the list or type its code."),
    }

    def normalise(self, value: str) -> str:
        coded = UNIT_CODE_IN_TEXT.search(value)
        return coded.group(1) if coded else value  # "春晖社区（C-A-1-1）", as the suggestions write it

    def prepare_value(self, value):
        if isinstance(value, Unit):  # a select of units (the dashboard's) is keyed by code
            return unit_label(value) if isinstance(self.widget, UnitPicker) else value.code
        return value


@extend_schema_field(OpenApiTypes.STR)
class UnitChoiceFilter(LazyRecordsMixin, django_filters.ModelChoiceFilter):
    """A unit name, code or id, limited to the requesting user's scope: an unknown or
    out-of-scope unit is a validation error (HTTP 400 naming the parameter in the API),
    never a silent full or empty list. The scope is read only when a unit is given."""

    field_class = UnitRefField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("queryset", visible_units)
        kwargs.setdefault("help_text", _("unit name or code"))
        super().__init__(*args, **kwargs)


class UnitFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"), max_length=100)
    kind = django_filters.MultipleChoiceFilter(distinct=False, choices=Unit.Kind.choices, label=_("Kind"))
    active = YesNoFilter(label=_("Active"))
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
    active = YesNoFilter(label=_("Active"))
    unit = UnitChoiceFilter(label=_("Unit"))
    within = UnitChoiceFilter(method="filter_within", label=_("Within unit (subtree)"))
    user = NamedRecordFilter(queryset=visible_people, label=_("User"), text_fields=("username",),
                             help_text=_("username or number"))

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


def with_active_campaign(data):
    """A list page opened without any filter shows the campaign under way (its campaign
    select starts there; choosing 全部 shows every campaign). With no or several active
    campaigns nothing is assumed. Used by pages and their exports alike, never by the API."""
    if data:
        return data
    # Read once per write to the campaigns table (kept under its generation, civportal/listcache.py).
    active = listcache.remembered("active-campaigns", [Campaign._meta.db_table], (),
                                  lambda: list(Campaign.objects.active().order_by().values_list("pk", flat=True)[:2]))
    if len(active) != 1:
        return None
    defaulted = QueryDict(mutable=True)
    defaulted["campaign"] = str(active[0])
    return defaulted
