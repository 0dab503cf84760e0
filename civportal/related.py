"""``select_related`` for one-object pages, without its joins and without compiling it per request.

PostgreSQL plans a query of joined tables by searching the join orders, and the
search grows faster than the number of tables: the finding page's pk lookup with
its six relations (category and its group, unit, department, point, visit) took
2.4–3.7 ms to plan and 0.09 ms to run on bench-1M; the same columns as scalar
subqueries, one per column, 0.3 ms (each subquery is planned alone, as one table
or two). The ORM takes about as long again to build and compile those subqueries,
so a ``RelatedReader`` has the ORM compile its statement once per process and
database (``SELECT fields, (subquery), … FROM table WHERE pk IN (%s)``) and runs it
with the object's key, converting each value as the ORM would (e.g. SQLite's 0/1 to
booleans). ``get`` builds the object and its related objects from the values as
instances with only the named fields loaded (like ``only()``: another field would
be read on access), so that templates and code read ``finding.category.name`` as
before. (The caller checks what a scoped queryset would have: the detail pages
test the row's scope paths, ``Scope.covers``.)

``relations`` maps a relation path to the fields read of its object; a path's
parents come first, either loaded already or named earlier in the same mapping:
``{"category": ("name", "group_id"), "category__group": ("name",)}``.

``KeyedRows`` does the same for the rows of one table that belong to a list of
parents (a page's tasks' events, their reports' photos): one statement per
database and number of keys (rounded up to a power of two, the list padded with
its first key), its rows as instances with their relations, handed to the
parents as a prefetch would (``assign``). The finding page's four such
prefetches cost 0.6–1.0 ms each to build and compile, the statements 0.2–0.3.
"""

from __future__ import annotations

import threading
from collections import defaultdict

from django.db import connections, router
from django.db.models import OuterRef, Subquery

_MARK = 987654321987654  # a key's place in a statement being compiled (no real key is this large)


def _related_annotations(model, relations: dict[str, tuple[str, ...]]) -> dict:
    """One scalar subquery per field of ``relations``, on each relation's first table."""
    annotations = {}
    for index, (path, fields) in enumerate(relations.items()):
        first, _, rest = path.partition("__")
        field = model._meta.get_field(first)
        inner = field.related_model._base_manager.filter(pk=OuterRef(field.attname)).order_by()
        for name in fields:
            annotations[f"related_{index}_{name}"] = Subquery(inner.values(f"{rest}__{name}" if rest else name)[:1])
    return annotations


def _compile(queryset, using: str, markers: list) -> tuple:
    """(sql, params, the markers' places, [(column, converters, expression)] of the columns that have
    converters) of a values queryset."""
    compiler = queryset.query.get_compiler(using=using)
    sql, params = compiler.as_sql()
    params = list(params)
    for marker in markers:
        assert params.count(marker) == 1, "each key must be the statement's only parameter of its value"
    places = [params.index(marker) for marker in markers]
    converters = compiler.get_converters([column for column, _, _ in compiler.select])
    # only the columns that have converters (on PostgreSQL few do: the driver gives Python values)
    return sql, params, places, [(i, *converters[i]) for i in sorted(converters)]


def _run(compiled: tuple, keys: list, using: str) -> list[list]:
    """The converted rows of a compiled statement with ``keys`` in the markers' places."""
    sql, params, places, columns = compiled
    params = list(params)
    for place, key in zip(places, keys):
        params[place] = key
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    out = []
    for row in rows:
        values = list(row)
        for i, functions, expression in columns:
            value = values[i]
            for convert in functions:
                value = convert(value, expression, connection)
            values[i] = value
        out.append(values)
    return out


def _set_related(instance, relations: dict[str, tuple[str, ...]], values) -> None:
    """Build ``relations``' objects on ``instance`` from ``values`` (in ``relations`` order)."""
    values = iter(values)
    for path, fields in relations.items():
        read = {name: next(values, None) for name in fields}
        *parents, last = path.split("__")
        parent = instance
        for name in parents:
            parent = getattr(parent, name)
            if parent is None:
                break
        if parent is None:
            continue
        field = parent._meta.get_field(last)
        pk = getattr(parent, field.attname)
        if pk is None:
            setattr(parent, last, None)
            continue
        model = field.related_model
        loaded = {model._meta.pk.attname: pk}
        loaded.update((model._meta.get_field(name).attname, value) for name, value in read.items())
        names = [f.attname for f in model._meta.concrete_fields if f.attname in loaded]  # from_db's order
        setattr(parent, last, model.from_db(instance._state.db, names, [loaded[n] for n in names]))


