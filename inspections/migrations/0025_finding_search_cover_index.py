# The API list's creation-order index becomes a covering one (issue 13, search): the new index is
# built before the old one is dropped, so that the list always has one.

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0010_point_scope_paths'),
        ('inspections', '0024_task_category'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name='finding',
            index=models.Index(fields=['-created_at', '-id'], include=('unit_path', 'department_path', 'description', 'address'), name='finding_created_cover_idx'),
        ),
        migrations.RemoveIndex(
            model_name='finding',
            name='finding_created_id_idx',
        ),
    ]
