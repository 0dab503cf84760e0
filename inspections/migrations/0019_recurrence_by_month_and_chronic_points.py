"""The recurrence panel's summaries at the panel's grain (issue 13, P4): RecurrenceTally by closure
month instead of day and point (with the campaign's totals at unit 0), and ChronicPoint, the 顽疾点位
of each panel window. Both refilled from the findings' stored ``recurred_at`` by
``inspections.recurrence.refill_tally`` with this migration's models (portable: no raw SQL but the
INSERT … SELECT that the ORM writes for either database)."""

import django.db.models.deletion
from django.db import migrations, models


# A district's or street's rates: its units' rows of the window's months, probed unit by unit (an
# index-only scan on PostgreSQL; SQLite gets the key columns only), instead of every unit's rows.
UNIT_MONTH_INDEX = ("CREATE INDEX IF NOT EXISTS recurrence_unit_month_idx ON inspections_recurrencetally "
                    "(unit_id, campaign_key, month) {include}")


def create_index(apps, schema_editor):
    include = "INCLUDE (department_id, bucket, n)" if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(UNIT_MONTH_INDEX.format(include=include))


def drop_index(apps, schema_editor):
    schema_editor.execute("DROP INDEX IF EXISTS recurrence_unit_month_idx")


def clear(apps, schema_editor):
    apps.get_model("inspections", "RecurrenceTally").objects.all().delete()


def refill(apps, schema_editor):
    from inspections.recurrence import refill_tally

    refill_tally(apps.get_model("inspections", "Finding"), apps.get_model("inspections", "RecurrenceTally"),
                 apps.get_model("inspections", "ChronicPoint"))


class Migration(migrations.Migration):

    dependencies = [
        ("campaigns", "0007_merge_boundaries_trigrams_import_kinds"),
        ("inspections", "0018_merge_urgency_indexes_and_recurrence"),
    ]

    operations = [
        migrations.RunPython(clear, migrations.RunPython.noop),
        migrations.RemoveConstraint(model_name="recurrencetally", name="recurrence_tally_key"),
        migrations.RemoveField(model_name="recurrencetally", name="point"),
        migrations.RenameField(model_name="recurrencetally", old_name="closed_on", new_name="month"),
        migrations.AlterModelOptions(name="recurrencetally", options={"ordering": ["campaign_key", "month", "unit_id"]}),
        migrations.AddConstraint(
            model_name="recurrencetally",
            constraint=models.UniqueConstraint(fields=("campaign_key", "month", "unit", "department", "bucket"),
                                               name="recurrence_month_key"),
        ),
        migrations.CreateModel(
            name="ChronicPoint",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("campaign_key", models.IntegerField(help_text="Campaign id; 0 = no campaign.")),
                ("month", models.DateField(help_text="The window's last month (its first day).")),
                ("closed", models.IntegerField(default=0)),
                ("back_30", models.IntegerField(default=0)),
                ("back_60", models.IntegerField(default=0)),
                ("back_90", models.IntegerField(default=0)),
                ("department", models.ForeignKey(db_constraint=False, null=True,
                                                 on_delete=django.db.models.deletion.DO_NOTHING, related_name="+",
                                                 to="campaigns.unit")),
                ("point", models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING,
                                            related_name="+", to="campaigns.point")),
                ("unit", models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING,
                                           related_name="+", to="campaigns.unit")),
            ],
            options={
                "ordering": ["campaign_key", "month", "point_id"],
                "constraints": [models.UniqueConstraint(fields=("campaign_key", "month", "point", "unit", "department"),
                                                        name="chronic_point_key")],
            },
        ),
        migrations.RunPython(create_index, drop_index),
        migrations.RunPython(refill, migrations.RunPython.noop),
    ]
