"""Filter building blocks every app's FilterSets share, so a filter reads the same
on every page: yes/no questions offer 全部/是/否 and an empty choice says 全部
(not "---------" or "未知").

They are also what keeps a filtered request lean (docs/performance.md, "Lean
requests"): ``FilterSet`` builds its form class once per class, not per request;
``NamedRecordFilter`` and ``UnitChoiceFilter`` read the caller's scope only when
a value is given; ``IdChoiceFilter`` validates a record number with one query of
ids and builds no model instance."""

import copy

import django_filters
from django import forms
from django.forms.widgets import ChoiceWidget
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q
from django.http import QueryDict
from django.template.loader import render_to_string
from django.utils.choices import BaseChoiceIterator
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext_lazy as _
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


class RecordIdOptions(BaseChoiceIterator):
    """The options of a record select, read from the queryset only when a page draws
    them (an API request never does): 全部 first, then each record. A choice iterator,
    so that widgets keep it as it is instead of listing it."""

    def __init__(self, queryset, empty_label):
        self.queryset, self.empty_label = queryset, empty_label

    def __iter__(self):
        yield "", self.empty_label
        yield from record_options(self.queryset)


def record_options(queryset) -> list[tuple]:
    """``(pk, str(record))`` of every record of ``queryset``, read once per write to its table:
    kept in the shared cache per language and per query (a scoped queryset's SQL names its
    scope, so no other scope shares its entry), under the table's generation, which any
    committed write replaces (civportal/listcache.py, ``remembered``)."""
    from . import listcache

    model = queryset.model
    if model._meta.db_table not in listcache.watched_tables():  # writes would not bump it: read every time
        return [(record.pk, str(record)) for record in queryset.all()]
    try:
        sql = str(queryset.query)
    except Exception:  # noqa: BLE001 - an empty query (none()) and the like: not kept
        return [(record.pk, str(record)) for record in queryset.all()]
    return listcache.remembered(
        "options", [model._meta.db_table], (model._meta.label, sql, get_language() or "", queryset.db),
        lambda: [(record.pk, str(record)) for record in queryset.all()])  # a fresh clone: never cached rows



def record_exists(queryset, pk: int):
    """The default check of an ``IdChoiceField``: the number itself when the record exists."""
    return pk if queryset.filter(pk=pk).exists() else None


class IdChoiceField(forms.Field):
    """A record of a short list (campaigns, categories) by its number. ``resolve(queryset,
    pk)`` checks it with one query and gives the value the filter receives (the number,
    or e.g. the ids of a category and its children), ``None`` when unknown: no model
    instance is built and no option list is read to validate. Pages draw it as a select
    whose options are read when the page renders them."""

    widget = forms.Select
    default_error_messages = {"invalid_choice": forms.ModelChoiceField.default_error_messages["invalid_choice"]}

    def __init__(self, *, queryset, resolve=None, empty_label=_("All"), null_label=None, null_value=None, **kwargs):
        super().__init__(**kwargs)
        self.queryset = queryset
        self.resolve = resolve or record_exists
        self.widget.choices = RecordIdOptions(queryset, empty_label)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = str(value).strip()
        if not (text.isascii() and text.isdigit() and len(text) < 19):
            raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice",
                                        params={"value": value})
        resolved = self._resolved(int(text))
        if resolved is None:
            raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice",
                                        params={"value": value})
        return resolved

    def _resolved(self, pk: int):
        """``resolve(queryset, pk)``; for a whole table (no filter of its own: campaigns, categories) kept in
        the memo under the table's generation (``listcache.remembered``): a list request filtered by a
        category or campaign then reads no lookup of its own (bench-1M: 0.5 ms of SQL, as much to compile)."""
        queryset = self.queryset
        if queryset.query.where or queryset.query.is_sliced:
            return self.resolve(queryset, pk)
        from . import listcache

        model = queryset.model
        resolve = self.resolve
        return listcache.remembered(
            "resolved", [model._meta.db_table],
            (model._meta.label, f"{resolve.__module__}.{resolve.__qualname__}", pk, queryset.db),
            lambda: resolve(queryset.all(), pk))


