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
from django.db import models
from django.db.models import Q

from . import usercache

_CACHE = "_civportal_memberships"


def _model(name: str):
    """campaigns' own models by name: models.py imports this module, not the other way."""
    return apps.get_model("campaigns", name)


def _read_memberships(user) -> list[tuple[str, str]]:
    """(unit path, role) of the user's active memberships, from the database."""
    return list(_model("Membership").objects.filter(user=user, active=True).values_list("unit__path", "role").order_by())


def _attach(user, memberships) -> None:
    setattr(user, _CACHE, list(memberships))


def session_user(user_id, load, *, cached_user: bool = True):
    """The session's user (``load()``: from the database) with their memberships attached, through
    the shared cache while no user, membership or unit changed (campaigns/usercache.py)."""
    return usercache.get_user(user_id, load, read_memberships=_read_memberships, attach=_attach,
                              cached_user=cached_user)


def _memberships(user) -> list[tuple[str, str]]:
    """(unit path, role) of the user's active memberships, once per user object: attached by
    the session's get_user, else from the shared cache or the database (campaigns/usercache.py)."""
    cached = getattr(user, _CACHE, None)
    if cached is None:
        cached = usercache.memberships(user, _read_memberships)
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
        return self.covers(unit.path)

    def covers(self, *paths: str) -> bool:
        """Whether a row whose scope path columns hold ``paths`` is in scope: ``path_q``'s rule in
        Python (a blank path, e.g. no supervising department, is in no scope), for rows already read."""
        return self.paths is None or any(path and path.startswith(root) for path in paths for root in self.paths)


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


def cache_key(user) -> str:
    """Everything the scope rule reads of ``user``, as a string (settings.LIST_CACHE_SCOPE_KEY):
    two users with the same key see the same rows. Every active membership (unit path and
    role) is in it, so a membership created, ended or changed gives another key."""
    scope = scope_of(user)
    if not scope.authenticated:
        return "anonymous"
    if scope.superuser:
        return "superuser"
    return "scope:" + ",".join(f"{path}={role}" for path, role in sorted(set(scope.memberships)))


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


# --- scope as a column ------------------------------------------------------------------------
#
# Large scoped tables (findings, tasks, visits) carry the materialised path of the units
# their scope rule reads, declared on the model as ``SCOPE_PATHS = {column: lookup}`` where
# ``lookup`` leads from the row to a Unit ("unit", "point__department"). ``visible_to`` is
# then ``column LIKE 'prefix%'`` on the table itself (see docs/performance.md). The columns
# are filled on every save()/bulk_create (``fill_scope_paths``), follow a unit move
# (``move_scope_paths``) and a change of an intermediate row (``refresh_scope_paths``), and
# ``manage.py rebuild_scope_paths`` recomputes them all from scratch.


def path_q(user, *columns: str, nonblank: Iterable[str] = ()) -> Q | None:
    """Q keeping rows whose path ``columns`` lie in the user's scope; None means everything.

    A column of ``nonblank`` (one that is blank for most rows, e.g. ``department_path``) is
    also tested ``<> ''``: implied by the prefix, but it is what lets PostgreSQL use the
    column's partial index (``WHERE department_path <> ''``), so a narrow scope reads the
    two path indexes (BitmapOr) instead of the whole table (bench-1M, a grid's tasks:
    56 ms to count, 93 ms for a page; 1 and 0.1 ms with it)."""
    paths = scope_paths(user)
    if paths is None:
        return None
    if not paths:
        return Q(pk__in=[])
    within = Q()
    for column in columns:
        prefixes = Q()
        for path in paths:
            prefixes |= Q(**{f"{column}__startswith": path})
        within |= (prefixes & ~Q(**{column: ""})) if column in nonblank else prefixes
    return within


def scoped_models() -> list:
    """Models carrying scope path columns, in dependency order (a lookup through
    another scoped model comes after it)."""
    from django.apps import apps

    found = [m for m in apps.get_models() if getattr(m, "SCOPE_PATHS", None)]
    return sorted(found, key=lambda m: max(len(lookup.split("__")) for lookup in m.SCOPE_PATHS.values()))


def _related(model, lookup: str):
    """(first FK attname, model it points to, values() path to the unit path on that model)."""
    first, *rest = lookup.split("__")
    field = model._meta.get_field(first)
    return field.attname, field.related_model, "__".join([*rest, "path"]) if rest else "path"


