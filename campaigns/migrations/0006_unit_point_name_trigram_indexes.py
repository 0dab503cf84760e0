"""Trigram indexes for searching units and points by a part of their name (the unit
boxes' suggestions, /units/lookup/, and the global search /search/). Django's
``icontains`` is ``UPPER(col::text) LIKE UPPER(%s)``: the index is on that expression."""

from django.db import migrations

INDEXES = (("unit_name_trgm_idx", "campaigns_unit"), ("point_name_trgm_idx", "campaigns_point"))


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite has no pg_trgm: a plain scan
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table in INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ((UPPER(name::text)) gin_trgm_ops)")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):

    dependencies = [
        ("campaigns", "0005_merge_import_report_and_user_history"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