class IdChoiceFilter(django_filters.ModelChoiceFilter):
    """A select over a short list whose empty choice is 全部, validated as a number (see
    ``IdChoiceField``): the filter receives what ``resolve`` gives (by default the id),
    not a model instance. Documented in the API schema like a model choice (an integer
    id), since it is one."""

    field_class = IdChoiceField

    def __init__(self, *args, resolve=None, **kwargs):
        kwargs.setdefault("empty_label", _("All"))
        self.resolve = resolve
        super().__init__(*args, **kwargs)
        if self.queryset is not None and not callable(self.queryset):
            # Its options are kept under the table's generation (``record_options``). Watched
            # from the filter set's import; an app whose processes may write the table without
            # importing its filter sets also names the model in a module its ready() imports.
            from . import listcache

            listcache.watch(self.queryset.model)

    @property
    def field(self):
        if not hasattr(self, "_field"):
            kwargs = {k: v for k, v in self.extra.items() if k != "queryset"}
            self._field = self.field_class(label=self.label, queryset=self.queryset, resolve=self.resolve, **kwargs)
        return self._field


class NamedRecordField(forms.ModelChoiceField):
    """A record typed into a text box by its name (or code) or its number, for
    tables far too big for a <select> (units, points, inspections, volunteers). The
    queryset (the user's scope) bounds what is accepted, in one query; a name two
    records share asks for something that tells them apart.

    ``records`` may stand in for the queryset: a QuerySet, or a callable taking the
    request (``bind_request``) that is called only when a value is given, so a form
    whose box stays empty never builds the scoped queryset."""

    widget = forms.TextInput
    text_fields: tuple = ("name",)
    unique_first = False  # the first text field is unique (a code): a match on it wins
    default_error_messages = {
        "invalid_choice": _("Nothing in your scope has this name or number."),
        "ambiguous": _("Several records in your scope are called “%(name)s”: type the number instead."),
    }

    def __init__(self, queryset=None, *args, text_fields=None, null_value=None, records=None, request=None,
                 **kwargs):
        if text_fields is not None:
            self.text_fields = text_fields
        self.null_value = null_value  # a word meaning "none" (the filter then keeps rows without a record)
        self.records, self.request = records, request
        super().__init__(queryset, *args, **kwargs)

    def bind_request(self, request) -> None:
        self.request = request

    def candidates(self):
        """The records a value may name: the queryset, else ``records`` (called with the request)."""
        if self.queryset is not None:
            return self.queryset
        records = self.records
        if callable(records):
            return records(self.request)
        if records is None:
            raise ImproperlyConfigured(f"{type(self).__name__} needs a queryset or records.")
        return records.all()

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
        found = list(self.candidates().filter(match)[:3])
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


class LazyRecordsMixin:
    """For a ``ModelChoiceFilter`` whose field is a ``NamedRecordField``: the field gets
    the filter's queryset (or the callable that builds it from the request) as
    ``records``, unevaluated; the scoped queryset is built only if a value is given."""

    lazy_records = True

    @property
    def field(self):
        if not hasattr(self, "_field"):
            kwargs = {k: v for k, v in self.extra.items() if k != "queryset"}
            self._field = self.field_class(label=self.label, records=self.queryset, request=self.get_request(),
                                           **kwargs)
        return self._field


@extend_schema_field(OpenApiTypes.STR)
class NamedRecordFilter(LazyRecordsMixin, django_filters.ModelChoiceFilter):
    field_class = NamedRecordField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("null_value", NO_NULL)  # "null" means "none" only where a filter says so
        super().__init__(*args, **kwargs)