class RelatedReader:
    """One row by its primary key with ``fields`` and its related objects (``get``): ``KeyedRows``
    keyed by the primary key."""

    def __init__(self, model, relations: dict[str, tuple[str, ...]], fields: tuple[str, ...] | None = None):
        """``fields``: the row's fields read (by default all its concrete fields)."""
        if fields is None:
            fields = tuple(field.attname for field in model._meta.concrete_fields)
        self.relations = dict(relations)
        self.reader = KeyedRows(model, model._meta.pk.name, tuple(fields), relations=self.relations, order_by=())

    def get(self, pk, using: str | None = None):
        """The row ``pk`` (an integer key; ``fields`` loaded, others read on access) with its related
        objects, or None; one query."""
        rows = self.reader.fetch([pk], using) if 0 < pk < 2**63 else []
        return rows[0] if rows else None


class KeyedRows:
    """The rows of ``model`` whose ``key`` (a foreign key, e.g. ``task``) is one of a list,
    and that match ``where`` (constant lookups), in ``order_by`` (by default the model's ordering),
    at most ``limit`` (read one key at a time then), as instances with ``fields`` loaded and the
    named fields of their ``relations`` set, read by a statement compiled once per database and
    number of keys."""

    def __init__(self, model, key: str, fields: tuple[str, ...], *, relations: dict | None = None,
                 order_by: tuple[str, ...] | None = None, where: dict | None = None, limit: int | None = None):
        self.model, self.relations, self.where, self.limit = model, dict(relations or {}), dict(where or {}), limit
        attname = lambda name: model._meta.get_field(name).attname  # noqa: E731
        self.key = attname(key)
        # (the relations' own keys too: their objects are built from them)
        firsts = [attname(path.partition("__")[0]) for path in self.relations]
        self.fields = tuple(dict.fromkeys(attname(n) for n in (model._meta.pk.name, key, *fields, *firsts)))
        self.order_by = tuple(order_by if order_by is not None else model._meta.ordering)
        self._compiled: dict[tuple, tuple] = {}
        self._lock = threading.Lock()
        # from_db takes the loaded fields in the model's order
        order = {f.attname: i for i, f in enumerate(model._meta.concrete_fields)}
        self._names = sorted(self.fields, key=order.__getitem__)
        self._positions = [self.fields.index(name) for name in self._names]
        # values()' keys: the fields by attname, the relations' fields as relation__field
        self._keys = [*self.fields, *(f"{path}__{name}" for path, names in self.relations.items() for name in names)]

    def queryset(self, keys: list):
        annotations = _related_annotations(self.model, self.relations)
        queryset = (self.model._base_manager.filter(**{f"{self.key}__in": keys}, **self.where)
                    .order_by(*self.order_by).values(*self.fields, **annotations))
        return queryset if self.limit is None else queryset[:self.limit]

    def rows(self, keys, using: str | None = None) -> tuple[str, list[list]]:
        """(the database read, the rows: ``fields`` then the relations' fields, converted)."""
        keys = list(dict.fromkeys(keys))
        assert self.limit is None or len(keys) <= 1, "a limit is the whole statement's: one key at a time"
        using = using or router.db_for_read(self.model)
        if not keys:
            return using, []
        size = 1 << (len(keys) - 1).bit_length()
        compiled = self._compiled.get((using, size))
        if compiled is None:
            markers = [_MARK + i for i in range(size)]
            with self._lock:
                compiled = self._compiled[(using, size)] = _compile(self.queryset(markers), using, markers)
        return using, _run(compiled, keys + [keys[0]] * (size - len(keys)), using)

    def values(self, keys, using: str | None = None) -> list[dict]:
        """The rows as dicts, as ``.values()`` would give them: the fields by attname, the
        relations' fields as ``relation__field``."""
        return [dict(zip(self._keys, row)) for row in self.rows(keys, using)[1]]

    def fetch(self, keys, using: str | None = None) -> list:
        """The rows as model instances with their relations' objects."""
        using, rows = self.rows(keys, using)
        width, out = len(self.fields), []
        for row in rows:
            instance = self.model.from_db(using, self._names, [row[i] for i in self._positions])
            _set_related(instance, self.relations, row[width:])
            out.append(instance)
        return out


def assign(parents, name: str, children: list, key: str) -> None:
    """Give each of ``parents`` its ``children`` (``key``: their attname of the parent's id) as
    ``prefetch_related(name)`` would: ``parent.<name>.all()`` reads them, no query."""
    by_parent = defaultdict(list)
    for child in children:
        by_parent[getattr(child, key)].append(child)
    for parent in parents:
        queryset = getattr(parent, name).all()
        queryset._result_cache = by_parent.get(parent.pk, [])
        queryset._prefetch_done = True
        if not hasattr(parent, "_prefetched_objects_cache"):
            parent._prefetched_objects_cache = {}
        parent._prefetched_objects_cache[name] = queryset
