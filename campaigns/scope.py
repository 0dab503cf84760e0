"""The one scope rule: a user sees the union of the subtrees of the units
they hold a role in; superusers see everything. Every list, detail, export
and API view filters through ``scope_q`` (usually via ``visible_to``).

The models' querysets call this module, so it never imports them back: it
finds Membership and Unit through the app registry (``_model``)."""

from __future__ import annotations

from collections.abc import Iterable

from django.apps import apps
from django.db.models import Q

_CACHE = "_civportal_memberships"


def _model(name: str):
    """campaigns' own models by name: models.py imports this module, not the other way."""
    return apps.get_model("campaigns", name)


def _memberships(user) -> list[tuple[str, str]]:
    """(unit path, role) of the user's active memberships, once per user object."""
    cached = getattr(user, _CACHE, None)
    if cached is None:
        cached = list(
            _model("Membership").objects.filter(user=user, active=True).values_list("unit__path", "role").order_by()
        )
        setattr(user, _CACHE, cached)
    return cached


def forget(user) -> None:
    """Drop the cached memberships (after a membership change in the same request)."""
    for attr in (_CACHE, "_civportal_role_perms"):
        if hasattr(user, attr):
            delattr(user, attr)


def scope_paths(user) -> list[str] | None:
    """Root paths of the user's scope, nested ones removed; None means everything."""
    if not getattr(user, "is_authenticated", False):
        return []
    if user.is_superuser:
        return None
    roots: list[str] = []
    for path in sorted({path for path, _role in _memberships(user)}):
        if not roots or not path.startswith(roots[-1]):
            roots.append(path)
    return roots


def scope_q(user, path_field: str = "unit__path") -> Q:
    """A Q object keeping rows whose ``path_field`` lies in the user's scope."""
    paths = scope_paths(user)
    if paths is None:
        return Q()
    if not paths:
        return Q(pk__in=[])
    within = Q()
    for path in paths:
        within |= Q(path__startswith=path)
    if path_field == "path":
        return within
    # "unit__path" becomes "unit__in (SELECT id FROM unit WHERE path LIKE …)": a
    # hashed subplan PostgreSQL checks per row while walking an index in list
    # order, instead of joining the unit table (and OR-ing across joins), which
    # forces a scan of the whole table on large tables.
    relation = path_field.removesuffix("__path")
    return Q(**{f"{relation}__in": _model("Unit").objects.filter(within).values("pk")})


def role_paths(user, roles: Iterable[str]) -> list[str]:
    """Sorted paths of the units where the user holds one of ``roles`` (no query beyond the cached memberships)."""
    if not getattr(user, "is_authenticated", False):
        return []
    wanted = set(roles)
    return sorted({path for path, role in _memberships(user) if role in wanted})


def user_roles(user) -> set[str]:
    if not getattr(user, "is_authenticated", False):
        return set()
    if user.is_superuser:
        return set(_model("Membership").Role.values)
    return {role for _path, role in _memberships(user)}


def has_role(user, unit, roles: Iterable[str]) -> bool:
    """Whether the user holds one of ``roles`` in ``unit`` or one of its ancestors."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser:
        return True
    wanted = set(roles)
    return any(role in wanted and unit.path.startswith(path) for path, role in _memberships(user))


def in_scope(user, unit) -> bool:
    paths = scope_paths(user)
    return paths is None or any(unit.path.startswith(path) for path in paths)
