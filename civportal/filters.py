"""Filter building blocks every app's FilterSets share, so a filter reads the same
on every page: yes/no questions offer 全部/是/否 and an empty choice says 全部
(not "---------" or "未知")."""

import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_filters.widgets import BooleanWidget
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field


class AllYesNoWidget(BooleanWidget):
    """全部 / 是 / 否; accepts true/false/1/0 in the query string (pages and API alike)."""

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = [("", _("All")), ("true", _("Yes")), ("false", _("No"))]


class YesNoFilter(django_filters.BooleanFilter):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", AllYesNoWidget)
        super().__init__(*args, **kwargs)


class ModelChoiceFilter(django_filters.ModelChoiceFilter):
    """A select over a short list (campaigns, categories, point types) whose empty choice is 全部."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("empty_label", _("All"))
        super().__init__(*args, **kwargs)


class NamedRecordField(forms.ModelChoiceField):
    """A record typed into a text box by its name (or code) or its number, for
    tables far too big for a <select> (units, points, inspections, volunteers). The
    queryset (the user's scope) bounds what is accepted, in one query; a name two
    records share asks for something that tells them apart."""

    widget = forms.TextInput
    text_fields: tuple = ("name",)
    unique_first = False  # the first text field is unique (a code): a match on it wins
    default_error_messages = {
        "invalid_choice": _("Nothing in your scope has this name or number."),
        "ambiguous": _("Several records in your scope are called “%(name)s”: type the number instead."),
    }

    def __init__(self, *args, text_fields=None, null_value=None, **kwargs):
        if text_fields is not None:
            self.text_fields = text_fields
        self.null_value = null_value  # a word meaning "none" (the filter then keeps rows without a record)
        super().__init__(*args, **kwargs)

    def normalise(self, value: str) -> str:
        return value

    def to_python(self, value):
        if value in self.empty_values:
            return None
        value = str(value).strip()
        if not value:
            return None
        if isinstance(self.null_value, str) and value == self.null_value:
            return value
        if "\x00" in value or len(value) > 200:
            raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        value = self.normalise(value)
        match = Q()
        for name in self.text_fields:
            match |= Q(**{name: value})
        if value.isascii() and value.isdigit() and len(value) < 19:
            match |= Q(pk=int(value))
        found = list(self.queryset.filter(match)[:3])
        preferred = [r for r in found if getattr(r, self.text_fields[0]) == value] if self.unique_first else []
        by_number = [r for r in found if str(r.pk) == value]
        for group in (preferred, by_number):
            if group:
                return group[0]
        if len(found) == 1:
            return found[0]
        if found:
            raise forms.ValidationError(self.error_messages["ambiguous"], code="ambiguous", params={"name": value})
        raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")


NO_NULL = object()  # a null_value nothing typed can equal


@extend_schema_field(OpenApiTypes.STR)
class NamedRecordFilter(django_filters.ModelChoiceFilter):
    field_class = NamedRecordField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("null_value", NO_NULL)  # "null" means "none" only where a filter says so
        super().__init__(*args, **kwargs)
