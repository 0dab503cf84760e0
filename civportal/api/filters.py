"""The API ignores nothing: a list answers 400 for a query parameter it does
not know, naming it, so a typo (``?colour=red``, ``?unti=12``) never looks
like data. Allowed are the list's FilterSet fields, ``ordering`` and the
pagination parameters (and ``format``). HTML pages use their FilterSets
directly and may ignore tracking parameters (``page``, ``utm_*``)."""

from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter

ALWAYS_ALLOWED = {"format"}


def allowed_query_params(view, filterset_class) -> set[str]:
    allowed = set(ALWAYS_ALLOWED)
    if filterset_class is not None:
        for name, flt in filterset_class.base_filters.items():
            allowed.add(name)
            suffixes = getattr(getattr(flt.field_class, "widget", None), "suffixes", None) or []
            allowed.update(f"{name}_{suffix}" for suffix in suffixes if suffix)
    if any(issubclass(b, OrderingFilter) for b in view.filter_backends) and getattr(view, "ordering_fields", None):
        allowed.add(OrderingFilter.ordering_param)
    paginator = getattr(view, "paginator", None)
    for attr in ("limit_query_param", "offset_query_param", "cursor_query_param", "page_size_query_param",
                 "page_query_param"):
        value = getattr(paginator, attr, None)
        if value:
            allowed.add(value)
    return allowed


def refuse_unknown_params(request, allowed: set[str]) -> None:
    """400 naming every query parameter not in ``allowed`` (``format`` is always allowed).
    Lists get it from the filter backend; report routes that read their own query call it."""
    allowed = set(allowed) | ALWAYS_ALLOWED
    unknown = sorted(name for name in request.query_params if name not in allowed)
    if unknown:
        known = ", ".join(sorted(allowed - ALWAYS_ALLOWED))
        raise ValidationError({name: [_("Unknown query parameter “%(name)s”; this list takes: %(known)s.")
                                      % {"name": name, "known": known}] for name in unknown})


class StrictFilterBackend(DjangoFilterBackend):
    def filter_queryset(self, request, queryset, view):
        if getattr(view, "action", None) == "list":
            refuse_unknown_params(request, allowed_query_params(view, self.get_filterset_class(view, queryset)))
        return super().filter_queryset(request, queryset, view)
