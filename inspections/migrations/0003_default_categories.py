"""Seed the default finding categories (existing codes are left as the office edited them)."""

from django.db import migrations


def seed(apps, schema_editor):
    from inspections.taxonomy import seed_default_categories

    seed_default_categories(apps.get_model("inspections", "FindingCategory"))


class Migration(migrations.Migration):

    dependencies = [
        ("inspections", "0002_visit_is_clean"),
    ]

    operations = [
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
