"""Indexes for the dashboards of a unit below the only root (a district, a street): its subtree's rollup
rows of some months, probed unit by unit from the units table's path index (a nested loop of index-only
scans on PostgreSQL) instead of every unit's rows of those months joined to the subtree. Plain SQL as in
0009: INCLUDE on PostgreSQL; SQLite (the embedded default) gets the key columns only."""

from django.db import migrations

INDEXES = [
    ("finding_tally_unit_month_idx", "inspections_findingtally", "(unit_id, campaign_key, month)",
     "INCLUDE (category_id, point_type_key, status, n)"),
    ("closure_tally_unit_month_idx", "inspections_closuretally", "(unit_id, campaign_key, month)",
     "INCLUDE (findings_closed, tasks_closed, tasks_on_time, tasks_reworked, task_micros)"),
]


def create_indexes(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    for name, table, columns, include in INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} {columns} {include if postgres else ''}")


def drop_indexes(apps, schema_editor):
    for name, *_rest in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):

    dependencies = [
        ("inspections", "0019_recurrence_by_month_and_chronic_points"),
    ]

    operations = [migrations.RunPython(create_indexes, drop_indexes)]