class FilterSet(django_filters.FilterSet):
    """A FilterSet whose form class is built once per class instead of on every request
    (django-filter builds every field, and the scoped querysets behind them, per
    instance). Its filters must therefore not depend on the request when the form
    class is built: record boxes (``NamedRecordFilter``, ``UnitChoiceFilter``) take the
    request when a value is cleaned (``bind_request``), selects over short lists are
    plain querysets. A filter with a queryset built from the request any other way is
    refused when the class is first used.

    The filters themselves are copied per instance without deep-copying their
    querysets (they hold configuration only)."""

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None):
        if queryset is None:
            queryset = self._meta.model._default_manager.all()
        self.is_bound = data is not None
        self.data = data or QueryDict()
        self.queryset = queryset
        self.request = request
        self.form_prefix = prefix
        self.filters = {name: _copy_filter(flt) for name, flt in self.base_filters.items()}
        for flt in self.filters.values():
            flt.model = queryset.model
            flt.parent = self

    @classmethod
    def form_class(cls):
        built = cls.__dict__.get("_built_form_class")
        if built is None:
            fields = {}
            for name, flt in cls.base_filters.items():
                if callable(getattr(flt, "queryset", None)) and not getattr(flt, "lazy_records", False):
                    raise ImproperlyConfigured(
                        f"{cls.__name__}.{name}: a queryset built from the request needs a lazy record filter "
                        "(NamedRecordFilter, UnitChoiceFilter) in a form built once.")
                fields[name] = _copy_filter(flt).field  # on a copy without a parent: no request inside
            built = type(f"{cls.__name__}Form", (cls._meta.form,), fields)
            cls._built_form_class = built  # a race builds it twice, harmlessly
        return built

    def get_form_class(self):
        return self.form_class()

    FORM_FIELDS = "includes/form_fields.html"

    @property
    def form_html(self) -> str:
        """The form's fields as ``includes/form_fields.html`` writes them. Kept in the shared cache
        (``listcache.remembered``, under the generations of the tables its selects list) when the
        form shows no error and every field given a value is a choice (a select, yes/no, a set of
        boxes): the markup then depends only on those values, the language and the option lists,
        which are the same in every scope (a form class is built once, with no request inside).
        Typed text (a search, a unit, a date) is drawn each time."""
        form = self.form
        key = self._form_key(form)
        if key is None:
            return render_to_string(self.FORM_FIELDS, {"form": form})
        from . import listcache

        return mark_safe(listcache.remembered(
            "form", self._option_tables(), key, lambda: render_to_string(self.FORM_FIELDS, {"form": form})))

    def _option_tables(self) -> list[str]:
        return sorted({flt.queryset.model._meta.db_table for flt in self.base_filters.values()
                       if isinstance(flt, IdChoiceFilter) and flt.queryset is not None})

    def _form_key(self, form) -> tuple | None:
        """What the fields' markup depends on, or None when it is not to be kept."""
        from . import listcache

        if not listcache.remembering() or form.errors:
            return None
        if not set(self._option_tables()) <= listcache.watched_tables():
            return None
        given = []
        if form.is_bound:
            for name, field in form.fields.items():
                key = form.add_prefix(name)
                if key not in form.data:
                    continue
                values = form.data.getlist(key) if hasattr(form.data, "getlist") else [form.data[key]]
                if any(values) and not isinstance(field.widget, ChoiceWidget) or len(values) > 20 \
                        or any(len(value) > 30 for value in values):  # (few, short: a choice, a yes or a no)
                    return None
                given.append((key, values))
        return (type(self).__module__, type(self).__qualname__, self.form_prefix, form.is_bound, get_language() or "",
                repr(given))

    @property
    def form(self):
        if not hasattr(self, "_form"):
            form_class = self.get_form_class()
            form = form_class(self.data, prefix=self.form_prefix) if self.is_bound else \
                form_class(prefix=self.form_prefix)
            for field in form.fields.values():  # the form's own copies of the fields
                bind = getattr(field, "bind_request", None)
                if bind is not None:
                    bind(self.request)
            self._form = form
        return self._form


def _copy_filter(flt):
    """A filter's own copy for one FilterSet instance: a shallow copy with its own
    ``extra`` and a filter method bound to the copy (deep-copying would clone the
    querysets inside every filter on every request)."""
    new = copy.copy(flt)
    new.__dict__.pop("_field", None)
    new.extra = dict(flt.extra)
    if flt.method is not None:
        new.method = flt.method  # rebinds the FilterMethod to the copy
    return new