def fill_scope_paths(objs) -> None:
    """Set the scope path columns of unsaved/changed instances from their FKs: from
    related objects already loaded, else with one query per column for all ``objs``."""
    objs = list(objs)
    if not objs:
        return
    model = type(objs[0])
    for column, lookup in model.SCOPE_PATHS.items():
        missing = []
        for obj in objs:
            target, ok = obj, True
            for part in lookup.split("__"):
                if getattr(target, target._meta.get_field(part).attname) is None:
                    target = None
                    break
                cached = target._state.fields_cache.get(part)
                if cached is None:
                    ok = False
                    break
                target = cached
            if not ok:
                missing.append(obj)
            else:
                setattr(obj, column, target.path if target is not None else "")
        if missing:
            attname, related, values_path = _related(model, lookup)
            ids = {getattr(o, attname) for o in missing} - {None}
            found = dict(related._base_manager.filter(pk__in=ids).values_list("pk", values_path)) if ids else {}
            for obj in missing:
                setattr(obj, column, found.get(getattr(obj, attname)) or "")


def _path_subquery(model, lookup: str):
    from django.db.models import OuterRef, Subquery, Value
    from django.db.models.functions import Coalesce

    attname, related, values_path = _related(model, lookup)
    return Coalesce(Subquery(related._base_manager.filter(pk=OuterRef(attname)).values(values_path)[:1]), Value(""))


def refresh_scope_paths(source_model, pks) -> int:
    """Recompute the path columns that read through ``source_model`` rows ``pks``
    (e.g. visits after their point's department changed). Returns rows updated."""
    pks = list(pks)
    updated = 0
    for model in scoped_models():
        for column, lookup in model.SCOPE_PATHS.items():
            if "__" not in lookup:
                continue
            attname, related, _values = _related(model, lookup)
            if related is source_model and pks:
                updated += model._base_manager.filter(**{f"{attname}__in": pks}).update(
                    **{column: _path_subquery(model, lookup)})
    return updated


def rebuild_scope_paths(out=None) -> dict[str, int]:
    """Recompute every scope path column of every scoped table from scratch."""
    counts = {}
    for model in scoped_models():
        n = model._base_manager.update(**{c: _path_subquery(model, lk) for c, lk in model.SCOPE_PATHS.items()})
        counts[model._meta.label] = n
        if out:
            out(f"{model._meta.label}: {n} rows")
    return counts


# Called as fn(unit_id, old_ancestor_ids, new_ancestor_ids) in the move's transaction, after the paths
# moved: summaries kept per ancestor (inspections' dashboard rollups) register here (apps' ready()).
_subtree_moved = []


def on_subtree_moved(fn) -> None:
    if fn not in _subtree_moved:
        _subtree_moved.append(fn)


def ancestor_ids(path: str) -> list[int]:
    """The ids of the proper ancestors of the unit at ``path``."""
    Unit = _model("Unit")
    prefixes = [path[:end] for end in range(Unit.steplen, len(path), Unit.steplen)]
    return list(Unit.objects.filter(path__in=prefixes).values_list("pk", flat=True)) if prefixes else []


def subtree_moved(unit_id: int, old_ancestors: list[int], new_ancestors: list[int]) -> None:
    for fn in _subtree_moved:
        fn(unit_id, old_ancestors, new_ancestors)


def move_scope_paths(old: str, new: str) -> dict[str, int]:
    """After a unit moved from ``old`` to ``new`` path: rewrite the prefix in every
    path column of every scoped table, one UPDATE per column (rows found by prefix)."""
    from django.db.models import Value
    from django.db.models.functions import Concat, Substr

    counts = {}
    if old == new:
        return counts
    for model in scoped_models():
        for column in model.SCOPE_PATHS:
            n = model._base_manager.filter(**{f"{column}__startswith": old}).update(
                **{column: Concat(Value(new), Substr(column, len(old) + 1))})
            counts[f"{model._meta.label}.{column}"] = n
    return counts


class ScopePathsQuerySet(models.QuerySet):
    """bulk_create fills the scope path columns first (imports, demo data, seeders)."""

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        fill_scope_paths(objs)
        return super().bulk_create(objs, *args, **kwargs)


class ScopePathsModel(models.Model):
    """A row carrying the materialised paths of the units its scope rule reads
    (``SCOPE_PATHS``). They are derived data, so every save keeps them in step
    with the foreign keys; services need not (and must not) set them by hand."""

    SCOPE_PATHS: dict[str, str] = {}

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        update_fields = kwargs.get("update_fields")
        sources = {lookup.split("__")[0] for lookup in self.SCOPE_PATHS.values()}
        if update_fields is not None and not sources & set(update_fields):
            return super().save(*args, **kwargs)  # a transition: no foreign key of the paths changes
        deferred = self.get_deferred_fields()
        before = {column: getattr(self, column) for column in self.SCOPE_PATHS if column not in deferred}
        fill_scope_paths([self])
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, *self.SCOPE_PATHS}
        existed = not self._state.adding
        super().save(*args, **kwargs)
        if existed and any(getattr(self, column) != value for column, value in before.items()):
            # Rows whose paths read through this one (a finding's tasks) follow it.
            refresh_scope_paths(type(self), [self.pk])
