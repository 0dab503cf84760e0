"""The registered-volunteer tally (volunteers.tally), filled from the volunteers in one INSERT … SELECT."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Count


def fill(apps, schema_editor):
    from civportal.summaries import insert_select

    Volunteer = apps.get_model("volunteers", "Volunteer")
    insert_select(apps.get_model("volunteers", "VolunteerTally"), ["unit", "active"],
                  Volunteer.objects.filter(status="active").order_by().values("unit_id").annotate(n=Count("pk"))
                  .values("unit_id", "n"))


class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0010_point_scope_paths'),
        ('volunteers', '0004_volunteer_scope_paths'),
    ]

    operations = [
        migrations.CreateModel(
            name='VolunteerTally',
            fields=[
                ('unit', models.OneToOneField(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, primary_key=True, related_name='+', serialize=False, to='campaigns.unit')),
                ('active', models.IntegerField(default=0)),
            ],
            options={
                'ordering': ['unit_id'],
            },
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
