"""The one scope rule: a user sees the union of the subtrees of the units
they hold a role in; superusers see everything. Every list, detail, export
and API view filters through ``scope_q`` (usually via ``visible_to``).

``Scope`` answers every question about one user's scope (roles, unit paths,
role paths, supervisor or not) from one read of their memberships, cached on
the user object, so once per request; ``request.scope`` (ScopeMiddleware) is
the same object. The functions below are shorthands for it.

The models' querysets call this module, so it never imports them back: it
finds Membership and Unit through the app registry (``_model``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

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


@dataclass(frozen=True, eq=False)
class Scope:
    """One user's scope, computed once from their active memberships."""

    user: object
    authenticated: bool
    superuser: bool

    @cached_property
    def memberships(self) -> tuple[tuple[str, str], ...]:
        """(unit path, role) of the active memberships: the one query, on first need."""
        return tuple(_memberships(self.user)) if self.authenticated else ()

    @cached_property
    def roles(self) -> frozenset[str]:
        if not self.authenticated:
            return frozenset()
        if self.superuser:
            return frozenset(_model("Membership").Role.values)
        return frozenset(role for _path, role in self.memberships)

    @cached_property
    def paths(self) -> list[str] | None:
        """Root paths of the scope, nested ones removed; None means everything."""
        if not self.authenticated:
            return []
        if self.superuser:
            return None
        roots: list[str] = []
        for path in sorted({path for path, _role in self.memberships}):
            if not roots or not path.startswith(roots[-1]):
                roots.append(path)
        return roots

    @cached_property
    def is_supervisor(self) -> bool:
        return self.superuser or _model("Membership").Role.SUPERVISOR in self.roles

    def role_paths(self, roles: Iterable[str]) -> list[str]:
        """Sorted paths of the units where the user holds one of ``roles``."""
        wanted = set(roles)
        return sorted({path for path, role in self.memberships if role in wanted})

    def has_role(self, unit, roles: Iterable[str]) -> bool:
        """Whether the user holds one of ``roles`` in ``unit`` or one of its ancestors."""
        if not self.authenticated:
            return False
        if self.superuser:
            return True
        wanted = set(roles)
        return any(role in wanted and unit.path.startswith(path) for path, role in self.memberships)

    def contains(self, unit) -> bool:
        return self.paths is None or any(unit.path.startswith(path) for path in self.paths)


def scope_of(user) -> Scope:
    """The user's Scope, once per user object (a request's ``request.user``)."""
    if not getattr(user, "is_authenticated", False):
        return Scope(user=user, authenticated=False, superuser=False)
    cached = getattr(user, "_civportal_scope", None)
    if cached is None:
        cached = Scope(user=user, authenticated=True, superuser=user.is_superuser)
        user._civportal_scope = cached
    return cached


def forget(user) -> None:
    """Drop the cached memberships (after a membership change in the same request)."""
    for attr in (_CACHE, "_civportal_role_perms", "_civportal_scope"):
        if hasattr(user, attr):
            delattr(user, attr)


def scope_paths(user) -> list[str] | None:
    """Root paths of the user's scope, nested ones removed; None means everything."""
    return scope_of(user).paths


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
    return scope_of(user).role_paths(roles)


def user_roles(user) -> set[str]:
    return set(scope_of(user).roles)


def has_role(user, unit, roles: Iterable[str]) -> bool:
    """Whether the user holds one of ``roles`` in ``unit`` or one of its ancestors."""
    return scope_of(user).has_role(unit, roles)


def in_scope(user, unit) -> bool:
    return scope_of(user).contains(unit)
