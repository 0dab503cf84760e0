"""Indexes for the dashboards' group-bys (docs/dashboards.md). They live here,
not in the inspections models, because only the dashboards read by them;
plain SQL (PostgreSQL and SQLite both know CREATE INDEX IF NOT EXISTS)."""

from django.db import migrations

# (name, table, columns and options). INCLUDE makes the group-bys index-only scans (PostgreSQL);
# SQLite, used only for quick local runs, gets the plain key columns.
INDEXES = [
    # Findings closed per month of a campaign (the trend's "closed" line).
    ("dash_finding_camp_closed_idx", "inspections_finding", "(campaign_id, closed_at)", "INCLUDE (unit_id, status)", ""),
    # The month's findings and the 12-month trend per campaign, with what the group-bys read.
    ("dash_finding_camp_obs_idx", "inspections_finding", "(campaign_id, observed_at)",
     "INCLUDE (id, unit_id, status, category_id, point_id)", ""),
    # Open findings (the card and the map).
    ("dash_finding_open_idx", "inspections_finding", "(campaign_id, unit_id)", "INCLUDE (status, latitude)",
     "WHERE status IN ('new', 'dispatched')"),
    # Tasks closed in a month: on-time rate, rework rate, days to close.
    ("dash_task_status_closed_idx", "inspections_rectificationtask", "(status, closed_at)",
     "INCLUDE (unit_id, finding_id, due_at, dispatched_at, rework_count)", ""),
    # Open tasks by deadline: lights, overdue, the most overdue.
    ("dash_task_open_due_idx", "inspections_rectificationtask", "(due_at)", "INCLUDE (unit_id, finding_id, warn_at)",
     "WHERE status IN ('assigned', 'in_progress', 'submitted', 'returned')"),
]


def create(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    for name, table, columns, include, where in INDEXES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} {columns} {include if postgres else ''} {where}")


def drop(apps, schema_editor):
    for name, *_rest in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("inspections", "0005_merge_20261122_1127"),
        ("scores", "0001_initial"),
    ]

    operations = [migrations.RunPython(create, drop)]
