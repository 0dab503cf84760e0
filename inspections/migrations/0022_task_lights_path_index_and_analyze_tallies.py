"""The dashboards' task lights by subtree (issue 13, P4), and fresh planner statistics for the tally
tables that 0019–0021 rewrote.

- ``task_campaign_open_path_idx``: a campaign's open tasks by the task's own unit path, with the two
  deadlines included, so a district's lights are an index-only range scan of its open tasks (bench-1M,
  5,564 of the campaign's 60,140: 24.5 → 1.4 ms; it read all 60,140 and joined the units before).
  Plain SQL as in 0009 (INCLUDE and the pattern operator class on PostgreSQL; SQLite gets the keys).
- ``ANALYZE`` of the tallies on PostgreSQL: 0019–0021 rewrite or fill hundreds of thousands of rows
  (bench-1M: 146,000 recurrence rows in a panel's window), which leaves the planner with no or stale
  statistics until autovacuum passes; it then estimated 1 row for the window and probed the units per
  tally row (a district's recurrence rates: ~950 ms) instead of the tally per unit (7 ms after ANALYZE).
"""

from django.db import migrations

OPEN = "('assigned', 'in_progress', 'submitted', 'returned')"
TALLIES = ["inspections_findingtally", "inspections_closuretally", "inspections_recurrencetally",
           "inspections_chronicpoint"]


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS task_campaign_open_path_idx ON inspections_rectificationtask "
            f"(campaign_id, unit_path varchar_pattern_ops) INCLUDE (due_at, warn_at) WHERE status IN {OPEN}")
    else:
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS task_campaign_open_path_idx ON inspections_rectificationtask "
            f"(campaign_id, unit_path) WHERE status IN {OPEN}")


def drop_index(apps, schema_editor):
    schema_editor.execute("DROP INDEX IF EXISTS task_campaign_open_path_idx")


def analyze_tallies(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in TALLIES:
            schema_editor.execute(f"ANALYZE {table}")


class Migration(migrations.Migration):

    dependencies = [
        ('inspections', '0021_tally_rows_below_each_ancestor'),
    ]

    operations = [
        migrations.RunPython(create_index, drop_index),
        migrations.RunPython(analyze_tallies, migrations.RunPython.noop),
    ]
