"""Seed the default finding categories (existing codes are left as the office edited them)."""

from decimal import Decimal

from django.db import migrations


def seed(apps, schema_editor):
    from inspections.taxonomy import DEFAULT_CATEGORIES

    FindingCategory = apps.get_model("inspections", "FindingCategory")
    existing = set(FindingCategory.objects.values_list("code", flat=True))
    for g, (group_code, group_name, children) in enumerate(DEFAULT_CATEGORIES, start=1):
        group = FindingCategory.objects.filter(code=group_code).first()
        if group is None:
            group = FindingCategory.objects.create(code=group_code, name=group_name, sort_order=g * 100,
                                                   deduction=Decimal(1))
        rows = [
            FindingCategory(code=code, name=name, group=group, default_severity=severity, deduction=Decimal(deduction),
                            engineering=engineering, sort_order=g * 100 + i)
            for i, (code, name, severity, deduction, engineering) in enumerate(children, start=1)
            if code not in existing
        ]
        FindingCategory.objects.bulk_create(rows)


class Migration(migrations.Migration):

    dependencies = [
        ("inspections", "0002_visit_is_clean"),
    ]

    operations = [
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
