"""``select_related`` for one-object pages, without its joins and without compiling it per request.

PostgreSQL plans a query of joined tables by searching the join orders, and the
search grows faster than the number of tables: the finding page's pk lookup with
its six relations (category and its group, unit, department, point, visit) took
2.4–3.7 ms to plan and 0.09 ms to run on bench-1M; the same columns as scalar
subqueries, one per column, 0.3 ms (each subquery is planned alone, as one table
or two). The ORM takes about as long again to build and compile those subqueries,
so a ``RelatedReader`` has the ORM compile its statement once per process and
database (``SELECT (subquery), … FROM table WHERE pk = %s``) and runs it with
the object's key, converting each value as the ORM would (e.g. SQLite's 0/1 to
booleans). ``attach`` builds the related objects from the values as instances
with only the named fields loaded (like ``only()``: another field would be read
on access), so that templates and code read ``finding.category.name`` as before.

``relations`` maps a relation path to the fields read of its object; a path's
parents come first, either loaded already or named earlier in the same mapping:
``{"category": ("name", "group_id"), "category__group": ("name",)}``.
"""

from __future__ import annotations

import threading

from django.db import connections
from django.db.models import OuterRef, Subquery

_MARK = 987654321987654


class RelatedReader:
    def __init__(self, model, relations: dict[str, tuple[str, ...]]):
        self.model, self.relations = model, dict(relations)
        self._compiled: dict[str, tuple] = {}
        self._lock = threading.Lock()

    def queryset(self, pk):
        """The values of every related field of row ``pk``: one scalar subquery per field, on the relation's first table."""
        annotations = {}
        for index, (path, fields) in enumerate(self.relations.items()):
            first, _, rest = path.partition("__")
            field = self.model._meta.get_field(first)
            inner = field.related_model._base_manager.filter(pk=OuterRef(field.attname)).order_by()
            for name in fields:
                annotations[f"related_{index}_{name}"] = Subquery(
                    inner.values(f"{rest}__{name}" if rest else name)[:1])
        return self.model._base_manager.filter(pk=pk).order_by().values(**annotations)

    def _statement(self, using: str) -> tuple:
        """(sql, params with the key's place, [(converters, expression)] per column), compiled once per database."""
        compiled = self._compiled.get(using)
        if compiled is None:
            with self._lock:
                compiler = self.queryset(_MARK).query.get_compiler(using=using)
                sql, params = compiler.as_sql()
                params = list(params)
                assert params.count(_MARK) == 1, "the key must be the statement's only parameter of its value"
                place = params.index(_MARK)
                converters = compiler.get_converters([column for column, _, _ in compiler.select])
                columns = [converters.get(i, ((), None)) for i in range(len(compiler.select))]
                compiled = self._compiled[using] = (sql, params, place, columns)
        return compiled

    def values(self, pk, using: str = "default") -> list | None:
        """The related fields' values of row ``pk`` in ``relations`` order, or None when there is no such row."""
        sql, params, place, columns = self._statement(using)
        params = [*params[:place], pk, *params[place + 1:]]
        connection = connections[using]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        out = []
        for value, (functions, expression) in zip(row, columns):
            for convert in functions:
                value = convert(value, expression, connection)
            out.append(value)
        return out

    def attach(self, instance):
        """Set on ``instance`` its related objects of ``relations``; one query."""
        values = iter(self.values(instance.pk, instance._state.db or "default") or ())
        for path, fields in self.relations.items():
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
        return instance
