"""Summary tables' writing primitives, for every app that keeps one (the dashboards' rollups and stored
recurrence in inspections, the volunteer tally): an additive upsert and an INSERT … SELECT, on
PostgreSQL and SQLite alike."""

from __future__ import annotations

from django.db import connection


def upsert_sums(model, key: list[str], sums: list[str], rows: dict[tuple, tuple]) -> None:
    """Add ``rows`` ({key: deltas}) to ``model``: one INSERT … ON CONFLICT DO UPDATE, keys sorted
    (concurrent transitions lock rows in one order)."""
    rows = {k: v for k, v in rows.items() if any(v)}
    if not rows:
        return
    table = connection.ops.quote_name(model._meta.db_table)
    cols = [connection.ops.quote_name(model._meta.get_field(c.removesuffix("_id")).column) for c in key + sums]
    key_cols = ", ".join(cols[: len(key)])
    sets = ", ".join(f"{c} = {table}.{c} + EXCLUDED.{c}" for c in cols[len(key):])
    values = ", ".join(["(" + ", ".join(["%s"] * len(cols)) + ")"] * len(rows))
    params = [p for k in sorted(rows, key=_sortable) for p in (*k, *rows[k])]
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({', '.join(cols)}) VALUES {values} "
                       f"ON CONFLICT ({key_cols}) DO UPDATE SET {sets}", params)


def _sortable(key: tuple) -> tuple:
    return tuple((value is not None, value if value is not None else 0) for value in key)


def insert_select(model, columns: list[str], queryset) -> None:
    sql, params = queryset.query.sql_with_params()
    table = connection.ops.quote_name(model._meta.db_table)
    cols = ", ".join(connection.ops.quote_name(model._meta.get_field(c).column) for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({cols}) {sql}", params)
