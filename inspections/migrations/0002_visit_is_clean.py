# Visit.clean shadowed Model.clean(); renamed to is_clean.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("inspections", "0001_initial"),
    ]

    operations = [
        migrations.RenameField(model_name="visit", old_name="clean", new_name="is_clean"),
        migrations.RenameField(model_name="historicalvisit", old_name="clean", new_name="is_clean"),
    ]
