"""Multi-model reads for the organisation pages."""

from __future__ import annotations

from django.db.models import Case, Count, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Length, Substr

from .models import Unit
from .scope import scope_paths


def tree_level(user, root: Unit | None):
    """The units shown one level below ``root`` (or the user's scope roots),
    each annotated with ``member_count`` and ``descendant_count``; two queries."""
    units = Unit.objects.visible_to(user).defer("boundary")  # outlines are for maps, not lists
    if root is not None:
        level = units.filter(path__startswith=root.path, depth=root.depth + 1)
    else:
        paths = scope_paths(user)
        level = units.filter(depth=1) if paths is None else units.filter(path__in=paths)
    level = list(level.annotate(member_count=Count("memberships", filter=Q(memberships__active=True))))
    if not level:
        return level
    counts: dict[str, int] = {}
    for length in {len(unit.path) for unit in level}:
        prefixes = [unit.path for unit in level if len(unit.path) == length]
        q = Q()
        for prefix in prefixes:
            q |= Q(path__startswith=prefix)
        rows = (
            Unit.objects.filter(q, depth__gt=length // Unit.steplen)
            .annotate(prefix=Substr("path", 1, length))
            .order_by()
            .values("prefix")
            .annotate(n=Count("pk"))
        )
        counts.update({row["prefix"]: row["n"] for row in rows})
    for unit in level:
        unit.descendant_count = counts.get(unit.path, 0)
    return level


def ancestors(unit: Unit, user) -> list[Unit]:
    """The unit's ancestors that the user may see, root first (one query)."""
    return list(Unit.objects.visible_to(user).filter(path__in=unit.ancestor_paths()[:-1]).order_by("depth"))


LOOKUP_LIMIT = 20


def unit_lookup(user, text: str, *, limit: int = LOOKUP_LIMIT) -> list[Unit]:
    """Units in the user's scope whose name contains ``text`` or whose code starts
    with it: exact matches first, then the higher levels, active before inactive.
    Each carries ``parent_name`` (one query; the name search uses the trigram index)."""
    text = text.strip()
    if not text:
        return []
    parent = Unit.objects.filter(path=Substr(OuterRef("path"), 1, Length(OuterRef("path")) - Unit.steplen))
    exact = Case(When(Q(code__iexact=text) | Q(name=text), then=Value(0)), default=Value(1))
    return list(
        Unit.objects.visible_to(user)
        .filter(Q(name__icontains=text) | Q(code__istartswith=text))
        .annotate(parent_name=Subquery(parent.values("name")[:1]), exact=exact)
        .order_by("exact", "-active", "depth", "name", "code")
        .only("pk", "code", "name", "kind", "active", "depth", "path")[:limit]
    )
