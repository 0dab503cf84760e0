"""Indexes for the dashboards' group-bys (docs/dashboards.md). They live here,
not in the inspections models, because only the dashboards read by them;
plain SQL (PostgreSQL and SQLite both know CREATE INDEX IF NOT EXISTS)."""

from django.db import migrations

INDEXES = [
    # Findings closed per month of a campaign (the trend's "closed" line).
    ("dash_finding_camp_closed_idx", "inspections_finding", "campaign_id, closed_at"),
    # Tasks closed in a month: on-time rate, rework rate, days to close.
    ("dash_task_status_closed_idx", "inspections_rectificationtask", "status, closed_at"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("inspections", "0005_merge_20261122_1127"),
        ("scores", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(
            sql=f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({columns})",
            reverse_sql=f"DROP INDEX IF EXISTS {name}",
        )
        for name, table, columns in INDEXES
    ]
